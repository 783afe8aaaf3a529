"""全国地方公共団体コード (local government code): 5 digits plus a check digit.

The check digit (検査数字) is the last digit of 11 - (Σ digit_i × weight_i mod 11) with
weights 6, 5, 4, 3, 2 over the first five digits (総務省「全国地方公共団体コード」仕様).
"""

from __future__ import annotations

_WEIGHTS = (6, 5, 4, 3, 2)


def check_digit(first_five: str) -> int:
    total = sum(int(digit) * weight for digit, weight in zip(first_five, _WEIGHTS, strict=True))
    return (11 - total % 11) % 10


def is_valid_local_government_code(code: str) -> bool:
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return False
    return check_digit(code[:5]) == int(code[5])
