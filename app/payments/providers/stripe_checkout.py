"""`stripe`: Stripe Checkout Sessions in JPY through the official SDK, async calls only.

Every outgoing POST carries an idempotency key derived from our own ids, and the SDK
retries network errors and 409/5xx answers with those same keys
(`stripe_max_network_retries`), so a retry can never charge or refund twice."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, NoReturn

import stripe
from stripe.params import RefundCreateParams
from stripe.params.checkout import SessionCreateParams

from app.config import Settings
from app.payments.lifecycle import Fact, StoreCode, Voucher
from app.payments.providers.base import (
    CheckoutRequest,
    CheckoutStarted,
    CheckoutState,
    ProviderUnavailable,
    RefundRequest,
    RefundResult,
)

logger = logging.getLogger(__name__)

KONBINI_MIN_AMOUNT, KONBINI_MAX_AMOUNT = 120, 300_000
"""Konbini (コンビニ払い) takes 120 to 300,000 yen per payment."""
KONBINI_EXPIRES_AFTER_DAYS = 3
STRIPE_TIMEOUT_SECONDS = 30.0
CHECKOUT_EXPIRY_MIN, CHECKOUT_EXPIRY_MAX = timedelta(minutes=30), timedelta(hours=24)
"""Stripe takes an `expires_at` "anywhere from 30 minutes to 24 hours after Checkout
Session creation" (SessionCreateParams.expires_at), measured by Stripe's clock."""
CHECKOUT_EXPIRY_MARGIN = timedelta(minutes=5)
"""Kept inside both bounds: our clock and Stripe's differ, and the request takes time."""


def checkout_expiry(expires_at: datetime, now: datetime) -> datetime:
    """`expires_at`, moved inside Stripe's bounds with a margin on either side."""
    earliest = now + CHECKOUT_EXPIRY_MIN + CHECKOUT_EXPIRY_MARGIN
    latest = now + CHECKOUT_EXPIRY_MAX - CHECKOUT_EXPIRY_MARGIN
    return min(max(expires_at, earliest), latest)


def stripe_client(settings: Settings, http_client: stripe.HTTPXClient) -> stripe.StripeClient:
    """The one way this app builds a Stripe client: async HTTP through httpx, explicit
    retries, and the API address the settings name (the fake server in tests)."""
    if settings.stripe_api_key is None:
        raise ProviderUnavailable(
            "Stripe is not configured (STRIPE_API_KEY).", "Stripeが設定されていません。"
        )
    base_addresses: dict[str, str] = {}
    if settings.stripe_api_base:
        base_addresses = {"api": settings.stripe_api_base.rstrip("/")}
    return stripe.StripeClient(
        settings.stripe_api_key.get_secret_value(),
        base_addresses=base_addresses,  # type: ignore[arg-type]
        max_network_retries=settings.stripe_max_network_retries,
        http_client=http_client,
    )


def offered_methods(methods: list[str], amount: int) -> list[str]:
    """The configured methods that can take `amount` (konbini has limits)."""
    offered = [
        method
        for method in methods
        if method != "konbini" or KONBINI_MIN_AMOUNT <= amount <= KONBINI_MAX_AMOUNT
    ]
    return offered or ["card"]


class StripeCheckout:
    name: ClassVar[str] = "stripe"

    def __init__(self, settings: Settings) -> None:
        self._http = stripe.HTTPXClient(timeout=STRIPE_TIMEOUT_SECONDS)
        self.client = stripe_client(settings, self._http)

    async def start_checkout(self, request: CheckoutRequest) -> CheckoutStarted:
        methods = offered_methods(request.payment_method_types, request.amount)
        expires_at = checkout_expiry(request.expires_at, request.requested_at)
        params: SessionCreateParams = {
            "mode": "payment",
            "currency": "jpy",
            "line_items": [
                {
                    "price_data": {
                        "currency": "jpy",
                        "unit_amount": item.unit_amount,
                        "product_data": {"name": item.name},
                    },
                    "quantity": item.quantity,
                }
                for item in request.line_items
            ],
            "allowed_payment_method_types": methods,
            "client_reference_id": str(request.payment_id),
            "metadata": request.metadata,
            "payment_intent_data": {
                "metadata": request.metadata,
                "description": request.description,
            },
            "expires_at": int(expires_at.timestamp()),
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            "locale": "ja",
            "submit_type": "pay",
        }
        if "konbini" in methods:
            params["payment_method_options"] = {
                "konbini": {"expires_after_days": KONBINI_EXPIRES_AFTER_DAYS}
            }
        try:
            session = await self.client.v1.checkout.sessions.create_async(
                params, {"idempotency_key": request.idempotency_key}
            )
        except stripe.StripeError as error:
            _unavailable("create checkout session", error)
        if session.url is None:
            _unavailable("create checkout session", None)
        return CheckoutStarted(
            checkout_id=session.id,
            redirect_url=session.url,
            expires_at=datetime.fromtimestamp(session.expires_at, tz=request.expires_at.tzinfo),
        )

    async def checkout_state(
        self, checkout_id: str, *, expires_at: datetime, now: datetime
    ) -> CheckoutState:
        try:
            session = await self.client.v1.checkout.sessions.retrieve_async(
                checkout_id, {"expand": ["payment_intent.latest_charge"]}
            )
        except stripe.StripeError as error:
            _unavailable("retrieve checkout session", error)
        return state_of_session(session.to_dict())

    async def expire_checkout(self, checkout_id: str) -> None:
        try:
            await self.client.v1.checkout.sessions.expire_async(checkout_id)
        except stripe.InvalidRequestError:
            # Already complete or expired: the webhook (or settle-open) says which.
            return
        except stripe.StripeError as error:
            _unavailable("expire checkout session", error)

    async def refund(self, request: RefundRequest) -> RefundResult:
        if request.payment_intent_id is None:
            _unavailable("refund", None)
        params: RefundCreateParams = {
            "payment_intent": request.payment_intent_id,
            "amount": request.amount,
            "reason": "requested_by_customer",
            # Our ids only: the reason finance wrote stays with us.
            "metadata": {
                "refund_id": str(request.refund_id),
                "payment_id": str(request.payment_id),
            },
        }
        try:
            refund = await self.client.v1.refunds.create_async(
                params, {"idempotency_key": request.idempotency_key}
            )
        except stripe.StripeError as error:
            _unavailable("create refund", error)
        return RefundResult(refund.id, refund.status or "pending")

    async def aclose(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]


def state_of_session(session: dict[str, Any]) -> CheckoutState:
    """The facts a Checkout Session (with its PaymentIntent and latest charge expanded,
    when present) shows: what settle-open applies for a webhook that never came."""
    intent = session.get("payment_intent")
    intent = intent if isinstance(intent, dict) else {}
    charge = intent.get("latest_charge")
    charge = charge if isinstance(charge, dict) else {}
    facts: list[Fact] = []
    if session.get("status") == "expired":
        facts.append(Fact("expired"))
    elif session.get("status") == "complete":
        paid = session.get("payment_status") in ("paid", "no_payment_required")
        if paid or intent.get("status") == "succeeded":
            facts.append(Fact("succeeded"))
        elif intent.get("status") in ("requires_payment_method", "canceled"):
            facts.append(Fact("failed"))  # e.g. the konbini voucher lapsed unpaid
        else:
            facts.append(Fact("pending", voucher=voucher_of(intent)))
    if charge.get("amount_refunded"):
        facts.append(Fact("refunded", refunded_total=int(charge["amount_refunded"])))
    if charge.get("disputed"):
        facts.append(Fact("disputed"))
    return CheckoutState(
        facts=facts,
        payment_intent_id=intent.get("id"),
        charge_id=charge.get("id"),
    )


def voucher_of(intent: Mapping[str, Any]) -> Voucher | None:
    """The konbini voucher of a PaymentIntent waiting for cash (`next_action` of type
    `konbini_display_details`), or None: a card's 3-D Secure also `requires_action`."""
    action = intent.get("next_action")
    if not isinstance(action, Mapping) or action.get("type") != "konbini_display_details":
        return None
    details = action.get("konbini_display_details") or {}
    if not isinstance(details.get("expires_at"), int):
        return None
    stores = {
        store: StoreCode(str(codes["payment_code"]), codes.get("confirmation_number"))
        for store, codes in (details.get("stores") or {}).items()
        if isinstance(codes, Mapping) and codes.get("payment_code")
    }
    return Voucher(
        expires_at=datetime.fromtimestamp(details["expires_at"], tz=UTC),
        hosted_voucher_url=details.get("hosted_voucher_url"),
        stores=stores,
    )


def _unavailable(action: str, error: stripe.StripeError | None) -> NoReturn:
    # Type, status and code only: Stripe's messages may quote what we sent.
    if error is None:
        logger.error("stripe %s: unexpected response", action)
    else:
        logger.warning(
            "stripe %s failed: %s status=%s code=%s",
            action,
            type(error).__name__,
            error.http_status,
            error.code,
        )
    raise ProviderUnavailable(
        "The payment service did not accept the request. Please try again later.",
        "決済サービスで処理できませんでした。時間をおいて再度お試しください。",
        extra={"provider_code": error.code} if error is not None and error.code else None,
    )
