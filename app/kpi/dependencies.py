"""Request-scoped dependencies shared by the KPI and open-data routes."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends

from app.dependencies import Now
from app.kpi.periods import local_date


async def kpi_today(now: Now) -> date:
    """Today in Japan; tests override this dependency (or the clock) to stand at a date.
    Async like every request dependency: a plain function would run in a worker thread."""
    return local_date(now)


Today = Annotated[date, Depends(kpi_today)]
