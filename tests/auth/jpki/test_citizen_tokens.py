"""Citizen tokens: HS256 pinned, citizen-only key and `typ`, expiry enforced."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from jose import jwt

from app.auth import citizen_tokens, staff_tokens
from app.auth.citizen_tokens import CitizenTokenInvalid
from app.config import Settings

SUBJECT = "ab" * 32


@pytest.fixture
def settings() -> Settings:  # no database needed here
    return Settings(environment="test")


def _claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "typ": "citizen",
        "sub": SUBJECT,
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 600,
    }
    claims.update(overrides)
    return claims


def test_round_trip(settings: Settings) -> None:
    issued = citizen_tokens.issue(settings, subject=SUBJECT, now=datetime.now(UTC))
    claims = citizen_tokens.decode(settings, issued.access_token)
    assert claims.subject == SUBJECT
    assert issued.expires_in == settings.citizen_token_ttl_seconds
    header = json.loads(base64.urlsafe_b64decode(issued.access_token.split(".")[0] + "=="))
    assert header["alg"] == "HS256"
    assert citizen_tokens.looks_like_jwt(issued.access_token)
    assert not citizen_tokens.looks_like_jwt("sat_" + "x" * 43)


def test_expired_token_is_refused(settings: Settings) -> None:
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    issued = citizen_tokens.issue(settings, subject=SUBJECT, now=long_ago)
    with pytest.raises(CitizenTokenInvalid) as refused:
        citizen_tokens.decode(settings, issued.access_token)
    assert refused.value.status == 401


@pytest.mark.parametrize(
    "forge",
    [
        # signed with the raw secret instead of the citizen key
        lambda s: jwt.encode(_claims(), s.secret_key.get_secret_value(), algorithm="HS256"),
        # another HMAC size
        lambda s: jwt.encode(_claims(), citizen_tokens.signing_key(s), algorithm="HS512"),
        # right key, wrong type
        lambda s: jwt.encode(
            _claims(typ="staff"), citizen_tokens.signing_key(s), algorithm="HS256"
        ),
        # a subject that is not a card's subject id
        lambda s: jwt.encode(
            _claims(sub="someone"), citizen_tokens.signing_key(s), algorithm="HS256"
        ),
        # no expiry
        lambda s: jwt.encode(
            {k: v for k, v in _claims().items() if k != "exp"},
            citizen_tokens.signing_key(s),
            algorithm="HS256",
        ),
        # alg "none"
        lambda s: (
            base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
            + "."
            + base64.urlsafe_b64encode(json.dumps(_claims()).encode()).rstrip(b"=").decode()
            + "."
        ),
    ],
    ids=["raw-secret", "hs512", "typ-staff", "bad-subject", "no-exp", "alg-none"],
)
def test_forged_tokens_are_refused(settings: Settings, forge: object) -> None:
    token = forge(settings)  # type: ignore[operator]
    with pytest.raises(CitizenTokenInvalid):
        citizen_tokens.decode(settings, token)


def test_staff_and_citizen_tokens_do_not_cross(settings: Settings) -> None:
    staff = staff_tokens.issue(
        settings,
        staff_id=uuid.uuid4(),
        municipality_code="202193",
        roles=("admin",),
        now=datetime.now(UTC),
    )
    with pytest.raises(CitizenTokenInvalid):
        citizen_tokens.decode(settings, staff.access_token)
    citizen = citizen_tokens.issue(settings, subject=SUBJECT, now=datetime.now(UTC))
    with pytest.raises(staff_tokens.StaffTokenInvalid):
        staff_tokens.decode(settings, citizen.access_token)
