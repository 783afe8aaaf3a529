"""A submission's citizen HTTP surface in one place: the application itself (create,
read, edit, submit, withdraw), what the My Number card adds to it (the signing
document, prefill from the card) and the logged-in citizen's list (マイページ).
Staff routes live in app.admin and go through app.submissions.service."""

from __future__ import annotations

from fastapi import APIRouter

from app.submissions.router import applications, card, mine

router = APIRouter()
router.include_router(applications.router)
router.include_router(card.router)
router.include_router(mine.router)
