"""Payment commands.

    python -m app.payments settle-open
        Ask the provider how every open payment stands and apply it, through the same
        code as the webhooks: for events that never arrived; one still open for an
        application no longer waiting for payment (withdrawn) is closed there. Then the
        refunds: one still `requested` (its answer was lost, or an automatic refund of
        an overpayment) is sent under its own idempotency key, one waiting at the
        provider is looked up. Run it from cron.
    python -m app.payments reconcile --municipality 202193 --payout po_...
    python -m app.payments reconcile --municipality 202193 --from 2026-04-01 --to 2026-05-01
        A reconciliation run, as finance would start it, audited as the `system`.

Each payment is settled in a transaction of its own, so one that fails (the provider
unreachable) does not hold back the others.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from app.audit.service import AuditActor
from app.config import Settings, get_settings
from app.db import make_engine, make_session_factory, utcnow
from app.errors import AppError
from app.listeners import install_listeners
from app.payments import service
from app.payments.providers import ProviderRegistry
from app.payments.reconciliation import service as reconciliation

REFUND_GRACE = timedelta(minutes=1)
"""A refund requested this recently may still be on its way in its own request."""


async def settle_open(settings: Settings, *, now: datetime | None = None) -> Counter[str]:
    """settled | unchanged | failed per open payment; refunds_settled | refunds_failed
    per refund not yet final."""
    install_listeners()  # a settled payment moves its application to `paid`
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    registry = ProviderRegistry(settings)
    outcome: Counter[str] = Counter()
    try:
        async with factory() as session:
            payment_ids = await service.open_payment_ids(session)
        for payment_id in payment_ids:
            try:
                async with factory() as session, session.begin():
                    changed = await service.settle_payment(
                        session, registry, payment_id, now=now or utcnow()
                    )
                    # Still open for an application withdrawn meanwhile: close it there.
                    closed = await service.close_if_not_due(
                        session, registry, payment_id, now=now or utcnow()
                    )
                outcome["settled" if changed or closed else "unchanged"] += 1
            except AppError:
                outcome["failed"] += 1
        async with factory() as session:
            moment = now or utcnow()
            refund_ids = await service.unsettled_refund_ids(session, before=moment - REFUND_GRACE)
        for refund_id in refund_ids:
            try:
                async with factory() as session, session.begin():
                    await service.settle_refund(session, registry, refund_id, now=now or utcnow())
                outcome["refunds_settled"] += 1
            except AppError:
                outcome["refunds_failed"] += 1
    finally:
        await registry.aclose()
        await engine.dispose()
    return outcome


async def reconcile(settings: Settings, args: argparse.Namespace) -> str:
    zone = ZoneInfo(settings.timezone)
    scope = reconciliation.RunScope(
        payout_id=args.payout,
        created_from=_date(args.date_from, zone),
        created_to=_date(args.date_to, zone),
    )
    engine = make_engine(settings.database_url)
    registry = ProviderRegistry(settings)
    try:
        async with make_session_factory(engine)() as session, session.begin():
            run = await reconciliation.run_reconciliation(
                session,
                registry.ledger(),
                AuditActor("system", "reconcile-command"),
                args.municipality,
                scope,
                unpaid_after_days=settings.reconciliation_unpaid_after_days,
                now=utcnow(),
            )
            counts = ", ".join(f"{kind}={count}" for kind, count in run.counts.items())
            totals = ", ".join(f"{name}={value}" for name, value in run.totals.items())
            return f"run {run.id}: {counts}; {totals}"
    finally:
        await registry.aclose()
        await engine.dispose()


def _date(value: str | None, zone: ZoneInfo) -> datetime | None:
    """A calendar day in the municipality's time zone, at midnight."""
    if value is None:
        return None
    return datetime.fromisoformat(value).replace(tzinfo=zone)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app.payments")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("settle-open", help="settle open payments whose webhooks were missed")
    run = commands.add_parser("reconcile", help="reconcile a payout or a date range")
    run.add_argument("--municipality", required=True, help="全国地方公共団体コード")
    run.add_argument("--payout", help="a Stripe payout id (po_...)")
    run.add_argument("--from", dest="date_from", help="first day, YYYY-MM-DD")
    run.add_argument("--to", dest="date_to", help="day after the last, YYYY-MM-DD")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = get_settings()
    try:
        if args.command == "settle-open":
            outcome = asyncio.run(settle_open(settings))
            print(", ".join(f"{key}={value}" for key, value in sorted(outcome.items())) or "none")
        else:
            print(asyncio.run(reconcile(settings, args)))
    except AppError as error:
        print(f"error: {error.detail_en} / {error.detail_ja}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
