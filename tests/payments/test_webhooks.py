"""Stripe's webhooks: the signature guards the inbox, each event is handled once, and the
same events in any order, delivered any number of times, leave the same state. Missed
webhooks are settled by `python -m app.payments settle-open`."""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.payments import service as payments_service
from app.payments import webhooks
from app.payments.__main__ import settle_open
from app.payments.models import ProviderEvent
from app.payments.providers.base import VerifiedEvent
from app.payments.providers.stripe_checkout import StripeCheckout
from app.payments.reconciliation.models import Payout
from tests.conftest import Backend
from tests.fakes.stripe_server import FakeStripe, sign, signed_delivery
from tests.payments.helpers import (
    WEBHOOK,
    Application,
    checkout_id,
    count,
    deliver,
    inbox,
    paid_session,
    start_payment,
    stored_payment,
    submission_status,
    submit,
    timeline,
)


async def _checkout_id(
    api: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], app: Application
) -> tuple[str, str]:
    started = await paid_session(api, app)
    payment = await stored_payment(session_factory, started["payment_id"])
    return started["payment_id"], str(payment.provider_checkout_id)


async def test_a_bad_or_stale_signature_is_refused_and_nothing_is_stored(
    stripe_api: httpx.AsyncClient,
    procedures: None,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    application = await submit(stripe_api)
    payment_id, checkout_id = await _checkout_id(stripe_api, session_factory, application)
    [event] = fake.complete_card(checkout_id)
    payload = json.dumps(event).encode()

    wrong_secret = {"Stripe-Signature": sign(payload, "whsec_someone_else")}
    stale = {"Stripe-Signature": sign(payload, timestamp=int(time.time()) - 3600)}
    tampered_body = payload.replace(b'"paid"', b'"unpaid"')
    for body, headers in (
        (payload, wrong_secret),
        (payload, stale),
        (tampered_body, {"Stripe-Signature": sign(payload)}),
        (payload, {}),
        (payload, {"Stripe-Signature": "t=1,v1=00"}),
    ):
        response = await stripe_api.post(WEBHOOK, content=body, headers=headers)
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "WEBHOOK_SIGNATURE_INVALID"

    assert await count(session_factory, ProviderEvent) == 0
    assert (await stored_payment(session_factory, payment_id)).status == "created"
    assert await submission_status(session_factory, application.id) == "awaiting_payment"


async def _konbini_scenario(
    api: httpx.AsyncClient,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> tuple[Application, str, list[dict[str, Any]]]:
    """Konbini voucher, paid at the store, 200 yen refunded from the dashboard, then a
    dispute: the events, not yet delivered."""
    application = await submit(api, copies=2)
    payment_id, checkout_id = await _checkout_id(api, session_factory, application)
    events = fake.complete_konbini(checkout_id) + fake.konbini_paid(checkout_id)
    charge_id = fake.charge_of(checkout_id)["id"]
    events += fake.refund_in_dashboard(charge_id, 200)
    events += fake.dispute(charge_id)
    return application, payment_id, events


async def _final_state(
    session_factory: async_sessionmaker[AsyncSession], application: Application, payment_id: str
) -> tuple[str, int, str, bool]:
    payment = await stored_payment(session_factory, payment_id)
    return (
        payment.status,
        payment.refunded_amount,
        await submission_status(session_factory, application.id),
        payment.provider_payment_intent_id is not None,
    )


async def test_duplicated_and_shuffled_events_leave_the_same_state(
    stripe_api: httpx.AsyncClient,
    procedures: None,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    application, payment_id, events = await _konbini_scenario(stripe_api, fake, session_factory)
    in_order = await deliver(stripe_api, events)
    assert all(response.status_code == 200 for response in in_order)
    expected = await _final_state(session_factory, application, payment_id)
    assert expected == ("disputed", 200, "paid", True)

    shuffler = random.Random(20260401)
    for _ in range(4):
        application, payment_id, events = await _konbini_scenario(stripe_api, fake, session_factory)
        deliveries = events + shuffler.sample(events, k=len(events))
        shuffler.shuffle(deliveries)
        responses = await deliver(stripe_api, deliveries)
        outcomes = [response.json()["outcome"] for response in responses]
        assert outcomes.count("duplicate") == len(events)
        assert await _final_state(session_factory, application, payment_id) == expected

    stored = await inbox(session_factory)
    assert len(stored) == 5 * len(events)  # every distinct event once
    assert all(event.handled_at is not None for event in stored)


async def test_an_exact_redelivery_changes_nothing(
    stripe_api: httpx.AsyncClient,
    procedures: None,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    application = await submit(stripe_api)
    payment_id, checkout_id = await _checkout_id(stripe_api, session_factory, application)
    [event] = fake.complete_card(checkout_id)
    payload, headers = signed_delivery(event)
    first = await stripe_api.post(WEBHOOK, content=payload, headers=headers)
    second = await stripe_api.post(WEBHOOK, content=payload, headers=headers)
    assert (first.json()["outcome"], second.json()["outcome"]) == ("applied", "duplicate")
    assert await count(session_factory, ProviderEvent) == 1
    [stored] = await inbox(session_factory)
    assert stored.event_type == "checkout.session.completed"
    assert str(stored.payment_id) == payment_id and stored.outcome == "applied"
    assert stored.payload["id"] == event["id"]


async def test_concurrent_redeliveries_apply_the_event_once(
    backend: Backend,
    stripe_api: httpx.AsyncClient,
    procedures: None,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """Stripe resends an event it got no answer for: ten deliveries of one payment at
    once pay it once; the others wait for the first and answer `duplicate`."""
    if backend.name != "postgresql":
        pytest.skip("concurrent transactions: PostgreSQL only")
    application = await submit(stripe_api)
    payment_id, checkout_id = await _checkout_id(stripe_api, session_factory, application)
    [event] = fake.complete_card(checkout_id)
    payload, headers = signed_delivery(event)
    responses = await asyncio.gather(
        *(stripe_api.post(WEBHOOK, content=payload, headers=headers) for _ in range(10))
    )
    assert [r.status_code for r in responses] == [200] * 10
    outcomes = sorted(r.json()["outcome"] for r in responses)
    assert outcomes == ["applied"] + ["duplicate"] * 9
    assert await count(session_factory, ProviderEvent) == 1
    assert (await stored_payment(session_factory, payment_id)).status == "succeeded"
    assert await submission_status(session_factory, application.id) == "paid"
    assert (await timeline(session_factory, application.id)).count("paid") == 1


async def test_events_for_nothing_of_ours_are_kept_and_payouts_recorded(
    stripe_api: httpx.AsyncClient,
    procedures: None,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    charge_id = fake.add_unknown_charge(5000)
    _, charge_refunded = fake.refund_in_dashboard(charge_id, 5000)
    payout_id, paid = fake.create_payout()
    ignored = {**charge_refunded, "id": "evt_ignored_type", "type": "customer.created"}
    responses = await deliver(stripe_api, [charge_refunded, *paid, ignored])
    assert [r.json()["outcome"] for r in responses] == ["unmatched", "applied", "ignored"]
    async with session_factory() as session:
        payout = await session.scalar(select(Payout).where(Payout.provider_payout_id == payout_id))
    assert payout is not None and payout.status == "paid"
    assert payout.amount == fake.state.payouts[payout_id]["amount"]


async def test_settle_open_applies_what_missed_webhooks_would_have(
    stripe_api: httpx.AsyncClient,
    stripe_settings: Settings,
    procedures: None,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    card, konbini, lapsed, open_ = [await submit(stripe_api) for _ in range(4)]
    card_payment, card_checkout = await _checkout_id(stripe_api, session_factory, card)
    konbini_payment, konbini_checkout = await _checkout_id(stripe_api, session_factory, konbini)
    lapsed_payment, lapsed_checkout = await _checkout_id(stripe_api, session_factory, lapsed)
    open_payment, _ = await _checkout_id(stripe_api, session_factory, open_)
    # Stripe moves on; the webhooks never arrive.
    fake.complete_card(card_checkout)
    fake.complete_konbini(konbini_checkout)
    fake.complete_konbini(lapsed_checkout)
    fake.konbini_failed(lapsed_checkout)

    outcome = await settle_open(stripe_settings)
    assert outcome == {"settled": 3, "unchanged": 1}
    assert (await stored_payment(session_factory, card_payment)).status == "succeeded"
    assert await submission_status(session_factory, card.id) == "paid"
    assert (await stored_payment(session_factory, konbini_payment)).status == "pending"
    assert (await stored_payment(session_factory, lapsed_payment)).status == "failed"
    assert (await stored_payment(session_factory, open_payment)).status == "created"

    # The late webhooks then change nothing.
    responses = await deliver(stripe_api, fake.take_events())
    assert {r.json()["outcome"] for r in responses} <= {"no_change", "duplicate"}


@pytest.mark.parametrize("event_type", ["checkout.session.completed", "charge.refunded"])
async def test_an_event_naming_an_unknown_payment_is_unmatched(
    stripe_api: httpx.AsyncClient, procedures: None, event_type: str
) -> None:
    event = {
        "id": f"evt_unknown_{event_type}",
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "data": {
            "object": {
                "id": "cs_or_ch_unknown",
                "object": "checkout.session",
                "payment_status": "paid",
                "amount_refunded": 100,
                "metadata": {"payment_id": "00000000-0000-0000-0000-000000000000"},
            }
        },
    }
    [response] = await deliver(stripe_api, [event])
    assert response.status_code == 200 and response.json()["outcome"] == "unmatched"


async def test_a_webhook_holds_the_application_and_the_payment_from_its_first_read(
    backend: Backend,
    stripe_api: httpx.AsyncClient,
    procedures: None,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """The one statement that reads a webhook's payment locks the application and the
    payment until commit: staff or a second delivery cannot change either meanwhile."""
    if backend.name != "postgresql":
        pytest.skip("row locks: PostgreSQL only")
    application = await submit(stripe_api)
    payment_id = (await start_payment(stripe_api, application)).json()["payment_id"]

    async def locked(table: str, row_id: str) -> bool:
        async with session_factory() as other, other.begin():
            try:
                await other.execute(
                    text(f"SELECT 1 FROM {table} WHERE id = :id FOR UPDATE NOWAIT"),
                    {"id": row_id},
                )
            except DBAPIError as error:
                assert "could not obtain lock" in str(error.orig)
                return True
            return False

    async with session_factory() as webhook, webhook.begin():
        payment = await payments_service.lock_payment(webhook, payment_id)
        assert payment is not None and str(payment.id) == payment_id
        assert await locked("submissions", application.id)
        assert await locked("payments", payment_id)
    assert not await locked("submissions", application.id)
    assert not await locked("payments", payment_id)
    async with session_factory() as webhook, webhook.begin():
        assert await payments_service.lock_payment(webhook, str(uuid.uuid4())) is None
        assert await payments_service.lock_payment(webhook, "not-a-uuid") is None


async def test_a_refund_naming_only_the_intent_is_applied_while_the_intent_is_recorded(
    backend: Backend,
    stripe_api: httpx.AsyncClient,
    procedures: None,
    stripe_settings: Settings,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """A refund made in Stripe's dashboard names the PaymentIntent only. Delivered while
    the event that tells us the PaymentIntent is being handled (not committed yet), it
    is applied all the same: it waits for that delivery and then finds the payment."""
    if backend.name != "postgresql":
        pytest.skip("concurrent transactions: PostgreSQL only")
    application = await submit(stripe_api)
    payment_id = (await start_payment(stripe_api, application)).json()["payment_id"]
    checkout = await checkout_id(session_factory, payment_id)
    completed = fake.complete_card(checkout)
    refund_created = next(
        event
        for event in fake.refund_in_dashboard(fake.charge_of(checkout)["id"], 100)
        if event["type"] == "refund.created"
    )
    assert not refund_created["data"]["object"].get("metadata")  # found by its intent only
    provider = StripeCheckout(stripe_settings)
    now = datetime.now(UTC)

    def verified(event: dict[str, Any]) -> VerifiedEvent:
        return VerifiedEvent(event["id"], event["type"], event, event.get("livemode"))

    async def refund_meanwhile() -> str:
        async with session_factory() as session, session.begin():
            received = await webhooks.receive_event(
                session, provider, verified(refund_created), now=now
            )
        return received.outcome

    async with session_factory() as learning, learning.begin():
        for event in completed:
            await webhooks.receive_event(learning, provider, verified(event), now=now)
        refund = asyncio.create_task(refund_meanwhile())
        await asyncio.sleep(0.5)  # the refund is delivered before this commits
    assert await refund == "applied"
    payment = await stored_payment(session_factory, payment_id)
    assert (payment.status, payment.refunded_amount) == ("partially_refunded", 100)
