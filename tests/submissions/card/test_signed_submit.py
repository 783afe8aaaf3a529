"""Signed submissions: the signing document, the signed submit with its evidence, and
the enforcement of `jpki_sign` and `jpki_auth`."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from pathlib import Path

import httpx
import pytest
import rfc8785
from cryptography import x509
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.jpki.models import CitizenIdentity
from app.auth.jpki.testca import TestCaHome
from app.config import Settings
from app.main import create_app
from app.submissions.models import Submission, SubmissionSignature
from tests.auth.jpki.helpers import (
    ANSWERS,
    AUTH,
    PROBLEM,
    SIGN,
    b64,
    bearer,
    card_definition,
    citizen_token,
    copy_home,
    create_draft,
    create_url,
    sign_submission,
    submit,
)
from tests.cards import MintCard
from tests.factories import TOMI, publish_definition, seed_municipalities

SIGNED = "signed-certificate"  # jpki_sign
LOGIN_ONLY = "login-certificate"  # jpki_auth
OPEN = "open-certificate"  # none


@pytest.fixture
async def procedures(session_factory: async_sessionmaker[AsyncSession]) -> None:
    await seed_municipalities(session_factory)
    for code, requirement in ((SIGNED, "jpki_sign"), (LOGIN_ONLY, "jpki_auth"), (OPEN, "none")):
        await publish_definition(session_factory, TOMI, card_definition(code, requirement))


async def _evidence(factory: async_sessionmaker[AsyncSession]) -> list[SubmissionSignature]:
    async with factory() as session:
        return list(await session.scalars(select(SubmissionSignature)))


async def _status(factory: async_sessionmaker[AsyncSession], submission_id: str) -> str:
    async with factory() as session:
        submission = await session.get_one(Submission, uuid.UUID(submission_id))
        return submission.status


async def test_signing_document_is_the_canonical_json_of_the_application(
    api: httpx.AsyncClient, procedures: None
) -> None:
    submission_id, owner = await create_draft(api, SIGNED, ANSWERS)
    response = await api.get(f"/api/v1/submissions/{submission_id}/signing-document", headers=owner)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    document = json.loads(body["document"])
    assert set(document) == {
        "municipality_code",
        "procedure_code",
        "version",
        "submission_id",
        "answers",
    }
    assert document["municipality_code"] == TOMI
    assert document["procedure_code"] == SIGNED
    assert document["version"] == 1
    assert document["submission_id"] == submission_id
    assert document["answers"]["applicant_name"] == "東御 花子"  # as stored (NFKC)
    assert body["document"].encode() == rfc8785.dumps(document)  # RFC 8785, byte for byte
    digest = base64.b64encode(hashlib.sha256(body["document"].encode()).digest()).decode()
    assert body["digest"] == digest
    # Not the owner: not found.
    other = await api.get(
        f"/api/v1/submissions/{submission_id}/signing-document", headers=bearer("sat_x")
    )
    assert other.status_code == 404


async def test_signed_submit_keeps_signature_certificate_and_the_four_facts(
    api: httpx.AsyncClient,
    procedures: None,
    mint: MintCard,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    card = mint()
    submission_id, owner = await create_draft(api, SIGNED, ANSWERS)
    signed = await sign_submission(api, card, submission_id, owner)
    document = (
        await api.get(f"/api/v1/submissions/{submission_id}/signing-document", headers=owner)
    ).json()
    response = await submit(api, submission_id, owner, signed)
    assert response.status_code == 200, response.text
    assert response.json()["reference_number"]

    (evidence,) = await _evidence(session_factory)
    assert str(evidence.submission_id) == submission_id
    assert evidence.document_digest == document["digest"]
    assert evidence.certificate == card.certificate_der(SIGN)
    assert evidence.signature == base64.b64decode(signed["signature"])
    assert evidence.serial_number == format(card.signing_certificate.serial_number, "x")
    assert "JPKI for digital signature" in evidence.issuer
    facts = evidence.basic_facts
    assert facts["name"] == "東御\u3000花子"
    assert facts["birth_date"] == "2019-05-01" and facts["birth_era"] == "5"
    assert facts["birth_date_wareki"] == "令和元年5月1日"
    assert facts["sex"] == "2"
    assert facts["address"] == "長野県東御市県２８１番地２"

    async with session_factory() as session:
        identity = await session.scalar(
            select(CitizenIdentity).where(CitizenIdentity.certificate_type == "signing")
        )
    assert identity is not None and identity.assurance_level == "jpki_sign"
    assert identity.basic_facts == facts


async def test_answers_changed_after_signing_are_refused(
    api: httpx.AsyncClient,
    procedures: None,
    mint: MintCard,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    card = mint()
    submission_id, owner = await create_draft(api, SIGNED, ANSWERS)
    signed = await sign_submission(api, card, submission_id, owner)
    patched = await api.patch(
        f"/api/v1/submissions/{submission_id}",
        json={"answers": {**ANSWERS, "copies": 5}},
        headers=owner,
    )
    assert patched.status_code == 200
    response = await submit(api, submission_id, owner, signed)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "JPKI_SIGNATURE_INVALID"
    assert "変更" in response.json()["detail_ja"]
    assert await _status(session_factory, submission_id) == "draft"
    assert await _evidence(session_factory) == []


async def test_jpki_sign_refuses_unsigned_submits(
    api: httpx.AsyncClient, procedures: None, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    submission_id, owner = await create_draft(api, SIGNED, ANSWERS)
    response = await submit(api, submission_id, owner)
    assert response.status_code == 403
    assert response.json()["code"] == "JPKI_SIGNATURE_REQUIRED"
    assert await _status(session_factory, submission_id) == "draft"
    at_once = await api.post(create_url(SIGNED), json={"answers": ANSWERS, "submit": True})
    assert at_once.status_code == 403
    assert at_once.json()["code"] == "JPKI_SIGNATURE_REQUIRED"
    half = await submit(api, submission_id, owner, {"signature": "AAAA"})
    assert half.status_code == 422  # certificate and signature come together


async def test_signed_submit_refusals_carry_their_codes(
    api: httpx.AsyncClient,
    procedures: None,
    mint: MintCard,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    card = mint()
    submission_id, owner = await create_draft(api, SIGNED, ANSWERS)
    signed = await sign_submission(api, card, submission_id, owner)

    wrong_type = {**signed, "certificate": b64(card.certificate_der(AUTH))}
    response = await submit(api, submission_id, owner, wrong_type)
    assert response.json()["code"] == "JPKI_WRONG_CERTIFICATE_TYPE"

    stranger = mint()
    other_key = {**signed, "certificate": b64(stranger.certificate_der(SIGN))}
    assert (await submit(api, submission_id, owner, other_key)).json()[
        "code"
    ] == "JPKI_SIGNATURE_INVALID"
    assert await _status(session_factory, submission_id) == "draft"


async def test_revoked_signing_certificate_is_refused_with_its_reason(
    settings: Settings,
    jpki_home: TestCaHome,
    mint: MintCard,
    procedures: None,
    tmp_path: Path,
) -> None:
    home = copy_home(jpki_home, tmp_path / "trust")
    card = mint(home=home)
    # 転居: the 4 facts changed, so J-LIS revokes the signing certificate.
    home.revoke(card.signing_certificate, x509.ReasonFlags.affiliation_changed)
    app = create_app(settings.model_copy(update={"jpki_trust_dir": home.trust_dir}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as api:
        submission_id, owner = await create_draft(api, SIGNED, ANSWERS)
        signed = await sign_submission(api, card, submission_id, owner)
        response = await submit(api, submission_id, owner, signed)
    await app.state.engine.dispose()
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "JPKI_CERT_REVOKED"
    assert body["revocation_reason"] == "affiliationChanged"
    assert "住所変更等" in body["detail_ja"]


async def test_signed_submit_replay_is_idempotent(
    api: httpx.AsyncClient,
    procedures: None,
    mint: MintCard,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    card = mint()
    submission_id, owner = await create_draft(api, SIGNED, ANSWERS)
    signed = await sign_submission(api, card, submission_id, owner)
    key = str(uuid.uuid4())
    first = await submit(api, submission_id, owner, signed, key=key)
    again = await submit(api, submission_id, owner, signed, key=key)
    assert first.status_code == again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert len(await _evidence(session_factory)) == 1


async def test_a_none_procedure_may_still_be_signed(
    api: httpx.AsyncClient,
    procedures: None,
    mint: MintCard,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    submission_id, owner = await create_draft(api, OPEN, ANSWERS)
    signed = await sign_submission(api, mint(), submission_id, owner)
    assert (await submit(api, submission_id, owner, signed)).status_code == 200
    assert len(await _evidence(session_factory)) == 1
    unsigned_id, unsigned_owner = await create_draft(api, OPEN, ANSWERS)
    assert (await submit(api, unsigned_id, unsigned_owner)).status_code == 200


async def test_jpki_auth_needs_the_card_login_and_the_citizen_owns_the_application(
    api: httpx.AsyncClient,
    procedures: None,
    mint: MintCard,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    anonymous = await api.post(create_url(LOGIN_ONLY), json={"answers": ANSWERS})
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "CITIZEN_LOGIN_REQUIRED"

    citizen = bearer(await citizen_token(api, mint()))
    created = await api.post(create_url(LOGIN_ONLY), json={"answers": ANSWERS}, headers=citizen)
    assert created.status_code == 201, created.text
    assert created.json()["access_token"] is None  # owned by the login, not by a token
    submission_id = created.json()["id"]
    assert (
        await api.get(f"/api/v1/submissions/{submission_id}", headers=citizen)
    ).status_code == 200

    someone_else = bearer(await citizen_token(api, mint()))
    assert (await submit(api, submission_id, someone_else)).status_code == 404
    response = await submit(api, submission_id, citizen)
    assert response.status_code == 200, response.text
    async with session_factory() as session:
        stored = await session.get_one(Submission, uuid.UUID(submission_id))
    assert stored.citizen_subject is not None and stored.access_token_hash is None


async def test_an_expired_or_forged_citizen_token_is_401(
    api: httpx.AsyncClient, procedures: None
) -> None:
    response = await api.post(
        create_url(OPEN), json={"answers": ANSWERS}, headers=bearer("e30.e30.c2ln")
    )
    assert response.status_code == 401
    assert response.json()["code"] == "CITIZEN_TOKEN_INVALID"
