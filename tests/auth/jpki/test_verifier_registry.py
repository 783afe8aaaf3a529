"""The verifier is a plugin chosen by `JPKI_VERIFIER`; `/readyz` reports its CRLs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth.jpki import verifiers
from app.auth.jpki.errors import JpkiUntrustedIssuer
from app.auth.jpki.testca import TestCaHome, issue_crl
from app.auth.jpki.verifier import (
    CertificateKind,
    LocalVerifier,
    SignedData,
    VerifiedCertificate,
    VerifierHealth,
)
from app.config import Settings
from app.db import utcnow
from app.main import create_app
from tests.auth.jpki.conftest import MintCard
from tests.auth.jpki.helpers import SIGN, copy_home, login


class RefusingVerifier:
    """A verifier registered by a test: refuses every card, reports itself ready."""

    async def verify(
        self, signed: SignedData, *, kind: CertificateKind, now: datetime
    ) -> VerifiedCertificate:
        raise JpkiUntrustedIssuer("refused by the test verifier", "テスト用の検証器が拒否しました")

    async def health(self, *, now: datetime) -> VerifierHealth:
        return VerifierHealth("ok")


@pytest.fixture(autouse=True)
def patient_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read the trust store's state once loaded: /readyz waits long enough
    for the first load on a busy machine (1 s answered `loading` at load average 12)."""
    monkeypatch.setattr(verifiers, "PROBE_WAIT_SECONDS", 30.0)


@pytest.fixture
def refusing() -> Iterator[str]:
    verifiers.register("refusing-test")(lambda settings: RefusingVerifier())
    yield "refusing-test"
    verifiers._factories.pop("refusing-test")


def test_the_local_verifier_is_the_default_and_an_unknown_name_is_refused() -> None:
    assert Settings().jpki_verifier == "local"
    assert "local" in verifiers.available()
    with pytest.raises(ValidationError, match=r"JPKI_VERIFIER must be one of .*local"):
        Settings(jpki_verifier="ocsp-not-yet")
    assert isinstance(verifiers.build(Settings()), LocalVerifier)


async def test_the_app_uses_the_verifier_the_setting_names(
    settings: Settings, engine: AsyncEngine, mint: MintCard, refusing: str
) -> None:
    app = create_app(settings.model_copy(update={"jpki_verifier": refusing}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as api:
        response = await login(api, mint())
    await app.state.engine.dispose()
    assert response.status_code == 422
    assert response.json()["code"] == "JPKI_UNTRUSTED_ISSUER"
    assert response.json()["detail"] == "refused by the test verifier"


async def readyz(settings: Settings, trust_dir: Path) -> httpx.Response:
    app = create_app(settings.model_copy(update={"jpki_trust_dir": trust_dir}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/readyz")
    await app.state.engine.dispose()
    return response


async def test_readyz_reports_each_crl_and_is_503_when_one_is_stale(
    settings: Settings, engine: AsyncEngine, jpki_home: TestCaHome, tmp_path: Path
) -> None:
    fresh = await readyz(settings, jpki_home.trust_dir)
    assert fresh.status_code == 200, fresh.text
    states = {(i["certificate_type"], i["generation"]): i for i in fresh.json()["revocation_lists"]}
    assert set(states) == {("authentication", 2015), ("authentication", 2023),
                           ("signing", 2015), ("signing", 2023)}  # fmt: skip
    assert all(item["state"] == "fresh" and item["next_update"] for item in states.values())

    home = copy_home(jpki_home, tmp_path / "trust")
    authority = home.authority(SIGN)
    stale = issue_crl(
        authority,
        this_update=utcnow() - timedelta(days=3),
        next_update=utcnow() - timedelta(days=1),
        number=99,
    )
    (home.trust_dir / f"{authority.stem}.crl").write_bytes(
        stale.public_bytes(serialization.Encoding.PEM)
    )
    response = await readyz(settings, home.trust_dir)
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "NOT_READY" and body["jpki"] == "stale"
    assert body["database"] == "ok" and body["migrations"] == "ok"
    by_type = {
        (i["certificate_type"], i["generation"]): i["state"] for i in body["revocation_lists"]
    }
    assert by_type[("signing", 2023)] == "stale"
    assert by_type[("authentication", 2023)] == "fresh"


async def test_readyz_is_503_when_the_trust_directory_cannot_be_loaded(
    settings: Settings, engine: AsyncEngine, tmp_path: Path
) -> None:
    response = await readyz(settings, tmp_path / "missing")
    assert response.status_code == 503
    assert response.json()["jpki"] == "unavailable"


async def test_readyz_allows_jpki_clock_skew_seconds_past_next_update_and_names_the_crl(
    settings: Settings, engine: AsyncEngine, jpki_home: TestCaHome, tmp_path: Path
) -> None:
    """A CRL due 2 minutes ago: ready within the default 300 s allowance, not without
    one, and the problem names the CRL to renew."""
    home = copy_home(jpki_home, tmp_path / "trust")
    authority = home.authority(SIGN)
    due = issue_crl(
        authority,
        this_update=utcnow() - timedelta(days=1),
        next_update=utcnow() - timedelta(minutes=2),
        number=77,
    )
    crl_file = home.trust_dir / f"{authority.stem}.crl"
    crl_file.write_bytes(due.public_bytes(serialization.Encoding.PEM))

    tolerant = await readyz(settings, home.trust_dir)
    assert tolerant.status_code == 200, tolerant.text
    assert {i["state"] for i in tolerant.json()["revocation_lists"]} == {"fresh"}

    strict = await readyz(
        settings.model_copy(update={"jpki_clock_skew_seconds": 0}), home.trust_dir
    )
    assert strict.status_code == 503
    body = strict.json()
    assert body["jpki"] == "stale"
    (held,) = [i for i in body["revocation_lists"] if i["state"] != "fresh"]
    assert (held["certificate_type"], held["generation"]) == ("signing", 2023)
    assert held["crl"] == crl_file.name and held["crl_number"] == 77
    assert crl_file.name in body["detail"] and crl_file.name in body["detail_ja"]
