"""The payment lifecycle (決済の状態遷移) and how a provider's report moves it.

    created -> pending (konbini: voucher issued, cash not yet paid)
    created | pending -> succeeded | failed | canceled; created -> expired
    succeeded <-> partially_refunded <-> refunded   (a failed refund gives money back)
    any paid status -> disputed -> (won: as before the dispute) | dispute_lost
    failed | expired | canceled -> succeeded        (money that came anyway: not due)

Provider events arrive late, twice or out of order, so a report is applied as a fact,
never as a step: "the money was received", "refund re_1 is now succeeded", "the dispute
is now lost". Facts only move a payment (and each refund, and the dispute) forward, and
a fact that implies an earlier one (a refund implies the payment succeeded) applies that
one first. Once paid, the status is derived from the refunds and the dispute
(`paid_status`), so whatever order the same facts arrive in, the payment ends in the
same state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import TypeAdapter


class PaymentStatus(StrEnum):
    CREATED = "created"  # 支払手続中
    PENDING = "pending"  # 入金待ち (コンビニ払いの払込票発行済み)
    SUCCEEDED = "succeeded"  # 支払済み
    FAILED = "failed"  # 失敗
    EXPIRED = "expired"  # 期限切れ
    CANCELED = "canceled"  # 取消 (申請の取下げなど)
    PARTIALLY_REFUNDED = "partially_refunded"  # 一部返金
    REFUNDED = "refunded"  # 全額返金
    DISPUTED = "disputed"  # 異議申立て中 (チャージバック)
    DISPUTE_LOST = "dispute_lost"  # 異議申立て敗訴 (返金扱い)


OPEN = frozenset({PaymentStatus.CREATED, PaymentStatus.PENDING})
"""May still be paid."""
PAID = frozenset(
    {
        PaymentStatus.SUCCEEDED,
        PaymentStatus.PARTIALLY_REFUNDED,
        PaymentStatus.REFUNDED,
        PaymentStatus.DISPUTED,
        PaymentStatus.DISPUTE_LOST,
    }
)
"""The money was received (some of it may have gone back since)."""
CLOSED = frozenset({PaymentStatus.FAILED, PaymentStatus.EXPIRED, PaymentStatus.CANCELED})
"""Ended unpaid: the citizen may start a new payment."""
REFUNDABLE = frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED})

_SETTLED = frozenset(
    {PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}
)
_PAID_AGAIN = _SETTLED | {PaymentStatus.DISPUTED, PaymentStatus.DISPUTE_LOST}
TRANSITIONS: Mapping[PaymentStatus, frozenset[PaymentStatus]] = {
    PaymentStatus.CREATED: frozenset(
        {
            PaymentStatus.PENDING,
            PaymentStatus.SUCCEEDED,
            PaymentStatus.FAILED,
            PaymentStatus.EXPIRED,
            PaymentStatus.CANCELED,
        }
    ),
    PaymentStatus.PENDING: frozenset(
        {PaymentStatus.SUCCEEDED, PaymentStatus.FAILED, PaymentStatus.CANCELED}
    ),
    **{
        status: (_SETTLED - {status}) | {PaymentStatus.DISPUTED, PaymentStatus.DISPUTE_LOST}
        for status in _SETTLED
    },
    PaymentStatus.DISPUTED: _SETTLED | {PaymentStatus.DISPUTE_LOST},
    PaymentStatus.DISPUTE_LOST: frozenset(),
    # Money can still arrive for a payment we closed (a voucher paid after we canceled
    # it): it is received all the same, and flagged as not due (入金済・請求なし).
    PaymentStatus.FAILED: _PAID_AGAIN,
    PaymentStatus.EXPIRED: _PAID_AGAIN,
    PaymentStatus.CANCELED: _PAID_AGAIN,
}


class RefundStatus(StrEnum):
    PROPOSED = "proposed"  # 返金確認待ち (手数料の変更で生じた過払い: 会計課の確認前)
    REQUESTED = "requested"  # 依頼済み (保存済み、決済代行への送信前または結果未確認)
    PENDING = "pending"  # 処理中
    REQUIRES_ACTION = "requires_action"  # 口座情報待ち (コンビニ払いの返金)
    SUCCEEDED = "succeeded"  # 返金済み
    FAILED = "failed"  # 返金失敗 (返金可能額に戻る)
    CANCELED = "canceled"  # 取消


REFUND_RANK: Mapping[RefundStatus, int] = {
    RefundStatus.PROPOSED: -1,
    RefundStatus.REQUESTED: 0,
    RefundStatus.PENDING: 1,
    RefundStatus.REQUIRES_ACTION: 1,
    RefundStatus.SUCCEEDED: 2,
    RefundStatus.FAILED: 3,
    RefundStatus.CANCELED: 3,
}
"""A refund only moves to a higher rank (a refund may fail after it succeeded), or
between the two waiting states of the same rank."""
ACTIVE_REFUNDS = frozenset(
    {
        RefundStatus.REQUESTED,
        RefundStatus.PENDING,
        RefundStatus.REQUIRES_ACTION,
        RefundStatus.SUCCEEDED,
    }
)
"""Refunds whose money is gone or on its way: they count in `refunded_amount`. A
`proposed` one (an overpayment finance has not confirmed yet) does not: no money moved."""


class DisputeStatus(StrEnum):
    """Stripe's dispute statuses; the `warning_*` ones (inquiries) withdraw no money."""

    WARNING_NEEDS_RESPONSE = "warning_needs_response"
    WARNING_UNDER_REVIEW = "warning_under_review"
    WARNING_CLOSED = "warning_closed"
    NEEDS_RESPONSE = "needs_response"  # 回答待ち
    UNDER_REVIEW = "under_review"  # 審査中
    WON = "won"  # 勝訴 (資金戻り)
    LOST = "lost"  # 敗訴


DISPUTE_RANK: Mapping[DisputeStatus, int] = {
    DisputeStatus.WARNING_NEEDS_RESPONSE: 0,
    DisputeStatus.WARNING_UNDER_REVIEW: 1,
    DisputeStatus.WARNING_CLOSED: 2,
    DisputeStatus.NEEDS_RESPONSE: 3,
    DisputeStatus.UNDER_REVIEW: 4,
    DisputeStatus.WON: 5,
    DisputeStatus.LOST: 5,
}
OPEN_DISPUTES = frozenset({DisputeStatus.NEEDS_RESPONSE, DisputeStatus.UNDER_REVIEW})
"""The disputed money is withdrawn while the dispute is open."""


def paid_status(amount: int, refunded_amount: int, dispute_status: str | None) -> PaymentStatus:
    """The status of a payment whose money was received: from its refunds and dispute."""
    if dispute_status in OPEN_DISPUTES:
        return PaymentStatus.DISPUTED
    if dispute_status == DisputeStatus.LOST:
        return PaymentStatus.DISPUTE_LOST
    if refunded_amount >= amount:
        return PaymentStatus.REFUNDED
    if refunded_amount > 0:
        return PaymentStatus.PARTIALLY_REFUNDED
    return PaymentStatus.SUCCEEDED


def is_allowed(current: PaymentStatus, target: PaymentStatus) -> bool:
    return target in TRANSITIONS[current]


FactKind = Literal["pending", "succeeded", "failed", "expired", "canceled"]


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
    hosted_voucher_url: str | None = None
    """The provider's voucher page (printable)."""
    stores: Mapping[str, StoreCode] = field(default_factory=dict)
    """familymart, lawson, ministop, seicomart -> the codes to pay there."""

    @property
    def payment_code(self) -> str | None:
        """The 払込番号 when every store takes the same one."""
        codes = {code.payment_code for code in self.stores.values()}
        return codes.pop() if len(codes) == 1 else None

    def as_dict(self) -> dict[str, Any]:
        """The voucher as stored on the payment and handed to notices (JSON)."""
        result: dict[str, Any] = _VOUCHER.dump_python(self, mode="json")
        return result

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> Voucher:
        return _VOUCHER.validate_python(stored)


_VOUCHER = TypeAdapter(Voucher)
"""Reads and writes a stored voucher (ISO 8601 deadline, the codes per store)."""


@dataclass(frozen=True)
class Fact:
    """What a provider reported about one payment."""

    kind: FactKind
    voucher: Voucher | None = None
    """For `pending`: the konbini voucher, when the report carries it."""


@dataclass(frozen=True)
class RefundReport:
    """What the provider says about one refund: made by us (our id in its metadata) or
    elsewhere (Stripe's dashboard)."""

    provider_refund_id: str | None
    """None when the provider refused to make it at all."""
    amount: int
    status: RefundStatus
    refund_id: str | None = None
    """Ours, from the refund's metadata."""
    failure_reason: str | None = None


@dataclass(frozen=True)
class DisputeReport:
    """What the provider says about the payment's dispute (異議申立て)."""

    provider_dispute_id: str
    amount: int
    status: DisputeStatus
