"""Card login over HTTP: challenge, signed challenge, citizen token; every refusal."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth import citizen_tokens
from app.auth.jpki.models import CitizenIdentity, JpkiChallenge
from app.auth.jpki.testca import TestCaHome
from app.auth.jpki.verifier import certificate_subject_id
from app.config import Settings
from app.db import utcnow
from app.main import create_app
from tests.auth.jpki.conftest import Clock, MintCard
from tests.auth.jpki.helpers import (
    AUTH,
    PROBLEM,
    SIGN,
    Nonce,
    b64,
    challenge,
    copy_home,
    login,
    signed_nonce,
)

CHALLENGE = "/api/v1/auth/jpki/challenge"
LOGIN = "/api/v1/auth/jpki/login"


async def test_challenge_is_stored_short_lived_and_not_cached(
    api: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    response = await api.post(CHALLENGE)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert len(body["nonce"]) == 64  # 256 bits, hex
    async with session_factory() as session:
        stored = await session.get(JpkiChallenge, body["nonce"])
    assert stored is not None and stored.used_at is None and stored.purpose == "login"
    lifetime = stored.expires_at - stored.created_at
    assert lifetime == timedelta(seconds=300)


async def test_login_issues_a_short_lived_token_bound_to_the_card(
    api: httpx.AsyncClient,
    mint: MintCard,
    jpki_home: TestCaHome,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    card = mint()
    response = await login(api, card)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.citizen_token_ttl_seconds
    claims = citizen_tokens.decode(settings, body["access_token"])
    issuer = jpki_home.issuer_of(card.authentication_certificate).certificate
    assert claims.subject == certificate_subject_id(
        card.authentication_certificate, issuer.public_key()
    )

    async with session_factory() as session:
        identity = await session.scalar(select(CitizenIdentity))
    assert identity is not None
    assert identity.subject == claims.subject
    assert identity.serial_number == format(card.authentication_certificate.serial_number, "x")
    assert (
        identity.issuer_key_sha256
        == hashlib.sha256(
            issuer.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        ).hexdigest()
    )
    assert identity.certificate_type == "authentication"
    assert identity.assurance_level == "jpki_auth"
    assert identity.basic_facts is None  # the authentication certificate carries no 4 facts

    # Logging in again with the same card refreshes the one identity row.
    assert (await login(api, card)).status_code == 200
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(CitizenIdentity)) == 1


async def test_replayed_nonce_is_refused(api: httpx.AsyncClient, mint: MintCard) -> None:
    card = mint()
    body = signed_nonce(card, await challenge(api))
    assert (await api.post(LOGIN, json=body)).status_code == 200
    replay = await api.post(LOGIN, json=body)
    assert replay.status_code == 422
    assert replay.headers["content-type"] == PROBLEM
    assert replay.json()["code"] == "JPKI_NONCE_INVALID"
    assert replay.json()["detail_ja"]


async def test_concurrent_replays_cannot_both_win(api: httpx.AsyncClient, mint: MintCard) -> None:
    card = mint()
    body = signed_nonce(card, await challenge(api))
    responses = await asyncio.gather(*(api.post(LOGIN, json=body) for _ in range(4)))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200, 422, 422, 422], [r.text for r in responses]


async def test_expired_and_unknown_nonces_are_refused(
    api: httpx.AsyncClient, mint: MintCard, clock: Clock
) -> None:
    card = mint()
    nonce = await challenge(api)
    clock.moment = utcnow() + timedelta(seconds=301)
    expired = await api.post(LOGIN, json=signed_nonce(card, nonce))
    assert expired.json()["code"] == "JPKI_NONCE_INVALID"
    clock.moment = None
    unknown = await api.post(LOGIN, json=signed_nonce(card, Nonce("made-up-nonce", nonce.secret)))
    assert unknown.json()["code"] == "JPKI_NONCE_INVALID"


async def test_a_prefill_nonce_does_not_log_in(api: httpx.AsyncClient, mint: MintCard) -> None:
    card = mint()
    nonce = await challenge(api, purpose="prefill")
    response = await api.post(LOGIN, json=signed_nonce(card, nonce))
    assert response.json()["code"] == "JPKI_NONCE_INVALID"


async def test_signing_certificate_cannot_log_in(api: httpx.AsyncClient, mint: MintCard) -> None:
    card = mint()
    nonce = await challenge(api)
    response = await api.post(LOGIN, json=signed_nonce(card, nonce, SIGN))
    assert response.status_code == 422
    assert response.json()["code"] == "JPKI_WRONG_CERTIFICATE_TYPE"
    assert response.json()["expected_certificate_type"] == "authentication"


async def test_wrong_signature_cannot_log_in(api: httpx.AsyncClient, mint: MintCard) -> None:
    card, other = mint(), mint()
    nonce = await challenge(api)
    body = signed_nonce(card, nonce)
    body["signature"] = signed_nonce(other, nonce)["signature"]
    response = await api.post(LOGIN, json=body)
    assert response.json()["code"] == "JPKI_SIGNATURE_INVALID"
    # A signature over another nonce is no better.
    body = signed_nonce(card, await challenge(api))
    body["signature"] = signed_nonce(card, await challenge(api))["signature"]
    assert (await api.post(LOGIN, json=body)).json()["code"] == "JPKI_SIGNATURE_INVALID"


async def test_a_refused_attempt_spends_the_nonce(api: httpx.AsyncClient, mint: MintCard) -> None:
    card = mint()
    nonce = await challenge(api)
    junk = {**signed_nonce(card, nonce), "signature": b64(b"\x00" * 256)}
    assert (await api.post(LOGIN, json=junk)).json()["code"] == "JPKI_SIGNATURE_INVALID"
    # The right signature over the same nonce comes too late: one attempt per challenge.
    retry = await api.post(LOGIN, json=signed_nonce(card, nonce))
    assert retry.status_code == 422
    assert retry.json()["code"] == "JPKI_NONCE_INVALID"
    assert (await login(api, card)).status_code == 200


async def test_revocation_is_not_told_to_a_caller_without_the_card(
    settings: Settings, jpki_home: TestCaHome, mint: MintCard, tmp_path: Path, engine: object
) -> None:
    """With only someone's certificate (public: it is sent to every relying party) and a
    junk signature, nothing about its revocation (転居, 婚姻, date) comes back."""
    home = copy_home(jpki_home, tmp_path / "trust")
    card = mint(home=home)
    home.revoke(card.authentication_certificate, x509.ReasonFlags.affiliation_changed)
    app = create_app(settings.model_copy(update={"jpki_trust_dir": home.trust_dir}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as api:
        probes = []
        for signature in (b"\x00" * 256, mint().sign(AUTH, b"anything")):
            body = {**signed_nonce(card, await challenge(api)), "signature": b64(signature)}
            probes.append(await api.post(LOGIN, json=body))
        owner = await login(api, card)
    await app.state.engine.dispose()
    for probe in probes:
        assert probe.status_code == 422
        body = probe.json()
        assert body["code"] == "JPKI_SIGNATURE_INVALID"
        assert not {"revocation_reason", "revocation_reason_ja", "revoked_at"} & set(body)
        assert "失効" not in probe.text and "revoked" not in probe.text
    # The card's holder, who proves possession, is told.
    assert owner.json()["code"] == "JPKI_CERT_REVOKED"
    assert owner.json()["revocation_reason"] == "affiliationChanged"


async def test_a_nonce_is_bound_to_the_client_that_asked_for_it(
    api: httpx.AsyncClient, mint: MintCard
) -> None:
    """The nonce travels to the card; whoever sees it there, even with the card's
    signature over it, cannot log in without the secret only the asking client got,
    nor spend the challenge for that client."""
    card = mint()
    nonce = await challenge(api)
    seen = signed_nonce(card, nonce)  # what a card app's hand-back would carry
    other = await challenge(api)
    for stolen in (
        {**seen, "challenge_secret": other.secret},  # a secret of the thief's own
        {**seen, "challenge_secret": nonce.secret[:-1] + ("A" if nonce.secret[-1] != "A" else "B")},
    ):
        refused = await api.post(LOGIN, json=stolen)
        assert refused.status_code == 422
        assert refused.json()["code"] == "JPKI_NONCE_INVALID"
        assert "access_token" not in refused.text
    without = {key: value for key, value in seen.items() if key != "challenge_secret"}
    missing = await api.post(LOGIN, json=without)
    assert missing.status_code == 422 and "access_token" not in missing.text
    # The client that asked still logs in with it: the thief's tries spent nothing.
    owner = await api.post(LOGIN, json=seen)
    assert owner.status_code == 200, owner.text


async def test_malformed_base64_is_refused(api: httpx.AsyncClient, mint: MintCard) -> None:
    nonce = await challenge(api)
    body = {**signed_nonce(mint(), nonce), "certificate": "not base64!"}
    response = await api.post(LOGIN, json=body)
    assert response.json()["code"] == "JPKI_CERTIFICATE_INVALID"


async def test_revoked_card_cannot_log_in_and_the_reason_is_given(
    settings: Settings,
    jpki_home: TestCaHome,
    mint: MintCard,
    tmp_path: Path,
    engine: object,
) -> None:
    home = copy_home(jpki_home, tmp_path / "trust")
    card = mint(home=home)
    home.revoke(card.authentication_certificate, x509.ReasonFlags.key_compromise)
    app = create_app(settings.model_copy(update={"jpki_trust_dir": home.trust_dir}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as api:
        response = await login(api, card)
    await app.state.engine.dispose()
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "JPKI_CERT_REVOKED"
    assert body["revocation_reason"] == "keyCompromise"
    assert "紛失" in body["detail_ja"]


async def test_unloadable_trust_directory_is_503(
    settings: Settings, mint: MintCard, tmp_path: Path, engine: object
) -> None:
    app = create_app(settings.model_copy(update={"jpki_trust_dir": tmp_path / "missing"}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as api:
        response = await login(api, mint())
    await app.state.engine.dispose()
    assert response.status_code == 503
    assert response.json()["code"] == "JPKI_TRUST_STORE_UNAVAILABLE"


async def test_login_is_documented_with_its_problem_codes(api: httpx.AsyncClient) -> None:
    schema = (await api.get("/openapi.json")).json()
    responses = schema["paths"]["/api/v1/auth/jpki/login"]["post"]["responses"]
    documented = responses["422"]["description"]
    for code in ("JPKI_SIGNATURE_INVALID", "JPKI_CERT_REVOKED", "JPKI_NONCE_INVALID"):
        assert code in documented
    assert "JPKI_CRL_EXPIRED" in responses["503"]["description"]
