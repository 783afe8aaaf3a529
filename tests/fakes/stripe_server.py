"""A fake Stripe API for tests and benchmarks: a small Starlette app that speaks Stripe's
wire format, served on a real loopback port so the official SDK talks real HTTP to it.

- Requests: form-encoded bodies and query strings in bracket notation
  (`line_items[0][price_data][unit_amount]=300`, `expand[0]=...`), `Authorization:
  Bearer <key>`, `Idempotency-Key` honoured (same key and parameters: the first
  response again; same key, other parameters: an `idempotency_error`).
- Responses: Stripe-shaped objects (`id`, `object`, `created`, ...), list objects with
  `has_more` and `starting_after` paging, and errors as `{"error": {"type", "code",
  "message", "param"}}` with Stripe's status codes.
- State: checkout sessions, payment intents, charges, refunds, disputes, balance
  transactions and payouts, changed by the API and by the test controls below.
- Events: every change a webhook would announce is appended to `events` as a Stripe
  event; `signed_delivery` signs one as Stripe does (`t=...,v1=HMAC-SHA256`).

Nothing here reaches the internet.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import stripe
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from stripe import params as stripe_params
from stripe.params import checkout as checkout_params

from tests.fakes import stripe_params as rules

API_KEY = "sk_test_fake_madoguchi"
WEBHOOK_SECRET = "whsec_fake_madoguchi"
API_VERSION: str = stripe.api_version
"""The API version the pinned SDK speaks: events are rendered in it, as a webhook
endpoint created on that version receives them."""
KONBINI_STORES = ("familymart", "lawson", "ministop", "seicomart")
STRIPE_FEE_RATE = 0.036
"""3.6%: Stripe Japan's card rate, rounded to whole yen."""
DISPUTE_FEE = 1500
"""Stripe Japan's dispute fee (¥1,500), withdrawn with the disputed amount."""


class StripeError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.type, self.code, self.param = status, type_, code, param

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": str(self)}
        if self.code:
            error["code"] = self.code
        if self.param:
            error["param"] = self.param
        return {"error": error}


def decode_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's bracket notation back into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    listed: dict[str, Any] = _listify(root)
    return listed


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {key: _listify(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The Stripe-Signature header Stripe would send with `payload`."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def signed_delivery(
    event: dict[str, Any], secret: str = WEBHOOK_SECRET, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """Body and headers of a webhook delivery of `event`."""
    payload = json.dumps(event, ensure_ascii=False).encode()
    return payload, {
        "Stripe-Signature": sign(payload, secret, timestamp),
        "Content-Type": "application/json; charset=utf-8",
    }


@dataclass
class _State:
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    disputes: dict[str, dict[str, Any]] = field(default_factory=dict)
    payouts: dict[str, dict[str, Any]] = field(default_factory=dict)
    balance: list[dict[str, Any]] = field(default_factory=list)
    """Balance transactions, oldest first."""
    idempotency: dict[str, tuple[str, int, dict[str, Any], int]] = field(default_factory=dict)
    """key -> (fingerprint of the request, status, body, when it was stored)."""


class FakeStripe:
    """The fake's state, its HTTP app and the test controls. Thread-safe: the server
    runs in its own thread while the test drives the controls."""

    def __init__(self, api_key: str = API_KEY) -> None:
        self.api_key = api_key
        self.base_url = ""
        self.state = _State()
        self.events: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str, dict[str, Any], dict[str, str]]] = []
        """(method, path, params, selected headers) of every API call, for assertions."""
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._fail_next: list[int] = []
        self._clock: int | None = None
        self._list_cache: dict[tuple[Any, ...], tuple[list[dict[str, Any]], dict[str, int]]] = {}
        self._balance_version = 0
        """Bumped by every change to the balance, so cached listings are dropped."""
        self.app = Starlette(
            routes=[
                Route("/v1/checkout/sessions", self._create_session, methods=["POST"]),
                Route("/v1/checkout/sessions/{id}", self._get_session, methods=["GET"]),
                Route("/v1/checkout/sessions/{id}/expire", self._expire_session, methods=["POST"]),
                Route("/v1/payment_intents/{id}", self._get_intent, methods=["GET"]),
                Route("/v1/payment_intents/{id}/cancel", self._cancel_intent, methods=["POST"]),
                Route("/v1/charges/{id}", self._get_charge, methods=["GET"]),
                Route("/v1/refunds", self._create_refund, methods=["POST"]),
                Route("/v1/refunds/{id}", self._get_refund, methods=["GET"]),
                Route("/v1/balance_transactions", self._list_balance, methods=["GET"]),
                Route("/v1/payouts/{id}", self._get_payout, methods=["GET"]),
            ]
        )

    # --- Test controls ------------------------------------------------------------------

    def reset(self) -> None:
        """Forget everything (between tests sharing one server)."""
        with self._lock:
            self.state = _State()
            self.events, self.requests, self._fail_next = [], [], []
            self._clock = None
            self._list_cache = {}
            self._balance_version += 1

    def now(self) -> int:
        return self._clock if self._clock is not None else int(time.time())

    def set_time(self, moment: datetime | None) -> None:
        """Stamp what happens next at `moment` (balance transactions, payouts)."""
        self._clock = None if moment is None else int(moment.timestamp())

    def fail_next(self, *statuses: int) -> None:
        """The next requests answer these statuses (e.g. 500) before doing anything."""
        with self._lock:
            self._fail_next.extend(statuses)

    def take_events(self) -> list[dict[str, Any]]:
        with self._lock:
            taken, self.events = self.events, []
        return taken

    def session(self, session_id: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self.state.sessions[session_id])

    def charge_of(self, session_id: str) -> dict[str, Any]:
        with self._lock:
            intent = self.state.intents[self.state.sessions[session_id]["payment_intent"]]
            return copy.deepcopy(self.state.charges[intent["latest_charge"]])

    def complete_card(
        self, session_id: str, *, charged_amount: int | None = None
    ) -> list[dict[str, Any]]:
        """The citizen pays by card: the session completes paid. `charged_amount` makes
        the charge differ from the session (a discrepancy for reconciliation)."""
        with self._lock:
            session = self._open_session(session_id)
            intent = self._intent_for(session, "card")
            self._charge(intent, charged_amount or session["amount_total"])
            session.update(status="complete", payment_status="paid")
            return [self._event("checkout.session.completed", session)]

    def complete_konbini(self, session_id: str) -> list[dict[str, Any]]:
        """The citizen takes a konbini voucher: complete, but unpaid until they pay. The
        PaymentIntent carries the voucher (払込番号 per store, the deadline and the hosted
        voucher page) in `next_action.konbini_display_details`, announced by
        `payment_intent.requires_action`."""
        with self._lock:
            session = self._open_session(session_id)
            intent = self._intent_for(session, "konbini")
            days = int(
                session["payment_method_options"].get("konbini", {}).get("expires_after_days", 3)
            )
            number = f"{next(self._ids) % 10**11:011d}"
            intent["status"] = "requires_action"
            intent["next_action"] = {
                "type": "konbini_display_details",
                "konbini_display_details": {
                    "expires_at": self.now() + days * 86400,
                    "hosted_voucher_url": f"{self.base_url}/v/{intent['id']}",
                    "stores": {
                        store: {"confirmation_number": number[:6], "payment_code": number}
                        for store in KONBINI_STORES
                    },
                },
            }
            session.update(status="complete", payment_status="unpaid")
            return [
                self._event("checkout.session.completed", session),
                self._event("payment_intent.requires_action", intent),
            ]

    def konbini_paid(self, session_id: str) -> list[dict[str, Any]]:
        with self._lock:
            session = self.state.sessions[session_id]
            intent = self.state.intents[session["payment_intent"]]
            self._charge(intent, session["amount_total"])
            intent["next_action"] = None
            session["payment_status"] = "paid"
            return [self._event("checkout.session.async_payment_succeeded", session)]

    def konbini_failed(self, session_id: str) -> list[dict[str, Any]]:
        """The voucher lapsed unpaid."""
        with self._lock:
            session = self.state.sessions[session_id]
            intent = self.state.intents[session["payment_intent"]]
            intent.update(status="requires_payment_method", next_action=None)
            return [self._event("checkout.session.async_payment_failed", session)]

    def expire(self, session_id: str) -> list[dict[str, Any]]:
        with self._lock:
            session = self._open_session(session_id)
            session["status"] = "expired"
            return [self._event("checkout.session.expired", session)]

    def refund_in_dashboard(self, charge_id: str, amount: int) -> list[dict[str, Any]]:
        """A refund made in Stripe's dashboard, not through us: `refund.created` and
        `charge.refunded`."""
        with self._lock:
            before = len(self.events)
            self._refund(self.state.charges[charge_id], amount, {})
            return copy.deepcopy(self.events[before:])

    def refund(self, refund_id: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self.state.refunds[refund_id])

    def refund_succeeds(self, refund_id: str) -> list[dict[str, Any]]:
        """A pending refund completes (a konbini customer named their bank account)."""
        with self._lock:
            refund = self.state.refunds[refund_id]
            assert refund["status"] in ("pending", "requires_action"), refund["status"]
            refund.update(status="succeeded", next_action=None)
            return [self._event("refund.updated", refund)]

    def refund_fails(
        self, refund_id: str, reason: str = "expired_or_canceled_card"
    ) -> list[dict[str, Any]]:
        """The refund could not reach the customer: the money comes back to the balance
        (a `refund_failure` balance transaction) and the charge's refunded total drops."""
        with self._lock:
            refund = self.state.refunds[refund_id]
            assert refund["status"] != "failed"
            refund.update(status="failed", failure_reason=reason, next_action=None)
            charge = self.state.charges[refund["charge"]]
            charge["amount_refunded"] -= refund["amount"]
            charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
            txn = self._balance_transaction(
                "refund_failure", refund["amount"], 0, refund_id, "refund_failure"
            )
            refund["failure_balance_transaction"] = txn["id"]
            return [self._event("refund.updated", refund), self._event("refund.failed", refund)]

    def lapse_sessions(self) -> list[dict[str, Any]]:
        """Open sessions whose `expires_at` has passed expire (`checkout.session.expired`),
        as Stripe expires them by time; the API does this before every request."""
        with self._lock:
            return self._lapse_sessions()

    def dispute(self, charge_id: str) -> list[dict[str, Any]]:
        with self._lock:
            charge = self.state.charges[charge_id]
            dispute = {
                "id": self._id("du"),
                "object": "dispute",
                "amount": charge["amount"],
                "currency": "jpy",
                "charge": charge_id,
                "payment_intent": charge["payment_intent"],
                "reason": "fraudulent",
                "status": "needs_response",
                "created": self.now(),
                "metadata": {},
            }
            self.state.disputes[dispute["id"]] = dispute
            charge["disputed"] = True
            self._balance_transaction(
                "adjustment", -charge["amount"], DISPUTE_FEE, dispute["id"], "dispute"
            )
            return [
                self._event("charge.dispute.created", dispute),
                self._event("charge.dispute.funds_withdrawn", dispute),
            ]

    def dispute_of(self, charge_id: str) -> dict[str, Any]:
        with self._lock:
            found = [d for d in self.state.disputes.values() if d["charge"] == charge_id]
            return copy.deepcopy(found[-1])

    def dispute_under_review(self, dispute_id: str) -> list[dict[str, Any]]:
        """The evidence was submitted: Stripe's status moves to `under_review`."""
        with self._lock:
            dispute = self.state.disputes[dispute_id]
            dispute["status"] = "under_review"
            return [self._event("charge.dispute.updated", dispute)]

    def close_dispute(self, dispute_id: str, *, won: bool) -> list[dict[str, Any]]:
        """The issuer decided. Won: the disputed amount (and, in Japan, the fee) comes
        back as a `dispute_reversal` adjustment. Lost: the money stays withdrawn."""
        with self._lock:
            dispute = self.state.disputes[dispute_id]
            dispute["status"] = "won" if won else "lost"
            events = [self._event("charge.dispute.closed", dispute)]
            if won:
                self._balance_transaction(
                    "adjustment", dispute["amount"], -DISPUTE_FEE, dispute_id, "dispute_reversal"
                )
                events.append(self._event("charge.dispute.funds_reinstated", dispute))
            return events

    def add_unknown_charge(self, amount: int, metadata: dict[str, str] | None = None) -> str:
        """Money Stripe received that no payment of ours explains."""
        with self._lock:
            intent = {
                "id": self._id("pi"),
                "object": "payment_intent",
                "amount": amount,
                "currency": "jpy",
                "status": "succeeded",
                "metadata": dict(metadata or {}),
                "payment_method_types": ["card"],
                "latest_charge": None,
                "created": self.now(),
            }
            self.state.intents[str(intent["id"])] = intent
            return str(self._charge(intent, amount)["id"])

    def add_fee_adjustment(self, amount: int, *, type_: str = "stripe_fee") -> str:
        """An account-level movement (e.g. a Stripe fee) with no charge behind it."""
        with self._lock:
            return str(self._balance_transaction(type_, -amount, 0, None, "fee")["id"])

    def create_payout(
        self, *, exclude_sources: tuple[str, ...] = (), arrival: datetime | None = None
    ) -> tuple[str, list[dict[str, Any]]]:
        """Pay out every balance transaction not yet paid out (except those whose source
        is in `exclude_sources`): the payout's amount is the sum of their nets."""
        with self._lock:
            included = [
                txn
                for txn in self.state.balance
                if txn["_payout"] is None
                and txn["type"] != "payout"
                and txn["source"] not in exclude_sources
            ]
            amount = sum(txn["net"] for txn in included)
            arrival_ts = int((arrival or datetime.now(UTC)).timestamp())
            payout = {
                "id": self._id("po"),
                "object": "payout",
                "amount": amount,
                "currency": "jpy",
                "arrival_date": arrival_ts - arrival_ts % 86400,
                "automatic": True,
                "status": "paid",
                "method": "standard",
                "type": "bank_account",
                "created": self.now(),
                "metadata": {},
            }
            self.state.payouts[payout["id"]] = payout
            for txn in included:
                txn["_payout"] = payout["id"]
            self._balance_version += 1
            own = self._balance_transaction("payout", -amount, 0, payout["id"], "payout")
            own["_payout"] = payout["id"]
            payout["balance_transaction"] = own["id"]
            return payout["id"], [self._event("payout.paid", payout)]

    def bulk_load(self, count: int, *, amount: int = 300, metadata: Any = None) -> str:
        """`count` paid-out charges in one payout, for benchmarks: `metadata(i)` gives each
        charge's metadata (our ids), so reconciliation has something to match."""
        with self._lock:
            created = self.now() - count
            for index in range(count):
                intent_id, charge_id = self._id("pi"), self._id("ch")
                meta = dict(metadata(index)) if metadata else {}
                fee = round(amount * STRIPE_FEE_RATE)
                charge = {
                    "id": charge_id,
                    "object": "charge",
                    "amount": amount,
                    "amount_refunded": 0,
                    "currency": "jpy",
                    "paid": True,
                    "refunded": False,
                    "disputed": False,
                    "status": "succeeded",
                    "payment_intent": intent_id,
                    "metadata": meta,
                    "created": created + index,
                }
                self.state.charges[charge_id] = charge
                self._balance_transaction(
                    "charge", amount, fee, charge_id, "charge", created=created + index
                )
            payout_id, _ = self.create_payout()
            self.events.clear()
            return payout_id

    # --- The HTTP API -------------------------------------------------------------------

    async def _create_session(self, request: Request) -> Response:
        return await self._handle(
            request, checkout_params.SessionCreateParams, self._do_create_session
        )

    async def _get_session(self, request: Request) -> Response:
        return await self._handle(
            request, checkout_params.SessionRetrieveParams, self._do_get_session
        )

    async def _expire_session(self, request: Request) -> Response:
        return await self._handle(
            request, checkout_params.SessionExpireParams, self._do_expire_session
        )

    async def _get_intent(self, request: Request) -> Response:
        return await self._handle(
            request,
            stripe_params.PaymentIntentRetrieveParams,
            lambda p, r: self._expand(self._find("intents", r), p.get("expand", [])),
        )

    async def _cancel_intent(self, request: Request) -> Response:
        return await self._handle(
            request, stripe_params.PaymentIntentCancelParams, self._do_cancel_intent
        )

    async def _get_charge(self, request: Request) -> Response:
        return await self._handle(
            request,
            stripe_params.ChargeRetrieveParams,
            lambda p, r: _public(self._find("charges", r)),
        )

    async def _create_refund(self, request: Request) -> Response:
        return await self._handle(request, stripe_params.RefundCreateParams, self._do_create_refund)

    async def _get_refund(self, request: Request) -> Response:
        return await self._handle(
            request,
            stripe_params.RefundRetrieveParams,
            lambda p, r: _public(self._find("refunds", r)),
        )

    async def _list_balance(self, request: Request) -> Response:
        return await self._handle(
            request, stripe_params.BalanceTransactionListParams, self._do_list_balance
        )

    async def _get_payout(self, request: Request) -> Response:
        return await self._handle(
            request,
            stripe_params.PayoutRetrieveParams,
            lambda p, r: _public(self._find("payouts", r)),
        )

    async def _handle(self, request: Request, params_type: type, action: Any) -> Response:
        request_id = self._id("req")
        headers = {"Request-Id": request_id, "Stripe-Version": API_VERSION}
        try:
            self._authenticate(request)
            raw = await request.body()
            if request.method == "POST":
                if not request.headers.get("content-type", "").startswith(
                    "application/x-www-form-urlencoded"
                ):
                    raise StripeError(400, "Stripe expects form-encoded parameters.")
                pairs = parse_qsl(raw.decode(), keep_blank_values=True)
            else:
                pairs = parse_qsl(request.url.query, keep_blank_values=True)
            params = decode_form(pairs)
            key = request.headers.get("idempotency-key")
            with self._lock:
                self.requests.append(
                    (request.method, request.url.path, params, {"Idempotency-Key": key or ""})
                )
                if self._fail_next:
                    status = self._fail_next.pop(0)
                    raise StripeError(status, "Simulated failure.", type_="api_error")
                self._lapse_sessions()
                if key is not None and len(key) > rules.IDEMPOTENCY_KEY_MAX:
                    raise StripeError(
                        400,
                        f"Idempotency keys are limited to {rules.IDEMPOTENCY_KEY_MAX} characters.",
                        type_="idempotency_error",
                    )
                fingerprint = json.dumps([request.url.path, params], sort_keys=True)
                if request.method == "POST" and key:
                    stored = self.state.idempotency.get(key)
                    if stored is not None and (
                        self.now() - stored[3] >= rules.IDEMPOTENCY_KEY_LIFETIME_SECONDS
                    ):
                        # Pruned after 24 hours: the same key is a new request again.
                        del self.state.idempotency[key]
                        stored = None
                    if stored is not None:
                        if stored[0] != fingerprint:
                            raise StripeError(
                                400,
                                "Keys for idempotent requests can only be used with the same "
                                "parameters they were first used with.",
                                type_="idempotency_error",
                            )
                        return JSONResponse(
                            stored[2],
                            status_code=stored[1],
                            headers={**headers, "Idempotent-Replayed": "true"},
                        )
                # Refused parameters leave nothing under the key (Stripe saves a result
                # only once the endpoint began executing).
                try:
                    rules.check(params, params_type)
                    rules.check_metadata(params)
                except rules.ParamError as error:
                    raise StripeError(
                        400, str(error), code=error.code, param=error.param
                    ) from error
                body = action(params, request)
                if request.method == "POST" and key:
                    self.state.idempotency[key] = (fingerprint, 200, body, self.now())
                # Rendered under the lock: a body may share values with the state.
                return JSONResponse(body, headers=headers)
        except StripeError as error:
            return JSONResponse(error.body(), status_code=error.status, headers=headers)

    def _authenticate(self, request: Request) -> None:
        supplied = request.headers.get("authorization", "")
        if supplied != f"Bearer {self.api_key}":
            raise StripeError(401, "Invalid API Key provided.")

    def _do_create_session(self, params: dict[str, Any], request: Request) -> dict[str, Any]:
        # The SDK's types checked the names and shapes; these are the rules of the API
        # reference that a type cannot say (see tests/fakes/stripe_params.py).
        for name in ("mode", "success_url", "line_items"):
            if name not in params:
                raise StripeError(
                    400, f"Missing required param: {name}.", code="parameter_missing", param=name
                )
        if params["mode"] != "payment":
            raise StripeError(400, "Only payment mode is faked.", param="mode")
        total = 0
        for index, item in enumerate(params["line_items"]):
            price = item.get("price_data", {})
            if price.get("currency") != "jpy":
                raise StripeError(
                    400,
                    "This fake takes JPY only.",
                    code="parameter_invalid_string",
                    param=f"line_items[{index}][price_data][currency]",
                )
            unit_amount, quantity = (
                _integer(price.get("unit_amount")),
                _integer(item.get("quantity", "1")),
            )
            if unit_amount is None or unit_amount < 0 or quantity is None or quantity < 1:
                raise StripeError(
                    400,
                    "Invalid integer.",
                    code="parameter_invalid_integer",
                    param=f"line_items[{index}][price_data][unit_amount]",
                )
            total += unit_amount * quantity
        if total < rules.JPY_MINIMUM_CHARGE:
            raise StripeError(
                400,
                f"The Checkout Session's total amount due must add up to at least "
                f"¥{rules.JPY_MINIMUM_CHARGE} jpy",
                code="amount_too_small",
                param="line_items",
            )
        now = self.now()
        expires_at = _integer(params.get("expires_at")) or now + rules.CHECKOUT_EXPIRY_MAX_SECONDS
        if not (
            now + rules.CHECKOUT_EXPIRY_MIN_SECONDS
            <= expires_at
            <= now + rules.CHECKOUT_EXPIRY_MAX_SECONDS
        ):
            raise StripeError(
                400,
                "The `expires_at` timestamp must be between 30 minutes and 24 hours from "
                "Checkout Session creation.",
                code="parameter_invalid_integer",
                param="expires_at",
            )
        methods = params.get("allowed_payment_method_types") or ["card"]
        if "konbini" in methods:
            self._check_konbini(params, total)
        session_id = self._id("cs_test")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": "payment",
            "status": "open",
            "payment_status": "unpaid",
            "amount_subtotal": total,
            "amount_total": total,
            "currency": "jpy",
            "client_reference_id": params.get("client_reference_id"),
            "metadata": params.get("metadata", {}),
            "payment_intent": None,
            "payment_method_types": list(methods),
            "payment_method_options": params.get("payment_method_options", {}),
            "success_url": params["success_url"],
            "cancel_url": params.get("cancel_url"),
            "locale": params.get("locale"),
            "url": f"{self.base_url}/c/pay/{session_id}",
            "expires_at": expires_at,
            "created": now,
            "livemode": False,
            "_intent_data": params.get("payment_intent_data", {}),
            "_line_items": params["line_items"],
        }
        self.state.sessions[session_id] = session
        return _public(session)

    def _check_konbini(self, params: dict[str, Any], total: int) -> None:
        if not rules.KONBINI_MINIMUM <= total <= rules.KONBINI_MAXIMUM:
            raise StripeError(
                400,
                f"Konbini payments must be between ¥{rules.KONBINI_MINIMUM} and "
                f"¥{rules.KONBINI_MAXIMUM:,} jpy.",
                code="amount_too_small" if total < rules.KONBINI_MINIMUM else "amount_too_large",
                param="allowed_payment_method_types",
            )
        options = params.get("payment_method_options", {}).get("konbini", {})
        days = options.get("expires_after_days")
        low, high = rules.KONBINI_EXPIRES_AFTER_DAYS
        if days is not None and not low <= int(days) <= high:
            raise StripeError(
                400,
                f"Invalid payment_method_options[konbini][expires_after_days]: must be "
                f"between {low} and {high}.",
                code="parameter_invalid_integer",
                param="payment_method_options[konbini][expires_after_days]",
            )
        description = options.get("product_description")
        if description is not None and len(description) > rules.KONBINI_PRODUCT_DESCRIPTION_MAX:
            raise StripeError(
                400,
                "Invalid payment_method_options[konbini][product_description]: must be at "
                f"most {rules.KONBINI_PRODUCT_DESCRIPTION_MAX} characters.",
                code="parameter_invalid_string",
                param="payment_method_options[konbini][product_description]",
            )

    def _do_cancel_intent(self, params: dict[str, Any], request: Request) -> dict[str, Any]:
        intent = self._find("intents", request)
        if intent["status"] not in (
            "requires_payment_method",
            "requires_capture",
            "requires_confirmation",
            "requires_action",
            "processing",
        ):
            raise StripeError(
                400,
                "You cannot cancel this PaymentIntent because it has a status of "
                f"{intent['status']}.",
                code="payment_intent_unexpected_state",
            )
        intent.update(status="canceled", next_action=None, canceled_at=self.now())
        self._event("payment_intent.canceled", intent)
        return _public(intent)

    def _lapse_sessions(self) -> list[dict[str, Any]]:
        now = self.now()
        return [
            self._event("checkout.session.expired", session)
            for session in self.state.sessions.values()
            if session["status"] == "open"
            and session["expires_at"] <= now
            and session.update(status="expired") is None
        ]

    def _do_get_session(self, params: dict[str, Any], request: Request) -> dict[str, Any]:
        session = self._find("sessions", request)
        return self._expand(session, params.get("expand", []))

    def _do_expire_session(self, params: dict[str, Any], request: Request) -> dict[str, Any]:
        session = self._find("sessions", request)
        if session["status"] != "open":
            raise StripeError(
                400,
                f'Only Checkout Sessions with a status in ["open"] can be expired. '
                f'This Checkout Session has a status of "{session["status"]}".',
            )
        session["status"] = "expired"
        self._event("checkout.session.expired", session)
        return _public(session)

    def _do_create_refund(self, params: dict[str, Any], request: Request) -> dict[str, Any]:
        if "payment_intent" in params:
            intent = self.state.intents.get(params["payment_intent"])
            if intent is None or intent.get("latest_charge") is None:
                raise StripeError(
                    404,
                    f"No such payment_intent: '{params['payment_intent']}'",
                    code="resource_missing",
                    param="payment_intent",
                )
            charge = self.state.charges[intent["latest_charge"]]
        elif "charge" in params:
            charge = self.state.charges.get(params["charge"]) or {}
            if not charge:
                raise StripeError(404, "No such charge", code="resource_missing", param="charge")
        else:
            raise StripeError(
                400, "Missing required param: payment_intent.", code="parameter_missing"
            )
        remaining = charge["amount"] - charge["amount_refunded"]
        amount = _integer(params.get("amount")) or remaining
        if remaining <= 0:
            raise StripeError(
                400,
                f"Charge {charge['id']} has already been refunded.",
                code="charge_already_refunded",
            )
        if amount > remaining:
            raise StripeError(
                400,
                f"Refund amount ({amount}) is greater than unrefunded amount on charge "
                f"({remaining})",
                code="amount_too_large",
                param="amount",
            )
        return self._refund(charge, amount, params.get("metadata", {}))

    def _do_list_balance(self, params: dict[str, Any], request: Request) -> dict[str, Any]:
        limit = min(max(_integer(params.get("limit")) or 10, 1), 100)
        created = params.get("created", {}) if isinstance(params.get("created"), dict) else {}
        filters = (
            params.get("payout"),
            _integer(created.get("gte")),
            _integer(created.get("lt")),
            self._balance_version,
        )
        cached = self._list_cache.get(filters)
        if cached is None:
            # Stripe lists newest first.
            matching = [
                txn
                for txn in reversed(self.state.balance)
                if (filters[0] is None or txn["_payout"] == filters[0])
                and (filters[1] is None or txn["created"] >= filters[1])
                and (filters[2] is None or txn["created"] < filters[2])
            ]
            cached = (matching, {txn["id"]: index for index, txn in enumerate(matching)})
            self._list_cache = {filters: cached}
        matching, positions = cached
        start = 0
        if params.get("starting_after"):
            if params["starting_after"] not in positions:
                raise StripeError(
                    400, "Invalid starting_after.", code="resource_missing", param="starting_after"
                )
            start = positions[params["starting_after"]] + 1
        page = matching[start : start + limit]
        expand_source = "data.source" in params.get("expand", [])
        # Views, not copies: the page is rendered before the lock is released (_handle),
        # and nothing keeps it, so a deep copy per transaction would only cost time.
        data = []
        for txn in page:
            item = _view(txn)
            if expand_source and txn["source"]:
                source = self._source_of(txn["source"])
                if source is not None:
                    item["source"] = _view(source)
            data.append(item)
        return {
            "object": "list",
            "url": "/v1/balance_transactions",
            "has_more": start + limit < len(matching),
            "data": data,
        }

    # --- Internals ----------------------------------------------------------------------

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):08d}{secrets.token_hex(4)}"

    def _find(self, collection: str, request: Request) -> dict[str, Any]:
        found: dict[str, Any] | None = getattr(self.state, collection).get(
            request.path_params["id"]
        )
        if found is None:
            raise StripeError(
                404,
                f"No such {collection.rstrip('s')}: '{request.path_params['id']}'",
                code="resource_missing",
                param="id",
            )
        return found

    def _open_session(self, session_id: str) -> dict[str, Any]:
        self._lapse_sessions()
        session = self.state.sessions[session_id]
        assert session["status"] == "open", f"session {session_id} is {session['status']}"
        return session

    def _intent_for(self, session: dict[str, Any], method: str) -> dict[str, Any]:
        data = session["_intent_data"]
        intent = {
            "id": self._id("pi"),
            "object": "payment_intent",
            "amount": session["amount_total"],
            "currency": "jpy",
            "status": "processing",
            "description": data.get("description"),
            "metadata": dict(data.get("metadata", {})),
            "payment_method_types": [method],
            "latest_charge": None,
            "created": self.now(),
        }
        self.state.intents[intent["id"]] = intent
        session["payment_intent"] = intent["id"]
        return intent

    def _charge(self, intent: dict[str, Any], amount: int) -> dict[str, Any]:
        charge = {
            "id": self._id("ch"),
            "object": "charge",
            "amount": amount,
            "amount_captured": amount,
            "amount_refunded": 0,
            "currency": "jpy",
            "paid": True,
            "captured": True,
            "refunded": False,
            "disputed": False,
            "status": "succeeded",
            "payment_intent": intent["id"],
            # Stripe copies the PaymentIntent's metadata to the charge it creates.
            "metadata": dict(intent["metadata"]),
            "payment_method_details": {"type": intent["payment_method_types"][0]},
            "created": self.now(),
        }
        self.state.charges[charge["id"]] = charge
        intent.update(status="succeeded", latest_charge=charge["id"])
        fee = round(amount * STRIPE_FEE_RATE)
        txn = self._balance_transaction("charge", amount, fee, charge["id"], "charge")
        charge["balance_transaction"] = txn["id"]
        return charge

    def _refund(
        self, charge: dict[str, Any], amount: int, metadata: dict[str, Any]
    ) -> dict[str, Any]:
        method = (
            charge["payment_method_details"]["type"]
            if "payment_method_details" in (charge)
            else "card"
        )
        refund = {
            "id": self._id("re"),
            "object": "refund",
            "amount": amount,
            "currency": "jpy",
            "charge": charge["id"],
            "payment_intent": charge["payment_intent"],
            "reason": "requested_by_customer",
            # Konbini refunds wait for the customer's bank account.
            "status": "requires_action" if method == "konbini" else "succeeded",
            "metadata": dict(metadata),
            "created": self.now(),
        }
        if method == "konbini":
            refund["next_action"] = {
                "type": "display_details",
                "display_details": {
                    "email_sent": {"email_sent_at": self.now(), "email_sent_to": "c@example.jp"},
                    "expires_at": self.now() + 45 * 86400,
                },
            }
        self.state.refunds[refund["id"]] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        txn = self._balance_transaction("refund", -amount, 0, refund["id"], "refund")
        refund["balance_transaction"] = txn["id"]
        self._event("refund.created", refund)
        self._event("charge.refunded", charge)
        return _public(refund)

    def _balance_transaction(
        self,
        type_: str,
        amount: int,
        fee: int,
        source: str | None,
        category: str,
        *,
        created: int | None = None,
    ) -> dict[str, Any]:
        created = self.now() if created is None else created
        txn = {
            "id": self._id("txn"),
            "object": "balance_transaction",
            "amount": amount,
            "fee": fee,
            "net": amount - fee,
            "currency": "jpy",
            "type": type_,
            "reporting_category": category,
            "source": source,
            "status": "available",
            "created": created,
            "available_on": created + 4 * 86400,
            "_payout": None,
        }
        self.state.balance.append(txn)
        self._balance_version += 1
        return txn

    def _source_of(self, source_id: str) -> dict[str, Any] | None:
        for collection in (
            self.state.charges,
            self.state.refunds,
            self.state.disputes,
            self.state.payouts,
        ):
            if source_id in collection:
                return collection[source_id]
        return None

    def _expand(self, obj: dict[str, Any], paths: list[str]) -> dict[str, Any]:
        expanded = _public(obj)
        for path in paths:
            node = expanded
            for part in path.split("."):
                value = node.get(part)
                if isinstance(value, str):
                    target = self._lookup(value)
                    if target is not None:
                        node[part] = _public(target)
                        value = node[part]
                if not isinstance(value, dict):
                    break
                node = value
        return expanded

    def _lookup(self, object_id: str) -> dict[str, Any] | None:
        for collection in (self.state.intents, self.state.charges, self.state.sessions):
            if object_id in collection:
                return collection[object_id]
        return None

    def _event(self, event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
        event = {
            "id": self._id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": self.now(),
            "data": {"object": _public(obj)},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
        self.events.append(event)
        return event


def _public(obj: dict[str, Any]) -> dict[str, Any]:
    """A deep copy without the fake's private fields (`_...`)."""
    return {key: copy.deepcopy(value) for key, value in obj.items() if not key.startswith("_")}


def _view(obj: dict[str, Any]) -> dict[str, Any]:
    """`obj` without the fake's private fields, sharing its values: only for a response
    rendered while the lock is held."""
    return {key: value for key, value in obj.items() if key[0] != "_"}


def _integer(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(fake: FakeStripe | None = None) -> Iterator[FakeStripe]:
    """Run the fake on a free loopback port in a background thread until the block ends."""
    fake = fake or FakeStripe()
    port = free_port()
    fake.base_url = f"http://127.0.0.1:{port}"
    config = uvicorn.Config(
        fake.app, host="127.0.0.1", port=port, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="fake-stripe", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the fake Stripe server did not start")
        time.sleep(0.02)
    try:
        yield fake
    finally:
        server.should_exit = True
        thread.join(timeout=10)
