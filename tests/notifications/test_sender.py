"""The outbox sender against a real SMTP server: retries with backoff while the server
is down, every message delivered exactly once when it is back, final refusals, and two
senders sharing the outbox (PostgreSQL, FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import utcnow
from app.notifications import sender
from app.notifications.models import Notification
from app.notifications.service import Application, NotificationKind, queue
from tests.notifications.conftest import MailServer, body_of
from tests.submissions.helpers import create_draft


async def _queue_messages(
    api: httpx.AsyncClient,
    factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    recipients: list[str],
    now: datetime,
) -> list[uuid.UUID]:
    ids = []
    drafts = [await create_draft(api, {"copies": 1, "requester": "self"}) for _ in recipients]
    async with factory() as session, session.begin():
        for number, (recipient, (submission_id, _)) in enumerate(
            zip(recipients, drafts, strict=True), start=1
        ):
            application = Application(
                submission_id=uuid.UUID(submission_id),
                municipality_code="202193",
                reference_number=f"TOMI-R8-{number:06d}",
                procedure_title_ja="テスト証明書の交付請求",
                procedure_title_en="Request for a test certificate",
                fee_total=300,
                paid_amount=0,
                recipient=recipient,
            )
            notification_id = await queue(
                session,
                application,
                NotificationKind.RECEIVED,
                event_key=f"test:{number}",
                settings=settings,
                now=now,
            )
            assert notification_id is not None
            ids.append(notification_id)
    return ids


async def _stored(factory: async_sessionmaker[AsyncSession]) -> list[Notification]:
    async with factory() as session:
        return list(await session.scalars(select(Notification).order_by(Notification.created_at)))


async def test_smtp_down_for_a_while_then_up_every_message_delivered_once(
    api: httpx.AsyncClient,
    tomi: str,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    mail_server: MailServer,
) -> None:
    t0 = utcnow()
    recipients = [f"applicant{n}@example.jp" for n in range(1, 6)]
    await _queue_messages(api, session_factory, settings, recipients, t0)
    mail_server.stop()

    down = await sender.deliver_due(session_factory, settings, now=lambda: t0)
    assert (down.sent, down.retrying, down.failed) == (0, 5, 0)
    rows = await _stored(session_factory)
    assert {row.state for row in rows} == {"pending"}
    assert {row.next_attempt_at for row in rows} == {t0 + timedelta(seconds=30)}
    assert all(row.last_error and "Connect" in row.last_error for row in rows)

    # Still down at the second attempt: the wait doubles.
    t1 = t0 + timedelta(seconds=31)
    again = await sender.deliver_due(session_factory, settings, now=lambda: t1)
    assert again.retrying == 5
    assert {row.next_attempt_at for row in await _stored(session_factory)} == {
        t1 + timedelta(seconds=60)
    }
    mail_server.start()
    early = await sender.deliver_due(
        session_factory, settings, now=lambda: t1 + timedelta(seconds=59)
    )
    assert (early.sent, early.retrying) == (0, 0)
    up = await sender.deliver_due(session_factory, settings, now=lambda: t1 + timedelta(seconds=61))
    assert (up.sent, up.retrying, up.failed) == (5, 0, 0)
    later = await sender.deliver_due(session_factory, settings, now=lambda: t1 + timedelta(days=2))
    assert later.sent == 0

    assert sorted(str(message["To"]) for message in mail_server.received) == recipients
    assert len({message["Message-ID"] for message in mail_server.received}) == 5
    rows = await _stored(session_factory)
    assert {(row.state, row.attempts) for row in rows} == {("sent", 3)}
    assert all(row.last_error is None and row.sent_at is not None for row in rows)


async def test_the_message_is_japanese_then_english_with_the_link_and_no_token(
    api: httpx.AsyncClient,
    tomi: str,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    mail_server: MailServer,
) -> None:
    [notification_id] = await _queue_messages(
        api, session_factory, settings, ["hanako@example.jp"], utcnow()
    )
    await sender.deliver_due(session_factory, settings)

    [message] = mail_server.received
    assert message["From"] == "noreply@city.tomi.example"
    message_id = str(message["Message-ID"]).strip()
    assert message_id == f"<notification-{notification_id}@city.tomi.example>"
    assert "申請を受け付けました" in str(message["Subject"])
    assert "TOMI-R8-000001" in str(message["Subject"])
    body = body_of(message)
    assert body.index("受付番号: TOMI-R8-000001") < body.index("Reference number: TOMI-R8-000001")
    assert "お支払いいただく手数料: 300円" in body
    [row] = await _stored(session_factory)
    assert f"https://shinsei.example.jp/#/s/{row.submission_id}" in body
    assert "sat_" not in body and "token" not in body.lower()


async def test_a_refused_address_fails_at_once_and_attempts_run_out(
    api: httpx.AsyncClient,
    tomi: str,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    mail_server: MailServer,
) -> None:
    t0 = utcnow()
    await _queue_messages(
        api, session_factory, settings, ["nobody@example.jp", "someone@example.jp"], t0
    )
    mail_server.stop()
    for day in range(settings.notification_max_attempts):
        moment = t0 + timedelta(days=day)
        await sender.deliver_due(session_factory, settings, now=lambda at=moment: at)
    moment = t0 + timedelta(days=settings.notification_max_attempts)
    rows = {row.recipient: row for row in await _stored(session_factory)}
    gave_up = rows["someone@example.jp"]
    assert (gave_up.state, gave_up.attempts) == ("failed", settings.notification_max_attempts)
    assert gave_up.next_attempt_at is None

    mail_server.start()
    async with session_factory() as session, session.begin():
        refused = await session.get_one(Notification, rows["nobody@example.jp"].id)
        refused.state, refused.attempts, refused.next_attempt_at = "pending", 0, moment
    await sender.deliver_due(session_factory, settings, now=lambda: moment)
    rows = {row.recipient: row for row in await _stored(session_factory)}
    assert (rows["nobody@example.jp"].state, rows["nobody@example.jp"].attempts) == ("failed", 1)
    assert "550" in (rows["nobody@example.jp"].last_error or "")
    assert mail_server.received == []


@pytest.mark.postgresql
async def test_two_senders_share_the_outbox_without_sending_twice(
    api: httpx.AsyncClient,
    tomi: str,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    mail_server: MailServer,
) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("row locks (FOR UPDATE SKIP LOCKED) are PostgreSQL's")
    recipients = [f"applicant{n}@example.jp" for n in range(12)]
    await _queue_messages(api, session_factory, settings, recipients, utcnow())

    reports = await asyncio.gather(
        *(sender.deliver_due(session_factory, settings) for _ in range(3))
    )

    assert sum(report.sent for report in reports) == 12
    assert sorted(str(message["To"]) for message in mail_server.received) == sorted(recipients)
