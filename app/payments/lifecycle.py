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
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


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
class Fact:
    """What a provider reported about one payment."""

    kind: FactKind
    refunded_total: int = 0
    """For `refunded`: the total refunded so far, as the provider counts it (absolute,
    so a duplicate or a late event cannot count a refund twice)."""


def refund_status(amount: int, refunded_amount: int) -> PaymentStatus:
    if refunded_amount >= amount:
        return PaymentStatus.REFUNDED
    if refunded_amount > 0:
        return PaymentStatus.PARTIALLY_REFUNDED
    return PaymentStatus.SUCCEEDED


def is_allowed(current: PaymentStatus, target: PaymentStatus) -> bool:
    return target in TRANSITIONS[current]
