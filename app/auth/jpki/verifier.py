"""Verifying what a My Number card sends: a certificate and a signature over some bytes.

`Verifier` is the protocol the rest of the app uses; `LocalVerifier` implements it with
the `cryptography` package against trust anchors and CRLs read from a directory laid
out as J-LIS delivers them (CA certificates and CRLs, PEM or DER, in any mix). A J-LIS
or platform adapter can implement the same protocol later.

Nothing is skipped: the certificate must carry no critical extension we do not process,
chain (by the CA's signature, not just its name) to a trusted CA of the right type, be
within its validity period, carry the key usage and certificate policy of its type, the
signature (RSA PKCS#1 v1.5, SHA-256) must verify with its key, and only then is it
looked up in a fresh CRL.
"""

from __future__ import annotations

import hashlib
import logging
import mmap
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Protocol, TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtensionOID, NameOID, SignatureAlgorithmOID

from app.auth.jpki.crl import CrlDocument, RevokedSerials, pem_blocks, read_crl
from app.auth.jpki.errors import (
    JpkiCertificateExpired,
    JpkiCertificateInvalid,
    JpkiCertificateNotYetValid,
    JpkiCertificatePolicyInvalid,
    JpkiCertificateRevoked,
    JpkiCrlExpired,
    JpkiKeyUsageInvalid,
    JpkiRevocationUnavailable,
    JpkiSignatureInvalid,
    JpkiUntrustedIssuer,
    JpkiWrongCertificateType,
    TrustStoreError,
)
from app.auth.jpki.facts import BasicFourFacts, parse_basic_four_facts

logger = logging.getLogger(__name__)

RSA_KEY_BITS = 2048
_E = TypeVar("_E", bound=x509.ExtensionType)


class CertificateKind(StrEnum):
    """Which of the card's two certificates (and which CA type) is meant."""

    AUTHENTICATION = "authentication"  # 利用者証明用電子証明書
    SIGNING = "signing"  # 署名用電子証明書

    @property
    def label_ja(self) -> str:
        if self is CertificateKind.AUTHENTICATION:
            return "利用者証明用電子証明書"
        return "署名用電子証明書"

    @property
    def label_en(self) -> str:
        if self is CertificateKind.AUTHENTICATION:
            return "user authentication certificate"
        return "signing certificate"


# The CA's type is read from its DN: J-LIS names each CA type by an OU.
CA_UNITS: Mapping[str, CertificateKind] = {
    "JPKI for user authentication": CertificateKind.AUTHENTICATION,
    "JPKI for digital signature": CertificateKind.SIGNING,
}
CERTIFICATE_POLICIES: Mapping[CertificateKind, x509.ObjectIdentifier] = {
    CertificateKind.AUTHENTICATION: x509.ObjectIdentifier("1.2.392.200149.8.5.1.3.30"),
    CertificateKind.SIGNING: x509.ObjectIdentifier("1.2.392.200149.8.5.1.1.20"),
}

REVOCATION_REASON_LABELS: Mapping[x509.ReasonFlags, tuple[str, str]] = {
    x509.ReasonFlags.unspecified: ("理由の指定なし", "no reason given"),
    x509.ReasonFlags.key_compromise: (
        "鍵の危殆化（カードの紛失・盗難等）",
        "key compromise (e.g. the card was lost or stolen)",
    ),
    x509.ReasonFlags.ca_compromise: ("認証局の危殆化", "CA compromise"),
    x509.ReasonFlags.affiliation_changed: (
        "基本4情報の変更（転居・婚姻等による住所変更等）",
        "the basic four facts changed (a move, a marriage...)",
    ),
    x509.ReasonFlags.superseded: ("新しい電子証明書への更新", "superseded by a new certificate"),
    x509.ReasonFlags.cessation_of_operation: (
        "利用の停止（失効申請・死亡等）",
        "cessation of operation (revocation request, death...)",
    ),
    x509.ReasonFlags.certificate_hold: ("一時保留", "certificate on hold"),
    x509.ReasonFlags.privilege_withdrawn: ("権限の取消し", "privilege withdrawn"),
    x509.ReasonFlags.aa_compromise: ("属性認証局の危殆化", "attribute authority compromise"),
    x509.ReasonFlags.remove_from_crl: ("CRLからの削除", "removed from the CRL"),
}

# The extensions a card certificate may mark critical: the ones the checks below read.
PROCESSED_EXTENSIONS = frozenset(
    {
        ExtensionOID.KEY_USAGE,
        ExtensionOID.BASIC_CONSTRAINTS,
        ExtensionOID.CERTIFICATE_POLICIES,
        ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
        ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
        ExtensionOID.SUBJECT_KEY_IDENTIFIER,
    }
)

CERTIFICATE_SUFFIXES = frozenset({".pem", ".crt", ".cer", ".der"})
CRL_SUFFIXES = frozenset({".crl"})


@dataclass(frozen=True)
class RevocationList:
    """A CA's current CRL, reduced to what a check needs: serial -> revocation, in a
    compact index (app.auth.jpki.crl; 5,000,000 entries fit in ~130 MB)."""

    this_update: datetime
    next_update: datetime
    number: int | None
    revoked: RevokedSerials
    source: Path


@dataclass(frozen=True)
class RevocationStatus:
    """The freshness of one trusted CA's CRL, as a readiness probe reports it."""

    authority: str
    """The CA's DN (RFC 4514)."""
    certificate_type: str
    """authentication | signing"""
    generation: int
    next_update: datetime | None
    state: str
    """fresh | stale (past nextUpdate by more than the clock skew) | missing (no CRL)"""
    crl: str | None = None
    """The CRL's file name in the trust directory."""
    crl_number: int | None = None


@dataclass(frozen=True)
class VerifierHealth:
    """Whether the verifier can decide now: `ok`, `stale` (a CRL is out of date or
    missing), `loading` (the trust store is being read) or `unavailable`."""

    state: str
    revocation_lists: tuple[RevocationStatus, ...] = ()

    @property
    def ready(self) -> bool:
        return self.state == "ok"


@dataclass(frozen=True)
class TrustedAuthority:
    """A trusted JPKI CA (one type, one generation) and its CRL."""

    certificate: x509.Certificate
    kind: CertificateKind
    public_key: rsa.RSAPublicKey
    key_identifier: bytes
    """subjectKeyIdentifier: a card certificate's authorityKeyIdentifier points here."""
    source: Path
    may_sign_crls: bool = True
    """keyUsage cRLSign: only then may the CA's CRLs be believed."""
    revocation_list: RevocationList | None = None

    @property
    def fingerprint(self) -> str:
        return self.certificate.fingerprint(hashes.SHA256()).hex()

    @cached_property
    def key_sha256(self) -> str:
        """SHA-256 (hex) of the CA's SubjectPublicKeyInfo: which key issued a card, where
        the DN alone does not tell two generations apart."""
        return public_key_sha256(self.public_key)

    @property
    def generation(self) -> int:
        """The CA generation, named by the year it started (2015, 2023...)."""
        return self.certificate.not_valid_before_utc.year


@dataclass(frozen=True)
class TrustStore:
    """Trusted CAs indexed by subject DN. Several CAs share a DN (generations, and a
    rogue CA may copy it), so a DN match only nominates candidates: the CA's signature
    on the certificate decides."""

    authorities: tuple[TrustedAuthority, ...]
    _by_subject: Mapping[bytes, tuple[TrustedAuthority, ...]] = field(repr=False)

    @classmethod
    def of(cls, authorities: Iterable[TrustedAuthority]) -> TrustStore:
        ordered = tuple(authorities)
        by_subject: dict[bytes, list[TrustedAuthority]] = {}
        for authority in ordered:
            by_subject.setdefault(authority.certificate.subject.public_bytes(), []).append(
                authority
            )
        return cls(ordered, {key: tuple(value) for key, value in by_subject.items()})

    @classmethod
    def load(cls, directory: Path) -> TrustStore:
        """Read every CA certificate and CRL in `directory` (not its subfolders).

        Blocking, and seconds long with J-LIS's CRLs: run it in a worker thread.
        Raises TrustStoreError when the directory cannot be trusted as a whole: a file
        that does not parse, a CA whose type cannot be told from its DN or whose key may
        not sign certificates, a CRL no trusted CA (with cRLSign) signed, a private key
        where only public material belongs."""
        if not directory.is_dir():
            raise TrustStoreError(f"JPKI trust directory {directory} does not exist")
        certificates: dict[bytes, tuple[x509.Certificate, Path]] = {}
        crls: list[CrlDocument] = []
        for path in sorted(directory.iterdir()):
            suffix = path.suffix.lower()
            if not path.is_file() or suffix not in CERTIFICATE_SUFFIXES | CRL_SUFFIXES:
                continue
            found_certificates, found_crls = _read_trust_file(path)
            for certificate in found_certificates:
                certificates.setdefault(
                    certificate.fingerprint(hashes.SHA256()), (certificate, path)
                )
            crls.extend(found_crls)
        if not certificates:
            raise TrustStoreError(f"no CA certificate in JPKI trust directory {directory}")
        store = cls.of(_authority(cert, path) for cert, path in certificates.values())
        return store.with_revocation_lists(crls)

    def with_revocation_lists(self, crls: Iterable[CrlDocument]) -> TrustStore:
        """Attach each CRL to the CA whose key signed it, keeping the newest per CA.
        Only the chosen CRLs' entries are read."""
        newest: dict[str, CrlDocument] = {}
        for crl in crls:
            authority = self._signer_of(crl)
            current = newest.get(authority.fingerprint)
            if current is None or crl.order > current.order:
                newest[authority.fingerprint] = crl
        authorities = []
        for authority in self.authorities:
            chosen = newest.get(authority.fingerprint)
            if chosen is not None:
                authority = replace(authority, revocation_list=_revocation_list(chosen))
            authorities.append(authority)
        return TrustStore.of(authorities)

    def health(self, now: datetime, *, clock_skew: timedelta = timedelta(0)) -> VerifierHealth:
        """Every CA valid now needs a CRL whose nextUpdate has not passed (by more than
        the clock skew allowed: exactly when verifications start failing)."""
        statuses = []
        for authority in self.authorities:
            ca = authority.certificate
            if not ca.not_valid_before_utc <= now <= ca.not_valid_after_utc:
                continue  # a retired generation: nothing it issued can verify anyway
            crl = authority.revocation_list
            fresh = crl is not None and now - clock_skew <= crl.next_update
            state = "missing" if crl is None else "fresh" if fresh else "stale"
            statuses.append(
                RevocationStatus(
                    authority=ca.subject.rfc4514_string(),
                    certificate_type=authority.kind.value,
                    generation=authority.generation,
                    next_update=crl.next_update if crl else None,
                    state=state,
                    crl=crl.source.name if crl else None,
                    crl_number=crl.number if crl else None,
                )
            )
        fresh = all(status.state == "fresh" for status in statuses)
        return VerifierHealth("ok" if fresh else "stale", tuple(statuses))

    def issuers_of(self, certificate: x509.Certificate) -> tuple[TrustedAuthority, ...]:
        """The trusted CAs with the DN the certificate names as its issuer."""
        return self._by_subject.get(certificate.issuer.public_bytes(), ())

    def _signer_of(self, crl: CrlDocument) -> TrustedAuthority:
        for authority in self._by_subject.get(crl.metadata.issuer.public_bytes(), ()):
            if crl.signed_by(authority.public_key):
                if not authority.may_sign_crls:
                    raise TrustStoreError(
                        f"{crl.source.name}: signed by a CA whose keyUsage lacks cRLSign"
                    )
                return authority
        raise TrustStoreError(f"{crl.source.name}: CRL not signed by any trusted JPKI CA")


@dataclass(frozen=True)
class SignedData:
    """What a card proves: `signature`, SHA256withRSA (PKCS#1 v1.5) over `data`, made
    with the key of `certificate` (DER)."""

    certificate: bytes
    data: bytes
    signature: bytes


@dataclass(frozen=True)
class VerifiedCertificate:
    """A card certificate that passed every check, with the signature it proved."""

    kind: CertificateKind
    certificate: x509.Certificate
    certificate_der: bytes
    authority: TrustedAuthority
    facts: BasicFourFacts | None
    """基本4情報, for a signing certificate only."""

    @property
    def issuer(self) -> str:
        return self.certificate.issuer.rfc4514_string()

    @property
    def serial_number(self) -> int:
        return self.certificate.serial_number

    @property
    def serial_hex(self) -> str:
        return format(self.certificate.serial_number, "x")

    @property
    def not_after(self) -> datetime:
        return self.certificate.not_valid_after_utc

    @property
    def issuer_key_sha256(self) -> str:
        """The issuing CA's key (SHA-256 of its SubjectPublicKeyInfo, hex)."""
        return self.authority.key_sha256

    @property
    def subject_id(self) -> str:
        """A stable pseudonymous id of the certificate: issuer DN, issuing key and serial."""
        return certificate_subject_id(self.certificate, self.authority.public_key)


def public_key_sha256(public_key: rsa.RSAPublicKey) -> str:
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).hexdigest()


def certificate_subject_id(certificate: x509.Certificate, issuer_key: rsa.RSAPublicKey) -> str:
    """SHA-256 of the issuer DN, the issuing CA's key and the serial.

    A serial is unique only per issuing key: J-LIS's CA generations share a DN, so two
    cards of two generations may carry one serial and must stay two people. (Identities
    recorded before the key was part of it keep their older subject; see
    `service.record_identity`.)"""
    serial = certificate.serial_number.to_bytes(21, "big")
    digest = hashlib.sha256(
        b"jpki-v2\x00"
        + certificate.issuer.public_bytes()
        + b"\x00"
        + bytes.fromhex(public_key_sha256(issuer_key))
        + serial
    )
    return digest.hexdigest()


class Verifier(Protocol):
    """Checks a card certificate of the expected kind and a signature it made."""

    async def verify(
        self, signed: SignedData, *, kind: CertificateKind, now: datetime
    ) -> VerifiedCertificate:
        """Checks `signed` as of `now` (the request's clock). Raises a JpkiError
        subclass naming the first check that failed."""
        ...

    async def health(self, *, now: datetime) -> VerifierHealth:
        """Whether verifications can succeed now (for `/readyz`)."""
        ...


class LocalVerifier:
    """The verifier against a trust directory on disk.

    The directory is re-read when its files change (J-LIS publishes CRLs daily), at
    most every `reload_interval_seconds`, in a background thread: requests go on being
    checked against the current store while the new one is built (seconds for J-LIS's
    signing CRL), which then replaces it in one assignment. A change that fails to load
    is logged and leaves the previous store in use (its CRL will expire and say so)
    rather than failing every login on a half-copied file; it is not retried until the
    files change again.

    `clock_skew` is allowed either way around a certificate's notBefore and a CRL's
    nextUpdate: our clock and J-LIS's are not the same clock."""

    def __init__(
        self,
        trust_dir: Path | None = None,
        *,
        store: TrustStore | None = None,
        reload_interval_seconds: float = 60.0,
        clock_skew: timedelta = timedelta(0),
    ) -> None:
        if store is None:
            if trust_dir is None:
                raise ValueError("a trust directory or a trust store is needed")
            stamp = _directory_stamp(trust_dir)
            store = TrustStore.load(trust_dir)
        else:
            stamp = _directory_stamp(trust_dir) if trust_dir else ()
        self.trust_dir = trust_dir
        self.store = store
        self.reload_interval_seconds = reload_interval_seconds
        self.clock_skew = clock_skew
        self._stamp = stamp
        self._checked_at = time.monotonic()
        self._reloading: threading.Thread | None = None

    async def verify(
        self, signed: SignedData, *, kind: CertificateKind, now: datetime
    ) -> VerifiedCertificate:
        self._reload_if_due()
        return check(self.store, signed, kind=kind, now=now, clock_skew=self.clock_skew)

    async def health(self, *, now: datetime) -> VerifierHealth:
        self._reload_if_due()
        return self.store.health(now, clock_skew=self.clock_skew)

    def wait_for_reload(self, timeout: float | None = None) -> None:
        """Block until a reload in progress (if any) has finished: for tests and tools."""
        reloading = self._reloading
        if reloading is not None:
            reloading.join(timeout)

    def _reload_if_due(self) -> None:
        """Start a reload in a thread when one is due; never waits for it."""
        if self.trust_dir is None:
            return
        if time.monotonic() - self._checked_at < self.reload_interval_seconds:
            return
        if self._reloading is not None and self._reloading.is_alive():
            return
        self._checked_at = time.monotonic()
        self._reloading = threading.Thread(
            target=self._reload, args=(self.trust_dir,), name="jpki-trust-reload", daemon=True
        )
        self._reloading.start()

    def _reload(self, trust_dir: Path) -> None:
        stamp = _directory_stamp(trust_dir)
        if stamp == self._stamp:
            return
        started = time.monotonic()
        try:
            store = TrustStore.load(trust_dir)
        except (TrustStoreError, OSError) as exc:
            logger.error("JPKI trust directory changed but cannot be loaded: %s", exc)
        else:
            self.store = store  # one assignment: a request sees the old or the new store
            logger.info(
                "JPKI trust directory reloaded (%d CAs, %d revoked serials) in %.1f s",
                len(store.authorities),
                sum(len(a.revocation_list.revoked) for a in store.authorities if a.revocation_list),
                time.monotonic() - started,
            )
        self._stamp = stamp


def check(
    store: TrustStore,
    signed: SignedData,
    *,
    kind: CertificateKind,
    now: datetime,
    clock_skew: timedelta = timedelta(0),
) -> VerifiedCertificate:
    """Every check a relying party makes; the first failure is raised.

    Possession (the signature over `data`) is proved before the CRL is consulted: a
    caller holding only someone's certificate must not learn whether, why or since when
    it was revoked (転居, 婚姻... are personal facts)."""
    leaf = _parse_leaf(signed.certificate, kind)
    _check_critical_extensions(leaf, kind)
    authority = _issuing_authority(store, leaf, kind, now)
    _check_validity(leaf, kind, now, clock_skew)
    _check_key_usage(leaf, kind)
    _check_policy(leaf, kind)
    _check_signature(leaf, signed.data, signed.signature)
    _check_revocation(authority, leaf, kind, now, clock_skew)
    facts = parse_basic_four_facts(leaf) if kind is CertificateKind.SIGNING else None
    return VerifiedCertificate(
        kind=kind,
        certificate=leaf,
        certificate_der=signed.certificate,
        authority=authority,
        facts=facts,
    )


def _parse_leaf(der: bytes, kind: CertificateKind) -> x509.Certificate:
    try:
        leaf = x509.load_der_x509_certificate(der)
    except ValueError:
        raise JpkiCertificateInvalid(
            f"The {kind.label_en} is not a DER-encoded X.509 certificate.",
            f"{kind.label_ja}がDER形式のX.509証明書ではありません。",
        ) from None
    public_key = leaf.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey) or public_key.key_size != RSA_KEY_BITS:
        raise JpkiCertificateInvalid(
            "JPKI certificates carry an RSA-2048 key.",
            "公的個人認証サービスの電子証明書の鍵はRSA 2048ビットです。",
        )
    if leaf.signature_algorithm_oid != SignatureAlgorithmOID.RSA_WITH_SHA256:
        raise JpkiCertificateInvalid(
            "JPKI certificates are signed with sha256WithRSAEncryption.",
            "公的個人認証サービスの電子証明書の署名方式は sha256WithRSAEncryption です。",
        )
    try:
        _ = leaf.extensions  # parsed lazily by `cryptography`: a malformed one raises here
    except (ValueError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType):
        raise JpkiCertificateInvalid(
            f"The {kind.label_en}'s extensions cannot be read.",
            f"{kind.label_ja}の拡張領域を読み取れません。",
        ) from None
    return leaf


def _check_critical_extensions(leaf: x509.Certificate, kind: CertificateKind) -> None:
    """RFC 5280 §4.2: a certificate with a critical extension the relying party does
    not process must be rejected."""
    for extension in leaf.extensions:
        if extension.critical and extension.oid not in PROCESSED_EXTENSIONS:
            raise JpkiCertificateInvalid(
                f"The {kind.label_en} carries a critical extension this service does not "
                f"process ({extension.oid.dotted_string}).",
                f"{kind.label_ja}に処理できない重要（critical）拡張"
                f"（{extension.oid.dotted_string}）が含まれています。",
                extra={"extension": extension.oid.dotted_string},
            )


def _issuing_authority(
    store: TrustStore, leaf: x509.Certificate, kind: CertificateKind, now: datetime
) -> TrustedAuthority:
    # Several CAs share the DN; the one the authorityKeyIdentifier names is tried first
    # (one RSA verify instead of one per generation), but only a signature decides.
    pointer = _extension(leaf, x509.AuthorityKeyIdentifier)
    named = pointer.key_identifier if pointer else None
    candidates = sorted(store.issuers_of(leaf), key=lambda c: c.key_identifier != named)
    issuer = next((c for c in candidates if _signed_by(leaf, c)), None)
    if issuer is None:
        raise JpkiUntrustedIssuer(
            "No trusted JPKI certificate authority signed this certificate.",
            "この電子証明書は信頼された認証局の署名を持っていません。",
        )
    if issuer.kind is not kind:
        raise JpkiWrongCertificateType(
            f"A {issuer.kind.label_en} was sent where the {kind.label_en} is needed.",
            f"{kind.label_ja}が必要ですが、{issuer.kind.label_ja}が送られました。",
            extra={"expected_certificate_type": kind.value, "certificate_type": issuer.kind.value},
        )
    ca = issuer.certificate
    if not ca.not_valid_before_utc <= now <= ca.not_valid_after_utc:
        raise JpkiUntrustedIssuer(
            "The issuing certificate authority's own certificate is not valid now.",
            "発行元の認証局の証明書が有効期間外です。",
        )
    return issuer


def _signed_by(leaf: x509.Certificate, authority: TrustedAuthority) -> bool:
    """The CA's key made the certificate's signature (sha256WithRSAEncryption, checked
    in _parse_leaf); the issuer DN already matched through the store's index."""
    try:
        authority.public_key.verify(
            leaf.signature, leaf.tbs_certificate_bytes, padding.PKCS1v15(), hashes.SHA256()
        )
    except InvalidSignature:
        return False
    return True


def _check_validity(
    leaf: x509.Certificate, kind: CertificateKind, now: datetime, clock_skew: timedelta
) -> None:
    not_after = leaf.not_valid_after_utc
    if now > not_after:
        raise JpkiCertificateExpired(
            f"The {kind.label_en} expired on {not_after.date().isoformat()}.",
            f"{kind.label_ja}の有効期限（{not_after.date().isoformat()}）が過ぎています。",
            extra={"not_after": not_after.isoformat()},
        )
    not_before = leaf.not_valid_before_utc
    if now + clock_skew < not_before:
        raise JpkiCertificateNotYetValid(
            f"The {kind.label_en} is valid from {not_before.isoformat()}.",
            f"{kind.label_ja}の有効期間は{not_before.isoformat()}からです。",
        )


def _check_key_usage(leaf: x509.Certificate, kind: CertificateKind) -> None:
    constraints = _extension(leaf, x509.BasicConstraints)
    if constraints is not None and constraints.ca:
        raise JpkiKeyUsageInvalid(
            "A CA certificate cannot stand for a card.",
            "認証局の証明書はカードの電子証明書として使えません。",
        )
    usage = _extension(leaf, x509.KeyUsage)
    needed = ["digital_signature"]
    if kind is CertificateKind.SIGNING:
        needed.append("content_commitment")  # nonRepudiation
    if usage is None or not all(getattr(usage, name) for name in needed):
        wanted = "digitalSignature" + (
            " and nonRepudiation" if kind is CertificateKind.SIGNING else ""
        )
        raise JpkiKeyUsageInvalid(
            f"The {kind.label_en} must allow {wanted}.",
            f"{kind.label_ja}の鍵用途に {wanted} がありません。",
        )


def _extension(certificate: x509.Certificate, kind: type[_E]) -> _E | None:
    try:
        return certificate.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _check_policy(leaf: x509.Certificate, kind: CertificateKind) -> None:
    wanted = CERTIFICATE_POLICIES[kind]
    policies = _extension(leaf, x509.CertificatePolicies) or x509.CertificatePolicies([])
    if not any(policy.policy_identifier == wanted for policy in policies):
        raise JpkiCertificatePolicyInvalid(
            f"The {kind.label_en} must carry certificate policy {wanted.dotted_string}.",
            f"{kind.label_ja}に証明書ポリシー {wanted.dotted_string} がありません。",
        )


def _check_revocation(
    authority: TrustedAuthority,
    leaf: x509.Certificate,
    kind: CertificateKind,
    now: datetime,
    clock_skew: timedelta,
) -> None:
    crl = authority.revocation_list
    if crl is None:
        raise JpkiRevocationUnavailable(
            f"No CRL of the issuing CA ({authority.generation}) is loaded; "
            "revocation cannot be checked.",
            f"発行元の認証局（{authority.generation}年）のCRLがないため失効を確認できません。",
        )
    if now - clock_skew > crl.next_update:
        raise JpkiCrlExpired(
            f"The CRL of the issuing CA was due for renewal at {crl.next_update.isoformat()}; "
            "revocation cannot be checked until a current CRL is installed.",
            f"発行元の認証局のCRLの次回更新予定（{crl.next_update.isoformat()}）を過ぎています。"
            "最新のCRLが配置されるまで失効を確認できません。",
            extra={"crl_next_update": crl.next_update.isoformat()},
        )
    revocation = crl.revoked.get(leaf.serial_number)
    if revocation is not None:
        reason_ja, reason_en = REVOCATION_REASON_LABELS[revocation.reason]
        day = revocation.revoked_at.date().isoformat()
        raise JpkiCertificateRevoked(
            f"The {kind.label_en} was revoked on {day}: {reason_en}.",
            f"{kind.label_ja}は{day}に失効しています（理由: {reason_ja}）。",
            extra={
                "revocation_reason": revocation.reason.value,
                "revocation_reason_ja": reason_ja,
                "revoked_at": revocation.revoked_at.isoformat(),
            },
        )


def _check_signature(leaf: x509.Certificate, data: bytes, signature: bytes) -> None:
    public_key = leaf.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)  # checked by _parse_leaf
    try:
        public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise JpkiSignatureInvalid(
            "The signature was not made by this certificate's key over the expected data.",
            "電子署名がこの電子証明書の鍵で対象データに対して作成されたものではありません。",
        ) from None


def _read_trust_file(path: Path) -> tuple[list[x509.Certificate], list[CrlDocument]]:
    with path.open("rb") as file:
        if path.suffix.lower() in CRL_SUFFIXES and file.read(1) == b"\x30":
            # DER: mapped, not read; a J-LIS CRL is hundreds of megabytes.
            mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
            return [], [read_crl(mapped, path)]
        file.seek(0)
        data = file.read()
    certificates: list[x509.Certificate] = []
    crls: list[CrlDocument] = []
    try:
        if b"-----BEGIN" in data:
            for label, der in pem_blocks(data):
                if label == "CERTIFICATE":
                    certificates.append(x509.load_der_x509_certificate(der))
                elif label == "X509 CRL":
                    crls.append(read_crl(der, path))
                else:
                    raise TrustStoreError(f"{path.name}: unexpected PEM block {label!r}")
        elif path.suffix.lower() in CRL_SUFFIXES:
            crls.append(read_crl(data, path))
        else:
            certificates.append(x509.load_der_x509_certificate(data))
    except ValueError as exc:
        raise TrustStoreError(f"{path.name}: not a certificate or CRL ({exc})") from exc
    if not certificates and not crls:
        raise TrustStoreError(f"{path.name}: no certificate or CRL in it")
    return certificates, crls


def _authority(certificate: x509.Certificate, path: Path) -> TrustedAuthority:
    units = {
        str(attribute.value)
        for attribute in certificate.subject.get_attributes_for_oid(
            NameOID.ORGANIZATIONAL_UNIT_NAME
        )
    }
    kinds = {CA_UNITS[unit] for unit in units if unit in CA_UNITS}
    name = certificate.subject.rfc4514_string()
    if len(kinds) != 1:
        raise TrustStoreError(
            f"{path.name}: cannot tell from the DN {name!r} whether the CA is for "
            "user authentication or digital signature"
        )
    constraints = _extension(certificate, x509.BasicConstraints)
    if constraints is None or not constraints.ca:
        raise TrustStoreError(f"{path.name}: {name!r} is not a CA certificate")
    # RFC 5280 §4.2.1.3: a key that signs certificates asserts keyCertSign.
    usage = _extension(certificate, x509.KeyUsage)
    if usage is None or not usage.key_cert_sign:
        raise TrustStoreError(f"{path.name}: {name!r} has no keyUsage keyCertSign")
    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise TrustStoreError(f"{path.name}: JPKI CAs have RSA keys")
    identifier = _extension(certificate, x509.SubjectKeyIdentifier)
    return TrustedAuthority(
        certificate=certificate,
        kind=kinds.pop(),
        public_key=public_key,
        key_identifier=(
            identifier.digest
            if identifier
            else x509.SubjectKeyIdentifier.from_public_key(public_key).digest
        ),
        source=path,
        may_sign_crls=usage.crl_sign,
    )


def _revocation_list(crl: CrlDocument) -> RevocationList:
    next_update = crl.next_update
    if next_update is None:
        raise TrustStoreError(f"{crl.source.name}: CRL without nextUpdate cannot be judged fresh")
    return RevocationList(
        this_update=crl.this_update,
        next_update=next_update,
        number=crl.number,
        revoked=crl.revoked_serials(),
        source=crl.source,
    )


def _directory_stamp(directory: Path) -> tuple[tuple[str, int, int], ...]:
    try:
        entries = sorted(directory.iterdir())
    except OSError:
        return ()
    stamp = []
    for path in entries:
        if path.suffix.lower() in CERTIFICATE_SUFFIXES | CRL_SUFFIXES and path.is_file():
            status = path.stat()
            stamp.append((path.name, status.st_mtime_ns, status.st_size))
    return tuple(stamp)
