"""Readiness: the database answers, its schema is at the migrations' head(s), and the
JPKI verifier can decide (its CRLs are loaded and fresh).

No FastAPI imports; the router maps the outcome to HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth.jpki.verifier import Verifier, VerifierHealth
from app.config import PROJECT_ROOT
from app.errors import AppError


class NotReady(AppError, code="NOT_READY", status=503): ...


@dataclass(frozen=True)
class Readiness:
    database: str
    """ok | unreachable"""
    migrations: str
    """ok | behind | unknown"""
    jpki: VerifierHealth
    """ok | stale (a CRL past its nextUpdate, or none) | loading | unavailable"""

    @property
    def ready(self) -> bool:
        return self.database == "ok" and self.migrations == "ok" and self.jpki.ready


@lru_cache(maxsize=1)
def script_heads() -> frozenset[str]:
    """The head revision(s) shipped with this code; read once per process."""
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


async def check(engine: AsyncEngine, verifier: Verifier, *, now: datetime) -> Readiness:
    jpki = await verifier.health(now=now)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT version_num FROM alembic_version"))
            applied = frozenset(str(row[0]) for row in rows)
    except (SQLAlchemyError, OSError, TimeoutError):
        # A missing alembic_version table and a refused connection both mean "not ready";
        # the error itself is not logged here, the probe runs every few seconds.
        return Readiness(database="unreachable", migrations="unknown", jpki=jpki)
    migrations = "ok" if applied == script_heads() else "behind"
    return Readiness(database="ok", migrations=migrations, jpki=jpki)
