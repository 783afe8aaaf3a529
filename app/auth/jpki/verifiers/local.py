"""`JPKI_VERIFIER=local`: X.509 and RSA checks with `cryptography` against the CA
certificates and CRLs in `JPKI_TRUST_DIR` (see app.auth.jpki.verifier)."""

from __future__ import annotations

from datetime import timedelta

from app.auth.jpki.verifier import LocalVerifier
from app.auth.jpki.verifiers import register
from app.config import Settings


@register("local")
def local_verifier(settings: Settings) -> LocalVerifier:
    return LocalVerifier(
        settings.jpki_trust_dir, clock_skew=timedelta(seconds=settings.jpki_clock_skew_seconds)
    )
