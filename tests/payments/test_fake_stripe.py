"""The fake Stripe refuses what Stripe refuses, with Stripe's error shape, so a request
our code sends that Stripe would turn down fails here first. The official SDK talks to
it over HTTP; each refusal is read back as the SDK raises it and as the JSON it got."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import stripe

from app.payments.providers.stripe_checkout import checkout_expiry
from tests.fakes.stripe_server import API_KEY, FakeStripe


@pytest.fixture
async def client(fake: FakeStripe) -> AsyncIterator[stripe.StripeClient]:
    http = stripe.HTTPXClient()
    yield stripe.StripeClient(
        API_KEY,
        base_addresses={"api": fake.base_url},  # type: ignore[typeddict-item]
        max_network_retries=0,
        http_client=http,
    )
    await http.close_async()  # type: ignore[no-untyped-call]


def _session(fake: FakeStripe, **changes: Any) -> dict[str, Any]:
    """A Checkout Session request as our provider sends it, with `changes` applied."""
    params: dict[str, Any] = {
        "mode": "payment",
        "currency": "jpy",
        "line_items": [
            {
                "price_data": {
                    "currency": "jpy",
                    "unit_amount": 300,
                    "product_data": {"name": "交付手数料"},
                },
                "quantity": 2,
            }
        ],
        "allowed_payment_method_types": ["card", "konbini"],
        "metadata": {"payment_id": "p-1"},
        "payment_intent_data": {"metadata": {"payment_id": "p-1"}},
        "expires_at": fake.now() + 3600,
        "success_url": "https://example.jp/ok",
        "cancel_url": "https://example.jp/cancel",
        "payment_method_options": {"konbini": {"expires_after_days": 3}},
    }
    params.update(changes)
    return params


async def _refused(
    client: stripe.StripeClient, params: dict[str, Any], *, key: str | None = None
) -> stripe.InvalidRequestError:
    options = {"idempotency_key": key} if key else {}
    with pytest.raises(stripe.InvalidRequestError) as refused:
        await client.v1.checkout.sessions.create_async(params, options)  # type: ignore[arg-type]
    error = refused.value
    # Stripe's error shape, as the SDK received it.
    assert error.http_status == 400
    assert error.json_body is not None
    body = error.json_body["error"]
    assert body["type"] == "invalid_request_error"
    assert body["message"] and body["code"] == error.code
    return error


BAD_REQUESTS: list[tuple[str, dict[str, Any], str, str | None]] = [
    # (what, changes, Stripe's code, the param it names)
    (
        "a parameter this API version does not have",
        {"payment_method_types": ["card"]},
        "parameter_unknown",
        "payment_method_types",
    ),
    (
        "an unknown nested parameter",
        {
            "line_items": [
                {"price_data": {"currency": "jpy", "unit_amount": 300, "name": "x"}, "quantity": 1}
            ]
        },
        "parameter_unknown",
        "line_items[0][price_data][name]",
    ),
    (
        "a payment method type Stripe does not know",
        {"allowed_payment_method_types": ["card", "cash"]},
        "parameter_invalid_string",
        "allowed_payment_method_types[1]",
    ),
    (
        "less than the JPY minimum of 50 yen",
        {
            "line_items": [
                {
                    "price_data": {
                        "currency": "jpy",
                        "unit_amount": 49,
                        "product_data": {"name": "x"},
                    },
                    "quantity": 1,
                }
            ],
            "allowed_payment_method_types": ["card"],
        },
        "amount_too_small",
        "line_items",
    ),
    (
        "konbini for less than 120 yen",
        {
            "line_items": [
                {
                    "price_data": {
                        "currency": "jpy",
                        "unit_amount": 100,
                        "product_data": {"name": "x"},
                    },
                    "quantity": 1,
                }
            ]
        },
        "amount_too_small",
        "allowed_payment_method_types",
    ),
    (
        "konbini for more than 300,000 yen",
        {
            "line_items": [
                {
                    "price_data": {
                        "currency": "jpy",
                        "unit_amount": 300_001,
                        "product_data": {"name": "x"},
                    },
                    "quantity": 1,
                }
            ]
        },
        "amount_too_large",
        "allowed_payment_method_types",
    ),
    (
        "a konbini voucher valid for more than 60 days",
        {"payment_method_options": {"konbini": {"expires_after_days": 61}}},
        "parameter_invalid_integer",
        "payment_method_options[konbini][expires_after_days]",
    ),
    (
        "a konbini voucher valid for 0 days",
        {"payment_method_options": {"konbini": {"expires_after_days": 0}}},
        "parameter_invalid_integer",
        "payment_method_options[konbini][expires_after_days]",
    ),
    (
        "51 metadata keys",
        {"metadata": {f"k{index}": "v" for index in range(51)}},
        "parameter_invalid_object",
        "metadata",
    ),
    (
        "a metadata key of 41 characters",
        {"payment_intent_data": {"metadata": {"k" * 41: "v"}}},
        "parameter_invalid_string",
        f"payment_intent_data[metadata][{'k' * 41}]",
    ),
    (
        "a metadata value of 501 characters",
        {"metadata": {"note": "あ" * 501}},
        "parameter_invalid_string",
        "metadata[note]",
    ),
]


@pytest.mark.parametrize(
    ("changes", "code", "param"),
    [pytest.param(c, code, p, id=what) for what, c, code, p in BAD_REQUESTS],
)
async def test_the_fake_refuses_what_stripe_refuses(
    client: stripe.StripeClient,
    fake: FakeStripe,
    changes: dict[str, Any],
    code: str,
    param: str | None,
) -> None:
    error = await _refused(client, _session(fake, **changes))
    assert (error.code, error.param) == (code, param)
    assert fake.state.sessions == {}


async def test_the_limits_themselves_are_accepted(
    client: stripe.StripeClient, fake: FakeStripe
) -> None:
    """50 metadata keys, a 40-character key, a 500-character value, 60 days, 120 yen."""
    metadata = {f"k{index}": "v" for index in range(48)} | {"k" * 40: "v", "note": "あ" * 500}
    session = await client.v1.checkout.sessions.create_async(
        _session(  # type: ignore[arg-type]
            fake,
            metadata=metadata,
            payment_method_options={"konbini": {"expires_after_days": 60}},
            line_items=[
                {
                    "price_data": {
                        "currency": "jpy",
                        "unit_amount": 120,
                        "product_data": {"name": "x"},
                    },
                    "quantity": 1,
                }
            ],
        )
    )
    assert session.amount_total == 120
    assert len(session.to_dict()["metadata"]) == 50


@pytest.mark.parametrize(
    ("after", "accepted"),
    [
        (timedelta(minutes=29, seconds=59), False),
        (timedelta(minutes=30), True),
        (timedelta(hours=24), True),
        (timedelta(hours=24, seconds=1), False),
    ],
)
async def test_expiry_must_fall_between_30_minutes_and_24_hours(
    client: stripe.StripeClient, fake: FakeStripe, after: timedelta, accepted: bool
) -> None:
    fake.set_time(datetime(2026, 12, 1, 3, 0, tzinfo=UTC))
    params = _session(fake, expires_at=fake.now() + int(after.total_seconds()))
    if accepted:
        await client.v1.checkout.sessions.create_async(params)  # type: ignore[arg-type]
    else:
        error = await _refused(client, params)
        assert (error.code, error.param) == ("parameter_invalid_integer", "expires_at")


@pytest.mark.parametrize(
    "asked", [timedelta(minutes=30), timedelta(minutes=1), timedelta(hours=24), timedelta(days=3)]
)
def test_our_expiry_keeps_a_margin_inside_stripes_bounds(asked: timedelta) -> None:
    now = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    sent = checkout_expiry(now + asked, now)
    assert now + timedelta(minutes=35) <= sent <= now + timedelta(hours=23, minutes=55)


async def test_sessions_expire_by_time(client: stripe.StripeClient, fake: FakeStripe) -> None:
    start = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    fake.set_time(start)
    session = await client.v1.checkout.sessions.create_async(
        _session(fake, expires_at=fake.now() + 3600)  # type: ignore[arg-type]
    )
    fake.set_time(start + timedelta(minutes=59))
    assert (await client.v1.checkout.sessions.retrieve_async(session.id)).status == "open"
    fake.take_events()

    fake.set_time(start + timedelta(hours=1))
    assert (await client.v1.checkout.sessions.retrieve_async(session.id)).status == "expired"
    [event] = fake.take_events()
    assert event["type"] == "checkout.session.expired"
    assert event["data"]["object"]["id"] == session.id
    # An expired page cannot be paid any more.
    with pytest.raises(AssertionError):
        fake.complete_card(session.id)


async def test_idempotency_keys_replay_for_24_hours_then_expire(
    client: stripe.StripeClient, fake: FakeStripe
) -> None:
    start = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    fake.set_time(start)
    first = await client.v1.checkout.sessions.create_async(
        _session(fake),
        {"idempotency_key": "payment-x-checkout"},  # type: ignore[arg-type]
    )
    again = await client.v1.checkout.sessions.create_async(
        _session(fake, expires_at=first.expires_at),  # type: ignore[arg-type]
        {"idempotency_key": "payment-x-checkout"},
    )
    assert again.id == first.id and len(fake.state.sessions) == 1
    assert again.last_response is not None
    assert again.last_response.headers.get("Idempotent-Replayed") == "true"

    # Other parameters under the same key, within 24 hours: refused.
    fake.set_time(start + timedelta(hours=23, minutes=59))
    with pytest.raises(stripe.IdempotencyError):
        await client.v1.checkout.sessions.create_async(
            _session(fake),
            {"idempotency_key": "payment-x-checkout"},  # type: ignore[arg-type]
        )

    # After 24 hours the key is forgotten: the same key makes a new session.
    fake.set_time(start + timedelta(hours=24))
    later = await client.v1.checkout.sessions.create_async(
        _session(fake),
        {"idempotency_key": "payment-x-checkout"},  # type: ignore[arg-type]
    )
    assert later.id != first.id and len(fake.state.sessions) == 2


async def test_a_refused_request_leaves_nothing_under_its_key(
    client: stripe.StripeClient, fake: FakeStripe
) -> None:
    await _refused(client, _session(fake, payment_method_types=["card"]), key="payment-y")
    session = await client.v1.checkout.sessions.create_async(
        _session(fake),
        {"idempotency_key": "payment-y"},  # type: ignore[arg-type]
    )
    assert session.status == "open"


async def test_an_unknown_refund_parameter_is_refused(
    client: stripe.StripeClient, fake: FakeStripe
) -> None:
    charge = fake.add_unknown_charge(500)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        await client.v1.refunds.create_async(
            {"charge": charge, "amount": 100, "note": "x"}  # type: ignore[typeddict-unknown-key]
        )
    assert (refused.value.code, refused.value.param) == ("parameter_unknown", "note")
    assert fake.state.refunds == {}


async def test_errors_have_stripes_shape_on_the_wire(fake: FakeStripe) -> None:
    async with httpx.AsyncClient(base_url=fake.base_url) as http:
        response = await http.post(
            "/v1/checkout/sessions",
            data={"mode": "payment", "bogus": "1"},
            headers={"Authorization": f"Bearer {API_KEY}"},
        )
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "type": "invalid_request_error",
            "code": "parameter_unknown",
            "message": "Received unknown parameter: bogus",
            "param": "bogus",
        }
    }
