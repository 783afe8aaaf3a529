"""What payments tell the applicant about, outside the application's lifecycle: a konbini
voucher issued (払込番号 and deadline) and a refund made (還付). The notifications module
provides the listener at start (app.listeners); payments call it in the transaction that
records the event, so the outbox row commits with it. Nothing is told when none is
provided."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class VoucherIssued:
    """A konbini voucher (払込番号 and deadline) for `amount` yen is out."""

    submission_id: uuid.UUID
    payment_id: uuid.UUID
    amount: int
    voucher: Mapping[str, Any]
    """As `app.payments.lifecycle.Voucher.as_dict()` gives it."""


@dataclass(frozen=True)
class RefundSucceeded:
    """`amount` yen went back to the applicant (還付)."""

    submission_id: uuid.UUID
    refund_id: uuid.UUID
    amount: int


class PaymentNotices(Protocol):
    async def voucher_issued(
        self, session: AsyncSession, notice: VoucherIssued, *, now: datetime
    ) -> None: ...

    async def refunded(
        self, session: AsyncSession, notice: RefundSucceeded, *, now: datetime
    ) -> None: ...


class Notices:
    def __init__(self) -> None:
        self._listener: PaymentNotices | None = None

    def provide(self, listener: PaymentNotices) -> None:
        self._listener = listener

    @property
    def listener(self) -> PaymentNotices | None:
        return self._listener


notices = Notices()
