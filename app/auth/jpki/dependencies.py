"""The verifier a request uses: built once per app from `JPKI_TRUST_DIR`."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import Depends, Request

from app.auth.jpki.errors import JpkiTrustStoreUnavailable, TrustStoreError
from app.auth.jpki.service import CardProof
from app.auth.jpki.signing import SubmissionSigning
from app.auth.jpki.verifier import LocalVerifier, Verifier
from app.config import Settings

logger = logging.getLogger(__name__)


def get_verifier(request: Request) -> Verifier:
    """The app's verifier, loaded on first use (tests may set `app.state.jpki_verifier`).

    Kept per process: it is configuration (trust anchors and CRLs read from disk and
    reloaded when they change), not request state."""
    verifier: Verifier | None = getattr(request.app.state, "jpki_verifier", None)
    if verifier is None:
        settings: Settings = request.app.state.settings
        try:
            verifier = LocalVerifier(settings.jpki_trust_dir)
        except (TrustStoreError, OSError) as exc:
            logger.error("JPKI trust directory cannot be loaded: %s", exc)
            raise JpkiTrustStoreUnavailable(
                "The server cannot check My Number card certificates at the moment.",
                "現在マイナンバーカードの電子証明書を確認できません。",
            ) from exc
        request.app.state.jpki_verifier = verifier
    return verifier


JpkiVerifier = Annotated[Verifier, Depends(get_verifier)]


def submission_signing(
    request: Request, certificate: str | None, signature: str | None
) -> SubmissionSigning | None:
    """A submit's card signature, if one was sent. The verifier is only loaded then, so
    unsigned submits never depend on the trust directory."""
    if certificate is None or signature is None:
        return None
    return SubmissionSigning(CardProof.from_base64(certificate, signature), get_verifier(request))
