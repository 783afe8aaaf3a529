"""基本4情報 (the four basic facts: name, sex, birth date, address) as the
署名用電子証明書 (signing certificate) asserts them.

J-LIS writes them as subjectAltName otherName entries, each value a DER UTF8String:

    1.2.392.200149.8.5.5.1  氏名 (surname, full-width space, given name)
    1.2.392.200149.8.5.5.2  氏名の代替文字の位置情報 ("0"/"1" per character)
    1.2.392.200149.8.5.5.3  性別 (1 男, 2 女, 3 不明)
    1.2.392.200149.8.5.5.4  生年月日 EYYYYMMDD (E: era code; YYYY: Western year)
    1.2.392.200149.8.5.5.5  住所
    1.2.392.200149.8.5.5.6  住所の代替文字の位置情報

代替文字 are stand-ins J-LIS puts where a character is outside JIS X 0208/0212; the
position flags say which characters of the name or address are such stand-ins, so a
prefilled value can be flagged for the citizen to check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from cryptography import x509
from cryptography.x509.oid import ObjectIdentifier

from app.auth.jpki.errors import JpkiCertificateInvalid
from app.jp_calendar import HEISEI, MEIJI, REIWA, SHOWA, TAISHO, JapaneseEra, era_of, format_wareki

OID_NAME = ObjectIdentifier("1.2.392.200149.8.5.5.1")  # 氏名
OID_NAME_ALTERNATIVE_POSITIONS = ObjectIdentifier("1.2.392.200149.8.5.5.2")  # 氏名の代替文字
OID_SEX = ObjectIdentifier("1.2.392.200149.8.5.5.3")  # 性別
OID_BIRTH_DATE = ObjectIdentifier("1.2.392.200149.8.5.5.4")  # 生年月日
OID_ADDRESS = ObjectIdentifier("1.2.392.200149.8.5.5.5")  # 住所
OID_ADDRESS_ALTERNATIVE_POSITIONS = ObjectIdentifier("1.2.392.200149.8.5.5.6")  # 住所の代替文字

FULLWIDTH_SPACE = "\u3000"
UTF8_STRING_TAG = 0x0C


class Era(StrEnum):
    """元号 as coded in the certificate's birth date."""

    UNKNOWN = "0"  # 不明
    MEIJI = "1"  # 明治
    TAISHO = "2"  # 大正
    SHOWA = "3"  # 昭和
    HEISEI = "4"  # 平成
    REIWA = "5"  # 令和

    @property
    def calendar_era(self) -> JapaneseEra | None:
        """The era in app.jp_calendar; None for 不明."""
        return _CALENDAR_ERAS.get(self)

    @property
    def label_ja(self) -> str:
        return self.calendar_era.name if self.calendar_era else "不明"

    @property
    def label_en(self) -> str:
        return self.calendar_era.name_en if self.calendar_era else "unknown"

    @property
    def first_day(self) -> date | None:
        return self.calendar_era.first_day if self.calendar_era else None

    def includes(self, day: date) -> bool:
        """The day falls in this era (平成: 1989-01-08 to 2019-04-30)."""
        return self is not Era.UNKNOWN and Era.of(day) is self

    @classmethod
    def of(cls, day: date) -> Era:
        """The era a (post-1868) date falls in."""
        era = era_of(day)
        return next((code for code, named in _CALENDAR_ERAS.items() if named == era), cls.UNKNOWN)


_CALENDAR_ERAS = {
    Era.MEIJI: MEIJI,
    Era.TAISHO: TAISHO,
    Era.SHOWA: SHOWA,
    Era.HEISEI: HEISEI,
    Era.REIWA: REIWA,
}


class Sex(StrEnum):
    """性別 as coded in the certificate."""

    MALE = "1"  # 男
    FEMALE = "2"  # 女
    UNKNOWN = "3"  # 不明

    @property
    def label_ja(self) -> str:
        return {Sex.MALE: "男", Sex.FEMALE: "女", Sex.UNKNOWN: "不明"}[self]

    @property
    def label_en(self) -> str:
        return {Sex.MALE: "male", Sex.FEMALE: "female", Sex.UNKNOWN: "unknown"}[self]


@dataclass(frozen=True)
class BasicFourFacts:
    """基本4情報 of one signing certificate."""

    name: str  # 氏名
    name_alternative_positions: tuple[int, ...]  # 氏名の代替文字の位置 (0-based)
    sex: Sex  # 性別
    birth_date: date | None  # 生年月日 (None when the certificate says 不明)
    birth_era: Era  # 元号 as the certificate states it
    birth_date_raw: str  # EYYYYMMDD exactly as written
    address: str  # 住所
    address_alternative_positions: tuple[int, ...]  # 住所の代替文字の位置 (0-based)

    @property
    def surname(self) -> str:  # 氏
        return self.name.split(FULLWIDTH_SPACE, 1)[0]

    @property
    def given_name(self) -> str:  # 名
        parts = self.name.split(FULLWIDTH_SPACE, 1)
        return parts[1] if len(parts) == 2 else ""

    @property
    def has_alternative_characters(self) -> bool:
        """True when the name or address contains 代替文字 the citizen should check."""
        return bool(self.name_alternative_positions or self.address_alternative_positions)

    @property
    def birth_date_wareki(self) -> str | None:
        """The birth date in the Japanese calendar, e.g. 令和2年5月1日 (元年 for year 1),
        in the era the certificate states."""
        era = self.birth_era.calendar_era
        if self.birth_date is None or era is None:
            return None
        return format_wareki(self.birth_date, era)

    def as_json(self) -> dict[str, Any]:
        """The facts as stored beside evidence: plain JSON, codes kept as certified."""
        return {
            "name": self.name,
            "name_alternative_positions": list(self.name_alternative_positions),
            "sex": self.sex.value,
            "birth_date": self.birth_date.isoformat() if self.birth_date else None,
            "birth_era": self.birth_era.value,
            "birth_date_raw": self.birth_date_raw,
            "birth_date_wareki": self.birth_date_wareki,
            "address": self.address,
            "address_alternative_positions": list(self.address_alternative_positions),
        }


def parse_basic_four_facts(certificate: x509.Certificate) -> BasicFourFacts:
    """Read the 基本4情報 from a signing certificate's subjectAltName.

    Raises JpkiCertificateInvalid when an entry is missing, repeated or malformed.
    """
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        raise _malformed("no subjectAltName", "subjectAltName がありません") from None
    values: dict[ObjectIdentifier, str] = {}
    for other_name in san.value.get_values_for_type(x509.OtherName):
        if other_name.type_id in values:
            raise _malformed(
                f"otherName {other_name.type_id.dotted_string} appears twice",
                f"otherName {other_name.type_id.dotted_string} が重複しています",
            )
        values[other_name.type_id] = decode_utf8_string(other_name.value)

    def required(oid: ObjectIdentifier, label_en: str, label_ja: str) -> str:
        if oid not in values:
            raise _malformed(f"the {label_en} is missing", f"{label_ja}がありません")
        return values[oid]

    name = required(OID_NAME, "name (氏名)", "氏名")
    sex_code = required(OID_SEX, "sex (性別)", "性別")
    birth_raw = required(OID_BIRTH_DATE, "birth date (生年月日)", "生年月日")
    address = required(OID_ADDRESS, "address (住所)", "住所")
    if not name.strip() or not address.strip():
        raise _malformed("the name or address is empty", "氏名または住所が空です")
    try:
        sex = Sex(sex_code)
    except ValueError:
        raise _malformed(f"unknown sex code {sex_code!r}", "性別の値が正しくありません") from None
    era, birth_date = parse_birth_date(birth_raw)
    return BasicFourFacts(
        name=name,
        name_alternative_positions=_alternative_positions(
            values.get(OID_NAME_ALTERNATIVE_POSITIONS, ""), "氏名"
        ),
        sex=sex,
        birth_date=birth_date,
        birth_era=era,
        birth_date_raw=birth_raw,
        address=address,
        address_alternative_positions=_alternative_positions(
            values.get(OID_ADDRESS_ALTERNATIVE_POSITIONS, ""), "住所"
        ),
    )


def parse_birth_date(raw: str) -> tuple[Era, date | None]:
    """EYYYYMMDD -> (era, date). The year is Western; with era 0 (不明) the date may be
    partly unknown, so it is None unless all of it is a real date."""
    if len(raw) != 9 or not raw.isascii() or not raw.isdigit():
        raise _malformed(f"birth date {raw!r} is not EYYYYMMDD", "生年月日の形式が正しくありません")
    try:
        era = Era(raw[0])
    except ValueError:
        raise _malformed(
            f"unknown era code {raw[0]!r}", "生年月日の元号が正しくありません"
        ) from None
    try:
        day = date(int(raw[1:5]), int(raw[5:7]), int(raw[7:9]))
    except ValueError:
        if era is Era.UNKNOWN:
            return era, None
        raise _malformed(
            f"birth date {raw!r} is not a date", "生年月日が日付ではありません"
        ) from None
    # The era and the Western date say the same thing twice; when they disagree (平成
    # with 1980) the certificate is not what J-LIS issues, and neither can be trusted.
    if era is not Era.UNKNOWN and not era.includes(day):
        raise _malformed(
            f"birth date {day.isoformat()} is not in the {era.label_en} era it names",
            f"生年月日（{day.isoformat()}）が記載の元号（{era.label_ja}）の期間外です",
        )
    return era, day


def decode_utf8_string(der: bytes) -> str:
    """The text of a DER-encoded UTF8String (tag 0x0C), nothing before or after it."""
    if len(der) < 2 or der[0] != UTF8_STRING_TAG:
        raise _malformed(
            "an otherName value is not a UTF8String", "otherName が UTF8String ではありません"
        )
    length, offset = _der_length(der)
    if offset + length != len(der):
        raise _malformed(
            "an otherName value has a wrong length", "otherName の長さが正しくありません"
        )
    try:
        return der[offset:].decode("utf-8")
    except UnicodeDecodeError:
        raise _malformed(
            "an otherName value is not UTF-8", "otherName が UTF-8 ではありません"
        ) from None


def encode_utf8_string(text: str) -> bytes:
    """DER UTF8String, as J-LIS writes each otherName value."""
    content = text.encode("utf-8")
    size = len(content)
    if size < 0x80:
        return bytes([UTF8_STRING_TAG, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([UTF8_STRING_TAG, 0x80 | len(length)]) + length + content


def _der_length(der: bytes) -> tuple[int, int]:
    first = der[1]
    if first < 0x80:
        return first, 2
    count = first & 0x7F
    # Indefinite lengths (0x80) are BER, not DER; 4 bytes is far above any real value.
    if count == 0 or count > 4 or len(der) < 2 + count:
        raise _malformed(
            "an otherName value has a bad length", "otherName の長さが正しくありません"
        )
    return int.from_bytes(der[2 : 2 + count], "big"), 2 + count


def _alternative_positions(flags: str, label_ja: str) -> tuple[int, ...]:
    if flags.strip("01"):
        raise _malformed(
            "an alternative-character position string holds other than 0 and 1",
            f"{label_ja}の代替文字の位置情報が正しくありません",
        )
    return tuple(index for index, flag in enumerate(flags) if flag == "1")


def _malformed(detail_en: str, detail_ja: str) -> JpkiCertificateInvalid:
    return JpkiCertificateInvalid(
        f"The signing certificate's basic four facts cannot be read: {detail_en}.",
        f"署名用電子証明書の基本4情報を読み取れません（{detail_ja}）。",
    )
