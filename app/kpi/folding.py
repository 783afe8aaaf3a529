"""Folds the KPI deltas into the daily rows (app.kpi.rollups.fold), in the background of
every app process (every KPI_FOLD_SECONDS) and by `python -m app.kpi fold`.

Figures never wait for it: queries read the daily rows and the deltas not folded yet.
Folding only keeps the number of delta rows a query reads small. Any number of
processes may fold at once; each delta is folded by exactly one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.kpi import rollups
from app.kpi.models import usage_deltas

logger = logging.getLogger(__name__)

BATCH = 5000
"""Deltas folded per transaction."""


async def fold_pending(factory: async_sessionmaker[AsyncSession]) -> int:
    """Fold every delta present now, `BATCH` per transaction; how many were folded."""
    folded = 0
    while True:
        async with factory() as session, session.begin():
            # A read first: an idle database takes no write lock (SQLite has only one).
            if await session.scalar(select(usage_deltas.c.id).limit(1)) is None:
                return folded
            moved = await rollups.fold(session, limit=BATCH)
        folded += moved
        if moved < BATCH:
            return folded


async def run(
    factory: async_sessionmaker[AsyncSession], settings: Settings, stop: asyncio.Event
) -> None:
    """Folds until `stop` is set, every KPI_FOLD_SECONDS. An unexpected error (the
    database away) is logged and the loop goes on: the deltas wait for the next round."""
    while not stop.is_set():
        try:
            await fold_pending(factory)
        except Exception as exc:
            logger.error("kpi folder: %s", type(exc).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.kpi_fold_seconds)
