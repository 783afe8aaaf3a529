from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import AliasChoices, AwareDatetime, BaseModel, ConfigDict, Field

from app.payments.reconciliation.service import ItemKind


class RunCreate(BaseModel):
    """A payout (`payout_id`), or the balance transactions created in a date range."""

    model_config = ConfigDict(extra="forbid")

    payout_id: str | None = Field(default=None, max_length=255, examples=["po_1Example"])
    created_from: AwareDatetime | None = Field(default=None, description="Inclusive")
    created_to: AwareDatetime | None = Field(default=None, description="Exclusive")


class Totals(BaseModel):
    gross: int = Field(description="総額: sum of the provider's amounts")
    fee: int = Field(description="手数料: sum of the provider's fees")
    net: int = Field(description="入金額: sum of the provider's nets")


class RunSummary(BaseModel):
    """A run as stored (read from its row's attributes; the row names the payout
    `provider_payout_id`)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    provider: str
    payout_id: str | None = Field(validation_alias=AliasChoices("payout_id", "provider_payout_id"))
    payout_amount: int | None
    created_from: datetime | None
    created_to: datetime | None
    unpaid_after_days: int
    transaction_count: int
    counts: dict[ItemKind, int]
    totals: Totals
    requested_by: str
    started_at: datetime
    finished_at: datetime


class RunList(BaseModel):
    items: list[RunSummary]
    total: int
    limit: int
    offset: int


class ItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: ItemKind
    kind_ja: str
    reference_number: str | None = Field(description="受付番号")
    payment_id: uuid.UUID | None
    provider_transaction_id: str | None
    transaction_type: str | None
    source_id: str | None
    amount: int | None
    fee: int | None
    net: int | None
    expected_amount: int | None = Field(description="What we recorded, when it differs")
    occurred_at: datetime | None
    note: str | None


class RunReport(RunSummary):
    items: list[ItemRead]
    items_total: int
    limit: int
    offset: int
