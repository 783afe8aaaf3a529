"""The payment provider protocol: what the payment service asks of Stripe, the demo page,
or any provider added later (a new provider is a new file registered here)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Protocol

from app.config import Settings
from app.errors import AppError
from app.payments.lifecycle import Fact


class ProviderUnavailable(AppError):
    """The provider refused or could not be reached; nothing was stored."""

    status = 502
    code = "PAYMENT_PROVIDER_UNAVAILABLE"
    title_en = "The payment service could not be reached"
    title_ja = "決済サービスに接続できませんでした"


@dataclass(frozen=True)
class LineItem:
    """One line of the checkout page, in integer yen."""

    name: str
    unit_amount: int
    quantity: int


@dataclass(frozen=True)
class CheckoutRequest:
    payment_id: uuid.UUID
    submission_id: uuid.UUID
    reference_number: str
    """受付番号."""
    municipality_code: str
    description: str
    amount: int
    line_items: list[LineItem]
    payment_method_types: list[str]
    expires_at: datetime
    success_url: str
    cancel_url: str
    requested_at: datetime
    """The request clock's now: bounds on `expires_at` count from it."""

    @property
    def metadata(self) -> dict[str, str]:
        """Our ids, carried by the provider's objects so any event leads back to us."""
        return {
            "payment_id": str(self.payment_id),
            "submission_id": str(self.submission_id),
            "reference_number": self.reference_number,
            "municipality_code": self.municipality_code,
        }

    @property
    def idempotency_key(self) -> str:
        # Derived from our payment id: a retried start cannot open a second checkout.
        return f"payment-{self.payment_id}-checkout"


@dataclass(frozen=True)
class CheckoutStarted:
    checkout_id: str
    redirect_url: str
    expires_at: datetime


@dataclass(frozen=True)
class CheckoutState:
    """What the provider says about a checkout now (to settle missed webhooks)."""

    facts: list[Fact] = field(default_factory=list)
    payment_intent_id: str | None = None
    charge_id: str | None = None


@dataclass(frozen=True)
class RefundRequest:
    refund_id: uuid.UUID
    payment_id: uuid.UUID
    checkout_id: str | None
    payment_intent_id: str | None
    amount: int

    @property
    def idempotency_key(self) -> str:
        return f"refund-{self.refund_id}"


@dataclass(frozen=True)
class RefundResult:
    provider_refund_id: str
    status: str
    """succeeded | pending | requires_action (the citizen must name a bank account)."""


class PaymentProvider(Protocol):
    name: ClassVar[str]

    async def start_checkout(self, request: CheckoutRequest) -> CheckoutStarted:
        """Open a hosted payment page for exactly `request.amount` yen."""
        ...

    async def checkout_state(
        self, checkout_id: str, *, expires_at: datetime, now: datetime
    ) -> CheckoutState: ...

    async def expire_checkout(self, checkout_id: str) -> None:
        """Close a page that may no longer be paid (its amount changed)."""
        ...

    async def refund(self, request: RefundRequest) -> RefundResult: ...

    async def aclose(self) -> None: ...


ProviderFactory = Callable[[Settings], PaymentProvider]
