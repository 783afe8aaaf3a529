"""Municipalities (tenants). Every other domain scopes its data by `code`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import FromClause, Select, bindparam, inspect, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
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
    known = _known(session, code)
    if known is None:
        rows = await _BY_CODE.rows(session, {"municipality_code": code})
        municipality = adopt(session, rows[0]) if rows else None
    elif inspect(known).expired_attributes or inspect(known).was_deleted:
        municipality = await session.get(Municipality, code)  # refreshed as get does
    else:
        municipality = known
    if municipality is None:
        raise not_found(code)
    return municipality


def not_found(code: str) -> MunicipalityNotFound:
    return MunicipalityNotFound(
        f"No municipality with code {code} is served here.",
        f"コード{code}の地方公共団体はこのサービスで扱っていません。",
    )


def with_municipality(joined: FromClause) -> Select[Any]:
    """The municipality `:municipality_code` (its columns first, as `adopt` takes them)
    with the one row of `joined` next to it, or NULLs: what another module reads with
    the municipality in one statement (a missing municipality is no row at all)."""
    return (
        select(*_municipalities.columns, *joined.c)
        .select_from(_municipalities.outerjoin(joined, true()))
        .where(_municipalities.c.code == bindparam("municipality_code"))
    )


def adopt(session: AsyncSession, row: Sequence[Any]) -> Municipality:
    """The municipality whose columns start `row` (read by `with_municipality`), as if
    loaded by a query: every column committed, the object in the session's identity
    map. The session's own object when it has one."""
    values = dict(zip(_COLUMNS, row[: len(_COLUMNS)], strict=True))
    known = _known(session, values["code"])
    if known is not None:
        if inspect(known).expired_attributes:  # e.g. after a rollback: read afresh
            for key, value in values.items():
                set_committed_value(known, key, value)
        return known
    municipality = Municipality(**values)
    make_transient_to_detached(municipality)
    session.add(municipality)
    return municipality


def _known(session: AsyncSession, code: str) -> Municipality | None:
    known: Municipality | None = session.sync_session.identity_map.get(
        identity_key(Municipality, code)
    )
    return known


_municipalities = table_of(Municipality)
_COLUMNS = tuple(column.key for column in _municipalities.columns)
_BY_CODE = HotStatement(
    select(*_municipalities.columns).where(_municipalities.c.code == bindparam("municipality_code"))
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
