"""Provider events (webhooks): verified, written to the inbox once per provider and event
id, handled once, in the transaction that stores them.

A duplicate delivery finds its event in the inbox and changes nothing. A delivery whose
handling fails leaves nothing behind, so the provider's retry handles it afresh. Events
are applied as facts (app.payments.lifecycle), so any order ends in the same state.
Payloads are stored as the provider sent them and never logged.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import stripe
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import AppError, NotFound
from app.payments import service
from app.payments.lifecycle import Fact
from app.payments.models import Payment, ProviderEvent
from app.payments.providers.stripe_checkout import voucher_of
from app.payments.reconciliation import service as reconciliation
from app.submissions.dialects import insert_ignoring_conflicts

logger = logging.getLogger(__name__)

STRIPE = "stripe"
DEMO = "demo"

Outcome = Literal["applied", "no_change", "unmatched", "ignored", "duplicate"]
DemoAction = Literal["pay", "konbini", "fail"]
DEMO_FACTS: dict[DemoAction, Fact] = {
    "pay": Fact("succeeded"),
    "konbini": Fact("pending"),
    "fail": Fact("failed"),
}

CHECKOUT_FACTS: dict[str, Fact] = {
    "checkout.session.async_payment_succeeded": Fact("succeeded"),
    "checkout.session.async_payment_failed": Fact("failed"),
    "checkout.session.expired": Fact("expired"),
}


class WebhookSignatureInvalid(AppError):
    status = 400
    code = "WEBHOOK_SIGNATURE_INVALID"
    title_en = "The webhook signature does not verify"
    title_ja = "Webhookの署名を検証できません"


class WebhookNotConfigured(NotFound):
    code = "WEBHOOK_NOT_CONFIGURED"
    title_en = "This webhook is not configured here"
    title_ja = "このWebhookは設定されていません"


@dataclass(frozen=True)
class ReceivedEvent:
    event_id: str
    event_type: str
    outcome: Outcome


def verify_stripe_event(payload: bytes, signature: str | None, secret: str) -> dict[str, Any]:
    """The event, once its Stripe-Signature (HMAC-SHA256 of `t.payload`, within Stripe's
    5-minute tolerance) matches the raw body; anything else is 400."""
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret)
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise WebhookSignatureInvalid(
            "The Stripe-Signature header does not match the body, or is too old.",
            "Stripe-Signatureヘッダーが本文と一致しないか、古すぎます。",
        ) from exc
    data: dict[str, Any] = event.to_dict()
    if not isinstance(data.get("id"), str) or not isinstance(data.get("type"), str):
        raise WebhookSignatureInvalid(
            "The event has no id or type.", "イベントにidまたはtypeがありません。"
        )
    return data


async def receive_stripe_event(
    session: AsyncSession, event: dict[str, Any], *, now: datetime
) -> ReceivedEvent:
    """Store a verified Stripe event in the inbox and handle it, unless it is there already."""
    event_id, event_type = str(event["id"]), str(event["type"])
    if not await _store(session, STRIPE, event_id, event_type, event, now):
        return ReceivedEvent(event_id, event_type, "duplicate")
    handled = await _handle_stripe(session, event_type, event, now)
    await _mark_handled(session, STRIPE, event_id, handled, now)
    if handled.outcome == "unmatched":
        logger.info("stripe event %s (%s) names no payment of ours yet", event_id, event_type)
    elif handled.learnt_intent and handled.related_id is not None:
        await _replay_unmatched(session, handled.related_id, now)
    return ReceivedEvent(event_id, event_type, handled.outcome)


async def receive_demo_action(
    session: AsyncSession, payment_id: uuid.UUID, action: DemoAction, *, now: datetime
) -> ReceivedEvent:
    """The demo page's buttons, settled exactly as a provider event: through the inbox
    (a second click is a duplicate) and the same fact handling."""
    payment = await session.get(Payment, payment_id)
    if payment is None or payment.provider != DEMO:
        raise service.PaymentNotFound()
    event_id = f"{payment_id}:{action}:{payment.status}"
    event_type = f"demo.payment.{action}"
    payload = {"payment_id": str(payment_id), "action": action, "from": payment.status}
    if not await _store(session, DEMO, event_id, event_type, payload, now):
        return ReceivedEvent(event_id, event_type, "duplicate")
    changed = await service.apply_facts(session, payment_id, [DEMO_FACTS[action]], now=now)
    handled = _Handled("applied" if changed else "no_change", payment_id)
    await _mark_handled(session, DEMO, event_id, handled, now)
    return ReceivedEvent(event_id, event_type, handled.outcome)


@dataclass(frozen=True)
class _Handled:
    outcome: Outcome
    payment_id: uuid.UUID | None = None
    related_id: str | None = None
    learnt_intent: bool = False
    """This event told us the payment's PaymentIntent: earlier events may now match."""


async def _handle_stripe(
    session: AsyncSession, event_type: str, event: dict[str, Any], now: datetime
) -> _Handled:
    obj: dict[str, Any] = event.get("data", {}).get("object", {})
    metadata = obj.get("metadata") or {}
    facts: list[Fact]
    intent_id, charge_id = _id(obj.get("payment_intent")), None
    if event_type == "checkout.session.completed":
        # Konbini completes the page with the voucher issued but unpaid: pending until
        # async_payment_succeeded (or _failed) says how it ended.
        paid = obj.get("payment_status") in ("paid", "no_payment_required")
        facts = [Fact("succeeded" if paid else "pending")]
        payment = await service.find_payment(
            session, payment_id=metadata.get("payment_id"), checkout_id=obj.get("id")
        )
    elif event_type in CHECKOUT_FACTS:
        facts = [CHECKOUT_FACTS[event_type]]
        payment = await service.find_payment(
            session, payment_id=metadata.get("payment_id"), checkout_id=obj.get("id")
        )
    elif event_type == "payment_intent.requires_action" and voucher_of(obj) is not None:
        # Konbini: the voucher (払込番号, deadline) the citizen takes to the store.
        facts = [Fact("pending", voucher=voucher_of(obj))]
        intent_id = _id(obj.get("id"))
        payment = await service.find_payment(
            session, payment_id=metadata.get("payment_id"), payment_intent_id=intent_id
        )
    elif event_type == "charge.refunded":
        facts = [Fact("refunded", refunded_total=int(obj.get("amount_refunded") or 0))]
        charge_id = obj.get("id")
        payment = await service.find_payment(
            session,
            payment_id=metadata.get("payment_id"),
            payment_intent_id=intent_id,
            charge_id=charge_id,
        )
    elif event_type == "charge.dispute.created":
        # A dispute carries no metadata: it is found by its PaymentIntent, which we may
        # learn only from a later event (then it is handled again, see _replay_unmatched).
        facts = [Fact("disputed")]
        charge_id = _id(obj.get("charge"))
        payment = await service.find_payment(
            session, payment_intent_id=intent_id, charge_id=charge_id
        )
    elif event_type.startswith("payout."):
        await reconciliation.record_payout(session, STRIPE, obj, now=now)
        return _Handled("applied")
    else:
        return _Handled("ignored")
    if payment is None:
        return _Handled("unmatched", None, intent_id)
    learnt = intent_id is not None and payment.provider_payment_intent_id is None
    changed = await service.apply_facts(
        session, payment.id, facts, now=now, payment_intent_id=intent_id, charge_id=charge_id
    )
    return _Handled("applied" if changed else "no_change", payment.id, intent_id, learnt)


async def _replay_unmatched(session: AsyncSession, intent_id: str, now: datetime) -> None:
    """Handle again the events that named this PaymentIntent before we knew it."""
    waiting = await session.execute(
        select(ProviderEvent.event_id, ProviderEvent.event_type, ProviderEvent.payload)
        .where(
            ProviderEvent.provider == STRIPE,
            ProviderEvent.outcome == "unmatched",
            ProviderEvent.related_id == intent_id,
        )
        .order_by(ProviderEvent.id)
    )
    for event_id, event_type, payload in waiting.all():
        handled = await _handle_stripe(session, event_type, payload, now)
        await _mark_handled(session, STRIPE, event_id, handled, now)


def _id(value: Any) -> str | None:
    """An expandable field: an id, or the expanded object carrying it."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else None


async def _store(
    session: AsyncSession,
    provider: str,
    event_id: str,
    event_type: str,
    payload: dict[str, Any],
    now: datetime,
) -> bool:
    """Insert into the inbox; False when the event is there already. On PostgreSQL a
    concurrent delivery of the same event waits here until the first one commits."""
    inserted = await session.scalar(
        insert_ignoring_conflicts(
            session,
            ProviderEvent,
            {
                "provider": provider,
                "event_id": event_id,
                "event_type": event_type[:64],
                "payload": payload,
                "received_at": now,
            },
            ["provider", "event_id"],
        ).returning(ProviderEvent.id)
    )
    return inserted is not None


async def _mark_handled(
    session: AsyncSession, provider: str, event_id: str, handled: _Handled, now: datetime
) -> None:
    await session.execute(
        update(ProviderEvent)
        .where(ProviderEvent.provider == provider, ProviderEvent.event_id == event_id)
        .values(
            handled_at=now,
            outcome=handled.outcome,
            payment_id=handled.payment_id,
            related_id=handled.related_id,
        )
        .execution_options(synchronize_session=False)
    )
