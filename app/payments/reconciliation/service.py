"""Reconciliation (消込): import a payout's (or a date range's) balance transactions from
the provider, store them, match them to our payments and refunds, and keep the result
as a run with its items, counts and the provider's gross / fee / net totals.

One provider account serves every municipality of a deployment, so a run belongs to the
municipality of the finance staff who started it: transactions matched to another
municipality's payments are left out of it; transactions nobody can attribute (an
unknown charge, a provider fee) are shown to each. Never commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import io
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from operator import itemgetter
from typing import Any, Protocol, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, any_, exists, func, insert, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.staff_service import StaffPrincipal
from app.csv_writer import BOM, Cell, CsvWriter
from app.db import fetch_page, new_uuid
from app.errors import NotFound, ValidationFailed
from app.payments.lifecycle import PAID, PaymentStatus, RefundStatus
from app.payments.models import Payment, Refund
from app.payments.providers.base import Ledger, LedgerPayout, LedgerTransaction
from app.payments.providers.stripe_ledger import payout_from
from app.payments.reconciliation.models import (
    BalanceTransaction,
    Payout,
    ReconciliationItem,
    ReconciliationRun,
)
from app.submissions.dialects import insert_ignoring_conflicts

WAITING_REFUNDS = frozenset(
    {RefundStatus.REQUESTED, RefundStatus.PENDING, RefundStatus.REQUIRES_ACTION}
)
"""Refunds whose money has not reached the citizen yet (konbini: waiting for an account)."""
BATCH_SIZE = 500
"""Transactions matched and written per round trip; memory stays flat however long the payout."""
CHARGE_TYPES = frozenset({"charge", "payment"})
REFUND_TYPES = frozenset({"refund", "payment_refund"})
REFUND_FAILURE_TYPES = frozenset({"refund_failure", "payment_failure_refund"})
"""A failed refund's money coming back to the balance."""
DISPUTE_CATEGORIES = {"dispute": "dispute", "dispute_reversal": "dispute_reversal"}
"""Stripe's reporting categories of a dispute's withdrawal and of its reversal (won)."""
PAYOUT_TYPES = frozenset({"payout", "payout_cancel", "payout_failure"})
"""The payout's own movement: stored, but not part of what was paid out."""
TOKYO = ZoneInfo("Asia/Tokyo")


class ItemKind(StrEnum):
    MATCHED = "matched"  # 照合済み
    AMOUNT_MISMATCH = "amount_mismatch"  # 金額不一致
    UNKNOWN_TO_US = "unknown_to_us"  # 当方に記録なし (Stripeにのみ存在)
    NOT_IN_PAYOUT = "not_in_payout"  # 未入金 (支払済みだが入金に含まれない)
    RECEIVED_NOT_DUE = "received_not_due"  # 入金済・請求なし (閉じた決済・取下げ後の入金)
    REFUND_PENDING = "refund_pending"  # 返金手続中 (口座情報待ちなど)
    REFUND_FAILED = "refund_failed"  # 返金失敗 (返金額が残高に戻った)
    DISPUTE = "dispute"  # 異議申立て (チャージバックによる引落し)
    DISPUTE_REVERSAL = "dispute_reversal"  # 異議申立て勝訴 (資金戻り)
    OTHER = "other"  # その他 (手数料・調整など)


KIND_LABELS_JA: Mapping[ItemKind, str] = {
    ItemKind.MATCHED: "照合済み",
    ItemKind.AMOUNT_MISMATCH: "金額不一致",
    ItemKind.UNKNOWN_TO_US: "当方記録なし",
    ItemKind.NOT_IN_PAYOUT: "未入金",
    ItemKind.RECEIVED_NOT_DUE: "入金済・請求なし",
    ItemKind.REFUND_PENDING: "返金手続中",
    ItemKind.REFUND_FAILED: "返金失敗",
    ItemKind.DISPUTE: "異議申立て",
    ItemKind.DISPUTE_REVERSAL: "異議申立て勝訴",
    ItemKind.OTHER: "その他",
}

CSV_HEADER = (
    "状態",
    "受付番号",
    "決済ID",
    "取引ID",
    "取引種別",
    "元取引ID",
    "金額",
    "手数料",
    "入金額",
    "当方記録額",
    "日時",
    "備考",
)
"""状態 (kind), 受付番号, 決済ID (our payment), 取引ID (balance transaction), 取引種別,
元取引ID (charge/refund), 金額 (gross), 手数料 (fee), 入金額 (net), 当方記録額 (what we
recorded), 日時 (JST), 備考."""


class ReconciliationScopeInvalid(ValidationFailed, code="RECONCILIATION_SCOPE_INVALID"): ...


class ReconciliationRunNotFound(NotFound, code="RECONCILIATION_RUN_NOT_FOUND"): ...


@dataclass(frozen=True)
class RunScope:
    """A payout, or the transactions created in [created_from, created_to)."""

    payout_id: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None

    def check(self) -> None:
        by_payout = self.payout_id is not None
        by_range = self.created_from is not None or self.created_to is not None
        range_ok = (
            self.created_from is not None
            and self.created_to is not None
            and self.created_from < self.created_to
        )
        if by_payout == by_range or (by_range and not range_ok):
            raise ReconciliationScopeInvalid(
                "Send either payout_id, or created_from before created_to.",
                "payout_id、または created_from と created_to（開始 < 終了）の"
                "どちらかを指定してください。",
            )


@dataclass
class _Tally:
    counts: Counter[str]
    gross: int = 0
    fee: int = 0
    net: int = 0
    transactions: int = 0


# --- Runs --------------------------------------------------------------------------------


async def run_reconciliation(
    session: AsyncSession,
    ledger: Ledger,
    actor: audit.Actor,
    municipality_code: str,
    scope: RunScope,
    *,
    unpaid_after_days: int,
    now: datetime,
) -> ReconciliationRun:
    """Import, match and report for one municipality; the run and its items are stored
    and audited under `actor` (finance staff, or the reconcile command)."""
    scope.check()
    run = ReconciliationRun(
        id=new_uuid(),
        municipality_code=municipality_code,
        provider=ledger.provider,
        provider_payout_id=scope.payout_id,
        created_from=scope.created_from,
        created_to=scope.created_to,
        unpaid_after_days=unpaid_after_days,
        transaction_count=0,
        counts={},
        totals={},
        requested_by=actor.actor_id,
        started_at=now,
        finished_at=now,
    )
    session.add(run)
    if scope.payout_id is not None:
        payout = await ledger.payout(scope.payout_id)
        await _upsert_payout(session, ledger.provider, payout, now)
        run.payout_amount = payout.amount
    await session.flush()

    tally = _Tally(Counter())
    with _existing_objects_frozen():
        async for batch in _prefetched_batches(ledger, scope):
            await _reconcile_batch(session, ledger.provider, run, scope, batch, tally, now)
    await _report_not_in_payout(session, ledger.provider, run, tally, now)

    run.transaction_count = tally.transactions
    run.counts = {kind.value: tally.counts.get(kind.value, 0) for kind in ItemKind}
    run.totals = {"gross": tally.gross, "fee": tally.fee, "net": tally.net}
    run.finished_at = now
    await session.flush()
    await audit.record(
        session,
        actor,
        "reconciliation.run",
        "reconciliation_run",
        run.id,
        run.municipality_code,
        details={
            "payout_id": scope.payout_id,
            "created_from": scope.created_from.isoformat() if scope.created_from else None,
            "created_to": scope.created_to.isoformat() if scope.created_to else None,
            "counts": run.counts,
            "totals": run.totals,
        },
    )
    return run


async def list_runs(
    session: AsyncSession, staff: StaffPrincipal, *, limit: int, offset: int
) -> tuple[list[ReconciliationRun], int]:
    statement = (
        select(ReconciliationRun)
        .where(ReconciliationRun.municipality_code == staff.municipality_code)
        .order_by(ReconciliationRun.started_at.desc(), ReconciliationRun.id)
    )
    return await fetch_page(session, statement, limit=limit, offset=offset)


async def get_run(
    session: AsyncSession, staff: StaffPrincipal, run_id: uuid.UUID
) -> ReconciliationRun:
    run = await session.get(ReconciliationRun, run_id)
    if run is None or run.municipality_code != staff.municipality_code:
        raise ReconciliationRunNotFound(
            "No reconciliation run with this id exists for your municipality.",
            "この消込結果は存在しないか、アクセスする権限がありません。",
        )
    return run


async def list_items(
    session: AsyncSession,
    run: ReconciliationRun,
    *,
    kinds: Sequence[ItemKind] = (),
    limit: int,
    offset: int,
) -> tuple[list[ReconciliationItem], int]:
    conditions = [ReconciliationItem.run_id == run.id]
    if kinds:
        conditions.append(ReconciliationItem.kind.in_([str(kind) for kind in kinds]))
    statement = select(ReconciliationItem).where(*conditions).order_by(ReconciliationItem.id)
    return await fetch_page(session, statement, limit=limit, offset=offset)


async def report_csv(session: AsyncSession, run: ReconciliationRun) -> bytes:
    """The run's items as CSV that Excel opens as Japanese text: UTF-8 with a BOM, CRLF
    line ends, Japanese headers, integer yen, JST times."""
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = CsvWriter(buffer)
    writer.writerow(CSV_HEADER)
    rows = await session.stream_scalars(
        select(ReconciliationItem)
        .where(ReconciliationItem.run_id == run.id)
        .order_by(ReconciliationItem.id)
        .execution_options(yield_per=2000)
    )
    async for item in rows:
        writer.writerow(_csv_row(item))
    return buffer.getvalue().encode("utf-8")


async def record_payout(
    session: AsyncSession, provider: str, payout: Mapping[str, Any], *, now: datetime
) -> None:
    """A payout event (payout.paid and the like): keep the payout's latest state."""
    await _upsert_payout(session, provider, payout_from(payout), now)


# --- Internals ---------------------------------------------------------------------------


@contextlib.contextmanager
def _existing_objects_frozen() -> Iterator[None]:
    """The objects that exist before the batches are left out of Python's garbage
    collection while they are processed (`gc.freeze`), and put back afterwards. Every
    transaction leaves a few objects alive across collections (in the queue, in a batch),
    which triggers full collections; each went through all of the process's objects
    (the SDK's, SQLAlchemy's, ~200,000) and together they cost a sixth of the CPU of a
    100,000-transaction run. Collections go on for what the run makes, so the cycles
    that each HTTP request leaves behind are still freed and memory stays flat."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


async def _prefetched_batches(
    ledger: Ledger, scope: RunScope
) -> AsyncIterator[list[LedgerTransaction]]:
    """The ledger's transactions in batches, the next pages fetched while the current
    batch is written: the provider's paging and our database round trips overlap."""
    queue: asyncio.Queue[list[LedgerTransaction] | BaseException | None] = asyncio.Queue(maxsize=2)

    async def fetch() -> None:
        batch: list[LedgerTransaction] = []
        try:
            transactions = ledger.transactions(
                payout_id=scope.payout_id,
                created_from=scope.created_from,
                created_to=scope.created_to,
            )
            async with contextlib.aclosing(transactions):
                async for transaction in transactions:
                    batch.append(transaction)
                    if len(batch) >= BATCH_SIZE:
                        await queue.put(batch)
                        batch = []
            if batch:
                await queue.put(batch)
            await queue.put(None)
        except Exception as error:  # handed to the consumer, which raises it
            await queue.put(error)

    fetcher = asyncio.create_task(fetch())
    try:
        while (item := await queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        fetcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await fetcher


async def _upsert_payout(
    session: AsyncSession, provider: str, payout: LedgerPayout, now: datetime
) -> None:
    await session.execute(
        insert_ignoring_conflicts(
            session,
            Payout,
            {
                "provider": provider,
                "provider_payout_id": payout.id,
                "amount": payout.amount,
                "currency": payout.currency,
                "status": payout.status,
                "arrival_date": payout.arrival_date,
                "created_at": payout.created,
                "updated_at": now,
            },
            ["provider_payout_id"],
        )
    )
    await session.execute(
        update(Payout)
        .where(Payout.provider_payout_id == payout.id)
        .values(
            amount=payout.amount,
            status=payout.status,
            arrival_date=payout.arrival_date,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )


async def _reconcile_batch(
    session: AsyncSession,
    provider: str,
    run: ReconciliationRun,
    scope: RunScope,
    batch: list[LedgerTransaction],
    tally: _Tally,
    now: datetime,
) -> None:
    payments = await _payments_for(session, batch)
    refunds = await _refunds_for(session, batch)
    stored: list[tuple[Any, ...]] = []
    items: list[tuple[Any, ...]] = []
    municipality_code = run.municipality_code
    counts = tally.counts
    for transaction in batch:
        payment = _payment_of(transaction, payments)
        if payment is not None:
            owner: str | None = payment.municipality_code
            payment_id: uuid.UUID | None = payment.id
        else:
            owner, payment_id = transaction.metadata.get("municipality_code"), None
        stored.append(
            (
                transaction.id,
                transaction.type[:40],
                (transaction.reporting_category or "")[:40] or None,
                transaction.amount,
                transaction.fee,
                transaction.net,
                transaction.currency[:3],
                transaction.source_id,
                payment_id,
                owner,
                transaction.created,
                transaction.available_on,
            )
        )
        if owner is not None and owner != municipality_code:
            continue  # another municipality's money: their run reports it
        if transaction.type in PAYOUT_TYPES:
            continue
        kind, expected, note = _classify(transaction, payment, refunds)
        counts[kind] += 1
        tally.gross += transaction.amount
        tally.fee += transaction.fee
        tally.net += transaction.net
        items.append(
            (
                kind.value,
                transaction.id,
                transaction.type,
                transaction.source_id,
                payment_id,
                payment.reference_number if payment is not None else None,
                transaction.amount,
                transaction.fee,
                transaction.net,
                expected,
                transaction.created,
                note,
            )
        )
    tally.transactions += len(items)
    await _write_batch(session, provider, run, scope, stored, items, now)


def _classify(
    transaction: LedgerTransaction, payment: MatchedPayment | None, refunds: Mapping[str, Refund]
) -> tuple[ItemKind, int | None, str | None]:
    """The item's kind, what we recorded (for mismatches), and a note for finance."""
    if transaction.type in CHARGE_TYPES:
        if payment is None:
            return ItemKind.UNKNOWN_TO_US, None, "入金に対応する決済が当方にありません"
        if transaction.amount != payment.amount:
            return ItemKind.AMOUNT_MISMATCH, payment.amount, "決済額と入金の金額が異なります"
        if payment.closed_at is not None:
            # Paid after we had closed it (expired, canceled on withdrawal): nobody owes it.
            return (
                ItemKind.RECEIVED_NOT_DUE,
                0,
                "請求を終了した決済への入金です（返金を検討してください）",
            )
        if PaymentStatus(payment.status) not in PAID:
            return ItemKind.MATCHED, payment.amount, f"当方の状態は{payment.status}です"
        return ItemKind.MATCHED, payment.amount, None
    if transaction.type in REFUND_TYPES | REFUND_FAILURE_TYPES:
        refund = refunds.get(transaction.refund_id or "")
        if refund is None:
            note = "当方で記録のない返金です" if payment else "返金に対応する決済が当方にありません"
            return ItemKind.UNKNOWN_TO_US, None, note
        if transaction.type in REFUND_FAILURE_TYPES:
            return ItemKind.REFUND_FAILED, refund.amount, "返金が失敗し、残高に戻りました"
        if -transaction.amount != refund.amount:
            return ItemKind.AMOUNT_MISMATCH, -refund.amount, "返金額が異なります"
        status = RefundStatus(refund.status)
        if status == RefundStatus.FAILED:
            return ItemKind.REFUND_FAILED, -refund.amount, "この返金は後に失敗しました"
        if status in WAITING_REFUNDS:
            return ItemKind.REFUND_PENDING, -refund.amount, f"返金は{status.value}です"
        if refund.requested_by == "provider":
            return ItemKind.MATCHED, -refund.amount, "決済代行の管理画面で行われた返金です"
        return ItemKind.MATCHED, -refund.amount, None
    category = DISPUTE_CATEGORIES.get(transaction.reporting_category or "")
    if category is not None:
        kind = ItemKind.DISPUTE if category == "dispute" else ItemKind.DISPUTE_REVERSAL
        if payment is None:
            return kind, None, "異議申立てに対応する決済が当方にありません"
        note = f"異議申立ての状態: {payment.dispute_status or '不明'}"
        return kind, None, note
    return ItemKind.OTHER, None, None


class MatchedPayment(Protocol):
    """What matching reads of one of our payments (a row of `_MATCHED`, not an ORM object:
    100,000 of those cost more than the rest of the matching)."""

    id: uuid.UUID
    municipality_code: str
    reference_number: str
    amount: int
    status: str
    closed_at: datetime | None
    dispute_status: str | None
    provider_charge_id: str | None
    provider_payment_intent_id: str | None


_MATCHED = select(
    Payment.id,
    Payment.municipality_code,
    Payment.reference_number,
    Payment.amount,
    Payment.status,
    Payment.closed_at,
    Payment.dispute_status,
    Payment.provider_charge_id,
    Payment.provider_payment_intent_id,
)


def _payment_of(
    transaction: LedgerTransaction, payments: Mapping[str, MatchedPayment]
) -> MatchedPayment | None:
    for key in (
        transaction.metadata.get("payment_id"),
        transaction.charge_id,
        transaction.payment_intent_id,
    ):
        if key and key in payments:
            return payments[key]
    return None


async def _payments_for(
    session: AsyncSession, batch: Iterable[LedgerTransaction]
) -> dict[str, MatchedPayment]:
    """Our payments the batch points at, keyed by every id they may be found under: by our
    id in the metadata first, then by charge or PaymentIntent for what is still unknown.
    One key kind per query, so each is an index lookup (an OR of them is not)."""
    transactions = list(batch)
    found: dict[str, MatchedPayment] = {}

    def remember(payments: Iterable[Any]) -> None:
        for payment in payments:
            found[str(payment.id)] = payment
            for key in (payment.provider_charge_id, payment.provider_payment_intent_id):
                if key:
                    found[key] = payment

    postgres = session.get_bind().dialect.name == "postgresql"

    def among(column: Any, keys: set[Any]) -> Any:
        # PostgreSQL: one array parameter, not a bound parameter per key.
        if postgres:
            return column == any_(literal(list(keys), postgresql.ARRAY(column.type)))
        return column.in_(keys)

    payment_ids = set()
    for transaction in transactions:
        with contextlib.suppress(ValueError):
            payment_ids.add(uuid.UUID(transaction.metadata.get("payment_id", "")))
    if payment_ids:
        remember(await session.execute(_MATCHED.where(among(Payment.id, payment_ids))))
    unresolved = [t for t in transactions if _payment_of(t, found) is None]
    for column, keys in (
        (Payment.provider_charge_id, {t.charge_id for t in unresolved if t.charge_id}),
        (
            Payment.provider_payment_intent_id,
            {t.payment_intent_id for t in unresolved if t.payment_intent_id},
        ),
    ):
        if keys:
            remember(await session.execute(_MATCHED.where(among(column, keys))))
    return found


async def _refunds_for(
    session: AsyncSession, batch: Iterable[LedgerTransaction]
) -> dict[str, Refund]:
    refund_ids = {t.refund_id for t in batch if t.refund_id}
    if not refund_ids:
        return {}
    rows = await session.scalars(select(Refund).where(Refund.provider_refund_id.in_(refund_ids)))
    return {refund.provider_refund_id: refund for refund in rows if refund.provider_refund_id}


_STORED_COLUMNS = (
    "provider_transaction_id",
    "type",
    "reporting_category",
    "amount",
    "fee",
    "net",
    "currency",
    "source_id",
    "payment_id",
    "municipality_code",
    "created_at",
    "available_on",
)
"""A balance transaction's row as `_reconcile_batch` builds it; provider, payout and
import time are the same for the whole batch."""
_ITEM_COLUMNS = (
    "kind",
    "provider_transaction_id",
    "transaction_type",
    "source_id",
    "payment_id",
    "reference_number",
    "amount",
    "fee",
    "net",
    "expected_amount",
    "occurred_at",
    "note",
)
"""A reconciliation item's row as `_reconcile_batch` builds it; the run is the batch's."""


async def _write_batch(
    session: AsyncSession,
    provider: str,
    run: ReconciliationRun,
    scope: RunScope,
    stored: list[tuple[Any, ...]],
    items: list[tuple[Any, ...]],
    now: datetime,
) -> None:
    """Insert new balance transactions and refresh known ones in one upsert (the unique
    index finds them, however large the table grew in this transaction), and insert the
    run's items. A payout once learnt stays when a date-range run meets the transaction
    again. On PostgreSQL both are one statement, one round trip: each column travels as
    one array parameter (unnest), nothing is bound row by row."""
    if session.get_bind().dialect.name == "postgresql":
        await (await _driver(session)).execute(
            _WRITE_BATCH,
            provider,
            scope.payout_id,
            now,
            run.id,
            *_columns(stored, len(_STORED_COLUMNS)),
            *_columns(items, len(_ITEM_COLUMNS)),
        )
        return
    shared = {"provider": provider, "provider_payout_id": scope.payout_id, "imported_at": now}
    await session.execute(
        _UPSERT_TRANSACTIONS,
        [dict(zip(_STORED_COLUMNS, row, strict=True), **shared) for row in stored],
    )
    await _insert_rows(
        session,
        _table(ReconciliationItem),
        [dict(zip(_ITEM_COLUMNS, row, strict=True), run_id=run.id) for row in items],
    )


def _columns(rows: list[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """Rows turned into one list per column (empty lists for no rows)."""
    if not rows:
        return [[] for _ in range(width)]
    return [list(column) for column in zip(*rows, strict=True)]


def _upsert_transactions() -> Any:
    table = _table(BalanceTransaction)
    statement = sqlite.insert(table)
    return statement.on_conflict_do_update(
        index_elements=["provider_transaction_id"],
        set_={
            "payment_id": statement.excluded.payment_id,
            "municipality_code": statement.excluded.municipality_code,
            "provider_payout_id": func.coalesce(
                statement.excluded.provider_payout_id, table.c.provider_payout_id
            ),
            "imported_at": statement.excluded.imported_at,
        },
    )


def _write_batch_sql() -> str:
    """The PostgreSQL statement of `_write_batch`: $1 provider, $2 payout, $3 import
    time, $4 run, then one array per column of `_STORED_COLUMNS` and of `_ITEM_COLUMNS`
    (their types read from the tables)."""
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]

    def arrays(table: Table, columns: Sequence[str], first: int) -> str:
        return ", ".join(
            f"${first + offset}::{table.c[name].type.compile(dialect=dialect)}[]"
            for offset, name in enumerate(columns)
        )

    def cast(table: Table, name: str, number: int) -> str:
        return f"${number}::{table.c[name].type.compile(dialect=dialect)}"

    transactions, items = _table(BalanceTransaction), _table(ReconciliationItem)
    first_item = 5 + len(_STORED_COLUMNS)
    return (
        f"WITH stored AS (INSERT INTO {transactions.name} AS known"
        f" (provider, provider_payout_id, imported_at, {', '.join(_STORED_COLUMNS)})"
        f" SELECT {cast(transactions, 'provider', 1)},"
        f" {cast(transactions, 'provider_payout_id', 2)},"
        f" {cast(transactions, 'imported_at', 3)}, *"
        f" FROM unnest({arrays(transactions, _STORED_COLUMNS, 5)})"
        " ON CONFLICT (provider_transaction_id) DO UPDATE SET"
        " payment_id = excluded.payment_id,"
        " municipality_code = excluded.municipality_code,"
        " provider_payout_id = coalesce(excluded.provider_payout_id, known.provider_payout_id),"
        " imported_at = excluded.imported_at)"
        f" INSERT INTO {items.name} (run_id, {', '.join(_ITEM_COLUMNS)})"
        f" SELECT {cast(items, 'run_id', 4)}, *"
        f" FROM unnest({arrays(items, _ITEM_COLUMNS, first_item)})"
    )


async def _insert_rows(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    """Plain inserts of many rows: COPY on PostgreSQL, one executemany elsewhere."""
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        await _copy_rows(session, table.name, rows)
    else:
        await session.execute(insert(table), rows)


async def _copy_rows(session: AsyncSession, table_name: str, rows: list[dict[str, Any]]) -> None:
    """COPY `rows` (dicts with the same keys) into `table_name` on the session's own
    connection, so inside its transaction."""
    columns = list(rows[0])
    await (await _driver(session)).copy_records_to_table(
        table_name, records=list(map(itemgetter(*columns), rows)), columns=columns
    )


async def _driver(session: AsyncSession) -> Any:
    """The asyncpg connection under the session's, in its transaction."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection


async def _report_not_in_payout(
    session: AsyncSession,
    provider: str,
    run: ReconciliationRun,
    tally: _Tally,
    now: datetime,
) -> None:
    """未入金: our payments that succeeded more than N days ago and that no payout we
    imported carries (their charge is in no balance transaction with a payout)."""
    cutoff = now - timedelta(days=run.unpaid_after_days)
    paid_out = exists().where(
        BalanceTransaction.payment_id == Payment.id,
        BalanceTransaction.type.in_(sorted(CHARGE_TYPES)),
        BalanceTransaction.provider_payout_id.is_not(None),
    )
    rows = await session.scalars(
        select(Payment)
        .where(
            Payment.municipality_code == run.municipality_code,
            Payment.provider == provider,
            Payment.status.in_([str(status) for status in PAID]),
            Payment.paid_at <= cutoff,
            ~paid_out,
        )
        .order_by(Payment.paid_at, Payment.id)
    )
    items = [
        {
            "run_id": run.id,
            "kind": ItemKind.NOT_IN_PAYOUT.value,
            "payment_id": payment.id,
            "reference_number": payment.reference_number,
            "source_id": payment.provider_charge_id or payment.provider_payment_intent_id,
            "expected_amount": payment.amount,
            "occurred_at": payment.paid_at,
            "note": f"支払から{run.unpaid_after_days}日を過ぎても入金に含まれていません",
        }
        for payment in rows
    ]
    tally.counts[ItemKind.NOT_IN_PAYOUT] += len(items)
    await _insert_rows(session, _table(ReconciliationItem), items)


def _table(model: type[Any]) -> Table:
    """The Core table of a model: bulk rows skip the ORM's per-row bookkeeping."""
    return cast(Table, model.__table__)


def _csv_row(item: ReconciliationItem) -> list[Cell]:
    occurred = (
        item.occurred_at.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M:%S")
        if (item.occurred_at)
        else ""
    )
    return [
        KIND_LABELS_JA.get(ItemKind(item.kind), item.kind),
        item.reference_number or "",
        str(item.payment_id) if item.payment_id else "",
        item.provider_transaction_id or "",
        item.transaction_type or "",
        item.source_id or "",
        item.amount,
        item.fee,
        item.net,
        item.expected_amount,
        occurred,
        item.note or "",
    ]


_UPSERT_TRANSACTIONS = _upsert_transactions()
_WRITE_BATCH = _write_batch_sql()
