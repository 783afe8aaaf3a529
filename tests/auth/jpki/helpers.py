"""Small helpers shared by the My Number card tests."""

from __future__ import annotations

import base64
import itertools
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from app.auth.jpki.facts import Sex
from app.auth.jpki.testca import CardHolder, TestCaHome, TestCard, new_key
from app.auth.jpki.verifier import CertificateKind
from tests.factories import TOMI, simple_definition

PROBLEM = "application/problem+json"
AUTH = CertificateKind.AUTHENTICATION
SIGN = CertificateKind.SIGNING

HANAKO = CardHolder(
    name="東御　花子",
    birth_date=date(2019, 5, 1),  # 令和元年5月1日, the first day of 令和
    sex=Sex.FEMALE,
    address="長野県東御市県２８１番地２",
)


class KeyPool:
    """RSA keys made once per run and handed out in turn (generation is the slow part)."""

    def __init__(self, size: int = 6) -> None:
        self._cycle: Iterator[rsa.RSAPrivateKey] = itertools.cycle([new_key() for _ in range(size)])

    def pair(self) -> tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]:
        return next(self._cycle), next(self._cycle)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def copy_home(home: TestCaHome, target: Path) -> TestCaHome:
    """A private copy of a test CA home, for tests that revoke or replace files."""
    shutil.copytree(home.trust_dir, target)
    return TestCaHome(target)


class Nonce(str):
    """A challenge's nonce (the text the card signs) with the `challenge_secret` the
    server gave only to the client that asked for it."""

    secret: str

    def __new__(cls, nonce: str, secret: str) -> Nonce:
        made = super().__new__(cls, nonce)
        made.secret = secret
        return made


async def challenge(api: httpx.AsyncClient, purpose: str = "login") -> Nonce:
    response = await api.post("/api/v1/auth/jpki/challenge", json={"purpose": purpose})
    assert response.status_code == 200, response.text
    body = response.json()
    return Nonce(body["nonce"], body["challenge_secret"])


def signed_nonce(card: TestCard, nonce: Nonce, kind: CertificateKind = AUTH) -> dict[str, Any]:
    return {
        "nonce": nonce,
        "challenge_secret": nonce.secret,
        "certificate": b64(card.certificate_der(kind)),
        "signature": b64(card.sign(kind, nonce.encode())),
    }


async def login(api: httpx.AsyncClient, card: TestCard) -> httpx.Response:
    nonce = await challenge(api)
    return await api.post("/api/v1/auth/jpki/login", json=signed_nonce(card, nonce))


async def citizen_token(api: httpx.AsyncClient, card: TestCard) -> str:
    response = await login(api, card)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


SEX_OPTIONS = [
    {"value": "male", "label": {"ja": "男", "en": "Male"}},
    {"value": "female", "label": {"ja": "女", "en": "Female"}},
    {"value": "unknown", "label": {"ja": "不明", "en": "Unknown"}},
]


def card_definition(code: str, identity_requirement: str = "jpki_sign") -> dict[str, Any]:
    """A small procedure whose applicant fields map to the card's 基本4情報."""
    return simple_definition(
        code,
        identity_requirement=identity_requirement,
        steps=[
            {
                "key": "applicant",
                "title": {"ja": "申請者", "en": "Applicant"},
                "fields": [
                    {
                        "key": "applicant_name",
                        "type": "text",
                        "label": {"ja": "氏名", "en": "Name"},
                        "required": True,
                        "prefill": "name",
                    },
                    {
                        "key": "applicant_name_kana",
                        "type": "name_with_kana",
                        "label": {"ja": "氏名（フリガナ）", "en": "Name and reading"},
                        "prefill": "name",
                    },
                    {
                        "key": "birth_date",
                        "type": "date",
                        "label": {"ja": "生年月日", "en": "Date of birth"},
                        "required": True,
                        "prefill": "birth_date",
                    },
                    {
                        "key": "sex",
                        "type": "radio",
                        "label": {"ja": "性別", "en": "Sex"},
                        "options": SEX_OPTIONS,
                        "prefill": "sex",
                    },
                    {
                        "key": "address",
                        "type": "text",
                        "label": {"ja": "住所", "en": "Address"},
                        "required": True,
                        "prefill": "address",
                    },
                    {
                        "key": "copies",
                        "type": "integer",
                        "label": {"ja": "通数", "en": "Copies"},
                        "required": True,
                        "minimum": 1,
                        "maximum": 10,
                    },
                ],
            }
        ],
    )


ANSWERS = {
    "applicant_name": "東御　花子",
    "birth_date": "2019-05-01",
    "address": "長野県東御市県281番地2",
    "copies": 1,
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def create_url(procedure: str) -> str:
    return f"/api/v1/municipalities/{TOMI}/procedures/{procedure}/submissions"


async def create_draft(
    api: httpx.AsyncClient,
    procedure: str,
    answers: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[str, dict[str, str]]:
    """A draft's id and the headers that own it (the access token, or the login given)."""
    response = await api.post(
        create_url(procedure), json={"answers": answers or {}}, headers=headers or {}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    owner = headers or bearer(body["access_token"])
    return body["id"], owner


async def sign_submission(
    api: httpx.AsyncClient, card: TestCard, submission_id: str, owner: dict[str, str]
) -> dict[str, str]:
    """What a card application sends with submit: the signing certificate and its
    signature over the signing document."""
    response = await api.get(f"/api/v1/submissions/{submission_id}/signing-document", headers=owner)
    assert response.status_code == 200, response.text
    document = response.json()["document"].encode("utf-8")
    return {
        "certificate": b64(card.certificate_der(SIGN)),
        "signature": b64(card.sign(SIGN, document)),
    }


async def submit(
    api: httpx.AsyncClient,
    submission_id: str,
    owner: dict[str, str],
    body: dict[str, str] | None = None,
    key: str | None = None,
) -> httpx.Response:
    headers = {**owner, **({"Idempotency-Key": key} if key else {})}
    return await api.post(
        f"/api/v1/submissions/{submission_id}/submit", json=body or {}, headers=headers
    )
