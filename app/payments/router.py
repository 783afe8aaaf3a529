"""Every payment route, gathered for create_app(): citizens and the demo page, finance
(/admin/payments, /admin/refunds, /admin/submissions/{id}/fee) and reconciliation
(/admin/reconciliation) in `router`; the provider webhooks in `webhook_router`, which
create_app() includes ahead of the rest of the API."""

from __future__ import annotations

from fastapi import APIRouter

from app.payments.admin_router import router as admin_router
from app.payments.citizen_router import router as citizen_router
from app.payments.citizen_router import webhook_router as webhook_router
from app.payments.dependencies import close_providers
from app.payments.reconciliation.router import router as reconciliation_router

router = APIRouter(lifespan=close_providers)
router.include_router(citizen_router)
router.include_router(admin_router)
router.include_router(reconciliation_router)
