"""ワンスオンリー (once-only): fill a draft from the 基本4情報 the card's signing
certificate asserts, so the citizen does not type again what the card already says.

A definition maps a top-level field to one fact with `prefill` (see docs/jpki.md):
text: name | address, textarea: address, address_jp: address (split into 都道府県,
市区町村 and the rest, or left empty), name_with_kana: name (the フリガナ is left
to the citizen), date: birth_date, select/radio: sex (options male / female /
unknown). `prefill_when` limits a field to the answers that make it the card holder's
(the insured person's 氏名 when they apply themselves). The card proves the facts by
signing a one-time nonce with its signing key.
The answers record which values came from the card. Never commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.jpki.facts import BasicFourFacts
from app.auth.jpki.service import (
    AnsweredChallenge,
    ChallengePurpose,
    record_identity,
    verify_challenge_response,
)
from app.auth.jpki.verifier import Verifier
from app.auth.principals import Caller
from app.config import Settings
from app.forms import service as forms_service
from app.forms.conditions import card_filled_fields
from app.forms.definition import ProcedureDefinition
from app.submissions import service as submissions_service
from app.submissions.models import Submission


@dataclass(frozen=True)
class Prefilled:
    submission: Submission
    answers: dict[str, Any]
    filled: list[str]
    """The answers this prefill wrote."""
    facts: BasicFourFacts
    unsplit_address: str | None = None
    """The certified 住所 when an `address_jp` field could not be filled from it."""


def prefill_values(
    definition: ProcedureDefinition, facts: BasicFourFacts, answers: Mapping[str, Any]
) -> dict[str, Any]:
    """The answers the card's facts give for the definition's `prefill` fields."""
    certified = {
        "name": facts.name,
        "address": facts.address,
        "birth_date": facts.birth_date.isoformat() if facts.birth_date else None,
        "sex": facts.sex.label_en,
    }
    values: dict[str, Any] = {}
    for field, fact in card_filled_fields(definition, answers):
        if certified.get(fact) is None:
            continue
        # Each field type puts the fact in its own answer form (e.g. 氏名 with フリガナ).
        value = field.prefilled(certified[fact], answers.get(field.key))
        if value is not None:
            values[field.key] = value
    return values


async def prefill_from_card(
    session: AsyncSession,
    verifier: Verifier,
    submission_id: uuid.UUID,
    caller: Caller,
    answered: AnsweredChallenge,
    *,
    settings: Settings,
    now: datetime,
) -> Prefilled:
    """Verify the signing certificate's signature over a prefill nonce, then write the
    facts into the draft's mapped fields (other answers are kept), as the card states
    them: normalisation never alters a certified value (U+3000, ２８１, 﨑 stay)."""
    view = await submissions_service.get_submission(
        session, submission_id, caller, settings=settings
    )
    verified = await verify_challenge_response(
        session, verifier, answered, purpose=ChallengePurpose.PREFILL, now=now
    )
    assert verified.facts is not None  # a verified signing certificate always has them
    await record_identity(session, verified, now=now)
    version = await forms_service.get_version(session, view.submission.procedure_version_id)
    definition = forms_service.compiled_version(version).definition
    values = prefill_values(definition, verified.facts, view.answers)
    submission = await submissions_service.update_answers(
        session,
        submission_id,
        caller,
        {**view.answers, **values},
        settings=settings,
        now=now,
        from_card=values,
    )
    opened = await submissions_service.get_submission(
        session, submission_id, caller, settings=settings
    )
    unsplit = any(
        fact == "address" and field.key not in values
        for field, fact in card_filled_fields(definition, view.answers)
    )
    return Prefilled(
        submission,
        opened.answers,
        sorted(values),
        verified.facts,
        verified.facts.address if unsplit else None,
    )
