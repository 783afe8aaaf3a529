"""Signing in with the OAuth2 password form, and the accounts behind it."""

from __future__ import annotations

import asyncio
import io

import httpx
import pytest
from argon2 import PasswordHasher
from jose import jwt
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.models import AuditEntry
from app.auth import __main__ as staff_command
from app.auth.staff_models import StaffUser
from app.config import Settings
from app.seed import DEMO_STAFF, DEMO_STAFF_PASSWORD, seed
from tests.factories import STAFF_PASSWORD, TOMI, UEDA, create_staff, seed_municipalities

TOKEN = "/api/v1/admin/auth/token"


@pytest.fixture
async def reviewer(session_factory: async_sessionmaker[AsyncSession]) -> StaffUser:
    await seed_municipalities(session_factory)
    return await create_staff(
        session_factory,
        roles=("reviewer", "finance"),
        department="市民課",
        email="Kana@Tomi.example",
    )


async def test_sign_in_returns_a_short_lived_bearer_token(
    client: httpx.AsyncClient, settings: Settings, reviewer: StaffUser
) -> None:
    response = await client.post(
        TOKEN, data={"username": "kana@tomi.example", "password": STAFF_PASSWORD}
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.staff_token_ttl_seconds == 900
    claims = jwt.get_unverified_claims(body["access_token"])
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "HS256"
    assert claims["typ"] == "staff"
    assert claims["sub"] == str(reviewer.id)
    assert claims["municipality"] == TOMI
    assert claims["roles"] == ["reviewer", "finance"]
    assert claims["exp"] - claims["iat"] == 900
    assert len(claims["jti"]) == 32

    me = await client.get(
        "/api/v1/admin/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.json()["department"] == "市民課"


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("kana@tomi.example", "wrong-password-123"),
        ("nobody@tomi.example", STAFF_PASSWORD),
        ("not an email", STAFF_PASSWORD),
    ],
)
async def test_wrong_credentials_fail_alike(
    client: httpx.AsyncClient, reviewer: StaffUser, username: str, password: str
) -> None:
    response = await client.post(TOKEN, data={"username": username, "password": password})
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "INVALID_CREDENTIALS"
    assert body["title_ja"] == "メールアドレスまたはパスワードが正しくありません"


async def test_disabled_account_cannot_sign_in(
    client: httpx.AsyncClient,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    reviewer: StaffUser,
) -> None:
    async with session_factory() as session, session.begin():
        stored = await session.get_one(StaffUser, reviewer.id)
        stored.disabled_at = stored.created_at
    response = await client.post(
        TOKEN, data={"username": reviewer.email, "password": STAFF_PASSWORD}
    )
    assert response.status_code == 401
    assert response.json()["code"] == "INVALID_CREDENTIALS"


async def test_password_is_stored_as_argon2id(
    session_factory: async_sessionmaker[AsyncSession], reviewer: StaffUser
) -> None:
    async with session_factory() as session:
        stored = await session.scalar(select(StaffUser.password_hash))
    assert stored is not None
    assert stored.startswith("$argon2id$")
    assert STAFF_PASSWORD not in stored
    assert PasswordHasher().verify(stored, STAFF_PASSWORD)


async def test_change_password(
    client: httpx.AsyncClient, settings: Settings, reviewer: StaffUser
) -> None:
    signed_in = await client.post(
        TOKEN, data={"username": reviewer.email, "password": STAFF_PASSWORD}
    )
    headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    weak = await client.post(
        "/api/v1/admin/auth/password",
        json={"current_password": STAFF_PASSWORD, "new_password": "short"},
        headers=headers,
    )
    assert weak.status_code == 422
    assert weak.json()["code"] == "WEAK_PASSWORD"
    changed = await client.post(
        "/api/v1/admin/auth/password",
        json={"current_password": STAFF_PASSWORD, "new_password": "a-brand-new-passphrase"},
        headers=headers,
    )
    assert changed.status_code == 204
    old = await client.post(TOKEN, data={"username": reviewer.email, "password": STAFF_PASSWORD})
    assert old.status_code == 401
    new = await client.post(
        TOKEN, data={"username": reviewer.email, "password": "a-brand-new-passphrase"}
    )
    assert new.status_code == 200


async def test_create_staff_command_reads_the_password_from_stdin(
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await seed_municipalities(session_factory)
    monkeypatch.setattr(staff_command, "get_settings", lambda: settings)
    monkeypatch.setattr("sys.stdin", io.StringIO("first-admin-passphrase\n"))
    argv = [
        "create-staff",
        "--municipality",
        TOMI,
        "--email",
        "first.admin@tomi.example",
        "--department",
        "総務課",
        "--roles",
        "admin,reviewer",
        "--password-stdin",
    ]
    # The command runs its own event loop, as it does from a shell.
    assert await asyncio.to_thread(staff_command.main, argv) == 0
    output = capsys.readouterr()
    assert "first.admin@tomi.example" in output.out
    assert "first-admin-passphrase" not in output.out + output.err

    response = await client.post(
        TOKEN, data={"username": "first.admin@tomi.example", "password": "first-admin-passphrase"}
    )
    assert response.status_code == 200
    assert jwt.get_unverified_claims(response.json()["access_token"])["roles"] == [
        "admin",
        "reviewer",
    ]
    # Same email again: a clear error, exit code 1.
    monkeypatch.setattr("sys.stdin", io.StringIO("first-admin-passphrase\n"))
    assert await asyncio.to_thread(staff_command.main, argv) == 1
    assert "An account with this email address exists" in capsys.readouterr().err


def test_create_staff_command_has_no_password_argument() -> None:
    with pytest.raises(SystemExit) as exited:
        staff_command.main(
            [
                "create-staff",
                "--municipality",
                TOMI,
                "--email",
                "a@tomi.example",
                "--department",
                "総務課",
                "--roles",
                "admin",
                "--password",
                "on-the-command-line",
            ]
        )
    assert exited.value.code == 2


async def test_seed_creates_the_demo_accounts_once(
    client: httpx.AsyncClient,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await seed(settings.database_url, demo_staff=True)
    await seed(settings.database_url, demo_staff=True)
    async with session_factory() as session:
        emails = set(await session.scalars(select(StaffUser.email)))
    assert emails == {email for _, email, _, _, _ in DEMO_STAFF}
    assert {code for code, *_ in DEMO_STAFF} == {TOMI, UEDA}
    signed_in = await client.post(
        TOKEN, data={"username": "admin@tomi.example", "password": DEMO_STAFF_PASSWORD}
    )
    assert signed_in.status_code == 200


async def test_seed_refuses_demo_accounts_in_production(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    production = settings.model_copy(update={"environment": "production"})
    monkeypatch.setattr("app.seed.get_settings", lambda: production)
    with pytest.raises(RuntimeError, match="development only"):
        await seed(settings.database_url, demo_staff=True)


async def test_refused_sign_ins_are_audited_without_what_was_typed(
    client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    reviewer: StaffUser,
) -> None:
    attempts = [
        (reviewer.email, "wrong-password-123"),
        ("nobody@tomi.example", STAFF_PASSWORD),
    ]
    for username, password in attempts:
        response = await client.post(TOKEN, data={"username": username, "password": password})
        assert response.status_code == 401
    async with session_factory() as session, session.begin():
        (await session.get_one(StaffUser, reviewer.id)).disabled_at = reviewer.created_at
    response = await client.post(
        TOKEN, data={"username": reviewer.email, "password": STAFF_PASSWORD}
    )
    assert response.status_code == 401

    async with session_factory() as session:
        entries = list(
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == "staff.sign_in_failed")
                .order_by(AuditEntry.id)
            )
        )
    assert [
        (entry.municipality_code, entry.target_id, entry.details["reason"]) for entry in entries
    ] == [
        (TOMI, str(reviewer.id), "wrong_password"),
        ("", "-", "unknown_account"),
        (TOMI, str(reviewer.id), "disabled"),
    ]
    stored = repr([(vars(entry)) for entry in entries])
    for typed in ("wrong-password-123", STAFF_PASSWORD, "nobody", reviewer.email):
        assert typed not in stored
