from __future__ import annotations

from fastapi import APIRouter

from app.dependencies import DbSession
from app.errors import problem_responses
from app.municipalities import service
from app.municipalities.models import Municipality
from app.municipalities.schemas import LocalizedName, MunicipalityList, MunicipalityRead

router = APIRouter(tags=["catalog"])


def to_read(municipality: Municipality) -> MunicipalityRead:
    return MunicipalityRead(
        code=municipality.code,
        name=LocalizedName(ja=municipality.name_ja, en=municipality.name_en),
        prefecture=municipality.prefecture_ja,
        fiscal_year_start_month=municipality.fiscal_year_start_month,
    )


@router.get("/municipalities")
async def list_municipalities(session: DbSession) -> MunicipalityList:
    """The municipalities served by this deployment (共同利用)."""
    municipalities, total = await service.list_municipalities(session)
    return MunicipalityList(items=[to_read(m) for m in municipalities], total=total)


@router.get(
    "/municipalities/{code}",
    responses=problem_responses(service.MunicipalityCodeInvalid, service.MunicipalityNotFound),
)
async def get_municipality(code: str, session: DbSession) -> MunicipalityRead:
    return to_read(await service.get_municipality(session, code))
