"""TEST ONLY: a local stand-in for J-LIS's certificate authorities, and test My Number cards.

It issues what J-LIS issues, shaped the same way (RSA-2048, sha256WithRSAEncryption,
the two CA types named by their OU, the 基本4情報 as subjectAltName otherNames, CRLs
with reason codes), so the verifier is exercised exactly as against a real card. Every
CA it makes carries `OU=TEST ONLY - not J-LIS` in its DN and leaves a `TEST_ONLY`
marker in its trust directory; production refuses to start on such a directory.

A "home" is a trust directory (CA certificates and CRLs, what `JPKI_TRUST_DIR` names)
with the CA private keys in its `private/` subfolder, which the verifier never reads.
The project ships one at `app/auth/jpki/test_trust/`; the command line is
`python -m app.auth.jpki.testca` (init, mint-card, sign, revoke).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from app.auth.jpki.facts import (
    OID_ADDRESS,
    OID_ADDRESS_ALTERNATIVE_POSITIONS,
    OID_BIRTH_DATE,
    OID_NAME,
    OID_NAME_ALTERNATIVE_POSITIONS,
    OID_SEX,
    Era,
    Sex,
    encode_utf8_string,
)
from app.auth.jpki.verifier import CERTIFICATE_POLICIES, CertificateKind
from app.db import utcnow

SHIPPED_TRUST_DIR = Path(__file__).resolve().parent.parent / "test_trust"
TEST_ONLY_MARKER = "TEST_ONLY"
TEST_ONLY_UNIT = "TEST ONLY - not J-LIS"
PRIVATE_DIR = "private"
DEFAULT_GENERATIONS = (2015, 2023)
DEFAULT_CA_YEARS = 20
DEFAULT_CARD_DAYS = 5 * 365  # a card's certificates run to about its 5th birthday
DEFAULT_CRL_DAYS = 3650  # the shipped CRLs must stay fresh on a fresh clone for years

_UNIT = {
    CertificateKind.AUTHENTICATION: "JPKI for user authentication",
    CertificateKind.SIGNING: "JPKI for digital signature",
}
_FILE_PREFIX = {CertificateKind.AUTHENTICATION: "auth", CertificateKind.SIGNING: "sign"}
_CARD_FILES = {CertificateKind.AUTHENTICATION: "auth", CertificateKind.SIGNING: "sign"}


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def sign(private_key: rsa.RSAPrivateKey, data: bytes) -> bytes:
    """SHA256withRSA, PKCS#1 v1.5: what the card's chip computes."""
    return private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def ca_name(kind: CertificateKind) -> x509.Name:
    """J-LIS's CA DN for the type, plus the TEST ONLY unit."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "JPKI"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, _UNIT[kind]),
            x509.NameAttribute(
                NameOID.ORGANIZATIONAL_UNIT_NAME,
                "Japan Agency for Local Authority Information Systems",
            ),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, TEST_ONLY_UNIT),
        ]
    )


@dataclass(frozen=True)
class TestAuthority:
    """A test CA: one type, one generation, with its private key."""

    __test__ = False  # not a pytest test class

    kind: CertificateKind
    generation: int
    certificate: x509.Certificate
    private_key: rsa.RSAPrivateKey

    @property
    def stem(self) -> str:
        return f"{_FILE_PREFIX[self.kind]}-ca-{self.generation}"


def issue_authority(
    kind: CertificateKind,
    generation: int,
    *,
    key: rsa.RSAPrivateKey | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    name: x509.Name | None = None,
    key_usage: x509.KeyUsage | None = None,
) -> TestAuthority:
    """A self-signed CA of the type. A rogue CA is one made again with the same DN;
    `key_usage` replaces keyCertSign + cRLSign (to make a CA that may not sign)."""
    key = key or new_key()
    subject = name or ca_name(kind)
    start = not_before or datetime(generation, 1, 1, tzinfo=UTC)
    end = not_after or start.replace(year=start.year + DEFAULT_CA_YEARS)
    public_key = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(key_usage or _key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .sign(key, hashes.SHA256())
    )
    return TestAuthority(kind, generation, certificate, key)


@dataclass(frozen=True)
class CardHolder:
    """The 基本4情報 a test signing certificate will carry."""

    name: str  # 氏名: surname, full-width space, given name
    birth_date: date | None  # 生年月日
    sex: Sex  # 性別
    address: str  # 住所
    birth_era: Era | None = None
    """The era written in the certificate; by default the era the birth date falls in."""
    name_alternative_positions: tuple[int, ...] = ()
    address_alternative_positions: tuple[int, ...] = ()

    @property
    def birth_date_code(self) -> str:
        """EYYYYMMDD as J-LIS writes it."""
        if self.birth_date is None:
            return "000000000"
        era = self.birth_era or Era.of(self.birth_date)
        return f"{era.value}{self.birth_date:%Y%m%d}"

    def other_names(self) -> list[x509.GeneralName]:
        values = [
            (OID_NAME, self.name),
            (OID_NAME_ALTERNATIVE_POSITIONS, _flags(self.name, self.name_alternative_positions)),
            (OID_SEX, self.sex.value),
            (OID_BIRTH_DATE, self.birth_date_code),
            (OID_ADDRESS, self.address),
            (
                OID_ADDRESS_ALTERNATIVE_POSITIONS,
                _flags(self.address, self.address_alternative_positions),
            ),
        ]
        return [x509.OtherName(oid, encode_utf8_string(value)) for oid, value in values]

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "birth_date": self.birth_date.isoformat() if self.birth_date else None,
            "birth_era": (self.birth_era.value if self.birth_era else None),
            "sex": self.sex.value,
            "address": self.address,
            "name_alternative_positions": list(self.name_alternative_positions),
            "address_alternative_positions": list(self.address_alternative_positions),
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> CardHolder:
        birth = data.get("birth_date")
        era = data.get("birth_era")
        return cls(
            name=str(data["name"]),
            birth_date=date.fromisoformat(str(birth)) if birth else None,
            sex=Sex(str(data["sex"])),
            address=str(data["address"]),
            birth_era=Era(str(era)) if era else None,
            name_alternative_positions=tuple(_ints(data.get("name_alternative_positions"))),
            address_alternative_positions=tuple(_ints(data.get("address_alternative_positions"))),
        )


def issue_card_certificate(
    authority: TestAuthority,
    public_key: rsa.RSAPublicKey,
    *,
    kind: CertificateKind | None = None,
    holder: CardHolder | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    key_usage: x509.KeyUsage | None = None,
    policies: Sequence[x509.ObjectIdentifier] | None = None,
    extensions: Sequence[tuple[x509.ExtensionType, bool]] = (),
    serial_number: int | None = None,
) -> x509.Certificate:
    """One of a card's certificates, issued by `authority`. `kind` defaults to the CA's
    type; the keyword arguments let a test make a deliberately wrong certificate
    (`extensions`: more (extension, critical) pairs) or a given serial (random by
    default; two CA generations may both issue the same one)."""
    kind = kind or authority.kind
    start = not_before or utcnow() - timedelta(minutes=5)
    end = not_after or start + timedelta(days=DEFAULT_CARD_DAYS)
    if key_usage is None:
        key_usage = _key_usage(
            digital_signature=True, content_commitment=kind is CertificateKind.SIGNING
        )
    if policies is None:
        policies = [CERTIFICATE_POLICIES[kind]]
    # The subject holds no personal data (as on a real card): the 4 facts live in the SAN.
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.COMMON_NAME, secrets.token_hex(12).upper()),
        ]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(authority.certificate.subject)
        .public_key(public_key)
        .serial_number(serial_number or x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(key_usage, critical=True)
        .add_extension(
            x509.CertificatePolicies([x509.PolicyInformation(oid, None) for oid in policies]),
            critical=True,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(authority.private_key.public_key()),
            critical=False,
        )
    )
    if holder is not None:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(holder.other_names()), critical=False
        )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(authority.private_key, hashes.SHA256())


@dataclass
class TestCard:
    """A test My Number card: both key pairs and certificates, and who it belongs to."""

    __test__ = False

    holder: CardHolder
    authentication_key: rsa.RSAPrivateKey
    authentication_certificate: x509.Certificate
    signing_key: rsa.RSAPrivateKey
    signing_certificate: x509.Certificate

    def key(self, kind: CertificateKind) -> rsa.RSAPrivateKey:
        if kind is CertificateKind.AUTHENTICATION:
            return self.authentication_key
        return self.signing_key

    def certificate(self, kind: CertificateKind) -> x509.Certificate:
        if kind is CertificateKind.AUTHENTICATION:
            return self.authentication_certificate
        return self.signing_certificate

    def certificate_der(self, kind: CertificateKind) -> bytes:
        return self.certificate(kind).public_bytes(serialization.Encoding.DER)

    def sign(self, kind: CertificateKind, data: bytes) -> bytes:
        return sign(self.key(kind), data)

    def save(self, directory: Path) -> None:
        """auth.key.pem, auth.cer (DER), sign.key.pem, sign.cer and card.json."""
        directory.mkdir(parents=True, exist_ok=True)
        for kind, stem in _CARD_FILES.items():
            _write_key(directory / f"{stem}.key.pem", self.key(kind))
            (directory / f"{stem}.cer").write_bytes(self.certificate_der(kind))
        summary = {
            "test_only": "TEST ONLY - issued by the madoguchi test CA, not by J-LIS",
            "holder": self.holder.as_json(),
            "authentication_serial": format(self.authentication_certificate.serial_number, "x"),
            "signing_serial": format(self.signing_certificate.serial_number, "x"),
            "not_after": self.signing_certificate.not_valid_after_utc.isoformat(),
        }
        (directory / "card.json").write_text(
            json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )

    @classmethod
    def load(cls, directory: Path) -> TestCard:
        summary = json.loads((directory / "card.json").read_text(encoding="utf-8"))
        return cls(
            holder=CardHolder.from_json(summary["holder"]),
            authentication_key=_read_key(directory / "auth.key.pem"),
            authentication_certificate=x509.load_der_x509_certificate(
                (directory / "auth.cer").read_bytes()
            ),
            signing_key=_read_key(directory / "sign.key.pem"),
            signing_certificate=x509.load_der_x509_certificate(
                (directory / "sign.cer").read_bytes()
            ),
        )


def mint_card(
    authentication_authority: TestAuthority,
    signing_authority: TestAuthority,
    holder: CardHolder,
    *,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey] | None = None,
    serial_number: int | None = None,
) -> TestCard:
    """A new card. Pass `keys` (authentication, signing) to skip key generation,
    `serial_number` to give both certificates that serial."""
    authentication_key, signing_key = keys or (new_key(), new_key())
    # Both certificates share the validity and serial asked for; only the signing one
    # carries the holder's 基本4情報.
    issue = partial(
        issue_card_certificate,
        not_before=not_before,
        not_after=not_after,
        serial_number=serial_number,
    )
    return TestCard(
        holder=holder,
        authentication_key=authentication_key,
        authentication_certificate=issue(authentication_authority, authentication_key.public_key()),
        signing_key=signing_key,
        signing_certificate=issue(signing_authority, signing_key.public_key(), holder=holder),
    )


@dataclass(frozen=True)
class RevokedEntry:
    serial_number: int
    reason: x509.ReasonFlags
    revoked_at: datetime


def issue_crl(
    authority: TestAuthority,
    revoked: Iterable[RevokedEntry] = (),
    *,
    this_update: datetime | None = None,
    next_update: datetime | None = None,
    number: int = 1,
) -> x509.CertificateRevocationList:
    """A full CRL of the CA with a reason code on every entry."""
    start = this_update or utcnow()
    entries = [
        x509.RevokedCertificateBuilder()
        .serial_number(entry.serial_number)
        .revocation_date(entry.revoked_at)
        .add_extension(x509.CRLReason(entry.reason), critical=False)
        .build()
        for entry in revoked
    ]
    authority_key = x509.AuthorityKeyIdentifier.from_issuer_public_key(
        authority.private_key.public_key()
    )
    # Entries go in through the constructor: add_revoked_certificate copies the list on
    # every call, which is quadratic for the 100,000-entry CRL of the benchmark.
    builder = x509.CertificateRevocationListBuilder(
        issuer_name=authority.certificate.subject,
        last_update=start,
        next_update=next_update or start + timedelta(days=DEFAULT_CRL_DAYS),
        extensions=[
            x509.Extension(x509.CRLNumber.oid, False, x509.CRLNumber(number)),
            x509.Extension(x509.AuthorityKeyIdentifier.oid, False, authority_key),
        ],
        revoked_certificates=entries,
    )
    return builder.sign(authority.private_key, hashes.SHA256())


def issue_large_crl(
    authority: TestAuthority,
    revoked: Iterable[RevokedEntry],
    *,
    this_update: datetime | None = None,
    next_update: datetime | None = None,
    number: int = 1,
) -> bytes:
    """The DER of the CRL `issue_crl` would make, built fast enough for millions of
    entries (J-LIS's signing CRL): `cryptography` makes the CRL without entries, the
    entries are encoded here, and the result is signed again by the CA's key."""
    template = issue_crl(authority, this_update=this_update, next_update=next_update, number=number)
    der = template.public_bytes(serialization.Encoding.DER)
    _, tbs_start, tbs_end = _der_element(der, _der_element(der, 0)[1])
    fields = []
    position = tbs_start
    while position < tbs_end:
        tag, _, end = _der_element(der, position)
        fields.append((tag, der[position:end]))
        position = end
    times: dict[datetime, bytes] = {}
    reasons: dict[x509.ReasonFlags, bytes] = {}
    encoded = bytearray()
    for entry in revoked:
        when = times.get(entry.revoked_at)
        if when is None:
            when = times[entry.revoked_at] = _der(
                0x17, entry.revoked_at.strftime("%y%m%d%H%M%SZ").encode()
            )
        reason = reasons.get(entry.reason)
        if reason is None:
            code = _der(0x0A, bytes([_REASON_CODES[entry.reason]]))
            extension = _der(0x30, bytes.fromhex("0603551d15") + _der(0x04, code))
            reason = reasons[entry.reason] = _der(0x30, extension)
        serial = entry.serial_number.to_bytes(entry.serial_number.bit_length() // 8 + 1, "big")
        encoded += _der(0x30, _der(0x02, serial) + when + reason)
    # tbsCertList: version, signature, issuer, thisUpdate, nextUpdate, [revoked], [0] ext
    entries = [_der(0x30, bytes(encoded))] if encoded else []
    tbs = _der(0x30, b"".join([f for _, f in fields[:5]] + entries + [f for _, f in fields[5:]]))
    signature = authority.private_key.sign(tbs, padding.PKCS1v15(), hashes.SHA256())
    algorithm_start = tbs_end
    algorithm_end = _der_element(der, algorithm_start)[2]
    return _der(0x30, tbs + der[algorithm_start:algorithm_end] + _der(0x03, b"\x00" + signature))


_REASON_CODES = {
    x509.ReasonFlags.unspecified: 0,
    x509.ReasonFlags.key_compromise: 1,
    x509.ReasonFlags.ca_compromise: 2,
    x509.ReasonFlags.affiliation_changed: 3,
    x509.ReasonFlags.superseded: 4,
    x509.ReasonFlags.cessation_of_operation: 5,
    x509.ReasonFlags.certificate_hold: 6,
    x509.ReasonFlags.remove_from_crl: 8,
    x509.ReasonFlags.privilege_withdrawn: 9,
    x509.ReasonFlags.aa_compromise: 10,
}


def _der(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def _der_element(der: bytes, position: int) -> tuple[int, int, int]:
    """(tag, content start, end) of the element at `position`."""
    first = der[position + 1]
    if first < 0x80:
        return der[position], position + 2, position + 2 + first
    count = first & 0x7F
    length = int.from_bytes(der[position + 2 : position + 2 + count], "big")
    return der[position], position + 2 + count, position + 2 + count + length


@dataclass
class TestCaHome:
    """A trust directory made by `init`, with the CA keys in its private/ folder.

    Generation 2015 is written in DER (.cer, .crl) and later ones in PEM (.pem, .crl),
    so the shipped directory shows the mix a deployment receives."""

    __test__ = False

    trust_dir: Path
    _authorities: list[TestAuthority] | None = field(default=None, repr=False)

    @classmethod
    def init(
        cls,
        trust_dir: Path,
        *,
        generations: Sequence[int] = DEFAULT_GENERATIONS,
        now: datetime | None = None,
        crl_days: int = DEFAULT_CRL_DAYS,
        force: bool = False,
    ) -> TestCaHome:
        if trust_dir.exists() and any(trust_dir.iterdir()) and not force:
            raise FileExistsError(f"{trust_dir} is not empty (use --force to replace it)")
        (trust_dir / PRIVATE_DIR).mkdir(parents=True, exist_ok=True)
        home = cls(trust_dir)
        start = now or utcnow()
        for generation in generations:
            for kind in CertificateKind:
                authority = issue_authority(kind, generation)
                home._write_authority(authority)
                crl = issue_crl(
                    authority, this_update=start, next_update=start + timedelta(days=crl_days)
                )
                home._write_crl(authority, crl)
        (trust_dir / TEST_ONLY_MARKER).write_text(
            "This directory holds a TEST certificate authority made by "
            "`python -m app.auth.jpki.testca`.\nIt is not J-LIS. "
            "Production refuses to start with JPKI_TRUST_DIR pointing here.\n",
            encoding="utf-8",
        )
        return home

    def authorities(self) -> list[TestAuthority]:
        if self._authorities is None:
            found = []
            for key_path in sorted((self.trust_dir / PRIVATE_DIR).glob("*-ca-*.key.pem")):
                stem = key_path.name.removesuffix(".key.pem")
                prefix, _, generation = stem.split("-")
                kind = next(k for k, p in _FILE_PREFIX.items() if p == prefix)
                certificate = _read_certificate(self._certificate_path(stem))
                found.append(TestAuthority(kind, int(generation), certificate, _read_key(key_path)))
            self._authorities = found
        return self._authorities

    def authority(self, kind: CertificateKind, generation: int | None = None) -> TestAuthority:
        """The CA of the type and generation (the newest generation by default)."""
        candidates = [a for a in self.authorities() if a.kind is kind]
        if generation is not None:
            candidates = [a for a in candidates if a.generation == generation]
        if not candidates:
            raise LookupError(f"no {kind.value} test CA of generation {generation}")
        return max(candidates, key=lambda authority: authority.generation)

    def mint_card(
        self,
        holder: CardHolder,
        *,
        generation: int | None = None,
        valid_days: int = DEFAULT_CARD_DAYS,
        now: datetime | None = None,
    ) -> TestCard:
        start = (now or utcnow()) - timedelta(minutes=5)
        return mint_card(
            self.authority(CertificateKind.AUTHENTICATION, generation),
            self.authority(CertificateKind.SIGNING, generation),
            holder,
            not_before=start,
            not_after=start + timedelta(days=valid_days),
        )

    def revoke(
        self,
        certificate: x509.Certificate,
        reason: x509.ReasonFlags,
        *,
        now: datetime | None = None,
        crl_days: int = DEFAULT_CRL_DAYS,
    ) -> Path:
        """Add the certificate to its CA's CRL and write the new CRL; returns its path."""
        authority = self.issuer_of(certificate)
        path = self.trust_dir / f"{authority.stem}.crl"
        entries: list[RevokedEntry] = []
        number = 0
        if path.exists():
            current = _read_crl(path)
            number = _crl_number(current)
            entries = [
                RevokedEntry(entry.serial_number, _reason(entry), entry.revocation_date_utc)
                for entry in current
            ]
        if any(entry.serial_number == certificate.serial_number for entry in entries):
            raise ValueError("the certificate is already revoked")
        start = now or utcnow()
        entries.append(RevokedEntry(certificate.serial_number, reason, start))
        crl = issue_crl(
            authority,
            entries,
            this_update=start,
            next_update=start + timedelta(days=crl_days),
            number=number + 1,
        )
        return self._write_crl(authority, crl)

    def issuer_of(self, certificate: x509.Certificate) -> TestAuthority:
        for authority in self.authorities():
            try:
                certificate.verify_directly_issued_by(authority.certificate)
            except (InvalidSignature, ValueError, TypeError):
                continue
            return authority
        raise LookupError("no CA of this test home issued the certificate")

    def _der(self, authority: TestAuthority) -> bool:
        return authority.generation <= DEFAULT_GENERATIONS[0]

    def _certificate_path(self, stem: str) -> Path:
        for suffix in (".pem", ".cer"):
            path = self.trust_dir / f"{stem}{suffix}"
            if path.exists():
                return path
        raise FileNotFoundError(f"no certificate for {stem} in {self.trust_dir}")

    def _write_authority(self, authority: TestAuthority) -> None:
        key_path = self.trust_dir / PRIVATE_DIR / f"{authority.stem}.key.pem"
        _write_key(key_path, authority.private_key)
        if self._der(authority):
            path = self.trust_dir / f"{authority.stem}.cer"
            path.write_bytes(authority.certificate.public_bytes(serialization.Encoding.DER))
        else:
            path = self.trust_dir / f"{authority.stem}.pem"
            path.write_bytes(authority.certificate.public_bytes(serialization.Encoding.PEM))
        self._authorities = None

    def _write_crl(self, authority: TestAuthority, crl: x509.CertificateRevocationList) -> Path:
        path = self.trust_dir / f"{authority.stem}.crl"
        der = self._der(authority)
        encoding = serialization.Encoding.DER if der else serialization.Encoding.PEM
        path.write_bytes(crl.public_bytes(encoding))
        return path


def _key_usage(
    *,
    digital_signature: bool = False,
    content_commitment: bool = False,
    key_cert_sign: bool = False,
    crl_sign: bool = False,
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=content_commitment,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _flags(text: str, positions: Sequence[int]) -> str:
    return "".join("1" if index in positions else "0" for index in range(len(text)))


def _ints(value: object) -> list[int]:
    return [int(item) for item in value] if isinstance(value, list) else []


def _reason(entry: x509.RevokedCertificate) -> x509.ReasonFlags:
    try:
        return entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    except x509.ExtensionNotFound:
        return x509.ReasonFlags.unspecified


def _crl_number(crl: x509.CertificateRevocationList) -> int:
    try:
        return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except x509.ExtensionNotFound:
        return 0


def _write_key(path: Path, key: rsa.RSAPrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _read_key(path: Path) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path} is not an RSA private key")
    return key


def _read_certificate(path: Path) -> x509.Certificate:
    data = path.read_bytes()
    if data.startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def _read_crl(path: Path) -> x509.CertificateRevocationList:
    data = path.read_bytes()
    if data.startswith(b"-----BEGIN"):
        return x509.load_pem_x509_crl(data)
    return x509.load_der_x509_crl(data)
