"""Signed submissions (電子署名付き申請): the document the card signs, the check of
its signature at submit with the evidence kept, and that evidence as staff see it
(本人確認: the signer's certified facts set against the applicant's answers).

The document is the canonical JSON (RFC 8785, JCS) of municipality, procedure code,
version, submission id and answers. At submit the server rebuilds it from what it
stores, so a signature over answers that changed since signing does not verify.
Never commits.
"""

from __future__ import annotations

import base64
import hashlib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

import rfc8785
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.jpki.errors import JpkiSignatureInvalid, JpkiSignatureRequired
from app.auth.jpki.service import CardProof, record_identity
from app.auth.jpki.verifier import CertificateKind, Verifier
from app.forms.conditions import card_filled_fields
from app.forms.definition import ProcedureDefinition
from app.submissions import my_number, repository
from app.submissions.models import Submission, SubmissionSignature
from app.submissions.my_number import MyNumberCipher

ComparedFact = Literal["name", "birth_date"]
COMPARED_FACTS: tuple[ComparedFact, ...] = get_args(ComparedFact)


@dataclass(frozen=True)
class SubmissionSigning:
    """A card signature sent with a submit, and the verifier that will check it."""

    proof: CardProof
    verifier: Verifier


@dataclass(frozen=True)
class FactComparison:
    """One answer set against the signer's certified fact it is filled from."""

    fact: ComparedFact
    field: str
    """JSON Pointer of the answer (a field with `prefill: name` / `prefill: birth_date`)."""
    certified: str | None
    """As the certificate states it (氏名 as written; 生年月日 ISO, None when 不明)."""
    answered: str | None
    """As stored."""
    matches: bool | None
    """None when there is nothing to compare (no answer, or the card says 不明)."""


@dataclass(frozen=True)
class SigningEvidence:
    """A signature kept with the application, as staff review it: the stored row
    (issuer, serial, digest, the 基本4情報 as certified, `verified_at`: when the server
    checked chain, validity, revocation and signature at submit; only a verified
    signature is kept), and what it says about the application now."""

    signature: SubmissionSignature
    covers_stored_answers: bool
    """The application as stored now is the document this signature covers (False
    for an earlier signature of an application corrected and signed again)."""
    comparisons: tuple[FactComparison, ...]

    @property
    def differs(self) -> list[ComparedFact]:
        """The facts where the signer is not who the answers name."""
        found = {c.fact for c in self.comparisons if c.matches is False}
        return [fact for fact in COMPARED_FACTS if fact in found]


def signing_document(submission: Submission, answers: Mapping[str, Any] | None = None) -> bytes:
    """The exact bytes the card signs (UTF-8 canonical JSON)."""
    return rfc8785.dumps(
        {
            "municipality_code": submission.municipality_code,
            "procedure_code": submission.procedure_code,
            "version": submission.version,
            "submission_id": str(submission.id),
            "answers": dict(submission.answers if answers is None else answers),
        }
    )


def document_digest(document: bytes) -> str:
    """Base64 SHA-256: what a card application shows and signs over (SHA256withRSA)."""
    return base64.b64encode(hashlib.sha256(document).digest()).decode()


def signature_required() -> JpkiSignatureRequired:
    return JpkiSignatureRequired(
        "This procedure must be signed with the My Number card's signing certificate: "
        "get the signing document, sign it, and send certificate and signature with submit.",
        "この手続はマイナンバーカードの署名用電子証明書による電子署名が必要です。"
        "署名対象文書を取得して署名し、電子証明書と電子署名を添えて申請してください。",
    )


async def verify_and_record(
    session: AsyncSession,
    signing: SubmissionSigning,
    submission: Submission,
    *,
    answers: Mapping[str, Any],
    now: datetime,
) -> SubmissionSignature:
    """Verify the signature over the document rebuilt from `answers` (what will be
    stored) and keep signature, certificate and 基本4情報 as evidence."""
    document = signing_document(submission, answers)
    try:
        verified = await signing.verifier.verify(
            signing.proof.over(document), kind=CertificateKind.SIGNING, now=now
        )
    except JpkiSignatureInvalid:
        raise JpkiSignatureInvalid(
            "The signature does not match this application as stored. If the answers "
            "changed after signing, get the signing document again and sign it.",
            "電子署名が現在の申請内容と一致しません。署名後に内容を変更した場合は、"
            "署名対象文書を取得し直して署名してください。",
        ) from None
    assert verified.facts is not None  # a verified signing certificate always has them
    await record_identity(session, verified, now=now)
    evidence = SubmissionSignature(
        submission_id=submission.id,
        document_digest=document_digest(document),
        signature=signing.proof.signature,
        certificate=signing.proof.certificate,
        issuer=verified.issuer,
        serial_number=verified.serial_hex,
        basic_facts=verified.facts.as_json(),
        verified_at=now,
    )
    session.add(evidence)
    await session.flush()
    return evidence


async def evidence_of(
    session: AsyncSession,
    submission: Submission,
    definition: ProcedureDefinition,
    cipher: MyNumberCipher,
) -> list[SigningEvidence]:
    """Every signature kept for the application, oldest first, each compared with the
    answers as the applicant gave them (the signed document holds My Numbers in clear)."""
    rows = await repository.signatures_of(session, submission.id)
    if not rows:
        return []
    answers = my_number.open_answers(definition, submission.answers, cipher)
    digest = document_digest(signing_document(submission, answers))
    return [
        SigningEvidence(
            row,
            row.document_digest == digest,
            compare_with_answers(definition, row.basic_facts, answers),
        )
        for row in rows
    ]


def compare_with_answers(
    definition: ProcedureDefinition, facts: Mapping[str, Any], answers: Mapping[str, Any]
) -> tuple[FactComparison, ...]:
    """The signer's 氏名 and 生年月日 against each answer the definition fills from them
    (`prefill`, where its `prefill_when` holds). Names compare after NFKC, case folding
    and with all whitespace removed: answers are stored NFKC-normalised (full-width
    letters become half-width, the space between family and given name varies) while
    the card writes full-width, and a foreign resident's name in capitals. Only the
    comparison folds; neither stored value changes. Birth dates compare as ISO dates."""
    comparisons = []
    for field, fact in card_filled_fields(definition, answers):
        if fact not in COMPARED_FACTS:
            continue
        certified = facts.get(fact)
        answered = field.prefill_fact_of(answers.get(field.key))
        if not isinstance(answered, str) or not answered:
            answered = None
        matches = None
        if certified is not None and answered is not None:
            if fact == "name":
                matches = _comparable_name(certified) == _comparable_name(answered)
            else:
                matches = certified == answered
        comparisons.append(FactComparison(fact, f"/{field.key}", certified, answered, matches))
    return tuple(comparisons)


def _comparable_name(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name).casefold().split())
