"""The signing evidence in the staff detail (本人確認 at a glance): the signer's
基本4情報 as certified, the certificate, when it was verified, and where the signer's
name or birth date differs from the answers. Each showing is audited."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.models import AuditEntry
from app.auth.jpki.facts import Sex
from app.auth.jpki.testca import CardHolder, TestCaHome
from app.config import Settings
from tests.admin.conftest import CERTIFICATE, CERTIFICATE_ANSWERS, Staff, submit_online
from tests.auth.jpki.helpers import (
    ANSWERS,
    HANAKO,
    card_definition,
    create_draft,
    sign_submission,
    submit,
)
from tests.cards import MintCard
from tests.factories import TOMI, UEDA, publish_definition

SIGNED = "signed-evidence"


@pytest.fixture
def settings(settings: Settings, jpki_home: TestCaHome) -> Settings:
    return settings.model_copy(update={"jpki_trust_dir": jpki_home.trust_dir})


@pytest.fixture
async def signed_procedure(staff: Staff, session_factory: async_sessionmaker[AsyncSession]) -> str:
    """A free 市民課 procedure that must be signed with the card, in 東御市."""
    definition = card_definition(SIGNED, "jpki_sign")
    definition["fee_rules"] = []
    await publish_definition(session_factory, TOMI, definition)
    return SIGNED


async def _signed_application(
    client: httpx.AsyncClient, card: Any, answers: dict[str, Any]
) -> tuple[str, dict[str, str]]:
    submission_id, owner = await create_draft(client, SIGNED, answers)
    response = await submit(
        client, submission_id, owner, await sign_submission(client, card, submission_id, owner)
    )
    assert response.status_code == 200, response.text
    return submission_id, owner


async def _shown(factory: async_sessionmaker[AsyncSession]) -> list[AuditEntry]:
    async with factory() as session:
        return list(
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == "signature.show")
                .order_by(AuditEntry.occurred_at)
            )
        )


async def test_staff_see_who_signed_and_that_it_is_the_applicant(
    client: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    signed_procedure: str,
    mint: MintCard,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    card = mint()
    # The applicant typed the name without the full-width space the card writes, and
    # gave it once more with its reading: both are the signer.
    answers = {
        **ANSWERS,
        "applicant_name": "東御花子",
        "applicant_name_kana": {"name": "東御 花子", "kana": "トウミ ハナコ"},
    }
    submission_id, _ = await _signed_application(client, card, answers)

    response = await as_staff(staff.shimin).get(f"/submissions/{submission_id}")
    assert response.status_code == 200, response.text
    (evidence,) = response.json()["signatures"]
    assert evidence["signer"] == {
        "name": "東御\u3000花子",
        "name_alternative_positions": [],
        "sex": "2",
        "birth_date": "2019-05-01",
        "birth_date_wareki": "令和元年5月1日",
        "address": "長野県東御市県２８１番地２",
        "address_alternative_positions": [],
    }
    assert evidence["certificate"] == {
        "issuer": evidence["certificate"]["issuer"],
        "serial_number": format(card.signing_certificate.serial_number, "x"),
    }
    assert "JPKI for digital signature" in evidence["certificate"]["issuer"]
    verification = evidence["verification"]
    assert verification["result"] == "verified"
    assert verification["covers_stored_answers"] is True
    assert verification["verified_at"] == evidence["signed_at"]
    assert evidence["differs"] == []
    assert evidence["comparisons"] == [
        {
            "fact": "name",
            "field": "/applicant_name",
            "certified": "東御\u3000花子",
            "answered": "東御花子",
            "matches": True,
        },
        {
            "fact": "name",
            "field": "/applicant_name_kana",
            "certified": "東御\u3000花子",
            "answered": "東御\u3000花子",
            "matches": True,
        },
        {
            "fact": "birth_date",
            "field": "/birth_date",
            "certified": "2019-05-01",
            "answered": "2019-05-01",
            "matches": True,
        },
    ]

    # The showing is audited, with who, which application and which signature; the
    # entry holds no personal data.
    (entry,) = await _shown(session_factory)
    assert entry.actor_id == str(staff.shimin.id)
    assert entry.target_id == submission_id
    assert entry.municipality_code == TOMI
    assert entry.details == {"signatures": [evidence["id"]], "differs": []}
    assert "花子" not in str(entry.details)


async def test_a_signer_who_is_not_the_applicant_is_flagged(
    client: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    signed_procedure: str,
    mint: MintCard,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    # Someone else's card signs an application naming 東御 華子, born a day later.
    answers = {**ANSWERS, "applicant_name": "東御 華子", "birth_date": "2019-05-02"}
    submission_id, _ = await _signed_application(client, mint(), answers)

    response = await as_staff(staff.admin).get(f"/submissions/{submission_id}")
    assert response.status_code == 200
    (evidence,) = response.json()["signatures"]
    assert evidence["differs"] == ["name", "birth_date"]
    by_field = {c["field"]: c for c in evidence["comparisons"]}
    assert by_field["/applicant_name"]["matches"] is False
    assert by_field["/applicant_name"]["certified"] == "東御\u3000花子"  # as certified
    assert by_field["/applicant_name"]["answered"] == "東御 華子"  # as stored
    assert by_field["/birth_date"]["matches"] is False
    # The stored answers are what the applicant gave, untouched by the comparison.
    assert response.json()["answers"]["applicant_name"] == "東御 華子"
    (entry,) = await _shown(session_factory)
    assert entry.details["differs"] == ["birth_date", "name"]


async def test_full_width_letters_on_the_card_match_the_typed_name(
    client: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    signed_procedure: str,
    mint: MintCard,
) -> None:
    """A foreign resident's card writes the name in full-width capitals; the answer is
    stored half-width (NFKC), typed in any case. Only the comparison folds them."""
    holder = CardHolder(
        name="ＳＭＩＴＨ　ＪＯＨＮ",
        birth_date=date(1980, 1, 2),
        sex=Sex.MALE,
        address=HANAKO.address,
    )
    answers = {**ANSWERS, "applicant_name": "Smith John", "birth_date": "1980-01-02"}
    submission_id, _ = await _signed_application(client, mint(holder), answers)

    shown = await as_staff(staff.admin).get(f"/submissions/{submission_id}")
    (evidence,) = shown.json()["signatures"]
    assert evidence["differs"] == []  # width, case and spacing aside, the same name
    assert evidence["signer"]["name"] == "ＳＭＩＴＨ　ＪＯＨＮ"
    assert shown.json()["answers"]["applicant_name"] == "Smith John"

    other_id, _ = await _signed_application(
        client, mint(holder), {**answers, "applicant_name": "Smith Joan"}
    )
    shown = await as_staff(staff.admin).get(f"/submissions/{other_id}")
    (evidence,) = shown.json()["signatures"]
    assert evidence["differs"] == ["name"]


async def test_a_card_with_an_unknown_birth_date_is_not_a_mismatch(
    client: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    signed_procedure: str,
    mint: MintCard,
) -> None:
    holder = CardHolder(name=HANAKO.name, birth_date=None, sex=Sex.FEMALE, address=HANAKO.address)
    submission_id, _ = await _signed_application(client, mint(holder), ANSWERS)
    (evidence,) = (await as_staff(staff.admin).get(f"/submissions/{submission_id}")).json()[
        "signatures"
    ]
    assert evidence["signer"]["birth_date"] is None
    by_fact = {
        c["fact"]: c for c in evidence["comparisons"] if c["field"] != "/applicant_name_kana"
    }
    assert by_fact["birth_date"]["matches"] is None
    assert by_fact["name"]["matches"] is True
    assert evidence["differs"] == []


async def test_a_corrected_application_shows_both_signatures(
    client: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    signed_procedure: str,
    mint: MintCard,
) -> None:
    card = mint()
    submission_id, owner = await _signed_application(client, card, ANSWERS)
    reviewer = as_staff(staff.shimin)
    for body in ({"action": "start_review"}, {"action": "return", "message": "通数を確認"}):
        etag = await reviewer.etag(submission_id)
        moved = await reviewer.post(
            f"/submissions/{submission_id}/transitions", json=body, if_match=etag
        )
        assert moved.status_code == 200, moved.text
    patched = await client.patch(
        f"/api/v1/submissions/{submission_id}",
        json={"answers": {**ANSWERS, "copies": 2}},
        headers=owner,
    )
    assert patched.status_code == 200, patched.text
    resubmitted = await submit(
        client, submission_id, owner, await sign_submission(client, card, submission_id, owner)
    )
    assert resubmitted.status_code == 200, resubmitted.text

    first, second = (await reviewer.get(f"/submissions/{submission_id}")).json()["signatures"]
    assert first["signed_at"] <= second["signed_at"]
    assert first["verification"]["covers_stored_answers"] is False
    assert second["verification"]["covers_stored_answers"] is True


async def test_unsigned_applications_show_no_evidence_and_audit_no_showing(
    client: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    application = await submit_online(client, CERTIFICATE, CERTIFICATE_ANSWERS)
    response = await as_staff(staff.admin).get(f"/submissions/{application['id']}")
    assert response.status_code == 200
    assert response.json()["signatures"] == []
    assert await _shown(session_factory) == []


async def test_staff_of_another_municipality_or_department_get_404(
    client: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    signed_procedure: str,
    mint: MintCard,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    submission_id, _ = await _signed_application(client, mint(), ANSWERS)
    for member in (staff.ueda_admin, staff.kosodate):
        response = await as_staff(member).get(f"/submissions/{submission_id}")
        assert response.status_code == 404, member.municipality_code
        assert "signatures" not in response.text
    assert staff.ueda_admin.municipality_code == UEDA
    assert await _shown(session_factory) == []
    # The evidence is still there for the staff who may see it.
    shown = await as_staff(staff.shimin).get(f"/submissions/{submission_id}")
    assert len(shown.json()["signatures"]) == 1
