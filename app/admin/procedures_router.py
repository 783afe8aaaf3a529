"""Procedure management (admin): create, add and edit draft versions from JSON or YAML,
check without saving, publish, retire."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from app.admin import procedures_service as service
from app.admin.procedures_schemas import (
    DefinitionCheckResult,
    DefinitionProblem,
    ManagedProcedureList,
    ManagedProcedureRead,
    VersionDetail,
    VersionSummary,
)
from app.auth.staff_access import ACCESS_ERRORS, AdminStaff
from app.dependencies import AppSettings, DbSession, Now
from app.errors import problem_responses
from app.forms import service as forms
from app.forms.compiler import DefinitionInvalid
from app.forms.definition import PROCEDURE_CODE_PATTERN
from app.forms.repository import ProcedureVersion
from app.forms.schemas import LocalizedText

router = APIRouter(prefix="/admin/procedures", tags=["procedure management"])

ProcedureCode = Annotated[str, Path(pattern=PROCEDURE_CODE_PATTERN)]
VersionNumber = Annotated[int, Path(ge=1)]

_DEFINITION_BODY = {
    "requestBody": {
        "required": True,
        "description": "A procedure definition (see docs/forms.md), as JSON or YAML.",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/yaml": {"schema": {"type": "object"}},
        },
    }
}
_BODY_ERRORS = (
    service.DefinitionBodyInvalid,
    service.DefinitionMediaTypeUnsupported,
    DefinitionInvalid,
)
_VERSION_ERRORS = (forms.ProcedureNotFound, forms.ProcedureVersionNotFound)
"""What a route naming /{procedure_code}/versions/{version} answers when either is unknown."""


async def definition_body(request: Request, settings: AppSettings) -> dict[str, Any]:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return service.parse_definition_body(
        media_type, await request.body(), max_depth=settings.max_json_depth
    )


DefinitionBody = Annotated[dict[str, Any], Depends(definition_body)]


@router.get("", responses=problem_responses(*ACCESS_ERRORS))
async def list_procedures(staff: AdminStaff, session: DbSession) -> ManagedProcedureList:
    """Every procedure of the admin's municipality, drafts and retired ones included."""
    managed = await service.list_procedures(session, staff.municipality_code)
    return ManagedProcedureList(items=[_read(m) for m in managed], total=len(managed))


@router.post(
    "",
    status_code=201,
    openapi_extra=_DEFINITION_BODY,
    responses=problem_responses(*ACCESS_ERRORS, *_BODY_ERRORS, forms.ProcedureExists),
)
async def create_procedure(
    staff: AdminStaff, definition: DefinitionBody, session: DbSession
) -> ManagedProcedureRead:
    """A new procedure whose first version is a draft (not in the catalog until published)."""
    managed = await service.create_procedure(session, staff, staff.municipality_code, definition)
    return _read(managed)


@router.post(
    "/validate",
    openapi_extra=_DEFINITION_BODY,
    responses=problem_responses(
        *ACCESS_ERRORS, service.DefinitionBodyInvalid, service.DefinitionMediaTypeUnsupported
    ),
)
async def validate_definition(
    staff: AdminStaff, definition: DefinitionBody
) -> DefinitionCheckResult:
    """Check a definition without saving it: every problem with its JSON Pointer, or the
    JSON Schema and fee summary it compiles to."""
    try:
        form = service.check(definition)
    except DefinitionInvalid as invalid:
        problems = [DefinitionProblem(**error.as_dict()) for error in invalid.errors]
        return DefinitionCheckResult(
            valid=False, errors=problems, json_schema=None, fee_summary=None
        )
    return DefinitionCheckResult(
        valid=True,
        errors=[],
        json_schema=form.json_schema,
        fee_summary=LocalizedText.model_validate(form.fee_summary, from_attributes=True),
    )


@router.get(
    "/{procedure_code}",
    responses=problem_responses(*ACCESS_ERRORS, forms.ProcedureNotFound),
)
async def get_procedure(
    procedure_code: ProcedureCode, staff: AdminStaff, session: DbSession
) -> ManagedProcedureRead:
    return _read(await service.get_managed(session, staff.municipality_code, procedure_code))


@router.post(
    "/{procedure_code}/versions",
    status_code=201,
    openapi_extra=_DEFINITION_BODY,
    responses=problem_responses(
        *ACCESS_ERRORS,
        *_BODY_ERRORS,
        forms.ProcedureNotFound,
        forms.DraftVersionExists,
        forms.ProcedureCodeMismatch,
    ),
)
async def add_version(
    staff: AdminStaff,
    procedure_code: ProcedureCode,
    definition: DefinitionBody,
    session: DbSession,
) -> VersionDetail:
    """The next version, as a draft; published versions stay as they are."""
    version = await service.add_version(
        session, staff, staff.municipality_code, procedure_code, definition
    )
    return _version_detail(procedure_code, version)


@router.get(
    "/{procedure_code}/versions/{version}",
    responses=problem_responses(*ACCESS_ERRORS, *_VERSION_ERRORS),
)
async def get_version(
    procedure_code: ProcedureCode, version: VersionNumber, staff: AdminStaff, session: DbSession
) -> VersionDetail:
    found = await service.get_version(session, staff.municipality_code, procedure_code, version)
    return _version_detail(procedure_code, found)


@router.put(
    "/{procedure_code}/versions/{version}",
    openapi_extra=_DEFINITION_BODY,
    responses=problem_responses(
        *ACCESS_ERRORS,
        *_BODY_ERRORS,
        *_VERSION_ERRORS,
        forms.VersionFrozen,
        forms.ProcedureCodeMismatch,
    ),
)
async def update_draft(
    staff: AdminStaff,
    procedure_code: ProcedureCode,
    version: VersionNumber,
    definition: DefinitionBody,
    session: DbSession,
) -> VersionDetail:
    """Replace a draft version's definition; a published version is frozen (409)."""
    updated = await service.update_draft(
        session, staff, staff.municipality_code, procedure_code, version, definition
    )
    return _version_detail(procedure_code, updated)


@router.post(
    "/{procedure_code}/versions/{version}/publish",
    responses=problem_responses(
        *ACCESS_ERRORS, *_VERSION_ERRORS, forms.VersionFrozen, DefinitionInvalid
    ),
)
async def publish_version(
    procedure_code: ProcedureCode,
    version: VersionNumber,
    staff: AdminStaff,
    session: DbSession,
    now: Now,
) -> ManagedProcedureRead:
    """公開: freeze the version and make it the one the catalog shows."""
    managed = await service.publish(
        session, staff, staff.municipality_code, procedure_code, version, now=now
    )
    return _read(managed)


@router.post(
    "/{procedure_code}/retire",
    responses=problem_responses(
        *ACCESS_ERRORS, forms.ProcedureNotFound, forms.ProcedureNotPublished
    ),
)
async def retire_procedure(
    procedure_code: ProcedureCode, staff: AdminStaff, session: DbSession, now: Now
) -> ManagedProcedureRead:
    """廃止: take the procedure off the catalog; existing applications keep their version."""
    return _read(
        await service.retire(session, staff, staff.municipality_code, procedure_code, now=now)
    )


def _read(managed: service.ManagedProcedure) -> ManagedProcedureRead:
    procedure, latest, current = managed.procedure, managed.latest, managed.current
    return ManagedProcedureRead(
        code=procedure.code,
        status=procedure.status,
        title=LocalizedText.model_validate(latest.definition["title"]),
        department=LocalizedText.model_validate(latest.definition["department"]),
        current_version=current.version if current else None,
        latest_version=latest.version,
        first_published_at=procedure.first_published_at,
        retired_at=procedure.retired_at,
        created_at=procedure.created_at,
        versions=[VersionSummary.model_validate(v) for v in managed.versions],
    )


def _version_detail(procedure_code: str, version: ProcedureVersion) -> VersionDetail:
    form = forms.compiled_version(version)
    return VersionDetail(
        **VersionSummary.model_validate(version).model_dump(),
        procedure_code=procedure_code,
        definition=version.definition,
        json_schema=form.json_schema,
        fee_summary=LocalizedText.model_validate(form.fee_summary, from_attributes=True),
    )
