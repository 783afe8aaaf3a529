"""Every table, imported in one place for Alembic's autogenerate and for tests."""

from app.admin.review_models import SubmissionAssignment, SubmissionComment
from app.audit.models import AuditEntry
from app.auth.jpki.models import CitizenIdentity, JpkiChallenge, SubmissionSignature
from app.auth.staff_models import RevokedStaffToken, StaffUser
from app.db import Base
from app.forms.models import Procedure, ProcedureEvent, ProcedureVersion
from app.municipalities.models import Municipality
from app.submissions.models import (
    IdempotencyRecord,
    ReferenceCounter,
    Submission,
    SubmissionEvent,
)

__all__ = [
    "AuditEntry",
    "Base",
    "CitizenIdentity",
    "IdempotencyRecord",
    "JpkiChallenge",
    "Municipality",
    "Procedure",
    "ProcedureEvent",
    "ProcedureVersion",
    "ReferenceCounter",
    "RevokedStaffToken",
    "StaffUser",
    "Submission",
    "SubmissionAssignment",
    "SubmissionComment",
    "SubmissionEvent",
    "SubmissionSignature",
]
