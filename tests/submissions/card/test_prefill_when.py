"""`prefill_when`: a field the card fills only when the answers say the card holder is
the person it describes (要介護認定: the insured person applying themselves), and the
signer compared with it (本人確認) only then."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.jpki.facts import Sex
from app.auth.jpki.testca import CardHolder
from app.forms.compiler import check_definition
from app.forms.service import read_catalog_directory
from app.submissions.signing import compare_with_answers
from tests.auth.jpki.helpers import SIGN, challenge, create_draft, signed_nonce
from tests.cards import MintCard
from tests.factories import TOMI, publish_definition, seed_municipalities

PROCEDURE = "long-term-care-certification"
[LONG_TERM_CARE] = [d for d in read_catalog_directory() if d["code"] == PROCEDURE]
HOLDER = CardHolder(
    name="東御　花子",
    birth_date=date(1950, 4, 1),
    sex=Sex.FEMALE,
    address="長野県東御市県２８１番地２",
)
SPLIT = {"prefecture": "長野県", "city": "東御市", "rest": "県２８１番地２"}


@pytest.fixture
async def procedure(session_factory: async_sessionmaker[AsyncSession]) -> None:
    await seed_municipalities(session_factory)
    await publish_definition(session_factory, TOMI, LONG_TERM_CARE)


async def _prefill(api: httpx.AsyncClient, mint: MintCard, applicant_type: str) -> dict[str, Any]:
    submission_id, owner = await create_draft(api, PROCEDURE, {"applicant_type": applicant_type})
    nonce = await challenge(api, purpose="prefill")
    response = await api.post(
        f"/api/v1/submissions/{submission_id}/prefill",
        json=signed_nonce(mint(HOLDER), nonce, SIGN),
        headers=owner,
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_the_insured_person_applying_gets_their_own_fields_filled(
    api: httpx.AsyncClient, procedure: None, mint: MintCard
) -> None:
    body = await _prefill(api, mint, "self")
    answers = body["answers"]
    assert answers["insured_name"] == {"name": "東御\u3000花子"}
    assert answers["insured_birth_date"] == "1950-04-01"
    assert answers["insured_sex"] == "female"
    assert answers["insured_address"] == SPLIT
    assert "applicant_address" not in answers  # a family member's: not asked
    for key in ("insured_name", "insured_birth_date", "insured_sex", "insured_address"):
        assert key in body["prefilled_from_card"]


async def test_a_family_member_applying_fills_their_own_fields_not_the_insured_persons(
    api: httpx.AsyncClient, procedure: None, mint: MintCard
) -> None:
    body = await _prefill(api, mint, "family")
    answers = body["answers"]
    assert answers["applicant_name"] == {"name": "東御\u3000花子"}
    assert answers["applicant_address"] == SPLIT
    assert not any(key.startswith("insured_") for key in answers)
    assert body["filled"] == ["applicant_address", "applicant_birth_date", "applicant_name"]


async def test_an_office_applying_gets_no_address_from_the_card(
    api: httpx.AsyncClient, procedure: None, mint: MintCard
) -> None:
    body = await _prefill(api, mint, "proxy_office")
    assert "applicant_address" not in body["answers"]  # the office's 所在地
    assert body["unsplit_address"] is None  # nothing was left for the citizen to copy


def test_the_signer_is_compared_with_the_insured_person_only_when_they_apply() -> None:
    definition = check_definition(LONG_TERM_CARE)
    facts = {"name": "東御\u3000花子", "birth_date": "1950-04-01"}
    insured = {
        "insured_name": {"name": "東御\u3000太郎", "kana": "トウミ\u3000タロウ"},
        "insured_birth_date": "1945-01-02",
    }
    by_family = compare_with_answers(
        definition,
        facts,
        {"applicant_type": "family", "applicant_name": {"name": "東御 花子"}, **insured},
    )
    assert {(c.field, c.matches) for c in by_family} == {
        ("/applicant_name", True),
        ("/applicant_birth_date", None),  # not answered here
    }
    by_self = compare_with_answers(definition, facts, {"applicant_type": "self", **insured})
    assert {(c.field, c.matches) for c in by_self} == {
        ("/applicant_name", None),  # not asked when the insured person applies
        ("/applicant_birth_date", None),
        ("/insured_name", False),
        ("/insured_birth_date", False),
    }
