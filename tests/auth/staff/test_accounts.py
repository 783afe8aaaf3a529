"""Account management by a municipality's admin: what it may learn about other
municipalities' accounts (nothing)."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.staff_models import StaffUser
from app.config import Settings
from tests.factories import TOMI, UEDA, create_staff, seed_municipalities, staff_headers

STAFF = "/api/v1/admin/staff"


def _account(email: str) -> dict[str, object]:
    return {
        "email": email,
        "display_name": "新任",
        "department": "市民課",
        "roles": ["reviewer"],
        "password": "a-long-first-password",
    }


def _answer(response: httpx.Response) -> tuple[int, dict[str, object]]:
    body = response.json()
    return response.status_code, {
        key: value for key, value in body.items() if key not in ("request_id", "instance")
    }


async def test_another_municipalitys_login_ids_cannot_be_probed(
    client: httpx.AsyncClient,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """上田市's admin gets the same answer for a 東御市 login id that exists and one that
    does not, and creates neither; its own ids and 東御市's own work as before."""
    await seed_municipalities(session_factory)
    await create_staff(session_factory, municipality_code=TOMI, email="admin@tomi.example")
    tomi_admin = await create_staff(
        session_factory, municipality_code=TOMI, email="kacho@tomi.example"
    )
    ueda_admin = await create_staff(
        session_factory, municipality_code=UEDA, email="admin@ueda.example"
    )
    ueda = staff_headers(settings, ueda_admin)

    existing = await client.post(STAFF, json=_account("admin@tomi.example"), headers=ueda)
    unknown = await client.post(STAFF, json=_account("nobody@tomi.example"), headers=ueda)
    assert _answer(existing) == _answer(unknown)
    assert existing.status_code == 409
    assert existing.json()["code"] == "STAFF_EMAIL_TAKEN"

    own = await client.post(STAFF, json=_account("shinnin@ueda.example"), headers=ueda)
    assert own.status_code == 201
    tomi = staff_headers(settings, tomi_admin)
    again = await client.post(STAFF, json=_account("admin@tomi.example"), headers=tomi)
    assert again.status_code == 409
    fresh = await client.post(STAFF, json=_account("nobody@tomi.example"), headers=tomi)
    assert fresh.status_code == 201
    async with session_factory() as session:
        in_tomi_domain = await session.scalar(
            select(func.count())
            .select_from(StaffUser)
            .where(StaffUser.email.endswith("@tomi.example"), StaffUser.municipality_code == UEDA)
        )
    assert in_tomi_domain == 0
