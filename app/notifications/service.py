"""Notifications (通知): which event tells the applicant what, to which address, and the
outbox rows that carry it. Never commits; never sends (app.notifications.sender does,
after commit).

The recipient is the applicant's own email answer: the first top-level `email` field of
the pinned definition that is answered. A procedure without one sends nothing. Messages
hold only what the applicant typed or the system decided (受付番号, procedure title,
fees, the staff's message, the status link without any token); never the 個人番号.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.admin import review_service
from app.auth.staff_service import StaffPrincipal
from app.config import Settings
from app.db import new_uuid
from app.forms import service as forms
from app.forms.definition import EmailField, ProcedureDefinition
from app.municipalities.service import get_municipality
from app.notifications import repository, templates
from app.notifications.models import Notification
from app.payments.notices import RefundSucceeded, VoucherIssued
from app.submissions import repository as submissions_repository
from app.submissions import service as submissions


class NotificationKind(StrEnum):
    RECEIVED = "received"  # 受付
    RETURNED = "returned"  # 差戻し
    APPROVED = "approved"  # 決定 (承認)
    REJECTED = "rejected"  # 決定 (却下)
    PAID = "paid"  # 支払い完了
    KONBINI_PENDING = "konbini_pending"  # コンビニ払込番号と期限
    REFUNDED = "refunded"  # 還付


REFERENCE_PENDING = "〔受付番号〕"
"""Stands in a message for the 受付番号 not yet given: the receipt's number is its
transaction's last write, after the listeners (app.submissions.reference_numbers). The
sender writes the number in before sending (`fill_reference_number`)."""


class DeliveryState(StrEnum):
    PENDING = "pending"  # 送信待ち (also while retrying)
    SENT = "sent"  # 送信済み
    FAILED = "failed"  # 送信失敗 (gave up, or the address was refused)
    NOT_CONFIGURED = "not_configured"  # 未送信: no SMTP_HOST when it was written


_TRANSITION_KINDS: dict[str, NotificationKind] = {
    "returned": NotificationKind.RETURNED,
    "approved": NotificationKind.APPROVED,
    "rejected": NotificationKind.REJECTED,
    "paid": NotificationKind.PAID,
}


def kind_for_transition(from_status: str | None, to_status: str) -> NotificationKind | None:
    """受付 when a draft is submitted (to `submitted`, or `awaiting_payment` when the fee
    is due first); 差戻し, 承認, 却下 and 支払い完了 on those statuses; nothing else."""
    if from_status == "draft" and to_status in ("submitted", "awaiting_payment"):
        return NotificationKind.RECEIVED
    return _TRANSITION_KINDS.get(to_status)


def applicant_email(definition: ProcedureDefinition, answers: Mapping[str, Any]) -> str | None:
    """The first answered top-level email field, in the order of the form."""
    for step in definition.steps:
        for field in step.fields:
            if isinstance(field, EmailField):
                value = answers.get(field.key)
                if isinstance(value, str) and value.strip():
                    return value.strip()
    return None


@dataclass(frozen=True)
class Application:
    """What a message says about the application (no answers but the address)."""

    submission_id: uuid.UUID
    municipality_code: str
    reference_number: str | None
    procedure_title_ja: str
    procedure_title_en: str | None
    fee_total: int
    paid_amount: int
    recipient: str | None


class TransitionFacts(Protocol):
    """What the notification listener reads of a lifecycle transition
    (app.submissions.lifecycle.TransitionFacts)."""

    @property
    def event_id(self) -> int: ...
    @property
    def submission_id(self) -> uuid.UUID: ...
    @property
    def from_status(self) -> str | None: ...
    @property
    def to_status(self) -> str: ...
    @property
    def comment(self) -> str | None: ...
    @property
    def fee_total(self) -> int: ...
    @property
    def paid_amount(self) -> int: ...
    @property
    def occurred_at(self) -> datetime: ...


async def on_transition(session: AsyncSession, facts: TransitionFacts, settings: Settings) -> None:
    """The lifecycle listener: queues the message a transition deserves, in the
    transition's transaction (so there is a message exactly when the event happened)."""
    kind = kind_for_transition(facts.from_status, facts.to_status)
    if kind is None:
        return
    application = await application_of(
        session, facts.submission_id, fee_total=facts.fee_total, paid_amount=facts.paid_amount
    )
    await queue(
        session,
        application,
        kind,
        event_key=f"submission_event:{facts.event_id}",
        settings=settings,
        now=facts.occurred_at,
        message=facts.comment,
        new_event=True,
    )


def transition_listener(
    settings: Settings,
) -> Callable[[AsyncSession, TransitionFacts], Awaitable[None]]:
    """`on_transition` bound to the app's settings, as app.listeners registers it."""

    async def listener(session: AsyncSession, facts: TransitionFacts) -> None:
        await on_transition(session, facts, settings)

    return listener


KONBINI_STORES = {
    "familymart": ("ファミリーマート", "FamilyMart"),
    "lawson": ("ローソン", "Lawson"),
    "ministop": ("ミニストップ", "Ministop"),
    "seicomart": ("セイコーマート", "Seicomart"),
}


async def on_konbini_voucher(
    session: AsyncSession, issued: VoucherIssued, *, settings: Settings, now: datetime
) -> uuid.UUID | None:
    """コンビニ払込番号と期限: queued when a konbini payment's voucher is issued. Once per
    payment."""
    application = await application_of(
        session, issued.submission_id, fee_total=issued.amount, paid_amount=0
    )
    voucher = issued.voucher
    deadline = datetime.fromisoformat(str(voucher["expires_at"])).astimezone(
        ZoneInfo(settings.timezone)
    )
    stores = [
        {
            "name_ja": KONBINI_STORES.get(store, (store, store))[0],
            "name_en": KONBINI_STORES.get(store, (store, store))[1],
            "payment_code": code.get("payment_code"),
            "confirmation_number": code.get("confirmation_number"),
        }
        for store, code in sorted((voucher.get("stores") or {}).items())
    ]
    konbini = {
        "deadline_ja": f"{deadline:%Y年%m月%d日 %H:%M}",
        "deadline_en": f"{deadline:%d %b %Y %H:%M} (Japan time)",
        "stores": stores,
        "voucher_url": voucher.get("hosted_voucher_url"),
    }
    return await queue(
        session,
        application,
        NotificationKind.KONBINI_PENDING,
        event_key=f"payment_voucher:{issued.payment_id}",
        settings=settings,
        now=now,
        extra={"konbini": konbini},
    )


async def on_refund(
    session: AsyncSession, refunded: RefundSucceeded, *, settings: Settings, now: datetime
) -> uuid.UUID | None:
    """還付: queued when a refund is made. Once per refund."""
    application = await application_of(session, refunded.submission_id, fee_total=0, paid_amount=0)
    return await queue(
        session,
        application,
        NotificationKind.REFUNDED,
        event_key=f"refund:{refunded.refund_id}",
        settings=settings,
        now=now,
        extra={"refund_amount": refunded.amount},
    )


async def application_of(
    session: AsyncSession, submission_id: uuid.UUID, *, fee_total: int, paid_amount: int
) -> Application:
    """The application as a message describes it, read through the owning services. In a
    transition the row and its version are already in the session: no query."""
    submission = await submissions_repository.get(session, submission_id)
    if submission is None:
        raise submissions.SubmissionNotFound()
    definition = (await forms.form_of_version(session, submission.procedure_version_id)).definition
    return Application(
        submission_id=submission.id,
        municipality_code=submission.municipality_code,
        reference_number=submission.reference_number,
        procedure_title_ja=definition.title.ja,
        procedure_title_en=definition.title.en,
        fee_total=fee_total,
        paid_amount=paid_amount,
        recipient=applicant_email(definition, submission.answers),
    )


async def queue(
    session: AsyncSession,
    application: Application,
    kind: NotificationKind,
    *,
    event_key: str,
    settings: Settings,
    now: datetime,
    message: str | None = None,
    extra: Mapping[str, Any] | None = None,
    new_event: bool = False,
) -> uuid.UUID | None:
    """Writes the message to the outbox, in the caller's transaction; the id of the
    message queued. Nothing (None) when the application has no email answer, or this
    event already queued one for the address. A `new_event` (recorded in this
    transaction) cannot have queued one yet: its message goes in with the transaction's
    next statement, and its id is returned."""
    recipient = application.recipient
    if recipient is None:
        return None
    municipality = await get_municipality(session, application.municipality_code)
    context: dict[str, Any] = {
        "municipality": {"name_ja": municipality.name_ja, "name_en": municipality.name_en},
        "procedure": {
            "title_ja": application.procedure_title_ja,
            "title_en": application.procedure_title_en,
        },
        "reference_number": application.reference_number or REFERENCE_PENDING,
        "fee_total": application.fee_total,
        "paid_amount": application.paid_amount,
        "amount_due": max(application.fee_total - application.paid_amount, 0),
        "message": message or "",
        "status_url": status_url(settings, application.submission_id),
        **(extra or {}),
    }
    subject, body = templates.render(
        kind, application.municipality_code, context, settings.notification_templates_dir
    )
    notification_id = new_uuid()
    row = {
        "id": notification_id,
        "submission_id": application.submission_id,
        "municipality_code": application.municipality_code,
        "event_key": event_key,
        "kind": str(kind),
        "recipient": recipient,
        "subject": subject,
        "body": body,
        "state": str(DeliveryState.PENDING if settings.smtp_host else DeliveryState.NOT_CONFIGURED),
        "attempts": 0,
        "next_attempt_at": now if settings.smtp_host else None,
        "last_error": None,
        "created_at": now,
        "sent_at": None,
    }
    if new_event:
        await repository.add_later(session, row)
        return notification_id
    return notification_id if await repository.add_unless_queued(session, row) else None


async def fill_reference_number(session: AsyncSession, notification: Notification) -> None:
    """Writes the application's 受付番号 into a message queued before it was given (the
    receipt). Called by the sender before sending."""
    if REFERENCE_PENDING not in notification.subject + notification.body:
        return
    submission = await submissions_repository.get(session, notification.submission_id)
    if submission is None or submission.reference_number is None:
        return
    _fill(notification, submission.reference_number)


def _fill(notification: Notification, reference_number: str) -> None:
    notification.subject = notification.subject.replace(REFERENCE_PENDING, reference_number)
    notification.body = notification.body.replace(REFERENCE_PENDING, reference_number)


@dataclass(frozen=True)
class PaymentNoticeListener:
    """app.payments.notices' listener: the konbini voucher and refund messages, with the
    app's settings."""

    settings: Settings

    async def voucher_issued(
        self, session: AsyncSession, notice: VoucherIssued, *, now: datetime
    ) -> None:
        await on_konbini_voucher(session, notice, settings=self.settings, now=now)

    async def refunded(
        self, session: AsyncSession, notice: RefundSucceeded, *, now: datetime
    ) -> None:
        await on_refund(session, notice, settings=self.settings, now=now)


def status_url(settings: Settings, submission_id: uuid.UUID) -> str:
    """The applicant's status page in the web client. It carries no token: it opens on
    the device that holds the application's access token (or after a card login)."""
    return f"{settings.public_base_url.rstrip('/')}/#/s/{submission_id}"


async def list_for_staff(
    session: AsyncSession, staff: StaffPrincipal, submission_id: uuid.UUID
) -> list[Notification]:
    """The notifications of an application this staff member may see, oldest first, as
    they read (or will read) with the 受付番号; a read writes nothing."""
    row = await review_service.get_row(session, staff, submission_id)
    notifications = await repository.list_for_submission(session, row.submission.id)
    number = row.submission.reference_number
    for notification in notifications:
        if number is not None and REFERENCE_PENDING in notification.subject + notification.body:
            session.expunge(notification)
            _fill(notification, number)
    return notifications


async def purge_for_submission(
    session: AsyncSession, submission_id: uuid.UUID, *, dry_run: bool = False
) -> int:
    """Retention (保存期間): the messages hold the address and the staff's words, so they
    go with the answers."""
    if dry_run:
        return len(await repository.list_for_submission(session, submission_id))
    return await repository.delete_for_submission(session, submission_id)
