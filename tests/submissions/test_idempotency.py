"""Idempotency-Key: a phone on a flaky connection retries; the city gets one application."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import utcnow
from app.main import create_app
from app.submissions import idempotency
from app.submissions.models import IdempotencyRecord, Submission
from tests.conftest import Backend
from tests.factories import TOMI, publish_definition, simple_definition
from tests.submissions.helpers import Clock, bearer, count_rows, create, create_draft, submit

VALID = {"requester": "self", "copies": 2}


async def test_a_retried_creation_returns_the_first_response_and_its_token(
    api: httpx.AsyncClient, tomi: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    key = str(uuid.uuid4())
    first = await create(api, VALID, submit=True, key=key)
    retry = await create(api, VALID, submit=True, key=key)

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await count_rows(session_factory, Submission) == 1
    # The replayed token is the real one, yet it was never stored.
    token = retry.json()["access_token"]
    shown = await api.get(f"/api/v1/submissions/{first.json()['id']}", headers=bearer(token))
    assert shown.status_code == 200
    async with session_factory() as session:
        record = await session.scalar(select(IdempotencyRecord))
        assert record is not None
        assert record.response_body is not None
        assert "access_token" not in record.response_body
        assert token not in str(record.response_body)
        # Stored by the statement that gave the number (on PostgreSQL), with it.
        number = first.json()["reference_number"]
        assert number is not None and record.response_body["reference_number"] == number


async def test_the_same_key_with_another_body_is_refused(
    api: httpx.AsyncClient, tomi: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    key = str(uuid.uuid4())
    assert (await create(api, VALID, key=key)).status_code == 201
    other = await create(api, {**VALID, "copies": 3}, key=key)
    assert other.status_code == 422
    assert other.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    submitted_instead = await create(api, VALID, submit=True, key=key)
    assert submitted_instead.status_code == 422
    assert await count_rows(session_factory, Submission) == 1


async def test_a_retried_submit_returns_the_same_number(
    api: httpx.AsyncClient, tomi: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    submission_id, token = await create_draft(api, VALID)
    key = str(uuid.uuid4())
    first = await submit(api, submission_id, token, key=key)
    retry = await submit(api, submission_id, token, key=key)
    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry.json() == first.json()
    assert retry.json()["reference_number"] is not None
    assert retry.headers["idempotent-replayed"] == "true"
    # Without the key a second submit is what it is: an illegal transition.
    assert (await submit(api, submission_id, token)).status_code == 409


async def test_keys_are_scoped_to_the_caller(
    api: httpx.AsyncClient, tomi: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await publish_definition(session_factory, TOMI, simple_definition("other-certificate"))
    key = "same-key-everywhere"
    mine = await create(api, VALID, key=key)
    elsewhere = await create(api, VALID, key=key, procedure="other-certificate")
    assert (mine.status_code, elsewhere.status_code) == (201, 201)
    assert mine.json()["id"] != elsewhere.json()["id"]

    # Two owners submitting with one key each submit their own application.
    first = await submit(api, mine.json()["id"], mine.json()["access_token"], key=key)
    second = await submit(api, elsewhere.json()["id"], elsewhere.json()["access_token"], key=key)
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["reference_number"] != second.json()["reference_number"]


async def test_a_key_expires_and_expired_records_are_purged(
    api: httpx.AsyncClient,
    tomi: str,
    clock: Clock,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    key = str(uuid.uuid4())
    clock.moment = utcnow()
    first = await create(api, VALID, key=key)
    clock.moment += timedelta(seconds=settings.idempotency_ttl_seconds + 1)
    later = await create(api, VALID, key=key)
    assert (first.status_code, later.status_code) == (201, 201)
    assert later.json()["id"] != first.json()["id"]
    assert "idempotent-replayed" not in later.headers

    async with session_factory() as session, session.begin():
        purged = await idempotency.purge_expired(
            session, now=clock.moment + timedelta(seconds=settings.idempotency_ttl_seconds + 1)
        )
    assert purged == 1
    assert await count_rows(session_factory, IdempotencyRecord) == 0


async def test_a_failed_request_leaves_its_key_free(
    api: httpx.AsyncClient, tomi: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    key = str(uuid.uuid4())
    refused = await create(api, {"copies": 1}, submit=True, key=key)
    assert refused.status_code == 422
    assert await count_rows(session_factory, IdempotencyRecord) == 0
    corrected = await create(api, VALID, submit=True, key=key)
    assert corrected.status_code == 201


@pytest.mark.parametrize("key", ["", "x" * 256, "キー", "tab\there"])
async def test_a_malformed_key_is_refused(
    key: str, api: httpx.AsyncClient, tomi: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    response = await api.post(
        "/api/v1/municipalities/202193/procedures/test-certificate/submissions",
        json={"answers": VALID},
        headers=[("Idempotency-Key", key.encode())],
    )
    assert response.status_code == 400
    assert response.json()["code"] == "IDEMPOTENCY_KEY_INVALID"
    assert await count_rows(session_factory, Submission) == 0


async def test_50_concurrent_retries_with_one_key_make_one_application(
    api: httpx.AsyncClient,
    tomi: str,
    backend: Backend,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    if backend.name != "postgresql":
        pytest.skip("concurrent transactions: PostgreSQL only")
    key = str(uuid.uuid4())
    responses = await asyncio.gather(*(create(api, VALID, submit=True, key=key) for _ in range(50)))
    assert [r.status_code for r in responses] == [201] * 50
    bodies = {
        (r.json()["id"], r.json()["reference_number"], r.json()["access_token"]) for r in responses
    }
    assert len(bodies) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 49
    assert await count_rows(session_factory, Submission) == 1
    assert await count_rows(session_factory, IdempotencyRecord) == 1


async def test_a_retry_waits_for_the_first_request_and_goes_ahead_when_it_failed(
    api: httpx.AsyncClient,
    tomi: str,
    backend: Backend,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """The retry's key record goes in with its first statement, which waits while the
    first request (here: a transaction holding the key) runs; that one fails, so the
    retry is the creation."""
    if backend.name != "postgresql":
        pytest.skip("concurrent transactions: PostgreSQL only")
    key = str(uuid.uuid4())
    scope = f"anonymous:{TOMI}:test-certificate"
    async with session_factory() as first:
        claimed = await idempotency.claim(
            first, scope=scope, key=key, request_hash="f" * 64, now=utcnow(), ttl=timedelta(hours=1)
        )
        assert claimed is None
        retry = asyncio.create_task(create(api, VALID, submit=True, key=key))
        await asyncio.sleep(0.5)
        assert not retry.done()  # waiting for the first request's key
        await first.rollback()
    response = await retry
    assert response.status_code == 201
    assert "idempotent-replayed" not in response.headers
    assert response.json()["reference_number"] is not None
    assert await count_rows(session_factory, Submission) == 1
    again = await create(api, VALID, submit=True, key=key)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == response.json()["id"]


async def test_an_unknown_municipality_or_procedure_leaves_the_key_free(
    api: httpx.AsyncClient, tomi: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    key = str(uuid.uuid4())
    assert (await create(api, VALID, key=key, municipality="131016")).status_code == 404
    assert (await create(api, VALID, key=key, procedure="no-such-procedure")).status_code == 404
    assert await count_rows(session_factory, IdempotencyRecord) == 0
    assert (await create(api, VALID, key=key)).status_code == 201
    assert await count_rows(session_factory, IdempotencyRecord) == 1


async def test_a_key_whose_first_request_is_unfinished_answers_in_progress(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    # Only visible within the first request's own transaction: elsewhere the insert
    # waits for it (PostgreSQL) or for the database lock (SQLite).
    now = utcnow()
    claim = {"scope": "owner:test", "key": "k1", "now": now, "ttl": timedelta(hours=1)}
    async with session_factory() as session:
        assert await idempotency.claim(session, request_hash="a" * 64, **claim) is None
        with pytest.raises(idempotency.IdempotencyInProgress):
            await idempotency.claim(session, request_hash="a" * 64, **claim)
        with pytest.raises(idempotency.IdempotencyKeyReused):
            await idempotency.claim(session, request_hash="b" * 64, **claim)
        await session.rollback()


async def test_a_replay_from_another_client_gets_the_receipt_but_never_the_token(
    settings: Settings, engine: AsyncEngine, tomi: str
) -> None:
    """Someone who repeats an anonymous creation with the same key and answers (a key
    copied from documentation, a guessed one) must not receive the applicant's token."""
    app = create_app(settings)
    applicant, stranger = (
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=(address, 40000)),
            base_url="http://testserver",
        )
        for address in ("198.51.100.20", "203.0.113.66")
    )
    try:
        key = "6d0f3c1e-demo-0001"
        first = await create(applicant, VALID, key=key)
        copied = await create(stranger, VALID, key=key)
        retried = await create(applicant, VALID, key=key)
    finally:
        await applicant.aclose()
        await stranger.aclose()
        await app.state.engine.dispose()

    assert (first.status_code, copied.status_code, retried.status_code) == (201, 201, 201)
    token = first.json()["access_token"]
    assert token.startswith("sat_")
    assert copied.headers["idempotent-replayed"] == "true"
    assert copied.json()["id"] == first.json()["id"]
    assert copied.json()["access_token"] is None
    assert token not in copied.text
    assert retried.json() == first.json()
