"""Who a card is: issuer DN, the issuing CA's key and the serial. J-LIS's CA generations
share a DN and each numbers its own serials, so two cards of two generations may carry
the same serial and are still two people."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import Column, MetaData, String, Table, Uuid, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth import citizen_tokens
from app.auth.jpki.models import CitizenIdentity
from app.auth.jpki.testca import TestCaHome
from app.config import Settings
from app.db import UTCDateTime, make_engine, new_uuid, utcnow
from app.main import create_app
from tests.auth.jpki.helpers import (
    ANSWERS,
    AUTH,
    bearer,
    card_definition,
    citizen_token,
    create_draft,
)
from tests.cards import MintCard
from tests.conftest import Backend, run_alembic
from tests.factories import TOMI, publish_definition, seed_municipalities

PROCEDURE = "card-certificate"
SERIAL = 0x4A5B6C7D8E9F
MINE = "/api/v1/me/submissions"


@pytest.fixture
async def procedure(session_factory: async_sessionmaker[AsyncSession]) -> None:
    await seed_municipalities(session_factory)
    await publish_definition(session_factory, TOMI, card_definition(PROCEDURE, "jpki_auth"))


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
    await app.state.engine.dispose()


# citizen_identities as revision 0011 left it: no issuing key.
_IDENTITIES_0011 = Table(
    "citizen_identities",
    MetaData(),
    Column("id", Uuid),
    Column("subject", String),
    Column("certificate_type", String),
    Column("issuer", String),
    Column("serial_number", String),
    Column("assurance_level", String),
    Column("not_after", UTCDateTime),
    Column("first_verified_at", UTCDateTime),
    Column("verified_at", UTCDateTime),
)


def _legacy_subject(certificate: x509.Certificate) -> str:
    """The subject as revision 0011 derived it: SHA-256 of issuer DN and serial only."""
    serial = certificate.serial_number.to_bytes(21, "big")
    return hashlib.sha256(
        b"jpki\x00" + certificate.issuer.public_bytes() + b"\x00" + serial
    ).hexdigest()


async def _my_submissions(api: httpx.AsyncClient, token: str) -> list[str]:
    response = await api.get(MINE, headers=bearer(token))
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def test_two_ca_generations_sharing_a_dn_and_serial_are_two_people(
    api: httpx.AsyncClient,
    procedure: None,
    mint: MintCard,
    jpki_home: TestCaHome,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    older = mint(generation=2015, serial_number=SERIAL)
    newer = mint(generation=2023, serial_number=SERIAL)
    assert older.authentication_certificate.issuer == newer.authentication_certificate.issuer

    older_token = await citizen_token(api, older)
    newer_token = await citizen_token(api, newer)
    older_subject = citizen_tokens.decode(settings, older_token).subject
    assert citizen_tokens.decode(settings, newer_token).subject != older_subject

    submission_id, _ = await create_draft(api, PROCEDURE, ANSWERS, bearer(older_token))
    assert await _my_submissions(api, older_token) == [submission_id]
    assert await _my_submissions(api, newer_token) == []
    stranger = await api.get(f"/api/v1/submissions/{submission_id}", headers=bearer(newer_token))
    assert stranger.status_code == 404

    async with session_factory() as session:
        rows = (await session.scalars(select(CitizenIdentity))).all()
    assert len(rows) == 2
    assert {row.serial_number for row in rows} == {format(SERIAL, "x")}
    issuing_keys = {
        jpki_home.authority(AUTH, generation)
        .certificate.public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        for generation in (2015, 2023)
    }
    assert {row.issuer_key_sha256 for row in rows} == {
        hashlib.sha256(spki).hexdigest() for spki in issuing_keys
    }


async def test_identities_recorded_before_the_issuing_key_keep_their_subject(
    backend: Backend,
    settings: Settings,
    procedure: None,
    mint: MintCard,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """A citizen who logged in before migration 0012 keeps the applications their
    subject owns; a card of the other generation with the same serial, issued since,
    does not get them (not even with the same notAfter), and is an identity of its own."""
    expiry = utcnow() + timedelta(days=1500)
    older = mint(
        generation=2015,
        serial_number=SERIAL,
        not_before=utcnow() - timedelta(days=60),
        not_after=expiry,
    )
    newer = mint(generation=2023, serial_number=SERIAL, not_after=expiry)
    legacy = _legacy_subject(older.authentication_certificate)
    certificate = older.authentication_certificate

    run_alembic(backend.url, "downgrade", "0011_lifecycle_facts")
    try:
        engine = make_engine(backend.url)
        try:
            async with engine.begin() as connection:
                await connection.execute(
                    insert(_IDENTITIES_0011).values(
                        id=new_uuid(),
                        subject=legacy,
                        certificate_type="authentication",
                        issuer=certificate.issuer.rfc4514_string(),
                        serial_number=format(SERIAL, "x"),
                        assurance_level="jpki_auth",
                        not_after=certificate.not_valid_after_utc,
                        first_verified_at=utcnow() - timedelta(days=30),
                        verified_at=utcnow() - timedelta(days=30),
                    )
                )
        finally:
            await engine.dispose()
    finally:
        run_alembic(backend.url, "upgrade", "head")

    # An application the citizen made before the upgrade, owned by the old subject.
    app = create_app(settings)
    legacy_token = citizen_tokens.issue(settings, subject=legacy, now=utcnow()).access_token
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as api:
        submission_id, _ = await create_draft(api, PROCEDURE, ANSWERS, bearer(legacy_token))

        newer_token = await citizen_token(api, newer)
        assert citizen_tokens.decode(settings, newer_token).subject != legacy
        assert await _my_submissions(api, newer_token) == []

        older_token = await citizen_token(api, older)
        assert citizen_tokens.decode(settings, older_token).subject == legacy
        assert await _my_submissions(api, older_token) == [submission_id]
        # Again, now that the row carries its key: the same subject.
        again = await citizen_token(api, older)
        assert citizen_tokens.decode(settings, again).subject == legacy
    await app.state.engine.dispose()

    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(CitizenIdentity)) == 2
        claimed = await session.scalar(
            select(CitizenIdentity).where(CitizenIdentity.subject == legacy)
        )
    assert claimed is not None and claimed.issuer_key_sha256 is not None
