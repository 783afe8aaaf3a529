"""ワンスオンリー: a draft filled from the card's 基本4情報, and the answers remember it."""

from __future__ import annotations

import uuid
from datetime import date

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.jpki.facts import Sex
from app.auth.jpki.testca import CardHolder
from app.forms.definition import RadioField
from app.submissions.models import Submission
from tests.auth.jpki.helpers import (
    AUTH,
    SEX_OPTIONS,
    SIGN,
    card_definition,
    challenge,
    create_draft,
    sign_submission,
    signed_nonce,
    submit,
)
from tests.cards import MintCard
from tests.factories import TOMI, publish_definition, seed_municipalities

PROCEDURE = "prefilled-certificate"


@pytest.fixture
async def procedure(session_factory: async_sessionmaker[AsyncSession]) -> None:
    await seed_municipalities(session_factory)
    await publish_definition(session_factory, TOMI, card_definition(PROCEDURE, "none"))


def _url(submission_id: str) -> str:
    return f"/api/v1/submissions/{submission_id}/prefill"


async def test_prefill_fills_the_mapped_fields_and_records_them(
    api: httpx.AsyncClient, procedure: None, mint: MintCard
) -> None:
    card = mint(
        CardHolder(
            name="髙橋　未來",
            birth_date=date(2020, 2, 29),  # 令和2年
            sex=Sex.FEMALE,
            address="長野県東御市県２８１番地２",
            address_alternative_positions=(3,),
        )
    )
    submission_id, owner = await create_draft(api, PROCEDURE, {"copies": 2})
    nonce = await challenge(api, purpose="prefill")
    response = await api.post(
        _url(submission_id), json=signed_nonce(card, nonce, SIGN), headers=owner
    )
    assert response.status_code == 200, response.text
    body = response.json()
    answers = body["answers"]
    # As the card states them: not NFKC (see test_prefill_keeps_the_card_s_characters).
    assert answers["applicant_name"] == "髙橋\u3000未來"
    # The card has no フリガナ: the citizen adds it.
    assert answers["applicant_name_kana"] == {"name": "髙橋\u3000未來"}
    assert answers["birth_date"] == "2020-02-29"
    assert answers["sex"] == "female"
    assert answers["address"] == "長野県東御市県２８１番地２"
    assert answers["copies"] == 2  # what the citizen typed is kept
    expected = ["address", "applicant_name", "applicant_name_kana", "birth_date", "sex"]
    assert body["filled"] == expected
    assert body["prefilled_from_card"] == expected
    assert body["has_alternative_characters"] is True

    read = (await api.get(f"/api/v1/submissions/{submission_id}", headers=owner)).json()
    assert read["prefilled_from_card"] == expected

    # The citizen corrects the address: it no longer counts as "from the card".
    changed = {**answers, "address": "長野県上田市大手1丁目11番16号"}
    patched = await api.patch(
        f"/api/v1/submissions/{submission_id}", json={"answers": changed}, headers=owner
    )
    assert patched.status_code == 200
    assert patched.json()["prefilled_from_card"] == [
        "applicant_name",
        "applicant_name_kana",
        "birth_date",
        "sex",
    ]


async def test_prefill_needs_the_signing_certificate_and_a_prefill_nonce(
    api: httpx.AsyncClient, procedure: None, mint: MintCard
) -> None:
    card = mint()
    submission_id, owner = await create_draft(api, PROCEDURE)
    nonce = await challenge(api, purpose="prefill")
    with_auth = await api.post(
        _url(submission_id), json=signed_nonce(card, nonce, AUTH), headers=owner
    )
    assert with_auth.json()["code"] == "JPKI_WRONG_CERTIFICATE_TYPE"

    login_nonce = await challenge(api)
    wrong_purpose = await api.post(
        _url(submission_id), json=signed_nonce(card, login_nonce, SIGN), headers=owner
    )
    assert wrong_purpose.json()["code"] == "JPKI_NONCE_INVALID"

    # The refused attempt spent its nonce: the right certificate needs a new one.
    spent = await api.post(_url(submission_id), json=signed_nonce(card, nonce, SIGN), headers=owner)
    assert spent.json()["code"] == "JPKI_NONCE_INVALID"
    body = signed_nonce(card, await challenge(api, purpose="prefill"), SIGN)
    assert (await api.post(_url(submission_id), json=body, headers=owner)).status_code == 200
    replay = await api.post(_url(submission_id), json=body, headers=owner)
    assert replay.json()["code"] == "JPKI_NONCE_INVALID"


async def test_a_prefill_nonce_needs_the_secret_it_was_issued_with(
    api: httpx.AsyncClient, procedure: None, mint: MintCard
) -> None:
    card = mint()
    submission_id, owner = await create_draft(api, PROCEDURE)
    nonce = await challenge(api, purpose="prefill")
    body = signed_nonce(card, nonce, SIGN)
    thief = await challenge(api, purpose="prefill")
    stolen = await api.post(
        _url(submission_id), json={**body, "challenge_secret": thief.secret}, headers=owner
    )
    assert stolen.json()["code"] == "JPKI_NONCE_INVALID"
    read = (await api.get(f"/api/v1/submissions/{submission_id}", headers=owner)).json()
    assert "applicant_name" not in read["answers"]
    assert (await api.post(_url(submission_id), json=body, headers=owner)).status_code == 200


async def test_only_the_owner_can_prefill(
    api: httpx.AsyncClient, procedure: None, mint: MintCard
) -> None:
    submission_id, _ = await create_draft(api, PROCEDURE)
    nonce = await challenge(api, purpose="prefill")
    response = await api.post(
        _url(submission_id),
        json=signed_nonce(mint(), nonce, SIGN),
        headers={"Authorization": "Bearer sat_not-the-owner"},
    )
    assert response.status_code == 404


def test_prefill_sex_needs_male_and_female_options() -> None:
    field = {"key": "sex", "type": "radio", "label": {"ja": "性別"}, "prefill": "sex"}
    assert RadioField.model_validate({**field, "options": SEX_OPTIONS}).prefill == "sex"
    with pytest.raises(ValidationError, match="male"):
        RadioField.model_validate({**field, "options": [{"value": "m", "label": {"ja": "男"}}]})
    with pytest.raises(ValidationError):  # a date cannot hold the address
        RadioField.model_validate({**field, "options": SEX_OPTIONS, "prefill": "address"})


# 神 U+FA19 is a CJK compatibility ideograph: NFKC maps it to 神 U+795E, another way of
# writing a person's name than the one certified. (﨑 U+FA11, from the same block, is a
# unified ideograph that NFKC leaves alone; it must come through as well.)
CERTIFIED_NAME = "山\ufa11\u3000\ufa19子"
CERTIFIED_ADDRESS = "長野県東御市県２８１番地２"


async def test_prefill_keeps_the_card_s_characters_through_edits_and_a_signed_submit(
    api: httpx.AsyncClient,
    mint: MintCard,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await seed_municipalities(session_factory)
    await publish_definition(session_factory, TOMI, card_definition("signed-prefill"))
    card = mint(
        CardHolder(
            name=CERTIFIED_NAME,
            birth_date=date(1990, 4, 1),
            sex=Sex.FEMALE,
            address=CERTIFIED_ADDRESS,
        )
    )
    submission_id, owner = await create_draft(api, "signed-prefill", {"copies": 1})
    nonce = await challenge(api, purpose="prefill")
    filled = await api.post(
        _url(submission_id), json=signed_nonce(card, nonce, SIGN), headers=owner
    )
    assert filled.status_code == 200, filled.text
    answers = filled.json()["answers"]
    assert answers["applicant_name"] == CERTIFIED_NAME
    assert answers["applicant_name_kana"] == {"name": CERTIFIED_NAME}
    assert answers["address"] == CERTIFIED_ADDRESS

    # The citizen adds the フリガナ (typed in hiragana, with a full-width digit in the
    # number of copies) and sends the rest back as the card gave it.
    edited = {
        **answers,
        "applicant_name_kana": {"name": CERTIFIED_NAME, "kana": "やまさき　かみこ"},
        "copies": "２",
    }
    patched = await api.patch(
        f"/api/v1/submissions/{submission_id}", json={"answers": edited}, headers=owner
    )
    assert patched.status_code == 200, patched.text
    read = (await api.get(f"/api/v1/submissions/{submission_id}", headers=owner)).json()
    assert read["answers"]["applicant_name"] == CERTIFIED_NAME
    assert read["answers"]["address"] == CERTIFIED_ADDRESS
    # What the citizen typed is still normalised; the certified name inside it is not.
    assert read["answers"]["applicant_name_kana"] == {
        "name": CERTIFIED_NAME,
        "kana": "ヤマサキ\u3000カミコ",
    }
    assert read["answers"]["copies"] == 2
    assert {"applicant_name", "address"} <= set(read["prefilled_from_card"])

    signature = await sign_submission(api, card, submission_id, owner)
    submitted = await submit(api, submission_id, owner, signature)
    assert submitted.status_code == 200, submitted.text
    async with session_factory() as session:
        stored = await session.get(Submission, uuid.UUID(submission_id))
    assert stored is not None and stored.status != "draft"
    assert stored.answers["applicant_name"] == CERTIFIED_NAME
    assert stored.answers["applicant_name_kana"]["name"] == CERTIFIED_NAME
    assert stored.answers["address"] == CERTIFIED_ADDRESS


async def test_a_typed_name_is_still_normalised(api: httpx.AsyncClient, procedure: None) -> None:
    """Only what the card certified escapes NFKC: the same characters typed are normalised."""
    typed = {"applicant_name": CERTIFIED_NAME, "address": CERTIFIED_ADDRESS, "copies": 1}
    submission_id, owner = await create_draft(api, PROCEDURE, typed)
    read = (await api.get(f"/api/v1/submissions/{submission_id}", headers=owner)).json()
    assert read["answers"]["applicant_name"] == "山\ufa11 \u795e子"
    assert read["answers"]["address"] == "長野県東御市県281番地2"
