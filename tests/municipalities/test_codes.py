import pytest

from app.municipalities.codes import check_digit, is_valid_local_government_code


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("202193", "東御市"),
        ("202037", "上田市"),
        ("131016", "千代田区"),
        ("011002", "札幌市"),
        ("472018", "那覇市"),
        ("010006", "北海道"),
    ],
)
def test_real_codes_have_valid_check_digits(code: str, name: str) -> None:
    assert is_valid_local_government_code(code), name


@pytest.mark.parametrize(
    "code", ["202190", "202194", "20219", "2021930", "20219a", "２０２１９３", ""]
)
def test_wrong_check_digit_or_shape_is_refused(code: str) -> None:
    assert not is_valid_local_government_code(code)


def test_remainder_zero_and_one_follow_the_last_digit_rule() -> None:
    # Σ = 11k -> 11 - 0 = 11 -> 1 ; Σ = 11k + 1 -> 10 -> 0
    assert check_digit("00000") == 1
    assert check_digit("00003") == 5  # 6: 11 - 6 = 5
    assert check_digit("10001") == 3  # 6+2=8: 11 - 8 = 3
