"""Payment after review (`after_review`): staff count what the citizen asked for, fix
the fee (手数料の確定), and only then can the citizen pay it."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.models import AuditEntry
from tests.fakes.stripe_server import FakeStripe
from tests.payments.conftest import Staff
from tests.payments.helpers import (
    AFTER_REVIEW,
    deliver,
    paid_session,
    start_payment,
    stored_payment,
    submission_status,
    submit,
    timeline,
)


async def _in_review(api: httpx.AsyncClient, reviewer: dict[str, str], copies: int = 1) -> Any:
    application = await submit(api, copies=copies, procedure=AFTER_REVIEW)
    detail = await api.get(f"/api/v1/admin/submissions/{application.id}", headers=reviewer)
    started = await api.post(
        f"/api/v1/admin/submissions/{application.id}/transitions",
        json={"action": "start_review"},
        headers={**reviewer, "If-Match": detail.headers["etag"]},
    )
    assert started.status_code == 200, started.text
    return application, started.headers["etag"]


async def test_staff_fix_the_fee_and_the_citizen_pays_it(
    stripe_api: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    fake: FakeStripe,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    reviewer = as_staff(staff.reviewer)
    application = await submit(stripe_api, copies=1, procedure=AFTER_REVIEW)
    assert await submission_status(session_factory, application.id) == "submitted"
    early = await start_payment(stripe_api, application)
    assert early.status_code == 409 and early.json()["code"] == "NOTHING_TO_PAY"

    application, etag = await _in_review(stripe_api, reviewer, copies=1)
    url = f"/api/v1/admin/submissions/{application.id}/fee"
    fixed = await stripe_api.post(
        url,
        json={"quantities": {"copies": 3}, "comment": "3通分の交付となります"},
        headers={**reviewer, "If-Match": etag},
    )
    assert fixed.status_code == 200, fixed.text
    body = fixed.json()
    assert body["status"] == "awaiting_payment"
    assert body["fee"]["total"] == 900
    assert body["fee"]["items"][0]["quantity"] == 3
    assert fixed.headers["etag"] == body["etag"] != etag
    assert (await timeline(session_factory, application.id))[-2:] == [
        "in_review",
        "awaiting_payment",
    ]

    started = await paid_session(stripe_api, application)
    assert started["amount"] == 900
    payment = await stored_payment(session_factory, started["payment_id"])
    assert fake.session(str(payment.provider_checkout_id))["amount_total"] == 900
    await deliver(stripe_api, fake.complete_card(str(payment.provider_checkout_id)))
    assert await submission_status(session_factory, application.id) == "paid"

    async with session_factory() as session:
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "submission.fee_fix")
        )
    assert entry is not None and entry.details == {"fee_total": 900, "quantities": {"copies": 3}}


async def test_fixing_the_fee_needs_the_current_etag_and_a_fee_quantity(
    stripe_api: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    reviewer = as_staff(staff.reviewer)
    application, etag = await _in_review(stripe_api, reviewer)
    url = f"/api/v1/admin/submissions/{application.id}/fee"

    missing = await stripe_api.post(url, json={"quantities": {"copies": 2}}, headers=reviewer)
    assert missing.status_code == 428
    stale = await stripe_api.post(
        url, json={"quantities": {"copies": 2}}, headers={**reviewer, "If-Match": '"1"'}
    )
    assert stale.status_code == 409 and stale.json()["code"] == "SUBMISSION_CHANGED"
    unknown = await stripe_api.post(
        url, json={"quantities": {"requester": 2}}, headers={**reviewer, "If-Match": etag}
    )
    assert unknown.status_code == 422 and unknown.json()["code"] == "FEE_QUANTITY_INVALID"
    assert unknown.json()["errors"][0]["path"] == "/quantities/requester"
    zero = await stripe_api.post(
        url, json={"quantities": {"copies": 0}}, headers={**reviewer, "If-Match": etag}
    )
    assert zero.status_code == 422 and zero.json()["code"] == "NO_FEE_DUE"
    assert await submission_status(session_factory, application.id) == "in_review"


async def test_who_may_fix_a_fee(
    stripe_api: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    application, etag = await _in_review(stripe_api, as_staff(staff.reviewer))
    url = f"/api/v1/admin/submissions/{application.id}/fee"
    body = {"quantities": {"copies": 2}}
    other_department = await stripe_api.post(
        url, json=body, headers={**as_staff(staff.other_reviewer), "If-Match": etag}
    )
    assert other_department.status_code == 404
    other_city = await stripe_api.post(
        url, json=body, headers={**as_staff(staff.ueda_finance), "If-Match": etag}
    )
    assert other_city.status_code == 404
    # Finance (会計課) fixes fees of every department.
    finance = await stripe_api.post(
        url, json=body, headers={**as_staff(staff.finance), "If-Match": etag}
    )
    assert finance.status_code == 200 and finance.json()["fee"]["total"] == 600


async def test_a_fee_paid_on_submit_cannot_be_changed(
    stripe_api: httpx.AsyncClient, staff: Staff, as_staff: Any
) -> None:
    application = await submit(stripe_api)  # on_submit: awaiting payment already
    finance = as_staff(staff.finance)
    detail = await stripe_api.get(
        f"/api/v1/admin/submissions/{application.id}", headers=as_staff(staff.reviewer)
    )
    refused = await stripe_api.post(
        f"/api/v1/admin/submissions/{application.id}/fee",
        json={"quantities": {"copies": 5}},
        headers={**finance, "If-Match": detail.headers["etag"]},
    )
    assert refused.status_code == 409 and refused.json()["code"] == "FEE_NOT_ADJUSTABLE"
