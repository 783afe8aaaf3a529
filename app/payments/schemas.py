from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.payments.lifecycle import DisputeStatus, PaymentStatus, RefundStatus
from app.submissions.schemas import Fee
from app.text import RequiredText


class PaymentStartRequest(BaseModel):
    """Nothing is read from the body: the amount is the fee the server computed, and
    anything a client sends (an `amount`, a `currency`) is ignored."""

    model_config = ConfigDict(extra="ignore")


class StoreCodeRead(BaseModel):
    payment_code: str = Field(description="払込番号 (お客様番号) for this store")
    confirmation_number: str | None = Field(description="確認番号, where the store asks for one")


class VoucherRead(BaseModel):
    """コンビニ払込票: how to pay a pending konbini payment in cash."""

    payment_code: str | None = Field(
        description="払込番号, when every store takes the same one (else see `stores`)"
    )
    expires_at: datetime = Field(description="支払期限 (payment deadline)")
    hosted_voucher_url: str | None = Field(description="The printable voucher page")
    stores: dict[str, StoreCodeRead] = Field(
        description="familymart, lawson, ministop, seicomart -> the codes to pay there"
    )


class PaymentRead(BaseModel):
    """A payment as the citizen sees it."""

    payment_id: uuid.UUID
    status: PaymentStatus
    amount: int = Field(description="Integer yen: the fee the server computed")
    currency: Literal["JPY"]
    redirect_url: str | None = Field(
        description="The payment page while the payment is `created`; null afterwards"
    )
    provider: str
    submission_id: uuid.UUID
    reference_number: str = Field(description="受付番号")
    expires_at: datetime
    paid_at: datetime | None
    voucher: VoucherRead | None = Field(
        default=None, description="コンビニ払込票 while a konbini payment is `pending`"
    )


class BalanceRead(BaseModel):
    """The application's money (収支): `due` = `fee` − `net_paid`."""

    fee: int = Field(
        description="手数料 owed through online payment now (0 before it is asked for, after "
        "a withdrawal, or for a counter application)"
    )
    paid: int = Field(description="入金済み: received for this application")
    refunded: int = Field(description="返金済み・返金中 (and money a lost dispute took)")
    net_paid: int = Field(description="paid − refunded")
    due: int = Field(description="未納 when positive (to pay); 過払い when negative")
    not_due: int = Field(
        description="入金済・請求なし: received for a payment already closed; given back"
    )
    to_refund: int = Field(description="What is owed back: the overpayment and not_due")
    refund_proposed: int = Field(description="返金確認待ち: refunds finance has yet to confirm")
    currency: Literal["JPY"] = "JPY"
    open_payment: PaymentRead | None = Field(
        description="The payment still open (a page to pay, or a konbini voucher with its "
        "払込番号 and 支払期限)"
    )


class WebhookReceipt(BaseModel):
    received: bool
    event_id: str
    outcome: Literal["applied", "no_change", "unmatched", "ignored", "duplicate", "mismatch"]


class RefundRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    payment_id: uuid.UUID
    amount: int
    reason: str
    status: RefundStatus = Field(
        description=(
            "proposed (an overpayment offered back, waiting for finance to confirm), "
            "requested (stored; the provider's answer not yet recorded), pending, "
            "requires_action (konbini: waiting for the citizen's bank account), succeeded, "
            "failed (the amount is refundable again), canceled"
        )
    )
    failure_reason: str | None = Field(description="The provider's reason, when failed")
    provider_refund_id: str | None
    requested_by: str = Field(description="Staff id, or `provider` (made at the provider)")
    created_at: datetime
    updated_at: datetime


class RefundList(BaseModel):
    items: list[RefundRead]
    total: int
    limit: int
    offset: int


class PaymentSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    submission_id: uuid.UUID
    reference_number: str = Field(description="受付番号")
    provider: str
    status: PaymentStatus
    amount: int
    refunded_amount: int
    refundable_amount: int = Field(description="Send as expected_refundable_amount when refunding")
    currency: Literal["JPY"]
    payment_method_types: list[str]
    created_at: datetime
    paid_at: datetime | None


class PaymentDetail(PaymentSummary):
    provider_checkout_id: str | None
    provider_payment_intent_id: str | None
    provider_charge_id: str | None
    fee_breakdown: Fee
    expires_at: datetime
    closed_at: datetime | None
    disputed_at: datetime | None
    dispute_status: DisputeStatus | None = Field(
        description="異議申立て, as the provider reports it"
    )
    dispute_amount: int
    net_paid: int = Field(description="Received, less refunds and a lost dispute")
    livemode: bool
    refunds: list[RefundRead]


class PaymentList(BaseModel):
    items: list[PaymentSummary]
    total: int
    limit: int
    offset: int


class RefundCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: int = Field(ge=1, description="Yen to give back; at most the refundable amount")
    reason: RequiredText = Field(
        min_length=1, max_length=500, description="返金理由, kept in the audit log"
    )
    expected_refundable_amount: int = Field(
        ge=0,
        description=(
            "What you believe is still refundable (the payment's `refundable_amount`). "
            "If another refund happened meanwhile this no longer holds and the answer is 409."
        ),
    )


class AlertRead(BaseModel):
    """要確認: something the system found that finance must look at."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str = Field(
        description=(
            "webhook_mismatch, refund_failed, dispute_opened, dispute_lost, received_not_due, "
            "refund_to_confirm"
        )
    )
    kind_ja: str
    payment_id: uuid.UUID | None
    reference_number: str | None = Field(description="受付番号")
    amount: int | None
    details: dict[str, Any]
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None


class AlertList(BaseModel):
    items: list[AlertRead]
    total: int
    limit: int
    offset: int


class AlertResolve(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolution: str = Field(
        min_length=1, max_length=500, description="What was done (対応内容), kept in the audit log"
    )
