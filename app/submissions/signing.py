"""Signed submissions (電子署名付き申請): the document the card signs, and the check of
its signature at submit with the evidence kept.

The document is the canonical JSON (RFC 8785, JCS) of municipality, procedure code,
version, submission id and answers. At submit the server rebuilds it from what it
stores, so a signature over answers that changed since signing does not verify.
Never commits.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import rfc8785
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.jpki.errors import JpkiSignatureInvalid, JpkiSignatureRequired
from app.auth.jpki.service import CardProof, record_identity
from app.auth.jpki.verifier import CertificateKind, Verifier
from app.submissions.models import Submission, SubmissionSignature


@dataclass(frozen=True)
class SubmissionSigning:
    """A card signature sent with a submit, and the verifier that will check it."""

    proof: CardProof
    verifier: Verifier


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
            certificate=signing.proof.certificate,
            data=document,
            signature=signing.proof.signature,
            kind=CertificateKind.SIGNING,
            now=now,
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
