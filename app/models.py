"""Every table, imported in one place so that `Base.metadata` knows them all (Alembic's
env and autogenerate). Importing a domain's models module registers its tables; a new
domain with tables adds its line here."""

# ruff: noqa: F401  (the imports are for their effect: each registers its tables)

import app.attachments.models
import app.audit.models
import app.auth.jpki.models
import app.auth.staff_models
import app.forms.models
import app.kpi.models
import app.municipalities.models
import app.notifications.models
import app.payments.models
import app.payments.reconciliation.models
import app.retention.models
import app.security.models
import app.submissions.models
from app.db import Base

__all__ = ["Base"]
