"""Staff sign-in and accounts: token, logout, own profile and password, account
management by admins."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from app.auth import staff_service
from app.auth.staff_access import ACCESS_ERRORS, AdminStaff, AnyStaff, public_route
from app.auth.staff_schemas import (
    PasswordChange,
    StaffCreate,
    StaffList,
    StaffRead,
    StaffToken,
    StaffUpdate,
)
from app.dependencies import AppSettings, DbSession, Now
from app.errors import problem_responses
from app.municipalities.service import MunicipalityNotFound
from app.security.dependencies import RATE_LIMIT_ERRORS, StaffTokenRateLimit

router = APIRouter(prefix="/admin", tags=["staff"])


@router.post(
    "/auth/token",
    response_model=StaffToken,
    dependencies=[Depends(public_route), StaffTokenRateLimit],
    responses=problem_responses(staff_service.InvalidCredentials, *RATE_LIMIT_ERRORS),
)
async def issue_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    session: DbSession,
    settings: AppSettings,
    response: Response,
    now: Now,
) -> StaffToken:
    """Sign in with email (`username`) and password; returns a short-lived bearer token.
    A refused attempt is audited (`staff.sign_in_failed`, without what was typed)."""
    try:
        _, issued = await staff_service.sign_in(
            session, settings, form.username, form.password, now=now
        )
    except staff_service.SignInFailed as failed:
        # The request's transaction rolls back on the error: the entry needs its own.
        factory = request.app.state.session_factory
        async with factory() as audit_session, audit_session.begin():
            await staff_service.record_failed_sign_in(audit_session, failed)
        raise
    response.headers["Cache-Control"] = "no-store"
    return StaffToken(access_token=issued.access_token, expires_in=settings.staff_token_ttl_seconds)


@router.post("/auth/logout", status_code=204, responses=problem_responses(*ACCESS_ERRORS))
async def logout(staff: AnyStaff, session: DbSession, now: Now) -> None:
    """Revoke the token this request carries; it is refused from now on."""
    await staff_service.revoke_token(session, staff, now=now)


@router.get("/auth/me", response_model=StaffRead, responses=problem_responses(*ACCESS_ERRORS))
async def me(staff: AnyStaff, session: DbSession) -> StaffRead:
    return StaffRead.model_validate(
        await staff_service.get_staff(session, staff.municipality_code, staff.id)
    )


@router.post(
    "/auth/password",
    status_code=204,
    responses=problem_responses(
        *ACCESS_ERRORS, staff_service.InvalidCredentials, staff_service.WeakPassword
    ),
)
async def change_password(body: PasswordChange, staff: AnyStaff, session: DbSession) -> None:
    await staff_service.change_password(session, staff, body.current_password, body.new_password)


@router.get(
    "/staff",
    response_model=StaffList,
    responses=problem_responses(*ACCESS_ERRORS),
)
async def list_staff(
    staff: AdminStaff,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> StaffList:
    """Accounts of the admin's own municipality."""
    rows, total = await staff_service.list_staff(
        session, staff.municipality_code, limit=limit, offset=offset
    )
    return StaffList(items=[StaffRead.model_validate(row) for row in rows], total=total)


@router.post(
    "/staff",
    status_code=201,
    response_model=StaffRead,
    responses=problem_responses(
        *ACCESS_ERRORS,
        staff_service.StaffEmailTaken,
        staff_service.StaffAccountInvalid,
        staff_service.WeakPassword,
        MunicipalityNotFound,
    ),
)
async def create_staff(body: StaffCreate, staff: AdminStaff, session: DbSession) -> StaffRead:
    """Create an account in the admin's own municipality."""
    created = await staff_service.create_staff(
        session,
        staff,
        municipality_code=staff.municipality_code,
        email=body.email,
        display_name=body.display_name,
        department=body.department,
        roles=body.roles,
        password=body.password,
    )
    return StaffRead.model_validate(created)


@router.patch(
    "/staff/{staff_id}",
    response_model=StaffRead,
    responses=problem_responses(
        *ACCESS_ERRORS,
        staff_service.StaffNotFound,
        staff_service.StaffAccountInvalid,
        staff_service.SelfLockout,
    ),
)
async def update_staff(
    staff_id: uuid.UUID, body: StaffUpdate, staff: AdminStaff, session: DbSession, now: Now
) -> StaffRead:
    """Change roles, department or name, or disable an account (it loses access at once)."""
    target = await staff_service.get_staff(session, staff.municipality_code, staff_id)
    updated = await staff_service.update_staff(
        session,
        staff,
        target,
        display_name=body.display_name,
        department=body.department,
        roles=body.roles,
        disabled=body.disabled,
        now=now,
    )
    return StaffRead.model_validate(updated)
