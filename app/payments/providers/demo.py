"""`demo`: a local page where a developer succeeds or fails a payment (no money moves).
The default of `make run`; settings refuse it in production.

Its page's buttons are its events (`demo.payment.pay`, `.konbini`, `.fail`): they go
through the inbox and `facts_of` like any provider's webhook. It takes no webhooks from
outside and keeps no ledger."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

from app.config import Settings
from app.payments.lifecycle import Fact, RefundReport, RefundStatus, StoreCode, Voucher
from app.payments.providers.base import (
    CheckoutRequest,
    CheckoutStarted,
    CheckoutState,
    EventFacts,
    Ledger,
    LedgerUnavailable,
    PaymentRef,
    RefundRequest,
    VerifiedEvent,
    WebhookNotConfigured,
)
from app.payments.providers.stripe_checkout import KONBINI_EXPIRES_AFTER_DAYS

DEMO_PAGE_PATH = "/api/v1/payments/demo/{payment_id}"
ACTION_FACTS: Mapping[str, Fact] = {
    "pay": Fact("succeeded"),
    "konbini": Fact("pending"),
    "fail": Fact("failed"),
}
"""The page's buttons."""


def page_event(
    payment_id: uuid.UUID, action: str, payment_status: str, *, now: datetime
) -> VerifiedEvent:
    """A button pressed on the page, as an event: pressing it again in the same state is
    the same event (a duplicate). The konbini button hands out a made-up voucher."""
    payload: dict[str, Any] = {
        "payment_id": str(payment_id),
        "action": action,
        "from": payment_status,
    }
    if action == "konbini":
        payload["voucher"] = demo_voucher(payment_id, now).as_dict()
    return VerifiedEvent(
        id=f"{payment_id}:{action}:{payment_status}",
        type=f"demo.payment.{action}",
        payload=payload,
        livemode=False,
    )


def demo_voucher(payment_id: uuid.UUID, now: datetime) -> Voucher:
    """A コンビニ払込票 shaped like Stripe's (one 払込番号 for every store, with a 確認番号,
    due when Stripe's are), so the client's voucher can be seen in development."""
    code = f"{payment_id.int % 10**11:011d}"
    confirmation = f"{payment_id.int // 10**11 % 10**6:06d}"
    return Voucher(
        expires_at=now + timedelta(days=KONBINI_EXPIRES_AFTER_DAYS),
        hosted_voucher_url=None,
        stores={
            store: StoreCode(code, confirmation)
            for store in ("familymart", "lawson", "ministop", "seicomart")
        },
    )


class DemoProvider:
    name: ClassVar[str] = "demo"

    def __init__(self, settings: Settings) -> None:
        self._base_url = settings.public_base_url.rstrip("/")

    @property
    def livemode(self) -> bool:
        return False

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

    async def cancel_payment(self, payment_intent_id: str) -> None:
        return None

    async def refund(self, request: RefundRequest) -> RefundReport:
        return RefundReport(
            f"demo_re_{request.refund_id.hex}",
            request.amount,
            RefundStatus.SUCCEEDED,
            str(request.refund_id),
        )

    async def refund_state(self, provider_refund_id: str) -> RefundReport:
        # Demo refunds succeed the moment they are asked for.
        return RefundReport(provider_refund_id, 0, RefundStatus.SUCCEEDED)

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> VerifiedEvent:
        raise WebhookNotConfigured(
            "The demo provider takes no webhooks; its page settles payments itself.",
            "デモ決済はWebhookを受け付けません（決済画面で処理します）。",
        )

    def facts_of(self, event: VerifiedEvent) -> EventFacts:
        fact = ACTION_FACTS.get(str(event.payload.get("action")))
        if fact is None:
            return EventFacts()
        if "voucher" in event.payload:
            fact = Fact(fact.kind, voucher=Voucher.from_dict(event.payload["voucher"]))
        return EventFacts(
            ref=PaymentRef(payment_id=str(event.payload["payment_id"])), facts=(fact,)
        )

    def ledger(self) -> Ledger:
        raise LedgerUnavailable(
            "The demo provider keeps no ledger; reconciliation reads Stripe's.",
            "デモ決済には入金記録がありません。消込はStripeの入金情報を使います。",
        )

    async def aclose(self) -> None:
        return None
