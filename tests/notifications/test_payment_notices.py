"""コンビニ払込番号と期限, and 還付: queued by the payment events, delivered once, with
the numbers the citizen needs and nothing personal beyond the address."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import utcnow
from app.notifications import sender, service
from app.notifications.models import Notification
from app.payments.notices import RefundSucceeded, VoucherIssued
from tests.factories import UEDA, create_staff, staff_headers
from tests.notifications.conftest import EMAIL, PROCEDURE, MailServer, body_of
from tests.submissions.helpers import bearer, create, create_draft

VOUCHER = {
    "expires_at": "2026-12-03T14:59:00+00:00",
    "hosted_voucher_url": "https://payments.example/voucher/abc",
    "stores": {
        "lawson": {"payment_code": "123456789012", "confirmation_number": "0000012345"},
        "familymart": {"payment_code": "123456789012", "confirmation_number": None},
    },
}


async def _draft(api: httpx.AsyncClient, email: str | None = EMAIL, **kwargs: str) -> uuid.UUID:
    answers = {"copies": 2, "requester": "self"}
    if email:
        answers["applicant_email"] = email
    submission_id, _ = await create_draft(api, answers, procedure=PROCEDURE, **kwargs)
    return uuid.UUID(submission_id)


async def test_konbini_voucher_and_refund_are_mailed_once(
    api: httpx.AsyncClient,
    with_email: str,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    mail_server: MailServer,
) -> None:
    submission_id = await _draft(api)
    payment_id, refund_id = uuid.uuid4(), uuid.uuid4()
    for _ in range(2):  # the provider reports the voucher twice: one message
        async with session_factory() as session, session.begin():
            await service.on_konbini_voucher(
                session,
                VoucherIssued(submission_id, payment_id, 600, VOUCHER),
                settings=settings,
                now=utcnow(),
            )
            await service.on_refund(
                session,
                RefundSucceeded(submission_id, refund_id, 300),
                settings=settings,
                now=utcnow(),
            )
    report = await sender.deliver_due(session_factory, settings)

    assert report.sent == 2
    konbini, refund = mail_server.received
    body = body_of(konbini)
    assert "コンビニ" in str(konbini["Subject"])
    assert "お支払い額: 600円" in body
    assert "お支払い期限: 2026年12月03日 23:59" in body
    assert "ローソン: 払込番号 123456789012　確認番号 0000012345" in body
    assert "ファミリーマート: 払込番号 123456789012" in body
    assert "Deadline: 03 Dec 2026 23:59 (Japan time)" in body
    assert "https://payments.example/voucher/abc" in body
    assert "還付額: 300円" in body_of(refund)
    assert {str(message["To"]) for message in mail_server.received} == {EMAIL}


async def test_no_email_answer_no_message_and_no_smtp_says_so(
    api: httpx.AsyncClient,
    with_email: str,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    without = await _draft(api, email=None)
    with_address = await _draft(api)
    unconfigured = settings.model_copy(update={"smtp_host": None})
    async with session_factory() as session, session.begin():
        for submission_id in (without, with_address):
            await service.on_refund(
                session,
                RefundSucceeded(submission_id, uuid.uuid4(), 300),
                settings=unconfigured,
                now=utcnow(),
            )
    async with session_factory() as session:
        rows = list(await session.scalars(select(Notification)))
    assert [(row.submission_id, row.state, row.next_attempt_at) for row in rows] == [
        (with_address, "not_configured", None)
    ]
    report = await sender.deliver_due(session_factory, settings)
    assert report.sent == 0


async def test_a_municipality_overrides_a_template(
    api: httpx.AsyncClient,
    with_email: str,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    mail_server: MailServer,
    tmp_path: Path,
) -> None:
    (tmp_path / "202037").mkdir()
    (tmp_path / "202037" / "refunded.txt").write_text(
        "【上田市】還付のお知らせ {{ reference_number }}\n\n"
        "{{ refund_amount }}円を還付しました。\n",
        encoding="utf-8",
    )
    overriding = settings.model_copy(update={"notification_templates_dir": tmp_path})
    tomi = await _draft(api)
    ueda = await _draft(api, municipality=UEDA)
    async with session_factory() as session, session.begin():
        for submission_id in (tomi, ueda):
            await service.on_refund(
                session,
                RefundSucceeded(submission_id, uuid.uuid4(), 300),
                settings=overriding,
                now=utcnow(),
            )
    await sender.deliver_due(session_factory, settings)

    subjects = sorted(str(message["Subject"]) for message in mail_server.received)
    assert subjects[0].startswith("【上田市】還付のお知らせ")
    assert subjects[1].startswith("【東御市】手数料を還付しました")
    ueda_message = next(m for m in mail_server.received if "上田市" in str(m["Subject"]))
    assert body_of(ueda_message).strip() == "300円を還付しました。"


async def test_a_konbini_payment_and_a_refund_reach_the_applicant(
    api: httpx.AsyncClient,
    with_email: str,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    mail_server: MailServer,
) -> None:
    """Through the payment flow itself (the demo provider): the konbini voucher's
    払込番号 and deadline, the payment, then finance's partial refund (還付)."""
    created = await create(
        api,
        {"copies": 2, "requester": "self", "applicant_email": EMAIL},
        submit=True,
        procedure=PROCEDURE,
    )
    assert created.status_code == 201, created.text
    application = created.json()
    headers = bearer(application["access_token"])
    started = await api.post(f"/api/v1/submissions/{application['id']}/payment", headers=headers)
    assert started.status_code == 201, started.text
    page_url = f"/api/v1/payments/demo/{started.json()['payment_id']}"
    await api.post(f"{page_url}/konbini")
    await api.post(f"{page_url}/konbini")  # the voucher shown twice: one message
    shown = await api.get(f"/api/v1/submissions/{application['id']}/payment", headers=headers)
    payment_code = shown.json()["voucher"]["payment_code"]
    assert (await api.post(f"{page_url}/pay")).status_code == 303
    finance = await create_staff(session_factory, roles=("finance",))
    refunded = await api.post(
        f"/api/v1/admin/payments/{started.json()['payment_id']}/refunds",
        json={"amount": 200, "reason": "二重申請のため", "expected_refundable_amount": 600},
        headers=staff_headers(settings, finance),
    )
    assert refunded.status_code == 201, refunded.text
    await sender.deliver_due(session_factory, settings)

    kinds = [str(message["Subject"]) for message in mail_server.received]
    assert len(kinds) == 4, kinds
    received, konbini, paid, refund = mail_server.received
    assert "受け付けました" in str(received["Subject"])
    assert "コンビニ" in str(konbini["Subject"])
    assert application["reference_number"] in str(konbini["Subject"])
    konbini_body = body_of(konbini)
    assert f"ローソン: 払込番号 {payment_code}" in konbini_body
    assert "お支払い額: 600円" in konbini_body
    assert "お支払いを確認しました" in str(paid["Subject"])
    assert "還付額: 200円" in body_of(refund)
    assert "二重申請" not in body_of(refund)  # finance's reason is for the audit log only
