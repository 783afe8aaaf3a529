"""Payments (決済), refunds (返金) and the inbox of provider events (webhooks)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, JSONType, UTCDateTime, new_uuid, utcnow

# BIGINT on PostgreSQL; SQLite only auto-increments a column declared INTEGER.
InboxId = BigInteger().with_variant(Integer(), "sqlite")

OPEN_STATUSES = ("created", "pending")
"""A payment in one of these may still be paid; a submission has at most one."""


class Payment(Base):
    """One attempt to collect a submission's fee through a provider. A failed or expired
    attempt stays as it was; paying again starts a new Payment.

    Amounts are integer yen (JPY has no minor unit) and always the server's own figure:
    the submission's fee when the payment was started."""

    __tablename__ = "payments"
    __table_args__ = (
        # The last line of defence behind the submission row lock: one open payment.
        Index(
            "uq_payments_open_submission",
            "submission_id",
            unique=True,
            postgresql_where=text("status IN ('created', 'pending')"),
            sqlite_where=text("status IN ('created', 'pending')"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    submission_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("submissions.id"), index=True)
    municipality_code: Mapped[str] = mapped_column(ForeignKey("municipalities.code"), index=True)
    reference_number: Mapped[str] = mapped_column(String(32))
    """受付番号 of the submission, copied so finance lists and CSVs need no join."""
    provider: Mapped[str] = mapped_column(String(16))
    """stripe | demo: the provider that took this payment, whatever the setting is now."""
    provider_checkout_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    """Stripe Checkout Session id (cs_...), or the demo page's id."""
    provider_payment_intent_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    provider_charge_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="JPY")
    fee_breakdown: Mapped[dict[str, Any]] = mapped_column(JSONType)
    """The fee lines charged, as the submission carried them when the payment started."""
    payment_method_types: Mapped[list[str]] = mapped_column(JSONType)
    """Offered at checkout: card, konbini (コンビニ払い), paypay."""
    status: Mapped[str] = mapped_column(String(24), index=True)
    """See app.payments.lifecycle.PaymentStatus."""
    refunded_amount: Mapped[int] = mapped_column(Integer, default=0)
    """Yen refunded or being refunded (the sum of the refunds not failed or canceled);
    never above `amount`. A failed refund gives its amount back."""
    livemode: Mapped[bool] = mapped_column(Boolean, default=False)
    """The provider's live (not test) mode the payment was opened in; a webhook from the
    other mode never settles it."""
    redirect_url: Mapped[str | None] = mapped_column(Text, default=None)
    """Where the citizen pays (the hosted checkout page) while the payment is `created`."""
    voucher: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    """コンビニ払込票 while a konbini payment is `pending`: the 払込番号 per store, the
    deadline and the provider's voucher page (app.payments.lifecycle.Voucher.as_dict)."""
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None, index=True)
    """入金確認: when the provider reported the money received."""
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    """When it failed or expired."""
    disputed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    dispute_status: Mapped[str | None] = mapped_column(String(32), default=None)
    """異議申立て (chargeback) as the provider reports it: needs_response, under_review,
    won, lost (app.payments.lifecycle.DisputeStatus)."""
    dispute_amount: Mapped[int] = mapped_column(Integer, default=0)
    """Yen the dispute withdrew; kept when lost."""
    row_version: Mapped[int] = mapped_column(Integer)
    """Optimistic lock: every UPDATE checks and bumps it."""

    __mapper_args__ = {"version_id_col": row_version}  # noqa: RUF012 (read by the mapper)

    @property
    def refundable_amount(self) -> int:
        return self.amount - self.refunded_amount

    @property
    def net_paid(self) -> int:
        """What the city keeps of this payment: received, less refunds and a lost dispute."""
        if self.paid_at is None:
            return 0
        lost = self.dispute_amount if self.dispute_status == "lost" else 0
        return max(self.amount - self.refunded_amount - lost, 0)


class Refund(Base):
    """返金: part or all of a payment given back, asked for by finance with a reason."""

    __tablename__ = "refunds"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    payment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("payments.id"), index=True)
    municipality_code: Mapped[str] = mapped_column(String(6), index=True)
    amount: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(24))
    """requested (stored, the provider not yet known to have it), then the provider's
    word: pending, requires_action (konbini: the citizen has to name a bank account),
    succeeded, failed, canceled (app.payments.lifecycle.RefundStatus)."""
    provider_refund_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    requested_by: Mapped[str] = mapped_column(String(64))
    """The staff member's id, or `provider` for a refund made at the provider (e.g. in
    Stripe's dashboard)."""
    refundable_before: Mapped[int | None] = mapped_column(Integer, default=None)
    """The refundable amount finance saw when asking (their `expected_refundable_amount`):
    with the amount, what tells a retried request from a new one."""
    failure_reason: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PaymentAlert(Base):
    """要確認: something finance must look at, raised by the system (a webhook that does not
    match its payment, a failed refund, a dispute, money received that nobody owes).
    Raised once per cause (`source`), listed until someone resolves it; raising and
    resolving are audited."""

    __tablename__ = "payment_alerts"
    __table_args__ = (UniqueConstraint("kind", "source"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    municipality_code: Mapped[str] = mapped_column(String(6), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    """See app.payments.alerts.AlertKind."""
    source: Mapped[str] = mapped_column(String(255))
    """What raised it (an event id, a refund id): the same cause raises it once."""
    payment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None, index=True)
    reference_number: Mapped[str | None] = mapped_column(String(32), default=None)
    """受付番号 of the payment's application."""
    amount: Mapped[int | None] = mapped_column(Integer, default=None)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType)
    """What differed or happened (no personal data)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    resolved_by: Mapped[str | None] = mapped_column(String(64), default=None)
    resolution: Mapped[str | None] = mapped_column(Text, default=None)


class ProviderEvent(Base):
    """The webhook inbox (受信箱): every verified event, once per provider and event id,
    with when and how it was handled. The payload is what the provider sent (Stripe
    never sends full card numbers); it is never logged."""

    __tablename__ = "provider_events"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    id: Mapped[int] = mapped_column(InboxId, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(64))
    payment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None, index=True)
    related_id: Mapped[str | None] = mapped_column(String(255), default=None, index=True)
    """The provider's payment (a PaymentIntent id) the event is about: an event that
    arrives before we know that id is kept `unmatched` and handled again once we do."""
    outcome: Mapped[str | None] = mapped_column(String(24), default=None)
    """applied | no_change | unmatched | ignored | mismatch"""
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
