"""The public catalog (no login): published procedures and their schemas."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.dependencies import AppSettings, DbSession, Now
from app.errors import problem_responses
from app.forms import service
from app.forms.schemas import LocalizedText, ProcedureDetail, ProcedureList, ProcedureSummary
from app.jp_calendar import end_of_day, local_date
from app.municipalities.service import MunicipalityCodeInvalid, MunicipalityNotFound

router = APIRouter(tags=["catalog"])


def _localized(value: object) -> LocalizedText:
    return LocalizedText.model_validate(value, from_attributes=True)


def summary(published: service.PublishedProcedure) -> ProcedureSummary:
    definition = published.form.definition
    return ProcedureSummary(
        code=published.procedure.code,
        title=_localized(definition.title),
        department=_localized(definition.department),
        version=published.version.version,
        identity_requirement=definition.identity_requirement,
        payment_timing=definition.payment_timing,
        fee_summary=_localized(published.form.fee_summary),
        my_number_use=definition.my_number_use,
    )


@router.get(
    "/municipalities/{code}/procedures",
    responses=problem_responses(MunicipalityCodeInvalid, MunicipalityNotFound),
)
async def list_procedures(code: str, session: DbSession) -> ProcedureList:
    """The municipality's published online procedures (オンライン手続の一覧)."""
    published = await service.list_published(session, code)
    return ProcedureList(items=[summary(p) for p in published], total=len(published))


@router.get(
    "/municipalities/{code}/procedures/{procedure_code}",
    response_model=ProcedureDetail,
    responses={
        304: {"description": "Not modified (If-None-Match matched the ETag)"},
        **problem_responses(
            MunicipalityCodeInvalid, MunicipalityNotFound, service.ProcedureNotFound
        ),
    },
)
async def get_procedure(
    code: str,
    procedure_code: str,
    request: Request,
    response: Response,
    session: DbSession,
    settings: AppSettings,
    now: Now,
) -> ProcedureDetail | Response:
    """The current version: definition as authored, JSON Schema, fee rules.

    A published version never changes, so its digest is a strong ETag. A schema with
    relative date bounds (`today`) changes at midnight in Japan: its ETag names the day
    the bounds were resolved for, and it is cached until that day ends at the latest."""
    published = await service.get_published(session, code, procedure_code)
    today = local_date(now)
    etag = f"{published.version.definition_digest[:32]}-v{published.version.version}"
    max_age = settings.catalog_cache_max_age_seconds
    if published.form.has_relative_dates:
        etag = f"{etag}-{today:%Y%m%d}"
        max_age = min(max_age, int((end_of_day(today) - now).total_seconds()))
    etag = f'"{etag}"'
    cache_control = f"public, max-age={max_age}"
    if etag in _if_none_match(request):
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": cache_control})
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = cache_control
    version = published.version
    return ProcedureDetail(
        municipality_code=code,
        code=published.procedure.code,
        title=_localized(published.form.definition.title),
        version=version.version,
        published_at=version.published_at.isoformat() if version.published_at else None,
        definition=version.definition,
        json_schema=published.form.json_schema_on(today),
        fee_rules=list(version.definition.get("fee_rules", [])),
        fee_summary=_localized(published.form.fee_summary),
    )


def _if_none_match(request: Request) -> set[str]:
    header = request.headers.get("if-none-match", "")
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}
