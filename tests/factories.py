"""Builders for test data, through the services (never raw inserts)."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.service import AuditActor
from app.auth import staff_service, staff_tokens
from app.auth.staff_models import StaffUser
from app.config import Settings
from app.db import utcnow
from app.forms.service import load_catalog, read_catalog_directory
from app.municipalities.service import upsert_municipality
from app.seed import SAMPLE_MUNICIPALITIES

TOMI = "202193"
UEDA = "202037"


async def seed_municipalities(factory: async_sessionmaker[AsyncSession]) -> None:
    async with factory() as session, session.begin():
        for municipality in SAMPLE_MUNICIPALITIES:
            await upsert_municipality(session, municipality)


async def seed_catalog(
    factory: async_sessionmaker[AsyncSession], codes: tuple[str, ...] = (TOMI, UEDA)
) -> None:
    await seed_municipalities(factory)
    definitions = read_catalog_directory()
    async with factory() as session, session.begin():
        for code in codes:
            await load_catalog(session, code, definitions, now=datetime.now(UTC))


async def publish_definition(
    factory: async_sessionmaker[AsyncSession],
    municipality_code: str,
    definition: dict[str, Any],
    *,
    now: datetime | None = None,
) -> str:
    """Publish `definition` for the municipality (a new procedure, or its next version),
    at `now` (by default the wall clock)."""
    async with factory() as session, session.begin():
        outcome = await load_catalog(
            session, municipality_code, [definition], now=now or datetime.now(UTC)
        )
    return outcome[definition["code"]]


def simple_definition(code: str = "test-certificate", **overrides: Any) -> dict[str, Any]:
    """A small, valid definition: copies x 300 yen, with a conditional agent name."""
    definition: dict[str, Any] = {
        "code": code,
        "title": {"ja": "テスト証明書の交付請求", "en": "Request for a test certificate"},
        "department": {"ja": "市民課", "en": "Citizens Division"},
        "legal_basis": "テスト条例第1条",
        "identity_requirement": "none",
        "payment_timing": "on_submit",
        "fee_rules": [
            {
                "kind": "per_unit",
                "key": "copy_fee",
                "label": {"ja": "交付手数料", "en": "Issuance fee"},
                "unit_price": 300,
                "quantity_field": "copies",
                "unit": {"ja": "通", "en": "copy"},
            }
        ],
        "steps": [
            {
                "key": "request",
                "title": {"ja": "請求内容", "en": "Request"},
                "fields": [
                    {
                        "key": "copies",
                        "type": "integer",
                        "label": {"ja": "通数", "en": "Copies"},
                        "required": True,
                        "minimum": 1,
                        "maximum": 10,
                    },
                    {
                        "key": "requester",
                        "type": "radio",
                        "label": {"ja": "請求者", "en": "Requester"},
                        "required": True,
                        "options": [
                            {"value": "self", "label": {"ja": "本人", "en": "Self"}},
                            {"value": "agent", "label": {"ja": "代理人", "en": "Agent"}},
                        ],
                    },
                    {
                        "key": "agent_name",
                        "type": "text",
                        "label": {"ja": "代理人の氏名", "en": "Agent's name"},
                        "required": True,
                        "when": {"field": "requester", "equals": "agent"},
                    },
                ],
            }
        ],
    }
    definition.update(overrides)
    return copy.deepcopy(definition)


STAFF_PASSWORD = "staff-password-for-tests"


async def create_staff(
    factory: async_sessionmaker[AsyncSession],
    *,
    municipality_code: str = TOMI,
    roles: tuple[str, ...] = ("admin",),
    department: str = "市民課",
    email: str | None = None,
) -> StaffUser:
    """A staff account (argon2id hash of STAFF_PASSWORD), created by the `test` system actor."""
    email = email or f"{'-'.join(roles)}.{uuid.uuid4().hex[:8]}@{municipality_code}.example"
    async with factory() as session, session.begin():
        return await staff_service.create_staff(
            session,
            AuditActor("system", "test"),
            municipality_code=municipality_code,
            email=email,
            display_name=f"{department} {'/'.join(roles)}",
            department=department,
            roles=roles,
            password=STAFF_PASSWORD,
        )


def staff_headers(settings: Settings, staff: StaffUser) -> dict[str, str]:
    """`Authorization` for a fresh token of `staff`, without the cost of a password login."""
    issued = staff_tokens.issue(
        settings,
        staff_id=staff.id,
        municipality_code=staff.municipality_code,
        roles=tuple(staff.roles),
        now=utcnow(),
        generation=staff.token_generation,
    )
    return {"Authorization": f"Bearer {issued.access_token}"}
