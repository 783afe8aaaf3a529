"""Property: whatever the sequence of fee changes (resubmissions, fees fixed again,
withdrawal), payments (card, konbini), refunds (confirmed, failed) and webhook orders
(shuffled, duplicated), the balance is the fee owed less what Stripe says was paid, the
application's state explains it, and a reconciliation run reports every yen of it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.payments.models import Payment
from app.payments.reconciliation.models import ReconciliationItem
from tests.fakes.stripe_server import FakeStripe
from tests.payments.conftest import Staff
from tests.payments.helpers import (
    AFTER_REVIEW,
    ON_SUBMIT,
    Application,
    checkout_id,
    deliver,
    paid_session,
    submit,
)
from tests.payments.test_balance import balance, fix_fee, staff_action

STEPS = st.tuples(
    st.sampled_from(["card", "konbini", None]),  # how an amount due is paid first (None: not)
    st.one_of(
        st.tuples(st.just("change_fee"), st.integers(min_value=1, max_value=6)),
        st.tuples(st.just("confirm_refunds"), st.booleans()),  # True: Stripe fails one after
        st.tuples(st.just("withdraw"), st.none()),
    ),
)
REPORTED_KINDS = {"matched", "received_not_due", "refund_pending", "refund_failed"}


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    procedure=st.sampled_from([ON_SUBMIT, AFTER_REVIEW]),
    copies=st.integers(min_value=1, max_value=6),
    program=st.lists(STEPS, min_size=1, max_size=7),
    data=st.data(),
)
async def test_any_sequence_ends_with_a_balance_that_stripe_and_reconciliation_confirm(
    procedure: str,
    copies: int,
    program: list[tuple[str | None, tuple[str, Any]]],
    data: st.DataObject,
    stripe_api: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    started_at = datetime.now(UTC) - timedelta(minutes=1)
    reviewer, finance = as_staff(staff.reviewer), as_staff(staff.finance)
    api = stripe_api
    fake.take_events()  # another example's leftovers

    async def deliver_shuffled() -> None:
        """Everything Stripe has to say, in an order (and with repeats) drawn."""
        events = fake.take_events()
        if not events:
            return
        order = data.draw(st.permutations(events))
        repeats = data.draw(st.lists(st.sampled_from(events), max_size=2))
        for response in await deliver(api, [*order, *repeats]):
            assert response.status_code == 200, response.text

    async def status() -> str:
        response = await api.get(f"/api/v1/submissions/{app.id}", headers=app.headers)
        return str(response.json()["status"])

    app: Application = await submit(api, copies=copies, procedure=procedure)
    if procedure == AFTER_REVIEW:
        await staff_action(api, reviewer, app, "start_review")
        assert (await fix_fee(api, reviewer, app, copies)).status_code == 200

    for method, (kind, argument) in program:
        current = await status()
        if current == "withdrawn":
            break
        if current == "awaiting_payment" and method is not None:
            started = await paid_session(api, app)
            session_id = await checkout_id(session_factory, started["payment_id"])
            if method == "card":
                fake.complete_card(session_id)
            else:
                fake.complete_konbini(session_id)
                fake.konbini_paid(session_id)
            await deliver_shuffled()
            current = await status()
        if current == "paid":
            await staff_action(api, reviewer, app, "start_review")
            current = "in_review"
        if kind == "change_fee" and current in ("in_review", "resubmitted"):
            if procedure == AFTER_REVIEW:
                fixed = await fix_fee(api, reviewer, app, argument)
                assert fixed.status_code == 200, fixed.text
            elif current == "in_review":
                await staff_action(api, reviewer, app, "return", "通数の確認")
                url = f"/api/v1/submissions/{app.id}"
                answers = {"copies": argument, "requester": "self"}
                await api.patch(url, json={"answers": answers}, headers=app.headers)
                resubmitted = await api.post(f"{url}/submit", headers=app.headers)
                assert resubmitted.status_code == 200, resubmitted.text
        elif kind == "confirm_refunds":
            proposed = await api.get(
                "/api/v1/admin/refunds", params={"status": "proposed"}, headers=finance
            )
            for refund in proposed.json()["items"]:
                if refund["payment_id"] not in await _payment_ids(session_factory, app):
                    continue
                confirmed = await api.post(
                    f"/api/v1/admin/refunds/{refund['id']}/confirm", headers=finance
                )
                assert confirmed.status_code == 200, confirmed.text
                provider_id = confirmed.json()["provider_refund_id"]
                if argument and fake.refund(provider_id)["status"] != "failed":
                    fake.refund_fails(provider_id)
            await deliver_shuffled()
        elif kind == "withdraw":
            withdrawn = await api.post(
                f"/api/v1/submissions/{app.id}/withdraw", headers=app.headers
            )
            assert withdrawn.status_code == 200, withdrawn.text
            await deliver_shuffled()
    await deliver_shuffled()

    shown = await balance(api, app)
    final = await status()
    fee = (await api.get(f"/api/v1/submissions/{app.id}", headers=app.headers)).json()["fee"]
    # The fee owed: the application's fee, nothing once withdrawn.
    assert shown["fee"] == (0 if final == "withdrawn" else fee["total"])
    # What Stripe holds for the application is what the balance says was paid.
    held = 0
    for payment_id in await _payment_ids(session_factory, app):
        checkout = await checkout_id(session_factory, payment_id)
        if (
            fake.session(checkout).get("payment_intent")
            and fake.session(checkout)["payment_status"] == "paid"
        ):
            charge = fake.charge_of(checkout)
            held += charge["amount"] - charge["amount_refunded"]
    assert shown["net_paid"] + shown["not_due"] == held
    assert shown["due"] == shown["fee"] - shown["net_paid"]
    # The state explains the balance: more to pay means waiting for exactly that; money
    # to give back is on offer for finance, to the yen.
    if shown["due"] > 0:
        assert final == "awaiting_payment"
        if shown["open_payment"] is not None:
            assert shown["open_payment"]["amount"] == shown["due"]
    assert shown["refund_proposed"] == shown["to_refund"]

    # Reconciliation reports every yen of it, each line with a kind of its own.
    run = await api.post(
        "/api/v1/admin/reconciliation/runs",
        json={
            "created_from": started_at.isoformat(),
            "created_to": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
        },
        headers=finance,
    )
    assert run.status_code in (200, 201), run.text
    ours = await _payment_ids(session_factory, app)
    async with session_factory() as session:
        items = list(
            await session.scalars(
                select(ReconciliationItem).where(
                    ReconciliationItem.run_id == uuid.UUID(run.json()["id"]),
                    ReconciliationItem.payment_id.in_([uuid.UUID(p) for p in ours]),
                )
            )
        )
    assert {item.kind for item in items} <= REPORTED_KINDS
    assert sum(item.amount or 0 for item in items) == held


async def _payment_ids(factory: async_sessionmaker[AsyncSession], app: Application) -> list[str]:
    async with factory() as session:
        rows = await session.scalars(
            select(Payment.id).where(Payment.submission_id == uuid.UUID(app.id))
        )
        return [str(row) for row in rows]
