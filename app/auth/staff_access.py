"""Who may call which staff route: one declarative rule per route.

A route states its rule by the type of its principal parameter, e.g.
`staff: AdminStaff`, or by `dependencies=[Depends(public_route)]` for the sign-in endpoint.
Each rule is registered here, so the tests can walk the app's route table and fail on
any `/api/v1/admin` route that has no rule, or more than one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Annotated, Any

from fastapi import Depends
from fastapi.dependencies.models import Dependant
from fastapi.security import OAuth2PasswordBearer

from app.auth import staff_service
from app.auth.staff_models import StaffRole
from app.auth.staff_service import StaffPrincipal
from app.auth.staff_tokens import StaffTokenInvalid
from app.dependencies import AppSettings, DbSession

STAFF_TOKEN_URL = "/api/v1/admin/auth/token"

_bearer = OAuth2PasswordBearer(
    tokenUrl=STAFF_TOKEN_URL,
    scheme_name="StaffAccessToken",
    description="A staff access token from the token endpoint.",
    auto_error=False,
)


@dataclass(frozen=True)
class AccessRule:
    """Which roles may call a route. `department_scoped`: a principal who is not an admin
    sees only the procedures of their own department (所属課)."""

    roles: frozenset[StaffRole]
    department_scoped: bool = False
    public: bool = False


ACCESS_ERRORS = (
    staff_service.StaffAuthenticationRequired,
    StaffTokenInvalid,
    staff_service.StaffForbidden,
)
"""What any signed-in route may answer with, for `problem_responses(*ACCESS_ERRORS, ...)`."""

ACCESS_RULES: dict[Callable[..., Any], AccessRule] = {}
"""Every rule dependency, keyed by the dependency callable FastAPI sees on a route."""


def require(
    *roles: StaffRole, department_scoped: bool = False
) -> Callable[..., Awaitable[StaffPrincipal]]:
    """A dependency returning the signed-in staff principal when they hold one of
    `roles`: 401 without a valid token, 403 with one but none of the roles."""
    rule = AccessRule(roles=frozenset(roles), department_scoped=department_scoped)

    async def staff_principal(
        session: DbSession,
        settings: AppSettings,
        token: Annotated[str | None, Depends(_bearer)],
    ) -> StaffPrincipal:
        principal = await staff_service.principal_for_token(session, settings, token)
        if not principal.roles & rule.roles:
            raise staff_service.StaffForbidden(
                f"This needs one of the roles: {', '.join(sorted(rule.roles))}.",
                f"この操作には次のいずれかの役割が必要です: {', '.join(sorted(rule.roles))}",
            )
        if rule.department_scoped and not principal.is_admin:
            return replace(principal, department_scope=principal.department)
        return principal

    ACCESS_RULES[staff_principal] = rule
    return staff_principal


async def public_route() -> None:
    """Marks a staff route that needs no sign-in (the token endpoint itself)."""


ACCESS_RULES[public_route] = AccessRule(roles=frozenset(), public=True)

AnyStaff = Annotated[StaffPrincipal, Depends(require(*StaffRole))]
AdminStaff = Annotated[StaffPrincipal, Depends(require(StaffRole.ADMIN))]
ReviewStaff = Annotated[
    StaffPrincipal,
    Depends(require(StaffRole.ADMIN, StaffRole.REVIEWER, department_scoped=True)),
]
"""審査: admins see every department, reviewers their own."""


def declared_rules(dependant: Dependant) -> list[AccessRule]:
    """The access rules a route declares anywhere in its dependency tree."""
    found: list[AccessRule] = []
    pending = [dependant]
    while pending:
        current = pending.pop()
        if current.call is not None and current.call in ACCESS_RULES:
            found.append(ACCESS_RULES[current.call])
        pending.extend(current.dependencies)
    return found
