from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class LocalizedText(BaseModel):
    ja: str
    en: str | None = None


class ProcedureSummary(BaseModel):
    """A catalog entry (one published procedure)."""

    code: str
    title: LocalizedText
    department: LocalizedText
    version: int
    identity_requirement: Literal["none", "jpki_auth", "jpki_sign"]
    payment_timing: Literal["on_submit", "after_review"]
    fee_summary: LocalizedText = Field(description="e.g. 1通 300円 / ¥300 per copy")
    my_number_use: bool


class ProcedureList(BaseModel):
    items: list[ProcedureSummary]
    total: int


class ProcedureDetail(BaseModel):
    """The current published version of a procedure, ready for a form renderer."""

    municipality_code: str
    code: str
    title: LocalizedText
    version: int
    published_at: str | None
    definition: dict[str, Any] = Field(description="The definition as authored")
    json_schema: dict[str, Any] = Field(description="JSON Schema 2020-12 of the answers")
    fee_rules: list[dict[str, Any]]
    fee_summary: LocalizedText
