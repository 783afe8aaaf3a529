"""The `demo` provider: the default of `make run`, a local page that succeeds or fails a
payment exactly as a webhook would; refused in production."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.payments.models import ProviderEvent
from tests.payments.helpers import (
    count,
    paid_session,
    start_payment,
    stored_payment,
    submission_status,
    submit,
)


async def test_pay_on_the_demo_page(
    demo_api: httpx.AsyncClient,
    procedures: None,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    application = await submit(demo_api, copies=2)
    started = await paid_session(demo_api, application)
    assert started["provider"] == "demo" and started["amount"] == 600
    page_url = f"/api/v1/payments/demo/{started['payment_id']}"
    assert started["redirect_url"] == f"http://127.0.0.1:8000{page_url}"

    page = await demo_api.get(page_url)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "form-action 'self'" in page.headers["content-security-policy"]
    assert "600円" in page.text and application.reference_number in page.text
    assert "支払う / Pay" in page.text and "失敗させる / Fail" in page.text

    paid = await demo_api.post(f"{page_url}/pay")
    assert paid.status_code == 303
    assert paid.headers["location"].endswith(f"result=success#/s/{application.id}")
    assert (await stored_payment(session_factory, started["payment_id"])).status == "succeeded"
    assert await submission_status(session_factory, application.id) == "paid"
    again = await demo_api.post(f"{page_url}/pay")  # a second click changes nothing
    assert again.status_code == 303
    assert await count(session_factory, ProviderEvent) == 2


async def test_konbini_then_fail_and_pay_again(
    demo_api: httpx.AsyncClient,
    procedures: None,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    application = await submit(demo_api)
    first = await paid_session(demo_api, application)
    page_url = f"/api/v1/payments/demo/{first['payment_id']}"
    await demo_api.post(f"{page_url}/konbini")
    assert (await stored_payment(session_factory, first["payment_id"])).status == "pending"
    # The demo voucher: one 払込番号 for every store, due three days on (as Stripe's).
    shown = await demo_api.get(
        f"/api/v1/submissions/{application.id}/payment", headers=application.headers
    )
    voucher = shown.json()["voucher"]
    assert len(voucher["payment_code"]) == 11 and voucher["payment_code"].isdigit()
    assert set(voucher["stores"]) == {"familymart", "lawson", "ministop", "seicomart"}
    assert voucher["expires_at"] > shown.json()["expires_at"]
    failed = await demo_api.post(f"{page_url}/fail")
    assert failed.headers["location"].endswith(f"result=cancel#/s/{application.id}")
    assert (await stored_payment(session_factory, first["payment_id"])).status == "failed"

    second = await start_payment(demo_api, application)
    assert second.status_code == 201 and second.json()["payment_id"] != first["payment_id"]
    await demo_api.post(f"/api/v1/payments/demo/{second.json()['payment_id']}/pay")
    assert await submission_status(session_factory, application.id) == "paid"


async def test_production_refuses_the_demo_provider(tmp_path: Path) -> None:
    production: dict[str, Any] = {
        "environment": "production",
        "database_url": "postgresql+asyncpg://u@db/madoguchi",
        "secret_key": "x" * 40,
        "my_number_encryption_key": "cHJvZHVjdGlvbi1rZXktZm9yLXRlc3RzLW9ubHktMzI=",
        "attachment_encryption_key": "YXR0YWNobWVudC1rZXktZm9yLXRlc3RzLW9ubHktMzI=",
        "jpki_trust_dir": tmp_path,
    }
    with pytest.raises(ValidationError, match="PAYMENT_PROVIDER=demo"):
        Settings(**production)
    with pytest.raises(ValidationError, match="STRIPE_API_KEY and STRIPE_WEBHOOK_SECRET"):
        Settings(**{**production, "payment_provider": "stripe"})
    accepted = Settings(
        **production,
        payment_provider="stripe",
        stripe_api_key="sk_live_x",
        stripe_webhook_secret="whsec_x",
    )
    assert accepted.payment_provider == "stripe"


async def test_the_demo_page_is_not_served_in_production(
    settings: Settings,
    demo_api: httpx.AsyncClient,
    procedures: None,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    application = await submit(demo_api)
    started = await paid_session(demo_api, application)
    # The app reads the fixture's settings object: switch it to production underneath.
    settings.environment = "production"
    try:
        page = await demo_api.get(f"/api/v1/payments/demo/{started['payment_id']}")
        pay = await demo_api.post(f"/api/v1/payments/demo/{started['payment_id']}/pay")
    finally:
        settings.environment = "test"
    assert page.status_code == 404 and page.json()["code"] == "DEMO_PROVIDER_DISABLED"
    assert pay.status_code == 404
    assert (await stored_payment(session_factory, started["payment_id"])).status == "created"
