"""Every way a My Number card's proof can be refused, one type (and code) per failure.

The certificate and signature a citizen sends are data in the request body, so a
refusal is 422; a trust store the server cannot rely on (stale CRL, missing revocation
data, unreadable trust directory) is the server's problem, hence 503.
"""

from __future__ import annotations

from app.errors import AppError


class JpkiError(AppError, code="JPKI_VERIFICATION_FAILED", status=422):
    """Base of the refusals of a card's certificate or signature."""


class JpkiCertificateInvalid(JpkiError, code="JPKI_CERTIFICATE_INVALID"): ...


class JpkiSignatureInvalid(JpkiError, code="JPKI_SIGNATURE_INVALID"): ...


class JpkiUntrustedIssuer(JpkiError, code="JPKI_UNTRUSTED_ISSUER"): ...


class JpkiWrongCertificateType(JpkiError, code="JPKI_WRONG_CERTIFICATE_TYPE"): ...


class JpkiCertificateExpired(JpkiError, code="JPKI_CERT_EXPIRED"): ...


class JpkiCertificateNotYetValid(JpkiError, code="JPKI_CERT_NOT_YET_VALID"): ...


class JpkiKeyUsageInvalid(JpkiError, code="JPKI_KEY_USAGE_INVALID"): ...


class JpkiCertificatePolicyInvalid(JpkiError, code="JPKI_CERTIFICATE_POLICY_INVALID"): ...


class JpkiCertificateRevoked(JpkiError, code="JPKI_CERT_REVOKED"):
    """失効: the extra `revocation_reason` and `revoked_at` say why and since when."""


class JpkiNonceInvalid(JpkiError, code="JPKI_NONCE_INVALID"): ...


class JpkiCrlExpired(JpkiError, code="JPKI_CRL_EXPIRED", status=503):
    """The CRL we hold is past its nextUpdate: we cannot tell whether the card is revoked."""


class JpkiRevocationUnavailable(JpkiError, code="JPKI_REVOCATION_UNAVAILABLE", status=503): ...


class JpkiTrustStoreUnavailable(JpkiError, code="JPKI_TRUST_STORE_UNAVAILABLE", status=503): ...


class JpkiSignatureRequired(AppError, code="JPKI_SIGNATURE_REQUIRED", status=403):
    """A `jpki_sign` procedure submitted without the card's signature."""


class TrustStoreError(Exception):
    """The trust directory is unusable (a deployment error, not a citizen's one)."""


CARD_PROOF_ERRORS: tuple[type[AppError], ...] = (
    JpkiCertificateInvalid,
    JpkiSignatureInvalid,
    JpkiUntrustedIssuer,
    JpkiWrongCertificateType,
    JpkiCertificateExpired,
    JpkiCertificateNotYetValid,
    JpkiKeyUsageInvalid,
    JpkiCertificatePolicyInvalid,
    JpkiCertificateRevoked,
    JpkiCrlExpired,
    JpkiRevocationUnavailable,
    JpkiTrustStoreUnavailable,
)
"""Every refusal of a card's certificate or signature, for routes' `responses=`."""
