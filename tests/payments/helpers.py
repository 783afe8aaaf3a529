"""Helpers shared by the payment tests: applications submitted through the citizen API,
payments started through it, webhooks delivered signed, rows read back."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.service import AuditActor
from app.db import utcnow
from app.payments import alerts
from app.payments.lifecycle import RefundStatus
from app.payments.models import Payment, PaymentAlert, ProviderEvent, Refund
from app.payments.providers.base import LedgerPayout, LedgerTransaction
from app.payments.reconciliation import service as reconciliation
from app.submissions.models import Submission, SubmissionEvent
from tests.factories import TOMI, publish_definition, simple_definition
from tests.fakes.stripe_server import WEBHOOK_SECRET, FakeStripe, signed_delivery

ON_SUBMIT = "test-certificate"
"""300 yen a copy, paid on submit (市民課)."""
AFTER_REVIEW = "review-then-pay"
"""300 yen a copy, paid after review, when staff have counted the copies (市民課)."""
WEBHOOK = "/api/v1/payments/stripe/webhook"


@dataclass(frozen=True)
class Application:
    id: str
    token: str
    reference_number: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def submit(
    api: httpx.AsyncClient,
    copies: int = 2,
    *,
    procedure: str = ON_SUBMIT,
    municipality: str = TOMI,
) -> Application:
    response = await api.post(
        f"/api/v1/municipalities/{municipality}/procedures/{procedure}/submissions",
        json={"answers": {"copies": copies, "requester": "self"}, "submit": True},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return Application(body["id"], body["access_token"], body["reference_number"])


async def start_payment(
    api: httpx.AsyncClient, application: Application, body: dict[str, Any] | None = None
) -> httpx.Response:
    return await api.post(
        f"/api/v1/submissions/{application.id}/payment", json=body, headers=application.headers
    )


async def paid_session(api: httpx.AsyncClient, application: Application) -> dict[str, Any]:
    """Start a payment and return its body (asserting it was created)."""
    response = await start_payment(api, application)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def deliver(
    api: httpx.AsyncClient, events: list[dict[str, Any]], *, secret: str = WEBHOOK_SECRET
) -> list[httpx.Response]:
    """Deliver each event as Stripe would: signed, one request each."""
    responses = []
    for event in events:
        payload, headers = signed_delivery(event, secret)
        responses.append(await api.post(WEBHOOK, content=payload, headers=headers))
    return responses


async def paid_by_card(
    api: httpx.AsyncClient,
    fake: FakeStripe,
    factory: async_sessionmaker[AsyncSession],
    copies: int = 2,
) -> tuple[Application, str]:
    """An application paid by card (copies x 300 yen), the webhook delivered: it and its
    payment id."""
    application = await submit(api, copies=copies)
    started = await paid_session(api, application)
    await deliver(api, fake.complete_card(await checkout_id(factory, started["payment_id"])))
    return application, str(started["payment_id"])


def refund_body(amount: int, expected: int, reason: str = "二重申請のため") -> dict[str, Any]:
    return {"amount": amount, "reason": reason, "expected_refundable_amount": expected}


async def stored_payment(
    factory: async_sessionmaker[AsyncSession], payment_id: str | uuid.UUID
) -> Payment:
    async with factory() as session:
        return await session.get_one(Payment, uuid.UUID(str(payment_id)))


async def submission_status(factory: async_sessionmaker[AsyncSession], submission_id: str) -> str:
    async with factory() as session:
        return (await session.get_one(Submission, uuid.UUID(submission_id))).status


async def timeline(factory: async_sessionmaker[AsyncSession], submission_id: str) -> list[str]:
    async with factory() as session:
        rows = await session.scalars(
            select(SubmissionEvent.to_status)
            .where(SubmissionEvent.submission_id == uuid.UUID(submission_id))
            .order_by(SubmissionEvent.id)
        )
        return list(rows)


async def count(factory: async_sessionmaker[AsyncSession], model: Any) -> int:
    async with factory() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def inbox(factory: async_sessionmaker[AsyncSession]) -> list[ProviderEvent]:
    async with factory() as session:
        return list(await session.scalars(select(ProviderEvent).order_by(ProviderEvent.id)))


async def refunds_of(factory: async_sessionmaker[AsyncSession], payment_id: str) -> list[Refund]:
    async with factory() as session:
        rows = await session.scalars(
            select(Refund).where(Refund.payment_id == uuid.UUID(payment_id))
        )
        return list(rows)


async def checkout_id(factory: async_sessionmaker[AsyncSession], payment_id: str) -> str:
    """The Stripe Checkout Session id a payment was started with."""
    return str((await stored_payment(factory, payment_id)).provider_checkout_id)


class StubLedger:
    """A provider ledger with one empty payout: a reconciliation run without Stripe."""

    provider = "stripe"

    async def payout(self, payout_id: str) -> LedgerPayout:
        return LedgerPayout(payout_id, 0, "JPY", "paid", None, utcnow())

    async def transactions(self, **_: Any) -> AsyncGenerator[LedgerTransaction, None]:
        for transaction in ():
            yield transaction


async def payment_resources(
    client: httpx.AsyncClient, factory: async_sessionmaker[AsyncSession]
) -> dict[str, str]:
    """A paid payment (demo provider), one of finance's alerts about it and a
    reconciliation run of 東御市, for the staff route matrix: path values that other
    municipalities must not reach."""
    await publish_definition(factory, TOMI, simple_definition("matrix-paid-certificate"))
    application = await submit(client, copies=1, procedure="matrix-paid-certificate")
    started = await paid_session(client, application)
    paid = await client.post(f"/api/v1/payments/demo/{started['payment_id']}/pay")
    assert paid.status_code == 303, paid.text
    async with factory() as session, session.begin():
        run = await reconciliation.run_reconciliation(
            session,
            StubLedger(),
            AuditActor("system", "test"),
            TOMI,
            reconciliation.RunScope(payout_id="po_matrix"),
            unpaid_after_days=7,
            now=utcnow(),
        )
        payment = await session.get_one(Payment, uuid.UUID(str(started["payment_id"])))
        await alerts.raise_alert(
            session,
            alerts.AlertKind.RECEIVED_NOT_DUE,
            payment,
            source="matrix",
            details={},
            now=utcnow(),
        )
        alert_id = await session.scalar(
            select(PaymentAlert.id).where(PaymentAlert.source == "matrix")
        )
        refund = Refund(
            payment_id=payment.id,
            municipality_code=payment.municipality_code,
            amount=1,
            reason="matrix",
            status=RefundStatus.PROPOSED,
            requested_by="system",
        )
        session.add(refund)
        await session.flush()
    return {
        "payment_id": str(started["payment_id"]),
        "run_id": str(run.id),
        "alert_id": str(alert_id),
        "refund_id": str(refund.id),
    }
