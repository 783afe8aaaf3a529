"""Delivering the outbox over SMTP (aiosmtplib), after the events committed.

One message per transaction: the sender claims the next due row (FOR UPDATE SKIP
LOCKED on PostgreSQL, so several senders never take the same row), sends it, records
the outcome and commits. A failure that may pass (connection refused, timeout, a 4xx
reply) is retried with exponential backoff: NOTIFICATION_RETRY_BASE_SECONDS, doubled
per attempt, at most a day, up to NOTIFICATION_MAX_ATTEMPTS. A 5xx refusal of the
recipient is final. Each message carries a Message-ID derived from its row, so even a
resend after a crash between sending and committing is recognisably the same message.

`run` is the loop of `python -m app.notifications worker` and of the in-process sender
`make run` starts when SMTP_HOST is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Protocol

import aiosmtplib
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import utcnow
from app.notifications import repository, service
from app.notifications.models import Notification
from app.notifications.service import DeliveryState

logger = logging.getLogger(__name__)

MAX_RETRY_DELAY = timedelta(days=1)


class Clock(Protocol):
    def __call__(self) -> datetime: ...


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


class PermanentFailure(Exception):
    """The server refused the message for good (e.g. 550 no such mailbox)."""


def build_message(notification: Notification, settings: Settings) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = notification.recipient
    message["Subject"] = notification.subject
    message["Date"] = format_datetime(notification.created_at)
    domain = settings.mail_from.rpartition("@")[2] or "madoguchi.invalid"
    message["Message-ID"] = f"<notification-{notification.id}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(notification.body, charset="utf-8")
    return message


async def send(message: EmailMessage, settings: Settings) -> None:
    """One message over SMTP. Raises PermanentFailure when the recipient is refused
    for good; any other error may pass with time."""
    assert settings.smtp_host is not None
    implicit_tls = settings.smtp_port == 465
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    try:
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=password,
            use_tls=implicit_tls,
            start_tls=settings.smtp_starttls and not implicit_tls,
            timeout=settings.smtp_timeout_seconds,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [refused.code for refused in exc.recipients]
        if codes and all(500 <= code < 600 for code in codes):
            raise PermanentFailure(f"recipient refused ({', '.join(map(str, codes))})") from exc
        raise


async def deliver_due(
    factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    now: Clock = utcnow,
    limit: int = 100,
) -> DeliveryReport:
    """Sends every message due now (at most `limit`), one transaction each."""
    report = DeliveryReport()
    for _ in range(limit):
        async with factory() as session, session.begin():
            notification = await repository.claim_due(session, now())
            if notification is None:
                break
            await service.fill_reference_number(session, notification)
            await _deliver(notification, settings, now(), report)
    return report


async def _deliver(
    notification: Notification, settings: Settings, now: datetime, report: DeliveryReport
) -> None:
    notification.attempts += 1
    try:
        try:
            message = build_message(notification, settings)
        except ValueError as exc:  # an address no mail header can hold
            raise PermanentFailure("invalid recipient address") from exc
        await send(message, settings)
    except PermanentFailure as exc:
        _record_failure(notification, exc, final=True)
        report.failed += 1
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        final = notification.attempts >= settings.notification_max_attempts
        _record_failure(notification, exc, final=final)
        if final:
            report.failed += 1
        else:
            delay = timedelta(
                seconds=settings.notification_retry_base_seconds * 2 ** (notification.attempts - 1)
            )
            notification.next_attempt_at = now + min(delay, MAX_RETRY_DELAY)
            report.retrying += 1
    else:
        notification.state = DeliveryState.SENT
        notification.sent_at = now
        notification.next_attempt_at = None
        notification.last_error = None
        report.sent += 1


def _record_failure(notification: Notification, error: BaseException, *, final: bool) -> None:
    # The type and the SMTP code only: a server's message may quote the address.
    code = getattr(error, "code", None)
    described = type(error).__name__ + (f" {code}" if code else "")
    if isinstance(error, PermanentFailure):
        described = str(error)
    notification.last_error = described[:300]
    if final:
        notification.state = DeliveryState.FAILED
        notification.next_attempt_at = None
    logger.warning(
        "notification %s attempt %d failed: %s", notification.id, notification.attempts, described
    )


async def run(
    factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    stop: asyncio.Event,
) -> None:
    """Delivers due messages until `stop` is set, looking every NOTIFICATION_POLL_SECONDS.
    An unexpected error (the database away) is logged and the loop goes on."""
    while not stop.is_set():
        try:
            report = await deliver_due(factory, settings)
            if report.sent or report.failed:
                logger.info(
                    "notifications: %d sent, %d retrying, %d failed",
                    report.sent,
                    report.retrying,
                    report.failed,
                )
        except Exception as exc:
            logger.error("notification sender: %s", type(exc).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.notification_poll_seconds)
