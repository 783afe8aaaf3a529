"""Japanese reference data and checks used by the form compiler.

The regular expressions here are written in the subset shared by Python `re` and
ECMA-262, because the same strings go into the published JSON Schema (a renderer
checks them in the browser, the server checks them here).
"""

from __future__ import annotations

import re

PREFECTURES: tuple[str, ...] = (
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県",
    "茨城県", "栃木県", "群馬県", "埼玉県", "千葉県", "東京都", "神奈川県",
    "新潟県", "富山県", "石川県", "福井県", "山梨県", "長野県", "岐阜県",
    "静岡県", "愛知県", "三重県", "滋賀県", "京都府", "大阪府", "兵庫県",
    "奈良県", "和歌山県", "鳥取県", "島根県", "岡山県", "広島県", "山口県",
    "徳島県", "香川県", "愛媛県", "高知県", "福岡県", "佐賀県", "長崎県",
    "熊本県", "大分県", "宮崎県", "鹿児島県", "沖縄県",
)  # fmt: skip
"""The 47 都道府県 (prefectures) in JIS X 0401 order."""

FULLWIDTH_SPACE = "\u3000"

KATAKANA_PATTERN = r"^[ァ-ヶー・]+(?:　[ァ-ヶー・]+)*$"
"""フリガナ: katakana, ー and ・, words separated by one full-width space."""

POSTAL_CODE_PATTERN = r"^[0-9]{7}$"
"""郵便番号 in canonical form: 7 digits, no hyphen."""

PHONE_PATTERN = r"^0(?:-?[0-9]){9,10}$"
"""電話番号: 10 or 11 digits starting with 0, single hyphens allowed between digits."""

MY_NUMBER_PATTERN = r"^[0-9]{12}$"
"""個人番号: 12 digits (the check digit is verified separately)."""
_MY_NUMBER = re.compile(MY_NUMBER_PATTERN)

EMAIL_PATTERN = (
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
EMAIL_MAX_LENGTH = 254  # RFC 5321 path limit

DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"

# Exactly the characters Python's str.strip() removes (str.isspace), written out so
# that ECMA-262 (whose \s differs) reads the pattern the same way.
_STRIPPED = r"\t-\r\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
CANONICAL_TEXT_PATTERN = rf"^[^\u0000{_STRIPPED}](?:[^\u0000]*[^\u0000{_STRIPPED}])?$"
"""A canonical string answer: not empty, no surrounding white space (normalisation
strips it), no NUL (U+0000, which PostgreSQL cannot store)."""
NO_NUL_LOOKAHEAD = r"(?=[^\u0000]*$)"

# Dash-like characters people type in numbers (NFKC leaves these alone): hyphen,
# non-breaking hyphen, figure dash, en/em dash, horizontal bar, minus sign, and the
# katakana prolonged sound mark an IME often produces for "-".
DASHES = re.compile("[\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc]")


def my_number_check_digit(first_eleven: str) -> int:
    """The check digit (検査用数字) of a 個人番号, from its first 11 digits.

    P_n is the n-th digit counting from the right (n = 1..11), Q_n = n + 1 for
    n <= 6 and n - 5 for n >= 7; r = sum(P_n * Q_n) mod 11; the digit is 0 when
    r <= 1, else 11 - r (個人番号の検査用数字を定める省令).
    """
    total = 0
    for n, digit in enumerate(reversed(first_eleven), start=1):
        weight = n + 1 if n <= 6 else n - 5
        total += int(digit) * weight
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def is_valid_my_number(value: str) -> bool:
    """12 digits whose last digit is the check digit of the first 11."""
    if _MY_NUMBER.fullmatch(value) is None:
        return False
    return my_number_check_digit(value[:11]) == int(value[11])


DESIGNATED_CITIES: tuple[str, ...] = (
    "札幌市", "仙台市", "さいたま市", "千葉市", "川崎市", "横浜市", "相模原市",
    "新潟市", "静岡市", "浜松市", "名古屋市", "京都市", "大阪市", "堺市", "神戸市",
    "岡山市", "広島市", "北九州市", "福岡市", "熊本市",
)  # fmt: skip
"""The 20 政令指定都市, whose addresses name a ward: 横浜市中区."""

_NAME = r"[^市区町村郡]+"
_CITY_PATTERNS = (
    re.compile(rf"^({_NAME}郡{_NAME}[町村])"),  # 北佐久郡軽井沢町
    re.compile(rf"^((?:{'|'.join(DESIGNATED_CITIES)}){_NAME}区)"),  # 横浜市中区
    re.compile(rf"^({_NAME}[市区町村])"),  # 東御市, 千代田区
)


def split_address(address: str) -> tuple[str, str, str] | None:
    """都道府県, 市区町村 and the rest of an address written in one string, each part
    exactly as written (no normalisation), or None when the split is not certain: no
    prefecture at the start, no municipality after it, or a municipality whose name
    holds 市, 区, 町 or 村 (大町市, 四日市市, 東村山市), which a pattern cannot tell
    from the end of the name."""
    prefecture = next((p for p in PREFECTURES if address.startswith(p)), None)
    if prefecture is None:
        return None
    remainder = address[len(prefecture) :]
    for pattern in _CITY_PATTERNS:
        match = pattern.match(remainder)
        if match is not None:
            break
    else:
        return None
    city = match.group(1)
    rest = remainder[len(city) :]
    if rest[:1] in ("市", "区", "町", "村") or "市" in rest or "郡" in rest:
        return None
    return prefecture, city, rest
