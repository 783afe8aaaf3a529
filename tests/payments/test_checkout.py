"""Paying an application through Stripe Checkout (the fake): card, konbini pending then
paid or failed, expiry and a new attempt, the amount the server alone decides, and the
provider's failures."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.municipalities.models import Municipality
from app.payments.models import Payment
from tests.conftest import Backend
from tests.factories import TOMI
from tests.fakes.stripe_server import FakeStripe
from tests.payments.helpers import (
    checkout_id,
    count,
    deliver,
    paid_session,
    start_payment,
    stored_payment,
    submission_status,
    submit,
    timeline,
)

PROBLEM = "application/problem+json"


async def test_card_payment_moves_the_application_to_paid(
    stripe_api: httpx.AsyncClient,
    procedures: None,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    application = await submit(stripe_api, copies=2)
    assert await submission_status(session_factory, application.id) == "awaiting_payment"

    started = await paid_session(stripe_api, application)
    assert started["status"] == "created"
    assert started["amount"] == 600 and started["currency"] == "JPY"
    assert started["reference_number"] == application.reference_number
    payment = await stored_payment(session_factory, started["payment_id"])
    assert started["redirect_url"] == f"{fake.base_url}/c/pay/{payment.provider_checkout_id}"

    # What Stripe was asked for: JPY lines from the fee breakdown, our ids, an expiry.
    session = fake.session(str(payment.provider_checkout_id))
    assert session["amount_total"] == 600
    method, path, params, headers = fake.requests[0]
    assert (method, path) == ("POST", "/v1/checkout/sessions")
    assert params["line_items"] == [
        {
            "price_data": {
                "currency": "jpy",
                "unit_amount": "300",
                "product_data": {"name": "交付手数料"},
            },
            "quantity": "2",
        }
    ]
    ours = {
        "payment_id": started["payment_id"],
        "submission_id": application.id,
        "reference_number": application.reference_number,
        "municipality_code": TOMI,
    }
    assert params["metadata"] == ours
    assert params["payment_intent_data"]["metadata"] == ours
    assert params["allowed_payment_method_types"] == ["card"]
    assert params["success_url"].endswith(f"result=success#/s/{application.id}")
    assert int(params["expires_at"]) == int(payment.expires_at.timestamp())
    assert headers["Idempotency-Key"] == f"payment-{started['payment_id']}-checkout"

    # Asking again returns the open payment, without a second checkout session.
    again = await start_payment(stripe_api, application)
    assert again.status_code == 200
    assert again.json()["payment_id"] == started["payment_id"]
    assert len(fake.state.sessions) == 1

    responses = await deliver(stripe_api, fake.complete_card(str(payment.provider_checkout_id)))
    assert [r.json()["outcome"] for r in responses] == ["applied"]

    payment = await stored_payment(session_factory, started["payment_id"])
    assert payment.status == "succeeded" and payment.paid_at is not None
    assert payment.provider_payment_intent_id is not None
    assert await submission_status(session_factory, application.id) == "paid"
    assert (await timeline(session_factory, application.id))[-2:] == ["awaiting_payment", "paid"]

    shown = await stripe_api.get(
        f"/api/v1/submissions/{application.id}/payment", headers=application.headers
    )
    assert shown.json()["status"] == "succeeded" and shown.json()["redirect_url"] is None
    # Paid: nothing left to pay.
    after = await start_payment(stripe_api, application)
    assert after.status_code == 409 and after.json()["code"] == "NOTHING_TO_PAY"


async def test_the_client_cannot_change_the_amount(
    stripe_api: httpx.AsyncClient,
    procedures: None,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    application = await submit(stripe_api, copies=3)
    response = await start_payment(
        stripe_api, application, {"amount": 1, "currency": "usd", "fee": {"total": 1}}
    )
    assert response.status_code == 201
    assert response.json()["amount"] == 900
    payment = await stored_payment(session_factory, response.json()["payment_id"])
    assert payment.amount == 900
    assert fake.session(str(payment.provider_checkout_id))["amount_total"] == 900


async def test_konbini_stays_pending_until_paid_at_the_store(
    stripe_api: httpx.AsyncClient,
    procedures: None,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    application = await submit(stripe_api)
    started = await paid_session(stripe_api, application)
    checkout = await checkout_id(session_factory, started["payment_id"])

    completed, requires_action = fake.complete_konbini(checkout)
    await deliver(stripe_api, [completed])
    assert (await stored_payment(session_factory, started["payment_id"])).status == "pending"
    assert await submission_status(session_factory, application.id) == "awaiting_payment"
    # While the voucher is out, asking to pay shows the pending payment, no new one.
    again = await start_payment(stripe_api, application)
    assert again.status_code == 200 and again.json()["status"] == "pending"

    # The PaymentIntent's voucher reaches the citizen's status page: 払込番号 and deadline.
    await deliver(stripe_api, [requires_action])
    details = requires_action["data"]["object"]["next_action"]["konbini_display_details"]
    shown = await stripe_api.get(
        f"/api/v1/submissions/{application.id}/payment", headers=application.headers
    )
    voucher = shown.json()["voucher"]
    assert voucher["payment_code"] == details["stores"]["lawson"]["payment_code"]
    assert voucher["stores"]["familymart"] == details["stores"]["familymart"]
    assert voucher["hosted_voucher_url"] == details["hosted_voucher_url"]
    assert datetime.fromisoformat(voucher["expires_at"]).timestamp() == details["expires_at"]

    await deliver(stripe_api, fake.konbini_paid(checkout))
    assert (await stored_payment(session_factory, started["payment_id"])).status == "succeeded"
    assert await submission_status(session_factory, application.id) == "paid"
    shown = await stripe_api.get(
        f"/api/v1/submissions/{application.id}/payment", headers=application.headers
    )
    assert shown.json()["voucher"] is None


async def test_a_voucher_announced_before_the_session_completes_is_kept(
    stripe_api: httpx.AsyncClient,
    procedures: None,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    application = await submit(stripe_api)
    started = await paid_session(stripe_api, application)
    checkout = await checkout_id(session_factory, started["payment_id"])
    completed, requires_action = fake.complete_konbini(checkout)
    responses = await deliver(stripe_api, [requires_action, completed])
    assert [r.json()["outcome"] for r in responses] == ["applied", "no_change"]
    payment = await stored_payment(session_factory, started["payment_id"])
    assert payment.status == "pending" and payment.voucher is not None


async def test_a_lapsed_konbini_voucher_fails_and_can_be_paid_again(
    stripe_api: httpx.AsyncClient,
    procedures: None,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    application = await submit(stripe_api)
    first = await paid_session(stripe_api, application)
    checkout = await checkout_id(session_factory, first["payment_id"])
    await deliver(stripe_api, fake.complete_konbini(checkout))
    await deliver(stripe_api, fake.konbini_failed(checkout))

    failed = await stored_payment(session_factory, first["payment_id"])
    assert failed.status == "failed" and failed.closed_at is not None
    assert await submission_status(session_factory, application.id) == "awaiting_payment"

    second = await paid_session(stripe_api, application)
    assert second["payment_id"] != first["payment_id"] and second["status"] == "created"
    retry = await stored_payment(session_factory, second["payment_id"])
    await deliver(stripe_api, fake.complete_card(str(retry.provider_checkout_id)))
    assert await submission_status(session_factory, application.id) == "paid"


async def test_an_expired_checkout_can_be_started_again(
    stripe_api: httpx.AsyncClient,
    procedures: None,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    application = await submit(stripe_api)
    first = await paid_session(stripe_api, application)
    checkout = await checkout_id(session_factory, first["payment_id"])
    await deliver(stripe_api, fake.expire(checkout))
    expired = await stored_payment(session_factory, first["payment_id"])
    assert expired.status == "expired" and expired.redirect_url is None

    second = await paid_session(stripe_api, application)
    assert second["payment_id"] != first["payment_id"]
    retry = await stored_payment(session_factory, second["payment_id"])
    assert retry.provider_checkout_id != checkout
    await deliver(stripe_api, fake.complete_card(str(retry.provider_checkout_id)))
    assert await submission_status(session_factory, application.id) == "paid"
    assert (await stored_payment(session_factory, first["payment_id"])).status == "expired"


async def test_retried_network_errors_open_one_session_and_a_down_provider_stores_nothing(
    stripe_api: httpx.AsyncClient,
    procedures: None,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    application = await submit(stripe_api)
    fake.fail_next(500)
    started = await paid_session(stripe_api, application)
    keys = {headers["Idempotency-Key"] for _, _, _, headers in fake.requests}
    assert len(fake.requests) == 2 and keys == {f"payment-{started['payment_id']}-checkout"}
    assert len(fake.state.sessions) == 1

    other = await submit(stripe_api)
    fake.fail_next(500, 500, 500)  # the first try and both retries
    down = await start_payment(stripe_api, other)
    assert down.status_code == 502
    assert down.headers["content-type"].startswith(PROBLEM)
    assert down.json()["code"] == "PAYMENT_PROVIDER_UNAVAILABLE"
    assert await count(session_factory, Payment) == 1  # only the first application's


async def test_payment_methods_follow_the_municipality(
    stripe_api: httpx.AsyncClient,
    procedures: None,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session, session.begin():
        await session.execute(
            update(Municipality)
            .where(Municipality.code == TOMI)
            .values(settings={"payment_method_types": ["card", "konbini", "paypay"]})
        )
    application = await submit(stripe_api, copies=1)  # 300 yen: konbini takes 120 and up
    await paid_session(stripe_api, application)
    params = fake.requests[-1][2]
    assert params["allowed_payment_method_types"] == ["card", "konbini", "paypay"]
    assert params["payment_method_options"] == {"konbini": {"expires_after_days": "3"}}


async def test_only_the_owner_pays_and_only_what_awaits_payment(
    stripe_api: httpx.AsyncClient, procedures: None
) -> None:
    application = await submit(stripe_api)
    anonymous = await stripe_api.post(f"/api/v1/submissions/{application.id}/payment")
    assert anonymous.status_code == 401
    stranger = await stripe_api.post(
        f"/api/v1/submissions/{application.id}/payment",
        headers={"Authorization": "Bearer sat_not-the-owner"},
    )
    assert stranger.status_code == 404 and stranger.json()["code"] == "SUBMISSION_NOT_FOUND"
    unknown = await stripe_api.post(
        f"/api/v1/submissions/{uuid.uuid4()}/payment", headers=application.headers
    )
    assert unknown.status_code == 404

    draft = await stripe_api.post(
        f"/api/v1/municipalities/{TOMI}/procedures/test-certificate/submissions",
        json={"answers": {"copies": 1, "requester": "self"}},
    )
    body = draft.json()
    refused = await stripe_api.post(
        f"/api/v1/submissions/{body['id']}/payment",
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert refused.status_code == 409 and refused.json()["code"] == "NOTHING_TO_PAY"
    none_yet = await stripe_api.get(
        f"/api/v1/submissions/{body['id']}/payment",
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert none_yet.status_code == 404 and none_yet.json()["code"] == "PAYMENT_NOT_FOUND"


async def test_concurrent_starts_open_one_checkout(
    backend: Backend,
    stripe_api: httpx.AsyncClient,
    procedures: None,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    if backend.name != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL's row locks")
    application = await submit(stripe_api)
    responses = await asyncio.gather(*(start_payment(stripe_api, application) for _ in range(6)))
    assert sorted(r.status_code for r in responses) == [200] * 5 + [201]
    assert len({r.json()["payment_id"] for r in responses}) == 1
    assert len(fake.state.sessions) == 1
    assert await count(session_factory, Payment) == 1
