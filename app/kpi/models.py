"""Rollups of the application history (申請実績の集計), so KPI queries read a few thousand
rows instead of every application.

The lifecycle listener (app.kpi.rollups) never updates a rollup row: every transition
that changes a figure appends one `kpi_usage_deltas` row. A folder (app.kpi.folding, in
the background of every app process and `python -m app.kpi fold`) moves the deltas into
`kpi_usage_daily` and its per-month sums `kpi_usage_monthly`; queries read the folded
rows and the deltas, so figures are exact whether or not the deltas have been folded
yet. Receipts on a deadline day therefore share no row lock here.

Like the events they summarise, neither has a foreign key to a submission: purging an
application's personal data, or the row, changes no figure.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import BigInteger, Column, Date, Index, Integer, String, Table, Uuid
from sqlalchemy.orm import Mapped

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
"""The per-application flags summed in the rollups, in column order."""

LEAD_TIME_BUCKETS = (
    0, 1, 2, 3, 4, 6, 8, 12, 18, 24, 36, 48, 72, 96, 120, 168, 240, 336, 504, 720, 1080,
    1440, 2160,
)  # fmt: skip
"""Lower edges, in whole hours, of the fixed lead-time buckets (処理期間の階級): the
bucket of an edge holds the lead times from it up to the next edge (the last one: 90
days and more)."""

LEAD_TIME_COLUMNS = tuple(f"lead_time_{edge}h" for edge in LEAD_TIME_BUCKETS)
"""Decisions per lead-time bucket: one column per edge of LEAD_TIME_BUCKETS."""


def lead_time_bucket(hours: int) -> int:
    """The lower edge of the bucket holding a lead time of `hours` whole hours."""
    return max(edge for edge in LEAD_TIME_BUCKETS if edge <= max(0, hours))


def _figure_columns() -> list[Column[int]]:
    return [
        Column(name, Integer, nullable=False, default=0, server_default="0")
        for name in USAGE_COUNTERS + LEAD_TIME_COLUMNS
    ]


def _cell_columns(*, primary_key: bool) -> list[Column[object]]:
    return [
        Column("municipality_code", String(6), primary_key=primary_key, nullable=False),
        Column("received_on", Date, primary_key=primary_key, nullable=False),
        Column("procedure_id", Uuid, primary_key=primary_key, nullable=False),
        Column("channel", String(16), primary_key=primary_key, nullable=False),
        Column("month", Integer, nullable=False),
    ]


usage_daily = Table(
    "kpi_usage_daily", Base.metadata, *_cell_columns(primary_key=True), *_figure_columns()
)
usage_monthly = Table(
    "kpi_usage_monthly",
    Base.metadata,
    Column("municipality_code", String(6), primary_key=True, nullable=False),
    Column("month", Integer, primary_key=True, nullable=False),
    Column("procedure_id", Uuid, primary_key=True, nullable=False),
    Column("channel", String(16), primary_key=True, nullable=False),
    *_figure_columns(),
)
"""The daily rows summed per month (yyyymm of the 受付日), kept by the same fold: a
period of whole months (a 年度) reads a few hundred rows of these instead of every day."""
usage_deltas = Table(
    "kpi_usage_deltas",
    Base.metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    *_cell_columns(primary_key=False),
    *_figure_columns(),
    Index("ix_kpi_usage_deltas_municipality_code_received_on", "municipality_code", "received_on"),
)

rollup_generations = Table(
    "kpi_rollup_generations",
    Base.metadata,
    Column("municipality_code", String(6), primary_key=True, nullable=False),
    Column("generation", BigInteger, nullable=False),
)
"""How many times a municipality's folded rows have changed: each fold that moved any of
its deltas and each rebuild adds one. With the number of its deltas not folded yet
(which, between two folds, only grows) it tells a reader whether any figure can have
changed since a report was built (app.kpi.reports)."""


class UsageRollup(Base):
    """Applications per 受付日 (the day received, Japan time), procedure and channel, with
    the histogram of their lead times (`lead_time_<edge>h`, decisions per bucket).

    Every figure is attributed to the day the application was received, whenever the
    later event (payment, return, decision) happened: the rates of a period are then
    shares of the same applications."""

    __table__ = usage_daily

    municipality_code: Mapped[str]
    received_on: Mapped[date]
    """受付日 in Japan time."""
    procedure_id: Mapped[uuid.UUID]
    channel: Mapped[str]
    """online | counter (窓口)"""
    month: Mapped[int]
    """yyyymm of `received_on`, so months and 年度 group without date functions."""
    received: Mapped[int]
    """申請件数: applications received (first submitted, or entered at the counter)."""
    with_card: Mapped[int]
    """Online ones whose applicant signed with, or logged in with, the My Number card."""
    paid_online: Mapped[int]
    """Fee paid cashless through the online payment (キャッシュレス納付)."""
    paid_offline: Mapped[int]
    """Fee paid at the counter: counter applications with a fee, or payments staff
    recorded by hand."""
    returned: Mapped[int]
    """Returned for correction (差戻し) at least once."""
    approved: Mapped[int]
    rejected: Mapped[int]
    withdrawn: Mapped[int]
    """Withdrawn (取下げ) after being received."""


class UsageDelta(Base):
    """One transition's change to the figures of a cell, appended by the lifecycle
    listener and folded into `kpi_usage_daily` later (same columns, plus an id)."""

    __table__ = usage_deltas

    id: Mapped[int]
    municipality_code: Mapped[str]
    received_on: Mapped[date]
    procedure_id: Mapped[uuid.UUID]
    channel: Mapped[str]
    month: Mapped[int]
