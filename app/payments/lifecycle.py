"""The payment lifecycle (決済の状態遷移) and how a provider's report moves it.

    created -> pending (konbini: voucher issued, cash not yet paid)
    created | pending -> succeeded | failed; created -> expired
    succeeded -> partially_refunded -> refunded; any paid status -> disputed

Provider events arrive late, twice or out of order, so a report is applied as a fact,
never as a step: "the money was received", "the refunded total is now N yen". Facts
only move a payment forward, and a fact that implies an earlier one (a refund implies
the payment succeeded) applies that one first. Whatever order the same facts arrive
in, the payment ends in the same state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal


class PaymentStatus(StrEnum):
    CREATED = "created"  # 支払手続中
    PENDING = "pending"  # 入金待ち (コンビニ払いの払込票発行済み)
    SUCCEEDED = "succeeded"  # 支払済み
    FAILED = "failed"  # 失敗
    EXPIRED = "expired"  # 期限切れ
    PARTIALLY_REFUNDED = "partially_refunded"  # 一部返金
    REFUNDED = "refunded"  # 全額返金
    DISPUTED = "disputed"  # 異議申立て (チャージバック)


OPEN = frozenset({PaymentStatus.CREATED, PaymentStatus.PENDING})
"""May still be paid."""
PAID = frozenset(
    {
        PaymentStatus.SUCCEEDED,
        PaymentStatus.PARTIALLY_REFUNDED,
        PaymentStatus.REFUNDED,
        PaymentStatus.DISPUTED,
    }
)
"""The money was received (some of it may have gone back since)."""
CLOSED = frozenset({PaymentStatus.FAILED, PaymentStatus.EXPIRED})
"""Ended unpaid: the citizen may start a new payment."""
REFUNDABLE = frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED})

TRANSITIONS: Mapping[PaymentStatus, frozenset[PaymentStatus]] = {
    PaymentStatus.CREATED: frozenset(
        {
            PaymentStatus.PENDING,
            PaymentStatus.SUCCEEDED,
            PaymentStatus.FAILED,
            PaymentStatus.EXPIRED,
        }
    ),
    PaymentStatus.PENDING: frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.FAILED}),
    PaymentStatus.SUCCEEDED: frozenset(
        {PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED, PaymentStatus.DISPUTED}
    ),
    PaymentStatus.PARTIALLY_REFUNDED: frozenset(
        {PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED, PaymentStatus.DISPUTED}
    ),
    PaymentStatus.REFUNDED: frozenset({PaymentStatus.DISPUTED}),
    PaymentStatus.DISPUTED: frozenset(),
    PaymentStatus.FAILED: frozenset(),
    PaymentStatus.EXPIRED: frozenset(),
}


FactKind = Literal["pending", "succeeded", "failed", "expired", "refunded", "disputed"]


@dataclass(frozen=True)
class StoreCode:
    payment_code: str
    """払込番号 (お客様番号) to give at the store's terminal or till."""
    confirmation_number: str | None = None
    """確認番号, where the store asks for one."""


@dataclass(frozen=True)
class Voucher:
    """コンビニ払込票: what the citizen needs to pay a konbini payment in cash."""

    expires_at: datetime
    """支払期限."""
    hosted_voucher_url: str | None
    """The provider's voucher page (printable)."""
    stores: Mapping[str, StoreCode] = field(default_factory=dict)
    """familymart, lawson, ministop, seicomart -> the codes to pay there."""

    @property
    def payment_code(self) -> str | None:
        """The 払込番号 when every store takes the same one."""
        codes = {code.payment_code for code in self.stores.values()}
        return codes.pop() if len(codes) == 1 else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "expires_at": self.expires_at.isoformat(),
            "hosted_voucher_url": self.hosted_voucher_url,
            "stores": {
                store: {
                    "payment_code": code.payment_code,
                    "confirmation_number": code.confirmation_number,
                }
                for store, code in self.stores.items()
            },
        }

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> Voucher:
        return cls(
            expires_at=datetime.fromisoformat(stored["expires_at"]),
            hosted_voucher_url=stored.get("hosted_voucher_url"),
            stores={
                store: StoreCode(code["payment_code"], code.get("confirmation_number"))
                for store, code in (stored.get("stores") or {}).items()
            },
        )


@dataclass(frozen=True)
class Fact:
    """What a provider reported about one payment."""

    kind: FactKind
    refunded_total: int = 0
    """For `refunded`: the total refunded so far, as the provider counts it (absolute,
    so a duplicate or a late event cannot count a refund twice)."""
    voucher: Voucher | None = None
    """For `pending`: the konbini voucher, when the report carries it."""


def refund_status(amount: int, refunded_amount: int) -> PaymentStatus:
    if refunded_amount >= amount:
        return PaymentStatus.REFUNDED
    if refunded_amount > 0:
        return PaymentStatus.PARTIALLY_REFUNDED
    return PaymentStatus.SUCCEEDED


def is_allowed(current: PaymentStatus, target: PaymentStatus) -> bool:
    return target in TRANSITIONS[current]
