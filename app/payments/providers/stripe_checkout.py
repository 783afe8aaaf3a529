"""`stripe`: Stripe Checkout Sessions in JPY through the official SDK, async calls only;
its webhooks (Stripe-Signature) and what each event says; its balance transactions as
reconciliation's ledger (app.payments.providers.stripe_ledger).

Every outgoing POST carries an idempotency key derived from our own ids, and the SDK
retries network errors and 409/5xx answers with those same keys
(`stripe_max_network_retries`), so a retry can never charge or refund twice."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, NoReturn

import stripe
from stripe.params import RefundCreateParams
from stripe.params.checkout import SessionCreateParams

from app.config import Settings
from app.payments.lifecycle import (
    DisputeReport,
    DisputeStatus,
    Fact,
    RefundReport,
    RefundStatus,
    StoreCode,
    Voucher,
)
from app.payments.providers.base import (
    CheckoutRequest,
    CheckoutStarted,
    CheckoutState,
    Claims,
    EventFacts,
    Ledger,
    LedgerUnavailable,
    PaymentRef,
    ProviderUnavailable,
    RefundRefused,
    RefundRequest,
    VerifiedEvent,
    WebhookNotConfigured,
    WebhookSignatureInvalid,
)
from app.payments.providers.stripe_ledger import StripeLedger

logger = logging.getLogger(__name__)

KONBINI_MIN_AMOUNT, KONBINI_MAX_AMOUNT = 120, 300_000
"""Konbini (コンビニ払い) takes 120 to 300,000 yen per payment."""
KONBINI_EXPIRES_AFTER_DAYS = 3
STRIPE_TIMEOUT_SECONDS = 30.0
LIVE_KEY_PREFIXES = ("sk_live_", "rk_live_")
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
        self._settings = settings
        self._http: stripe.HTTPXClient | None = None
        self._client: stripe.StripeClient | None = None

    @property
    def client(self) -> stripe.StripeClient:
        """Built on first use: verifying a webhook needs only the signing secret."""
        if self._client is None:
            self._http = stripe.HTTPXClient(timeout=STRIPE_TIMEOUT_SECONDS)
            self._client = stripe_client(self._settings, self._http)
        return self._client

    @property
    def livemode(self) -> bool:
        key = self._settings.stripe_api_key
        return key is not None and key.get_secret_value().startswith(LIVE_KEY_PREFIXES)

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
            livemode=bool(session.livemode),
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

    async def cancel_payment(self, payment_intent_id: str) -> None:
        try:
            await self.client.v1.payment_intents.cancel_async(
                payment_intent_id, {"cancellation_reason": "abandoned"}
            )
        except stripe.InvalidRequestError:
            # Already paid or canceled: the webhook says which.
            return
        except stripe.StripeError as error:
            _unavailable("cancel payment intent", error)

    async def refund(self, request: RefundRequest) -> RefundReport:
        if request.payment_intent_id is None:
            raise RefundRefused("no_payment_intent")
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
        except stripe.InvalidRequestError as error:
            # A definite no (already refunded, more than is left): not worth a retry.
            raise RefundRefused(error.code or "invalid_request") from error
        except stripe.StripeError as error:
            _unavailable("create refund", error)
        return refund_report(refund.to_dict())

    async def refund_state(self, provider_refund_id: str) -> RefundReport:
        try:
            refund = await self.client.v1.refunds.retrieve_async(provider_refund_id)
        except stripe.StripeError as error:
            _unavailable("retrieve refund", error)
        return refund_report(refund.to_dict())

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> VerifiedEvent:
        """The event, once its Stripe-Signature (HMAC-SHA256 of `t.payload`, within
        Stripe's 5-minute tolerance) matches the raw body. The body is parsed once,
        as plain JSON: the event is stored as sent, never turned into SDK objects."""
        secret = self._settings.stripe_webhook_secret
        if secret is None:
            raise WebhookNotConfigured(
                "STRIPE_WEBHOOK_SECRET is not set.", "STRIPE_WEBHOOK_SECRETが設定されていません。"
            )
        try:
            stripe.WebhookSignature.verify_header(
                body,
                headers.get("stripe-signature"),
                secret.get_secret_value(),
                stripe.Webhook.DEFAULT_TOLERANCE,
            )
            event = json.loads(body)
        except (stripe.SignatureVerificationError, ValueError) as exc:
            raise WebhookSignatureInvalid(
                "The Stripe-Signature header does not match the body, or is too old.",
                "Stripe-Signatureヘッダーが本文と一致しないか、古すぎます。",
            ) from exc
        if (
            not isinstance(event, dict)
            or not isinstance(event.get("id"), str)
            or not isinstance(event.get("type"), str)
        ):
            raise WebhookSignatureInvalid(
                "The event has no id or type.", "イベントにidまたはtypeがありません。"
            )
        livemode = event.get("livemode")
        return VerifiedEvent(
            event["id"],
            event["type"],
            event,
            livemode if isinstance(livemode, bool) else None,
        )

    def facts_of(self, event: VerifiedEvent) -> EventFacts:
        return facts_of_event(event)

    def ledger(self) -> Ledger:
        if self._settings.stripe_api_key is None:
            raise LedgerUnavailable(
                "Reconciliation reads Stripe's payouts; set STRIPE_API_KEY.",
                "消込はStripeの入金情報を使います。STRIPE_API_KEYを設定してください。",
            )
        return StripeLedger(self.client)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.close_async()  # type: ignore[no-untyped-call]


CHECKOUT_FACTS: dict[str, Fact] = {
    "checkout.session.async_payment_succeeded": Fact("succeeded"),
    "checkout.session.async_payment_failed": Fact("failed"),
    "checkout.session.expired": Fact("expired"),
}
REFUND_EVENTS = frozenset(
    {"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"}
)
DISPUTE_EVENTS = frozenset(
    {
        "charge.dispute.created",
        "charge.dispute.updated",
        "charge.dispute.closed",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.funds_reinstated",
    }
)


def facts_of_event(event: VerifiedEvent) -> EventFacts:
    """What a Stripe event says about our payments (see docs/payments.md#webhooks)."""
    obj: dict[str, Any] = event.payload.get("data", {}).get("object", {})
    metadata = obj.get("metadata") or {}
    our_id = metadata.get("payment_id") if isinstance(metadata, Mapping) else None
    currency = obj.get("currency")
    if event.type == "checkout.session.completed" or event.type in CHECKOUT_FACTS:
        if event.type == "checkout.session.completed":
            # Konbini completes the page with the voucher issued but unpaid: pending
            # until async_payment_succeeded (or _failed) says how it ended.
            paid = obj.get("payment_status") in ("paid", "no_payment_required")
            fact = Fact("succeeded" if paid else "pending")
        else:
            fact = CHECKOUT_FACTS[event.type]
        return EventFacts(
            ref=PaymentRef(our_id, _id(obj), _id(obj.get("payment_intent"))),
            facts=(fact,),
            claims=Claims(_id(obj), _int(obj.get("amount_total")), currency, event.livemode),
        )
    if event.type == "payment_intent.requires_action":
        voucher = voucher_of(obj)
        if voucher is None:
            return EventFacts()  # e.g. a card's 3-D Secure: nothing to record
        return EventFacts(
            ref=PaymentRef(our_id, payment_intent_id=_id(obj)),
            facts=(Fact("pending", voucher=voucher),),
            claims=Claims(None, _int(obj.get("amount")), currency, event.livemode),
        )
    if event.type == "payment_intent.canceled":
        return EventFacts(
            ref=PaymentRef(our_id, payment_intent_id=_id(obj)),
            facts=(Fact("canceled"),),
            claims=Claims(None, _int(obj.get("amount")), currency, event.livemode),
        )
    if event.type == "charge.refunded":
        # The refunds themselves come as refund.* events; this one says the money was
        # received (a refund implies it) and names the charge.
        return EventFacts(
            ref=PaymentRef(our_id, None, _id(obj.get("payment_intent")), _id(obj)),
            facts=(Fact("succeeded"),),
            claims=Claims(None, _int(obj.get("amount")), currency, event.livemode),
        )
    if event.type in REFUND_EVENTS:
        return EventFacts(
            ref=PaymentRef(our_id, None, _id(obj.get("payment_intent")), _id(obj.get("charge"))),
            facts=(Fact("succeeded"),),
            claims=Claims(None, None, currency, event.livemode),
            refund=refund_report(obj),
        )
    if event.type in DISPUTE_EVENTS:
        # A dispute carries no metadata: it is found by its PaymentIntent or charge.
        status = str(obj.get("status"))
        if status not in set(DisputeStatus):
            return EventFacts()
        return EventFacts(
            ref=PaymentRef(None, None, _id(obj.get("payment_intent")), _id(obj.get("charge"))),
            facts=(Fact("succeeded"),),
            claims=Claims(None, None, currency, event.livemode),
            dispute=DisputeReport(
                _id(obj) or "", _int(obj.get("amount")) or 0, DisputeStatus(status)
            ),
        )
    if event.type.startswith("payout."):
        return EventFacts(payout=obj)
    return EventFacts()


def refund_report(refund: Mapping[str, Any]) -> RefundReport:
    metadata = refund.get("metadata") or {}
    status = str(refund.get("status"))
    return RefundReport(
        provider_refund_id=str(refund["id"]),
        amount=int(refund.get("amount") or 0),
        # Anything Stripe adds later is still a refund on its way.
        status=RefundStatus(status) if status in set(RefundStatus) else RefundStatus.PENDING,
        refund_id=metadata.get("refund_id") if isinstance(metadata, Mapping) else None,
        failure_reason=refund.get("failure_reason"),
    )


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
        elif intent.get("status") == "canceled":
            facts.append(Fact("canceled"))
        elif intent.get("status") == "requires_payment_method":
            facts.append(Fact("failed"))  # e.g. the konbini voucher lapsed unpaid
        else:
            facts.append(Fact("pending", voucher=voucher_of(intent)))
    return CheckoutState(
        facts=facts,
        payment_intent_id=intent.get("id"),
        charge_id=charge.get("id"),
    )


def _id(value: Any) -> str | None:
    """An expandable field: an id, or the expanded object carrying it."""
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


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
