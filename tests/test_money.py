"""Integer-paise money: parsing, Indian formatting, exact rounding and splits."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.kernel.errors import ValidationError
from app.services.money import (
    amount_in_words,
    bps_of,
    format_bps,
    format_inr,
    group_indian,
    percent_to_bps,
    ratio_bps,
    round_half_up,
    rupees,
    split_evenly,
    to_rupees,
)


@pytest.mark.parametrize(
    ("text", "paise"),
    [
        ("5,00,000.50", 50_000_050),
        ("500000", 50_000_000),
        ("₹5,00,000.00", 50_000_000),
        ("₹ 12,34,56,789.01", 12_345_678_901),
        ("500,000.5", 50_000_050),
        ("Rs. 1,200", 120_000),
        ("INR 7", 700),
        ("  42.07  ", 4_207),
        ("0", 0),
        ("1.500", 150),
    ],
)
def test_rupees_parses_text(text: str, paise: int) -> None:
    assert rupees(text) == paise


def test_rupees_parses_int_and_decimal_as_rupees() -> None:
    assert rupees(500_000) == 50_000_000
    assert rupees(Decimal("1234.56")) == 123_456
    assert rupees(Decimal("1E+3")) == 100_000


@pytest.mark.parametrize(
    "text",
    ["", "abc", "₹", "1e5", "1,2", "5,0000", "123,45,678", "1.2.3", "12a", "١٢", "--5", "5-"],
)
def test_rupees_rejects_garbage(text: str) -> None:
    with pytest.raises(ValidationError, match="not an amount"):
        rupees(text)


def test_rupees_rejects_fractions_of_a_paisa() -> None:
    with pytest.raises(ValidationError, match="at most 2 decimals"):
        rupees("1.005")
    with pytest.raises(ValidationError, match="at most 2 decimals"):
        rupees(Decimal("0.001"))


def test_rupees_rejects_negatives_unless_allowed() -> None:
    with pytest.raises(ValidationError, match="cannot be negative"):
        rupees("-5")
    with pytest.raises(ValidationError, match="cannot be negative"):
        rupees(-5)
    assert rupees("-₹1,000.25", allow_negative=True) == -100_025
    assert rupees(Decimal("-3"), allow_negative=True) == -300


def test_rupees_names_the_field() -> None:
    with pytest.raises(ValidationError, match=r"^loan amount"):
        rupees("lots", field="loan amount")


@pytest.mark.parametrize("value", [True, Decimal("NaN"), Decimal("Infinity"), 1.5])
def test_rupees_rejects_non_amount_types(value: object) -> None:
    with pytest.raises(ValidationError):
        rupees(value)  # type: ignore[arg-type]


def test_rupees_is_exact_up_to_the_largest_storable_amount_and_refuses_beyond() -> None:
    largest = 2**63 - 1  # paise; every store backend keeps 64-bit integers exactly
    assert rupees("92,233,720,368,547,758.07") == largest  # beyond a float's 53 bits
    assert rupees("-92233720368547758.07", allow_negative=True) == -largest
    for too_large in ("92233720368547758.08", "9" * 40, 10**30):
        with pytest.raises(ValidationError, match="too large"):
            rupees(too_large)
    with pytest.raises(ValidationError, match="too large"):
        rupees(Decimal("1E+999999999"))  # refused before 10**999999999 is worked out
    # A pasted blob is refused before any arithmetic, without echoing it back.
    with pytest.raises(ValidationError, match="a 5001-digit number has too many digits"):
        rupees("1" + "0" * 5_000)
    with pytest.raises(ValidationError, match="too precise"):
        rupees("0." + "0" * 60 + "1")


@pytest.mark.parametrize(
    ("paise", "text"),
    [
        (50_000_000, "₹5,00,000.00"),
        (12_345_678_901, "₹12,34,56,789.01"),
        (-100_000, "-₹1,000.00"),
        (0, "₹0.00"),
        (5, "₹0.05"),
        (99_999, "₹999.99"),
        (100_000, "₹1,000.00"),
        (10_000_000_000, "₹10,00,00,000.00"),
    ],
)
def test_format_inr(paise: int, text: str) -> None:
    assert format_inr(paise) == text


def test_format_inr_without_symbol() -> None:
    assert format_inr(-50_000_000, symbol=False) == "-5,00,000.00"


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_format_then_parse_round_trips(paise: int) -> None:
    assert rupees(format_inr(paise), allow_negative=True) == paise


@given(st.integers(min_value=0, max_value=10**18))
def test_group_indian_keeps_digits_and_groups_by_two_after_three(whole: int) -> None:
    text = group_indian(whole)
    groups = text.split(",")
    assert text.replace(",", "") == str(whole)
    assert len(groups[-1]) <= 3
    assert all(len(g) == 2 for g in groups[1:-1])
    assert 1 <= len(groups[0]) <= (3 if len(groups) == 1 else 2)


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [(5, 2, 3), (7, 3, 2), (8, 3, 3), (-5, 2, -3), (-7, 3, -2), (5, -2, -3), (0, 7, 0), (1, 2, 1)],
)
def test_round_half_up_cases(numerator: int, denominator: int, expected: int) -> None:
    assert round_half_up(numerator, denominator) == expected


@given(st.integers(-(10**30), 10**30), st.integers(-(10**12), 10**12).filter(bool))
def test_round_half_up_matches_exact_fraction(numerator: int, denominator: int) -> None:
    exact = Fraction(numerator, denominator)
    result = round_half_up(numerator, denominator)
    assert abs(exact - result) <= Fraction(1, 2)
    if abs(exact - result) == Fraction(1, 2):
        assert abs(result) > abs(exact)


def test_round_half_up_refuses_zero_denominator() -> None:
    with pytest.raises(ValidationError, match="zero"):
        round_half_up(1, 0)


def test_split_evenly_gives_residue_to_last() -> None:
    assert split_evenly(1000, 3) == [333, 333, 334]
    assert split_evenly(1000, 1) == [1000]
    assert split_evenly(2, 3) == [0, 0, 2]
    assert split_evenly(-1000, 3) == [-333, -333, -334]


@given(st.integers(-(10**15), 10**15), st.integers(1, 500))
def test_split_evenly_sums_exactly(total: int, parts: int) -> None:
    shares = split_evenly(total, parts)
    assert len(shares) == parts
    assert sum(shares) == total
    assert len(set(shares[:-1])) <= 1
    assert 0 <= abs(shares[-1]) - abs(shares[0]) < parts


@pytest.mark.parametrize("parts", [0, -1, True])
def test_split_evenly_refuses_bad_parts(parts: int) -> None:
    with pytest.raises(ValidationError, match="parts"):
        split_evenly(100, parts)


def test_basis_point_helpers() -> None:
    assert bps_of(50_000_000, 500) == 2_500_000  # 5 % commission of ₹5,00,000
    assert bps_of(1, 5_000) == 1  # half a paisa rounds up
    assert bps_of(3, 1_000) == 0
    assert ratio_bps(1, 3) == 3_333
    assert ratio_bps(2, 3) == 6_667
    assert ratio_bps(5, 0) == 0
    assert format_bps(2_450) == "24.50%"
    assert format_bps(5) == "0.05%"
    assert format_bps(-40) == "-0.40%"


@pytest.mark.parametrize(
    ("text", "bps"), [("24", 2_400), ("12.5%", 1_250), ("0.01", 1), (" 7.25 % ", 725), (3, 300)]
)
def test_percent_to_bps(text: str, bps: int) -> None:
    assert percent_to_bps(text) == bps


@pytest.mark.parametrize("text", ["", "-1", "abc", "1.234", "%"])
def test_percent_to_bps_rejects(text: str) -> None:
    with pytest.raises(ValidationError, match=r"^interest"):
        percent_to_bps(text, field="interest")


def test_to_rupees_is_exact() -> None:
    assert to_rupees(12_345_678_901) == Decimal("123456789.01")
    assert str(to_rupees(-5)) == "-0.05"


@pytest.mark.parametrize(
    ("paise", "words"),
    [
        (10_000_00, "Rupees Ten Thousand Only"),
        (1_20_000_50, "Rupees One Lakh Twenty Thousand and Fifty Paise Only"),
        (0, "Rupees Zero Only"),
        (1, "One Paisa Only"),
        (99, "Ninety Nine Paise Only"),
        (100, "Rupees One Only"),
        (101_00, "Rupees One Hundred One Only"),
        (1_000_00, "Rupees One Thousand Only"),
        (7_500_00, "Rupees Seven Thousand Five Hundred Only"),
        (19_19, "Rupees Nineteen and Nineteen Paise Only"),
        (1_00_000_00, "Rupees One Lakh Only"),
        (1_00_00_000_00, "Rupees One Crore Only"),
        (1_00_00_001_01, "Rupees One Crore One and One Paisa Only"),
        (
            99_99_99_999_99,
            "Rupees Ninety Nine Crore Ninety Nine Lakh Ninety Nine Thousand Nine Hundred "
            "Ninety Nine and Ninety Nine Paise Only",
        ),
        (12_345_00_00_000_00, "Rupees Twelve Thousand Three Hundred Forty Five Crore Only"),
    ],
)
def test_amount_in_words_reads_the_indian_way(paise: int, words: str) -> None:
    assert amount_in_words(paise) == words


@pytest.mark.parametrize("bad", [-1, 1.5, True, "100"])
def test_amount_in_words_refuses_what_is_not_whole_paise(bad: object) -> None:
    with pytest.raises(ValidationError, match="whole, non-negative paise"):
        amount_in_words(bad)  # type: ignore[arg-type]


@given(st.integers(min_value=0, max_value=10**15))
def test_amount_in_words_never_says_zero_inside_a_number(paise: int) -> None:
    words = amount_in_words(paise)
    assert words.endswith(" Only")
    assert ("Zero" in words) == (paise == 0)
