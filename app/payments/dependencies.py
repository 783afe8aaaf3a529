"""Request-scoped dependencies of the payment routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request

from app.auth.staff_access import require
from app.auth.staff_models import StaffRole
from app.auth.staff_service import StaffPrincipal
from app.payments.providers import ProviderRegistry


def payment_registry(app: FastAPI) -> ProviderRegistry:
    """The app's providers, built on first use (tests run the app without a lifespan)."""
    registry: ProviderRegistry | None = getattr(app.state, "payment_providers", None)
    if registry is None:
        registry = ProviderRegistry(app.state.settings)
        app.state.payment_providers = registry
    return registry


async def get_registry(request: Request) -> ProviderRegistry:
    # async: a plain `def` dependency would run in a worker thread.
    return payment_registry(request.app)


@asynccontextmanager
async def close_providers(app: Any) -> AsyncIterator[None]:
    """Router lifespan: closes the providers' HTTP pools when the app stops."""
    yield
    registry: ProviderRegistry | None = getattr(app.state, "payment_providers", None)
    if registry is not None:
        await registry.aclose()


Providers = Annotated[ProviderRegistry, Depends(get_registry)]

FinanceStaff = Annotated[StaffPrincipal, Depends(require(StaffRole.ADMIN, StaffRole.FINANCE))]
"""会計: payments, refunds and reconciliation of the staff member's municipality."""

ApplicationStaff = Annotated[
    StaffPrincipal,
    Depends(require(StaffRole.ADMIN, StaffRole.REVIEWER, StaffRole.FINANCE)),
]
"""Who sees an application's money: finance and admins all of the municipality's,
reviewers those of their own department (checked in the payment service)."""
