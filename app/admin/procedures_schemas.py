from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.forms.schemas import LocalizedText


class VersionSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    status: Literal["draft", "published"]
    definition_digest: str
    created_at: datetime
    published_at: datetime | None


class VersionDetail(VersionSummary):
    procedure_code: str
    definition: dict[str, Any] = Field(description="The definition as authored")
    json_schema: dict[str, Any] = Field(description="JSON Schema 2020-12 of the answers")
    fee_summary: LocalizedText


class ManagedProcedureRead(BaseModel):
    """A procedure as its admins see it: every version, drafts included."""

    code: str
    status: Literal["draft", "published", "retired"]
    title: LocalizedText = Field(description="From the latest version")
    department: LocalizedText = Field(description="担当課, from the latest version")
    current_version: int | None = Field(description="The published version the catalog shows")
    latest_version: int
    first_published_at: datetime | None
    retired_at: datetime | None
    created_at: datetime
    versions: list[VersionSummary]


class ManagedProcedureList(BaseModel):
    items: list[ManagedProcedureRead]
    total: int


class DefinitionProblem(BaseModel):
    path: str = Field(description="JSON Pointer into the definition")
    code: str
    message_ja: str
    message_en: str


class DefinitionCheckResult(BaseModel):
    """The outcome of checking a definition without saving it."""

    valid: bool
    errors: list[DefinitionProblem]
    json_schema: dict[str, Any] | None = Field(description="When valid: the compiled schema")
    fee_summary: LocalizedText | None
