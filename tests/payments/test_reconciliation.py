"""Reconciliation (消込) of a Stripe payout: every kind of discrepancy seeded into the fake
is found, totals are Stripe's own figures, and the report opens in Excel."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.models import AuditEntry
from app.db import utcnow
from app.payments.reconciliation.models import BalanceTransaction
from app.payments.reconciliation.service import CSV_HEADER, ItemKind
from tests.factories import UEDA
from tests.fakes.stripe_server import FakeStripe
from tests.payments.conftest import Staff
from tests.payments.helpers import (
    Application,
    checkout_id,
    deliver,
    paid_by_card,
    paid_session,
    refund_body,
    submit,
)
from tests.submissions.helpers import Clock

RUNS = "/api/v1/admin/reconciliation/runs"


@dataclass(frozen=True)
class Seeded:
    payout_id: str
    matched: Application
    """Paid 600 by card, 200 refunded through us."""
    mismatched: Application
    """300 due, Stripe charged 350; 100 refunded in Stripe's dashboard."""
    unpaid_out: Application
    """Paid 900 ten days ago, in no payout."""
    ueda: Application
    unknown_charge: str
    payment_ids: dict[str, str]


async def _pay(
    api: httpx.AsyncClient,
    fake: FakeStripe,
    factory: async_sessionmaker[AsyncSession],
    application: Application,
    charged_amount: int | None = None,
) -> str:
    started = await paid_session(api, application)
    checkout = await checkout_id(factory, started["payment_id"])
    await deliver(api, fake.complete_card(checkout, charged_amount=charged_amount))
    return str(started["payment_id"])


async def _seed(
    api: httpx.AsyncClient,
    fake: FakeStripe,
    factory: async_sessionmaker[AsyncSession],
    clock: Clock,
    staff: Staff,
    as_staff: Any,
) -> Seeded:
    matched = await submit(api, copies=2)
    mismatched = await submit(api, copies=1)
    unpaid_out = await submit(api, copies=3)
    ueda = await submit(api, copies=1, municipality=UEDA)
    ids = {
        "matched": await _pay(api, fake, factory, matched),
        "mismatched": await _pay(api, fake, factory, mismatched, charged_amount=350),
        "ueda": await _pay(api, fake, factory, ueda),
    }
    clock.moment = utcnow() - timedelta(days=10)
    fake.set_time(clock.moment)
    ids["unpaid_out"] = await _pay(api, fake, factory, unpaid_out)
    clock.moment = None
    fake.set_time(None)

    refund = await api.post(
        f"/api/v1/admin/payments/{ids['matched']}/refunds",
        json={"amount": 200, "reason": "一部取下げ", "expected_refundable_amount": 600},
        headers=as_staff(staff.finance),
    )
    assert refund.status_code == 201, refund.text
    mismatched_charge = fake.charge_of(await checkout_id(factory, ids["mismatched"]))["id"]
    fake.refund_in_dashboard(mismatched_charge, 100)
    unknown_charge = fake.add_unknown_charge(5000)
    fake.add_fee_adjustment(500)
    unpaid_charge = fake.charge_of(await checkout_id(factory, ids["unpaid_out"]))["id"]
    payout_id, _ = fake.create_payout(exclude_sources=(unpaid_charge,))
    await deliver(api, fake.take_events())
    return Seeded(payout_id, matched, mismatched, unpaid_out, ueda, unknown_charge, ids)


async def test_a_payout_run_finds_every_kind_of_discrepancy(
    stripe_api: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    fake: FakeStripe,
    clock: Clock,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    seeded = await _seed(stripe_api, fake, session_factory, clock, staff, as_staff)
    finance = as_staff(staff.finance)
    created = await stripe_api.post(RUNS, json={"payout_id": seeded.payout_id}, headers=finance)
    assert created.status_code == 201, created.text
    run = created.json()
    assert created.headers["location"] == f"{RUNS}/{run['id']}"
    assert run["counts"] == {
        **{kind.value: 0 for kind in ItemKind},
        # The charge and the refund of `matched`; the refund made in Stripe's dashboard,
        # which the refund.created webhook recorded.
        "matched": 3,
        "amount_mismatch": 1,
        "unknown_to_us": 1,
        "not_in_payout": 1,
        "other": 1,
    }
    assert run["payout_amount"] == fake.state.payouts[seeded.payout_id]["amount"]

    # Totals are the sums of Stripe's own figures over 東御市's (and unattributed) lines.
    ueda_charge = fake.charge_of(await checkout_id(session_factory, seeded.payment_ids["ueda"]))
    counted = [
        txn
        for txn in fake.state.balance
        if txn["_payout"] == seeded.payout_id
        and txn["type"] != "payout"
        and txn["source"] != ueda_charge["id"]
    ]
    assert run["totals"] == {
        "gross": sum(txn["amount"] for txn in counted),
        "fee": sum(txn["fee"] for txn in counted),
        "net": sum(txn["net"] for txn in counted),
    }
    assert run["transaction_count"] == len(counted) == 6

    report = await stripe_api.get(f"{RUNS}/{run['id']}", headers=finance)
    items = report.json()["items"]
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_kind.setdefault(item["kind"], []).append(item)
    [mismatch] = by_kind["amount_mismatch"]
    assert (mismatch["amount"], mismatch["expected_amount"]) == (350, 300)
    assert mismatch["reference_number"] == seeded.mismatched.reference_number
    assert {item["transaction_type"] for item in by_kind["matched"]} == {"charge", "refund"}
    [dashboard] = [i for i in by_kind["matched"] if i["note"] and "管理画面" in i["note"]]
    assert (dashboard["amount"], dashboard["reference_number"]) == (
        -100,
        seeded.mismatched.reference_number,
    )
    matched_charge = next(i for i in by_kind["matched"] if i["transaction_type"] == "charge")
    assert matched_charge["payment_id"] == seeded.payment_ids["matched"]
    assert {item["source_id"] for item in by_kind["unknown_to_us"]} >= {seeded.unknown_charge}
    [unpaid] = by_kind["not_in_payout"]
    assert unpaid["reference_number"] == seeded.unpaid_out.reference_number
    assert unpaid["expected_amount"] == 900 and unpaid["amount"] is None
    assert all(item["reference_number"] != seeded.ueda.reference_number for item in items)

    only = await stripe_api.get(
        f"{RUNS}/{run['id']}", params={"kind": "not_in_payout"}, headers=finance
    )
    assert only.json()["items_total"] == 1

    # Stored: the payout's balance transactions, matched to our payments.
    async with session_factory() as session:
        stored = list(
            await session.scalars(
                select(BalanceTransaction).where(
                    BalanceTransaction.provider_payout_id == seeded.payout_id
                )
            )
        )
        audited = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "reconciliation.run")
        )
    assert len(stored) == 8  # 6 above, 上田市's charge, and the payout itself
    assert sum(1 for txn in stored if txn.payment_id is not None) == 5
    assert audited is not None and audited.target_id == run["id"]
    assert audited.details["counts"] == run["counts"]

    # A later date-range run meets the same transactions: they stay in their payout.
    now = utcnow()
    again = await stripe_api.post(
        RUNS,
        json={
            "created_from": (now - timedelta(days=30)).isoformat(),
            "created_to": (now + timedelta(hours=1)).isoformat(),
        },
        headers=finance,
    )
    assert again.status_code == 201
    async with session_factory() as session:
        still = await session.scalar(
            select(func.count())
            .select_from(BalanceTransaction)
            .where(BalanceTransaction.provider_payout_id == seeded.payout_id)
        )
    assert still == 8


async def test_the_csv_opens_in_excel(
    stripe_api: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    fake: FakeStripe,
    clock: Clock,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    seeded = await _seed(stripe_api, fake, session_factory, clock, staff, as_staff)
    finance = as_staff(staff.finance)
    run = (
        await stripe_api.post(RUNS, json={"payout_id": seeded.payout_id}, headers=finance)
    ).json()
    response = await stripe_api.get(f"{RUNS}/{run['id']}/report.csv", headers=finance)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["content-disposition"]
    raw = response.content
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    text = raw[3:].decode("utf-8")
    assert text.count("\r\n") == text.count("\n") == 1 + 7  # CRLF only: header + 7 lines
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_HEADER
    assert rows[0][:3] == ["状態", "受付番号", "決済ID"]
    mismatch = next(row for row in rows if row[0] == "金額不一致")
    assert mismatch[1] == seeded.mismatched.reference_number
    assert (mismatch[6], mismatch[9]) == ("350", "300")  # 金額, 当方記録額: integer yen
    assert int(mismatch[7]) == 13 and int(mismatch[8]) == 337  # 手数料, 入金額 from Stripe
    assert {row[0] for row in rows[1:]} == {
        "照合済み",
        "金額不一致",
        "当方記録なし",
        "未入金",
        "その他",
    }


async def test_a_date_range_run_and_each_municipality_sees_its_own(
    stripe_api: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    fake: FakeStripe,
    clock: Clock,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    seeded = await _seed(stripe_api, fake, session_factory, clock, staff, as_staff)
    now = utcnow()
    by_range = await stripe_api.post(
        RUNS,
        json={
            "created_from": (now - timedelta(hours=1)).isoformat(),
            "created_to": (now + timedelta(hours=1)).isoformat(),
        },
        headers=as_staff(staff.finance),
    )
    assert by_range.status_code == 201, by_range.text
    assert by_range.json()["counts"]["amount_mismatch"] == 1
    assert by_range.json()["payout_id"] is None

    ueda = as_staff(staff.ueda_finance)
    ueda_run = await stripe_api.post(RUNS, json={"payout_id": seeded.payout_id}, headers=ueda)
    assert ueda_run.json()["counts"] == {
        **{kind.value: 0 for kind in ItemKind},
        "matched": 1,  # 上田市's own charge
        "amount_mismatch": 0,
        "unknown_to_us": 1,  # the unattributed charge is shown to each municipality
        "not_in_payout": 0,
        "other": 1,
    }
    # Runs belong to their municipality.
    tomi_runs = await stripe_api.get(RUNS, headers=as_staff(staff.finance))
    assert tomi_runs.json()["total"] == 1
    hidden = await stripe_api.get(f"{RUNS}/{by_range.json()['id']}", headers=ueda)
    assert hidden.status_code == 404
    hidden_csv = await stripe_api.get(f"{RUNS}/{by_range.json()['id']}/report.csv", headers=ueda)
    assert hidden_csv.status_code == 404


async def test_runs_need_finance_a_scope_and_stripe(
    stripe_api: httpx.AsyncClient,
    demo_api: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
) -> None:
    reviewer = await stripe_api.post(
        RUNS, json={"payout_id": "po_x"}, headers=as_staff(staff.reviewer)
    )
    assert reviewer.status_code == 403
    finance = as_staff(staff.finance)
    for body in ({}, {"payout_id": "po_x", "created_from": "2026-04-01T00:00:00+09:00"}):
        invalid = await stripe_api.post(RUNS, json=body, headers=finance)
        assert invalid.status_code == 422
        assert invalid.json()["code"] == "RECONCILIATION_SCOPE_INVALID"
    missing = await stripe_api.post(RUNS, json={"payout_id": "po_missing"}, headers=finance)
    assert missing.status_code == 502
    demo = await demo_api.post(RUNS, json={"payout_id": "po_x"}, headers=finance)
    assert demo.status_code == 409 and demo.json()["code"] == "RECONCILIATION_UNAVAILABLE"


async def test_refunds_disputes_and_unowed_money_have_kinds_of_their_own(
    stripe_api: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """Not その他: a refund that failed, a konbini refund waiting for an account, a dispute
    (withdrawal, then the reversal when won; another lost), money received for a payment
    we had closed. Every yen of the payout is on a line."""
    finance = as_staff(staff.finance)

    async def refund(payment_id: str, amount: int, expected: int) -> dict[str, Any]:
        response = await stripe_api.post(
            f"/api/v1/admin/payments/{payment_id}/refunds",
            json=refund_body(amount, expected),
            headers=finance,
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    _, failing = await paid_by_card(stripe_api, fake, session_factory)
    [failed_refund] = (await refund(failing, 600, 600))["refunds"]
    fake.refund_fails(failed_refund["provider_refund_id"])

    konbini = await submit(stripe_api, copies=1)
    started = await paid_session(stripe_api, konbini)
    konbini_checkout = await checkout_id(session_factory, started["payment_id"])
    await deliver(
        stripe_api, fake.complete_konbini(konbini_checkout) + fake.konbini_paid(konbini_checkout)
    )
    await refund(started["payment_id"], 300, 300)  # requires_action at Stripe

    _, won = await paid_by_card(stripe_api, fake, session_factory, copies=1)
    won_dispute = fake.dispute(fake.charge_of(await checkout_id(session_factory, won))["id"])
    fake.close_dispute(won_dispute[0]["data"]["object"]["id"], won=True)
    _, lost = await paid_by_card(stripe_api, fake, session_factory, copies=1)
    lost_dispute = fake.dispute(fake.charge_of(await checkout_id(session_factory, lost))["id"])
    fake.close_dispute(lost_dispute[0]["data"]["object"]["id"], won=False)

    late = await submit(stripe_api, copies=1)
    late_started = await paid_session(stripe_api, late)
    late_checkout = await checkout_id(session_factory, late_started["payment_id"])
    voucher = fake.complete_konbini(late_checkout)
    expired = {**voucher[0], "id": "evt_closed_first", "type": "checkout.session.expired"}
    await deliver(stripe_api, [expired])
    fake.konbini_paid(late_checkout)

    payout_id, _ = fake.create_payout()
    await deliver(stripe_api, fake.take_events())
    run = (await stripe_api.post(RUNS, json={"payout_id": payout_id}, headers=finance)).json()
    assert run["counts"] == {
        **{kind.value: 0 for kind in ItemKind},
        # failing's, konbini's, won's, lost's charges
        "matched": 4,
        "refund_failed": 2,  # the refund line of the refund that failed, and its return
        "refund_pending": 1,  # konbini: waiting for the citizen's bank account
        "dispute": 2,  # both withdrawals
        "dispute_reversal": 1,  # the won one's money back
        "received_not_due": 1,
    }
    assert run["counts"]["other"] == 0
    payout_amount = fake.state.payouts[payout_id]["amount"]
    assert run["totals"]["net"] == payout_amount == run["payout_amount"]

    items = (await stripe_api.get(f"{RUNS}/{run['id']}", headers=finance)).json()["items"]
    [not_due] = [i for i in items if i["kind"] == "received_not_due"]
    assert (not_due["reference_number"], not_due["amount"]) == (late.reference_number, 300)
    disputes = sorted(i["note"] for i in items if i["kind"] == "dispute")
    assert disputes == ["異議申立ての状態: lost", "異議申立ての状態: won"]
    csv_text = (await stripe_api.get(f"{RUNS}/{run['id']}/report.csv", headers=finance)).text
    for label in ("返金失敗", "返金手続中", "異議申立て", "異議申立て勝訴", "入金済・請求なし"):
        assert f"\r\n{label}," in csv_text


async def test_the_csv_keeps_refunds_negative_and_provider_text_inert(
    stripe_api: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """Issue 15: text from the provider that a spreadsheet would run is written as text;
    a refund or a fee stays a negative number that Excel can sum."""
    paid = await _pay(stripe_api, fake, session_factory, await submit(stripe_api, copies=2))
    finance = as_staff(staff.finance)
    refund = await stripe_api.post(
        f"/api/v1/admin/payments/{paid}/refunds",
        json={"amount": 200, "reason": "一部取下げ", "expected_refundable_amount": 600},
        headers=finance,
    )
    assert refund.status_code == 201, refund.text
    fake.add_fee_adjustment(500, type_='=cmd|" /C calc"!A0')
    payout_id, _ = fake.create_payout()
    await deliver(stripe_api, fake.take_events())
    run = (await stripe_api.post(RUNS, json={"payout_id": payout_id}, headers=finance)).json()
    response = await stripe_api.get(f"{RUNS}/{run['id']}/report.csv", headers=finance)
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    other = next(row for row in rows if row[0] == "その他")
    assert (other[4], other[6], other[8]) == ('\'=cmd|" /C calc"!A0', "-500", "-500")
    refunded = next(row for row in rows[1:] if row[6] == "-200")
    assert refunded[0] == "照合済み"
