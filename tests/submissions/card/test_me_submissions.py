"""A citizen logged in with the card sees the applications they made (マイページ); the
access-token ownership of anonymous applications keeps working beside it."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.auth.jpki.helpers import (
    ANSWERS,
    bearer,
    card_definition,
    citizen_token,
    create_draft,
    submit,
)
from tests.cards import MintCard
from tests.factories import TOMI, publish_definition, seed_municipalities

ME = "/api/v1/me/submissions"


@pytest.fixture
async def procedures(session_factory: async_sessionmaker[AsyncSession]) -> None:
    await seed_municipalities(session_factory)
    await publish_definition(session_factory, TOMI, card_definition("open-certificate", "none"))
    await publish_definition(
        session_factory, TOMI, card_definition("login-certificate", "jpki_auth")
    )


async def test_my_submissions_lists_what_the_card_holder_made(
    api: httpx.AsyncClient, procedures: None, mint: MintCard
) -> None:
    card = mint()
    citizen = bearer(await citizen_token(api, card))
    first, _ = await create_draft(api, "open-certificate", ANSWERS, headers=citizen)
    second, _ = await create_draft(api, "login-certificate", ANSWERS, headers=citizen)
    assert (await submit(api, second, citizen)).status_code == 200
    anonymous, token_owner = await create_draft(api, "open-certificate", ANSWERS)

    response = await api.get(ME, headers=citizen)
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 2
    assert [item["id"] for item in body["items"]] == [second, first]  # newest first
    assert body["items"][0]["status"] == "awaiting_payment"
    assert body["items"][0]["reference_number"]

    # A new login with the same card is the same citizen.
    again = bearer(await citizen_token(api, card))
    assert (await api.get(ME, headers=again)).json()["total"] == 2
    # Another card sees none of them.
    other = bearer(await citizen_token(api, mint()))
    assert (await api.get(ME, headers=other)).json() == {"items": [], "total": 0}
    # The anonymous application is still owned by its access token.
    read = await api.get(f"/api/v1/submissions/{anonymous}", headers=token_owner)
    assert read.status_code == 200
    assert (await api.get(f"/api/v1/submissions/{anonymous}", headers=citizen)).status_code == 404


async def test_my_submissions_needs_the_card_login(
    api: httpx.AsyncClient, procedures: None
) -> None:
    _, token_owner = await create_draft(api, "open-certificate", ANSWERS)
    with_token = await api.get(ME, headers=token_owner)
    assert with_token.status_code == 401
    assert with_token.json()["code"] == "CITIZEN_LOGIN_REQUIRED"
    assert (await api.get(ME)).json()["code"] == "CITIZEN_LOGIN_REQUIRED"
