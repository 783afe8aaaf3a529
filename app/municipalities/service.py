"""Municipalities (tenants). Every other domain scopes its data by `code`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import NotFound, ValidationFailed
from app.municipalities.codes import is_valid_local_government_code
from app.municipalities.models import Municipality


class MunicipalityCodeInvalid(ValidationFailed, code="MUNICIPALITY_CODE_INVALID"): ...


class MunicipalityNotFound(NotFound, code="MUNICIPALITY_NOT_FOUND"): ...


def require_valid_code(code: str) -> str:
    if not is_valid_local_government_code(code):
        raise MunicipalityCodeInvalid(
            f"'{code[:12]}' is not a 6-digit local government code with a valid check digit.",
            f"「{code[:12]}」は検査数字の正しい6桁の全国地方公共団体コードではありません。",
        )
    return code


async def get_municipality(session: AsyncSession, code: str) -> Municipality:
    require_valid_code(code)
    municipality = await session.get(Municipality, code)
    if municipality is None:
        raise MunicipalityNotFound(
            f"No municipality with code {code} is served here.",
            f"コード{code}の地方公共団体はこのサービスで扱っていません。",
        )
    return municipality


async def list_municipalities(session: AsyncSession) -> tuple[list[Municipality], int]:
    rows = (await session.scalars(select(Municipality).order_by(Municipality.code))).all()
    return list(rows), len(rows)


@dataclass(frozen=True)
class MunicipalitySeed:
    code: str
    name_ja: str
    name_en: str
    prefecture_ja: str
    reference_prefix: str
    settings: dict[str, Any]


async def upsert_municipality(session: AsyncSession, seed: MunicipalitySeed) -> Municipality:
    require_valid_code(seed.code)
    municipality = await session.get(Municipality, seed.code)
    if municipality is None:
        municipality = Municipality(code=seed.code, fiscal_year_start_month=4)
        session.add(municipality)
    municipality.name_ja = seed.name_ja
    municipality.name_en = seed.name_en
    municipality.prefecture_ja = seed.prefecture_ja
    municipality.reference_prefix = seed.reference_prefix
    municipality.settings = dict(seed.settings)
    await session.flush()
    return municipality
