"""ワンスオンリー: a draft filled from the card's 基本4情報, and the answers remember it."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.jpki.facts import Sex
from app.auth.jpki.testca import CardHolder
from app.forms.definition import RadioField
from tests.auth.jpki.helpers import (
    AUTH,
    SEX_OPTIONS,
    SIGN,
    card_definition,
    challenge,
    create_draft,
    signed_nonce,
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
    assert answers["applicant_name"] == "髙橋 未來"  # stored NFKC, like typed answers
    # name_with_kana keeps the full-width space between 氏 and 名; the card has no フリガナ.
    assert answers["applicant_name_kana"] == {"name": "髙橋\u3000未來"}
    assert answers["birth_date"] == "2020-02-29"
    assert answers["sex"] == "female"
    assert answers["address"] == "長野県東御市県281番地2"
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
