"""Request-scoped dependencies shared by the KPI and open-data routes."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends

from app.db import utcnow
from app.kpi.periods import local_date


def kpi_today() -> date:
    """Today in Japan; tests override this dependency to stand at a given date."""
    return local_date(utcnow())


Today = Annotated[date, Depends(kpi_today)]
