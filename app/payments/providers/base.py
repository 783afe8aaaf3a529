"""The payment provider protocol: what the payment service, the webhook route and
reconciliation ask of Stripe, the demo page, or any provider added later. A provider is
a plugin: one file implementing `PaymentProvider`, registered by name in
app.payments.providers, reached at `/api/v1/payments/{name}/webhook`.

- start: `start_checkout` (and `checkout_state`, `expire_checkout`, `cancel_payment`,
  `refund`, `refund_state` for what follows);
- verify webhook: `verify_webhook(body, headers)` -> a `VerifiedEvent`, or
  `WebhookSignatureInvalid`;
- `facts_of(event)`: what the event says in our terms (`EventFacts`: which payment, the
  facts, what to cross-check against the stored payment, a refund, a dispute, a payout);
- its ledger source: `ledger()` -> the balance transactions reconciliation reads.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, ClassVar, NamedTuple, Protocol

from app.config import Settings
from app.errors import AppError, Conflict, NotFound
from app.payments.lifecycle import DisputeReport, Fact, RefundReport


class ProviderUnavailable(AppError, code="PAYMENT_PROVIDER_UNAVAILABLE", status=502):
    """The provider refused or could not be reached; nothing was stored."""


class RefundRefused(Exception):
    """The provider turned the refund down for good (e.g. the charge is already
    refunded): the refund is failed, not retried."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PaymentProviderNotFound(NotFound, code="PAYMENT_PROVIDER_NOT_FOUND"): ...


class WebhookSignatureInvalid(AppError, code="WEBHOOK_SIGNATURE_INVALID"): ...


class WebhookNotConfigured(NotFound, code="WEBHOOK_NOT_CONFIGURED"): ...


class LedgerUnavailable(Conflict, code="RECONCILIATION_UNAVAILABLE"): ...


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
    livemode: bool = False


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
class VerifiedEvent:
    """A provider event whose signature verified: stored in the inbox as sent."""

    id: str
    type: str
    payload: dict[str, Any]
    livemode: bool | None = None


@dataclass(frozen=True)
class PaymentRef:
    """How an event names our payment: our id (metadata) first, then the provider's ids."""

    payment_id: str | None = None
    checkout_id: str | None = None
    payment_intent_id: str | None = None
    charge_id: str | None = None


@dataclass(frozen=True)
class Claims:
    """What an event asserts about the payment it names. Before anything settles, each
    claim made must equal the stored payment; one that differs is a mismatch, recorded
    and shown to finance, never applied."""

    checkout_id: str | None = None
    amount: int | None = None
    currency: str | None = None
    livemode: bool | None = None


@dataclass(frozen=True)
class EventFacts:
    """What one event says, in our terms (`PaymentProvider.facts_of`). An event about no
    payment and no payout (`ref` None, no payout) is ignored."""

    ref: PaymentRef | None = None
    facts: tuple[Fact, ...] = ()
    claims: Claims = field(default_factory=Claims)
    refund: RefundReport | None = None
    dispute: DisputeReport | None = None
    payout: Mapping[str, Any] | None = None
    """A payout object, as the provider sent it."""


@dataclass(frozen=True)
class LedgerPayout:
    id: str
    amount: int
    currency: str
    status: str
    arrival_date: date | None
    created: datetime


class LedgerTransaction(NamedTuple):
    """A balance transaction with what its source tells about our ids. A named tuple:
    reconciliation makes one per transaction, 100,000 for a large payout, and a frozen
    dataclass costs several times as much to build."""

    id: str
    type: str
    reporting_category: str | None
    amount: int
    fee: int
    net: int
    currency: str
    created: datetime
    available_on: datetime | None
    source_id: str | None
    charge_id: str | None = None
    payment_intent_id: str | None = None
    refund_id: str | None = None
    metadata: Mapping[str, str] = MappingProxyType({})


class Ledger(Protocol):
    """Where reconciliation reads a provider's books: payouts and balance transactions."""

    provider: ClassVar[str]

    async def payout(self, payout_id: str) -> LedgerPayout: ...

    def transactions(
        self,
        *,
        payout_id: str | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
    ) -> AsyncGenerator[LedgerTransaction, None]:
        """Every balance transaction of the payout, or created in [from, to); closed
        (`aclose`) when the caller stops early."""
        ...


class PaymentProvider(Protocol):
    name: ClassVar[str]

    @property
    def livemode(self) -> bool:
        """Payments opened now are live (real money), not test ones."""
        ...

    async def start_checkout(self, request: CheckoutRequest) -> CheckoutStarted:
        """Open a hosted payment page for exactly `request.amount` yen."""
        ...

    async def checkout_state(
        self, checkout_id: str, *, expires_at: datetime, now: datetime
    ) -> CheckoutState: ...

    async def expire_checkout(self, checkout_id: str) -> None:
        """Close a page that may no longer be paid (its amount changed, or the
        application was withdrawn)."""
        ...

    async def cancel_payment(self, payment_intent_id: str) -> None:
        """Cancel a payment waiting for cash (a konbini voucher) that is no longer due."""
        ...

    async def refund(self, request: RefundRequest) -> RefundReport:
        """Ask for the refund (idempotent under `request.idempotency_key`); raises
        `RefundRefused` for a definite no, `ProviderUnavailable` when unsure."""
        ...

    async def refund_state(self, provider_refund_id: str) -> RefundReport: ...

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> VerifiedEvent:
        """The event, once its signature verifies; `WebhookSignatureInvalid` otherwise,
        `WebhookNotConfigured` when this provider takes no webhooks here."""
        ...

    def facts_of(self, event: VerifiedEvent) -> EventFacts: ...

    def ledger(self) -> Ledger:
        """The balance-transaction source for reconciliation; `LedgerUnavailable` when
        the provider keeps none."""
        ...

    async def aclose(self) -> None: ...


ProviderFactory = Callable[[Settings], PaymentProvider]
