"""KYC validators: PAN, Aadhaar (Verhoeff), IFSC, mobile, account, name, masking."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.kernel.errors import ValidationError
from app.services.kyc.rules import (
    KycErrors,
    KycFieldError,
    ValidatedKyc,
    aadhaar_last4,
    check_field,
    mask_aadhaar,
    mask_account,
    mask_pan,
    mask_phone,
    validate_aadhaar,
    validate_account_number,
    validate_ifsc,
    validate_name,
    validate_pan,
    validate_phone,
    validate_submission,
    verhoeff_check_digit,
    verhoeff_valid,
)

VALID_AADHAAR = "521185133376"


def _error(func: object, value: str) -> KycFieldError:
    assert callable(func)
    with pytest.raises(KycFieldError) as info:
        func(value)
    return info.value


# --- PAN ---------------------------------------------------------------------


def test_pan_normalised_to_upper_case() -> None:
    assert validate_pan(" abcpe1234f ") == "ABCPE1234F"


@pytest.mark.parametrize(
    ("letter", "holder"),
    [("C", "a company"), ("H", "a HUF"), ("F", "a firm"), ("T", "a trust"), ("G", "a government")],
)
def test_non_individual_pan_names_the_holder_type(letter: str, holder: str) -> None:
    pan = f"ABC{letter}D1234E"
    err = _error(validate_pan, pan)
    assert err.field == "pan"
    assert f"is {holder} PAN (4th letter {letter})" in err.message
    assert "members must hold an individual PAN (P)" in err.message
    assert "XXXXXX234E" in err.message
    assert pan not in str(err)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("XYZPQ1234", "must be 10 characters; got 9"),
        ("ABCPE12345F", "must be 10 characters; got 11"),
        ("AB1PE1234F", "character 3 must be a letter"),
        ("ABCPE12X4F", "character 8 must be a digit"),
        ("ABCPE12345", "character 10 must be a letter"),
        ("ABCDE1234F", "4th letter D is not a PAN holder type"),
    ],
)
def test_malformed_pan_says_what_is_wrong(value: str, expected: str) -> None:
    err = _error(validate_pan, value)
    assert expected in err.message
    assert value not in str(err)


# --- Aadhaar and Verhoeff ----------------------------------------------------


def test_known_valid_aadhaar_with_separators() -> None:
    assert validate_aadhaar("5211 8513 3376") == VALID_AADHAAR
    assert validate_aadhaar("5211-8513-3376") == VALID_AADHAAR


def test_verhoeff_textbook_example() -> None:
    assert verhoeff_check_digit("236") == "3"
    assert verhoeff_valid("2363")
    assert not verhoeff_valid("2364")
    assert verhoeff_check_digit("52118513337") == "6"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("52118513337", "must be 12 digits; got 11"),
        ("5211851333761", "must be 12 digits; got 13"),
        ("5211851333a6", "including non-digits"),
        ("021185133376", "cannot start with 0 or 1"),
        ("121185133376", "cannot start with 0 or 1"),
        ("521185133377", "XXXX-XXXX-3377 fails its check digit"),
    ],
)
def test_bad_aadhaar_says_what_is_wrong(value: str, expected: str) -> None:
    err = _error(validate_aadhaar, value)
    assert err.field == "aadhaar"
    assert expected in err.message
    assert value not in str(err)


aadhaar_bodies = st.text("0123456789", min_size=10, max_size=10).flatmap(
    lambda rest: st.sampled_from("23456789").map(lambda first: first + rest)
)


@given(aadhaar_bodies, st.integers(0, 11), st.integers(1, 9))
def test_verhoeff_detects_every_single_digit_substitution(
    body: str, position: int, delta: int
) -> None:
    number = body + verhoeff_check_digit(body)
    assert verhoeff_valid(number)
    changed = str((int(number[position]) + delta) % 10)
    typo = number[:position] + changed + number[position + 1 :]
    assert not verhoeff_valid(typo)


@given(aadhaar_bodies, st.integers(0, 10))
def test_verhoeff_detects_adjacent_transpositions(body: str, position: int) -> None:
    number = body + verhoeff_check_digit(body)
    a, b = number[position], number[position + 1]
    if a == b:
        return
    swapped = number[:position] + b + a + number[position + 2 :]
    assert not verhoeff_valid(swapped)


def test_every_substitution_of_the_known_aadhaar_is_caught() -> None:
    for pos in range(12):
        for digit in "0123456789":
            if digit != VALID_AADHAAR[pos]:
                assert not verhoeff_valid(VALID_AADHAAR[:pos] + digit + VALID_AADHAAR[pos + 1 :])


# --- IFSC, phone, account, name ----------------------------------------------


def test_ifsc() -> None:
    assert validate_ifsc(" sbin0001234 ") == "SBIN0001234"
    assert validate_ifsc("HDFC0ABC123") == "HDFC0ABC123"
    for bad in ("SBIN1001234", "SBI00001234", "SBIN000123", "SBIN00012345", "SBIN0-01234"):
        assert "IFSC" in _error(validate_ifsc, bad).message


@pytest.mark.parametrize(
    "value", ["9876543210", "+91 98765 43210", "+91-98765-43210", "09876543210", "919876543210"]
)
def test_phone_normalised(value: str) -> None:
    assert validate_phone(value) == "+919876543210"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5876543210", "start with 6, 7, 8 or 9"),
        ("987654321", "10 digits; got 9"),
        ("+1 9876543210", "Indian (+91)"),
        ("98765abc10", "only digits"),
        ("+9198765432100", "10 digits; got 11"),
    ],
)
def test_bad_phone(value: str, expected: str) -> None:
    assert expected in _error(validate_phone, value).message


def test_account_number_bounds() -> None:
    assert validate_account_number("1234 5678 9") == "123456789"
    assert validate_account_number("1" * 18) == "1" * 18
    assert "got 8" in _error(validate_account_number, "12345678").message
    err = _error(validate_account_number, "1" * 19)
    assert "9 to 18 digits; got 19" in err.message
    assert "1" * 19 not in str(err)
    assert "only digits" in _error(validate_account_number, "12345X789").message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  Ravi   Kumar ", "Ravi Kumar"),
        ("A. R. Rahman", "A. R. Rahman"),
        ("Mary D'Souza-Pinto", "Mary D'Souza-Pinto"),
        ("निखिल शर्मा", "निखिल शर्मा"),
        ("முருகன்", "முருகன்"),
    ],
)
def test_names_accepted(value: str, expected: str) -> None:
    assert validate_name(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("R", "at least 2"), ("R2D2", "only letters"), ("-Ravi", "only letters"), ("A" * 101, "100")],
)
def test_names_refused(value: str, expected: str) -> None:
    assert expected in _error(validate_name, value).message


# --- masking -----------------------------------------------------------------


def test_masks_show_only_the_last_four() -> None:
    assert mask_pan("ABCPD1234E") == "XXXXXX234E"
    assert mask_account("123456781234") == "XXXXXXXX1234"
    assert mask_aadhaar(VALID_AADHAAR) == "XXXX-XXXX-3376"
    assert mask_aadhaar("3376") == "XXXX-XXXX-3376"
    assert mask_phone("+919876543210") == "+91 XXXXXX3210"
    assert aadhaar_last4("5211 8513 3376") == "3376"


# --- whole submission --------------------------------------------------------

GOOD = {
    "name": "Ravi Kumar",
    "pan": "abcpe1234f",
    "aadhaar": "5211 8513 3376",
    "phone": "98765 43210",
    "ifsc": "sbin0001234",
    "account_number": "123456781234",
}


def test_valid_submission_is_normalised_and_its_repr_masked() -> None:
    kyc = validate_submission(GOOD)
    assert kyc == ValidatedKyc(
        "Ravi Kumar", "ABCPE1234F", VALID_AADHAAR, "+919876543210", "SBIN0001234", "123456781234"
    )
    shown = repr(kyc) + str(kyc)
    for secret in ("ABCPE1234F", VALID_AADHAAR, "9876543210", "123456781234"):
        assert secret not in shown
    assert "XXXX-XXXX-3376" in shown


def test_all_field_errors_are_collected_into_one() -> None:
    bad = dict(GOOD, pan="ABCCD1234E", aadhaar="521185133377", phone="12345")
    del bad["ifsc"]
    with pytest.raises(KycErrors) as info:
        validate_submission(bad)
    err = info.value
    assert isinstance(err, ValidationError)
    assert set(err.field_errors) == {"pan", "aadhaar", "phone", "ifsc"}
    assert err.message.startswith("KYC has 4 problems: ")
    assert "company PAN" in err.message
    assert "check digit" in err.message
    assert "IFSC is required" in err.message
    assert "ABCCD1234E" not in str(err)
    assert "521185133377" not in str(err)


def test_blank_and_non_text_fields_are_required() -> None:
    with pytest.raises(KycErrors) as info:
        validate_submission(dict(GOOD, name="   ", account_number=123456789))
    assert info.value.field_errors == {
        "name": "Name is required.",
        "account_number": "Account number is required.",
    }
    assert info.value.message.startswith("KYC has 2 problems")


# -- one field as it is typed -------------------------------------------------------------

VERDICTS = [
    ("pan", "abcpd 1234e", True, "", "XXXXXX234E"),
    ("pan", "ABCPD12", False, "PAN must be 10 characters; got 7.", "XXXPD12"),
    ("pan", "ABCCD1234E", False, "PAN XXXXXX234E is a company PAN", "XXXXXX234E"),
    ("aadhaar", "5211 8513 3376", True, "", "XXXX-XXXX-3376"),
    ("aadhaar", "521185133377", False, "Aadhaar XXXX-XXXX-3377 fails its check digit.", "XXXX-"),
    ("account_number", "0001 2345 6789", True, "", "XXXXXXXX6789"),
    ("account_number", "12345", False, "Account number must be 9 to 18 digits; got 5.", "X2345"),
    ("ifsc", "sbin0001234", True, "", "SBIN0001234"),
    ("ifsc", "SBIN1001234", False, "IFSC 'SBIN1001234' is not valid", "SBIN1001234"),
    ("name", "  Lakshmi   Devi ", True, "", "Lakshmi Devi"),
    ("address", "12 Anna Salai\nChennai 600 002", True, "", "12 Anna Salai\nChennai 600 002"),
    ("address", "12 Anna Salai, Chennai", False, "Address needs its 6-digit PIN code", "12 Anna"),
    ("address", "Chennai", False, "Address is too short", "Chennai"),
    ("address", "x" * 301, False, "Address is too long: at most 300 characters.", "xxx"),
    ("account_number", "   ", False, "Account number is required.", ""),
]


@pytest.mark.parametrize(("field", "typed", "ok", "message", "shown"), VERDICTS)
def test_each_field_has_a_verdict_as_it_is_typed_with_numbers_masked(
    field: str, typed: str, ok: bool, message: str, shown: str
) -> None:
    verdict = check_field(field, typed)
    assert (verdict.field, verdict.ok) == (field, ok)
    assert message in verdict.message if message else verdict.message == ""
    assert verdict.shown.startswith(shown)
    if field in ("pan", "aadhaar", "account_number"):
        digits = "".join(ch for ch in typed.upper() if ch.isalnum())
        assert len(digits) < 8 or digits[:-4] not in verdict.shown + verdict.message
