"""Payments over HTTP for citizens and providers: start or resume the payment of an
application, read it back, Stripe's webhook, and the demo provider's page.

Citizen routes follow the submissions module: 401 without credentials, 404 for any
that do not own the application. Responses carry `Cache-Control: no-store`.
"""

from __future__ import annotations

import html
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from app.auth.principals import AuthenticatedCaller, AuthenticationRequired
from app.config import Settings
from app.dependencies import NO_STORE, AppSettings, DbSession, Now
from app.errors import NotFound, problem_responses
from app.payments import service, webhooks
from app.payments.dependencies import Providers
from app.payments.lifecycle import PaymentStatus, Voucher
from app.payments.models import Payment
from app.payments.providers.base import (
    PaymentProviderNotFound,
    ProviderUnavailable,
    WebhookNotConfigured,
    WebhookSignatureInvalid,
)
from app.payments.providers.demo import DemoProvider
from app.payments.schemas import (
    BalanceRead,
    PaymentRead,
    PaymentStartRequest,
    StoreCodeRead,
    VoucherRead,
    WebhookReceipt,
)
from app.submissions.lifecycle import SubmissionChanged
from app.submissions.service import SubmissionNotFound

router = APIRouter(tags=["payments"])
webhook_router = APIRouter(tags=["payments"])
"""The providers' webhook alone: create_app() includes it ahead of the other routers, so
the busiest provider traffic does not walk every route before it matches."""

# The demo page posts its buttons to itself; nothing else may load or run.
_DEMO_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


class DemoProviderDisabled(NotFound, code="DEMO_PROVIDER_DISABLED"): ...


def to_read(payment: Payment) -> PaymentRead:
    return PaymentRead(
        payment_id=payment.id,
        status=PaymentStatus(payment.status),
        amount=payment.amount,
        currency="JPY",
        redirect_url=payment.redirect_url,
        provider=payment.provider,
        submission_id=payment.submission_id,
        reference_number=payment.reference_number,
        expires_at=payment.expires_at,
        paid_at=payment.paid_at,
        voucher=_voucher(payment),
    )


def to_balance_read(balance: service.Balance) -> BalanceRead:
    return BalanceRead(
        fee=balance.fee,
        paid=balance.paid,
        refunded=balance.refunded,
        net_paid=balance.net_paid,
        due=balance.due,
        not_due=balance.not_due,
        to_refund=balance.to_refund,
        refund_proposed=balance.refund_proposed,
        open_payment=to_read(balance.open_payment) if balance.open_payment else None,
    )


def _voucher(payment: Payment) -> VoucherRead | None:
    if payment.voucher is None or payment.status != PaymentStatus.PENDING:
        return None
    voucher = Voucher.from_dict(payment.voucher)
    return VoucherRead(
        payment_code=voucher.payment_code,
        expires_at=voucher.expires_at,
        hosted_voucher_url=voucher.hosted_voucher_url,
        stores={
            store: StoreCodeRead(
                payment_code=code.payment_code, confirmation_number=code.confirmation_number
            )
            for store, code in voucher.stores.items()
        },
    )


@router.post(
    "/submissions/{submission_id}/payment",
    status_code=201,
    response_model=PaymentRead,
    responses={
        200: {"description": "The open payment started earlier", "model": PaymentRead},
        **problem_responses(
            AuthenticationRequired,
            SubmissionNotFound,
            service.NothingToPay,
            SubmissionChanged,
            service.PaymentChanged,
            ProviderUnavailable,
        ),
    },
)
async def start_payment(
    submission_id: uuid.UUID,
    session: DbSession,
    settings: AppSettings,
    caller: AuthenticatedCaller,
    providers: Providers,
    now: Now,
    body: Annotated[PaymentStartRequest | None, Body()] = None,
) -> JSONResponse:
    """Pay the fee (手数料) of an application awaiting payment: 201 with the new payment's
    `redirect_url` (the payment page), or 200 with the payment still open. The amount
    is the fee the server computed; an amount in the body is ignored."""
    started = await service.start_payment(
        session, providers, submission_id, caller, settings=settings, now=now
    )
    return JSONResponse(
        to_read(started.payment).model_dump(mode="json"),
        status_code=201 if started.created else 200,
        headers=NO_STORE,
    )


@router.get(
    "/submissions/{submission_id}/payment",
    response_model=PaymentRead,
    responses=problem_responses(
        AuthenticationRequired, SubmissionNotFound, service.PaymentNotFound
    ),
)
async def get_payment(
    submission_id: uuid.UUID, session: DbSession, caller: AuthenticatedCaller
) -> JSONResponse:
    """The application's latest payment: where the citizen lands back from the page."""
    payment = await service.latest_payment(session, submission_id, caller)
    return JSONResponse(to_read(payment).model_dump(mode="json"), headers=NO_STORE)


@router.get(
    "/submissions/{submission_id}/balance",
    response_model=BalanceRead,
    responses=problem_responses(AuthenticationRequired, SubmissionNotFound),
)
async def get_balance(
    submission_id: uuid.UUID, session: DbSession, caller: AuthenticatedCaller
) -> JSONResponse:
    """The application's money: fee, paid, refunded and due (a positive `due` is what
    `POST .../payment` charges), and the open payment with its konbini voucher."""
    balance = await service.owned_balance(session, submission_id, caller)
    return JSONResponse(to_balance_read(balance).model_dump(mode="json"), headers=NO_STORE)


@webhook_router.post(
    "/payments/{provider}/webhook",
    response_model=WebhookReceipt,
    responses=problem_responses(
        PaymentProviderNotFound, WebhookSignatureInvalid, WebhookNotConfigured
    ),
)
async def provider_webhook(
    provider: Annotated[str, Path(max_length=32, examples=["stripe"])],
    request: Request,
    session: DbSession,
    providers: Providers,
    now: Now,
) -> WebhookReceipt:
    """A payment provider's events (Stripe: `/payments/stripe/webhook`, with
    `Stripe-Signature`). The provider checks the signature against the raw body before
    anything is stored; each event is handled once, whatever order or how often it
    comes. An event that contradicts its payment (session, amount, currency, mode) is
    kept as `mismatch` for finance and settles nothing."""
    plugin = providers.get(provider)
    event = plugin.verify_webhook(await request.body(), request.headers)
    received = await webhooks.receive_delivery(session, plugin, event, now=now)
    return WebhookReceipt(received=True, event_id=received.event_id, outcome=received.outcome)


@router.get(
    "/payments/demo/{payment_id}",
    response_class=HTMLResponse,
    responses=problem_responses(DemoProviderDisabled, service.PaymentNotFound),
)
async def demo_page(
    payment_id: uuid.UUID, session: DbSession, settings: AppSettings
) -> HTMLResponse:
    """The demo provider's payment page (development only): pay, leave a konbini
    voucher pending, or fail."""
    payment = await _demo_payment(session, settings, payment_id)
    return HTMLResponse(
        _demo_html(payment),
        headers={**NO_STORE, "Content-Security-Policy": _DEMO_CSP},
    )


@router.post(
    "/payments/demo/{payment_id}/{action}",
    status_code=303,
    response_class=RedirectResponse,
    responses=problem_responses(DemoProviderDisabled, service.PaymentNotFound),
)
async def demo_action(
    payment_id: uuid.UUID,
    action: Annotated[Literal["pay", "konbini", "fail"], Path()],
    session: DbSession,
    settings: AppSettings,
    providers: Providers,
    now: Now,
) -> RedirectResponse:
    """Settle a demo payment exactly as a provider's webhook would, then send the
    browser back to the application."""
    payment = await _demo_payment(session, settings, payment_id)
    await webhooks.receive_demo_action(
        session, providers.get(DemoProvider.name), payment.id, action, now=now
    )
    result = "cancel" if action == "fail" else "success"
    return RedirectResponse(
        service.return_url(settings, payment.submission_id, payment.id, result),
        status_code=303,
        headers=NO_STORE,
    )


async def _demo_payment(session: DbSession, settings: Settings, payment_id: uuid.UUID) -> Payment:
    if settings.environment == "production":
        raise DemoProviderDisabled(
            "The demo provider is for development only.", "デモ決済は開発環境専用です。"
        )
    payment = await session.get(Payment, payment_id)
    if payment is None or payment.provider != DemoProvider.name:
        raise service.PaymentNotFound()
    return payment


def _demo_html(payment: Payment) -> str:
    amount = f"{payment.amount:,}"
    reference = html.escape(payment.reference_number)
    status = html.escape(payment.status)
    base = f"/api/v1/payments/demo/{payment.id}"
    buttons = {
        "created": [
            ("pay", "支払う / Pay"),
            ("konbini", "コンビニ払い（入金待ち）/ Pay later at a konbini"),
            ("fail", "失敗させる / Fail"),
        ],
        "pending": [("pay", "入金する / Pay at the konbini"), ("fail", "失敗させる / Fail")],
    }.get(payment.status, [])
    forms = "\n".join(
        f'<form method="post" action="{base}/{action}">'
        f'<button type="submit">{label}</button></form>'
        for action, label in buttons
    )
    return f"""<!doctype html>
<html lang="ja">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>デモ決済 / Demo payment</title>
<style>body{{font-family:sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}}
button{{font-size:1.1rem;margin:.4rem 0;padding:.6rem 1rem;width:100%}}</style>
</head>
<body>
<main>
<h1>デモ決済 / Demo payment</h1>
<p>開発用の決済画面です。実際の支払は発生しません。<br>
For development: no money moves.</p>
<dl>
<dt>受付番号 / Reference number</dt><dd>{reference}</dd>
<dt>金額 / Amount</dt><dd>{amount}円 (JPY)</dd>
<dt>状態 / Status</dt><dd>{status}</dd>
</dl>
{forms}
</main>
</body>
</html>
"""
