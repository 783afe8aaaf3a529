"""The virus-scan hook against a clamd speaking INSTREAM (tests/fakes/clamd_server.py):
clean uploads pass, EICAR is refused, and while clamd is down uploads wait in quarantine
until `rescan_pending` gets an answer."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.attachments import service
from app.attachments.models import Attachment
from app.attachments.scanning import ClamdScanner, ScanUnavailable, scanner_for
from app.attachments.storage import storage_for
from app.config import Settings
from app.db import utcnow
from tests.attachments import media
from tests.attachments.conftest import Draft, upload
from tests.factories import create_staff, staff_headers
from tests.fakes.clamd_server import EICAR, FakeClamd
from tests.submissions.helpers import count_rows, submit


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


@pytest.fixture
async def clamd() -> AsyncIterator[FakeClamd]:
    fake = FakeClamd()
    yield fake
    await fake.stop()


@pytest.fixture
async def clamd_port(clamd: FakeClamd) -> int:
    """A port clamd answers on (started, then left to each test to stop or keep)."""
    return await clamd.start_tcp()


@pytest.fixture
def settings(settings: Settings, clamd_port: int) -> Settings:
    return settings.model_copy(
        update={
            "attachment_virus_scan": True,
            "clamd_port": clamd_port,
            "clamd_timeout_seconds": 5.0,
        }
    )


def _eicar_pdf() -> bytes:
    return media.handmade_pdf("", comment=EICAR)


async def test_a_clean_upload_is_scanned_as_stored(
    api: httpx.AsyncClient, draft: Draft, clamd: FakeClamd
) -> None:
    pdf = media.plain_pdf()
    response = await upload(api, draft, pdf, filename="a.pdf", content_type="application/pdf")

    assert response.status_code == 201, response.text
    assert response.json()["scan_status"] == "clean"
    assert clamd.scanned == [pdf]


async def test_eicar_is_refused_and_nothing_is_stored(
    api: httpx.AsyncClient,
    draft: Draft,
    clamd: FakeClamd,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    infected = _eicar_pdf()
    assert EICAR in infected

    response = await upload(api, draft, infected, filename="a.pdf", content_type="application/pdf")

    assert response.status_code == 422, response.text
    assert response.json()["code"] == "ATTACHMENT_INFECTED"
    assert "ウイルス" in response.json()["title_ja"]
    assert await count_rows(session_factory, Attachment) == 0
    assert not any(path.is_file() for path in settings.attachment_dir.rglob("*"))


async def test_while_clamd_is_down_uploads_wait_in_quarantine(
    api: httpx.AsyncClient,
    draft: Draft,
    clamd: FakeClamd,
    clamd_port: int,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await clamd.stop()
    clean = await upload(api, draft, media.plain_pdf(), filename="a.pdf")
    infected = await upload(api, draft, _eicar_pdf(), filename="b.pdf")
    assert [clean.status_code, infected.status_code] == [201, 201]
    assert clean.json()["scan_status"] == infected.json()["scan_status"] == "pending"
    assert (await submit(api, draft.id, draft.token)).status_code == 200
    admin = await create_staff(session_factory, roles=("admin",))
    content_url = f"/api/v1/admin/submissions/{draft.id}/attachments/{clean.json()['id']}/content"
    quarantined = await api.get(content_url, headers=staff_headers(settings, admin))
    assert quarantined.status_code == 409

    async with session_factory() as session, session.begin():
        outcome = await service.rescan_pending(
            session,
            storage=storage_for(settings),
            scanner=ClamdScanner(port=clamd_port, timeout=2),
            settings=settings,
            now=utcnow(),
        )
    assert outcome == {"clean": 0, "infected": 0, "pending": 2}

    await clamd.start_tcp(clamd_port)
    scanner = scanner_for(settings)
    assert scanner is not None
    async with session_factory() as session, session.begin():
        outcome = await service.rescan_pending(
            session, storage=storage_for(settings), scanner=scanner, settings=settings, now=utcnow()
        )
    assert outcome == {"clean": 1, "infected": 1, "pending": 0}

    released = await api.get(content_url, headers=staff_headers(settings, admin))
    assert released.status_code == 200
    assert released.content == media.plain_pdf()
    async with session_factory() as session:
        refused = await session.get_one(Attachment, uuid.UUID(infected.json()["id"]))
    assert refused.scan_status == "infected"
    assert refused.scan_signature == "Eicar-Signature"
    assert not await storage_for(settings).exists(refused.storage_key)


async def test_clamd_over_a_unix_socket_and_its_errors(tmp_path: Path) -> None:
    fake = FakeClamd(stream_max_length=1000)
    socket_path = tmp_path / "clamd.sock"
    await fake.start_unix(socket_path)
    try:
        scanner = ClamdScanner(socket_path=str(socket_path), timeout=5)
        assert (await scanner.scan(_chunks(b"hello"))).clean
        found = await scanner.scan(_chunks(b"prefix " + EICAR))
        assert (found.clean, found.signature) == (False, "Eicar-Signature")
        with pytest.raises(ScanUnavailable):
            await scanner.scan(_chunks(b"x" * 5000))
    finally:
        await fake.stop()
    with pytest.raises(ScanUnavailable):
        await ClamdScanner(socket_path=str(socket_path), timeout=5).scan(_chunks(b"hello"))
