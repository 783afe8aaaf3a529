"""The local verifier makes every check a relying party makes, each refusal with its code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pydantic import ValidationError

from app.auth.jpki.errors import (
    JpkiCertificateExpired,
    JpkiCertificateInvalid,
    JpkiCertificateNotYetValid,
    JpkiCertificatePolicyInvalid,
    JpkiCertificateRevoked,
    JpkiCrlExpired,
    JpkiError,
    JpkiKeyUsageInvalid,
    JpkiRevocationUnavailable,
    JpkiSignatureInvalid,
    JpkiUntrustedIssuer,
    JpkiWrongCertificateType,
    TrustStoreError,
)
from app.auth.jpki.testca import (
    SHIPPED_TRUST_DIR,
    TestAuthority,
    TestCaHome,
    TestCard,
    issue_authority,
    issue_card_certificate,
    issue_crl,
    mint_card,
    new_key,
    sign,
)
from app.auth.jpki.verifier import (
    CERTIFICATE_POLICIES,
    CertificateKind,
    LocalVerifier,
    SignedData,
    TrustStore,
    VerifiedCertificate,
)
from app.config import JPKI_TEST_TRUST_DIR, Settings
from app.db import utcnow
from tests.auth.jpki.conftest import MintCard
from tests.auth.jpki.helpers import AUTH, HANAKO, SIGN, KeyPool, copy_home

DOCUMENT = b'{"answers":{"copies":1},"procedure_code":"juminhyo-copy"}'


async def verify(
    verifier: LocalVerifier,
    certificate: bytes,
    signature: bytes,
    kind: CertificateKind,
    *,
    data: bytes = DOCUMENT,
    now: datetime | None = None,
) -> VerifiedCertificate:
    return await verifier.verify(
        SignedData(certificate, data, signature), kind=kind, now=now or utcnow()
    )


async def verify_card(
    verifier: LocalVerifier, card: TestCard, kind: CertificateKind, **kwargs: object
) -> VerifiedCertificate:
    return await verify(
        verifier, card.certificate_der(kind), card.sign(kind, DOCUMENT), kind, **kwargs
    )  # type: ignore[arg-type]


def der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


@pytest.fixture
def verifier(jpki_home: TestCaHome) -> LocalVerifier:
    return LocalVerifier(jpki_home.trust_dir)


# --- What passes ---------------------------------------------------------------------------


async def test_both_generations_of_both_types_are_trusted_at_once(
    verifier: LocalVerifier, mint: MintCard
) -> None:
    kinds = {(a.kind, a.generation) for a in verifier.store.authorities}
    assert kinds == {(kind, year) for kind in CertificateKind for year in (2015, 2023)}
    for generation in (2015, 2023):
        card = mint(generation=generation)
        login = await verify_card(verifier, card, AUTH)
        assert login.authority.generation == generation
        assert login.facts is None
        signed = await verify_card(verifier, card, SIGN)
        assert signed.authority.generation == generation
        assert signed.facts is not None and signed.facts.name == "東御\u3000花子"


async def test_verified_identity_is_issuer_and_serial(
    verifier: LocalVerifier, mint: MintCard
) -> None:
    card = mint()
    verified = await verify_card(verifier, card, AUTH)
    assert verified.serial_number == card.authentication_certificate.serial_number
    assert "OU=JPKI for user authentication" in verified.issuer
    assert len(verified.subject_id) == 64
    # The two certificates of one card are different identities (different serials).
    assert (await verify_card(verifier, card, SIGN)).subject_id != verified.subject_id


def test_the_shipped_test_trust_directory_loads_and_mixes_der_and_pem() -> None:
    assert SHIPPED_TRUST_DIR == JPKI_TEST_TRUST_DIR
    store = TrustStore.load(SHIPPED_TRUST_DIR)
    sources = {a.source.name for a in store.authorities}
    assert sources == {
        "auth-ca-2015.cer",
        "sign-ca-2015.cer",
        "auth-ca-2023.pem",
        "sign-ca-2023.pem",
    }
    assert all(a.revocation_list is not None for a in store.authorities)
    assert all("TEST ONLY" in a.certificate.subject.rfc4514_string() for a in store.authorities)


# --- Refusals, one code each -------------------------------------------------------------


async def test_wrong_signature_is_refused(verifier: LocalVerifier, mint: MintCard) -> None:
    card = mint()
    other_key = new_key()
    forged = sign(other_key, DOCUMENT)
    with pytest.raises(JpkiSignatureInvalid) as refused:
        await verify(verifier, card.certificate_der(SIGN), forged, SIGN)
    assert refused.value.code == "JPKI_SIGNATURE_INVALID"
    # A genuine signature over other data is just as wrong.
    with pytest.raises(JpkiSignatureInvalid):
        await verify(verifier, card.certificate_der(SIGN), card.sign(SIGN, b"other"), SIGN)


async def test_rogue_ca_with_an_identical_dn_is_untrusted(
    verifier: LocalVerifier, jpki_home: TestCaHome, key_pool: KeyPool
) -> None:
    trusted = jpki_home.authority(AUTH)
    rogue = issue_authority(AUTH, 2023, name=trusted.certificate.subject)
    assert rogue.certificate.subject == trusted.certificate.subject
    card = mint_card(rogue, jpki_home.authority(SIGN), HANAKO, keys=key_pool.pair())
    with pytest.raises(JpkiUntrustedIssuer) as refused:
        await verify_card(verifier, card, AUTH)
    assert refused.value.code == "JPKI_UNTRUSTED_ISSUER"


async def test_unknown_ca_is_untrusted(verifier: LocalVerifier, key_pool: KeyPool) -> None:
    stranger = issue_authority(SIGN, 2023, name=x509.Name.from_rfc4514_string("CN=Some CA,C=JP"))
    key, _ = key_pool.pair()
    certificate = issue_card_certificate(stranger, key.public_key(), holder=HANAKO)
    with pytest.raises(JpkiUntrustedIssuer):
        await verify(verifier, der(certificate), sign(key, DOCUMENT), SIGN)


async def test_expired_certificate_is_refused(verifier: LocalVerifier, mint: MintCard) -> None:
    start = utcnow() - timedelta(days=5 * 365 + 10)
    card = mint(not_before=start, not_after=start + timedelta(days=5 * 365))
    with pytest.raises(JpkiCertificateExpired) as refused:
        await verify_card(verifier, card, SIGN)
    assert refused.value.code == "JPKI_CERT_EXPIRED"
    assert "有効期限" in refused.value.detail_ja


async def test_validity_is_judged_at_the_given_moment(
    verifier: LocalVerifier, mint: MintCard
) -> None:
    card = mint()
    later = card.signing_certificate.not_valid_after_utc + timedelta(seconds=1)
    with pytest.raises(JpkiCertificateExpired):
        await verify_card(verifier, card, SIGN, now=later)
    earlier = card.signing_certificate.not_valid_before_utc - timedelta(seconds=1)
    with pytest.raises(JpkiCertificateNotYetValid):
        await verify_card(verifier, card, SIGN, now=earlier)


async def test_revoked_certificate_is_refused_with_its_reason(
    jpki_home: TestCaHome, mint: MintCard, tmp_path: Path
) -> None:
    home = copy_home(jpki_home, tmp_path / "trust")
    card = mint(home=home)
    home.revoke(card.signing_certificate, x509.ReasonFlags.affiliation_changed)
    verifier = LocalVerifier(home.trust_dir)
    with pytest.raises(JpkiCertificateRevoked) as refused:
        await verify_card(verifier, card, SIGN)
    error = refused.value
    assert error.code == "JPKI_CERT_REVOKED"
    assert error.extra["revocation_reason"] == "affiliationChanged"
    assert "住所変更等" in error.detail_ja
    assert "basic four facts changed" in error.detail_en
    # The card's other certificate is not on the CRL: login still works.
    assert (await verify_card(verifier, card, AUTH)).kind is AUTH


async def test_key_compromise_reason_is_reported(
    jpki_home: TestCaHome, mint: MintCard, tmp_path: Path
) -> None:
    home = copy_home(jpki_home, tmp_path / "trust")
    card = mint(home=home, generation=2015)  # a DER CRL, rewritten in DER
    path = home.revoke(card.authentication_certificate, x509.ReasonFlags.key_compromise)
    assert not path.read_bytes().startswith(b"-----BEGIN")
    with pytest.raises(JpkiCertificateRevoked) as refused:
        await verify_card(LocalVerifier(home.trust_dir), card, AUTH)
    assert refused.value.extra["revocation_reason"] == "keyCompromise"
    assert "紛失" in refused.value.detail_ja


async def test_certificate_of_the_other_type_is_refused_both_ways(
    verifier: LocalVerifier, mint: MintCard
) -> None:
    card = mint()
    with pytest.raises(JpkiWrongCertificateType) as signing_for_login:
        await verify(verifier, card.certificate_der(SIGN), card.sign(SIGN, DOCUMENT), AUTH)
    assert signing_for_login.value.code == "JPKI_WRONG_CERTIFICATE_TYPE"
    assert "署名用電子証明書" in signing_for_login.value.detail_ja
    with pytest.raises(JpkiWrongCertificateType):
        await verify(verifier, card.certificate_der(AUTH), card.sign(AUTH, DOCUMENT), SIGN)


async def test_expired_crl_is_an_error_not_a_pass(
    jpki_home: TestCaHome, mint: MintCard, tmp_path: Path
) -> None:
    home = copy_home(jpki_home, tmp_path / "trust")
    authority = home.authority(SIGN)
    stale = issue_crl(
        authority,
        this_update=utcnow() - timedelta(days=3),
        next_update=utcnow() - timedelta(days=1),
        number=99,
    )
    (home.trust_dir / f"{authority.stem}.crl").write_bytes(
        stale.public_bytes(serialization.Encoding.PEM)
    )
    card = mint(home=home)
    with pytest.raises(JpkiCrlExpired) as refused:
        await verify_card(LocalVerifier(home.trust_dir), card, SIGN)
    assert refused.value.code == "JPKI_CRL_EXPIRED"
    assert refused.value.status == 503
    # The shipped CRLs are fresh now but not forever: judged at a later moment they expire.
    verifier = LocalVerifier(jpki_home.trust_dir)
    fresh_card = mint()
    far_future = datetime(2040, 1, 1, tzinfo=UTC)
    with pytest.raises((JpkiCrlExpired, JpkiCertificateExpired)):
        await verify_card(verifier, fresh_card, AUTH, now=far_future)


async def test_missing_crl_means_revocation_cannot_be_checked(
    jpki_home: TestCaHome, mint: MintCard, tmp_path: Path
) -> None:
    home = copy_home(jpki_home, tmp_path / "trust")
    (home.trust_dir / f"{home.authority(AUTH).stem}.crl").unlink()
    with pytest.raises(JpkiRevocationUnavailable):
        await verify_card(LocalVerifier(home.trust_dir), mint(home=home), AUTH)


async def test_key_usage_and_policy_are_checked(
    verifier: LocalVerifier, jpki_home: TestCaHome, key_pool: KeyPool
) -> None:
    key, _ = key_pool.pair()
    authority = jpki_home.authority(SIGN)
    digital_signature_only = x509.KeyUsage(
        True, False, False, False, False, False, False, False, False
    )
    no_repudiation = issue_card_certificate(
        authority, key.public_key(), holder=HANAKO, key_usage=digital_signature_only
    )
    with pytest.raises(JpkiKeyUsageInvalid) as refused:
        await verify(verifier, der(no_repudiation), sign(key, DOCUMENT), SIGN)
    assert "nonRepudiation" in refused.value.detail_en

    auth_policy = issue_card_certificate(
        authority, key.public_key(), holder=HANAKO, policies=[CERTIFICATE_POLICIES[AUTH]]
    )
    with pytest.raises(JpkiCertificatePolicyInvalid) as wrong_policy:
        await verify(verifier, der(auth_policy), sign(key, DOCUMENT), SIGN)
    assert "1.2.392.200149.8.5.1.1.20" in wrong_policy.value.detail_en


async def test_an_unknown_critical_extension_is_refused(
    verifier: LocalVerifier, jpki_home: TestCaHome, key_pool: KeyPool
) -> None:
    """RFC 5280 §4.2: a critical extension the relying party does not process means no."""
    key, _ = key_pool.pair()
    unknown = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.2.3.4.5"), b"\x05\x00")
    critical = issue_card_certificate(
        jpki_home.authority(SIGN), key.public_key(), holder=HANAKO, extensions=[(unknown, True)]
    )
    with pytest.raises(JpkiCertificateInvalid) as refused:
        await verify(verifier, der(critical), sign(key, DOCUMENT), SIGN)
    assert refused.value.extra["extension"] == "1.2.3.4.5"
    assert "critical" in refused.value.detail_en
    # The same extension, not critical, may be ignored.
    ignorable = issue_card_certificate(
        jpki_home.authority(SIGN), key.public_key(), holder=HANAKO, extensions=[(unknown, False)]
    )
    assert (await verify(verifier, der(ignorable), sign(key, DOCUMENT), SIGN)).facts is not None


async def test_a_certificate_with_unreadable_extensions_is_refused_not_a_500(
    verifier: LocalVerifier, mint: MintCard
) -> None:
    card = mint()
    original = card.certificate_der(AUTH)
    # Duplicate the certificatePolicies extension inside the (unchecked) TBS: parsing
    # the extensions fails before any signature is looked at.
    policy = b"\x06\x03\x55\x1d\x20"
    assert original.count(policy) == 1
    index = original.index(policy)
    renamed = original[:index] + b"\x06\x03\x55\x1d\x0f" + original[index + len(policy) :]
    with pytest.raises(JpkiCertificateInvalid):
        await verify(verifier, renamed, card.sign(AUTH, DOCUMENT), AUTH)


async def test_revocation_is_checked_only_after_possession_is_proved(
    jpki_home: TestCaHome, mint: MintCard, tmp_path: Path
) -> None:
    home = copy_home(jpki_home, tmp_path / "trust")
    card = mint(home=home)
    home.revoke(card.signing_certificate, x509.ReasonFlags.affiliation_changed)
    verifier = LocalVerifier(home.trust_dir)
    with pytest.raises(JpkiSignatureInvalid) as junk:
        await verify(verifier, card.certificate_der(SIGN), b"\x00" * 256, SIGN)
    assert "revocation_reason" not in junk.value.extra
    with pytest.raises(JpkiCertificateRevoked):
        await verify_card(verifier, card, SIGN)


async def test_garbage_is_not_a_certificate(verifier: LocalVerifier) -> None:
    with pytest.raises(JpkiCertificateInvalid):
        await verify(verifier, b"not a certificate", b"\x00" * 256, AUTH)


async def test_every_refusal_is_a_problem_with_japanese_and_english(
    verifier: LocalVerifier, mint: MintCard
) -> None:
    card = mint()
    with pytest.raises(JpkiError) as refused:
        await verify(verifier, card.certificate_der(AUTH), b"\x00" * 256, AUTH)
    error = refused.value
    assert error.status == 422
    assert error.title_ja and error.detail_ja and error.title_en and error.detail_en


# --- The trust directory -----------------------------------------------------------------


def _write_pem(path: Path, *objects: x509.Certificate | x509.CertificateRevocationList) -> None:
    path.write_bytes(b"".join(o.public_bytes(serialization.Encoding.PEM) for o in objects))


def test_a_pem_bundle_with_certificates_and_crls_in_one_file(tmp_path: Path) -> None:
    authorities = [issue_authority(kind, 2023) for kind in CertificateKind]
    _write_pem(
        tmp_path / "jlis-bundle.pem",
        *[a.certificate for a in authorities],
        *[issue_crl(a) for a in authorities],
    )
    store = TrustStore.load(tmp_path)
    assert {a.kind for a in store.authorities} == set(CertificateKind)
    assert all(a.revocation_list is not None for a in store.authorities)


def test_a_crl_signed_by_a_rogue_key_with_the_right_dn_is_rejected(tmp_path: Path) -> None:
    # A forged "empty" CRL must not un-revoke anything: the load fails instead.
    trusted = issue_authority(SIGN, 2023)
    rogue = TestAuthority(SIGN, 2023, trusted.certificate, new_key())
    _write_pem(tmp_path / "sign-ca.pem", trusted.certificate)
    _write_pem(tmp_path / "sign-ca.crl", issue_crl(rogue))
    with pytest.raises(TrustStoreError, match="not signed by any trusted"):
        TrustStore.load(tmp_path)


def test_a_ca_whose_type_cannot_be_read_from_its_dn_is_rejected(tmp_path: Path) -> None:
    odd = issue_authority(AUTH, 2023, name=x509.Name.from_rfc4514_string("OU=Other,O=JPKI,C=JP"))
    _write_pem(tmp_path / "odd.pem", odd.certificate)
    with pytest.raises(TrustStoreError, match="cannot tell"):
        TrustStore.load(tmp_path)


def test_a_private_key_in_the_trust_directory_is_rejected(tmp_path: Path) -> None:
    authority = issue_authority(AUTH, 2023)
    key_pem = authority.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (tmp_path / "ca.pem").write_bytes(
        authority.certificate.public_bytes(serialization.Encoding.PEM) + key_pem
    )
    with pytest.raises(TrustStoreError, match="unexpected PEM block"):
        TrustStore.load(tmp_path)


def test_the_newest_crl_of_a_ca_wins(tmp_path: Path) -> None:
    authority = issue_authority(AUTH, 2023)
    _write_pem(tmp_path / "auth-ca.pem", authority.certificate)
    now = utcnow()
    _write_pem(tmp_path / "old.crl", issue_crl(authority, this_update=now - timedelta(days=2)))
    newer = issue_crl(authority, this_update=now, next_update=now + timedelta(days=1), number=2)
    (tmp_path / "new.crl").write_bytes(newer.public_bytes(serialization.Encoding.DER))
    (only,) = TrustStore.load(tmp_path).authorities
    assert only.revocation_list is not None and only.revocation_list.number == 2


async def test_a_new_crl_on_disk_is_picked_up(
    jpki_home: TestCaHome, mint: MintCard, tmp_path: Path
) -> None:
    home = copy_home(jpki_home, tmp_path / "trust")
    verifier = LocalVerifier(home.trust_dir, reload_interval_seconds=0)
    card = mint(home=home)
    await verify_card(verifier, card, SIGN)
    home.revoke(card.signing_certificate, x509.ReasonFlags.cessation_of_operation)
    # Any use starts the reload in the background; once it is done, the new CRL decides.
    await verifier.health(now=utcnow())
    verifier.wait_for_reload()
    with pytest.raises(JpkiCertificateRevoked):
        await verify_card(verifier, card, SIGN)


# --- Production refuses the test CA ------------------------------------------------------


def _production(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "production",
        "secret_key": "x" * 40,
        "my_number_encryption_key": "cHJvZHVjdGlvbi1rZXktZm9yLXRlc3RzLW9ubHktMzI=",
        "attachment_encryption_key": "YXR0YWNobWVudC1rZXktZm9yLXRlc3RzLW9ubHktMzI=",
        "database_url": "postgresql+asyncpg://madoguchi@db/madoguchi",
        "payment_provider": "stripe",
        "stripe_api_key": "sk_test_x",
        "stripe_webhook_secret": "whsec_x",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def test_production_refuses_to_start_on_the_test_ca(jpki_home: TestCaHome, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="TEST ONLY"):
        _production()  # the default trust directory is the shipped test CA
    with pytest.raises(ValidationError, match="TEST ONLY"):
        _production(jpki_trust_dir=jpki_home.trust_dir)  # any `testca init` output
    real = tmp_path / "jlis"
    real.mkdir()
    assert _production(jpki_trust_dir=real).jpki_trust_dir == real
