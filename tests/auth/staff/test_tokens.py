"""Staff access tokens: every forged, stale or foreign token is refused with 401, and a
disabled account or a logged-out token loses access at once."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwt
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth import staff_tokens
from app.auth.staff_models import StaffUser
from app.config import Settings
from tests.factories import STAFF_PASSWORD, create_staff, seed_municipalities, staff_headers

ME = "/api/v1/admin/auth/me"
PROBLEM = "application/problem+json"


@pytest.fixture
async def admin(session_factory: async_sessionmaker[AsyncSession]) -> StaffUser:
    await seed_municipalities(session_factory)
    return await create_staff(session_factory, roles=("admin",))


def _claims(staff: StaffUser, **overrides: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "typ": "staff",
        "sub": str(staff.id),
        "municipality": staff.municipality_code,
        "roles": list(staff.roles),
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 600,
    }
    claims.update(overrides)
    return {key: value for key, value in claims.items() if value is not None}


def _segment(data: dict[str, object]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def _me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get(ME, headers={"Authorization": f"Bearer {token}"})


def _assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "STAFF_TOKEN_INVALID"


async def test_a_valid_token_works(
    client: httpx.AsyncClient, settings: Settings, admin: StaffUser
) -> None:
    response = await client.get(ME, headers=staff_headers(settings, admin))
    assert response.status_code == 200
    assert response.json()["email"] == admin.email


async def test_no_token_is_401(client: httpx.AsyncClient, admin: StaffUser) -> None:
    response = await client.get(ME)
    assert response.status_code == 401
    assert response.json()["code"] == "STAFF_AUTHENTICATION_REQUIRED"


async def test_tampered_token_is_refused(
    client: httpx.AsyncClient, settings: Settings, admin: StaffUser
) -> None:
    token = staff_tokens.issue(
        settings,
        staff_id=admin.id,
        municipality_code=admin.municipality_code,
        roles=("analyst",),
        now=datetime.now(UTC),
    ).access_token
    header, _, signature = token.split(".")
    # Same signature, payload promoted to admin of another municipality.
    forged_payload = _segment(_claims(admin, roles=["admin"], municipality="202037"))
    _assert_refused(await _me(client, f"{header}.{forged_payload}.{signature}"))
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    _assert_refused(await _me(client, f"{header}.{token.split('.')[1]}.{flipped}"))


async def test_expired_token_is_refused(
    client: httpx.AsyncClient, settings: Settings, admin: StaffUser
) -> None:
    issued = staff_tokens.issue(
        settings,
        staff_id=admin.id,
        municipality_code=admin.municipality_code,
        roles=tuple(admin.roles),
        now=datetime.now(UTC) - timedelta(seconds=settings.staff_token_ttl_seconds + 5),
    )
    _assert_refused(await _me(client, issued.access_token))


async def test_alg_none_is_refused(client: httpx.AsyncClient, admin: StaffUser) -> None:
    for alg in ("none", "None", "NONE"):
        unsigned = f"{_segment({'alg': alg, 'typ': 'JWT'})}.{_segment(_claims(admin))}."
        _assert_refused(await _me(client, unsigned))


async def test_other_hmac_algorithms_with_the_right_key_are_refused(
    client: httpx.AsyncClient, settings: Settings, admin: StaffUser
) -> None:
    key = staff_tokens.signing_key(settings)
    for alg in ("HS384", "HS512"):
        _assert_refused(await _me(client, jwt.encode(_claims(admin), key, algorithm=alg)))


async def test_rs_hs_confusion_is_refused(client: httpx.AsyncClient, admin: StaffUser) -> None:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # An RS256 token (the server must not accept asymmetric algorithms at all)...
    _assert_refused(await _me(client, jwt.encode(_claims(admin), private_pem, algorithm="RS256")))
    # ...and the classic confusion: HS256 "signed" with a public key as the HMAC secret.
    header = _segment({"alg": "HS256", "typ": "JWT"})
    payload = _segment(_claims(admin))
    mac = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    signature = base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    _assert_refused(await _me(client, f"{header}.{payload}.{signature}"))


async def test_token_signed_with_the_raw_secret_is_refused(
    client: httpx.AsyncClient, settings: Settings, admin: StaffUser
) -> None:
    """A token from another part of the system signed with the shared secret itself (e.g.
    a citizen token) is not a staff token: staff tokens use a key derived for them."""
    raw_secret = settings.secret_key.get_secret_value()
    _assert_refused(await _me(client, jwt.encode(_claims(admin), raw_secret, algorithm="HS256")))


async def test_token_of_another_type_or_missing_claims_is_refused(
    client: httpx.AsyncClient, settings: Settings, admin: StaffUser
) -> None:
    key = staff_tokens.signing_key(settings)
    for claims in (
        _claims(admin, typ="citizen"),
        _claims(admin, typ=None),
        _claims(admin, jti=None),
        _claims(admin, exp=None),
        _claims(admin, iat=None),
        _claims(admin, roles="admin"),
        _claims(admin, sub="not-a-uuid"),
        _claims(admin, sub=str(uuid.uuid4())),
        _claims(admin, municipality="202037"),
    ):
        _assert_refused(await _me(client, jwt.encode(claims, key, algorithm="HS256")))


async def test_logout_revokes_the_token_but_not_others(
    client: httpx.AsyncClient, settings: Settings, admin: StaffUser
) -> None:
    first = staff_headers(settings, admin)
    second = staff_headers(settings, admin)
    logout = await client.post("/api/v1/admin/auth/logout", headers=first)
    assert logout.status_code == 204
    refused = await client.get(ME, headers=first)
    _assert_refused(refused)
    assert (await client.post("/api/v1/admin/auth/logout", headers=first)).status_code == 401
    assert (await client.get(ME, headers=second)).status_code == 200


async def test_disabled_account_loses_access_at_once(
    client: httpx.AsyncClient,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    admin: StaffUser,
) -> None:
    reviewer = await create_staff(session_factory, roles=("reviewer",))
    reviewer_headers = staff_headers(settings, reviewer)
    assert (await client.get(ME, headers=reviewer_headers)).status_code == 200

    disabled = await client.patch(
        f"/api/v1/admin/staff/{reviewer.id}",
        json={"disabled": True},
        headers=staff_headers(settings, admin),
    )
    assert disabled.status_code == 200
    assert disabled.json()["disabled_at"] is not None
    _assert_refused(await client.get(ME, headers=reviewer_headers))


async def test_a_removed_role_is_gone_at_once(
    client: httpx.AsyncClient,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    admin: StaffUser,
) -> None:
    """Roles come from the account on every request, not from the token's claims."""
    second_admin = await create_staff(session_factory, roles=("admin", "reviewer"))
    headers = staff_headers(settings, second_admin)
    assert (await client.get("/api/v1/admin/staff", headers=headers)).status_code == 200
    demoted = await client.patch(
        f"/api/v1/admin/staff/{second_admin.id}",
        json={"roles": ["reviewer"]},
        headers=staff_headers(settings, admin),
    )
    assert demoted.status_code == 200
    refused = await client.get("/api/v1/admin/staff", headers=headers)
    assert refused.status_code == 403
    assert refused.json()["code"] == "STAFF_FORBIDDEN"


async def _sign_in(client: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    response = await client.post(
        "/api/v1/admin/auth/token", data={"username": email, "password": password}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_a_password_change_ends_every_earlier_token(
    client: httpx.AsyncClient, admin: StaffUser
) -> None:
    """Whoever signed in with the old password (a colleague's laptop, a thief) is out."""
    here = await _sign_in(client, admin.email, STAFF_PASSWORD)
    elsewhere = await _sign_in(client, admin.email, STAFF_PASSWORD)
    changed = await client.post(
        "/api/v1/admin/auth/password",
        json={"current_password": STAFF_PASSWORD, "new_password": "a-brand-new-passphrase"},
        headers=here,
    )
    assert changed.status_code == 204
    _assert_refused(await _me(client, elsewhere["Authorization"].removeprefix("Bearer ")))
    _assert_refused(await _me(client, here["Authorization"].removeprefix("Bearer ")))
    fresh = await _sign_in(client, admin.email, "a-brand-new-passphrase")
    assert (await client.get(ME, headers=fresh)).status_code == 200


async def test_a_disable_and_re_enable_ends_earlier_tokens(
    client: httpx.AsyncClient,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    admin: StaffUser,
) -> None:
    reviewer = await create_staff(session_factory, roles=("reviewer",))
    before = await _sign_in(client, reviewer.email, STAFF_PASSWORD)
    admin_headers = staff_headers(settings, admin)
    for disabled in (True, False):
        response = await client.patch(
            f"/api/v1/admin/staff/{reviewer.id}", json={"disabled": disabled}, headers=admin_headers
        )
        assert response.status_code == 200
    _assert_refused(await client.get(ME, headers=before))
    after = await _sign_in(client, reviewer.email, STAFF_PASSWORD)
    assert (await client.get(ME, headers=after)).status_code == 200


async def test_a_token_naming_another_generation_is_refused(
    client: httpx.AsyncClient, settings: Settings, admin: StaffUser
) -> None:
    key = staff_tokens.signing_key(settings)
    for generation in (1, -1, "0", 0.0):
        claims = _claims(admin, gen=generation)
        _assert_refused(await _me(client, jwt.encode(claims, key, algorithm="HS256")))
    assert (
        await _me(client, jwt.encode(_claims(admin), key, algorithm="HS256"))
    ).status_code == 200
