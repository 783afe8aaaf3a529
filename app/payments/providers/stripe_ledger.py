"""Stripe's books as reconciliation's ledger: a payout and its balance transactions, page
after page, through the official SDK's raw requests.

The pages are read as the JSON Stripe sent (`StripeClient.raw_request_async`), not as
SDK objects: building a StripeObject per transaction (and its expanded source) only to
turn it straight back into a dict cost three quarters of the paging time. The SDK still
does what matters: authentication, the pinned API version, retries, Stripe's errors."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import stripe

from app.payments.providers.base import LedgerPayout, LedgerTransaction, ProviderUnavailable

PAGE_SIZE = 100
"""Stripe's largest page."""


class StripeLedger:
    provider: ClassVar[str] = "stripe"

    def __init__(self, client: stripe.StripeClient) -> None:
        self._client = client

    async def payout(self, payout_id: str) -> LedgerPayout:
        try:
            payout = await self._client.v1.payouts.retrieve_async(payout_id)
        except stripe.StripeError as error:
            raise _unavailable(error) from error
        return payout_from(payout.to_dict())

    async def transactions(
        self,
        *,
        payout_id: str | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
    ) -> AsyncGenerator[LedgerTransaction, None]:
        # The source is expanded so a charge or refund names our ids (its metadata)
        # without one more request per transaction.
        params: dict[str, Any] = {"limit": PAGE_SIZE, "expand": ["data.source"]}
        if payout_id is not None:
            params["payout"] = payout_id
        created: dict[str, int] = {}
        if created_from is not None:
            created["gte"] = int(created_from.timestamp())
        if created_to is not None:
            created["lt"] = int(created_to.timestamp())
        if created:
            params["created"] = created
        # The next page is asked for as soon as this one names its last transaction, so
        # Stripe works on it while this one is converted and handed on.
        pending: asyncio.Task[Mapping[str, Any]] | None = asyncio.create_task(self._page(params))
        try:
            while pending is not None:
                page = await pending
                pending = None
                data = page.get("data") or []
                if page.get("has_more") and data:
                    params = {**params, "starting_after": data[-1]["id"]}
                    pending = asyncio.create_task(self._page(params))
                for transaction in data:
                    yield transaction_from(transaction)
        finally:
            if pending is not None:
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError, ProviderUnavailable):
                    await pending

    async def _page(self, params: dict[str, Any]) -> Mapping[str, Any]:
        try:
            response = await self._client.raw_request_async(
                "get", "/v1/balance_transactions", **params
            )
        except stripe.StripeError as error:
            raise _unavailable(error) from error
        page: Mapping[str, Any] = response.data
        return page


def payout_from(payout: Mapping[str, Any]) -> LedgerPayout:
    arrival = payout.get("arrival_date")
    return LedgerPayout(
        id=str(payout["id"]),
        amount=int(payout["amount"]),
        currency=str(payout.get("currency", "jpy")).upper(),
        status=str(payout.get("status", "")),
        # Stripe dates a payout at midnight UTC of its arrival day.
        arrival_date=datetime.fromtimestamp(arrival, tz=UTC).date() if arrival else None,
        created=_created(payout),
    )


def transaction_from(transaction: Mapping[str, Any]) -> LedgerTransaction:
    """One transaction of a page (parsed JSON: dicts) with what its expanded source
    names: written for speed, it runs once per transaction."""
    source = transaction.get("source")
    charge_id = payment_intent_id = refund_id = None
    if isinstance(source, dict):
        kind = source.get("object")
        # The page's own parse, held by nobody else: not copied.
        metadata: Mapping[str, str] = source.get("metadata") or {}
        payment_intent_id = _id(source.get("payment_intent"))
        if kind == "charge":
            charge_id = source.get("id")
        elif kind == "refund":
            refund_id = source.get("id")
            charge_id = _id(source.get("charge"))
        elif kind == "dispute":
            charge_id = _id(source.get("charge"))
        source_id = _id(source)
    else:
        metadata = {}
        source_id = source if isinstance(source, str) else None
    available_on = transaction.get("available_on")
    return LedgerTransaction(
        str(transaction["id"]),
        str(transaction["type"]),
        transaction.get("reporting_category"),
        int(transaction["amount"]),
        int(transaction.get("fee") or 0),
        int(transaction["net"]),
        str(transaction.get("currency", "jpy")).upper(),
        _created(transaction),
        None if available_on is None else datetime.fromtimestamp(int(available_on), tz=UTC),
        source_id,
        charge_id,
        payment_intent_id,
        refund_id,
        metadata,
    )


def _id(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else None


def _created(stripe_object: Mapping[str, Any]) -> datetime:
    """Stripe dates every object it makes (`created`, Unix seconds); our clock says
    nothing about when Stripe made it."""
    return datetime.fromtimestamp(int(stripe_object["created"]), tz=UTC)


def _unavailable(error: stripe.StripeError) -> ProviderUnavailable:
    return ProviderUnavailable(
        f"Stripe did not answer the reconciliation request ({type(error).__name__}).",
        "Stripeから入金情報を取得できませんでした。時間をおいて再度お試しください。",
        extra={"provider_code": error.code} if error.code else None,
    )
