"""Request-scoped dependencies shared by every router."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from types import MappingProxyType
from typing import Annotated

from fastapi import Depends, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db import session_scope, utcnow


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with session_scope(request.app.state.session_factory) as session:
        yield session


# Dependencies are `async def` even when they await nothing: FastAPI runs a plain `def`
# dependency in a worker thread, a hop that costs more than the dependency itself.
async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


# scope="function": the transaction commits before the response is sent, so a failed
# commit becomes an error response instead of a lost write behind a 2xx.
DbSession = Annotated[AsyncSession, Depends(get_session, scope="function")]
AppSettings = Annotated[Settings, Depends(get_app_settings)]


async def current_time() -> datetime:
    """The clock of a request; tests override this one dependency to stand at a given
    moment (e.g. 31 March 23:59 JST for the fiscal-year rollover)."""
    return utcnow()


Now = Annotated[datetime, Depends(current_time)]


NO_STORE = MappingProxyType({"Cache-Control": "no-store"})
"""For answers that hold personal data, money or a token: no browser or proxy keeps them."""


async def no_store(response: Response) -> None:
    """`dependencies=[Depends(no_store)]`: every answer of the router carries `NO_STORE`
    (answers a route returns as a Response object set their own headers)."""
    response.headers.update(NO_STORE)
