"""Staff accounts: creation, passwords (argon2id), sign-in, the principal behind a token,
logout. Never commits: the caller owns the transaction."""

from __future__ import annotations

import asyncio
import unicodedata
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.audit.service import Actor, AuditActor
from app.auth import staff_tokens
from app.auth.staff_models import RevokedStaffToken, StaffRole, StaffUser
from app.config import Settings
from app.db import fetch_page
from app.errors import AppError, Conflict, NotFound, ValidationFailed
from app.municipalities.service import get_municipality

PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 256
_ROLE_VALUES = frozenset(role.value for role in StaffRole)


class InvalidCredentials(AppError, code="INVALID_CREDENTIALS", status=401): ...


class SignInFailed(InvalidCredentials):
    """A refused sign-in, with what the audit log keeps of it (never the password, never
    the login id typed). Answers exactly like InvalidCredentials."""

    def __init__(self, staff: StaffUser | None, reason: str) -> None:
        super().__init__()
        self.staff_id = staff.id if staff is not None else None
        self.municipality_code = staff.municipality_code if staff is not None else ""
        self.reason = reason


class StaffAuthenticationRequired(AppError, code="STAFF_AUTHENTICATION_REQUIRED", status=401): ...


class StaffForbidden(AppError, code="STAFF_FORBIDDEN", status=403): ...


class StaffNotFound(NotFound, code="STAFF_NOT_FOUND"): ...


class StaffEmailTaken(Conflict, code="STAFF_EMAIL_TAKEN"): ...


class StaffAccountInvalid(ValidationFailed, code="STAFF_ACCOUNT_INVALID"): ...


class WeakPassword(ValidationFailed, code="WEAK_PASSWORD"): ...


class SelfLockout(Conflict, code="STAFF_SELF_LOCKOUT"): ...


@dataclass(frozen=True)
class StaffPrincipal:
    """The signed-in staff member of one request, as loaded from the database."""

    id: uuid.UUID
    municipality_code: str
    department: str
    display_name: str
    roles: frozenset[StaffRole]
    token_jti: str
    token_expires_at: datetime
    department_scope: str | None = None
    """Set when the route limits this principal to one department's procedures."""

    actor_type = "staff"

    @property
    def actor_id(self) -> str:
        return str(self.id)

    @property
    def is_admin(self) -> bool:
        return StaffRole.ADMIN in self.roles


@lru_cache
def _hasher() -> PasswordHasher:
    # argon2-cffi's defaults are RFC 9106's low-memory profile, argon2id.
    return PasswordHasher()


@lru_cache
def _dummy_hash() -> str:
    """Verified against when the account does not exist, so a wrong email costs as long
    as a wrong password and timing reveals no account."""
    return _hasher().hash(uuid.uuid4().hex)


async def hash_password(password: str) -> str:
    check_password_strength(password)
    # argon2 takes tens of milliseconds of CPU: keep it off the event loop.
    return await asyncio.to_thread(_hasher().hash, password)


async def _verify(password_hash: str, password: str) -> bool:
    try:
        return await asyncio.to_thread(_hasher().verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_password_strength(password: str) -> None:
    if not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
        raise WeakPassword(
            f"Use between {PASSWORD_MIN_LENGTH} and {PASSWORD_MAX_LENGTH} characters.",
            f"{PASSWORD_MIN_LENGTH}文字以上{PASSWORD_MAX_LENGTH}文字以下にしてください。",
        )
    if len(set(password)) < 5:
        raise WeakPassword(
            "Use more different characters.", "もっと多くの種類の文字を使ってください。"
        )


def login_id(username: str) -> str:
    """The one form of a login id that sign-in, account creation and the sign-in rate
    limits all use: NFKC (full-width ａ＠ → a@), case-folded, stripped of surrounding
    whitespace (tabs and the ideographic space U+3000 included)."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())
    return folded.strip()


def normalize_email(email: str) -> str:
    normalized = login_id(email)
    local, _, domain = normalized.partition("@")
    if not local or "." not in domain or len(normalized) > 254 or " " in normalized:
        raise StaffAccountInvalid(
            "Give a valid email address as the login id.",
            "ログインIDには正しいメールアドレスを指定してください。",
        )
    return normalized


async def _refuse_another_municipalitys_domain(
    session: AsyncSession, municipality_code: str, email: str
) -> None:
    """Login ids stay unique across the deployment (one token endpoint for all), so
    whether an id exists must not leak to another municipality's admin through 409 vs
    201. A mail domain belongs to the municipalities whose accounts use it: an id in a
    domain only others use is refused, the same way whether or not that id exists."""
    domain = email.rpartition("@")[2]
    users = await session.scalars(
        select(StaffUser.municipality_code)
        .where(StaffUser.email.endswith(f"@{domain}", autoescape=True))
        .distinct()
    )
    owners = set(users)
    if owners and municipality_code not in owners:
        raise StaffEmailTaken(
            "This login id's mail domain is used by another municipality's accounts; "
            "use an address of your own municipality.",
            "このログインIDのドメインは他の団体のアカウントが使用しています。"
            "自団体のメールアドレスを指定してください。",
        )


def parse_roles(roles: Iterable[str]) -> list[StaffRole]:
    """Known roles, deduplicated in a stable order; at least one."""
    given = {role.strip() for role in roles if role.strip()}
    unknown = sorted(given - _ROLE_VALUES)
    if unknown or not given:
        raise StaffAccountInvalid(
            f"Roles must be some of {', '.join(StaffRole)}; got {', '.join(unknown) or 'none'}.",
            f"役割は{', '.join(StaffRole)}から指定してください。",
        )
    return [role for role in StaffRole if role.value in given]


def _require_department(department: str) -> str:
    department = department.strip()
    if not department or len(department) > 100:
        raise StaffAccountInvalid(
            "Give the department (所属課) as written in the procedure definitions.",
            "所属課を手続定義と同じ表記で指定してください。",
        )
    return department


async def create_staff(
    session: AsyncSession,
    actor: Actor,
    *,
    municipality_code: str,
    email: str,
    display_name: str,
    department: str,
    roles: Iterable[str],
    password: str,
) -> StaffUser:
    await get_municipality(session, municipality_code)
    email = normalize_email(email)
    await _refuse_another_municipalitys_domain(session, municipality_code, email)
    if await session.scalar(select(StaffUser.id).where(StaffUser.email == email)) is not None:
        raise StaffEmailTaken()
    staff = StaffUser(
        municipality_code=municipality_code,
        email=email,
        display_name=display_name.strip() or email,
        department=_require_department(department),
        roles=[role.value for role in parse_roles(roles)],
        password_hash=await hash_password(password),
    )
    session.add(staff)
    await session.flush()
    await audit.record(
        session,
        actor,
        "staff.create",
        "staff",
        staff.id,
        municipality_code,
        details={"roles": staff.roles, "department": staff.department},
    )
    return staff


async def get_staff(
    session: AsyncSession, municipality_code: str, staff_id: uuid.UUID
) -> StaffUser:
    """Another municipality's staff member is simply not found."""
    staff = await session.scalar(
        select(StaffUser).where(
            StaffUser.id == staff_id, StaffUser.municipality_code == municipality_code
        )
    )
    if staff is None:
        raise StaffNotFound()
    return staff


async def display_names(
    session: AsyncSession, municipality_code: str, staff_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """The display names of these staff members of the municipality, by id."""
    if not staff_ids:
        return {}
    rows = await session.execute(
        select(StaffUser.id, StaffUser.display_name).where(
            StaffUser.id.in_(staff_ids), StaffUser.municipality_code == municipality_code
        )
    )
    return {staff_id: name for staff_id, name in rows}


async def get_staff_by_email(session: AsyncSession, email: str) -> StaffUser | None:
    return await session.scalar(select(StaffUser).where(StaffUser.email == normalize_email(email)))


async def list_staff(
    session: AsyncSession, municipality_code: str, *, limit: int, offset: int
) -> tuple[list[StaffUser], int]:
    statement = (
        select(StaffUser)
        .where(StaffUser.municipality_code == municipality_code)
        .order_by(StaffUser.email)
    )
    return await fetch_page(session, statement, limit=limit, offset=offset)


async def update_staff(
    session: AsyncSession,
    actor: StaffPrincipal,
    staff: StaffUser,
    *,
    display_name: str | None = None,
    department: str | None = None,
    roles: Iterable[str] | None = None,
    disabled: bool | None = None,
    now: datetime,
) -> StaffUser:
    """Change an account. Disabling takes effect on the account's next request."""
    new_roles = [role.value for role in parse_roles(roles)] if roles is not None else staff.roles
    if staff.id == actor.id and (disabled or StaffRole.ADMIN.value not in new_roles):
        # The last admin locking themselves out would need a database edit to undo.
        raise SelfLockout()
    staff.roles = new_roles
    if display_name is not None:
        staff.display_name = display_name.strip() or staff.email
    if department is not None:
        staff.department = _require_department(department)
    if disabled is not None and disabled != (staff.disabled_at is not None):
        staff.disabled_at = now if disabled else None
        # A re-enabled account starts afresh: tokens from before the disable stay dead.
        staff.token_generation += 1
    await session.flush()
    changed = {
        "display_name": display_name,
        "department": department,
        "roles": new_roles if roles is not None else None,
        "disabled": disabled,
    }
    await audit.record(
        session,
        actor,
        "staff.update",
        "staff",
        staff.id,
        staff.municipality_code,
        details={key: value for key, value in changed.items() if value is not None},
    )
    return staff


async def sign_in(
    session: AsyncSession, settings: Settings, email: str, password: str, *, now: datetime
) -> tuple[StaffUser, staff_tokens.IssuedToken]:
    """Check the password and issue an access token. Unknown account, wrong password and
    disabled account fail the same way, after the same amount of work."""
    try:
        staff = await get_staff_by_email(session, email)
    except StaffAccountInvalid:
        staff = None
    password_ok = await _verify(staff.password_hash if staff else _dummy_hash(), password)
    if staff is None:
        raise SignInFailed(None, "unknown_account")
    if not password_ok:
        raise SignInFailed(staff, "wrong_password")
    if staff.disabled_at is not None:
        raise SignInFailed(staff, "disabled")
    if _hasher().check_needs_rehash(staff.password_hash):
        staff.password_hash = await asyncio.to_thread(_hasher().hash, password)
        await session.flush()
    token = staff_tokens.issue(
        settings,
        staff_id=staff.id,
        municipality_code=staff.municipality_code,
        roles=tuple(staff.roles),
        now=now,
        generation=staff.token_generation,
    )
    await audit.record(
        session,
        AuditActor("staff", str(staff.id)),
        "staff.sign_in",
        "staff",
        staff.id,
        staff.municipality_code,
        details={"jti": token.claims.jti},
    )
    return staff, token


async def record_failed_sign_in(session: AsyncSession, failed: SignInFailed) -> None:
    """The audit entry of a refused sign-in, written in its own transaction by the caller
    (the request's rolls back). Attempts naming no account are kept with an empty
    municipality code: the operator's, no municipality's."""
    await audit.record(
        session,
        AuditActor("anonymous", "-"),
        "staff.sign_in_failed",
        "staff",
        failed.staff_id or "-",
        failed.municipality_code,
        details={"reason": failed.reason},
    )


async def change_password(
    session: AsyncSession, principal: StaffPrincipal, current_password: str, new_password: str
) -> None:
    staff = await session.get_one(StaffUser, principal.id)
    if not await _verify(staff.password_hash, current_password):
        raise InvalidCredentials(
            "The current password is wrong.", "現在のパスワードが正しくありません。"
        )
    staff.password_hash = await hash_password(new_password)
    # Every token issued so far ends, this request's included: whoever knew the old
    # password must not keep a session.
    staff.token_generation += 1
    await session.flush()
    await audit.record(
        session, principal, "staff.password_change", "staff", staff.id, staff.municipality_code
    )


async def principal_for_token(
    session: AsyncSession, settings: Settings, token: str | None
) -> StaffPrincipal:
    """The staff member a bearer token stands for, checked against the database on every
    request: a revoked token, a disabled account, a moved account, or a token from before
    a password change or a disable/re-enable is refused at once."""
    if not token:
        raise StaffAuthenticationRequired()
    claims = staff_tokens.decode(settings, token)
    row = (
        await session.execute(
            select(StaffUser, RevokedStaffToken.jti)
            .outerjoin(RevokedStaffToken, RevokedStaffToken.jti == claims.jti)
            .where(StaffUser.id == claims.staff_id)
        )
    ).first()
    if row is None:
        raise staff_tokens.StaffTokenInvalid()
    staff, revoked_jti = row
    if (
        revoked_jti is not None
        or staff.disabled_at is not None
        or staff.municipality_code != claims.municipality_code
        or staff.token_generation != claims.generation
    ):
        raise staff_tokens.StaffTokenInvalid()
    return StaffPrincipal(
        id=staff.id,
        municipality_code=staff.municipality_code,
        department=staff.department,
        display_name=staff.display_name,
        # The account's current roles, not the token's: a removed role is gone at once.
        roles=frozenset(StaffRole(role) for role in staff.roles if role in _ROLE_VALUES),
        token_jti=claims.jti,
        token_expires_at=claims.expires_at,
    )


async def revoke_token(session: AsyncSession, principal: StaffPrincipal, *, now: datetime) -> None:
    """Logout: the token's jti is refused from now until it would have expired anyway.
    Revocations of tokens that expired since are dropped on the way: they prove nothing."""
    await session.execute(delete(RevokedStaffToken).where(RevokedStaffToken.expires_at < now))
    session.add(
        RevokedStaffToken(
            jti=principal.token_jti,
            staff_id=principal.id,
            expires_at=principal.token_expires_at,
        )
    )
    await session.flush()
    await audit.record(
        session,
        principal,
        "staff.sign_out",
        "staff",
        principal.id,
        principal.municipality_code,
        details={"jti": principal.token_jti},
    )
