"""Payments (決済): starting a payment for the fee the server computed, applying what the
provider reports, and refunds (返金) by finance. (Staff fix the fee of a procedure paid
after review in app.admin.review_service.)

Never commits: the request (or the command, or a test) owns the transaction. Locks are
taken submission first, then payment, everywhere, so two writers never wait on each
other in opposite order. Amounts are integer yen and always our own figures; nothing
here reads an amount from a citizen.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    String,
    bindparam,
    case,
    func,
    inspect,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from app.audit import service as audit
from app.auth.principals import Caller
from app.auth.staff_models import StaffRole
from app.auth.staff_service import StaffPrincipal
from app.config import Settings
from app.db import (
    HotStatement,
    fetch_page,
    for_this_transaction,
    new_uuid,
    rows_of_submission,
    table_of,
)
from app.errors import Conflict, NotFound, ValidationFailed
from app.forms import service as forms
from app.municipalities.service import get_municipality
from app.payments import alerts
from app.payments.lifecycle import (
    ACTIVE_REFUNDS,
    CLOSED,
    DISPUTE_RANK,
    OPEN,
    OPEN_DISPUTES,
    PAID,
    REFUND_RANK,
    REFUNDABLE,
    DisputeReport,
    DisputeStatus,
    Fact,
    PaymentStatus,
    RefundReport,
    RefundStatus,
    is_allowed,
    paid_status,
)
from app.payments.models import Payment, Refund
from app.payments.notices import RefundSucceeded, VoucherIssued, notices
from app.payments.providers import ProviderRegistry
from app.payments.providers.base import (
    CheckoutRequest,
    LineItem,
    RefundRefused,
    RefundRequest,
)
from app.submissions import lifecycle
from app.submissions import repository as submissions_repository
from app.submissions import service as submissions
from app.submissions.lifecycle import SYSTEM, Status, TransitionFacts
from app.submissions.repository import Submission

logger = logging.getLogger(__name__)

PAYMENT_METHODS = ("card", "konbini", "paypay")
"""カード, コンビニ払い, PayPay: what a municipality may offer (settings `payment_method_types`)."""
OVERPAYMENT_REFUNDS = "overpayment_refunds"
"""Municipality setting: `confirm` (default: finance confirms each refund of an
overpayment) or `automatic` (requested at once, sent by settle-open)."""
OVERPAYMENT_REASON = "手数料の変更・取下げによる過払いの返金 / Overpayment after the fee changed"


class PaymentNotFound(NotFound, code="PAYMENT_NOT_FOUND"): ...


class NothingToPay(Conflict, code="NOTHING_TO_PAY"): ...


class PaymentChanged(Conflict, code="PAYMENT_CHANGED"): ...


class PaymentNotRefundable(Conflict, code="PAYMENT_NOT_REFUNDABLE"): ...


class RefundableAmountChanged(Conflict, code="REFUNDABLE_AMOUNT_CHANGED"):
    """The caller's idea of what is left to refund is out of date: someone refunded in
    between. Two racing refunds therefore cannot together exceed what was paid."""


class RefundNotFound(NotFound, code="REFUND_NOT_FOUND"): ...


class FeeBalanceDue(Conflict, code="FEE_BALANCE_DUE"):
    """A decision would close an application whose fee is not fully paid."""


class RefundNotProposed(Conflict, code="REFUND_NOT_PROPOSED"): ...


class RefundAmountInvalid(ValidationFailed, code="REFUND_AMOUNT_INVALID"): ...


@dataclass(frozen=True)
class StartedPayment:
    payment: Payment
    created: bool
    """False: the open payment started earlier is returned again."""


@dataclass(frozen=True)
class PaymentFilter:
    """What finance asks the list for; every criterion is optional."""

    statuses: tuple[PaymentStatus, ...] = ()
    reference_number: str | None = None
    submission_id: uuid.UUID | None = None
    paid_from: datetime | None = None
    paid_to: datetime | None = None
    """Exclusive upper bound."""


@dataclass(frozen=True)
class PaymentDetail:
    payment: Payment
    refunds: list[Refund]


@dataclass(frozen=True)
class Balance:
    """One application's money (申請ごとの収支): `due` = fee owed − net paid."""

    fee: int
    """手数料 owed through online payment now: the application's fee once it was asked to
    pay (it entered `awaiting_payment`); 0 for a draft, a withdrawn application, or one
    taken at the counter (paid there)."""
    paid: int
    """Received (入金済み) for payments that were due, whatever went back since."""
    refunded: int
    """Of that, refunded or on its way back (返金済み・返金中), or taken by a lost dispute."""
    not_due: int
    """Received for a payment we had closed (入金済・請求なし), still held: it pays no fee
    and is offered back in full."""
    refund_proposed: int
    """Refunds waiting for finance's confirmation (返金確認待ち)."""
    open_payment: Payment | None
    """The payment the citizen may still complete (a page or a konbini voucher)."""

    @property
    def net_paid(self) -> int:
        return self.paid - self.refunded

    @property
    def due(self) -> int:
        """Positive: still to pay (未納). Negative: paid too much (過払い)."""
        return self.fee - self.net_paid

    @property
    def to_refund(self) -> int:
        """What the city holds and owes back: the overpayment and the money not due."""
        return max(-self.due, 0) + self.not_due


# --- Citizens -----------------------------------------------------------------------------


async def start_payment(
    session: AsyncSession,
    registry: ProviderRegistry,
    submission_id: uuid.UUID,
    caller: Caller,
    *,
    settings: Settings,
    now: datetime,
) -> StartedPayment:
    """Start (or return the open) payment of what the application still owes.

    The amount is the balance due (the fee less what was paid for it already: after a
    resubmission or a re-fixed fee, exactly the difference); the provider's page shows
    the fee lines, or one line of the difference. A payment that failed or expired
    leaves the submission waiting, and this starts a new one."""
    submission = await submissions.get_owned_for_update(session, submission_id, caller)
    due = (await balance_of(session, submission)).due
    _require_fee_due(submission, due)
    assert submission.fee_breakdown is not None
    current = await _open_payment(session, submission.id)
    if current is not None:
        if _still_usable(current, due, now):
            return StartedPayment(current, created=False)
        # Expired by the clock or priced before the fee changed: ask the provider how
        # it stands, close it if still open, and start afresh unless it was paid.
        await settle_payment(session, registry, current.id, now=now)
        if PaymentStatus(current.status) in OPEN and current.amount != due:
            if current.provider_checkout_id is not None:
                provider = registry.get(current.provider)
                await provider.expire_checkout(current.provider_checkout_id)
            await apply_facts(session, current.id, [Fact("expired")], now=now)
        if PaymentStatus(current.status) in OPEN | PAID:
            return StartedPayment(current, created=False)

    provider = registry.for_new_payments()
    payment = Payment(
        id=new_uuid(),
        submission_id=submission.id,
        municipality_code=submission.municipality_code,
        reference_number=submission.reference_number or "",
        provider=provider.name,
        amount=due,
        currency="JPY",
        fee_breakdown=submission.fee_breakdown,
        payment_method_types=await _payment_methods(session, submission, settings),
        status=PaymentStatus.CREATED,
        refunded_amount=0,
        livemode=provider.livemode,
        expires_at=now + timedelta(minutes=settings.payment_expiry_minutes),
        created_at=now,
        updated_at=now,
    )
    session.add(payment)
    await _flush(session)  # the open-payment index refuses a second one before Stripe is asked
    started = await provider.start_checkout(
        CheckoutRequest(
            payment_id=payment.id,
            submission_id=submission.id,
            reference_number=payment.reference_number,
            municipality_code=submission.municipality_code,
            description=await _description(session, submission),
            amount=payment.amount,
            line_items=checkout_lines(submission.fee_breakdown, payment.amount),
            payment_method_types=payment.payment_method_types,
            expires_at=payment.expires_at,
            success_url=return_url(settings, submission.id, payment.id, "success"),
            cancel_url=return_url(settings, submission.id, payment.id, "cancel"),
            requested_at=now,
        )
    )
    payment.provider_checkout_id = started.checkout_id
    payment.redirect_url = started.redirect_url
    payment.expires_at = started.expires_at
    payment.livemode = started.livemode
    await _flush(session)
    return StartedPayment(payment, created=True)


async def latest_payment(
    session: AsyncSession, submission_id: uuid.UUID, caller: Caller
) -> Payment:
    """The submission's most recent payment, for the citizen coming back from the page."""
    await submissions.get_owned(session, submission_id, caller)
    payment = await session.scalar(
        select(Payment)
        .where(Payment.submission_id == submission_id)
        .order_by(Payment.created_at.desc(), Payment.id.desc())
        .limit(1)
    )
    if payment is None:
        raise PaymentNotFound()
    return payment


async def owned_balance(session: AsyncSession, submission_id: uuid.UUID, caller: Caller) -> Balance:
    """The balance of an application the caller owns (the citizen's view)."""
    return await balance_of(session, await submissions.get_owned(session, submission_id, caller))


def checkout_lines(fee_breakdown: Mapping[str, Any], total: int) -> list[LineItem]:
    """The checkout page's lines from the fee breakdown. A provider takes no negative
    line, so a breakdown with an exemption (減免) is shown as one line of the total; the
    rest of a fee partly paid already is one line of the difference (差額)."""
    items = [item for item in fee_breakdown.get("items", []) if item["amount"] != 0]
    if sum(item["amount"] for item in items) != total:
        return [LineItem("手数料（差額） / Fee, balance due", total, 1)]
    if not items or any(item["amount"] < 0 for item in items):
        return [LineItem("手数料 / Fee", total, 1)]
    lines = []
    for item in items:
        name = item["label"]["ja"]
        unit_price, quantity = item.get("unit_price"), item.get("quantity")
        if unit_price and quantity and unit_price * quantity == item["amount"]:
            lines.append(LineItem(name, unit_price, quantity))
        else:
            lines.append(LineItem(name, item["amount"], 1))
    return lines


# --- What providers report ------------------------------------------------------------


async def find_payment(
    session: AsyncSession,
    *,
    payment_id: str | None = None,
    checkout_id: str | None = None,
    payment_intent_id: str | None = None,
    charge_id: str | None = None,
) -> Payment | None:
    """The payment a provider object points at: by our id in its metadata first, then by
    the provider's ids we stored."""
    if payment_id:
        try:
            found = await session.get(Payment, uuid.UUID(payment_id))
        except ValueError:
            found = None
        if found is not None:
            return found
    for column, value in (
        (Payment.provider_checkout_id, checkout_id),
        (Payment.provider_payment_intent_id, payment_intent_id),
        (Payment.provider_charge_id, charge_id),
    ):
        if value:
            found = await session.scalar(select(Payment).where(column == value))
            if found is not None:
                return found
    return None


async def lock_payment(session: AsyncSession, payment_id: str) -> Payment | None:
    """The payment with our id `payment_id` (a provider's metadata), read afresh and
    locked until commit together with its application, in one statement: the
    application first (found through the payment), then the payment, the order
    apply_facts locks them in. None when no payment has that id. apply_facts then
    neither reads nor locks them again in this transaction."""
    try:
        wanted = uuid.UUID(payment_id)
    except ValueError:
        return None
    rows = await _LOCK_SUBMISSION_AND_PAYMENT.rows(session, {"payment_id": wanted})
    if not rows:
        return None
    submission_values = rows[0][: len(_SUBMISSION_COLUMNS)]
    submission = _as_loaded(session, Submission, _SUBMISSION_COLUMNS, submission_values)
    lifecycle.held_locks(session).add(submission.id)
    payment_values = rows[0][len(_SUBMISSION_COLUMNS) :]
    payment = _as_loaded(session, Payment, _PAYMENT_COLUMNS, payment_values)
    _held_payment_locks(session)[payment.id] = submission
    return payment


Loaded = TypeVar("Loaded", Submission, Payment)


def _as_loaded(
    session: AsyncSession, model: type[Loaded], columns: tuple[str, ...], row: Sequence[Any]
) -> Loaded:
    """The object of a row read with every column, as a query with populate_existing
    would give it: the one in the session refreshed, or a new one joining the session
    as if loaded (every column committed, nothing to flush)."""
    values = dict(zip(columns, row, strict=True))
    key = inspect(model).identity_key_from_primary_key((values["id"],))
    existing = session.sync_session.identity_map.get(key)
    if existing is not None:
        for name, value in values.items():
            set_committed_value(existing, name, value)
        return existing
    loaded = model(**values)
    make_transient_to_detached(loaded)
    session.add(loaded)
    return loaded


_submissions_table = table_of(Submission)
_payments_table = table_of(Payment)
_SUBMISSION_COLUMNS = tuple(column.key for column in _submissions_table.columns)
_PAYMENT_COLUMNS = tuple(column.key for column in _payments_table.columns)
# Built once and run on the driver (HotStatement): every webhook that names our payment
# runs it. The WITH locks the application; the payment is locked above the join, so
# after it: the application is always locked first, as apply_facts does.
_locked_submission = (
    select(*_submissions_table.columns)
    .where(
        _submissions_table.c.id
        == select(_payments_table.c.submission_id)
        .where(_payments_table.c.id == bindparam("payment_id"))
        .scalar_subquery()
    )
    .with_for_update()
    .cte("locked_submission")
)
_LOCK_SUBMISSION_AND_PAYMENT = HotStatement(
    select(*_locked_submission.c, *_payments_table.columns)
    .select_from(
        _locked_submission.join(
            _payments_table, _payments_table.c.submission_id == _locked_submission.c.id
        )
    )
    .where(_payments_table.c.id == bindparam("payment_id"))
    .with_for_update(of=_payments_table)
)


def _held_payment_locks(session: AsyncSession) -> dict[uuid.UUID, Submission]:
    """The payments this transaction read with FOR UPDATE through lock_payment, each with
    its application, locked with it (see app.submissions.lifecycle.held_locks, which
    records the applications). Holding the application here also keeps it in the
    session: the session holds unchanged objects only weakly."""
    return for_this_transaction(session, _HELD_PAYMENT_LOCKS, dict)


_HELD_PAYMENT_LOCKS = "payments_locked_for_update"


async def apply_facts(
    session: AsyncSession,
    payment_id: uuid.UUID,
    facts: Sequence[Fact],
    *,
    now: datetime,
    payment_intent_id: str | None = None,
    charge_id: str | None = None,
    refund: RefundReport | None = None,
    dispute: DisputeReport | None = None,
    source: str | None = None,
    intent_lock: str | None = None,
) -> bool:
    """Apply what the provider reported (webhook, demo page, settle-open alike): the
    payment's facts, then a refund's or the dispute's state; move the submission to
    `paid` when the money arrives. `source` (the event id) names what raised an alert.
    `intent_lock`: a key to hold until commit (`hold_intent_lock`), taken after the
    payment and its application are locked, by the payment's UPDATE when it can.
    True when anything changed."""
    loaded = await session.get(Payment, payment_id)
    if loaded is None:
        raise PaymentNotFound()
    held = _held_payment_locks(session).get(payment_id)
    if held is not None and held.id in lifecycle.held_locks(session):
        # lock_payment locked and read both afresh in this transaction
        submission, payment = held, loaded
        if _pays_at_once(payment, submission, facts, refund, dispute):
            await _succeed_at_once(
                session, payment, submission, now, payment_intent_id, charge_id, intent_lock
            )
            return True
    else:
        submission = await submissions.get_for_update(session, loaded.submission_id)
        payment = await _locked(session, payment_id)
    if intent_lock is not None:
        await hold_intent_lock(session, intent_lock)
    changed = False
    if payment_intent_id and payment.provider_payment_intent_id is None:
        payment.provider_payment_intent_id, changed = payment_intent_id, True
    if charge_id and payment.provider_charge_id is None:
        payment.provider_charge_id, changed = charge_id, True
    for fact in facts:
        changed = await _apply(session, payment, submission, fact, now, source) or changed
    if refund is not None:
        changed = await _apply_refund(session, payment, submission, refund, now) or changed
    if dispute is not None:
        changed = await _apply_dispute(session, payment, dispute, now) or changed
    if changed:
        payment.updated_at = now
        await _flush(session)
    return changed


async def settle_payment(
    session: AsyncSession, registry: ProviderRegistry, payment_id: uuid.UUID, *, now: datetime
) -> bool:
    """Ask the provider how an open payment stands and apply it: for webhooks that never
    arrived (`python -m app.payments settle-open`)."""
    payment = await session.get(Payment, payment_id)
    if payment is None:
        raise PaymentNotFound()
    if PaymentStatus(payment.status) not in OPEN or payment.provider_checkout_id is None:
        return False
    state = await registry.get(payment.provider).checkout_state(
        payment.provider_checkout_id, expires_at=payment.expires_at, now=now
    )
    if not state.facts and state.payment_intent_id is None:
        return False
    return await apply_facts(
        session,
        payment.id,
        state.facts,
        now=now,
        payment_intent_id=state.payment_intent_id,
        charge_id=state.charge_id,
    )


async def net_paid(session: AsyncSession, submission_id: uuid.UUID) -> int:
    """What the applicant has paid for the submission, net of refunds (yen): the paid
    amount every lifecycle transition records (registered in app.listeners). Reads the
    database, so a change to a payment is flushed before the transition it causes."""
    return int(await session.scalar(_NET_PAID, {"submission_id": submission_id}) or 0)


def _kept_sum(payments: Any) -> Any:
    """Payment.net_paid in SQL, summed over the paid rows of `payments` (the table or an
    alias of it) that the caller's WHERE selects: received, less refunds and a lost
    dispute, never below 0 for one payment."""
    lost = case(
        (payments.c.dispute_status == "lost", func.coalesce(payments.c.dispute_amount, 0)),
        else_=0,
    )
    kept = payments.c.amount - payments.c.refunded_amount - lost
    return func.coalesce(func.sum(case((kept > 0, kept), else_=0)), 0)


def _net_paid_sql() -> Any:
    """Payment.net_paid summed over one application's payments, in SQL."""
    payments = table_of(Payment)
    return select(_kept_sum(payments)).where(
        payments.c.submission_id == bindparam("submission_id"), payments.c.paid_at.is_not(None)
    )


_NET_PAID = _net_paid_sql()
"""Built once: every transition reads it (app.listeners)."""


# --- One balance per application ----------------------------------------------------------


async def fee_owed(session: AsyncSession, submission: Submission) -> int:
    """The fee owed through online payment now (see `Balance.fee`)."""
    if submission.channel != "online" or not submission.fee_total:
        return 0
    if submission.status in (Status.DRAFT, Status.WITHDRAWN):
        return 0
    asked = await submissions_repository.has_entered(
        session, submission.id, Status.AWAITING_PAYMENT
    )
    return submission.fee_total if asked else 0


async def balance_of(session: AsyncSession, submission: Submission) -> Balance:
    """Fee owed, received, refunded, proposed for refund, and the open payment."""
    payments = await _payments_of(session, submission.id)
    received = [payment for payment in payments if payment.paid_at is not None]
    due = [payment for payment in received if payment.closed_at is None]
    paid = sum(payment.amount for payment in due)
    proposed = await _proposed_refunds(session, [payment.id for payment in payments])
    return Balance(
        fee=await fee_owed(session, submission),
        paid=paid,
        refunded=paid - sum(payment.net_paid for payment in due),
        not_due=sum(payment.net_paid for payment in received if payment.closed_at is not None),
        refund_proposed=sum(refund.amount for refund in proposed),
        open_payment=next((p for p in payments if PaymentStatus(p.status) in OPEN), None),
    )


async def settle_balance(
    session: AsyncSession, submission: Submission, *, now: datetime, confirm: bool = False
) -> Balance:
    """After the fee owed or the money changed (a resubmission, a re-fixed fee, a
    withdrawal, money nobody owed, a refund): make the refunds on offer match what the
    city holds and owes back (`Balance.to_refund`) exactly. Proposals no longer needed
    are canceled; what is missing is proposed to finance (`proposed`, with a
    `refund_to_confirm` alert), or requested at once where the municipality refunds
    overpayments automatically (sent after commit by settle-open) unless `confirm` says
    a person must look first (after a refund failed). A positive balance is the
    caller's to ask for: the application waits for payment of it."""
    await _flush(session)  # the payments are re-read under lock below
    balance = await balance_of(session, submission)
    payments = [p for p in await _payments_of(session, submission.id) if p.paid_at is not None]
    proposals = await _proposed_refunds(session, [payment.id for payment in payments])
    on_offer = sum(refund.amount for refund in proposals)
    for refund in reversed(proposals):
        if on_offer <= balance.to_refund:
            break
        refund.status, refund.updated_at = RefundStatus.CANCELED, now
        refund.failure_reason = "no_longer_overpaid"
        on_offer -= refund.amount
        await alerts.settle_by_source(
            session,
            alerts.SYSTEM_ACTOR,
            alerts.AlertKind.REFUND_TO_CONFIRM,
            f"refund:{refund.id}",
            "過払いが解消したため返金予定を取り消しました / No longer overpaid",
            now=now,
        )
    missing = balance.to_refund - on_offer
    if missing <= 0:
        await _flush(session)
        return await balance_of(session, submission)
    municipality = await get_municipality(session, submission.municipality_code)
    automatic = not confirm and municipality.settings.get(OVERPAYMENT_REFUNDS) == "automatic"

    def room(payment: Payment) -> int:
        if PaymentStatus(payment.status) not in REFUNDABLE:
            return 0
        held = sum(
            refund.amount
            for refund in proposals
            if refund.payment_id == payment.id and refund.status == RefundStatus.PROPOSED
        )
        return payment.refundable_amount - held

    # Money nobody owed goes back first; then one refund where one payment covers it
    # (the latest such), else the latest payments first.
    payments.sort(
        key=lambda p: (
            p.closed_at is None,
            room(p) < missing,
            -(p.paid_at.timestamp() if p.paid_at else 0),
        )
    )
    for payment in payments:
        amount = min(room(payment), missing)
        if amount <= 0:
            continue
        await _offer_refund(
            session,
            await _locked(session, payment.id),
            amount,
            balance,
            automatic=automatic,
            now=now,
        )
        missing -= amount
        if missing <= 0:
            break
    await _flush(session)
    return await balance_of(session, submission)


async def _offer_refund(
    session: AsyncSession,
    payment: Payment,
    amount: int,
    balance: Balance,
    *,
    automatic: bool,
    now: datetime,
) -> None:
    refund = Refund(
        id=new_uuid(),
        payment_id=payment.id,
        municipality_code=payment.municipality_code,
        amount=amount,
        reason=OVERPAYMENT_REASON,
        status=RefundStatus.REQUESTED if automatic else RefundStatus.PROPOSED,
        requested_by="system",
        refundable_before=payment.refundable_amount,
        created_at=now,
        updated_at=now,
    )
    session.add(refund)
    details = {
        "refund_id": str(refund.id),
        "amount": amount,
        "fee": balance.fee,
        "net_paid": balance.net_paid,
        "not_due": balance.not_due,
        "reference_number": payment.reference_number,
    }
    if not automatic:
        await _flush(session)
        await alerts.raise_alert(
            session,
            alerts.AlertKind.REFUND_TO_CONFIRM,
            payment,
            source=f"refund:{refund.id}",
            details=details,
            amount=amount,
            now=now,
        )
        return
    await _refresh_refunded(session, payment)
    payment.updated_at = now
    await audit.record(
        session,
        alerts.SYSTEM_ACTOR,
        "payment.refund",
        "payment",
        payment.id,
        payment.municipality_code,
        reason=OVERPAYMENT_REASON,
        details=details,
    )


async def _payments_of(session: AsyncSession, submission_id: uuid.UUID) -> list[Payment]:
    return await rows_of_submission(
        session, Payment, submission_id, oldest_first_by=Payment.created_at
    )


async def on_transition(session: AsyncSession, facts: TransitionFacts) -> None:
    """Payments' lifecycle listener (app.listeners): a decision is refused while part of
    the fee is unpaid; a transition that changes the fee owed (resubmitted, asked to
    pay, withdrawn) settles the balance. Writes rows only: an open payment of a
    withdrawn application is closed at the provider after commit
    (`close_payments_not_due`)."""
    if facts.from_status == Status.DRAFT or facts.to_status not in _BALANCE_TRANSITIONS:
        return
    submission = await submissions_repository.get(session, facts.submission_id)
    assert submission is not None
    if facts.to_status == Status.APPROVED:
        due = (await balance_of(session, submission)).due
        if due > 0:
            raise FeeBalanceDue(
                f"{due} yen of the fee is unpaid; the application must be paid in full "
                "before it is approved.",
                f"手数料のうち{due:,}円が未納です。全額の支払を確認してから承認してください。",
                extra={"due": due},
            )
        return
    await settle_balance(session, submission, now=facts.occurred_at)


_BALANCE_TRANSITIONS = frozenset(
    {Status.APPROVED, Status.RESUBMITTED, Status.AWAITING_PAYMENT, Status.WITHDRAWN}
)


async def close_if_not_due(
    session: AsyncSession, registry: ProviderRegistry, payment_id: uuid.UUID, *, now: datetime
) -> bool:
    """An open payment of an application that no longer waits for payment (withdrawn):
    expire its Checkout Session, or cancel its konbini voucher, and record it canceled.
    Money the provider took meanwhile is recorded as received and not due (finance is
    alerted and a refund offered). True when the payment was closed."""
    payment = await session.get(Payment, payment_id, populate_existing=True)
    if payment is None or PaymentStatus(payment.status) not in OPEN:
        return False
    submission = await submissions_repository.get(session, payment.submission_id)
    if submission is None or submission.status == Status.AWAITING_PAYMENT:
        return False
    await settle_payment(session, registry, payment.id, now=now)
    if PaymentStatus(payment.status) not in OPEN:
        return True
    provider = registry.get(payment.provider)
    if payment.status == PaymentStatus.PENDING and payment.provider_payment_intent_id:
        await provider.cancel_payment(payment.provider_payment_intent_id)
    elif payment.provider_checkout_id is not None:
        await provider.expire_checkout(payment.provider_checkout_id)
    await apply_facts(session, payment.id, [Fact("canceled")], now=now)
    return True


async def close_payments_not_due(
    factory: async_sessionmaker[AsyncSession],
    registry: ProviderRegistry,
    submission_id: uuid.UUID,
    *,
    now: datetime,
) -> None:
    """After a withdrawal commits (a background task of the request): close the
    application's open payments at the provider, each in a transaction of its own. What
    fails here (the provider unreachable) is left to `settle-open`."""
    async with factory() as session:
        ids = list(
            await session.scalars(
                select(Payment.id).where(
                    Payment.submission_id == submission_id,
                    Payment.status.in_([str(status) for status in OPEN]),
                )
            )
        )
    for payment_id in ids:
        try:
            async with factory() as session, session.begin():
                await close_if_not_due(session, registry, payment_id, now=now)
        except Exception:  # the response is sent: log, settle-open finishes it
            logger.warning("closing payment %s at the provider failed", payment_id, exc_info=True)


async def confirm_refund(
    session: AsyncSession, staff: StaffPrincipal, refund_id: uuid.UUID, *, now: datetime
) -> Refund:
    """Finance confirms a proposed refund of an overpayment: it becomes `requested`
    (audited) and, once the caller commits, is sent like any refund (`send_refund`).
    Confirming again returns the refund as it is."""
    found = await session.get(Refund, refund_id)
    if found is None or found.municipality_code != staff.municipality_code:
        raise RefundNotFound()
    payment = await _locked(session, found.payment_id)
    refund = await session.get_one(Refund, refund_id, populate_existing=True)
    if refund.status != RefundStatus.PROPOSED:
        if refund.reason == OVERPAYMENT_REASON and refund.status in ACTIVE_REFUNDS:
            return refund  # confirmed before (its answer lost?): send_refund goes on
        raise RefundNotProposed(
            f"The refund is '{refund.status}', not waiting for confirmation.",
            f"この返金は「{refund.status}」で、確認待ちではありません。",
            extra={"refund_status": refund.status},
        )
    if PaymentStatus(payment.status) not in REFUNDABLE or refund.amount > payment.refundable_amount:
        raise RefundableAmountChanged(
            f"{payment.refundable_amount} yen can be refunded now, less than the "
            f"{refund.amount} yen proposed.",
            f"現在の返金可能額（{payment.refundable_amount:,}円）が返金予定額"
            f"（{refund.amount:,}円）を下回っています。",
            extra={"refundable_amount": payment.refundable_amount},
        )
    refund.status, refund.updated_at = RefundStatus.REQUESTED, now
    refund.requested_by = str(staff.id)
    refund.refundable_before = payment.refundable_amount
    await _record_refund_requested(session, staff, payment, refund, now=now, confirmed=True)
    await alerts.settle_by_source(
        session,
        staff,
        alerts.AlertKind.REFUND_TO_CONFIRM,
        f"refund:{refund.id}",
        "返金を確認しました / Refund confirmed",
        now=now,
    )
    return refund


async def _proposed_refunds(session: AsyncSession, payment_ids: list[uuid.UUID]) -> list[Refund]:
    if not payment_ids:
        return []
    rows = await session.scalars(
        select(Refund)
        .where(Refund.payment_id.in_(payment_ids), Refund.status == RefundStatus.PROPOSED)
        .order_by(Refund.created_at, Refund.id)
    )
    return list(rows)


async def open_payment_ids(session: AsyncSession) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(Payment.id)
        .where(Payment.status.in_([str(status) for status in OPEN]))
        .order_by(Payment.created_at)
    )
    return list(rows)


async def unsettled_refund_ids(session: AsyncSession, *, before: datetime) -> list[uuid.UUID]:
    """Refunds still `requested` (the provider's answer was lost) or waiting at the
    provider (pending, requires_action), created before `before`."""
    waiting = [RefundStatus.REQUESTED, RefundStatus.PENDING, RefundStatus.REQUIRES_ACTION]
    rows = await session.scalars(
        select(Refund.id)
        .where(Refund.status.in_([str(s) for s in waiting]), Refund.created_at < before)
        .order_by(Refund.created_at)
    )
    return list(rows)


async def settle_refund(
    session: AsyncSession, registry: ProviderRegistry, refund_id: uuid.UUID, *, now: datetime
) -> Refund:
    """Bring a refund up to date with the provider: a `requested` one is (re)sent under
    its own idempotency key, so a provider that made it already answers with that same
    refund instead of a second one; a waiting one is looked up."""
    refund = await session.get(Refund, refund_id, populate_existing=True)
    if refund is None:
        raise RefundNotFound()
    if refund.status == RefundStatus.REQUESTED:
        return await send_refund(session, registry, refund_id, now=now)
    if refund.provider_refund_id is None or RefundStatus(refund.status) not in (
        RefundStatus.PENDING,
        RefundStatus.REQUIRES_ACTION,
    ):
        return refund
    payment = await session.get_one(Payment, refund.payment_id)
    report = await registry.get(payment.provider).refund_state(refund.provider_refund_id)
    await apply_facts(session, payment.id, (), refund=report, now=now)
    return refund


# --- Finance ----------------------------------------------------------------------------


async def list_payments(
    session: AsyncSession,
    staff: StaffPrincipal,
    criteria: PaymentFilter,
    *,
    limit: int,
    offset: int,
) -> tuple[list[Payment], int]:
    """The municipality's payments, newest first, with the total count."""
    statement = (
        select(Payment)
        .where(*_conditions(staff, criteria))
        .order_by(Payment.created_at.desc(), Payment.id)
    )
    return await fetch_page(session, statement, limit=limit, offset=offset)


async def get_payment(
    session: AsyncSession, staff: StaffPrincipal, payment_id: uuid.UUID
) -> PaymentDetail:
    payment = await session.get(Payment, payment_id)
    if payment is None or payment.municipality_code != staff.municipality_code:
        raise PaymentNotFound()
    refunds = await session.scalars(
        select(Refund).where(Refund.payment_id == payment.id).order_by(Refund.created_at)
    )
    return PaymentDetail(payment, list(refunds))


async def staff_balance(
    session: AsyncSession, staff: StaffPrincipal, submission_id: uuid.UUID
) -> Balance:
    """An application's balance for staff: finance and admins see every one of their
    municipality, a reviewer those of their own department; the rest is not found."""
    submission = await submissions_repository.get(session, submission_id)
    if (
        submission is None
        or submission.municipality_code != staff.municipality_code
        or submission.reference_number is None
    ):
        raise submissions.SubmissionNotFound()
    if not staff.roles & {StaffRole.ADMIN, StaffRole.FINANCE}:
        version = await forms.get_version(session, submission.procedure_version_id)
        if forms.compiled_version(version).definition.department.ja != staff.department:
            raise submissions.SubmissionNotFound()
    return await balance_of(session, submission)


async def list_refunds(
    session: AsyncSession,
    staff: StaffPrincipal,
    *,
    statuses: Sequence[RefundStatus] = (),
    limit: int,
    offset: int,
) -> tuple[list[Refund], int]:
    """The municipality's refunds, newest first (`proposed`: waiting for confirmation)."""
    conditions = [Refund.municipality_code == staff.municipality_code]
    if statuses:
        conditions.append(Refund.status.in_([str(status) for status in statuses]))
    statement = select(Refund).where(*conditions).order_by(Refund.created_at.desc(), Refund.id)
    return await fetch_page(session, statement, limit=limit, offset=offset)


async def request_refund(
    session: AsyncSession,
    staff: StaffPrincipal,
    payment_id: uuid.UUID,
    *,
    amount: int,
    reason: str,
    expected_refundable_amount: int,
    now: datetime,
) -> Refund:
    """返金, full or partial: the first of two steps. The refund is stored as `requested`
    (its amount no longer refundable) and audited; the caller commits it, then
    `send_refund` asks the provider under the key `refund-{id}`. A request whose answer
    was lost comes back the same (same staff, amount, reason and
    `expected_refundable_amount`): it finds the refund it made, and sending that again
    cannot refund twice.

    The caller says how much it believes is still refundable; under the payment's row
    lock that must still hold, so of two racing refunds the second sees the first and is
    refused (409) instead of exceeding what was paid."""
    found = await session.get(Payment, payment_id)
    if found is None or found.municipality_code != staff.municipality_code:
        raise PaymentNotFound()
    payment = await _locked(session, payment_id)
    same_request = await session.scalar(
        select(Refund)
        .where(
            Refund.payment_id == payment.id,
            Refund.amount == amount,
            Refund.refundable_before == expected_refundable_amount,
            Refund.reason == reason.strip(),
            Refund.requested_by == str(staff.id),
            Refund.status.in_([str(status) for status in ACTIVE_REFUNDS]),
        )
        .limit(1)
    )
    if same_request is not None:
        return same_request
    if PaymentStatus(payment.status) not in REFUNDABLE:
        raise PaymentNotRefundable(
            f"A payment in status '{payment.status}' cannot be refunded.",
            f"状態「{payment.status}」の決済は返金できません。",
            extra={"payment_status": payment.status},
        )
    if expected_refundable_amount != payment.refundable_amount:
        raise RefundableAmountChanged(
            f"{payment.refundable_amount} yen can be refunded now, not "
            f"{expected_refundable_amount}. Reload the payment and decide again.",
            f"現在の返金可能額は{payment.refundable_amount:,}円です"
            f"（指定: {expected_refundable_amount:,}円）。再読み込みしてください。",
            extra={"refundable_amount": payment.refundable_amount},
        )
    if not 1 <= amount <= payment.refundable_amount:
        raise RefundAmountInvalid(
            f"Refund between 1 and {payment.refundable_amount} yen.",
            f"返金額は1円以上{payment.refundable_amount:,}円以下で指定してください。",
        )
    refund = Refund(
        id=new_uuid(),
        payment_id=payment.id,
        municipality_code=payment.municipality_code,
        amount=amount,
        reason=reason.strip(),
        status=RefundStatus.REQUESTED,
        requested_by=str(staff.id),
        refundable_before=expected_refundable_amount,
        created_at=now,
        updated_at=now,
    )
    session.add(refund)
    await _record_refund_requested(session, staff, payment, refund, now=now)
    # A refund finance made by hand may cover an overpayment already on offer.
    submission = await submissions_repository.get(session, payment.submission_id)
    assert submission is not None
    await settle_balance(session, submission, now=now)
    return refund


async def send_refund(
    session: AsyncSession, registry: ProviderRegistry, refund_id: uuid.UUID, *, now: datetime
) -> Refund:
    """The second step: ask the provider for a `requested` refund and record its answer.
    Idempotent: the provider is asked under the refund's own key, so however often this
    runs (a retry, settle-open) there is one refund at the provider. A definite refusal
    fails the refund (its amount is refundable again, finance is alerted); when the
    provider cannot be reached the refund stays `requested` for the next attempt."""
    refund = await session.get(Refund, refund_id, populate_existing=True)
    if refund is None:
        raise RefundNotFound()
    if refund.status != RefundStatus.REQUESTED:
        return refund
    payment = await session.get_one(Payment, refund.payment_id)
    try:
        report = await registry.get(payment.provider).refund(
            RefundRequest(
                refund_id=refund.id,
                payment_id=payment.id,
                checkout_id=payment.provider_checkout_id,
                payment_intent_id=payment.provider_payment_intent_id,
                amount=refund.amount,
            )
        )
    except RefundRefused as refused:
        report = RefundReport(
            None, refund.amount, RefundStatus.FAILED, str(refund.id), refused.reason
        )
    await apply_facts(session, payment.id, (), refund=report, now=now)
    return refund


# --- Internals ---------------------------------------------------------------------------


def _require_fee_due(submission: Submission, due: int) -> None:
    if submission.status != Status.AWAITING_PAYMENT or due <= 0:
        raise NothingToPay(
            f"An application in status '{submission.status}' has nothing to pay.",
            f"状態「{submission.status}」の申請には支払うものがありません。",
            extra={"submission_status": submission.status},
        )


def _still_usable(payment: Payment, due: int, now: datetime) -> bool:
    if payment.amount != due:
        return False
    return payment.status == PaymentStatus.PENDING or payment.expires_at > now


async def _open_payment(session: AsyncSession, submission_id: uuid.UUID) -> Payment | None:
    return await session.scalar(
        select(Payment).where(
            Payment.submission_id == submission_id,
            Payment.status.in_([str(status) for status in OPEN]),
        )
    )


async def _locked(session: AsyncSession, payment_id: uuid.UUID) -> Payment:
    payment = await session.scalar(
        select(Payment)
        .where(Payment.id == payment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if payment is None:
        raise PaymentNotFound()
    return payment


async def _apply(
    session: AsyncSession,
    payment: Payment,
    submission: Submission,
    fact: Fact,
    now: datetime,
    source: str | None,
) -> bool:
    status = PaymentStatus(payment.status)
    match fact.kind:
        case "pending":
            changed = False
            if status == PaymentStatus.CREATED:
                _move(payment, PaymentStatus.PENDING)
                payment.redirect_url, changed = None, True
            voucher = fact.voucher.as_dict() if fact.voucher else None
            if payment.status == PaymentStatus.PENDING and voucher and payment.voucher != voucher:
                payment.voucher, changed = voucher, True
                if notices.listener is not None:  # 払込番号と期限 by email (once per payment)
                    issued = VoucherIssued(submission.id, payment.id, payment.amount, voucher)
                    await notices.listener.voucher_issued(session, issued, now=now)
            return changed
        case "succeeded":
            return await _succeed(session, payment, submission, now, source)
        case "failed" | "expired" | "canceled":
            target = PaymentStatus(fact.kind)
            if not is_allowed(status, target):
                return False
            _move(payment, target)
            payment.closed_at, payment.redirect_url, payment.voucher = now, None, None
            return True
    return False


async def _succeed(
    session: AsyncSession,
    payment: Payment,
    submission: Submission,
    now: datetime,
    source: str | None,
) -> bool:
    status = PaymentStatus(payment.status)
    if status in PAID:
        return False
    payment.paid_at, payment.redirect_url, payment.voucher = now, None, None
    payment.updated_at = now  # written by the flush below, not by one more UPDATE after
    _move(payment, paid_status(payment.amount, payment.refunded_amount, payment.dispute_status))
    if status not in CLOSED and submission.status == Status.AWAITING_PAYMENT:
        await _flush(session)  # the transition's paid amount is read from the database
        await lifecycle.transition(
            session, submission, Status.PAID, SYSTEM, "手数料の支払を確認しました", now=now
        )
        return True
    # Money nobody owes: for a payment we had closed (the page expired, the voucher was
    # canceled), or once the application stopped waiting for it (e.g. withdrawn while a
    # konbini voucher was out). It is received all the same; finance decides on a refund.
    await _flush(session)
    await settle_balance(session, submission, now=now)
    why = (
        {"closed_as": status.value}
        if status in CLOSED
        else {"application_status": submission.status}
    )
    await alerts.raise_alert(
        session,
        alerts.AlertKind.RECEIVED_NOT_DUE,
        payment,
        source=source or f"payment:{payment.id}",
        details={**why, "amount": payment.amount},
        amount=payment.amount,
        now=now,
    )
    return True


async def _apply_refund(
    session: AsyncSession,
    payment: Payment,
    submission: Submission,
    report: RefundReport,
    now: datetime,
) -> bool:
    """One refund's state as the provider reports it. Ours are found by the provider's
    id or our id in its metadata; one made elsewhere (the dashboard) is recorded as the
    provider's. A refund only moves forward; the refunded total is recomputed from the
    refunds, so a failed one gives its amount back and a duplicate counts nothing."""
    refund = None
    if report.provider_refund_id is not None:
        refund = await session.scalar(
            select(Refund).where(Refund.provider_refund_id == report.provider_refund_id)
        )
    if refund is None and report.refund_id is not None:
        with contextlib.suppress(ValueError):
            refund = await session.get(Refund, uuid.UUID(report.refund_id))
        if refund is not None and refund.payment_id != payment.id:
            refund = None
    if refund is None:
        if report.provider_refund_id is None:
            return False
        refund = Refund(
            id=new_uuid(),
            payment_id=payment.id,
            municipality_code=payment.municipality_code,
            amount=report.amount,
            reason="決済代行の管理画面で行われた返金 / Refunded at the provider",
            status=report.status,
            provider_refund_id=report.provider_refund_id,
            requested_by="provider",
            failure_reason=report.failure_reason,
            created_at=now,
            updated_at=now,
        )
        session.add(refund)
        previous: RefundStatus | None = None
    else:
        previous = RefundStatus(refund.status)
        if refund.provider_refund_id is None and report.provider_refund_id is not None:
            refund.provider_refund_id = report.provider_refund_id
        if not _refund_moves(previous, report.status):
            if refund.provider_refund_id != report.provider_refund_id:
                await _flush(session)
                return True
            return False
        refund.status, refund.updated_at = report.status, now
        if report.failure_reason:
            refund.failure_reason = report.failure_reason[:64]
    if report.status == RefundStatus.FAILED and previous != RefundStatus.FAILED:
        await alerts.raise_alert(
            session,
            alerts.AlertKind.REFUND_FAILED,
            payment,
            source=f"refund:{refund.id}",
            details={
                "refund_id": str(refund.id),
                "provider_refund_id": refund.provider_refund_id,
                "failure_reason": refund.failure_reason,
            },
            amount=refund.amount,
            now=now,
        )
        await _refresh_refunded(session, payment)
        # Its money is back with the city: offered again, for finance to confirm (an
        # automatic retry could fail forever).
        await settle_balance(session, submission, now=now, confirm=True)
        return True
    await _refresh_refunded(session, payment)
    if (
        report.status == RefundStatus.SUCCEEDED
        and previous != RefundStatus.SUCCEEDED
        and notices.listener is not None
    ):  # 還付 by email (once per refund)
        refunded = RefundSucceeded(payment.submission_id, refund.id, refund.amount)
        await notices.listener.refunded(session, refunded, now=now)
    return True


def _refund_moves(current: RefundStatus, reported: RefundStatus) -> bool:
    if current == reported:
        return False
    return REFUND_RANK[reported] >= REFUND_RANK[current]


async def _apply_dispute(
    session: AsyncSession, payment: Payment, report: DisputeReport, now: datetime
) -> bool:
    """異議申立て: the dispute only moves forward (opened, under review, won or lost);
    opening and losing one alert finance."""
    current = DisputeStatus(payment.dispute_status) if payment.dispute_status else None
    if current is not None and DISPUTE_RANK[report.status] <= DISPUTE_RANK[current]:
        return False
    payment.dispute_status, payment.dispute_amount = report.status.value, report.amount
    payment.disputed_at = payment.disputed_at or now
    kind = None
    if report.status in OPEN_DISPUTES and current not in OPEN_DISPUTES:
        kind = alerts.AlertKind.DISPUTE_OPENED
    elif report.status == DisputeStatus.LOST:
        kind = alerts.AlertKind.DISPUTE_LOST
    if kind is not None:
        await alerts.raise_alert(
            session,
            kind,
            payment,
            source=f"dispute:{report.provider_dispute_id}",
            details={"dispute_id": report.provider_dispute_id, "status": report.status.value},
            amount=report.amount,
            now=now,
        )
    if PaymentStatus(payment.status) in PAID:
        _move(payment, paid_status(payment.amount, payment.refunded_amount, payment.dispute_status))
    return True


async def _record_refund_requested(
    session: AsyncSession,
    staff: StaffPrincipal,
    payment: Payment,
    refund: Refund,
    *,
    now: datetime,
    confirmed: bool = False,
) -> None:
    """A refund row now `requested`: the payment's refunded total follows, and the request
    is audited (committed before the provider is asked)."""
    await _refresh_refunded(session, payment)
    payment.updated_at = now
    await _flush(session)
    details: dict[str, Any] = {
        "refund_id": str(refund.id),
        "amount": refund.amount,
        "refunded_total": payment.refunded_amount,
        "reference_number": payment.reference_number,
    }
    if confirmed:
        details["confirmed"] = True
    await audit.record(
        session,
        staff,
        "payment.refund",
        "payment",
        payment.id,
        payment.municipality_code,
        reason=refund.reason,
        details=details,
    )


def _pays_at_once(
    payment: Payment,
    submission: Submission,
    facts: Sequence[Fact],
    refund: RefundReport | None,
    dispute: DisputeReport | None,
) -> bool:
    """The common report: the money arrived for an open payment of an application that
    waits for it, nothing else said (what _succeed does through its transition)."""
    return (
        len(facts) == 1
        and facts[0].kind == "succeeded"
        and refund is None
        and dispute is None
        and PaymentStatus(payment.status) in OPEN
        and submission.status == Status.AWAITING_PAYMENT
    )


async def _succeed_at_once(
    session: AsyncSession,
    payment: Payment,
    submission: Submission,
    now: datetime,
    payment_intent_id: str | None,
    charge_id: str | None,
    intent_lock: str | None,
) -> None:
    """apply_facts + _succeed for `_pays_at_once`, both rows locked by lock_payment: the
    payment is written with one UPDATE instead of the unit of work (the same columns
    the flush would write), which also reads what the application's other payments
    keep, so the transition to `paid` knows the net amount paid without a query, and
    takes `intent_lock` on PostgreSQL."""
    target = paid_status(payment.amount, payment.refunded_amount, payment.dispute_status)
    if not is_allowed(PaymentStatus(payment.status), target):
        raise AssertionError(f"payment {payment.id}: {payment.status} -> {target}")
    wanted: dict[str, object] = {
        "provider_payment_intent_id": payment.provider_payment_intent_id or payment_intent_id,
        "provider_charge_id": payment.provider_charge_id or charge_id,
        "paid_at": now,
        "redirect_url": None,
        "voucher": None,
    }
    # Only what changes, as a flush writes it (None into a JSON column that holds SQL
    # NULL would write JSON null).
    changes: dict[str, object] = {
        key: value for key, value in wanted.items() if getattr(payment, key) != value
    }
    changes.update(status=str(target), updated_at=now, row_version=payment.row_version + 1)
    params = {**changes, "paying_id": payment.id, "paying_version": payment.row_version}
    dialect = session.get_bind().dialect.name
    pay = _PAY
    if intent_lock is not None:
        if dialect == "postgresql":
            pay, params = _PAY_HOLDING_INTENT_LOCK, {**params, "intent_key": intent_lock}
        else:
            await hold_intent_lock(session, intent_lock)
    if "voucher" in changes:
        # Through the session: None in a JSON column is then JSON null, as a flush writes
        # it (the driver would write SQL NULL).
        others = await session.scalar(pay.statement_for(dialect), params)
    else:
        others = await pay.scalar(session, params)
    if others is None:
        raise PaymentChanged()
    for key, value in changes.items():  # the object as the row now is, nothing to flush
        set_committed_value(payment, key, value)
    await lifecycle.transition(
        session,
        submission,
        Status.PAID,
        SYSTEM,
        "手数料の支払を確認しました",
        now=now,
        paid_amount=int(others) + payment.net_paid,
    )


def _pay_statement(*, holding_intent_lock: bool = False) -> Any:
    """UPDATE of one payment (SET columns from the parameters) if its version is still
    the one read, returning the net amount the application's other payments keep (the
    sum net_paid reads, without this payment). `holding_intent_lock`: it also takes
    the advisory lock `:intent_key` (PostgreSQL; see hold_intent_lock)."""
    payments = table_of(Payment)
    other = payments.alias("other")
    others = (
        select(_kept_sum(other))
        .where(
            other.c.submission_id == payments.c.submission_id,
            other.c.id != payments.c.id,
            other.c.paid_at.is_not(None),
        )
        .scalar_subquery()
    )
    statement = (
        update(payments)
        .where(
            payments.c.id == bindparam("paying_id"),
            payments.c.row_version == bindparam("paying_version"),
        )
        .returning(others.label("others_paid"))
    )
    if holding_intent_lock:
        # A condition that takes the lock (and holds): evaluated for the payment's row.
        statement = statement.where(_intent_lock().scalar_subquery())
    return statement


def _intent_lock() -> Any:
    """`SELECT true FROM pg_advisory_xact_lock(...)`: the advisory lock on `:intent_key`
    until commit, as a one-row SELECT."""
    key = func.hashtext(bindparam("intent_key", type_=String))
    return select(true()).select_from(func.pg_advisory_xact_lock(key))


async def hold_intent_lock(session: AsyncSession, key: str) -> bool:
    """PostgreSQL: an advisory lock on `key` (a PaymentIntent, `<provider>:<id>`) until
    commit, which serialises the delivery that records a PaymentIntent on our payment
    and one that finds no payment for it (app.payments.webhooks). SQLite runs one writer
    at a time: False, no lock needed."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    await _INTENT_LOCK.run(session, {"intent_key": key})
    return True


_PAY = HotStatement(_pay_statement())
_PAY_HOLDING_INTENT_LOCK = HotStatement(_pay_statement(holding_intent_lock=True))
_INTENT_LOCK = HotStatement(_intent_lock())


async def _refresh_refunded(session: AsyncSession, payment: Payment) -> None:
    """refunded_amount = the refunds whose money is gone or on its way; the status of a
    paid payment follows."""
    await _flush(session)
    total = await session.scalar(
        select(func.coalesce(func.sum(Refund.amount), 0)).where(
            Refund.payment_id == payment.id,
            Refund.status.in_([str(status) for status in ACTIVE_REFUNDS]),
        )
    )
    payment.refunded_amount = min(int(total or 0), payment.amount)
    if PaymentStatus(payment.status) in PAID:
        _move(payment, paid_status(payment.amount, payment.refunded_amount, payment.dispute_status))


def _move(payment: Payment, target: PaymentStatus) -> None:
    current = PaymentStatus(payment.status)
    if current != target and not is_allowed(current, target):
        raise AssertionError(f"payment {payment.id}: {current} -> {target} is not a transition")
    payment.status = target


async def _flush(session: AsyncSession) -> None:
    try:
        await session.flush()
    except StaleDataError as exc:
        raise PaymentChanged() from exc


async def _payment_methods(
    session: AsyncSession, submission: Submission, settings: Settings
) -> list[str]:
    municipality = await get_municipality(session, submission.municipality_code)
    configured = municipality.settings.get("payment_method_types")
    if isinstance(configured, list):
        chosen = [method for method in configured if method in PAYMENT_METHODS]
        if chosen:
            return chosen
    return list(settings.payment_method_types)


async def _description(session: AsyncSession, submission: Submission) -> str:
    version = await forms.get_version(session, submission.procedure_version_id)
    title = str(version.definition.get("title", {}).get("ja", submission.procedure_code))
    return f"{submission.reference_number} {title}"


def return_url(
    settings: Settings, submission_id: uuid.UUID, payment_id: uuid.UUID, result: str
) -> str:
    """Where the citizen lands after the payment page: the web client's status view of
    the application (hash route), told which payment came back and how."""
    base = settings.public_base_url.rstrip("/")
    return f"{base}/?payment_id={payment_id}&result={result}#/s/{submission_id}"


def _conditions(staff: StaffPrincipal, criteria: PaymentFilter) -> list[ColumnElement[bool]]:
    conditions = [Payment.municipality_code == staff.municipality_code]
    if criteria.statuses:
        conditions.append(Payment.status.in_([str(s) for s in criteria.statuses]))
    if criteria.reference_number is not None:
        conditions.append(Payment.reference_number == criteria.reference_number)
    if criteria.submission_id is not None:
        conditions.append(Payment.submission_id == criteria.submission_id)
    if criteria.paid_from is not None:
        conditions.append(Payment.paid_at >= criteria.paid_from)
    if criteria.paid_to is not None:
        conditions.append(Payment.paid_at < criteria.paid_to)
    return conditions
