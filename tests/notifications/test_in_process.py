"""`make run` delivers in-process: with SMTP_HOST set, the app's lifespan runs the sender,
and stops it on shutdown; without SMTP_HOST it runs none."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import utcnow
from app.main import create_app
from app.notifications import sender, service
from app.payments.notices import RefundSucceeded
from tests.notifications.conftest import EMAIL, PROCEDURE, MailServer
from tests.submissions.helpers import create_draft


def _senders(tasks: set[asyncio.Task[object]]) -> list[asyncio.Task[object]]:
    """The notification sender's loops among `tasks` (the app runs others, e.g. the
    KPI fold)."""
    return [
        task for task in tasks if getattr(task.get_coro(), "cr_code", None) is sender.run.__code__
    ]


async def test_the_app_delivers_while_it_runs(
    api: httpx.AsyncClient,
    with_email: str,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    mail_server: MailServer,
) -> None:
    submission_id, _ = await create_draft(
        api, {"copies": 1, "requester": "self", "applicant_email": EMAIL}, procedure=PROCEDURE
    )
    async with session_factory() as session, session.begin():
        await service.on_refund(
            session,
            RefundSucceeded(uuid.UUID(submission_id), uuid.uuid4(), 300),
            settings=settings,
            now=utcnow(),
        )
    app = create_app(settings.model_copy(update={"notification_poll_seconds": 0.1}))
    tasks_before = asyncio.all_tasks()
    async with app.router.lifespan_context(app):
        for _ in range(100):
            if mail_server.received:
                break
            await asyncio.sleep(0.05)
        running = _senders(asyncio.all_tasks() - tasks_before)
        assert len(running) == 1
    assert [str(message["To"]) for message in mail_server.received] == [EMAIL]
    assert all(task.done() for task in running)


async def test_without_smtp_host_no_sender_runs(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"smtp_host": None}))
    tasks_before = asyncio.all_tasks()
    async with app.router.lifespan_context(app):
        assert _senders(asyncio.all_tasks() - tasks_before) == []
