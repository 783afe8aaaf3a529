"""Refunds that cannot double and that follow the provider to the end: stored before the
provider is asked, retried after a lost answer without a second refund, failed refunds
giving their amount back (and shown to finance), konbini refunds waiting for the
citizen's bank account, a definite refusal, and settle-open finishing what was left."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.models import AuditEntry
from app.auth.staff_models import StaffRole, StaffUser
from app.auth.staff_service import StaffPrincipal
from app.config import Settings
from app.payments import service
from app.payments.__main__ import settle_open
from app.payments.providers import ProviderRegistry
from tests.fakes.stripe_server import FakeStripe
from tests.payments.conftest import Staff
from tests.payments.helpers import (
    checkout_id,
    deliver,
    paid_by_card,
    paid_session,
    refund_body,
    refunds_of,
    stored_payment,
    submit,
)

ALERTS = "/api/v1/admin/payment-alerts"


def _principal(member: StaffUser) -> StaffPrincipal:
    return StaffPrincipal(
        id=member.id,
        municipality_code=member.municipality_code,
        department=member.department,
        display_name=member.display_name,
        roles=frozenset(StaffRole(role) for role in member.roles),
        token_jti="test",
        token_expires_at=datetime.now(UTC) + timedelta(hours=1),
    )


def _refund_posts(fake: FakeStripe) -> list[str]:
    """The Idempotency-Key of every refund Stripe was asked for."""
    return [
        headers["Idempotency-Key"] for _, path, _, headers in fake.requests if path == "/v1/refunds"
    ]


async def test_a_refund_whose_commit_is_lost_is_retried_and_refunds_once(
    stripe_api: httpx.AsyncClient,
    stripe_settings: Settings,
    staff: Staff,
    as_staff: Any,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    _, payment_id = await paid_by_card(stripe_api, fake, session_factory)
    payment_uuid = (await stored_payment(session_factory, payment_id)).id
    finance = _principal(staff.finance)
    registry = ProviderRegistry(stripe_settings)
    try:
        async with session_factory() as session:
            refund = await service.request_refund(
                session,
                finance,
                payment_uuid,
                amount=200,
                reason="二重申請のため",
                expected_refundable_amount=600,
                now=datetime.now(UTC),
            )
            await session.commit()
            # Stripe makes the refund; then the commit that records its answer is lost.
            await service.send_refund(session, registry, refund.id, now=datetime.now(UTC))
            await session.rollback()
    finally:
        await registry.aclose()
    [stored] = await refunds_of(session_factory, payment_id)
    assert (stored.status, stored.provider_refund_id) == ("requested", None)
    assert len(fake.state.refunds) == 1
    # The refundable amount stays reserved while the refund is unsettled.
    assert (await stored_payment(session_factory, payment_id)).refundable_amount == 400

    # Finance sends the same request again: it finds the refund and asks Stripe again
    # under the same key, which answers with the refund it made.
    retried = await stripe_api.post(
        f"/api/v1/admin/payments/{payment_id}/refunds",
        json=refund_body(200, 600),
        headers=as_staff(staff.finance),
    )
    assert retried.status_code == 201, retried.text
    [shown] = retried.json()["refunds"]
    assert shown["id"] == str(stored.id) and shown["status"] == "succeeded"
    assert retried.json()["refunded_amount"] == 200
    assert len(fake.state.refunds) == 1
    assert _refund_posts(fake) == [f"refund-{stored.id}"] * 2
    charge = fake.charge_of(await checkout_id(session_factory, payment_id))
    assert charge["amount_refunded"] == 200
    [refund_row] = await refunds_of(session_factory, payment_id)
    assert refund_row.provider_refund_id == next(iter(fake.state.refunds))

    # Stripe's events about it count nothing twice.
    await deliver(stripe_api, fake.take_events())
    payment = await stored_payment(session_factory, payment_id)
    assert (payment.status, payment.refunded_amount) == ("partially_refunded", 200)
    async with session_factory() as session:
        audited = list(
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "payment.refund"))
        )
    assert len(audited) == 1


async def test_settle_open_sends_a_refund_whose_answer_was_lost(
    stripe_api: httpx.AsyncClient,
    stripe_settings: Settings,
    staff: Staff,
    as_staff: Any,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    _, payment_id = await paid_by_card(stripe_api, fake, session_factory)
    fake.fail_next(500, 500, 500)  # Stripe down for this request and its SDK retries
    failed = await stripe_api.post(
        f"/api/v1/admin/payments/{payment_id}/refunds",
        json=refund_body(600, 600),
        headers=as_staff(staff.finance),
    )
    assert failed.status_code == 502 and failed.json()["code"] == "PAYMENT_PROVIDER_UNAVAILABLE"
    [stored] = await refunds_of(session_factory, payment_id)
    assert stored.status == "requested" and fake.state.refunds == {}

    outcome = await settle_open(stripe_settings, now=datetime.now(UTC) + timedelta(minutes=5))
    assert outcome["refunds_settled"] == 1
    [settled] = await refunds_of(session_factory, payment_id)
    assert settled.status == "succeeded" and len(fake.state.refunds) == 1
    payment = await stored_payment(session_factory, payment_id)
    assert (payment.status, payment.refundable_amount) == ("refunded", 0)


async def test_a_failed_refund_restores_the_refundable_amount_and_alerts_finance(
    stripe_api: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    _, payment_id = await paid_by_card(stripe_api, fake, session_factory)
    finance = as_staff(staff.finance)
    url = f"/api/v1/admin/payments/{payment_id}/refunds"
    refunded = await stripe_api.post(url, json=refund_body(600, 600), headers=finance)
    assert refunded.status_code == 201 and refunded.json()["refundable_amount"] == 0
    await deliver(stripe_api, fake.take_events())

    [refund] = refunded.json()["refunds"]
    responses = await deliver(stripe_api, fake.refund_fails(refund["provider_refund_id"]))
    assert [r.json()["outcome"] for r in responses] == ["applied", "no_change"]

    detail = (await stripe_api.get(f"/api/v1/admin/payments/{payment_id}", headers=finance)).json()
    assert (detail["status"], detail["refunded_amount"], detail["refundable_amount"]) == (
        "succeeded",
        0,
        600,
    )
    assert detail["net_paid"] == 600
    [failed] = detail["refunds"]
    assert (failed["status"], failed["failure_reason"]) == ("failed", "expired_or_canceled_card")

    alerts = (await stripe_api.get(ALERTS, headers=finance)).json()
    [alert] = alerts["items"]
    assert (alert["kind"], alert["kind_ja"], alert["amount"]) == ("refund_failed", "返金失敗", 600)
    assert alert["payment_id"] == payment_id

    # Finance can refund again (to another card, by bank transfer...), from 600.
    again = await stripe_api.post(url, json=refund_body(600, 600, "口座へ再返金"), headers=finance)
    assert again.status_code == 201 and again.json()["status"] == "refunded"

    resolved = await stripe_api.post(
        f"{ALERTS}/{alert['id']}/resolve", json={"resolution": "再返金しました"}, headers=finance
    )
    assert resolved.status_code == 200 and resolved.json()["resolved_by"] == str(staff.finance.id)
    assert (await stripe_api.get(ALERTS, headers=finance)).json()["total"] == 0
    twice = await stripe_api.post(
        f"{ALERTS}/{alert['id']}/resolve", json={"resolution": "x"}, headers=finance
    )
    assert twice.status_code == 409 and twice.json()["code"] == "PAYMENT_ALERT_RESOLVED"
    other_city = await stripe_api.get(
        ALERTS, params={"resolved": "true"}, headers=as_staff(staff.ueda_finance)
    )
    assert other_city.json()["total"] == 0


async def test_a_refund_the_provider_refuses_fails_at_once(
    stripe_api: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    _, payment_id = await paid_by_card(stripe_api, fake, session_factory)
    # Refunded in Stripe's dashboard meanwhile, and we have not heard of it yet.
    charge = fake.charge_of(await checkout_id(session_factory, payment_id))
    fake.refund_in_dashboard(charge["id"], 600)
    response = await stripe_api.post(
        f"/api/v1/admin/payments/{payment_id}/refunds",
        json=refund_body(600, 600),
        headers=as_staff(staff.finance),
    )
    assert response.status_code == 201
    [refund] = response.json()["refunds"]
    assert (refund["status"], refund["failure_reason"]) == ("failed", "charge_already_refunded")
    assert response.json()["refundable_amount"] == 600
    # The dashboard refund's events then record it as the provider's.
    await deliver(stripe_api, fake.take_events())
    payment = await stored_payment(session_factory, payment_id)
    assert (payment.status, payment.refunded_amount) == ("refunded", 600)
    rows = await refunds_of(session_factory, payment_id)
    assert sorted((r.requested_by == "provider", r.status) for r in rows) == [
        (False, "failed"),
        (True, "succeeded"),
    ]


async def test_a_konbini_refund_waits_for_the_bank_account(
    stripe_api: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    application = await submit(stripe_api, copies=2)
    started = await paid_session(stripe_api, application)
    checkout = await checkout_id(session_factory, started["payment_id"])
    await deliver(stripe_api, fake.complete_konbini(checkout) + fake.konbini_paid(checkout))
    finance = as_staff(staff.finance)

    response = await stripe_api.post(
        f"/api/v1/admin/payments/{started['payment_id']}/refunds",
        json=refund_body(600, 600),
        headers=finance,
    )
    [refund] = response.json()["refunds"]
    assert refund["status"] == "requires_action"
    assert response.json()["refunded_amount"] == 600  # on its way: not refundable twice
    await deliver(stripe_api, fake.take_events())
    listed = (await stripe_api.get("/api/v1/admin/refunds", headers=finance)).json()
    assert [r["status"] for r in listed["items"]] == ["requires_action"]

    # The citizen names an account; Stripe pays it out.
    await deliver(stripe_api, fake.refund_succeeds(refund["provider_refund_id"]))
    [done] = await refunds_of(session_factory, started["payment_id"])
    assert done.status == "succeeded"
    payment = await stored_payment(session_factory, started["payment_id"])
    assert (payment.status, payment.net_paid) == ("refunded", 0)
