"""Who hears the submission lifecycle (docs/decisions/0002-lifecycle-listeners.md).

`install_listeners()` is the one place listeners are registered. create_app() calls it,
and so does every command that moves applications (e.g. `python -m app.payments
settle-open`); registering is idempotent by name, so calling it twice is harmless.
"""

from __future__ import annotations

from app.kpi import rollups as kpi_rollups
from app.payments import service as payments_service
from app.submissions.lifecycle import listeners


def install_listeners() -> None:
    listeners.register("kpi", kpi_rollups.on_transition)
    listeners.provide_paid_amount(payments_service.net_paid)
