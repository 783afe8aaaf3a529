"""Rollups of the application history (申請実績の集計), kept exact in the transaction that
records each SubmissionEvent (app.kpi.rollups), so KPI queries read a few thousand rows
instead of every application.

Like the events they summarise, they have no foreign key to a submission: purging an
application's personal data, or the row, changes no figure.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import Date, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base

USAGE_COUNTERS = (
    "received",
    "with_card",
    "paid_online",
    "paid_offline",
    "returned",
    "approved",
    "rejected",
    "withdrawn",
)
"""The per-application flags summed in `UsageRollup`, in column order."""


class UsageRollup(Base):
    """Applications per 受付日 (the day received, Japan time), procedure and channel.

    Every figure is attributed to the day the application was received, whenever the
    later event (payment, return, decision) happened: the rates of a period are then
    shares of the same applications."""

    __tablename__ = "kpi_usage_daily"

    municipality_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    received_on: Mapped[date] = mapped_column(Date, primary_key=True)
    """受付日 in Japan time."""
    procedure_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    """online | counter (窓口)"""
    month: Mapped[int] = mapped_column(Integer)
    """yyyymm of `received_on`, so months and 年度 group without date functions."""
    received: Mapped[int] = mapped_column(Integer, default=0)
    """申請件数: applications received (first submitted, or entered at the counter)."""
    with_card: Mapped[int] = mapped_column(Integer, default=0)
    """Online ones whose applicant signed with, or logged in with, the My Number card."""
    paid_online: Mapped[int] = mapped_column(Integer, default=0)
    """Fee paid cashless through the online payment (キャッシュレス納付)."""
    paid_offline: Mapped[int] = mapped_column(Integer, default=0)
    """Fee paid at the counter: counter applications with a fee, or payments staff
    recorded by hand."""
    returned: Mapped[int] = mapped_column(Integer, default=0)
    """Returned for correction (差戻し) at least once."""
    approved: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    withdrawn: Mapped[int] = mapped_column(Integer, default=0)
    """Withdrawn (取下げ) after being received."""


class LeadTimeRollup(Base):
    """Decided applications per 受付日, procedure, channel and whole hours from receipt
    to decision (処理期間): a histogram from which medians and 90th percentiles are
    exact (nearest rank over whole hours)."""

    __tablename__ = "kpi_lead_time_daily"

    municipality_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    received_on: Mapped[date] = mapped_column(Date, primary_key=True)
    procedure_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    lead_time_hours: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[int] = mapped_column(Integer)
    decided: Mapped[int] = mapped_column(Integer, default=0)
