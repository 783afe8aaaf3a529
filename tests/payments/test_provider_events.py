"""Provider plugins behind one webhook route, and events that must not settle: every
claim of an event (checkout session, amount, currency, provider, live or test mode) is
checked against the stored payment first. Disputes through closed won or lost, and money
that arrives for a payment we had closed."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.models import AuditEntry
from app.payments.models import Payment
from tests.fakes.stripe_server import FakeStripe, signed_delivery
from tests.payments.conftest import Staff
from tests.payments.helpers import (
    checkout_id,
    deliver,
    inbox,
    paid_by_card,
    paid_session,
    stored_payment,
    submission_status,
    submit,
)

ALERTS = "/api/v1/admin/payment-alerts"


async def test_unknown_provider_and_the_demo_webhook_are_404_problems(
    stripe_api: httpx.AsyncClient, procedures: None
) -> None:
    payload, headers = signed_delivery({"id": "evt_1", "type": "checkout.session.completed"})
    unknown = await stripe_api.post(
        "/api/v1/payments/paypal/webhook", content=payload, headers=headers
    )
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert unknown.json()["code"] == "PAYMENT_PROVIDER_NOT_FOUND"
    demo = await stripe_api.post("/api/v1/payments/demo/webhook", content=payload, headers=headers)
    assert demo.status_code == 404 and demo.json()["code"] == "WEBHOOK_NOT_CONFIGURED"


def _forged(event: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The same event, signed with our secret, with the session's fields changed."""
    forged = copy.deepcopy(event)
    forged["id"] = f"{event['id']}_forged"
    for key, value in changes.items():
        if key == "livemode":
            forged["livemode"] = value
        else:
            forged["data"]["object"][key] = value
    return forged


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount_total": 1, "currency": "usd"}, "amount"),  # 1 USD for a 600 yen fee
        ({"amount_total": 100}, "amount"),
        ({"currency": "usd"}, "currency"),
        ({"id": "cs_test_someone_elses"}, "checkout_id"),
        ({"livemode": True}, "livemode"),
    ],
)
async def test_a_mismatched_webhook_never_settles_and_alerts_finance(
    stripe_api: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
    changes: dict[str, Any],
    field: str,
) -> None:
    application = await submit(stripe_api, copies=2)
    started = await paid_session(stripe_api, application)
    [completed] = fake.complete_card(await checkout_id(session_factory, started["payment_id"]))

    [response] = await deliver(stripe_api, [_forged(completed, **changes)])
    assert response.status_code == 200 and response.json()["outcome"] == "mismatch"
    assert (await stored_payment(session_factory, started["payment_id"])).status == "created"
    assert await submission_status(session_factory, application.id) == "awaiting_payment"

    finance = as_staff(staff.finance)
    [alert] = (await stripe_api.get(ALERTS, headers=finance)).json()["items"]
    assert alert["kind"] == "webhook_mismatch" and alert["payment_id"] == started["payment_id"]
    assert field in alert["details"]["differences"]
    assert alert["reference_number"] == application.reference_number
    async with session_factory() as session:
        audited = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "payment.alert.webhook_mismatch")
        )
    assert audited is not None and audited.target_id == started["payment_id"]
    [stored] = [e for e in await inbox(session_factory) if e.event_id.endswith("_forged")]
    assert stored.outcome == "mismatch"

    # The genuine event still settles it.
    [genuine] = await deliver(stripe_api, [completed])
    assert genuine.json()["outcome"] == "applied"
    assert await submission_status(session_factory, application.id) == "paid"


async def test_a_stripe_event_naming_a_demo_payment_is_a_mismatch(
    stripe_api: httpx.AsyncClient,
    procedures: None,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    application = await submit(stripe_api, copies=1)
    started = await paid_session(stripe_api, application)
    async with session_factory() as session, session.begin():
        await session.execute(
            update(Payment)
            .where(Payment.id == uuid.UUID(started["payment_id"]))
            .values(provider="demo")
        )
    event = {
        "id": "evt_other_provider",
        "object": "event",
        "type": "checkout.session.async_payment_succeeded",
        "livemode": False,
        "data": {
            "object": {
                "id": (
                    await stored_payment(session_factory, started["payment_id"])
                ).provider_checkout_id,
                "object": "checkout.session",
                "amount_total": 300,
                "currency": "jpy",
                "metadata": {"payment_id": started["payment_id"]},
            }
        },
    }
    [response] = await deliver(stripe_api, [event])
    assert response.json()["outcome"] == "mismatch"
    assert (await stored_payment(session_factory, started["payment_id"])).status == "created"


async def test_a_dispute_won_returns_the_payment_as_it_was(
    stripe_api: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    _, payment_id = await paid_by_card(stripe_api, fake, session_factory)
    charge = fake.charge_of(await checkout_id(session_factory, payment_id))
    opened = fake.dispute(charge["id"])
    dispute_id = opened[0]["data"]["object"]["id"]
    events = (
        opened + fake.dispute_under_review(dispute_id) + fake.close_dispute(dispute_id, won=True)
    )
    # Delivered backwards: the closing event first.
    await deliver(stripe_api, list(reversed(events)))
    payment = await stored_payment(session_factory, payment_id)
    assert (payment.status, payment.dispute_status, payment.net_paid) == ("succeeded", "won", 600)

    finance = as_staff(staff.finance)
    detail = (await stripe_api.get(f"/api/v1/admin/payments/{payment_id}", headers=finance)).json()
    assert (detail["dispute_status"], detail["dispute_amount"]) == ("won", 600)
    # Closing first means the dispute was never seen open: no "respond to it" alert.
    kinds = [a["kind"] for a in (await stripe_api.get(ALERTS, headers=finance)).json()["items"]]
    assert kinds == []


async def test_a_dispute_open_then_lost_alerts_finance_and_takes_the_money(
    stripe_api: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    _, payment_id = await paid_by_card(stripe_api, fake, session_factory)
    charge = fake.charge_of(await checkout_id(session_factory, payment_id))
    opened = fake.dispute(charge["id"])
    await deliver(stripe_api, opened)
    payment = await stored_payment(session_factory, payment_id)
    assert (payment.status, payment.dispute_status) == ("disputed", "needs_response")
    finance = as_staff(staff.finance)
    refused = await stripe_api.post(
        f"/api/v1/admin/payments/{payment_id}/refunds",
        json={"amount": 100, "reason": "x", "expected_refundable_amount": 600},
        headers=finance,
    )
    assert refused.status_code == 409 and refused.json()["code"] == "PAYMENT_NOT_REFUNDABLE"

    await deliver(stripe_api, fake.close_dispute(opened[0]["data"]["object"]["id"], won=False))
    payment = await stored_payment(session_factory, payment_id)
    assert (payment.status, payment.dispute_status, payment.net_paid) == ("dispute_lost", "lost", 0)
    kinds = [a["kind"] for a in (await stripe_api.get(ALERTS, headers=finance)).json()["items"]]
    assert sorted(kinds) == ["dispute_lost", "dispute_opened"]


async def test_money_for_an_expired_payment_is_received_but_not_due(
    stripe_api: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """A konbini voucher paid after we had already closed the payment."""
    application = await submit(stripe_api, copies=2)
    started = await paid_session(stripe_api, application)
    checkout = await checkout_id(session_factory, started["payment_id"])
    voucher = fake.complete_konbini(checkout)
    paid = fake.konbini_paid(checkout)
    expired = {**voucher[0], "id": "evt_expired", "type": "checkout.session.expired"}
    await deliver(stripe_api, [expired])
    assert (await stored_payment(session_factory, started["payment_id"])).status == "expired"

    await deliver(stripe_api, voucher + paid)
    payment = await stored_payment(session_factory, started["payment_id"])
    assert (payment.status, payment.net_paid) == ("succeeded", 600)
    # The application is not moved: this money was not asked for.
    assert await submission_status(session_factory, application.id) == "awaiting_payment"
    finance = as_staff(staff.finance)
    alerts = (await stripe_api.get(ALERTS, headers=finance)).json()["items"]
    assert sorted((a["kind"], a["kind_ja"], a["amount"]) for a in alerts) == [
        ("received_not_due", "入金済・請求なし", 600),
        ("refund_to_confirm", "返金確認待ち（過払い）", 600),
    ]
    # It pays no fee: the application still owes 600 yen, and the 600 received is
    # offered back.
    balance = (
        await stripe_api.get(f"/api/v1/submissions/{application.id}/balance", **_as(application))
    ).json()
    assert (balance["due"], balance["not_due"], balance["refund_proposed"]) == (600, 600, 600)
    # Finance may refund it by hand instead: the proposal is withdrawn.
    refund = await stripe_api.post(
        f"/api/v1/admin/payments/{started['payment_id']}/refunds",
        json={"amount": 600, "reason": "期限切れ後の入金", "expected_refundable_amount": 600},
        headers=finance,
    )
    assert refund.status_code == 201
    statuses = sorted(r["status"] for r in refund.json()["refunds"])
    assert statuses == ["canceled", "requires_action"]  # konbini: waits for an account
    balance = (
        await stripe_api.get(f"/api/v1/submissions/{application.id}/balance", **_as(application))
    ).json()
    assert (balance["due"], balance["not_due"], balance["refund_proposed"]) == (600, 0, 0)


def _as(application: Any) -> dict[str, Any]:
    return {"headers": application.headers}
