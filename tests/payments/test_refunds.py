"""Refunds (返金) by finance: full or partial, with a reason and the amount the caller
believes is still refundable; racing refunds cannot exceed what was paid; audited."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.models import AuditEntry
from tests.conftest import Backend
from tests.fakes.stripe_server import FakeStripe
from tests.payments.conftest import Staff
from tests.payments.helpers import (
    deliver,
    paid_session,
    refunds_of,
    stored_payment,
    submit,
)


async def _paid(
    api: httpx.AsyncClient,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
    copies: int = 2,
) -> str:
    """A card payment of copies x 300 yen, succeeded; its id."""
    application = await submit(api, copies=copies)
    started = await paid_session(api, application)
    payment = await stored_payment(session_factory, started["payment_id"])
    await deliver(api, fake.complete_card(str(payment.provider_checkout_id)))
    return str(started["payment_id"])


def _refund(amount: int, expected: int, reason: str = "二重申請のため") -> dict[str, Any]:
    return {"amount": amount, "reason": reason, "expected_refundable_amount": expected}


async def test_partial_then_full_refund(
    stripe_api: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    payment_id = await _paid(stripe_api, fake, session_factory)
    finance = as_staff(staff.finance)
    detail = await stripe_api.get(f"/api/v1/admin/payments/{payment_id}", headers=finance)
    assert detail.status_code == 200
    assert detail.json()["refundable_amount"] == 600 and detail.json()["status"] == "succeeded"

    partial = await stripe_api.post(
        f"/api/v1/admin/payments/{payment_id}/refunds", json=_refund(200, 600), headers=finance
    )
    assert partial.status_code == 201, partial.text
    body = partial.json()
    assert body["status"] == "partially_refunded"
    assert (body["refunded_amount"], body["refundable_amount"]) == (200, 400)
    [refund] = body["refunds"]
    assert refund["amount"] == 200 and refund["status"] == "succeeded"
    assert refund["reason"] == "二重申請のため"

    # Stripe was asked with our refund id as the idempotency key, and got no reason text.
    method, path, params, headers = fake.requests[-1]
    assert (method, path) == ("POST", "/v1/refunds")
    assert params["amount"] == "200"
    assert headers["Idempotency-Key"] == f"refund-{refund['id']}"
    assert params["metadata"] == {"refund_id": refund["id"], "payment_id": payment_id}

    rest = await stripe_api.post(
        f"/api/v1/admin/payments/{payment_id}/refunds", json=_refund(400, 400), headers=finance
    )
    assert rest.status_code == 201
    assert rest.json()["status"] == "refunded" and rest.json()["refundable_amount"] == 0
    assert (
        fake.charge_of(
            str((await stored_payment(session_factory, payment_id)).provider_checkout_id)
        )["amount_refunded"]
        == 600
    )

    # Stripe's own events about these refunds count nothing twice.
    await deliver(stripe_api, fake.take_events())
    payment = await stored_payment(session_factory, payment_id)
    assert (payment.status, payment.refunded_amount) == ("refunded", 600)

    async with session_factory() as session:
        audited = list(
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "payment.refund"))
        )
    assert [entry.details["amount"] for entry in audited] == [200, 400]
    assert {entry.actor_id for entry in audited} == {str(staff.finance.id)}
    assert audited[0].reason == "二重申請のため"

    listed = await stripe_api.get("/api/v1/admin/refunds", headers=finance)
    assert listed.json()["total"] == 2


async def test_a_stale_refundable_amount_and_impossible_amounts_are_refused(
    stripe_api: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    payment_id = await _paid(stripe_api, fake, session_factory)
    finance = as_staff(staff.finance)
    url = f"/api/v1/admin/payments/{payment_id}/refunds"

    stale = await stripe_api.post(url, json=_refund(100, 500), headers=finance)
    assert stale.status_code == 409
    assert stale.json()["code"] == "REFUNDABLE_AMOUNT_CHANGED"
    assert stale.json()["refundable_amount"] == 600

    too_much = await stripe_api.post(url, json=_refund(700, 600), headers=finance)
    assert too_much.status_code == 422 and too_much.json()["code"] == "REFUND_AMOUNT_INVALID"
    no_reason = await stripe_api.post(url, json=_refund(100, 600, reason=""), headers=finance)
    assert no_reason.status_code == 422
    assert await refunds_of(session_factory, payment_id) == []
    assert not [r for r in fake.requests if r[1] == "/v1/refunds"]


async def test_who_may_refund_what(
    stripe_api: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    payment_id = await _paid(stripe_api, fake, session_factory)
    url = f"/api/v1/admin/payments/{payment_id}/refunds"
    reviewer = await stripe_api.post(url, json=_refund(100, 600), headers=as_staff(staff.reviewer))
    assert reviewer.status_code == 403
    other_city = await stripe_api.post(
        url, json=_refund(100, 600), headers=as_staff(staff.ueda_finance)
    )
    assert other_city.status_code == 404 and other_city.json()["code"] == "PAYMENT_NOT_FOUND"

    unpaid = await paid_session(stripe_api, await submit(stripe_api))
    not_yet = await stripe_api.post(
        f"/api/v1/admin/payments/{unpaid['payment_id']}/refunds",
        json=_refund(100, 600),
        headers=as_staff(staff.finance),
    )
    assert not_yet.status_code == 409 and not_yet.json()["code"] == "PAYMENT_NOT_REFUNDABLE"


async def test_racing_refunds_cannot_exceed_what_was_paid(
    backend: Backend,
    stripe_api: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    if backend.name != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL's row locks")
    payment_id = await _paid(stripe_api, fake, session_factory)
    finance = as_staff(staff.finance)
    url = f"/api/v1/admin/payments/{payment_id}/refunds"
    # Both saw 600 refundable; each asks for 400: together more than was paid.
    first, second = await asyncio.gather(
        stripe_api.post(url, json=_refund(400, 600, "一件目"), headers=finance),
        stripe_api.post(url, json=_refund(400, 600, "二件目"), headers=finance),
    )
    assert sorted([first.status_code, second.status_code]) == [201, 409]
    refused = first if first.status_code == 409 else second
    assert refused.json()["code"] == "REFUNDABLE_AMOUNT_CHANGED"
    assert refused.json()["refundable_amount"] == 200

    payment = await stored_payment(session_factory, payment_id)
    assert (payment.refunded_amount, payment.status) == (400, "partially_refunded")
    assert len(await refunds_of(session_factory, payment_id)) == 1
    assert len([r for r in fake.requests if r[1] == "/v1/refunds"]) == 1
