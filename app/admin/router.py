"""Every staff route (/admin/...), gathered for create_app()."""

from __future__ import annotations

from fastapi import APIRouter

from app.admin.procedures_router import router as procedures_router
from app.admin.review_router import router as review_router
from app.audit.router import router as audit_router
from app.auth.staff_router import router as staff_router

router = APIRouter()
router.include_router(staff_router)
router.include_router(procedures_router)
router.include_router(review_router)
router.include_router(audit_router)
