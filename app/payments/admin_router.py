"""Finance over HTTP (会計): payments and refunds of the staff member's municipality.

Everything another municipality owns answers 404, never 403. Refunds are audited.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime

from app.auth.staff_access import ACCESS_ERRORS
from app.dependencies import DbSession, Now, no_store
from app.errors import problem_responses
from app.payments import alerts, service
from app.payments.alerts import ALERT_LABELS_JA, AlertAlreadyResolved, AlertKind, AlertNotFound
from app.payments.citizen_router import to_balance_read
from app.payments.dependencies import ApplicationStaff, FinanceStaff, Providers
from app.payments.lifecycle import DisputeStatus, PaymentStatus, RefundStatus
from app.payments.models import Payment, PaymentAlert
from app.payments.providers.base import ProviderUnavailable
from app.payments.schemas import (
    AlertList,
    AlertRead,
    AlertResolve,
    BalanceRead,
    PaymentDetail,
    PaymentList,
    PaymentSummary,
    RefundCreate,
    RefundList,
    RefundRead,
)
from app.submissions.schemas import Fee
from app.submissions.service import SubmissionNotFound

router = APIRouter(prefix="/admin", tags=["finance"], dependencies=[Depends(no_store)])


def _summary(payment: Payment) -> PaymentSummary:
    return PaymentSummary.model_validate(payment)


_REFUND_SEND_ERRORS = (service.RefundableAmountChanged, service.PaymentChanged, ProviderUnavailable)
"""What sending a refund to the provider may meet: the money moved meanwhile, the payment
changed under us, or the provider could not be reached."""


@router.get("/payments", response_model=PaymentList, responses=problem_responses(*ACCESS_ERRORS))
async def list_payments(
    staff: FinanceStaff,
    session: DbSession,
    status: Annotated[list[PaymentStatus] | None, Query(description="Repeat for several")] = None,
    reference_number: Annotated[str | None, Query(description="受付番号")] = None,
    submission_id: uuid.UUID | None = None,
    paid_from: Annotated[AwareDatetime | None, Query(description="Inclusive")] = None,
    paid_to: Annotated[AwareDatetime | None, Query(description="Exclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> PaymentList:
    """Payments of your municipality, newest first."""
    criteria = service.PaymentFilter(
        statuses=tuple(status or ()),
        reference_number=reference_number,
        submission_id=submission_id,
        paid_from=paid_from,
        paid_to=paid_to,
    )
    rows, total = await service.list_payments(session, staff, criteria, limit=limit, offset=offset)
    return PaymentList(items=[_summary(p) for p in rows], total=total, limit=limit, offset=offset)


@router.get(
    "/payments/{payment_id}",
    response_model=PaymentDetail,
    responses=problem_responses(*ACCESS_ERRORS, service.PaymentNotFound),
)
async def get_payment(
    staff: FinanceStaff, payment_id: uuid.UUID, session: DbSession
) -> PaymentDetail:
    """One payment with its provider ids, fee lines and refunds."""
    detail = await service.get_payment(session, staff, payment_id)
    return _detail(detail)


@router.post(
    "/payments/{payment_id}/refunds",
    status_code=201,
    response_model=PaymentDetail,
    responses=problem_responses(
        *ACCESS_ERRORS,
        service.PaymentNotFound,
        service.PaymentNotRefundable,
        service.RefundAmountInvalid,
        *_REFUND_SEND_ERRORS,
    ),
)
async def refund_payment(
    staff: FinanceStaff,
    payment_id: uuid.UUID,
    body: RefundCreate,
    session: DbSession,
    providers: Providers,
    now: Now,
) -> PaymentDetail:
    """返金, full or partial, with a reason. Send the `refundable_amount` you saw as
    `expected_refundable_amount`: if a refund happened since, the answer is 409 and
    nothing is refunded. The answer is the payment with its refunds.

    The refund is stored (`requested`) and committed before the provider is asked, under
    the key `refund-{refund id}`. If the answer is lost (a 502, a timeout), send the same
    request again: it finds that refund and asks again under the same key, so the money
    goes back once."""
    refund = await service.request_refund(
        session,
        staff,
        payment_id,
        amount=body.amount,
        reason=body.reason,
        expected_refundable_amount=body.expected_refundable_amount,
        now=now,
    )
    await session.commit()
    await service.send_refund(session, providers, refund.id, now=now)
    return _detail(await service.get_payment(session, staff, payment_id))


@router.get(
    "/payment-alerts", response_model=AlertList, responses=problem_responses(*ACCESS_ERRORS)
)
async def list_alerts(
    staff: FinanceStaff,
    session: DbSession,
    resolved: Annotated[
        bool | None, Query(description="false: still to look at; true: done; omit: all")
    ] = False,
    kind: Annotated[list[AlertKind] | None, Query(description="Repeat for several")] = None,
    payment_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> AlertList:
    """要確認: what finance must look at (webhooks that do not match their payment,
    failed refunds, disputes, money received that nobody owes), newest first."""
    rows, total = await alerts.list_alerts(
        session,
        staff,
        resolved=resolved,
        kinds=tuple(kind or ()),
        payment_id=payment_id,
        limit=limit,
        offset=offset,
    )
    return AlertList(items=[_alert(a) for a in rows], total=total, limit=limit, offset=offset)


@router.post(
    "/payment-alerts/{alert_id}/resolve",
    response_model=AlertRead,
    responses=problem_responses(*ACCESS_ERRORS, AlertNotFound, AlertAlreadyResolved),
)
async def resolve_alert(
    staff: FinanceStaff,
    alert_id: uuid.UUID,
    body: AlertResolve,
    session: DbSession,
    now: Now,
) -> AlertRead:
    """対応済みにする: say what was done; audited."""
    alert = await alerts.resolve_alert(session, staff, alert_id, body.resolution, now=now)
    return _alert(alert)


@router.get("/refunds", response_model=RefundList, responses=problem_responses(*ACCESS_ERRORS))
async def list_refunds(
    staff: FinanceStaff,
    session: DbSession,
    status: Annotated[list[RefundStatus] | None, Query(description="Repeat for several")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> RefundList:
    """Refunds of your municipality, newest first; `?status=proposed`: the refunds of
    overpayments waiting for your confirmation (返金確認待ち)."""
    rows, total = await service.list_refunds(
        session, staff, statuses=tuple(status or ()), limit=limit, offset=offset
    )
    return RefundList(
        items=[RefundRead.model_validate(r) for r in rows], total=total, limit=limit, offset=offset
    )


@router.post(
    "/refunds/{refund_id}/confirm",
    response_model=RefundRead,
    responses=problem_responses(
        *ACCESS_ERRORS,
        service.RefundNotFound,
        service.RefundNotProposed,
        *_REFUND_SEND_ERRORS,
    ),
)
async def confirm_refund(
    staff: FinanceStaff,
    refund_id: uuid.UUID,
    session: DbSession,
    providers: Providers,
    now: Now,
) -> RefundRead:
    """返金の確認: refund an overpayment the system proposed (status `proposed`, after a
    fee was lowered or an application withdrawn). Committed as `requested` before the
    provider is asked under `refund-{refund id}`; if the answer is lost, confirm again:
    the same refund is sent again, never a second one."""
    refund = await service.confirm_refund(session, staff, refund_id, now=now)
    await session.commit()
    await service.send_refund(session, providers, refund.id, now=now)
    return RefundRead.model_validate(refund)


@router.get(
    "/submissions/{submission_id}/balance",
    response_model=BalanceRead,
    responses=problem_responses(*ACCESS_ERRORS, SubmissionNotFound),
)
async def get_balance(
    staff: ApplicationStaff, submission_id: uuid.UUID, session: DbSession
) -> BalanceRead:
    """An application's money: fee owed, paid, refunded, due (positive: unpaid;
    negative: overpaid), refunds waiting for confirmation, and the open payment."""
    balance = await service.staff_balance(session, staff, submission_id)
    return to_balance_read(balance)


def _detail(detail: service.PaymentDetail) -> PaymentDetail:
    payment = detail.payment
    return PaymentDetail(
        **_summary(payment).model_dump(),
        provider_checkout_id=payment.provider_checkout_id,
        provider_payment_intent_id=payment.provider_payment_intent_id,
        provider_charge_id=payment.provider_charge_id,
        fee_breakdown=Fee.model_validate(payment.fee_breakdown),
        expires_at=payment.expires_at,
        closed_at=payment.closed_at,
        disputed_at=payment.disputed_at,
        dispute_status=DisputeStatus(payment.dispute_status) if payment.dispute_status else None,
        dispute_amount=payment.dispute_amount,
        net_paid=payment.net_paid,
        livemode=payment.livemode,
        refunds=[RefundRead.model_validate(refund) for refund in detail.refunds],
    )


def _alert(alert: PaymentAlert) -> AlertRead:
    kind = AlertKind(alert.kind)
    return AlertRead(
        id=alert.id,
        kind=kind.value,
        kind_ja=ALERT_LABELS_JA[kind],
        payment_id=alert.payment_id,
        reference_number=alert.reference_number,
        amount=alert.amount,
        details=alert.details,
        created_at=alert.created_at,
        resolved_at=alert.resolved_at,
        resolved_by=alert.resolved_by,
        resolution=alert.resolution,
    )
