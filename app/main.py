"""create_app(): routers, middleware, lifespan. Nothing else."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.admin.router import router as admin_router
from app.attachments import router as attachments
from app.auth.jpki.router import router as jpki_router
from app.config import Settings, get_settings
from app.db import make_engine, make_session_factory
from app.errors import install_error_handlers
from app.forms.router import router as catalog_router
from app.health.router import router as health_router
from app.kpi import folding as kpi_folding
from app.kpi.open_data_router import router as open_data_router
from app.kpi.router import router as kpi_router
from app.listeners import install_listeners
from app.logging_config import configure_logging
from app.middleware import RequestContextMiddleware, SecurityHeadersMiddleware
from app.municipalities.router import router as municipalities_router
from app.notifications import sender as notification_sender
from app.notifications.router import admin_router as notifications_admin_router
from app.payments.router import router as payments_router
from app.payments.router import webhook_router as payments_webhook_router
from app.submissions.router import router as submissions_router
from app.web import router as web

API_PREFIX = "/api/v1"

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details, with Japanese and English messages",
    "required": ["type", "title", "status", "code", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "title_ja": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string", "description": "Stable machine-readable code"},
        "detail": {"type": "string"},
        "detail_ja": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "JSON Pointer"},
                    "code": {"type": "string"},
                    "message_ja": {"type": "string"},
                    "message_en": {"type": "string"},
                },
            },
        },
    },
}


GARBAGE_THRESHOLDS = (20_000, 20, 20)
"""Python's default is (700, 10, 10): a young collection every 700 new container
objects, several per create+submit."""


def collect_garbage_less_often() -> None:
    """Once per process, when it starts serving: what is alive then (modules, routes,
    compiled forms, the pool) lives as long as the process, so it is left out of
    garbage collection (`gc.freeze`), and young collections run 28 times less often.
    Cycles are still freed. On the 2-core machine create+submit at 64 clients answered
    4-6% more (six alternating runs, README Performance). A reconciliation run in this
    process (app.payments.reconciliation.service) unfreezes everything when it ends:
    the process then runs unfrozen, with these thresholds, until it restarts."""
    if gc.get_threshold() == GARBAGE_THRESHOLDS and gc.get_freeze_count() > 0:
        return
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GARBAGE_THRESHOLDS)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    install_listeners(settings)
    engine = make_engine(
        settings.database_url,
        echo=settings.database_echo,
        pool_size=settings.database_pool_size,
        pool_timeout_seconds=settings.database_pool_timeout_seconds,
        pool_recycle_seconds=settings.database_pool_recycle_seconds,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # With SMTP_HOST set, this process also delivers the notification outbox
        # (`make run`); production may run `python -m app.notifications worker` instead.
        stop = asyncio.Event()
        delivering = None
        if settings.smtp_host:
            delivering = asyncio.create_task(
                notification_sender.run(app.state.session_factory, settings, stop)
            )
        # The KPI deltas every transition appends, folded into the daily rows.
        folding = None
        if settings.kpi_fold_seconds > 0:
            folding = asyncio.create_task(
                kpi_folding.run(app.state.session_factory, settings, stop)
            )
        collect_garbage_less_often()
        yield
        stop.set()
        if delivering is not None:
            await delivering
        if folding is not None:
            await folding
        await engine.dispose()

    app = FastAPI(
        title="madoguchi",
        summary="窓口: online administrative procedures for municipalities",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)

    install_error_handlers(app)
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_request_body_bytes,
        max_json_depth=settings.max_json_depth,
        body_limits=[attachments.upload_body_limit(settings)],
    )
    # Added after (so outside) the request-context middleware: its 413/500 answers get
    # CORS and security headers too.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_allow_origins,
        allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "If-Match"],
        expose_headers=["X-Request-ID", "ETag", "Location", "Retry-After"],
        max_age=600,
    )
    app.add_middleware(
        SecurityHeadersMiddleware, hsts=settings.public_base_url.startswith("https://")
    )
    if settings.forwarded_allow_ips:
        # Outermost: every layer (rate limits, the access log) sees the client the trusted
        # proxy names. The server itself runs with proxy headers off (app/serve.py).
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)
    app.include_router(health_router)
    # Every request walks the routes in order until one matches, so the busiest come first:
    # the providers' webhook (one route; each payment event, and its retries), then the
    # submissions routes (create, submit, read). No router's paths overlap another's.
    api_routers = (
        payments_webhook_router,
        submissions_router,
        municipalities_router,
        catalog_router,
        admin_router,
        attachments.router,
        attachments.admin_router,
        notifications_admin_router,
        jpki_router,
        payments_router,
        kpi_router,
        open_data_router,
        web.api,
    )
    for api_router in api_routers:
        app.include_router(api_router, prefix=API_PREFIX)
    app.include_router(web.pages)
    app.mount(web.ASSETS_PATH, web.static_files(), name="web-assets")

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = (
                PROBLEM_SCHEMA
            )
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
