"""Who hears the submission lifecycle (docs/decisions/0002-lifecycle-listeners.md).

`install_listeners()` is the one place listeners are registered. create_app() calls it,
and so does every command that moves applications (e.g. `python -m app.payments
settle-open`); registering is idempotent by name, so calling it twice is harmless.
"""

from __future__ import annotations

from app.attachments import service as attachments_service
from app.config import Settings, get_settings
from app.forms.attachments import resolvers as attachment_resolvers
from app.kpi import rollups as kpi_rollups
from app.notifications import service as notifications_service
from app.payments import service as payments_service
from app.payments.notices import notices as payment_notices
from app.submissions.lifecycle import listeners


def install_listeners(settings: Settings | None = None) -> None:
    """`settings`: the app's (create_app passes its own); the notifications listener
    reads SMTP_HOST, PUBLIC_BASE_URL and the templates from them."""
    # Payments first: it may refuse a decision while part of the fee is unpaid.
    listeners.register("payments", payments_service.on_transition)
    listeners.register("kpi", kpi_rollups.on_transition)
    settings = settings or get_settings()
    listeners.register("notifications", notifications_service.transition_listener(settings))
    # A konbini voucher issued and a refund made are mailed too.
    payment_notices.provide(notifications_service.PaymentNoticeListener(settings))
    listeners.provide_paid_amount(payments_service.net_paid)
    # Answers name uploaded files by id; the submissions service checks them here.
    attachment_resolvers.provide(attachments_service.resolver_for)
