"""A citizen logged in with the card deletes their own draft from マイページ; another
card holder, and the same draft's access to anyone else, get 404."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.auth.jpki.helpers import ANSWERS, bearer, card_definition, citizen_token, create_draft
from tests.cards import MintCard
from tests.factories import TOMI, publish_definition, seed_municipalities

ME = "/api/v1/me/submissions"


@pytest.fixture
async def procedures(session_factory: async_sessionmaker[AsyncSession]) -> None:
    await seed_municipalities(session_factory)
    await publish_definition(
        session_factory, TOMI, card_definition("login-certificate", "jpki_auth")
    )


async def test_the_card_holder_deletes_their_draft(
    api: httpx.AsyncClient, procedures: None, mint: MintCard
) -> None:
    citizen = bearer(await citizen_token(api, mint()))
    stranger = bearer(await citizen_token(api, mint()))
    draft, _ = await create_draft(api, "login-certificate", ANSWERS, headers=citizen)
    kept, _ = await create_draft(api, "login-certificate", ANSWERS, headers=citizen)

    refused = await api.delete(f"/api/v1/submissions/{draft}", headers=stranger)
    assert refused.status_code == 404
    assert refused.json()["code"] == "SUBMISSION_NOT_FOUND"
    assert (await api.get(ME, headers=citizen)).json()["total"] == 2

    deleted = await api.delete(f"/api/v1/submissions/{draft}", headers=citizen)
    assert deleted.status_code == 204
    listed = (await api.get(ME, headers=citizen)).json()
    assert [item["id"] for item in listed["items"]] == [kept]
    assert (await api.get(f"/api/v1/submissions/{draft}", headers=citizen)).status_code == 404
