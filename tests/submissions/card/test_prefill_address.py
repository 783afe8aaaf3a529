"""ワンスオンリー into an `address_jp` field: the card's one certified 住所 split into
都道府県, 市区町村 and the rest exactly as written, or left empty with the address
returned when it cannot be split with certainty."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.jpki.facts import Sex
from app.auth.jpki.testca import CardHolder
from app.forms.service import read_catalog_directory
from tests.auth.jpki.helpers import SIGN, card_definition, challenge, create_draft, signed_nonce
from tests.cards import MintCard
from tests.factories import TOMI, publish_definition, seed_municipalities

PROCEDURE = "prefilled-address"


def _definition() -> dict[str, Any]:
    definition = card_definition(PROCEDURE, "none")
    fields = definition["steps"][0]["fields"]
    for field in fields:
        if field["key"] == "address":
            field["type"] = "address_jp"
    # An address the card does not know (where the item is collected): never filled.
    fields.append(
        {"key": "other_address", "type": "address_jp", "label": {"ja": "収集場所", "en": "Site"}}
    )
    return definition


@pytest.fixture
async def procedure(session_factory: async_sessionmaker[AsyncSession]) -> None:
    await seed_municipalities(session_factory)
    await publish_definition(session_factory, TOMI, _definition())


async def _prefill(
    api: httpx.AsyncClient,
    mint: MintCard,
    address: str,
    procedure: str = PROCEDURE,
    answers: dict[str, Any] | None = None,
) -> dict[str, Any]:
    card = mint(
        CardHolder(name="東御　花子", birth_date=date(1990, 4, 1), sex=Sex.FEMALE, address=address)
    )
    submission_id, owner = await create_draft(api, procedure, answers or {"copies": 1})
    nonce = await challenge(api, purpose="prefill")
    response = await api.post(
        f"/api/v1/submissions/{submission_id}/prefill",
        json=signed_nonce(card, nonce, SIGN),
        headers=owner,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    read = (await api.get(f"/api/v1/submissions/{submission_id}", headers=owner)).json()
    assert read["answers"] == body["answers"]  # stored as returned
    assert read["prefilled_from_card"] == body["prefilled_from_card"]
    return body


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        # Full-width digits stay full-width: the parts are the card's characters.
        (
            "長野県東御市県２８１番地２",
            {"prefecture": "長野県", "city": "東御市", "rest": "県２８１番地２"},
        ),
        (  # 政令指定都市: the ward belongs to the 市区町村
            "神奈川県横浜市中区日本大通１",
            {"prefecture": "神奈川県", "city": "横浜市中区", "rest": "日本大通１"},
        ),
        (  # 郡 and 町
            "長野県北佐久郡軽井沢町大字軽井沢１３２３番地",
            {"prefecture": "長野県", "city": "北佐久郡軽井沢町", "rest": "大字軽井沢１３２３番地"},
        ),
    ],
)
async def test_the_certified_address_fills_the_address_parts_as_written(
    api: httpx.AsyncClient, procedure: None, mint: MintCard, address: str, expected: dict[str, str]
) -> None:
    body = await _prefill(api, mint, address)
    assert body["answers"]["address"] == expected
    assert "other_address" not in body["answers"]
    assert "postcode" not in body["answers"]["address"]  # not on the card
    assert body["filled"] == [
        "address",
        "applicant_name",
        "applicant_name_kana",
        "birth_date",
        "sex",
    ]
    assert "address" in body["prefilled_from_card"]
    assert body["unsplit_address"] is None


@pytest.mark.parametrize(
    "address",
    [
        "三重県四日市市諏訪町１番５号",  # 市 inside the city's name
        "長野市大字鶴賀緑町１６１３番地",  # no prefecture
    ],
)
async def test_an_address_that_cannot_be_split_is_left_to_the_citizen_and_returned(
    api: httpx.AsyncClient, procedure: None, mint: MintCard, address: str
) -> None:
    body = await _prefill(api, mint, address)
    assert "address" not in body["answers"]
    assert "address" not in body["filled"]
    assert "address" not in body["prefilled_from_card"]
    assert body["answers"]["applicant_name"] == "東御\u3000花子"  # the rest still filled
    assert body["unsplit_address"] == address


@pytest.fixture
async def juminhyo(session_factory: async_sessionmaker[AsyncSession]) -> None:
    """The shipped 住民票の写し definition, whose requester's 住所 is marked for the card."""
    await seed_municipalities(session_factory)
    [definition] = [d for d in read_catalog_directory() if d["code"] == "juminhyo-copy"]
    await publish_definition(session_factory, TOMI, definition)


async def test_the_shipped_juminhyo_request_fills_the_requesters_address_from_the_card(
    api: httpx.AsyncClient, juminhyo: None, mint: MintCard
) -> None:
    typed = {"requester_type": "self", "applicant_phone": "0268621111"}
    body = await _prefill(api, mint, "長野県東御市県２８１番地２", "juminhyo-copy", typed)
    assert body["answers"]["applicant_address"] == {
        "prefecture": "長野県",
        "city": "東御市",
        "rest": "県２８１番地２",
    }
    assert body["filled"] == ["applicant_address", "applicant_birth_date", "applicant_name"]
    assert body["prefilled_from_card"] == body["filled"]
    assert body["answers"]["applicant_phone"] == "0268621111"  # typed answers kept
    assert body["unsplit_address"] is None


async def test_the_shipped_juminhyo_request_returns_an_address_it_cannot_split(
    api: httpx.AsyncClient, juminhyo: None, mint: MintCard
) -> None:
    address = "長野県大町市大字大町３８８７番地"  # 町 inside the city's name
    body = await _prefill(api, mint, address, "juminhyo-copy", {"requester_type": "self"})
    assert "applicant_address" not in body["answers"]
    assert body["filled"] == ["applicant_birth_date", "applicant_name"]
    assert body["unsplit_address"] == address
