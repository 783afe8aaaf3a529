"""Provider events (webhooks): verified by their provider, written to the inbox once per
provider and event id, handled once, in the transaction that stores them.

A duplicate delivery finds its event in the inbox and changes nothing. A delivery whose
handling fails leaves nothing behind, so the provider's retry handles it afresh. Events
are applied as facts (app.payments.lifecycle), so any order ends in the same state.
Before anything settles, what the event claims (checkout session, amount, currency,
provider, live or test mode) is checked against the stored payment: an event that does
not match is kept as `mismatch`, alerts finance and changes nothing. Payloads are stored
as the provider sent them and never logged.
"""

from __future__ import annotations

import functools
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy import Table, bindparam, exists, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import HotStatement, violates_unique
from app.payments import alerts, service
from app.payments.models import Payment, ProviderEvent
from app.payments.providers import demo
from app.payments.providers.base import Claims, EventFacts, PaymentProvider, VerifiedEvent
from app.payments.reconciliation import service as reconciliation

logger = logging.getLogger(__name__)

Outcome = Literal["applied", "no_change", "unmatched", "ignored", "duplicate", "mismatch"]


@dataclass(frozen=True)
class ReceivedEvent:
    event_id: str
    event_type: str
    outcome: Outcome


async def receive_event(
    session: AsyncSession, provider: PaymentProvider, event: VerifiedEvent, *, now: datetime
) -> ReceivedEvent:
    """Store a verified event in the inbox and handle it, unless it is there already."""
    if not await _store(session, provider.name, event, now):
        return ReceivedEvent(event.id, event.type, "duplicate")
    return await _handle_stored(session, provider, event, now)


async def receive_delivery(
    session: AsyncSession, provider: PaymentProvider, event: VerifiedEvent, *, now: datetime
) -> ReceivedEvent:
    """`receive_event` for a delivery from the provider, in a transaction of its own.

    A delivery is nearly always its event's first (a provider delivers again only when
    it got no answer), so its inbox row goes in with the first statement that handles
    the event (on PostgreSQL as a WITH of it), saving a round trip. If the event was in
    the inbox after all, that statement fails before anything is done: the transaction
    is rolled back and the event received as `receive_event` does (a duplicate). A
    second delivery arriving while the first is handled waits for it at that
    statement."""
    try:
        await _INBOX_ROW.write_later(session, _inbox_row(provider.name, event, now))
        return await _handle_stored(session, provider, event, now)
    except IntegrityError as error:
        if not violates_unique(error, _inbox, "provider", "event_id"):
            raise
    await session.rollback()
    return await receive_event(session, provider, event, now=now)


async def _handle_stored(
    session: AsyncSession, provider: PaymentProvider, event: VerifiedEvent, now: datetime
) -> ReceivedEvent:
    """Handle an event just stored in the inbox and record how."""
    handled = await _handle(session, provider, event, now)
    waiting = await _mark_handled(session, provider.name, event.id, handled, now)
    if handled.outcome == "unmatched":
        logger.info(
            "%s event %s (%s) names no payment of ours yet", provider.name, event.id, event.type
        )
    elif waiting and handled.related_id is not None:
        await _replay_unmatched(session, provider, handled.related_id, now)
    return ReceivedEvent(event.id, event.type, handled.outcome)


async def receive_demo_action(
    session: AsyncSession,
    provider: PaymentProvider,
    payment_id: uuid.UUID,
    action: str,
    *,
    now: datetime,
) -> ReceivedEvent:
    """The demo page's buttons, settled exactly as a provider event: through the inbox
    (a second click is a duplicate) and the same fact handling."""
    payment = await session.get(Payment, payment_id)
    if payment is None or payment.provider != demo.DemoProvider.name:
        raise service.PaymentNotFound()
    return await receive_event(
        session, provider, demo.page_event(payment_id, action, payment.status, now=now), now=now
    )


@dataclass(frozen=True)
class _Handled:
    outcome: Outcome
    payment_id: uuid.UUID | None = None
    related_id: str | None = None
    learnt_intent: bool = False
    """This event told us the payment's PaymentIntent: earlier events may now match."""


async def _handle(
    session: AsyncSession, provider: PaymentProvider, event: VerifiedEvent, now: datetime
) -> _Handled:
    found = provider.facts_of(event)
    if found.payout is not None:
        await reconciliation.record_payout(session, provider.name, found.payout, now=now)
        return _Handled("applied")
    if found.ref is None:
        return _Handled("ignored")
    ref = found.ref
    find_by_provider_ids = functools.partial(
        service.find_payment,
        session,
        checkout_id=ref.checkout_id,
        payment_intent_id=ref.payment_intent_id,
        charge_id=ref.charge_id,
    )
    # Our id in the metadata (most events): the payment and its application are read
    # and locked at once, as applying the facts needs them.
    payment = await service.lock_payment(session, ref.payment_id) if ref.payment_id else None
    if payment is None:
        payment = await find_by_provider_ids()
    # Maybe another delivery is teaching us this PaymentIntent right now: wait for it and
    # look again, so that either we find the payment or it finds us waiting.
    if (
        payment is None
        and ref.payment_intent_id is not None
        and await _serialise_on_intent(session, provider.name, ref.payment_intent_id)
    ):
        payment = await find_by_provider_ids()
    if payment is None:
        return _Handled("unmatched", None, ref.payment_intent_id)
    differences = _differences(payment, provider.name, found.claims)
    if differences:
        await alerts.raise_alert(
            session,
            alerts.AlertKind.WEBHOOK_MISMATCH,
            payment,
            source=f"{provider.name}:{event.id}",
            details={"event_id": event.id, "event_type": event.type, "differences": differences},
            amount=found.claims.amount,
            now=now,
        )
        logger.warning(
            "%s event %s (%s) does not match payment %s: %s",
            provider.name,
            event.id,
            event.type,
            payment.id,
            ", ".join(sorted(differences)),
        )
        return _Handled("mismatch", payment.id, ref.payment_intent_id)
    intent_lock = None
    if ref.payment_intent_id is not None and payment.provider_payment_intent_id is None:
        # Learning it: serialised with deliveries that find no payment for it.
        intent_lock = _intent_key(provider.name, ref.payment_intent_id)
    changed = await _apply(session, payment, found, event, now, intent_lock)
    return _Handled(
        "applied" if changed else "no_change",
        payment.id,
        ref.payment_intent_id,
        learnt_intent=intent_lock is not None,
    )


async def _apply(
    session: AsyncSession,
    payment: Payment,
    found: EventFacts,
    event: VerifiedEvent,
    now: datetime,
    intent_lock: str | None = None,
) -> bool:
    assert found.ref is not None
    return await service.apply_facts(
        session,
        payment.id,
        found.facts,
        now=now,
        payment_intent_id=found.ref.payment_intent_id,
        charge_id=found.ref.charge_id,
        refund=found.refund,
        dispute=found.dispute,
        source=event.id,
        intent_lock=intent_lock,
    )


def _differences(payment: Payment, provider: str, claims: Claims) -> dict[str, Any]:
    """What the event claims that the stored payment contradicts: {field: {expected, got}}."""
    found: dict[str, Any] = {}
    if payment.provider != provider:
        found["provider"] = {"expected": payment.provider, "got": provider}
    pairs: tuple[tuple[str, object, object], ...] = (
        ("checkout_id", payment.provider_checkout_id, claims.checkout_id),
        ("amount", payment.amount, claims.amount),
        ("currency", payment.currency.lower(), (claims.currency or "").lower() or None),
        ("livemode", payment.livemode, claims.livemode),
    )
    for name, expected, got in pairs:
        if got is not None and expected is not None and got != expected:
            found[name] = {"expected": expected, "got": got}
    return found


async def _serialise_on_intent(session: AsyncSession, provider: str, intent_id: str) -> bool:
    """A lock on the PaymentIntent id until commit (PostgreSQL), taken by the delivery
    that records it on our payment (its `_intent_key` given to apply_facts) and by one
    that finds no payment for it (here). Without it, an event naming only the
    PaymentIntent (a refund made in the dashboard) could miss a payment whose
    PaymentIntent is being recorded (not committed yet) and be stored as `unmatched`
    just after that delivery looked for waiting events: it would never be applied. With
    it, the second of the two waits for the first to commit, then finds the payment or
    is found waiting. False on SQLite (one writer at a time: no lock needed)."""
    return await service.hold_intent_lock(session, _intent_key(provider, intent_id))


def _intent_key(provider: str, intent_id: str) -> str:
    return f"{provider}:{intent_id}"


async def _replay_unmatched(
    session: AsyncSession, provider: PaymentProvider, intent_id: str, now: datetime
) -> None:
    """Handle again the events that named this PaymentIntent before we knew it."""
    waiting = await session.execute(
        select(ProviderEvent.event_id, ProviderEvent.event_type, ProviderEvent.payload)
        .where(
            ProviderEvent.provider == provider.name,
            ProviderEvent.outcome == "unmatched",
            ProviderEvent.related_id == intent_id,
        )
        .order_by(ProviderEvent.id)
    )
    for event_id, event_type, payload in waiting.all():
        livemode = payload.get("livemode") if isinstance(payload, dict) else None
        event = VerifiedEvent(
            event_id, event_type, payload, livemode if isinstance(livemode, bool) else None
        )
        handled = await _handle(session, provider, event, now)
        await _mark_handled(session, provider.name, event_id, handled, now)


async def _store(session: AsyncSession, provider: str, event: VerifiedEvent, now: datetime) -> bool:
    """Insert into the inbox; False when the event is there already. On PostgreSQL a
    concurrent delivery of the same event waits here until the first one commits."""
    inserted = await _INBOX_INSERT.scalar(session, _inbox_row(provider, event, now))
    return inserted is not None


def _inbox_row(provider: str, event: VerifiedEvent, now: datetime) -> dict[str, Any]:
    return {
        "provider": provider,
        "event_id": event.id,
        "event_type": event.type[:64],
        "payload": event.payload,
        "received_at": now,
    }


def _inbox_insert(dialect: str) -> Any:
    """The inbox INSERT ... ON CONFLICT DO NOTHING RETURNING id, built once per dialect
    (_INBOX_INSERT) and run with each event's values."""
    table = cast(Table, ProviderEvent.__table__)
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(table)
        .on_conflict_do_nothing(index_elements=["provider", "event_id"])
        .returning(table.c.id)
    )


_INBOX_INSERT = HotStatement(_inbox_insert)


async def _mark_handled(
    session: AsyncSession, provider: str, event_id: str, handled: _Handled, now: datetime
) -> bool:
    """Record the outcome. True when the event told us its payment's PaymentIntent and
    events that named it before (`unmatched`) wait in the inbox: the same statement
    looks, so the common case (none waiting) costs no second round trip."""
    values = {
        "inbox_provider": provider,
        "inbox_event_id": event_id,
        "handled_at": now,
        "outcome": handled.outcome,
        "payment_id": handled.payment_id,
        "related_id": handled.related_id,
    }
    if not (handled.learnt_intent and handled.related_id is not None):
        await _MARK_HANDLED.run(session, values)
        return False
    waiting = await _MARK_HANDLED_AND_LOOK.scalar(
        session, {**values, "intent_id": handled.related_id}
    )
    return bool(waiting)


_inbox = cast(Table, ProviderEvent.__table__)
_INBOX_ROW = HotStatement(insert(_inbox))
"""The inbox row alone, for `receive_delivery`: a duplicate fails it."""
_waiting = _inbox.alias("waiting")
# The SET columns come from the parameters (handled_at, outcome, payment_id, related_id).
_mark_handled_statement = update(_inbox).where(
    _inbox.c.provider == bindparam("inbox_provider"),
    _inbox.c.event_id == bindparam("inbox_event_id"),
)
_MARK_HANDLED = HotStatement(_mark_handled_statement)
_MARK_HANDLED_AND_LOOK = HotStatement(
    _mark_handled_statement.returning(
        exists()
        .where(
            _waiting.c.provider == bindparam("inbox_provider"),
            _waiting.c.outcome == "unmatched",
            _waiting.c.related_id == bindparam("intent_id"),
        )
        .label("waiting")
    )
)
"""Built once. The subquery sees the inbox as the statement started (this event not yet
marked): the same events the separate query after it used to find."""
