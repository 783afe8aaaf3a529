"""Municipalities (tenants). Every other domain scopes its data by `code`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from app.db import HotStatement, table_of
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
    """The municipality as `session.get` finds it (the session's own object when it has
    one), read without the ORM's query machinery: every create+submit asks for it."""
    require_valid_code(code)
    known = session.sync_session.identity_map.get(identity_key(Municipality, code))
    if known is None:
        municipality = await _load(session, code)
    elif inspect(known).expired_attributes or inspect(known).was_deleted:
        municipality = await session.get(Municipality, code)  # refreshed as get does
    else:
        municipality = known
    if municipality is None:
        raise MunicipalityNotFound(
            f"No municipality with code {code} is served here.",
            f"コード{code}の地方公共団体はこのサービスで扱っていません。",
        )
    return municipality


async def _load(session: AsyncSession, code: str) -> Municipality | None:
    row = await _BY_CODE.rows(session, {"code": code})
    if not row:
        return None
    municipality = Municipality(**dict(zip(_COLUMNS, row[0], strict=True)))
    # As if loaded by a query: every column committed, the object in the identity map.
    make_transient_to_detached(municipality)
    session.add(municipality)
    return municipality


_municipalities = table_of(Municipality)
_COLUMNS = tuple(column.key for column in _municipalities.columns)
_BY_CODE = HotStatement(
    select(*_municipalities.columns).where(_municipalities.c.code == bindparam("code"))
)


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
