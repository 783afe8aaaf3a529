"""The citizens' smartphone web client (スマートフォン向け申請画面), served by the app.

Plain HTML, ES modules and CSS under `static/`: no build step and no build server.
`/` is the citizen client, `/analyst` the KPI chart page, `/assets/...` the files.
`GET /api/v1/client-config` tells the page what it may offer (the development-only
test card is never offered in production).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from app.dependencies import AppSettings

STATIC_DIR = Path(__file__).resolve().parent / "static"
ASSETS_PATH = "/assets"

# The pages change with each deployment; `no-cache` lets the browser revalidate them.
_PAGE_HEADERS = {"Cache-Control": "no-cache"}

pages = APIRouter(include_in_schema=False)
api = APIRouter(tags=["web client"])


class ClientConfig(BaseModel):
    environment: Literal["development", "test", "production"]
    test_card_enabled: bool = Field(
        description="Offer the development-only test card (a card minted by the test CA)"
    )


@pages.get("/")
async def citizen_client() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", headers=_PAGE_HEADERS)


@pages.get("/analyst")
async def analyst_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "analyst.html", headers=_PAGE_HEADERS)


@api.get("/client-config", response_model=ClientConfig)
async def client_config(settings: AppSettings) -> ClientConfig:
    """What the web client may offer in this deployment."""
    return ClientConfig(
        environment=settings.environment,
        test_card_enabled=settings.environment != "production",
    )


def static_files() -> StaticFiles:
    """The client's files, mounted at ASSETS_PATH (apart from /api/v1 and /docs)."""
    return StaticFiles(directory=STATIC_DIR)
