"""個人番号 answers: encrypted in the database, masked in every staff view, revealed only
with a reason (audited), and never written to a log."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.models import AuditEntry
from app.config import DEVELOPMENT_MY_NUMBER_KEY, Settings
from app.submissions import my_number
from tests.admin.conftest import (
    ALLOWANCE,
    APPLICANT_MY_NUMBER,
    CHILD_MY_NUMBER,
    Staff,
    allowance_answers,
    submit_online,
)
from tests.conftest import Backend


async def _stored_answers_text(session_factory: async_sessionmaker[AsyncSession]) -> str:
    async with session_factory() as session:
        rows = await session.execute(text("SELECT CAST(answers AS TEXT) FROM submissions"))
        return "\n".join(row[0] for row in rows)


async def test_stored_rows_and_the_database_file_hold_no_my_number(
    client: httpx.AsyncClient,
    staff: Staff,
    backend: Backend,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    application = await submit_online(client, ALLOWANCE, allowance_answers())
    draft = await client.post(
        f"/api/v1/municipalities/202193/procedures/{ALLOWANCE}/submissions",
        json={"answers": {"applicant_my_number": APPLICANT_MY_NUMBER}},
    )
    assert draft.status_code == 201

    stored = await _stored_answers_text(session_factory)
    assert my_number.SEALED_PREFIX in stored
    for plain in (APPLICANT_MY_NUMBER, CHILD_MY_NUMBER):
        assert plain not in stored
    assert '"children"' in stored  # only the My Numbers inside are encrypted

    if backend.name == "sqlite":
        database = Path(make_url(backend.url).database or "")
        for path in (database, Path(f"{database}-wal"), Path(f"{database}-journal")):
            if path.exists():
                raw = path.read_bytes()
                assert APPLICANT_MY_NUMBER.encode() not in raw
                assert CHILD_MY_NUMBER.encode() not in raw

    # The applicant still sees what they typed, and can submit the draft.
    citizen = {"Authorization": f"Bearer {application['access_token']}"}
    own = await client.get(f"/api/v1/submissions/{application['id']}", headers=citizen)
    assert own.json()["answers"]["applicant_my_number"] == APPLICANT_MY_NUMBER
    assert own.json()["answers"]["children"][0]["my_number"] == CHILD_MY_NUMBER


async def test_staff_see_masks_and_reveal_with_a_reason(
    client: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    application = await submit_online(client, ALLOWANCE, allowance_answers())
    kosodate = as_staff(staff.kosodate)
    path = f"/submissions/{application['id']}"

    detail = await kosodate.get(path)
    answers = detail.json()["answers"]
    assert answers["applicant_my_number"] == "********" + APPLICANT_MY_NUMBER[-4:]
    assert answers["children"][0]["my_number"] == "********" + CHILD_MY_NUMBER[-4:]
    assert "my_number" not in answers["children"][1]
    assert detail.json()["my_number_fields"] == [
        "/applicant_my_number",
        "/children/0/my_number",
    ]
    listed = await kosodate.get("/submissions")
    for plain in (APPLICANT_MY_NUMBER, CHILD_MY_NUMBER):
        assert plain not in detail.text
        assert plain not in listed.text
        assert plain[-4:] not in listed.text

    no_reason = await kosodate.post(
        f"{path}/reveal-my-number", json={"field": "/children/0/my_number"}
    )
    assert no_reason.status_code == 422
    unknown_field = await kosodate.post(
        f"{path}/reveal-my-number", json={"field": "/children/1/my_number", "reason": "確認"}
    )
    assert unknown_field.status_code == 404
    assert unknown_field.json()["code"] == "MY_NUMBER_FIELD_NOT_FOUND"

    revealed = await kosodate.post(
        f"{path}/reveal-my-number",
        json={"field": "/children/0/my_number", "reason": "住基ネット照会のため"},
        headers={"X-Request-ID": "reveal-request-1"},
    )
    assert revealed.status_code == 200
    assert revealed.json() == {"field": "/children/0/my_number", "my_number": CHILD_MY_NUMBER}
    assert revealed.headers["cache-control"] == "no-store"

    async with session_factory() as session:
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "my_number.reveal")
        )
    assert entry is not None
    assert entry.actor_id == str(staff.kosodate.id)
    assert entry.target_id == application["id"]
    assert entry.reason == "住基ネット照会のため"
    assert entry.details == {"field": "/children/0/my_number"}
    assert entry.request_id == "reveal-request-1"
    assert CHILD_MY_NUMBER not in str(entry.details)

    other_department = await as_staff(staff.shimin).post(
        f"{path}/reveal-my-number", json={"field": "/applicant_my_number", "reason": "確認"}
    )
    assert other_department.status_code == 404


async def test_my_numbers_never_reach_the_logs(
    client: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Everything, SQL statements with their parameters included.
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    application = await submit_online(client, ALLOWANCE, allowance_answers())
    kosodate = as_staff(staff.kosodate)
    await kosodate.get("/submissions")
    await kosodate.get(f"/submissions/{application['id']}")
    await kosodate.post(
        f"/submissions/{application['id']}/reveal-my-number",
        json={"field": "/applicant_my_number", "reason": "照会"},
    )
    bad = await client.post(
        f"/api/v1/municipalities/202193/procedures/{ALLOWANCE}/submissions",
        json={"answers": {"applicant_my_number": APPLICANT_MY_NUMBER[:-1] + "x"}},
    )
    assert bad.status_code == 422
    assert any("sqlalchemy.engine" in record.name for record in caplog.records)
    for plain in (APPLICANT_MY_NUMBER, CHILD_MY_NUMBER, APPLICANT_MY_NUMBER[:-1]):
        assert plain not in caplog.text


def test_cipher_refuses_tampering_and_a_wrong_key(settings: Settings) -> None:
    cipher = my_number.cipher_for(settings)
    sealed = cipher.seal(APPLICANT_MY_NUMBER)
    assert sealed != cipher.seal(APPLICANT_MY_NUMBER)  # a fresh nonce every time
    assert cipher.open(sealed) == APPLICANT_MY_NUMBER
    tampered = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(ValueError, match="does not decrypt"):
        cipher.open(tampered)
    other = my_number.MyNumberCipher(uuid.uuid4().bytes * 2)
    with pytest.raises(ValueError, match="does not decrypt"):
        other.open(sealed)


def test_production_refuses_the_development_key() -> None:
    with pytest.raises(ValueError, match="MY_NUMBER_ENCRYPTION_KEY"):
        Settings(
            environment="production",
            secret_key="a-real-secret-key-for-production-use-only",
            database_url="postgresql+asyncpg://app@db/madoguchi",
            my_number_encryption_key=DEVELOPMENT_MY_NUMBER_KEY,
        )
