"""KPI reports reused while nothing they are computed from has changed.

Every KPI figure comes from a municipality's rollups and its catalog's publish/retire
history. Each app process keeps the reports it built under a key of everything they
depend on: what was asked, today, the municipality's own settings, and the `Marks` read
with the municipality in one statement at every request:

- the rollup generation (kpi_rollup_generations): each fold that moved any of the
  municipality's deltas, and each rebuild, adds one;
- the number of its deltas not folded yet: between two folds deltas are only ever
  added, so a new one (whenever its transaction commits) changes the count;
- the number and last id of its publish/retire events (an append-only history).

The same key therefore means the same report. Its ETag is a digest of the key and the
path (JSON and CSV differ), so a client that holds it gets 304 Not Modified.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.routing import APIRoute
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.forms import repository as forms_repository
from app.kpi.models import rollup_generations, usage_deltas
from app.municipalities.models import Municipality
from app.municipalities.service import get_municipality

T = TypeVar("T")

CAPACITY = 256
"""Reports kept per process (the open-data applications.csv, the largest, is ~200 kB)."""


@dataclass(frozen=True)
class Marks:
    """What changes whenever a figure of the municipality can have changed."""

    generation: int
    unfolded: int
    publications: int
    last_publication: int


def _marks(municipality_code: str) -> list[Any]:
    """The columns of `Marks`, as scalar subqueries."""
    published, last_published = forms_repository.publication_marks(municipality_code)
    return [
        select(rollup_generations.c.generation)
        .where(rollup_generations.c.municipality_code == municipality_code)
        .scalar_subquery(),
        select(func.count())
        .select_from(usage_deltas)
        .where(usage_deltas.c.municipality_code == municipality_code)
        .scalar_subquery(),
        published,
        last_published,
    ]


def municipality_key(municipality: Municipality) -> str:
    """The municipality's own data a report shows or depends on: its name, 年度 start
    and settings (baseline, licence)."""
    return json.dumps(
        [
            municipality.code,
            municipality.name_ja,
            municipality.fiscal_year_start_month,
            municipality.settings or {},
        ],
        sort_keys=True,
        default=str,
        ensure_ascii=False,
    )


class ReportCache:
    """The reports this process built most recently, by key."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._reports: OrderedDict[str, Any] = OrderedDict()
        self._capacity = capacity

    async def get(
        self, request: Request, key: tuple[Any, ...], build: Callable[[], Awaitable[T]]
    ) -> T:
        """The report under `key`, built by `build` when not kept; the response will
        carry its ETag (ReportRoute)."""
        digest = hashlib.sha256(repr(key).encode()).hexdigest()
        request.state.report_etag = _etag(digest, request.url.path)
        if digest in self._reports:
            self._reports.move_to_end(digest)
            report: T = self._reports[digest]
            return report
        report = await build()
        self._reports[digest] = report
        if len(self._reports) > self._capacity:
            self._reports.popitem(last=False)
        return report


def _etag(digest: str, path: str) -> str:
    return '"' + hashlib.sha256(f"{digest} {path}".encode()).hexdigest()[:32] + '"'


def report_cache(request: Request) -> ReportCache:
    """The app's cache (one per app: tests that build an app each start empty)."""
    cache: ReportCache | None = getattr(request.app.state, "kpi_reports", None)
    if cache is None:
        cache = request.app.state.kpi_reports = ReportCache()
    return cache


@dataclass(frozen=True)
class ReportBasis:
    """What every report of one request depends on besides what it asks for."""

    request: Request
    cache: ReportCache
    key: tuple[Any, ...]

    async def report(self, asked: tuple[Any, ...], build: Callable[[], Awaitable[T]]) -> T:
        """The report `asked` for (its kind and parameters), kept or built now."""
        return await self.cache.get(self.request, (*asked, *self.key), build)


async def basis(
    request: Request, session: AsyncSession, municipality_code: str, today: date
) -> tuple[Municipality, ReportBasis]:
    """The municipality and what its reports of this request depend on, in one statement."""
    found = (
        await session.execute(
            select(Municipality, *_marks(municipality_code)).where(
                Municipality.code == municipality_code
            )
        )
    ).one_or_none()
    # The row just loaded, from the session (no statement); or why there is none.
    municipality = await get_municipality(session, municipality_code)
    current = Marks(*(int(value or 0) for value in found[1:])) if found else Marks(0, 0, 0, 0)
    key = (municipality_key(municipality), today, current)
    return municipality, ReportBasis(request, report_cache(request), key)


class ReportRoute(APIRoute):
    """A KPI read: sends the ETag of its report, and answers 304 Not Modified (no body)
    when the request's If-None-Match names it."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def conditional(request: Request) -> Response:
            response = await handler(request)
            etag: str | None = getattr(request.state, "report_etag", None)
            if etag is None or response.status_code != 200:
                return response
            if etag in request.headers.get("if-none-match", ""):
                headers = {"ETag": etag}
                if "cache-control" in response.headers:
                    headers["Cache-Control"] = response.headers["cache-control"]
                return Response(status_code=304, headers=headers)
            response.headers["ETag"] = etag
            return response

        return conditional
