from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.forms.schemas import LocalizedText
from app.submissions.lifecycle import Status

if TYPE_CHECKING:
    from app.submissions.models import SubmissionEvent

# Request bodies refuse unknown keys: in particular a client-sent `fee` or `amount`,
# since the server alone computes the fee.


class SubmissionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answers: dict[str, Any] = Field(
        default_factory=dict,
        description="Answers keyed by field key; a draft may leave required ones out.",
    )
    submit: bool = Field(default=False, description="Submit at once instead of saving a draft")


class SubmissionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answers: dict[str, Any] = Field(description="Replaces the stored answers as a whole")


class SubmitRequest(BaseModel):
    """Optionally signed with the My Number card: the 署名用電子証明書 (base64 DER) and
    its signature (base64, SHA256withRSA PKCS#1 v1.5) over the bytes of `document`
    from `GET /submissions/{id}/signing-document`. Required for `jpki_sign` procedures."""

    model_config = ConfigDict(extra="forbid")

    certificate: str | None = Field(default=None, min_length=1, max_length=8192)
    signature: str | None = Field(default=None, min_length=1, max_length=1024)

    @model_validator(mode="after")
    def _both_or_neither(self) -> SubmitRequest:
        if (self.certificate is None) != (self.signature is None):
            raise ValueError("send both certificate and signature, or neither")
        return self


class WithdrawRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=500, description="取下げの理由 (optional)")


class FeeLine(BaseModel):
    key: str
    label: LocalizedText
    unit_price: int | None
    quantity: int | None
    amount: int = Field(description="Integer yen; negative for an exemption (減免)")


class Fee(BaseModel):
    """手数料 as computed by the server from the pinned version."""

    total: int
    currency: Literal["JPY"]
    items: list[FeeLine]


class SubmissionReceipt(BaseModel):
    """What create, submit and withdraw answer: no answers, so replays hold none either."""

    id: uuid.UUID
    status: Status
    municipality_code: str
    procedure_code: str
    version: int = Field(description="The procedure version the answers are pinned to")
    channel: Literal["online", "counter"]
    reference_number: str | None = Field(description="受付番号, once submitted")
    fee: Fee | None
    created_at: datetime
    submitted_at: datetime | None


class SubmissionCreated(SubmissionReceipt):
    access_token: str | None = Field(
        default=None,
        description=(
            "Shown only in this response, and in its idempotent replays to the same client "
            "address (null in a replay from elsewhere). Send it back as "
            "`Authorization: Bearer <access_token>` to read or change the application."
        ),
    )


class TimelineEntry(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_status: Status | None = Field(alias="from")
    to: Status
    at: datetime
    actor_kind: Literal["citizen", "staff", "system"]
    comment: str | None

    @classmethod
    def of(cls, event: SubmissionEvent, **more: Any) -> Self:
        """The entry for one recorded event (`more`: what a subclass adds)."""
        return cls(
            from_status=event.from_status,
            to=event.to_status,
            at=event.occurred_at,
            actor_kind=event.actor_kind,
            comment=event.comment,
            **more,
        )


class SubmissionRead(SubmissionReceipt):
    answers: dict[str, Any]
    prefilled_from_card: list[str] = Field(
        default_factory=list, description="Answers filled from the My Number card, unchanged"
    )
    timeline: list[TimelineEntry] = Field(description="Every status change, oldest first")


class SigningDocument(BaseModel):
    """What the card signs at submit (署名対象文書)."""

    document: str = Field(
        description="Canonical JSON (RFC 8785) of municipality_code, procedure_code, "
        "version, submission_id and answers. Sign its UTF-8 bytes as they are."
    )
    digest: str = Field(description="Base64 SHA-256 of the document's UTF-8 bytes")


class PrefillResult(BaseModel):
    answers: dict[str, Any]
    filled: list[str] = Field(description="Answers written from the card by this request")
    prefilled_from_card: list[str] = Field(
        description="Every answer that came from the card and is unchanged since"
    )
    has_alternative_characters: bool = Field(
        description="The card's name or address holds 代替文字: ask the citizen to check them"
    )
    unsplit_address: str | None = Field(
        default=None,
        description=(
            "The certified address, as the card states it, when an address_jp field was"
            " left empty because the address could not be split into its parts"
        ),
    )


class MySubmission(BaseModel):
    """One of the logged-in citizen's applications (マイページ)."""

    id: uuid.UUID
    status: str
    municipality_code: str
    procedure_code: str
    version: int
    reference_number: str | None
    fee_total: int | None
    created_at: datetime
    submitted_at: datetime | None


class MySubmissionList(BaseModel):
    items: list[MySubmission]
    total: int
