"""A real SMTP server for the notification tests (aiosmtpd on 127.0.0.1), which can go
down and come back on the same port, and refuses addresses starting with `nobody@`."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from tests.conftest import Backend
from tests.factories import TOMI, UEDA, publish_definition, seed_municipalities, simple_definition
from tests.submissions.conftest import api, clock, tomi

__all__ = ["api", "clock", "tomi"]


@dataclass
class MailHandler:
    received: list[EmailMessage] = field(default_factory=list)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)
        parsed = message_from_bytes(content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(parsed)
        return "250 Message accepted"


class MailServer:
    def __init__(self) -> None:
        self.handler = MailHandler()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.controller: Controller | None = None

    @property
    def received(self) -> list[EmailMessage]:
        return self.handler.received

    def start(self) -> None:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    server = MailServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def settings(backend: Backend, mail_server: MailServer) -> Settings:
    return Settings(
        environment="test",
        database_url=backend.url,
        log_level="WARNING",
        smtp_host="127.0.0.1",
        smtp_port=mail_server.port,
        smtp_starttls=False,
        smtp_timeout_seconds=5,
        mail_from="noreply@city.tomi.example",
        public_base_url="https://shinsei.example.jp",
        notification_retry_base_seconds=30,
        notification_max_attempts=4,
    )


def body_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content


PROCEDURE = "notify-certificate"
EMAIL = "hanako.tomi@example.jp"


def definition_with_email(code: str = PROCEDURE) -> dict[str, Any]:
    """The small test procedure (300 yen a copy) with the applicant's email address."""
    definition = simple_definition(code)
    definition["steps"][0]["fields"].append(
        {"key": "applicant_email", "type": "email", "label": {"ja": "メールアドレス"}}
    )
    return definition


@pytest.fixture
async def with_email(session_factory: async_sessionmaker[AsyncSession]) -> str:
    await seed_municipalities(session_factory)
    await publish_definition(session_factory, TOMI, definition_with_email())
    await publish_definition(session_factory, UEDA, definition_with_email())
    return PROCEDURE
