"""Building application histories for the KPI tests: through the submissions service
and lifecycle, each step in its own transaction, at a moment the test chooses."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.jpki.service import CardProof
from app.auth.jpki.testca import TestCard
from app.auth.jpki.verifier import CertificateKind, LocalVerifier
from app.auth.principals import (
    ANONYMOUS,
    AccessTokenCaller,
    Caller,
    CitizenCaller,
    hash_access_token,
)
from app.config import Settings
from app.forms.models import Procedure
from app.forms.service import get_procedure, retire_procedure
from app.payments import service as payments
from app.payments.lifecycle import Fact, PaymentStatus
from app.payments.models import Payment
from app.submissions import lifecycle, signing
from app.submissions import service as submissions
from app.submissions.lifecycle import Actor, Status
from app.submissions.signing import SubmissionSigning
from tests.factories import TOMI, publish_definition

TOKYO = ZoneInfo("Asia/Tokyo")
STAFF = Actor("staff", "kpi-test-staff")
CERTIFICATE_ANSWERS = {"copies": 1, "requester": "self"}


def jst(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TOKYO)


@dataclass
class ProcedureClock:
    """Publishes and retires at chosen moments, so the catalog's history lies where the
    tests need it."""

    factory: async_sessionmaker[AsyncSession]

    async def publish(
        self, at: datetime, definition: dict[str, Any], municipality_code: str = TOMI
    ) -> None:
        await publish_definition(self.factory, municipality_code, definition, now=at)

    async def retire(self, at: datetime, code: str, municipality_code: str = TOMI) -> None:
        async with self.factory() as session, session.begin():
            procedure: Procedure = await get_procedure(session, municipality_code, code)
            await retire_procedure(session, procedure, now=at)


@dataclass
class Applications:
    """Applications made, moved and decided at chosen moments."""

    factory: async_sessionmaker[AsyncSession]
    settings: Settings

    async def online(
        self,
        procedure: str,
        at: datetime,
        answers: dict[str, Any] | None = None,
        *,
        caller: Caller = ANONYMOUS,
        municipality_code: str = TOMI,
    ) -> uuid.UUID:
        """Created and submitted at once (anonymously: owned by an access token)."""
        async with self.factory() as session, session.begin():
            created = await submissions.create_submission(
                session,
                municipality_code=municipality_code,
                procedure_code=procedure,
                answers=answers or dict(CERTIFICATE_ANSWERS),
                submit=True,
                caller=caller,
                settings=self.settings,
                now=at,
            )
            return created.submission.id

    async def draft(
        self, procedure: str, at: datetime, answers: dict[str, Any] | None = None
    ) -> tuple[uuid.UUID, Caller]:
        async with self.factory() as session, session.begin():
            created = await submissions.create_submission(
                session,
                municipality_code=TOMI,
                procedure_code=procedure,
                answers=answers or dict(CERTIFICATE_ANSWERS),
                submit=False,
                caller=ANONYMOUS,
                settings=self.settings,
                now=at,
            )
            assert created.access_token is not None
            owner = AccessTokenCaller(hash_access_token(created.access_token))
            return created.submission.id, owner

    async def signed(
        self, procedure: str, at: datetime, card: TestCard, verifier: LocalVerifier
    ) -> uuid.UUID:
        """A draft, then submitted with the card's signature over the signing document."""
        submission_id, owner = await self.draft(procedure, at)
        async with self.factory() as session, session.begin():
            submission = await submissions.get_for_update(session, submission_id)
            document = signing.signing_document(submission)
            proof = CardProof(
                certificate=card.certificate_der(CertificateKind.SIGNING),
                signature=card.sign(CertificateKind.SIGNING, document),
            )
            await submissions.submit(
                session,
                submission_id,
                owner,
                settings=self.settings,
                now=at,
                signature=SubmissionSigning(proof, verifier),
            )
        return submission_id

    async def counter(
        self, procedure: str, at: datetime, answers: dict[str, Any] | None = None
    ) -> uuid.UUID:
        """窓口受付, entered by staff."""
        async with self.factory() as session, session.begin():
            submission = await submissions.record_counter_submission(
                session,
                municipality_code=TOMI,
                procedure_code=procedure,
                answers=answers or {},
                received_at=at,
                staff=STAFF,
                settings=self.settings,
            )
            return submission.id

    async def move(
        self,
        submission_id: uuid.UUID,
        to: Status,
        at: datetime,
        actor: Actor = STAFF,
        comment: str | None = None,
    ) -> None:
        async with self.factory() as session, session.begin():
            submission = await submissions.get_for_update(session, submission_id)
            await lifecycle.transition(session, submission, to, actor, comment, now=at)

    async def pay(self, submission_id: uuid.UUID, at: datetime) -> None:
        """The payment provider confirmed the fee: a payment of the fee received, which
        moves the application to `paid` (the system actor), as app.payments does."""
        async with self.factory() as session, session.begin():
            submission = await submissions.get_for_update(session, submission_id)
            payment = Payment(
                submission_id=submission.id,
                municipality_code=submission.municipality_code,
                reference_number=submission.reference_number or "",
                provider="demo",
                amount=submission.fee_total or 0,
                fee_breakdown=submission.fee_breakdown or {},
                payment_method_types=["card"],
                status=PaymentStatus.CREATED,
                refunded_amount=0,
                expires_at=at + timedelta(hours=1),
                created_at=at,
                updated_at=at,
            )
            session.add(payment)
            await session.flush()
            await payments.apply_facts(session, payment.id, [Fact("succeeded")], now=at)

    async def withdraw_draft(self, submission_id: uuid.UUID, owner: Caller, at: datetime) -> None:
        async with self.factory() as session, session.begin():
            await submissions.withdraw(session, submission_id, owner, reason=None, now=at)

    async def resubmit(self, submission_id: uuid.UUID, owner: Caller, at: datetime) -> None:
        async with self.factory() as session, session.begin():
            await submissions.submit(session, submission_id, owner, settings=self.settings, now=at)


def citizen(subject: str) -> CitizenCaller:
    """A citizen logged in with the My Number card (利用者証明用電子証明書)."""
    return CitizenCaller(subject)
