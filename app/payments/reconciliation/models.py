"""Payouts (入金), balance transactions (残高取引) and reconciliation runs (消込結果).

Payouts and balance transactions mirror the provider's account, which one deployment
shares between its municipalities: they carry a municipality only once matched. Amounts,
fees and nets are the provider's numbers, stored as reported, never recomputed."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, JSONType, UTCDateTime, new_uuid, utcnow

# BIGINT on PostgreSQL; SQLite only auto-increments a column declared INTEGER.
RowId = BigInteger().with_variant(Integer(), "sqlite")


class Payout(Base):
    """A transfer from the provider to the city's bank account (入金)."""

    __tablename__ = "payouts"

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(16))
    provider_payout_id: Mapped[str] = mapped_column(String(255), unique=True)
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(24))
    arrival_date: Mapped[date | None] = mapped_column(Date, default=None)
    """入金予定日 / 入金日 (Asia/Tokyo)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BalanceTransaction(Base):
    """One movement of the provider balance: a charge, a refund, a fee, an adjustment,
    the payout itself. `payout` is set when imported through a payout."""

    __tablename__ = "balance_transactions"

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(16))
    provider_transaction_id: Mapped[str] = mapped_column(String(255), unique=True)
    type: Mapped[str] = mapped_column(String(40))
    reporting_category: Mapped[str | None] = mapped_column(String(40), default=None)
    amount: Mapped[int] = mapped_column(Integer)
    """Gross (総額), as the provider reports it; negative for money going out."""
    fee: Mapped[int] = mapped_column(Integer)
    """The provider's fee (決済手数料)."""
    net: Mapped[int] = mapped_column(Integer)
    """amount - fee (入金額), as the provider reports it."""
    currency: Mapped[str] = mapped_column(String(3))
    source_id: Mapped[str | None] = mapped_column(String(255), default=None, index=True)
    """The charge (ch_), refund (re_), dispute or payout behind it."""
    provider_payout_id: Mapped[str | None] = mapped_column(String(255), default=None, index=True)
    payment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None, index=True)
    """Our payment, once matched."""
    municipality_code: Mapped[str | None] = mapped_column(String(6), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    """When the provider recorded it."""
    available_on: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReconciliationRun(Base):
    """One reconciliation (消込) of a payout or a date range, for one municipality: who ran
    it, when, the counts per kind of item and the totals as the provider reports them."""

    __tablename__ = "reconciliation_runs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    municipality_code: Mapped[str] = mapped_column(String(6), index=True)
    provider: Mapped[str] = mapped_column(String(16))
    provider_payout_id: Mapped[str | None] = mapped_column(String(255), default=None)
    created_from: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_to: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    """Exclusive upper bound."""
    unpaid_after_days: Mapped[int] = mapped_column(Integer)
    transaction_count: Mapped[int] = mapped_column(Integer)
    """Balance transactions imported by this run (the municipality's and unattributed)."""
    counts: Mapped[dict[str, int]] = mapped_column(JSONType)
    """kind -> number of items."""
    totals: Mapped[dict[str, int]] = mapped_column(JSONType)
    """gross, fee, net: sums of the provider's figures over the run's transactions."""
    payout_amount: Mapped[int | None] = mapped_column(Integer, default=None)
    requested_by: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReconciliationItem(Base):
    """One line of a run's report: a balance transaction, or one of our payments that
    no payout carries."""

    __tablename__ = "reconciliation_items"
    __table_args__ = (Index("ix_reconciliation_items_run_kind", "run_id", "kind"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    run_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("reconciliation_runs.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(24))
    """See app.payments.reconciliation.service.ItemKind."""
    provider_transaction_id: Mapped[str | None] = mapped_column(String(255), default=None)
    transaction_type: Mapped[str | None] = mapped_column(String(40), default=None)
    source_id: Mapped[str | None] = mapped_column(String(255), default=None)
    payment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    reference_number: Mapped[str | None] = mapped_column(String(32), default=None)
    """受付番号 of the matched payment."""
    amount: Mapped[int | None] = mapped_column(Integer, default=None)
    fee: Mapped[int | None] = mapped_column(Integer, default=None)
    net: Mapped[int | None] = mapped_column(Integer, default=None)
    expected_amount: Mapped[int | None] = mapped_column(Integer, default=None)
    """What we recorded (the payment or refund amount), for mismatches."""
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)
