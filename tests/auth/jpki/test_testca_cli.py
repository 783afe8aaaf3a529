"""The shipped command, end to end: `python -m app.auth.jpki.testca` makes a CA, mints a
card, signs a login challenge with it, and revokes it; the API believes exactly that."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.auth.jpki.testca import SHIPPED_TRUST_DIR, TestCard
from app.config import PROJECT_ROOT, Settings
from app.main import create_app
from tests.auth.jpki.helpers import (
    ANSWERS,
    AUTH,
    b64,
    bearer,
    card_definition,
    challenge,
    create_draft,
    submit,
)
from tests.factories import TOMI, publish_definition, seed_municipalities

LOGIN = "/api/v1/auth/jpki/login"
PROCEDURE = "signed-certificate"


def run_testca(*arguments: str | Path) -> str:
    environment = {key: value for key, value in os.environ.items() if key != "JPKI_TRUST_DIR"}
    completed = subprocess.run(
        [sys.executable, "-m", "app.auth.jpki.testca", *map(str, arguments)],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip()


async def _client(settings: Settings, trust_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"jpki_trust_dir": trust_dir}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
    await app.state.engine.dispose()


@pytest.fixture
async def shipped_api(settings: Settings, engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(settings, SHIPPED_TRUST_DIR):
        yield client


async def test_full_flow_with_cards_from_the_shipped_command(
    settings: Settings,
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    """init -> mint-card -> login -> prefill -> signed submit -> マイページ -> revoke."""
    await seed_municipalities(session_factory)
    await publish_definition(session_factory, TOMI, card_definition(PROCEDURE, "jpki_sign"))
    trust, card = tmp_path / "trust", tmp_path / "card"
    output = run_testca("--trust-dir", trust, "init")
    assert "authentication CA 2015" in output and "signing CA 2023" in output
    assert (trust / "TEST_ONLY").exists()
    run_testca(
        "--trust-dir", trust, "mint-card",
        "--name", "上田　一郎",
        "--birth-date", "319700401",  # EYYYYMMDD is taken as written: 昭和45年
        "--sex", "1",
        "--address", "長野県上田市大手一丁目１１番１６号",
        "--generation", "2015",
        "--out", card,
    )  # fmt: skip

    def sign(key: str, *source: str | Path) -> dict[str, str]:
        return dict(json.loads(run_testca("sign", "--card", card, "--key", key, *source, "--json")))

    async for api in _client(settings, trust):
        nonce = await challenge(api)
        login = await api.post(
            LOGIN,
            json={
                "nonce": nonce,
                "challenge_secret": nonce.secret,
                **sign("auth", "--text", nonce),
            },
        )
        assert login.status_code == 200, login.text
        citizen = bearer(login.json()["access_token"])
        submission_id, _ = await create_draft(api, PROCEDURE, {"copies": 1}, headers=citizen)

        nonce = await challenge(api, purpose="prefill")
        prefill = await api.post(
            f"/api/v1/submissions/{submission_id}/prefill",
            json={
                "nonce": nonce,
                "challenge_secret": nonce.secret,
                **sign("sign", "--text", nonce),
            },
            headers=citizen,
        )
        assert prefill.status_code == 200, prefill.text
        assert prefill.json()["answers"]["birth_date"] == "1970-04-01"
        assert prefill.json()["answers"]["sex"] == "male"
        answers = prefill.json()["answers"]
        answers["applicant_name_kana"]["kana"] = "ウエダ　イチロウ"  # the card has no フリガナ
        edit = await api.patch(
            f"/api/v1/submissions/{submission_id}", json={"answers": answers}, headers=citizen
        )
        assert "applicant_name_kana" not in edit.json()["prefilled_from_card"]

        document = await api.get(
            f"/api/v1/submissions/{submission_id}/signing-document", headers=citizen
        )
        document_file = tmp_path / "document.json"
        document_file.write_bytes(document.json()["document"].encode("utf-8"))
        submitted = await submit(api, submission_id, citizen, sign("sign", "--file", document_file))
        assert submitted.status_code == 200, submitted.text
        mine = (await api.get("/api/v1/me/submissions", headers=citizen)).json()
        assert [item["id"] for item in mine["items"]] == [submission_id]

        # 転居: the signing certificate is revoked; the login certificate too (紛失).
        for certificate, reason in (("sign", "affiliation_changed"), ("auth", "key_compromise")):
            revoked = run_testca(
                "--trust-dir", trust, "revoke",
                "--card", card, "--certificate", certificate, "--reason", reason,
            )  # fmt: skip
            assert "revoked" in revoked
    async for api in _client(settings, trust):  # a fresh app reads the new CRLs
        draft_id, owner = await create_draft(api, PROCEDURE, ANSWERS)
        document = await api.get(f"/api/v1/submissions/{draft_id}/signing-document", headers=owner)
        document_file.write_bytes(document.json()["document"].encode("utf-8"))
        refused = await submit(api, draft_id, owner, sign("sign", "--file", document_file))
        assert refused.json()["code"] == "JPKI_CERT_REVOKED"
        assert refused.json()["revocation_reason"] == "affiliationChanged"
        nonce = await challenge(api)
        refused = await api.post(
            LOGIN,
            json={
                "nonce": nonce,
                "challenge_secret": nonce.secret,
                **sign("auth", "--text", nonce),
            },
        )
        assert refused.json()["code"] == "JPKI_CERT_REVOKED"
        assert refused.json()["revocation_reason"] == "keyCompromise"


async def test_a_card_minted_from_the_shipped_test_ca_logs_in_by_default(
    shipped_api: httpx.AsyncClient, tmp_path: Path
) -> None:
    assert Settings(environment="development").jpki_trust_dir == SHIPPED_TRUST_DIR
    card = tmp_path / "card"
    run_testca(
        "mint-card",
        "--name", "東御　太郎",
        "--birth-date", "2019-05-01",
        "--sex", "male",
        "--address", "長野県東御市県２８１番地２",
        "--out", card,
    )  # fmt: skip
    assert json.loads((card / "card.json").read_text(encoding="utf-8"))["test_only"]
    nonce = await challenge(shipped_api)
    body = {
        "nonce": nonce,
        "challenge_secret": nonce.secret,
        "signature": run_testca("sign", "--card", card, "--key", "auth", "--text", nonce),
        "certificate": b64(TestCard.load(card).certificate_der(AUTH)),
    }
    assert (await shipped_api.post(LOGIN, json=body)).status_code == 200


def test_refuses_to_overwrite_a_trust_directory(tmp_path: Path) -> None:
    run_testca("--trust-dir", tmp_path / "trust", "init", "--generations", "2023")
    command = ["--trust-dir", str(tmp_path / "trust"), "init"]
    completed = subprocess.run(
        [sys.executable, "-m", "app.auth.jpki.testca", *command],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 2
    assert "not empty" in completed.stderr
