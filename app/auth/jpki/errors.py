"""Every way a My Number card's proof can be refused, one type (and code) per failure.

The certificate and signature a citizen sends are data in the request body, so a
refusal is 422; a trust store the server cannot rely on (stale CRL, missing revocation
data, unreadable trust directory) is the server's problem, hence 503.
"""

from __future__ import annotations

from app.errors import AppError


class JpkiError(AppError):
    """Base of the refusals of a card's certificate or signature."""

    status = 422
    code = "JPKI_VERIFICATION_FAILED"
    title_en = "The My Number card's proof was not accepted"
    title_ja = "マイナンバーカードによる確認ができませんでした"


class JpkiCertificateInvalid(JpkiError):
    code = "JPKI_CERTIFICATE_INVALID"
    title_en = "The certificate is not a valid JPKI certificate"
    title_ja = "電子証明書の形式が正しくありません"


class JpkiSignatureInvalid(JpkiError):
    code = "JPKI_SIGNATURE_INVALID"
    title_en = "The signature does not verify"
    title_ja = "電子署名を検証できませんでした"


class JpkiUntrustedIssuer(JpkiError):
    code = "JPKI_UNTRUSTED_ISSUER"
    title_en = "The certificate was not issued by a trusted JPKI certificate authority"
    title_ja = "信頼された公的個人認証サービスの認証局が発行した電子証明書ではありません"


class JpkiWrongCertificateType(JpkiError):
    code = "JPKI_WRONG_CERTIFICATE_TYPE"
    title_en = "The wrong certificate of the card was used"
    title_ja = "使用する電子証明書の種類が違います"


class JpkiCertificateExpired(JpkiError):
    code = "JPKI_CERT_EXPIRED"
    title_en = "The certificate has expired"
    title_ja = "電子証明書の有効期限が切れています"


class JpkiCertificateNotYetValid(JpkiError):
    code = "JPKI_CERT_NOT_YET_VALID"
    title_en = "The certificate is not valid yet"
    title_ja = "電子証明書の有効期間が始まっていません"


class JpkiKeyUsageInvalid(JpkiError):
    code = "JPKI_KEY_USAGE_INVALID"
    title_en = "The certificate's key usage does not allow this use"
    title_ja = "電子証明書の鍵用途がこの用途に適合しません"


class JpkiCertificatePolicyInvalid(JpkiError):
    code = "JPKI_CERTIFICATE_POLICY_INVALID"
    title_en = "The certificate does not carry the JPKI certificate policy"
    title_ja = "電子証明書に公的個人認証サービスの証明書ポリシーがありません"


class JpkiCertificateRevoked(JpkiError):
    """失効: the extra `revocation_reason` and `revoked_at` say why and since when."""

    code = "JPKI_CERT_REVOKED"
    title_en = "The certificate has been revoked"
    title_ja = "電子証明書は失効しています"


class JpkiNonceInvalid(JpkiError):
    code = "JPKI_NONCE_INVALID"
    title_en = "The challenge is unknown, expired or already used"
    title_ja = "チャレンジが無効です（期限切れまたは使用済み）"


class JpkiCrlExpired(JpkiError):
    """The CRL we hold is past its nextUpdate: we cannot tell whether the card is revoked."""

    status = 503
    code = "JPKI_CRL_EXPIRED"
    title_en = "The revocation list is out of date"
    title_ja = "失効情報（CRL）の有効期限が切れています"


class JpkiRevocationUnavailable(JpkiError):
    status = 503
    code = "JPKI_REVOCATION_UNAVAILABLE"
    title_en = "No revocation list is available for the issuing authority"
    title_ja = "発行元の認証局の失効情報（CRL）がありません"


class JpkiTrustStoreUnavailable(JpkiError):
    status = 503
    code = "JPKI_TRUST_STORE_UNAVAILABLE"
    title_en = "The JPKI trust store could not be loaded"
    title_ja = "公的個人認証サービスの信頼点を読み込めませんでした"


class JpkiSignatureRequired(AppError):
    """A `jpki_sign` procedure submitted without the card's signature."""

    status = 403
    code = "JPKI_SIGNATURE_REQUIRED"
    title_en = "A My Number card signature is required"
    title_ja = "マイナンバーカードによる電子署名が必要です"


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
