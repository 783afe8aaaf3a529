"""Certificate revocation lists (失効リスト) read at J-LIS's scale: millions of entries.

`cryptography` parses a CRL's entries one Python object at a time (several µs each) and
checks its signature by re-encoding them, which for a 5,000,000-entry CRL means a minute
of CPU with the GIL held. So a CRL is read here in three steps:

1. `read_crl` splits the DER into the signed part (tbsCertList), the algorithm and the
   signature, and has `cryptography` parse a copy *without* the entries for everything
   else (issuer, thisUpdate, nextUpdate, extensions);
2. `CrlDocument.signed_by` hashes the signed part with hashlib (which releases the GIL)
   and verifies the signature over that digest with the CA's key;
3. `CrlDocument.revoked_serials` walks the entries once (DER, checked as it goes) into
   `RevokedSerials`: fixed-width records (serial, reason code, date) in hash buckets,
   sorted within each, so a lookup is a short binary search and an entry costs its
   serial's width + 7 bytes (27 bytes for 20-byte serials) instead of a dict entry,
   an int and a datetime (~200 bytes).

The walk is plain Python bytecode, so in a worker thread it lets the event loop run.
"""

from __future__ import annotations

import binascii
import ctypes
import hashlib
import mmap
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils
from cryptography.x509.oid import ExtensionOID, SignatureAlgorithmOID

from app.auth.jpki.errors import TrustStoreError

SERIAL_MAX_BYTES = 20
"""RFC 5280 §4.1.2.2: serials are at most 20 octets. Longer (or negative) ones, which
non-conforming CAs issue, are kept aside in a small dict."""
_WHEN_BYTES = 6  # YYYYMMDDHHMMSS as an integer (< 2**47)
_RAW_RECORD = SERIAL_MAX_BYTES + 1 + _WHEN_BYTES
_MAX_BUCKET_BITS = 16
_ENTRIES_PER_BUCKET = 64
_SMALLEST_ENTRY = 32  # bytes of DER: a short serial, a UTCTime, no extensions

# The entry extensions of a JPKI CRL: reasonCode alone. Anything else takes the slow path.
_REASON_ONLY = bytes.fromhex("300c300a0603551d1504030a01")
_REASON_CODE = bytes.fromhex("0603551d15")
_INVALIDITY_DATE = bytes.fromhex("0603551d18")

REASONS: dict[int, x509.ReasonFlags] = {
    0: x509.ReasonFlags.unspecified,
    1: x509.ReasonFlags.key_compromise,
    2: x509.ReasonFlags.ca_compromise,
    3: x509.ReasonFlags.affiliation_changed,
    4: x509.ReasonFlags.superseded,
    5: x509.ReasonFlags.cessation_of_operation,
    6: x509.ReasonFlags.certificate_hold,
    8: x509.ReasonFlags.remove_from_crl,
    9: x509.ReasonFlags.privilege_withdrawn,
    10: x509.ReasonFlags.aa_compromise,
}
"""CRLReason codes (RFC 5280 §5.3.1); 7 is unused."""

# The CRL extensions a full CRL may mark critical here: ones this module understands.
_PROCESSED_CRL_EXTENSIONS = frozenset(
    {
        ExtensionOID.CRL_NUMBER,
        ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
        ExtensionOID.ISSUING_DISTRIBUTION_POINT,
    }
)

Buffer = bytes | mmap.mmap
"""A DER CRL in memory, or mapped from its file (a 300 MB CRL need not be copied)."""


@dataclass(frozen=True)
class Revocation:
    """One CRL entry: why (reasonCode) and since when the certificate is revoked."""

    reason: x509.ReasonFlags
    revoked_at: datetime


@dataclass(frozen=True, eq=False)
class RevokedSerials:
    """The revoked serials of one CRL, with reason and date, in little memory.

    `records` holds one fixed-width record per entry: the serial big-endian in `width`
    bytes, the reason code, and the revocation time as the integer YYYYMMDDHHMMSS in 6
    bytes. Records are grouped by the serial's low `bits` bits (bucket b spans records
    `offsets[b]` to `offsets[b + 1]`) and sorted within a bucket."""

    width: int
    bits: int
    offsets: array[int]
    records: bytes | bytearray
    fallback_time: datetime
    """Stands for an entry's date should it not be a real date (the CRL's thisUpdate)."""
    outliers: dict[int, Revocation] = field(default_factory=dict)
    """Serials that do not fit `width` positive bytes (non-conforming CAs)."""

    def __len__(self) -> int:
        return self.offsets[-1] + len(self.outliers)

    def __contains__(self, serial: object) -> bool:
        return isinstance(serial, int) and self.get(serial) is not None

    def get(self, serial: int) -> Revocation | None:
        if serial < 0 or serial.bit_length() > 8 * self.width:
            return self.outliers.get(serial)
        key = serial.to_bytes(self.width, "big")
        size = self.width + 1 + _WHEN_BYTES
        bucket = serial & ((1 << self.bits) - 1)
        low, high = self.offsets[bucket], self.offsets[bucket + 1]
        records = self.records
        while low < high:
            middle = (low + high) // 2
            start = middle * size
            probe = records[start : start + self.width]
            if probe < key:
                low = middle + 1
            elif probe > key:
                high = middle
            else:
                return _revocation(records[start + self.width : start + size], self.fallback_time)
        return None

    @property
    def memory_bytes(self) -> int:
        """What the index holds (records and offsets), not counting the small outliers."""
        return len(self.records) + self.offsets.itemsize * len(self.offsets)


@dataclass(frozen=True, eq=False)
class CrlDocument:
    """One CRL as read from a trust file, not yet trusted: see `signed_by`."""

    metadata: x509.CertificateRevocationList
    """The CRL without its entries, as `cryptography` reads it: issuer, dates, extensions."""
    source: Path
    _der: Buffer = field(repr=False)
    _tbs: tuple[int, int] = field(repr=False)
    _entries: tuple[int, int] = field(repr=False)
    _signature: bytes = field(repr=False)

    @property
    def this_update(self) -> datetime:
        return self.metadata.last_update_utc

    @property
    def next_update(self) -> datetime | None:
        return self.metadata.next_update_utc

    @property
    def number(self) -> int | None:
        try:
            return self.metadata.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
        except x509.ExtensionNotFound:
            return None

    @property
    def order(self) -> tuple[datetime, int]:
        """Newest first: by thisUpdate, then by CRL number."""
        return self.this_update, self.number or 0

    @cached_property
    def _tbs_digest(self) -> bytes:
        # hashlib releases the GIL while it hashes: the event loop runs meanwhile.
        start, end = self._tbs
        with memoryview(self._der) as view:
            return hashlib.sha256(view[start:end]).digest()

    def signed_by(self, public_key: rsa.RSAPublicKey) -> bool:
        """The CA's key made this CRL's signature (sha256WithRSAEncryption)."""
        try:
            public_key.verify(
                self._signature,
                self._tbs_digest,
                padding.PKCS1v15(),
                utils.Prehashed(hashes.SHA256()),
            )
        except InvalidSignature:
            return False
        return True

    def revoked_serials(self) -> RevokedSerials:
        """Walk the entries into the compact index. Raises TrustStoreError on malformed
        DER, an unknown reason code, or a critical entry extension (RFC 5280 §5.3: a CRL
        with one we cannot process must not be used)."""
        start, end = self._entries
        try:
            index = _index_entries(self._der, start, end, fallback_time=self.this_update)
        except (IndexError, ValueError) as exc:
            raise TrustStoreError(f"{self.source.name}: malformed CRL entry ({exc})") from None
        finally:
            _return_freed_heap()
        return index


def _return_freed_heap() -> None:
    """Give the heap the walk freed back to the OS. Its buckets were tens of thousands
    of growing kilobyte buffers; glibc keeps such freed memory in the process (with
    5,000,000 entries some 30 bytes an entry of RSS beside the 27-byte index)."""
    if _malloc_trim is not None:
        _malloc_trim(0)


def _glibc_malloc_trim() -> Callable[[int], int] | None:
    try:
        trim: Callable[[int], int] = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to trim this way
        return None
    return trim


_malloc_trim = _glibc_malloc_trim()


def _revocation(tail: bytes | bytearray, fallback_time: datetime) -> Revocation:
    """A record's reason code and YYYYMMDDHHMMSS as a Revocation."""
    when = int.from_bytes(tail[1:], "big")
    try:
        revoked_at = datetime(
            when // 10**10,
            when // 10**8 % 100,
            when // 10**6 % 100,
            when // 10**4 % 100,
            when // 100 % 100,
            when % 100,
            tzinfo=UTC,
        )
    except ValueError:
        revoked_at = fallback_time
    return Revocation(REASONS[tail[0]], revoked_at)


def read_crl(der: Buffer, source: Path) -> CrlDocument:
    """Split a DER CRL and read everything but its entries. Raises TrustStoreError."""
    try:
        document = _split(der, source)
    except (IndexError, ValueError) as exc:
        raise TrustStoreError(f"{source.name}: not a CRL ({exc})") from None
    _check_crl_extensions(document)
    return document


def pem_blocks(data: bytes) -> list[tuple[str, bytes]]:
    """(label, DER) of each PEM block, e.g. ("X509 CRL", b"0..."). Decoded a megabyte at
    a time: one call on a 300 MB base64 body would hold the GIL for a second."""
    blocks = []
    position = 0
    while (begin := data.find(b"-----BEGIN ", position)) != -1:
        label_end = data.find(b"-----", begin + 11)
        if label_end == -1:
            raise ValueError("unterminated PEM header")
        label = data[begin + 11 : label_end]
        footer = b"-----END " + label + b"-----"
        body_start = label_end + 5
        body_end = data.find(footer, body_start)
        if body_end == -1:
            raise ValueError(f"PEM block {label.decode(errors='replace')!r} has no end")
        blocks.append((label.decode("ascii"), _base64(data[body_start:body_end])))
        position = body_end + len(footer)
    return blocks


def _base64(body: bytes) -> bytes:
    chunk = 1 << 20
    if len(body) <= chunk:
        return binascii.a2b_base64(body, strict_mode=False)
    decoded = bytearray()
    position = 0
    try:
        # Cut at line ends: PEM lines hold whole 4-character groups.
        while position < len(body):
            cut = body.find(b"\n", position + chunk)
            cut = len(body) if cut == -1 else cut + 1
            decoded += binascii.a2b_base64(body[position:cut], strict_mode=False)
            position = cut
    except binascii.Error:
        return binascii.a2b_base64(body, strict_mode=False)
    return bytes(decoded)


def _tlv(der: Buffer, position: int) -> tuple[int, int, int]:
    """(tag, start of content, end) of the DER element at `position`."""
    tag = der[position]
    first = der[position + 1]
    if first < 0x80:
        return tag, position + 2, position + 2 + first
    count = first & 0x7F
    if count == 0 or count > 4:
        raise ValueError("unsupported DER length")
    length = int.from_bytes(der[position + 2 : position + 2 + count], "big")
    return tag, position + 2 + count, position + 2 + count + length


def _header(tag: int, length: int) -> bytes:
    if length < 0x80:
        return bytes((tag, length))
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(size))) + size


def _split(der: Buffer, source: Path) -> CrlDocument:
    tag, content, end = _tlv(der, 0)
    if tag != 0x30 or end != len(der):
        raise ValueError("not a DER SEQUENCE filling the file")
    tbs_tag, tbs_content, tbs_end = _tlv(der, content)
    algorithm_tag, _, algorithm_end = _tlv(der, tbs_end)
    signature_tag, signature_content, signature_end = _tlv(der, algorithm_end)
    if (tbs_tag, algorithm_tag, signature_tag) != (0x30, 0x30, 0x03) or signature_end != end:
        raise ValueError("not a CertificateList")
    # tbsCertList: version?, signature, issuer, thisUpdate, nextUpdate?, revoked?, [0] ext?
    fields: list[tuple[int, int, int, int]] = []
    position = tbs_content
    while position < tbs_end:
        field_tag, field_content, field_end = _tlv(der, position)
        fields.append((field_tag, position, field_content, field_end))
        position = field_end
    if position != tbs_end:
        raise ValueError("tbsCertList overruns")
    index = 1 if fields and fields[0][0] == 0x02 else 0
    index += 3  # signature, issuer, thisUpdate
    if index < len(fields) and fields[index][0] in (0x17, 0x18):
        index += 1  # nextUpdate
    entries = (tbs_end, tbs_end)
    kept = fields
    if index < len(fields) and fields[index][0] == 0x30:
        entries = (fields[index][2], fields[index][3])
        kept = fields[:index] + fields[index + 1 :]
    stub_tbs_content = b"".join(der[f[1] : f[3]] for f in kept)
    stub_body = _header(0x30, len(stub_tbs_content)) + stub_tbs_content + der[tbs_end:signature_end]
    metadata = x509.load_der_x509_crl(_header(0x30, len(stub_body)) + stub_body)
    if metadata.signature_algorithm_oid != SignatureAlgorithmOID.RSA_WITH_SHA256:
        raise ValueError("JPKI CRLs are signed with sha256WithRSAEncryption")
    signature = der[signature_content:signature_end]
    if not signature or signature[0] != 0:
        raise ValueError("the signature BIT STRING has unused bits")
    return CrlDocument(
        metadata=metadata,
        source=source,
        _der=der,
        _tbs=(content, tbs_end),
        _entries=entries,
        _signature=signature[1:],
    )


def _check_crl_extensions(document: CrlDocument) -> None:
    name = document.source.name
    try:
        extensions = document.metadata.extensions
    except (ValueError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType) as exc:
        raise TrustStoreError(f"{name}: unreadable CRL extensions ({exc})") from None
    for extension in extensions:
        if extension.oid == ExtensionOID.DELTA_CRL_INDICATOR:
            raise TrustStoreError(f"{name}: a delta CRL is not a complete CRL")
        if extension.critical and extension.oid not in _PROCESSED_CRL_EXTENSIONS:
            raise TrustStoreError(
                f"{name}: critical CRL extension {extension.oid.dotted_string} not processed"
            )
        if isinstance(extension.value, x509.IssuingDistributionPoint):
            scope = extension.value
            if (
                scope.only_contains_ca_certs
                or scope.only_contains_attribute_certs
                or scope.only_some_reasons
                or scope.indirect_crl
            ):
                raise TrustStoreError(
                    f"{name}: a partial or indirect CRL cannot show a card is not revoked"
                )


def _bucket_bits(entries_bytes: int) -> int:
    estimate = entries_bytes // _SMALLEST_ENTRY
    return min(_MAX_BUCKET_BITS, (estimate // _ENTRIES_PER_BUCKET).bit_length())


def _index_entries(der: Buffer, start: int, end: int, *, fallback_time: datetime) -> RevokedSerials:
    bits = _bucket_bits(end - start)
    mask = (1 << bits) - 1
    buckets = [bytearray() for _ in range(1 << bits)]
    outliers: dict[int, Revocation] = {}
    widest = 1
    position = start
    # One iteration per entry, kept lean: this loop runs 5,000,000 times for J-LIS's CRL.
    while position < end:
        if der[position] != 0x30:
            raise ValueError("entry is not a SEQUENCE")
        length = der[position + 1]
        if length < 0x80:
            item = position + 2
            stop = item + length
        else:
            _, item, stop = _tlv(der, position)
        if der[item] != 0x02:
            raise ValueError("serial is not an INTEGER")
        serial_end = item + 2 + der[item + 1]
        serial = der[item + 2 : serial_end]
        time_tag = der[serial_end]
        time_end = serial_end + 2 + der[serial_end + 1]
        digits = der[serial_end + 2 : time_end - 1]
        if time_tag == 0x17 and len(digits) == 12 and digits.isdigit():
            when = int(digits) + (20 if digits[0] < 0x35 else 19) * 10**12
        elif time_tag == 0x18 and len(digits) == 14 and digits.isdigit():
            when = int(digits)
        else:
            raise ValueError("revocationDate is not a UTCTime or GeneralizedTime")
        if der[time_end - 1] != 0x5A:  # 'Z'
            raise ValueError("revocationDate is not in UTC")
        if time_end == stop:
            reason = 0
        elif stop - time_end == 14 and der[time_end : stop - 1] == _REASON_ONLY:
            reason = der[stop - 1]
        else:
            reason = _entry_extensions(der, time_end, stop)
        if reason not in REASONS:
            raise ValueError(f"unknown reason code {reason}")
        if not serial or stop > end:
            raise ValueError("entry overruns the list")
        if serial[0] & 0x80 or len(serial.lstrip(b"\x00")) > SERIAL_MAX_BYTES:
            tail = bytes((reason,)) + when.to_bytes(_WHEN_BYTES, "big")
            outliers[int.from_bytes(serial, "big", signed=True)] = _revocation(tail, fallback_time)
        else:
            serial = serial.lstrip(b"\x00") or b"\x00"
            if len(serial) > widest:
                widest = len(serial)
            buckets[int.from_bytes(serial[-2:], "big") & mask] += (
                serial.rjust(SERIAL_MAX_BYTES, b"\x00")
                + bytes((reason,))
                + when.to_bytes(_WHEN_BYTES, "big")
            )
        position = stop
    if position != end:
        raise ValueError("entries overrun the list")
    return _sorted_index(buckets, widest, bits, fallback_time, outliers)


def _entry_extensions(der: Buffer, start: int, stop: int) -> int:
    """The reason code among an entry's extensions (0 when absent); ValueError on a
    critical extension other than reasonCode."""
    tag, position, end = _tlv(der, start)
    if tag != 0x30 or end != stop:
        raise ValueError("crlEntryExtensions is not a SEQUENCE")
    reason = 0
    while position < end:
        _, item, item_end = _tlv(der, position)
        _, _, oid_end = _tlv(der, item)
        oid = der[item:oid_end]
        critical = False
        value_at = oid_end
        if der[value_at] == 0x01:  # BOOLEAN critical
            critical = der[value_at + 2] != 0
            value_at = _tlv(der, value_at)[2]
        value_tag, value, value_end = _tlv(der, value_at)
        if value_tag != 0x04 or value_end != item_end:
            raise ValueError("extension value is not an OCTET STRING")
        if oid == _REASON_CODE:
            enumerated, code, code_end = _tlv(der, value)
            if enumerated != 0x0A or code_end != value_end or code_end - code != 1:
                raise ValueError("reasonCode is not a one-byte ENUMERATED")
            reason = der[code]
        elif critical and oid != _INVALIDITY_DATE:
            raise ValueError("a critical CRL entry extension is not processed here")
        position = item_end
    return reason


def _sorted_index(
    buckets: list[bytearray],
    width: int,
    bits: int,
    fallback_time: datetime,
    outliers: dict[int, Revocation],
) -> RevokedSerials:
    cut = SERIAL_MAX_BYTES - width
    records = bytearray()
    offsets = array("I", [0])
    for index, bucket in enumerate(buckets):
        rows = sorted(
            bucket[at + cut : at + _RAW_RECORD] for at in range(0, len(bucket), _RAW_RECORD)
        )
        records += b"".join(rows)
        offsets.append(offsets[-1] + len(rows))
        buckets[index] = bytearray()  # free as we go: peak memory is the raw + the sorted
    return RevokedSerials(width, bits, offsets, records, fallback_time, outliers)
