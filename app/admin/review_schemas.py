from __future__ import annotations

import uuid
from datetime import date as datetime_date
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from app.forms.schemas import LocalizedText
from app.submissions.lifecycle import Status
from app.submissions.schemas import Fee, TimelineEntry
from app.text import RequiredText


class AssigneeRead(BaseModel):
    id: uuid.UUID
    display_name: str


class StaffSubmissionSummary(BaseModel):
    """A row of the review list: no answers, so no personal data."""

    id: uuid.UUID
    reference_number: str = Field(description="受付番号")
    status: Status
    channel: Literal["online", "counter"]
    procedure_code: str
    procedure_title: LocalizedText
    department: str = Field(description="担当課 (department.ja of the pinned version)")
    version: int
    fee_total: int | None
    submitted_at: datetime
    updated_at: datetime
    decided_at: datetime | None
    assignee: AssigneeRead | None
    etag: str = Field(description="Send as If-Match to change the application")


class StaffSubmissionList(BaseModel):
    items: list[StaffSubmissionSummary]
    total: int
    limit: int
    offset: int


class StaffTimelineEntry(TimelineEntry):
    actor_id: str | None = Field(description="The staff member; never shown to applicants")


class CommentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    author_id: uuid.UUID
    body: str
    created_at: datetime


class SignerFacts(BaseModel):
    """基本4情報 exactly as the signing certificate states them."""

    name: str = Field(description="氏名 as certified (family and given name, full-width space)")
    name_alternative_positions: list[int] = Field(
        description="0-based positions of 代替文字 in the name (stand-ins J-LIS writes)"
    )
    sex: Literal["1", "2", "3"] = Field(description="性別 as coded: 1 男, 2 女, 3 不明")
    birth_date: datetime_date | None = Field(description="生年月日; null when the card says 不明")
    birth_date_wareki: str | None = Field(description="e.g. 令和元年5月1日")
    address: str = Field(description="住所 as certified")
    address_alternative_positions: list[int]


class SigningCertificate(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    issuer: str = Field(description="Issuer of the 署名用電子証明書 (RFC 4514)")
    serial_number: str = Field(description="Serial number, hexadecimal")


class SignatureVerification(BaseModel):
    result: Literal["verified"] = Field(
        description="Chain, validity, revocation and signature were checked at submit; "
        "only a verified signature is kept"
    )
    verified_at: datetime
    document_digest: str = Field(description="Base64 SHA-256 of the signed document")
    covers_stored_answers: bool = Field(
        description="The application as stored is exactly the signed document (false for "
        "an earlier signature of an application corrected and signed again)"
    )


class SignerComparison(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    fact: Literal["name", "birth_date"]
    field: str = Field(description="JSON Pointer of the answer compared")
    certified: str | None
    answered: str | None
    matches: bool | None = Field(
        description="Names compare ignoring whitespace, width and case; null: nothing "
        "to compare (no answer, or the card's date is 不明)"
    )


class SigningEvidenceRead(BaseModel):
    """電子署名の証跡: who signed, with what certificate, when, and whether that is
    who the answers name (本人確認)."""

    id: uuid.UUID
    signed_at: datetime
    signer: SignerFacts
    certificate: SigningCertificate
    verification: SignatureVerification
    comparisons: list[SignerComparison]
    differs: list[Literal["name", "birth_date"]] = Field(
        description="Facts where the signer differs from the applicant's answers"
    )


class StaffSubmissionDetail(StaffSubmissionSummary):
    fee: Fee | None
    answers: dict[str, Any] = Field(description="As stored; every My Number masked (********1234)")
    my_number_fields: list[str] = Field(
        description="JSON Pointers of the My Numbers, for reveal-my-number"
    )
    timeline: list[StaffTimelineEntry]
    comments: list[CommentRead] = Field(description="内部メモ, never shown to the applicant")
    signatures: list[SigningEvidenceRead] = Field(
        description="My Number card signatures, oldest first (showing them is audited)"
    )


class AssignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignee_id: uuid.UUID | None = Field(description="null: nobody handles it")


Reason = Annotated[RequiredText, Field(min_length=1, max_length=2000)]
"""Refused when nothing visible is left (zero-width and filler characters do not count)."""


class StartReview(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["start_review"]
    comment: str | None = Field(default=None, max_length=2000)


class Approve(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["approve"]
    comment: str | None = Field(default=None, max_length=2000)


class Reject(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["reject"]
    reason: Reason = Field(description="却下の理由; shown to the applicant")


class Return(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["return"]
    message: Reason = Field(description="What to correct (差戻し); shown to the applicant")


Transition = Annotated[StartReview | Approve | Reject | Return, Field(discriminator="action")]


class CommentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: RequiredText = Field(min_length=1, max_length=4000)


class RevealRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str = Field(
        max_length=200, description="JSON Pointer from my_number_fields, e.g. /applicant_my_number"
    )
    reason: Reason = Field(description="Why the full number is needed; kept in the audit log")


class RevealedMyNumber(BaseModel):
    field: str
    my_number: str


class CounterSubmissionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    procedure_code: str = Field(max_length=64)
    received_at: AwareDatetime = Field(description="受付日時 at the counter")
    answers: dict[str, Any] = Field(
        default_factory=dict,
        description="What the paper form says; optional, each answer given is checked",
    )


class FeeFix(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quantities: dict[str, Annotated[int, Field(ge=0, le=100_000)]] = Field(
        default_factory=dict,
        description=(
            "The quantities staff found, by the quantity field of a per-unit fee rule "
            '(e.g. {"copies": 3}); fields not named keep the applicant\'s answer'
        ),
    )
    comment: str | None = Field(
        default=None, max_length=500, description="Shown to the applicant in the timeline"
    )


class FeeFixed(BaseModel):
    submission_id: uuid.UUID
    status: Status
    fee: Fee
    etag: str
