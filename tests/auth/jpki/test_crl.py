"""CRLs at J-LIS's scale: read by our own DER walk into a compact index that must agree
with `cryptography` entry for entry, reloaded off the event loop, judged with a clock
skew allowance; only CAs allowed to sign certificates (keyCertSign) and CRLs (cRLSign)
are believed."""

from __future__ import annotations

import asyncio
import gc
import threading
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from app.auth.jpki.crl import read_crl
from app.auth.jpki.errors import (
    JpkiCertificateNotYetValid,
    JpkiCertificateRevoked,
    JpkiCrlExpired,
    TrustStoreError,
)
from app.auth.jpki.testca import (
    RevokedEntry,
    TestAuthority,
    TestCaHome,
    issue_authority,
    issue_crl,
    issue_large_crl,
    new_key,
)
from app.auth.jpki.verifier import LocalVerifier, SignedData, TrustStore
from app.db import utcnow
from tests.auth.jpki.conftest import MintCard
from tests.auth.jpki.helpers import AUTH, SIGN, copy_home

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
REASONS = [
    x509.ReasonFlags.unspecified,
    x509.ReasonFlags.key_compromise,
    x509.ReasonFlags.ca_compromise,
    x509.ReasonFlags.affiliation_changed,
    x509.ReasonFlags.superseded,
    x509.ReasonFlags.cessation_of_operation,
    x509.ReasonFlags.certificate_hold,
    x509.ReasonFlags.remove_from_crl,
    x509.ReasonFlags.privilege_withdrawn,
    x509.ReasonFlags.aa_compromise,
]
# Short, long, with a DER leading zero (128, 2**63), the widest RFC 5280 serial (20 bytes).
SERIALS = [1, 127, 128, 255, 256, 65535, 65536, 2**63, 2**64 + 3, 2**158 + 77, 2**159 - 1]
DATES = [
    datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC),  # UTCTime 99 -> 1999
    datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC),  # UTCTime 49 -> 2049
    datetime(2050, 1, 1, tzinfo=UTC),  # GeneralizedTime
    NOW,
]


@pytest.fixture(scope="module")
def authority() -> TestAuthority:
    return issue_authority(SIGN, 2023)


def _crl(authority: TestAuthority, entries: list[x509.RevokedCertificate]) -> bytes:
    builder = x509.CertificateRevocationListBuilder(
        issuer_name=authority.certificate.subject,
        last_update=NOW,
        next_update=NOW + timedelta(days=1),
        revoked_certificates=entries,
    ).add_extension(x509.CRLNumber(5), critical=False)
    crl = builder.sign(authority.private_key, hashes.SHA256())
    return crl.public_bytes(serialization.Encoding.DER)


def _entry(
    serial: int, when: datetime, *extensions: tuple[x509.ExtensionType, bool]
) -> x509.RevokedCertificate:
    builder = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when)
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.build()


def test_the_index_agrees_with_cryptography_entry_for_entry(authority: TestAuthority) -> None:
    entries = []
    for index, serial in enumerate(SERIALS):
        when = DATES[index % len(DATES)]
        reason = REASONS[index % len(REASONS)]
        extensions: list[tuple[x509.ExtensionType, bool]] = [(x509.CRLReason(reason), False)]
        if index % 3 == 0:
            extensions.append((x509.InvalidityDate(datetime(2020, 1, 1)), False))
        if index == 4:
            extensions = []  # no reasonCode: unspecified
        entries.append(_entry(serial, when, *extensions))
    der = _crl(authority, entries)
    document = read_crl(der, Path("mixed.crl"))
    assert document.signed_by(authority.private_key.public_key())
    assert not document.signed_by(new_key().public_key())
    index = document.revoked_serials()
    reference = x509.load_der_x509_crl(der)
    assert len(index) == len(reference) == len(SERIALS)
    for entry in reference:
        found = index.get(entry.serial_number)
        assert found is not None, entry.serial_number
        assert found.revoked_at == entry.revocation_date_utc
        try:
            expected = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
        except x509.ExtensionNotFound:
            expected = x509.ReasonFlags.unspecified
        assert found.reason is expected
    for absent in (0, 2, 126, 129, 2**64 + 2, 2**159 - 2, 2**160, -1):
        assert index.get(absent) is None and absent not in index


def test_the_fast_crl_writer_makes_exactly_what_cryptography_makes(
    authority: TestAuthority,
) -> None:
    entries = [RevokedEntry(serial, REASONS[i % 10], NOW) for i, serial in enumerate(SERIALS)]
    for revoked in ([], entries):
        built = issue_crl(authority, revoked, this_update=NOW, number=3)
        assert issue_large_crl(authority, revoked, this_update=NOW, number=3) == built.public_bytes(
            serialization.Encoding.DER
        )


def test_a_critical_extension_we_do_not_process_refuses_the_crl(
    authority: TestAuthority, tmp_path: Path
) -> None:
    """RFC 5280 §5.2 and §5.3: such a CRL must not be used to say a card is good."""
    (tmp_path / "ca.pem").write_bytes(
        authority.certificate.public_bytes(serialization.Encoding.PEM)
    )
    unknown = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.2.3.4"), b"\x05\x00")
    on_entry = _crl(authority, [_entry(7, NOW, (unknown, True))])
    certificate_issuer = x509.CertificateIssuer([x509.DNSName("example.jp")])
    indirect = _crl(authority, [_entry(7, NOW, (certificate_issuer, True))])
    for der in (on_entry, indirect):
        (tmp_path / "ca.crl").write_bytes(der)
        with pytest.raises(TrustStoreError, match="critical CRL entry extension"):
            TrustStore.load(tmp_path)
    partial = x509.IssuingDistributionPoint(None, None, False, True, None, False, False)
    delta = x509.DeltaCRLIndicator(4)
    for extension, message in (
        (unknown, "critical CRL extension 1.2.3.4"),
        (partial, "partial or indirect"),
        (delta, "delta CRL"),
    ):
        crl = (
            x509.CertificateRevocationListBuilder(
                issuer_name=authority.certificate.subject,
                last_update=NOW,
                next_update=NOW + timedelta(days=1),
            )
            .add_extension(extension, critical=True)
            .sign(authority.private_key, hashes.SHA256())
        )
        (tmp_path / "ca.crl").write_bytes(crl.public_bytes(serialization.Encoding.DER))
        with pytest.raises(TrustStoreError, match=message):
            TrustStore.load(tmp_path)


def test_ca_certificates_must_allow_signing_certificates_and_crls(tmp_path: Path) -> None:
    usage = {name: False for name in (
        "digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
        "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only",
    )}  # fmt: skip
    no_cert_sign = issue_authority(
        AUTH, 2023, key_usage=x509.KeyUsage(**{**usage, "crl_sign": True})
    )
    (tmp_path / "ca.pem").write_bytes(
        no_cert_sign.certificate.public_bytes(serialization.Encoding.PEM)
    )
    with pytest.raises(TrustStoreError, match="keyCertSign"):
        TrustStore.load(tmp_path)

    no_crl_sign = issue_authority(
        AUTH, 2023, key_usage=x509.KeyUsage(**{**usage, "key_cert_sign": True})
    )
    (tmp_path / "ca.pem").write_bytes(
        no_crl_sign.certificate.public_bytes(serialization.Encoding.PEM)
    )
    assert TrustStore.load(tmp_path).authorities[0].revocation_list is None  # no CRL: fine
    (tmp_path / "ca.crl").write_bytes(
        issue_crl(no_crl_sign).public_bytes(serialization.Encoding.DER)
    )
    with pytest.raises(TrustStoreError, match="cRLSign"):
        TrustStore.load(tmp_path)


def test_a_large_pem_crl_is_read_a_chunk_at_a_time(
    authority: TestAuthority, tmp_path: Path
) -> None:
    entries = [RevokedEntry(10**12 + i, REASONS[i % 10], NOW) for i in range(40_000)]
    der = issue_large_crl(authority, entries, this_update=NOW)
    pem = x509.load_der_x509_crl(der).public_bytes(serialization.Encoding.PEM)
    assert len(pem) > 2 * (1 << 20)
    (tmp_path / "ca.pem").write_bytes(
        authority.certificate.public_bytes(serialization.Encoding.PEM)
    )
    (tmp_path / "ca.crl").write_bytes(pem)
    (only,) = TrustStore.load(tmp_path).authorities
    assert only.revocation_list is not None
    revoked = only.revocation_list.revoked
    assert len(revoked) == 40_000
    assert revoked.get(10**12 + 39_999) is not None and revoked.get(10**12 + 40_000) is None


def test_the_index_costs_at_most_40_bytes_an_entry(authority: TestAuthority) -> None:
    """Measured by tracemalloc: what stays allocated once the index is built, for
    20-byte serials (the widest RFC 5280 allows, so the worst case)."""
    count = 60_000
    entries = [RevokedEntry(2**158 + i * 7_919_000_001, REASONS[i % 10], NOW) for i in range(count)]
    document = read_crl(issue_large_crl(authority, entries, this_update=NOW), Path("big.crl"))
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        index = document.revoked_serials()
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(index) == count
    assert index.get(entries[-1].serial_number) is not None
    assert retained / count <= 40, f"{retained / count:.1f} bytes per entry"


async def test_a_reload_runs_beside_requests_and_swaps_the_store_at_once(
    jpki_home: TestCaHome, mint: MintCard, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the new trust store is built (seconds for J-LIS's CRLs), verifications go
    on against the current one; then the new one replaces it."""
    home = copy_home(jpki_home, tmp_path / "trust")
    verifier = LocalVerifier(home.trust_dir, reload_interval_seconds=0)
    card = mint(home=home)
    home.revoke(card.signing_certificate, x509.ReasonFlags.affiliation_changed)

    release = threading.Event()
    real_load = TrustStore.load.__func__  # type: ignore[attr-defined]

    def slow_load(cls: type[TrustStore], directory: Path) -> TrustStore:
        release.wait(timeout=10)  # stands for seconds of parsing
        return real_load(cls, directory)  # type: ignore[no-any-return]

    monkeypatch.setattr(TrustStore, "load", classmethod(slow_load))
    document = b"{}"
    signed = SignedData(card.certificate_der(SIGN), document, card.sign(SIGN, document))
    timer = threading.Timer(5, release.set)  # on a blocking reload, unblocks the test
    timer.start()
    try:
        for _ in range(3):  # the first starts the reload; none waits for it
            verified = await verifier.verify(signed, kind=SIGN, now=utcnow())
            assert verified.serial_number == card.signing_certificate.serial_number
            await asyncio.sleep(0)
        assert not release.is_set(), "a verification waited for the reload"
    finally:
        release.set()
        timer.cancel()
    await asyncio.to_thread(verifier.wait_for_reload)
    with pytest.raises(JpkiCertificateRevoked):
        await verifier.verify(signed, kind=SIGN, now=utcnow())


async def test_clock_skew_is_allowed_around_not_before_and_next_update(
    jpki_home: TestCaHome, mint: MintCard, tmp_path: Path
) -> None:
    home = copy_home(jpki_home, tmp_path / "trust")
    authority = home.authority(AUTH)
    next_update = utcnow() + timedelta(hours=1)
    crl = issue_crl(authority, this_update=utcnow(), next_update=next_update, number=50)
    (home.trust_dir / f"{authority.stem}.crl").write_bytes(
        crl.public_bytes(serialization.Encoding.PEM)
    )
    tolerant = LocalVerifier(home.trust_dir, clock_skew=timedelta(minutes=5))
    strict = LocalVerifier(home.trust_dir)
    card = mint(home=home, not_before=utcnow() + timedelta(minutes=2))

    async def login(verifier: LocalVerifier, now: datetime) -> None:
        proof = SignedData(card.certificate_der(AUTH), b"nonce", card.sign(AUTH, b"nonce"))
        await verifier.verify(proof, kind=AUTH, now=now)

    # The card's certificate starts 2 minutes from now (J-LIS's clock runs ahead).
    await login(tolerant, utcnow())
    with pytest.raises(JpkiCertificateNotYetValid):
        await login(strict, utcnow())
    with pytest.raises(JpkiCertificateNotYetValid):
        await login(tolerant, utcnow() - timedelta(minutes=4))
    # The CRL was due 3 minutes ago: within the allowance, not beyond it.
    await login(tolerant, next_update + timedelta(minutes=3))
    with pytest.raises(JpkiCrlExpired):
        await login(strict, next_update + timedelta(minutes=3))
    with pytest.raises(JpkiCrlExpired):
        await login(tolerant, next_update + timedelta(minutes=6))
    health = await tolerant.health(now=next_update + timedelta(minutes=3))
    assert health.ready
    assert not (await tolerant.health(now=next_update + timedelta(minutes=6))).ready
