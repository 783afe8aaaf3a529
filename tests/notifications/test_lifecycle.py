"""What the applicant receives as their application moves, over a real SMTP server
(aiosmtpd on 127.0.0.1): 受付 with the 受付番号 they were shown, 支払い完了, 差戻し with
the staff's message, 決定; the SMTP server down for a while, then up: every message
delivered once; and staff see each message's delivery state on the application."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import utcnow
from app.forms.definition import ProcedureDefinition
from app.forms.service import read_catalog_directory
from app.notifications import sender
from app.notifications.models import Notification
from app.retention import service as retention
from tests.factories import TOMI, UEDA, create_staff, seed_catalog, staff_headers
from tests.forms.sample_answers import sample_answers_without_files
from tests.notifications.conftest import EMAIL, PROCEDURE, MailServer, body_of
from tests.submissions.helpers import bearer, create, submit


async def _submitted(
    api: httpx.AsyncClient, email: str | None = EMAIL, copies: int = 2, **kwargs: Any
) -> dict[str, Any]:
    answers: dict[str, Any] = {"copies": copies, "requester": "self"}
    if email is not None:
        answers["applicant_email"] = email
    response = await create(api, answers, submit=True, procedure=PROCEDURE, **kwargs)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _pay(api: httpx.AsyncClient, application: dict[str, Any]) -> None:
    started = await api.post(
        f"/api/v1/submissions/{application['id']}/payment",
        headers=bearer(application["access_token"]),
    )
    assert started.status_code == 201, started.text
    paid = await api.post(f"/api/v1/payments/demo/{started.json()['payment_id']}/pay")
    assert paid.status_code == 303, paid.text


async def _staff_moves(
    api: httpx.AsyncClient, headers: dict[str, str], submission_id: str, **body: str
) -> None:
    url = f"/api/v1/admin/submissions/{submission_id}"
    etag = (await api.get(url, headers=headers)).headers["etag"]
    response = await api.post(
        f"{url}/transitions", json=body, headers={**headers, "If-Match": etag}
    )
    assert response.status_code == 200, response.text


async def _deliver(factory: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    report = await sender.deliver_due(factory, settings)
    assert (report.retrying, report.failed) == (0, 0)


async def _reviewer(
    factory: async_sessionmaker[AsyncSession], settings: Settings
) -> dict[str, str]:
    reviewer = await create_staff(factory, roles=("reviewer",), department="市民課")
    return staff_headers(settings, reviewer)


async def test_submitting_with_an_email_address_delivers_one_receipt(
    api: httpx.AsyncClient,
    with_email: str,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    mail_server: MailServer,
) -> None:
    key = str(uuid.uuid4())
    application = await _submitted(api, key=key)
    replayed = await create(
        api,
        {"copies": 2, "requester": "self", "applicant_email": EMAIL},
        submit=True,
        procedure=PROCEDURE,
        key=key,
    )
    assert replayed.json()["id"] == application["id"]  # the same application, no second event
    await _submitted(api, email=None)  # no address: nothing to send
    await _deliver(session_factory, settings)
    await _deliver(session_factory, settings)

    [message] = mail_server.received
    reference = application["reference_number"]
    assert reference
    assert str(message["To"]) == EMAIL
    assert "申請を受け付けました" in str(message["Subject"])
    assert reference in str(message["Subject"])
    body = body_of(message)
    assert f"受付番号: {reference}" in body
    assert f"Reference number: {reference}" in body
    assert "手続: テスト証明書の交付請求" in body
    assert "お支払いいただく手数料: 600円" in body
    assert f"https://shinsei.example.jp/#/s/{application['id']}" in body
    assert application["access_token"] not in body


async def test_payment_return_and_decision_each_tell_the_applicant(
    api: httpx.AsyncClient,
    with_email: str,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    mail_server: MailServer,
) -> None:
    application = await _submitted(api)
    reference = application["reference_number"]
    staff = await _reviewer(session_factory, settings)
    await _pay(api, application)
    await _staff_moves(api, staff, application["id"], action="start_review")
    await _staff_moves(
        api, staff, application["id"], action="return", message="通数を1通に直してください"
    )
    await _deliver(session_factory, settings)
    received, paid, returned = mail_server.received
    assert "受け付けました" in str(received["Subject"])
    assert "お支払いを確認しました" in str(paid["Subject"])
    assert "お支払い額: 600円" in body_of(paid)
    assert "修正をお願いします" in str(returned["Subject"])
    returned_body = body_of(returned)
    assert f"受付番号: {reference}" in returned_body
    assert "担当者からのメッセージ:\n通数を1通に直してください" in returned_body

    # Resubmitting says nothing new; the decision does.
    resubmitted = await submit(api, application["id"], application["access_token"])
    assert resubmitted.json()["status"] == "resubmitted", resubmitted.text
    await _staff_moves(api, staff, application["id"], action="start_review")
    await _staff_moves(
        api, staff, application["id"], action="approve", comment="12月5日に交付します"
    )
    await _deliver(session_factory, settings)
    assert len(mail_server.received) == 4
    approved = mail_server.received[3]
    assert "申請が承認されました" in str(approved["Subject"])
    assert reference in str(approved["Subject"])
    assert "12月5日に交付します" in body_of(approved)
    assert {str(message["To"]) for message in mail_server.received} == {EMAIL}


async def test_a_rejection_gives_the_reason(
    api: httpx.AsyncClient,
    with_email: str,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    mail_server: MailServer,
) -> None:
    application = await _submitted(api)
    staff = await _reviewer(session_factory, settings)
    await _pay(api, application)
    await _staff_moves(api, staff, application["id"], action="start_review")
    await _staff_moves(
        api, staff, application["id"], action="reject", reason="請求者の資格がありません"
    )
    await _deliver(session_factory, settings)
    rejected = mail_server.received[-1]
    assert "審査結果" in str(rejected["Subject"])
    assert "理由:\n請求者の資格がありません" in body_of(rejected)


async def test_smtp_down_while_applications_arrive_then_up_each_delivered_once(
    api: httpx.AsyncClient,
    with_email: str,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    mail_server: MailServer,
) -> None:
    mail_server.stop()
    applications = [await _submitted(api, email=f"applicant{n}@example.jp") for n in range(4)]
    t0 = utcnow()
    for minutes in (0, 1, 3):  # attempts at t0, +1 min, +3 min: all refused connections
        down = await sender.deliver_due(
            session_factory, settings, now=lambda at=t0 + timedelta(minutes=minutes): at
        )
        assert (down.sent, down.retrying) == (0, 4)
    mail_server.start()
    for minutes in (10, 60, 60 * 24 * 3):
        await sender.deliver_due(
            session_factory, settings, now=lambda at=t0 + timedelta(minutes=minutes): at
        )

    received = {str(message["To"]): message for message in mail_server.received}
    assert len(mail_server.received) == len(received) == 4
    for number, application in enumerate(applications):
        subject = str(received[f"applicant{number}@example.jp"]["Subject"])
        assert application["reference_number"] in subject


async def test_staff_see_each_message_and_its_delivery_state(
    api: httpx.AsyncClient,
    with_email: str,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    mail_server: MailServer,
) -> None:
    application = await _submitted(api)
    refused = await _submitted(api, email="nobody@example.jp")
    staff = await _reviewer(session_factory, settings)
    await _deliver_allowing_failures(session_factory, settings)
    await _pay(api, application)  # 支払い完了: queued, not sent yet

    url = f"/api/v1/admin/submissions/{application['id']}/notifications"
    listing = await api.get(url, headers=staff)
    assert listing.status_code == 200, listing.text
    assert listing.headers["cache-control"] == "no-store"
    states = [(item["kind"], item["state"], item["attempts"]) for item in listing.json()["items"]]
    assert states == [("received", "sent", 1), ("paid", "pending", 0)]
    assert listing.json()["items"][0]["recipient"] == EMAIL
    assert listing.json()["items"][0]["sent_at"] is not None

    refused_listing = await api.get(
        f"/api/v1/admin/submissions/{refused['id']}/notifications", headers=staff
    )
    [failed] = refused_listing.json()["items"]
    assert (failed["state"], failed["last_error"]) == ("failed", "recipient refused (550)")

    other_town = await create_staff(session_factory, municipality_code=UEDA, roles=("reviewer",))
    elsewhere = await api.get(url, headers=staff_headers(settings, other_town))
    assert elsewhere.status_code == 404
    assert "nobody@" not in elsewhere.text and EMAIL not in elsewhere.text


async def _deliver_allowing_failures(
    factory: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    await sender.deliver_due(factory, settings)


async def test_without_smtp_the_outbox_says_nothing_was_sent(
    api: httpx.AsyncClient,
    with_email: str,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    mail_server: MailServer,
) -> None:
    from app.main import create_app

    unconfigured = settings.model_copy(update={"smtp_host": None})
    app = create_app(unconfigured)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as plain:
        application = await _submitted(plain)
        staff = await _reviewer(session_factory, settings)
        listing = await plain.get(
            f"/api/v1/admin/submissions/{application['id']}/notifications", headers=staff
        )
    await app.state.engine.dispose()
    [item] = listing.json()["items"]
    assert (item["kind"], item["state"], item["next_attempt_at"]) == (
        "received",
        "not_configured",
        None,
    )
    # The receipt was queued before its 受付番号 was given; staff read it with the number.
    assert application["reference_number"] in item["subject"]
    assert (await sender.deliver_due(session_factory, settings)).sent == 0
    assert mail_server.received == []


async def test_retention_purges_the_messages_with_the_answers(
    api: httpx.AsyncClient,
    with_email: str,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    mail_server: MailServer,
) -> None:
    application = await _submitted(api)
    await _submitted(api, email="kept@example.jp")
    withdrawn = await api.post(
        f"/api/v1/submissions/{application['id']}/withdraw",
        headers=bearer(application["access_token"]),
    )
    assert withdrawn.status_code == 200, withdrawn.text
    await _deliver(session_factory, settings)
    assert len(mail_server.received) == 2

    async with session_factory() as session, session.begin():
        report = await retention.purge(session, now=utcnow() + timedelta(days=3), default_days=1)
    assert (report.submissions, report.notifications) == (1, 1)
    async with session_factory() as session:
        left = list(await session.scalars(select(Notification.recipient)))
    assert left == ["kept@example.jp"]


async def test_bulky_waste_the_collection_day_arrives_by_email(
    api: httpx.AsyncClient,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    mail_server: MailServer,
) -> None:
    """粗大ごみ's help text promises the collection day by email (後日メールでお知らせします):
    the receipt, then the decision carrying the day staff fixed."""
    await seed_catalog(session_factory, (TOMI,))
    [raw] = [item for item in read_catalog_directory() if item["code"] == "bulky-waste"]
    assert "後日メールでお知らせします" in raw["description"]["ja"]
    answers = sample_answers_without_files(ProcedureDefinition.model_validate(raw), 3)
    assert answers is not None
    answers["applicant_email"] = "sodaigomi@example.jp"
    response = await create(api, answers, submit=True, procedure="bulky-waste")
    assert response.status_code == 201, response.text
    application = response.json()
    await _pay(api, application)
    admin = staff_headers(settings, await create_staff(session_factory, roles=("admin",)))
    await _staff_moves(api, admin, application["id"], action="start_review")
    await _staff_moves(
        api,
        admin,
        application["id"],
        action="approve",
        comment="収集日は12月10日（木）です。当日の朝8時までに出してください。",
    )
    await _deliver(session_factory, settings)

    received, paid, approved = mail_server.received
    assert {str(message["To"]) for message in mail_server.received} == {"sodaigomi@example.jp"}
    assert application["reference_number"] in str(received["Subject"])
    assert "粗大ごみ" in body_of(received)
    assert "お支払いを確認しました" in str(paid["Subject"])
    assert "収集日は12月10日（木）です。" in body_of(approved)
