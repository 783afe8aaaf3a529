"""`demo`: a local page where a developer succeeds or fails a payment (no money moves).
The default of `make run`; settings refuse it in production."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from app.config import Settings
from app.payments.lifecycle import Fact
from app.payments.providers.base import (
    CheckoutRequest,
    CheckoutStarted,
    CheckoutState,
    RefundRequest,
    RefundResult,
)

DEMO_PAGE_PATH = "/api/v1/payments/demo/{payment_id}"


class DemoProvider:
    name: ClassVar[str] = "demo"

    def __init__(self, settings: Settings) -> None:
        self._base_url = settings.public_base_url.rstrip("/")

    async def start_checkout(self, request: CheckoutRequest) -> CheckoutStarted:
        return CheckoutStarted(
            checkout_id=f"demo_cs_{request.payment_id.hex}",
            redirect_url=self._base_url + DEMO_PAGE_PATH.format(payment_id=request.payment_id),
            expires_at=request.expires_at,
        )

    async def checkout_state(
        self, checkout_id: str, *, expires_at: datetime, now: datetime
    ) -> CheckoutState:
        # The page settles payments itself; all that can be missed is the expiry.
        return CheckoutState(facts=[Fact("expired")] if now >= expires_at else [])

    async def expire_checkout(self, checkout_id: str) -> None:
        return None

    async def refund(self, request: RefundRequest) -> RefundResult:
        return RefundResult(f"demo_re_{request.refund_id.hex}", "succeeded")

    async def aclose(self) -> None:
        return None
