"""Finance's alerts (要確認): what the system found that a person must look at, listed for
the municipality's finance staff until one of them resolves it. Raising and resolving
are both audited. Never commits."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.audit.service import AuditActor
from app.auth.staff_service import StaffPrincipal
from app.db import fetch_page, new_uuid
from app.errors import Conflict, NotFound
from app.payments.models import Payment, PaymentAlert
from app.submissions.dialects import insert_ignoring_conflicts

SYSTEM_ACTOR = AuditActor("system", "payments")


class AlertKind(StrEnum):
    WEBHOOK_MISMATCH = "webhook_mismatch"  # Webhook内容不一致 (未反映)
    REFUND_FAILED = "refund_failed"  # 返金失敗 (返金可能額に戻しました)
    DISPUTE_OPENED = "dispute_opened"  # 異議申立て (回答が必要)
    DISPUTE_LOST = "dispute_lost"  # 異議申立て敗訴
    RECEIVED_NOT_DUE = "received_not_due"  # 入金済・請求なし (返金の検討)
    REFUND_TO_CONFIRM = "refund_to_confirm"  # 返金確認待ち (手数料の変更・取下げで過払い)


ALERT_LABELS_JA: Mapping[AlertKind, str] = {
    AlertKind.WEBHOOK_MISMATCH: "Webhook内容不一致（未反映）",
    AlertKind.REFUND_FAILED: "返金失敗",
    AlertKind.DISPUTE_OPENED: "異議申立て",
    AlertKind.DISPUTE_LOST: "異議申立て敗訴",
    AlertKind.RECEIVED_NOT_DUE: "入金済・請求なし",
    AlertKind.REFUND_TO_CONFIRM: "返金確認待ち（過払い）",
}


class AlertNotFound(NotFound, code="PAYMENT_ALERT_NOT_FOUND"): ...


class AlertAlreadyResolved(Conflict, code="PAYMENT_ALERT_RESOLVED"): ...


async def raise_alert(
    session: AsyncSession,
    kind: AlertKind,
    payment: Payment,
    *,
    source: str,
    details: Mapping[str, Any],
    now: datetime,
    amount: int | None = None,
) -> bool:
    """Record the alert once per (kind, source) and audit it. False when it was there."""
    alert_id = new_uuid()
    inserted = await session.scalar(
        insert_ignoring_conflicts(
            session,
            PaymentAlert,
            {
                "id": alert_id,
                "municipality_code": payment.municipality_code,
                "kind": kind.value,
                "source": source[:255],
                "payment_id": payment.id,
                "reference_number": payment.reference_number,
                "amount": amount,
                "details": dict(details),
                "created_at": now,
            },
            ["kind", "source"],
        ).returning(PaymentAlert.id)
    )
    if inserted is None:
        return False
    await audit.record(
        session,
        SYSTEM_ACTOR,
        f"payment.alert.{kind.value}",
        "payment",
        payment.id,
        payment.municipality_code,
        details={"alert_id": str(alert_id), "source": source, **details},
    )
    return True


async def list_alerts(
    session: AsyncSession,
    staff: StaffPrincipal,
    *,
    resolved: bool | None,
    kinds: tuple[AlertKind, ...],
    payment_id: uuid.UUID | None = None,
    limit: int,
    offset: int,
) -> tuple[list[PaymentAlert], int]:
    """The municipality's alerts, newest first."""
    statement = select(PaymentAlert).where(
        PaymentAlert.municipality_code == staff.municipality_code
    )
    if resolved is not None:
        statement = statement.where(
            PaymentAlert.resolved_at.is_not(None)
            if resolved
            else PaymentAlert.resolved_at.is_(None)
        )
    if kinds:
        statement = statement.where(PaymentAlert.kind.in_([kind.value for kind in kinds]))
    if payment_id is not None:
        statement = statement.where(PaymentAlert.payment_id == payment_id)
    statement = statement.order_by(PaymentAlert.created_at.desc(), PaymentAlert.id)
    return await fetch_page(session, statement, limit=limit, offset=offset)


async def resolve_alert(
    session: AsyncSession,
    staff: StaffPrincipal,
    alert_id: uuid.UUID,
    resolution: str,
    *,
    now: datetime,
) -> PaymentAlert:
    """対応済み: finance says what was done (e.g. refunded, answered the dispute)."""
    alert = await session.scalar(
        select(PaymentAlert).where(PaymentAlert.id == alert_id).with_for_update()
    )
    if alert is None or alert.municipality_code != staff.municipality_code:
        raise AlertNotFound()
    if alert.resolved_at is not None:
        raise AlertAlreadyResolved(
            "Someone resolved this alert already.",
            "この確認事項はすでに対応済みです。",
            extra={"resolved_by": alert.resolved_by},
        )
    alert.resolved_at, alert.resolved_by = now, str(staff.id)
    alert.resolution = resolution.strip()
    await session.flush()
    await audit.record(
        session,
        staff,
        "payment.alert.resolve",
        "payment_alert",
        alert.id,
        alert.municipality_code,
        reason=alert.resolution,
        details={"kind": alert.kind, "payment_id": str(alert.payment_id)},
    )
    return alert


async def settle_by_source(
    session: AsyncSession,
    actor: audit.Actor,
    kind: AlertKind,
    source: str,
    resolution: str,
    *,
    now: datetime,
) -> None:
    """Resolve the alert a cause raised once what it asked for is done (a proposed
    refund confirmed, or no longer needed); audited like a person's resolution."""
    alert = await session.scalar(
        select(PaymentAlert)
        .where(
            PaymentAlert.kind == kind.value,
            PaymentAlert.source == source[:255],
            PaymentAlert.resolved_at.is_(None),
        )
        .with_for_update()
    )
    if alert is None:
        return
    alert.resolved_at, alert.resolved_by, alert.resolution = now, actor.actor_id, resolution
    await session.flush()
    await audit.record(
        session,
        actor,
        "payment.alert.resolve",
        "payment_alert",
        alert.id,
        alert.municipality_code,
        reason=resolution,
        details={"kind": alert.kind, "payment_id": str(alert.payment_id)},
    )
