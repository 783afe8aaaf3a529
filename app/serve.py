"""`python -m app.serve` (`make serve`, the Docker image's command): the production server.

uvicorn with uvloop and httptools (`uvicorn[standard]`; named explicitly so a missing
extra fails at start instead of falling back to the asyncio loop and h11, which stall
keep-alive responses ~44 ms behind several workers), `WEB_CONCURRENCY` worker processes
on `HOST`:`PORT`. Forwarded headers are the app's business (`FORWARDED_ALLOW_IPS`, none
by default): uvicorn's own handling is off, since it would believe 127.0.0.1 unasked.
It neither migrates nor seeds: run `alembic upgrade head` as a deployment step first.
"""

from __future__ import annotations

import sys
from typing import Any

import uvicorn

from app.config import Settings, get_settings

APP = "app.main:create_app"


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How the server runs; the benchmarks start their baselines with the same options."""
    return {
        "host": settings.host,
        "port": settings.port,
        "workers": settings.web_concurrency,
        "loop": "uvloop",
        "http": "httptools",
        # create_app() believes X-Forwarded-For from FORWARDED_ALLOW_IPS only.
        "proxy_headers": False,
        # The app logs one line per request itself (madoguchi.access), without query strings.
        "access_log": False,
        "log_level": settings.log_level.lower(),
    }


def main() -> None:
    try:
        settings = get_settings()
    except ValueError as error:  # every settings problem at once, then stop
        sys.exit(f"madoguchi cannot start: {error}")
    if "database_url" not in settings.model_fields_set:
        sys.exit("madoguchi cannot start: DATABASE_URL is not set (no SQLite default here)")
    uvicorn.run(APP, factory=True, **uvicorn_options(settings))


if __name__ == "__main__":
    main()
