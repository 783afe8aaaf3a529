"""Reconciliation over HTTP (消込, finance): start a run for a payout or a date range,
list runs, read a run's report as JSON or as CSV for Excel."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.auth.staff_access import ACCESS_ERRORS
from app.csv_writer import MEDIA_TYPE
from app.dependencies import AppSettings, DbSession, Now
from app.errors import problem_responses
from app.payments.dependencies import FinanceStaff, Providers
from app.payments.providers.base import LedgerUnavailable, ProviderUnavailable
from app.payments.reconciliation import service
from app.payments.reconciliation.models import ReconciliationRun
from app.payments.reconciliation.schemas import (
    ItemRead,
    RunCreate,
    RunList,
    RunReport,
    RunSummary,
)

router = APIRouter(prefix="/admin/reconciliation", tags=["finance"])

_NO_STORE = {"Cache-Control": "no-store"}


def _summary(run: ReconciliationRun) -> RunSummary:
    return RunSummary.model_validate(run)


@router.post(
    "/runs",
    status_code=201,
    response_model=RunSummary,
    responses=problem_responses(
        *ACCESS_ERRORS,
        service.ReconciliationScopeInvalid,
        LedgerUnavailable,
        ProviderUnavailable,
    ),
)
async def start_run(
    staff: FinanceStaff,
    body: RunCreate,
    session: DbSession,
    settings: AppSettings,
    providers: Providers,
    response: Response,
    now: Now,
) -> RunSummary:
    """Import the payout's (or the range's) balance transactions from Stripe, match them
    to payments and report matched, unknown to us, not in any payout after
    `RECONCILIATION_UNPAID_AFTER_DAYS`, and amount mismatches, with gross, fee and net."""
    run = await service.run_reconciliation(
        session,
        providers.ledger(),
        staff,
        staff.municipality_code,
        service.RunScope(body.payout_id, body.created_from, body.created_to),
        unpaid_after_days=settings.reconciliation_unpaid_after_days,
        now=now,
    )
    response.headers.update(
        {**_NO_STORE, "Location": f"/api/v1/admin/reconciliation/runs/{run.id}"}
    )
    return _summary(run)


@router.get("/runs", response_model=RunList, responses=problem_responses(*ACCESS_ERRORS))
async def list_runs(
    staff: FinanceStaff,
    session: DbSession,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> RunList:
    """Runs of your municipality, newest first."""
    rows, total = await service.list_runs(session, staff, limit=limit, offset=offset)
    response.headers.update(_NO_STORE)
    return RunList(items=[_summary(run) for run in rows], total=total, limit=limit, offset=offset)


@router.get(
    "/runs/{run_id}",
    response_model=RunReport,
    responses=problem_responses(*ACCESS_ERRORS, service.ReconciliationRunNotFound),
)
async def get_run(
    staff: FinanceStaff,
    run_id: uuid.UUID,
    session: DbSession,
    response: Response,
    kind: Annotated[list[service.ItemKind] | None, Query(description="Repeat for several")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> RunReport:
    """The run's report: counts, totals as Stripe reports them, and its items."""
    run = await service.get_run(session, staff, run_id)
    items, total = await service.list_items(
        session, run, kinds=tuple(kind or ()), limit=limit, offset=offset
    )
    response.headers.update(_NO_STORE)
    return RunReport(
        **_summary(run).model_dump(),
        items=[
            ItemRead(
                kind=service.ItemKind(item.kind),
                kind_ja=service.KIND_LABELS_JA[service.ItemKind(item.kind)],
                reference_number=item.reference_number,
                payment_id=item.payment_id,
                provider_transaction_id=item.provider_transaction_id,
                transaction_type=item.transaction_type,
                source_id=item.source_id,
                amount=item.amount,
                fee=item.fee,
                net=item.net,
                expected_amount=item.expected_amount,
                occurred_at=item.occurred_at,
                note=item.note,
            )
            for item in items
        ],
        items_total=total,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/runs/{run_id}/report.csv",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {}}, "description": "UTF-8 with BOM, CRLF, 日本語の見出し"},
        **problem_responses(*ACCESS_ERRORS, service.ReconciliationRunNotFound),
    },
)
async def get_run_csv(staff: FinanceStaff, run_id: uuid.UUID, session: DbSession) -> Response:
    """The run's items as CSV that Excel opens correctly: UTF-8 with BOM, CRLF, Japanese
    headers (状態, 受付番号, 決済ID, 金額, 手数料, 入金額, ...), integer yen."""
    run = await service.get_run(session, staff, run_id)
    content = await service.report_csv(session, run)
    filename = f"reconciliation-{run.started_at:%Y%m%d}-{run.id.hex[:8]}.csv"
    return Response(
        content,
        media_type=MEDIA_TYPE,
        headers={**_NO_STORE, "Content-Disposition": f'attachment; filename="{filename}"'},
    )
