"""The audit log: written with every staff write, read only by admins of the same
municipality, and append-only (on PostgreSQL even for direct SQL)."""

from __future__ import annotations

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.audit import service as audit
from app.audit.models import AuditEntry
from app.audit.service import AuditActor
from app.auth.staff_models import StaffUser
from app.config import Settings
from app.main import create_app
from app.request_context import reset_request_id, set_request_id
from tests.conftest import Backend
from tests.factories import (
    STAFF_PASSWORD,
    TOMI,
    UEDA,
    create_staff,
    seed_municipalities,
    staff_headers,
)

AUDIT_LOG = "/api/v1/admin/audit-log"


@pytest.fixture
async def admin(session_factory: async_sessionmaker[AsyncSession]) -> StaffUser:
    await seed_municipalities(session_factory)
    return await create_staff(session_factory, roles=("admin",))


async def test_staff_writes_leave_entries_with_the_request_id(
    client: httpx.AsyncClient, settings: Settings, admin: StaffUser
) -> None:
    headers = {**staff_headers(settings, admin), "X-Request-ID": "req-create-staff-1"}
    created = await client.post(
        "/api/v1/admin/staff",
        json={
            "email": "new.reviewer@tomi.example",
            "display_name": "新任 審査担当",
            "department": "市民課",
            "roles": ["reviewer"],
            "password": "a-long-first-password",
        },
        headers=headers,
    )
    assert created.status_code == 201
    signed_in = await client.post(
        "/api/v1/admin/auth/token",
        data={"username": admin.email, "password": STAFF_PASSWORD},
        headers={"X-Request-ID": "req-sign-in-1"},
    )
    assert signed_in.status_code == 200

    log = await client.get(AUDIT_LOG, headers=staff_headers(settings, admin))
    assert log.status_code == 200
    body = log.json()
    create_entry, first_create = [e for e in body["items"] if e["action"] == "staff.create"]
    assert create_entry["actor_type"] == "staff"
    assert create_entry["actor_id"] == str(admin.id)
    assert create_entry["target_id"] == created.json()["id"]
    assert create_entry["municipality_code"] == TOMI
    assert create_entry["request_id"] == "req-create-staff-1"
    assert create_entry["details"] == {"roles": ["reviewer"], "department": "市民課"}
    sign_in = next(e for e in body["items"] if e["action"] == "staff.sign_in")
    assert sign_in["request_id"] == "req-sign-in-1"
    # Newest first: the admin's own account, made by the test actor, comes last.
    assert first_create["actor_id"] == "test"
    assert body["items"][-1] == first_create
    assert "a-long-first-password" not in log.text


async def test_filters_and_pagination(
    client: httpx.AsyncClient,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    admin: StaffUser,
) -> None:
    actor = AuditActor("system", "filter-test")
    async with session_factory() as session, session.begin():
        for number in range(5):
            await audit.record(session, actor, "submission.read", "submission", f"s{number}", TOMI)
        await audit.record(
            session, actor, "my_number.reveal", "submission", "s1", TOMI, reason="照会のため"
        )
    headers = staff_headers(settings, admin)

    page = await client.get(
        AUDIT_LOG, params={"action": "submission.read", "limit": 2, "offset": 1}, headers=headers
    )
    assert page.json()["total"] == 5
    assert [entry["target_id"] for entry in page.json()["items"]] == ["s3", "s2"]

    reveal = await client.get(
        AUDIT_LOG, params={"target_type": "submission", "target_id": "s1"}, headers=headers
    )
    assert {entry["action"] for entry in reveal.json()["items"]} == {
        "submission.read",
        "my_number.reveal",
    }
    revealed = next(e for e in reveal.json()["items"] if e["action"] == "my_number.reveal")
    assert revealed["reason"] == "照会のため"

    naive = await client.get(
        AUDIT_LOG, params={"occurred_from": "2025-01-01T00:00:00"}, headers=headers
    )
    assert naive.status_code == 422
    future = await client.get(
        AUDIT_LOG, params={"occurred_from": "2999-01-01T00:00:00+09:00"}, headers=headers
    )
    assert future.json()["total"] == 0


async def test_only_the_own_municipality_is_listed(
    client: httpx.AsyncClient,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    admin: StaffUser,
) -> None:
    ueda_admin = await create_staff(session_factory, municipality_code=UEDA, roles=("admin",))
    tomi = await client.get(AUDIT_LOG, headers=staff_headers(settings, admin))
    ueda = await client.get(AUDIT_LOG, headers=staff_headers(settings, ueda_admin))
    assert {e["municipality_code"] for e in tomi.json()["items"]} == {TOMI}
    assert {e["municipality_code"] for e in ueda.json()["items"]} == {UEDA}
    unfiltered_elsewhere = await client.get(
        AUDIT_LOG, params={"target_id": str(admin.id)}, headers=staff_headers(settings, ueda_admin)
    )
    assert unfiltered_elsewhere.json()["total"] == 0


async def test_the_request_id_is_taken_from_the_request_context(
    session_factory: async_sessionmaker[AsyncSession], admin: StaffUser
) -> None:
    token = set_request_id("context-request-id")
    try:
        async with session_factory() as session, session.begin():
            entry = await audit.record(
                session, AuditActor("system", "x"), "test.action", "thing", 1, TOMI
            )
    finally:
        reset_request_id(token)
    assert entry.request_id == "context-request-id"


def test_no_route_changes_or_deletes_audit_entries(settings: Settings) -> None:
    app = create_app(settings)
    methods = {
        method
        for route in iter_route_contexts(app.routes)
        if (route.path or "").startswith("/api/v1/admin/audit")
        for method in route.methods or ()
    }
    assert methods == {"GET"}


async def test_postgresql_refuses_update_and_delete_but_allows_truncate(
    backend: Backend, engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    if backend.name != "postgresql":
        pytest.skip("the append-only trigger exists on PostgreSQL")
    await seed_municipalities(session_factory)
    async with session_factory() as session, session.begin():
        await audit.record(session, AuditActor("system", "t"), "test.action", "thing", 1, TOMI)

    for statement in (
        "UPDATE audit_entries SET reason = 'rewritten'",
        "DELETE FROM audit_entries",
    ):
        async with engine.connect() as connection:
            with pytest.raises(DBAPIError, match="append-only"):
                await connection.execute(text(statement))
            await connection.rollback()
    async with session_factory() as session:
        assert await session.scalar(select(func.count(AuditEntry.id))) == 1
        assert await session.scalar(select(AuditEntry.reason)) is None

    # The test harness empties tables with TRUNCATE between tests: a row trigger does not
    # fire for it, so the harness keeps working.
    async with engine.begin() as connection:
        await connection.execute(text("TRUNCATE audit_entries"))
    async with session_factory() as session:
        assert await session.scalar(select(func.count(AuditEntry.id))) == 0
