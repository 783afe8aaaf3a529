"""One balance per application: the money follows the fee through resubmission, a fee
fixed again after review, and withdrawal. Each scenario runs on SQLite and PostgreSQL
and ends, at approval, with net paid equal to the fee."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.municipalities.models import Municipality
from app.payments.__main__ import settle_open
from app.submissions.models import SubmissionEvent
from tests.factories import TOMI, publish_definition, simple_definition
from tests.fakes.stripe_server import FakeStripe
from tests.payments.conftest import Staff
from tests.payments.helpers import (
    AFTER_REVIEW,
    Application,
    checkout_id,
    deliver,
    paid_by_card,
    paid_session,
    refund_body,
    start_payment,
    stored_payment,
    submit,
)

BULKY = "bulky-waste-lite"
"""粗大ごみ: per item category (布団 300, ソファ 1,500, ベッド 2,000 yen), paid on submit."""
ALERTS = "/api/v1/admin/payment-alerts"


def bulky_definition() -> dict[str, Any]:
    return simple_definition(
        BULKY,
        title={"ja": "粗大ごみ戸別収集の申込み", "en": "Bulky waste collection"},
        fee_rules=[
            {
                "kind": "per_option",
                "key": "disposal_fee",
                "label": {"ja": "粗大ごみ処理手数料", "en": "Disposal fee"},
                "option_field": "items.category",
                "quantity_field": "quantity",
                "unit": {"ja": "点", "en": "item"},
                "prices": {"futon": 300, "sofa_multi": 1500, "bed_large": 2000},
            }
        ],
        steps=[
            {
                "key": "items_step",
                "title": {"ja": "品目", "en": "Items"},
                "fields": [
                    {
                        "key": "items",
                        "type": "group",
                        "label": {"ja": "品目", "en": "Items"},
                        "required": True,
                        "min_items": 1,
                        "max_items": 10,
                        "fields": [
                            {
                                "key": "category",
                                "type": "select",
                                "label": {"ja": "区分", "en": "Category"},
                                "required": True,
                                "options": [
                                    {"value": v, "label": {"ja": v, "en": v}}
                                    for v in ("futon", "sofa_multi", "bed_large")
                                ],
                            },
                            {
                                "key": "quantity",
                                "type": "integer",
                                "label": {"ja": "数量", "en": "Quantity"},
                                "required": True,
                                "minimum": 1,
                                "maximum": 10,
                            },
                        ],
                    }
                ],
            }
        ],
    )


def items(**counts: int) -> dict[str, Any]:
    return {"items": [{"category": key, "quantity": n} for key, n in counts.items()]}


async def staff_action(
    api: httpx.AsyncClient,
    headers: dict[str, str],
    application: Application,
    action: str,
    comment: str | None = None,
) -> httpx.Response:
    url = f"/api/v1/admin/submissions/{application.id}"
    etag = (await api.get(url, headers=headers)).headers["etag"]
    body: dict[str, Any] = {"action": action}
    if comment is not None:
        body["message" if action == "return" else "comment"] = comment
    return await api.post(f"{url}/transitions", json=body, headers={**headers, "If-Match": etag})


async def fix_fee(
    api: httpx.AsyncClient, headers: dict[str, str], application: Application, copies: int
) -> httpx.Response:
    url = f"/api/v1/admin/submissions/{application.id}"
    etag = (await api.get(url, headers=headers)).headers["etag"]
    return await api.post(
        f"{url}/fee", json={"quantities": {"copies": copies}}, headers={**headers, "If-Match": etag}
    )


async def balance(api: httpx.AsyncClient, application: Application) -> dict[str, Any]:
    response = await api.get(
        f"/api/v1/submissions/{application.id}/balance", headers=application.headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def submit_bulky(
    api: httpx.AsyncClient, answers: dict[str, Any]
) -> tuple[Application, dict[str, Any]]:
    """A bulky-waste application submitted at once: the citizen's handle and the receipt."""
    created = await api.post(
        f"/api/v1/municipalities/{TOMI}/procedures/{BULKY}/submissions",
        json={"answers": answers, "submit": True},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    return Application(body["id"], body["access_token"], body["reference_number"]), body


async def pay_by_card(
    api: httpx.AsyncClient,
    fake: FakeStripe,
    factory: async_sessionmaker[AsyncSession],
    application: Application,
) -> dict[str, Any]:
    started = await paid_session(api, application)
    await deliver(api, fake.complete_card(await checkout_id(factory, started["payment_id"])))
    return started


async def approved_with_paid_amount(
    factory: async_sessionmaker[AsyncSession], application: Application
) -> tuple[int | None, int | None]:
    """The approval event's fee and net paid amount."""
    async with factory() as session:
        event = await session.scalar(
            select(SubmissionEvent).where(
                SubmissionEvent.submission_id == uuid.UUID(application.id),
                SubmissionEvent.to_status == "approved",
            )
        )
    assert event is not None
    return event.fee_total, event.paid_amount


async def returned_and_resubmitted(
    api: httpx.AsyncClient,
    reviewer: dict[str, str],
    application: Application,
    answers: dict[str, Any],
    message: str,
) -> str:
    """Staff return the application with `message`; the citizen saves `answers` and
    submits again. The status it is in then."""
    await staff_action(api, reviewer, application, "start_review")
    returned = await staff_action(api, reviewer, application, "return", message)
    assert returned.status_code == 200, returned.text
    edited = await api.patch(
        f"/api/v1/submissions/{application.id}",
        json={"answers": answers},
        headers=application.headers,
    )
    assert edited.status_code == 200, edited.text
    resubmitted = await api.post(
        f"/api/v1/submissions/{application.id}/submit", headers=application.headers
    )
    assert resubmitted.status_code == 200, resubmitted.text
    status: str = resubmitted.json()["status"]
    return status


async def confirm_proposed_refunds(
    api: httpx.AsyncClient, finance: dict[str, str], amount: int
) -> list[dict[str, Any]]:
    """Finance confirms every refund proposed, `amount` in all (each payment its part);
    the refunds confirmed."""
    proposed: list[dict[str, Any]] = (
        await api.get("/api/v1/admin/refunds?status=proposed", headers=finance)
    ).json()["items"]
    assert sum(refund["amount"] for refund in proposed) == amount
    for refund in proposed:
        confirmed = await api.post(f"/api/v1/admin/refunds/{refund['id']}/confirm", headers=finance)
        assert confirmed.json()["status"] == "succeeded", confirmed.text
    return proposed


async def withdrawn_and_refunded(
    api: httpx.AsyncClient, finance: dict[str, str], application: Application, rest: int
) -> list[dict[str, Any]]:
    """The citizen withdraws; finance confirms the refunds of the `rest` paid: nothing
    is owed, paid or proposed any more. The refunds confirmed."""
    withdrawn = await api.post(
        f"/api/v1/submissions/{application.id}/withdraw", headers=application.headers
    )
    assert withdrawn.status_code == 200, withdrawn.text
    refunds = await confirm_proposed_refunds(api, finance, rest)
    shown = await balance(api, application)
    assert (shown["fee"], shown["net_paid"], shown["due"], shown["refund_proposed"]) == (
        0,
        0,
        0,
        0,
    )
    return refunds


async def charges_at_stripe(
    api: httpx.AsyncClient,
    finance: dict[str, str],
    fake: FakeStripe,
    factory: async_sessionmaker[AsyncSession],
    application: Application,
) -> list[dict[str, Any]]:
    """The Stripe charge of every payment of the application, as Stripe holds it."""
    listed = await api.get(
        "/api/v1/admin/payments", params={"submission_id": application.id}, headers=finance
    )
    return [
        fake.charge_of(str((await stored_payment(factory, p["id"])).provider_checkout_id))
        for p in listed.json()["items"]
    ]


async def test_a_resubmission_that_costs_more_asks_for_exactly_the_difference(
    stripe_api: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """Issue 13's first scenario: 1 futon paid (300 yen), returned, resubmitted as 5
    sofas and 5 beds (17,500 yen). Before, the fee changed and nothing more was asked."""
    await publish_definition(session_factory, TOMI, bulky_definition())
    reviewer = as_staff(staff.reviewer)
    application, body = await submit_bulky(stripe_api, items(futon=1))
    assert (body["status"], body["fee"]["total"]) == ("awaiting_payment", 300)
    await pay_by_card(stripe_api, fake, session_factory, application)
    assert (await staff_action(stripe_api, reviewer, application, "start_review")).is_success
    returned = await staff_action(
        stripe_api, reviewer, application, "return", "品目をご確認ください"
    )
    assert returned.is_success, returned.text

    edited = await stripe_api.patch(
        f"/api/v1/submissions/{application.id}",
        json={"answers": items(sofa_multi=5, bed_large=5)},
        headers=application.headers,
    )
    assert edited.status_code == 200, edited.text
    resubmitted = await stripe_api.post(
        f"/api/v1/submissions/{application.id}/submit", headers=application.headers
    )
    assert resubmitted.status_code == 200, resubmitted.text
    assert resubmitted.json()["status"] == "awaiting_payment"
    assert resubmitted.json()["fee"]["total"] == 17_500
    shown = await balance(stripe_api, application)
    assert (shown["fee"], shown["paid"], shown["net_paid"], shown["due"]) == (
        17_500,
        300,
        300,
        17_200,
    )
    # The status page says the same, with the timeline showing why.
    status = (
        await stripe_api.get(f"/api/v1/submissions/{application.id}", headers=application.headers)
    ).json()
    assert status["balance"]["due"] == 17_200
    assert [entry["to"] for entry in status["timeline"]][-2:] == ["resubmitted", "awaiting_payment"]

    # Staff cannot approve it meanwhile.
    early = await staff_action(stripe_api, reviewer, application, "approve")
    assert early.status_code == 409

    started = await paid_session(stripe_api, application)
    assert started["amount"] == 17_200
    session = fake.session(await checkout_id(session_factory, started["payment_id"]))
    assert session["amount_total"] == 17_200
    await deliver(stripe_api, fake.complete_card(session["id"]))
    assert (await staff_action(stripe_api, reviewer, application, "start_review")).is_success
    approved = await staff_action(stripe_api, reviewer, application, "approve")
    assert approved.status_code == 200, approved.text

    assert await approved_with_paid_amount(session_factory, application) == (17_500, 17_500)
    finance = as_staff(staff.finance)
    listed = await stripe_api.get(
        "/api/v1/admin/payments", params={"submission_id": application.id}, headers=finance
    )
    assert sorted(p["amount"] for p in listed.json()["items"]) == [300, 17_200]
    staff_view = await stripe_api.get(
        f"/api/v1/admin/submissions/{application.id}/balance", headers=finance
    )
    assert (staff_view.json()["fee"], staff_view.json()["due"]) == (17_500, 0)


async def test_a_resubmission_that_costs_less_offers_the_difference_back(
    stripe_api: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """A lowered fee was never refunded nor flagged: now finance is asked to confirm the
    refund of exactly the difference, and a retried confirmation refunds once."""
    await publish_definition(session_factory, TOMI, bulky_definition())
    reviewer, finance = as_staff(staff.reviewer), as_staff(staff.finance)
    application, _ = await submit_bulky(stripe_api, items(sofa_multi=2))
    await pay_by_card(stripe_api, fake, session_factory, application)
    await staff_action(stripe_api, reviewer, application, "start_review")
    await staff_action(stripe_api, reviewer, application, "return", "1点のみ収集できます")
    await stripe_api.patch(
        f"/api/v1/submissions/{application.id}",
        json={"answers": items(futon=1)},
        headers=application.headers,
    )
    resubmitted = await stripe_api.post(
        f"/api/v1/submissions/{application.id}/submit", headers=application.headers
    )
    assert resubmitted.json()["status"] == "resubmitted"
    shown = await balance(stripe_api, application)
    assert (shown["fee"], shown["net_paid"], shown["due"], shown["refund_proposed"]) == (
        300,
        3_000,
        -2_700,
        2_700,
    )
    [alert] = (await stripe_api.get(ALERTS, headers=finance)).json()["items"]
    assert (alert["kind"], alert["amount"]) == ("refund_to_confirm", 2_700)
    [proposed] = (
        await stripe_api.get("/api/v1/admin/refunds?status=proposed", headers=finance)
    ).json()["items"]
    assert proposed["amount"] == 2_700

    url = f"/api/v1/admin/refunds/{proposed['id']}/confirm"
    fake.fail_next(500, 500, 500)  # Stripe's answer is lost: the refund stays requested
    lost = await stripe_api.post(url, headers=finance)
    assert lost.status_code == 502, lost.text
    confirmed = await stripe_api.post(url, headers=finance)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "succeeded"
    again = await stripe_api.post(url, headers=finance)
    assert again.status_code == 200 and again.json()["status"] == "succeeded"
    charge = fake.charge_of(
        str((await stored_payment(session_factory, proposed["payment_id"])).provider_checkout_id)
    )
    assert charge["amount_refunded"] == 2_700  # once
    assert (await stripe_api.get(ALERTS, headers=finance)).json()["items"] == []  # done

    await staff_action(stripe_api, reviewer, application, "start_review")
    approved = await staff_action(stripe_api, reviewer, application, "approve")
    assert approved.status_code == 200, approved.text
    assert await approved_with_paid_amount(session_factory, application) == (300, 300)
    shown = await balance(stripe_api, application)
    assert (shown["net_paid"], shown["due"], shown["refund_proposed"]) == (300, 0, 0)


async def test_a_fee_fixed_again_after_review_charges_only_the_difference(
    stripe_api: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """Issue 13's second scenario: 900 yen paid for 3 copies, staff re-fix to 4 copies:
    the citizen is asked for 300 yen, not 1,200 (2,100 in all). Fixed again at 2 copies,
    600 yen is offered back and the review goes on."""
    reviewer, finance = as_staff(staff.reviewer), as_staff(staff.finance)
    application = await submit(stripe_api, copies=1, procedure=AFTER_REVIEW)
    await staff_action(stripe_api, reviewer, application, "start_review")
    assert (await fix_fee(stripe_api, reviewer, application, 3)).json()["fee"]["total"] == 900
    await pay_by_card(stripe_api, fake, session_factory, application)
    await staff_action(stripe_api, reviewer, application, "start_review")

    refixed = await fix_fee(stripe_api, reviewer, application, 4)
    assert refixed.status_code == 200, refixed.text
    assert (refixed.json()["status"], refixed.json()["fee"]["total"]) == ("awaiting_payment", 1_200)
    started = await paid_session(stripe_api, application)
    assert started["amount"] == 300
    await deliver(
        stripe_api, fake.complete_card(await checkout_id(session_factory, started["payment_id"]))
    )
    await staff_action(stripe_api, reviewer, application, "start_review")
    assert (await balance(stripe_api, application))["net_paid"] == 1_200

    lowered = await fix_fee(stripe_api, reviewer, application, 2)
    assert lowered.status_code == 200, lowered.text
    assert (lowered.json()["status"], lowered.json()["fee"]["total"]) == ("in_review", 600)
    shown = await balance(stripe_api, application)
    assert (shown["due"], shown["refund_proposed"]) == (-600, 600)
    [proposed] = (
        await stripe_api.get("/api/v1/admin/refunds?status=proposed", headers=finance)
    ).json()["items"]
    confirmed = await stripe_api.post(
        f"/api/v1/admin/refunds/{proposed['id']}/confirm", headers=finance
    )
    assert confirmed.status_code == 200, confirmed.text

    approved = await staff_action(stripe_api, reviewer, application, "approve")
    assert approved.status_code == 200, approved.text
    assert await approved_with_paid_amount(session_factory, application) == (600, 600)


async def test_approval_is_refused_while_part_of_the_fee_is_unpaid(
    stripe_api: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    reviewer, finance = as_staff(staff.reviewer), as_staff(staff.finance)
    application, payment_id = await paid_by_card(stripe_api, fake, session_factory, copies=3)
    await staff_action(stripe_api, reviewer, application, "start_review")
    refunded = await stripe_api.post(
        f"/api/v1/admin/payments/{payment_id}/refunds",
        json=refund_body(300, 900, "誤って返金"),
        headers=finance,
    )
    assert refunded.status_code == 201, refunded.text

    refused = await staff_action(stripe_api, reviewer, application, "approve")
    assert refused.status_code == 409, refused.text
    assert (refused.json()["code"], refused.json()["due"]) == ("FEE_BALANCE_DUE", 300)
    detail = await stripe_api.get(f"/api/v1/admin/submissions/{application.id}", headers=reviewer)
    assert detail.json()["status"] == "in_review"


async def test_withdrawal_expires_the_open_checkout_session(
    stripe_api: httpx.AsyncClient,
    staff: Staff,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    application = await submit(stripe_api, copies=2)
    started = await paid_session(stripe_api, application)
    checkout = await checkout_id(session_factory, started["payment_id"])
    assert fake.session(checkout)["status"] == "open"

    withdrawn = await stripe_api.post(
        f"/api/v1/submissions/{application.id}/withdraw", headers=application.headers
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert fake.session(checkout)["status"] == "expired"
    assert (await stored_payment(session_factory, started["payment_id"])).status == "canceled"
    shown = await balance(stripe_api, application)
    assert (shown["fee"], shown["due"], shown["open_payment"]) == (0, 0, None)
    again = await start_payment(stripe_api, application)
    assert again.status_code == 409 and again.json()["code"] == "NOTHING_TO_PAY"


async def test_withdrawal_cancels_a_konbini_voucher_shown_on_the_status_page(
    stripe_api: httpx.AsyncClient,
    staff: Staff,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    application = await submit(stripe_api, copies=2)
    started = await paid_session(stripe_api, application)
    checkout = await checkout_id(session_factory, started["payment_id"])
    await deliver(stripe_api, fake.complete_konbini(checkout))
    status = (
        await stripe_api.get(f"/api/v1/submissions/{application.id}", headers=application.headers)
    ).json()
    voucher = status["balance"]["open_payment"]["voucher"]
    intent = fake.session(checkout)["payment_intent"]
    number = fake.state.intents[intent]["next_action"]["konbini_display_details"]["stores"][
        "lawson"
    ]["payment_code"]
    assert voucher["payment_code"] == number  # 払込番号
    assert voucher["expires_at"]  # 支払期限
    assert status["balance"]["due"] == 600

    await stripe_api.post(
        f"/api/v1/submissions/{application.id}/withdraw", headers=application.headers
    )
    assert fake.state.intents[intent]["status"] == "canceled"
    assert (await stored_payment(session_factory, started["payment_id"])).status == "canceled"


async def test_withdrawal_after_payment_refunds_automatically_where_the_city_says_so(
    stripe_api: httpx.AsyncClient,
    stripe_settings: Settings,
    staff: Staff,
    as_staff: Any,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session, session.begin():
        await session.execute(
            update(Municipality)
            .where(Municipality.code == TOMI)
            .values(settings={"overpayment_refunds": "automatic"})
        )
    application, payment_id = await paid_by_card(stripe_api, fake, session_factory, copies=2)
    await stripe_api.post(
        f"/api/v1/submissions/{application.id}/withdraw", headers=application.headers
    )
    shown = await balance(stripe_api, application)
    # Requested at once (no confirmation), sent by settle-open after commit.
    assert (shown["fee"], shown["net_paid"], shown["refund_proposed"]) == (0, 0, 0)
    payment = await stored_payment(session_factory, payment_id)
    assert payment.refunded_amount == 600
    outcome = await settle_open(stripe_settings, now=fake_now(fake))
    assert outcome["refunds_settled"] == 1
    charge = fake.charge_of(str(payment.provider_checkout_id))
    assert charge["amount_refunded"] == 600
    assert (await stripe_api.get(ALERTS, headers=as_staff(staff.finance))).json()["items"] == []


def fake_now(fake: FakeStripe) -> datetime:
    """A moment past settle-open's grace for refunds requested just now."""
    return datetime.fromtimestamp(fake.now(), UTC) + timedelta(minutes=5)


async def test_a_failed_refund_puts_the_money_back_on_the_balance_and_on_offer(
    stripe_api: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """Withdrawn after paying 600 yen: finance confirms the refund, Stripe fails it
    (refund.updated, refund.failed): the 600 yen are held again, shown as such, and
    offered again for confirmation (never retried on their own)."""
    finance = as_staff(staff.finance)
    application, _ = await paid_by_card(stripe_api, fake, session_factory, copies=2)
    await stripe_api.post(
        f"/api/v1/submissions/{application.id}/withdraw", headers=application.headers
    )
    [first] = (
        await stripe_api.get("/api/v1/admin/refunds?status=proposed", headers=finance)
    ).json()["items"]
    confirmed = await stripe_api.post(
        f"/api/v1/admin/refunds/{first['id']}/confirm", headers=finance
    )
    assert confirmed.json()["status"] == "succeeded"
    shown = await balance(stripe_api, application)
    assert (shown["net_paid"], shown["to_refund"], shown["refund_proposed"]) == (0, 0, 0)

    fake.take_events()
    await deliver(stripe_api, fake.refund_fails(confirmed.json()["provider_refund_id"]))
    shown = await balance(stripe_api, application)
    assert (shown["fee"], shown["net_paid"], shown["due"]) == (0, 600, -600)
    assert (shown["to_refund"], shown["refund_proposed"]) == (600, 600)
    kinds = sorted(
        (a["kind"], a["amount"])
        for a in (await stripe_api.get(ALERTS, headers=finance)).json()["items"]
    )
    # The first proposal's alert was resolved when finance confirmed it.
    assert kinds == [("refund_failed", 600), ("refund_to_confirm", 600)]
    [again] = (
        await stripe_api.get("/api/v1/admin/refunds?status=proposed", headers=finance)
    ).json()["items"]
    assert again["id"] != first["id"] and again["amount"] == 600


async def test_the_whole_sequence_ends_with_net_paid_equal_to_the_fee(
    stripe_api: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """Pay, return, edit up, resubmit and pay the difference, return, edit down, resubmit
    and refund the difference, then withdraw and refund the rest: at every stop the
    balance explains the money, and at the end net paid equals the fee owed (0)."""
    await publish_definition(session_factory, TOMI, bulky_definition())
    reviewer, finance = as_staff(staff.reviewer), as_staff(staff.finance)
    application, _ = await submit_bulky(stripe_api, items(futon=1))
    await pay_by_card(stripe_api, fake, session_factory, application)
    check = "品目をご確認ください"

    resubmitted = await returned_and_resubmitted(
        stripe_api, reviewer, application, items(sofa_multi=2), check
    )
    assert resubmitted == "awaiting_payment"
    shown = await balance(stripe_api, application)
    assert (shown["fee"], shown["net_paid"], shown["due"]) == (3_000, 300, 2_700)
    started = await pay_by_card(stripe_api, fake, session_factory, application)
    assert started["amount"] == 2_700

    resubmitted = await returned_and_resubmitted(
        stripe_api, reviewer, application, items(futon=1), check
    )
    assert resubmitted == "resubmitted"
    shown = await balance(stripe_api, application)
    assert (shown["fee"], shown["net_paid"], shown["refund_proposed"]) == (300, 3_000, 2_700)
    assert len(await confirm_proposed_refunds(stripe_api, finance, 2_700)) == 1
    assert (await balance(stripe_api, application))["net_paid"] == 300

    assert len(await withdrawn_and_refunded(stripe_api, finance, application, 300)) == 1
    charged = await charges_at_stripe(stripe_api, finance, fake, session_factory, application)
    assert len(charged) == 2
    assert sum(c["amount"] - c["amount_refunded"] for c in charged) == 0
    assert (await stripe_api.get(ALERTS, headers=finance)).json()["items"] == []


async def test_the_whole_sequence_after_review_ends_with_net_paid_equal_to_the_fee(
    stripe_api: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """A fee paid after review, through every step that moves money: fixed and paid,
    returned, edited and resubmitted (the staff's fee stays), fixed again higher (only
    the difference asked) and lower (the excess refunded), then withdrawn and the rest
    refunded: net paid ends equal to the fee owed (0), at Stripe too."""
    reviewer, finance = as_staff(staff.reviewer), as_staff(staff.finance)
    application = await submit(stripe_api, copies=1, procedure=AFTER_REVIEW)
    await staff_action(stripe_api, reviewer, application, "start_review")
    assert (await fix_fee(stripe_api, reviewer, application, 3)).json()["fee"]["total"] == 900
    await pay_by_card(stripe_api, fake, session_factory, application)

    resubmitted = await returned_and_resubmitted(
        stripe_api,
        reviewer,
        application,
        {"copies": 4, "requester": "self"},
        "部数をご確認ください",
    )
    assert resubmitted == "resubmitted"
    shown = await balance(stripe_api, application)
    assert (shown["fee"], shown["net_paid"], shown["due"]) == (900, 900, 0)

    await staff_action(stripe_api, reviewer, application, "start_review")
    raised = await fix_fee(stripe_api, reviewer, application, 4)
    assert (raised.json()["status"], raised.json()["fee"]["total"]) == ("awaiting_payment", 1_200)
    assert (await pay_by_card(stripe_api, fake, session_factory, application))["amount"] == 300
    shown = await balance(stripe_api, application)
    assert (shown["fee"], shown["net_paid"], shown["due"]) == (1_200, 1_200, 0)

    await staff_action(stripe_api, reviewer, application, "start_review")
    lowered = await fix_fee(stripe_api, reviewer, application, 2)
    assert (lowered.json()["status"], lowered.json()["fee"]["total"]) == ("in_review", 600)
    await confirm_proposed_refunds(stripe_api, finance, 600)
    assert (await balance(stripe_api, application))["net_paid"] == 600

    await withdrawn_and_refunded(stripe_api, finance, application, 600)
    charged = await charges_at_stripe(stripe_api, finance, fake, session_factory, application)
    assert sorted(c["amount"] for c in charged) == [300, 900]
    assert sum(c["amount"] - c["amount_refunded"] for c in charged) == 0
    assert (await stripe_api.get(ALERTS, headers=finance)).json()["items"] == []
