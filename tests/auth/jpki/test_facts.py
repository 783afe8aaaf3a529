"""基本4情報 read from a signing certificate, as J-LIS writes them (UTF8String otherNames)."""

from __future__ import annotations

from datetime import date

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from app.auth.jpki.errors import JpkiCertificateInvalid
from app.auth.jpki.facts import (
    OID_BIRTH_DATE,
    OID_NAME,
    Era,
    Sex,
    decode_utf8_string,
    encode_utf8_string,
    parse_basic_four_facts,
    parse_birth_date,
)
from app.auth.jpki.testca import CardHolder, TestCaHome, issue_card_certificate
from app.auth.jpki.verifier import CertificateKind
from tests.auth.jpki.helpers import KeyPool


def _signing_certificate(
    home: TestCaHome, pool: KeyPool, holder: CardHolder | None = None, **kwargs: object
) -> x509.Certificate:
    key, _ = pool.pair()
    return issue_card_certificate(
        home.authority(CertificateKind.SIGNING),
        key.public_key(),
        holder=holder,
        **kwargs,  # type: ignore[arg-type]
    )


def test_kanji_name_reiwa_birth_date_sex_and_address(
    jpki_home: TestCaHome, key_pool: KeyPool
) -> None:
    holder = CardHolder(
        name="髙橋　未來",
        birth_date=date(2020, 2, 29),
        sex=Sex.FEMALE,
        address="長野県東御市県２８１番地２　東御ハイツ１０１号",
    )
    facts = parse_basic_four_facts(_signing_certificate(jpki_home, key_pool, holder))
    assert facts.name == "髙橋\u3000未來"
    assert (facts.surname, facts.given_name) == ("髙橋", "未來")
    assert facts.sex is Sex.FEMALE and facts.sex.label_ja == "女"
    assert facts.birth_date == date(2020, 2, 29)
    assert facts.birth_era is Era.REIWA
    assert facts.birth_date_raw == "520200229"
    assert facts.birth_date_wareki == "令和2年2月29日"
    assert facts.address == "長野県東御市県２８１番地２　東御ハイツ１０１号"
    assert not facts.has_alternative_characters


def test_first_year_of_an_era_is_gannen_and_the_era_is_kept_as_certified() -> None:
    assert parse_birth_date("520190501") == (Era.REIWA, date(2019, 5, 1))
    assert parse_birth_date("419890108") == (Era.HEISEI, date(1989, 1, 8))
    # 30 April 2019 is still 平成; the era is read from the certificate, not recomputed.
    assert parse_birth_date("420190430") == (Era.HEISEI, date(2019, 4, 30))
    assert parse_birth_date("319450815") == (Era.SHOWA, date(1945, 8, 15))


def test_an_era_that_contradicts_the_date_is_refused(
    jpki_home: TestCaHome, key_pool: KeyPool
) -> None:
    """平成 with 1980 would read 平成-8年: the certificate contradicts itself."""
    for raw in ("419800101", "419890107", "520190430", "118670101", "319890108"):
        with pytest.raises(JpkiCertificateInvalid) as refused:
            parse_birth_date(raw)
        assert "元号" in refused.value.detail_ja
    # The last and first days of each side of a change of era are what they say.
    assert parse_birth_date("319890107") == (Era.SHOWA, date(1989, 1, 7))
    assert parse_birth_date("219261224") == (Era.TAISHO, date(1926, 12, 24))
    assert parse_birth_date("319261225") == (Era.SHOWA, date(1926, 12, 25))
    holder = CardHolder(
        name="平成　八郎",
        birth_date=date(1980, 1, 1),
        sex=Sex.MALE,
        address="長野県東御市",
        birth_era=Era.HEISEI,
    )
    with pytest.raises(JpkiCertificateInvalid):
        parse_basic_four_facts(_signing_certificate(jpki_home, key_pool, holder))


def test_era_unknown_keeps_the_raw_value_without_a_date(
    jpki_home: TestCaHome, key_pool: KeyPool
) -> None:
    holder = CardHolder(name="不詳　太郎", birth_date=None, sex=Sex.UNKNOWN, address="長野県東御市")
    facts = parse_basic_four_facts(_signing_certificate(jpki_home, key_pool, holder))
    assert facts.birth_era is Era.UNKNOWN
    assert facts.birth_date is None and facts.birth_date_wareki is None
    assert facts.birth_date_raw == "000000000"
    assert facts.sex.label_ja == "不明"


def test_alternative_character_positions_are_kept(jpki_home: TestCaHome, key_pool: KeyPool) -> None:
    # 代替文字: J-LIS replaced the 2nd character of the name and the 3rd of the address.
    holder = CardHolder(
        name="吉田　太郎",
        birth_date=date(1980, 1, 1),
        sex=Sex.MALE,
        address="長野県上田市",
        name_alternative_positions=(0,),
        address_alternative_positions=(2, 4),
    )
    facts = parse_basic_four_facts(_signing_certificate(jpki_home, key_pool, holder))
    assert facts.name_alternative_positions == (0,)
    assert facts.address_alternative_positions == (2, 4)
    assert facts.has_alternative_characters
    stored = facts.as_json()
    assert stored["name_alternative_positions"] == [0]
    assert stored["birth_date"] == "1980-01-01" and stored["birth_era"] == "3"


def test_certificate_without_the_facts_is_refused(jpki_home: TestCaHome, key_pool: KeyPool) -> None:
    with pytest.raises(JpkiCertificateInvalid):
        parse_basic_four_facts(_signing_certificate(jpki_home, key_pool, None))


def test_malformed_values_are_refused(jpki_home: TestCaHome, key_pool: KeyPool) -> None:
    key, _ = key_pool.pair()
    authority = jpki_home.authority(CertificateKind.SIGNING)
    printable = x509.OtherName(OID_NAME, b"\x13\x03abc")  # PrintableString, not UTF8String
    bad_date = x509.OtherName(OID_BIRTH_DATE, encode_utf8_string("520201341"))
    for names in ([printable], [bad_date]):
        certificate = issue_card_certificate(authority, key.public_key())
        builder = x509.CertificateBuilder(
            issuer_name=certificate.issuer,
            subject_name=certificate.subject,
            public_key=key.public_key(),
            serial_number=1,
            not_valid_before=certificate.not_valid_before_utc,
            not_valid_after=certificate.not_valid_after_utc,
            extensions=[],
        ).add_extension(x509.SubjectAlternativeName(names), critical=False)
        malformed = builder.sign(authority.private_key, hashes.SHA256())
        with pytest.raises(JpkiCertificateInvalid):
            parse_basic_four_facts(malformed)


def test_utf8_string_round_trip_with_long_form_lengths() -> None:
    long_address = "長野県東御市" * 30  # 540 bytes: a two-byte DER length
    encoded = encode_utf8_string(long_address)
    assert encoded[:2] == b"\x0c\x82"
    assert decode_utf8_string(encoded) == long_address
    with pytest.raises(JpkiCertificateInvalid):
        decode_utf8_string(encoded + b"\x00")
