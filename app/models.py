"""Every table, imported in one place for Alembic's autogenerate and for tests."""

from app.attachments.models import Attachment
from app.audit.models import AuditEntry
from app.auth.jpki.models import CitizenIdentity, JpkiChallenge
from app.auth.staff_models import RevokedStaffToken, StaffUser
from app.db import Base
from app.forms.models import Procedure, ProcedureEvent, ProcedureVersion
from app.kpi.models import UsageDelta, UsageRollup
from app.municipalities.models import Municipality
from app.notifications.models import Notification
from app.payments.models import Payment, ProviderEvent, Refund
from app.payments.reconciliation.models import (
    BalanceTransaction,
    Payout,
    ReconciliationItem,
    ReconciliationRun,
)
from app.retention.models import RetentionPurge
from app.security.models import RateLimitBucket
from app.submissions.models import (
    IdempotencyRecord,
    ReferenceCounter,
    Submission,
    SubmissionAssignment,
    SubmissionComment,
    SubmissionEvent,
    SubmissionSignature,
)

__all__ = [
    "Attachment",
    "AuditEntry",
    "BalanceTransaction",
    "Base",
    "CitizenIdentity",
    "IdempotencyRecord",
    "JpkiChallenge",
    "Municipality",
    "Notification",
    "Payment",
    "Payout",
    "Procedure",
    "ProcedureEvent",
    "ProcedureVersion",
    "ProviderEvent",
    "RateLimitBucket",
    "ReconciliationItem",
    "ReconciliationRun",
    "ReferenceCounter",
    "Refund",
    "RetentionPurge",
    "RevokedStaffToken",
    "StaffUser",
    "Submission",
    "SubmissionAssignment",
    "SubmissionComment",
    "SubmissionEvent",
    "SubmissionSignature",
    "UsageDelta",
    "UsageRollup",
]
