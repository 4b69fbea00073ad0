"""KYC rules for India: PAN, Aadhaar, IFSC, mobile, bank account and name.

Every validator takes what a person typed, returns the normalised value and
raises :class:`KycFieldError` (a :class:`ValidationError`) naming the field and
what is wrong. Personal numbers are never echoed back in full: messages show
them masked.

Masking convention (one for every number): the hidden characters become ``X``
and only the last four characters stay visible -- ``XXXXXX234E`` (PAN),
``XXXXXXXX1234`` (account, length kept), ``XXXX-XXXX-1234`` (Aadhaar, as UIDAI
shows it) and ``+91 XXXXXX3210`` (mobile).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from app.kernel.errors import ValidationError
from app.services.text import ADDRESS, JOINERS, PERSON_NAME, ascii_digits, clean, normalise

PAN_RE = re.compile(r"^[A-Z]{3}[ABCFGHJLPT][A-Z][0-9]{4}[A-Z]$")
PIN_CODE_RE = re.compile(r"(?<![0-9])[1-9][0-9]{2} ?[0-9]{3}(?![0-9])")
IFSC_RE = re.compile(r"^[A-Z]{4}0[A-Z0-9]{6}$")

PAN_HOLDER_TYPES = {
    "P": "an individual",
    "C": "a company",
    "H": "a HUF",
    "F": "a firm",
    "A": "an AOP",
    "B": "a BOI",
    "G": "a government",
    "J": "an artificial juridical person",
    "L": "a local authority",
    "T": "a trust",
}

_SEPARATORS = re.compile(r"[\s\-]")
_NAME_PUNCTUATION = frozenset(" .'-")
NAME_MAX = PERSON_NAME.max_chars

# Verhoeff (dihedral group D5) tables.
_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)
_INV = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)


class KycFieldError(ValidationError):
    """One KYC field is wrong; ``field`` names it (``"pan"``, ``"aadhaar"`` ...)."""

    def __init__(self, field: str, message: str, *, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.field = field


class KycErrors(ValidationError):
    """Several KYC fields are wrong; ``field_errors`` maps field -> message."""

    def __init__(self, field_errors: Mapping[str, str]) -> None:
        self.field_errors = dict(field_errors)
        lines = "; ".join(self.field_errors.values())
        count = len(self.field_errors)
        noun = "problem" if count == 1 else "problems"
        super().__init__(
            f"KYC has {count} {noun}: {lines}", hint="Correct each field and submit again."
        )


# --- masking -----------------------------------------------------------------


def _mask_tail(value: str, visible: int = 4) -> str:
    return "X" * max(len(value) - visible, 0) + value[-visible:]


def mask_pan(pan: str) -> str:
    """``ABCPD1234E`` -> ``XXXXXX234E``."""
    return _mask_tail(pan.strip().upper())


def mask_account(account: str) -> str:
    """``123456781234`` -> ``XXXXXXXX1234`` (length kept)."""
    return _mask_tail(_SEPARATORS.sub("", account))


def mask_aadhaar(aadhaar: str) -> str:
    """Any Aadhaar (or its last 4 digits) -> ``XXXX-XXXX-1234``."""
    return "XXXX-XXXX-" + _SEPARATORS.sub("", aadhaar)[-4:]


def mask_phone(phone: str) -> str:
    """``+919876543210`` -> ``+91 XXXXXX3210``."""
    digits = re.sub(r"\D", "", phone)[-10:]
    return "+91 " + _mask_tail(digits)


def aadhaar_last4(aadhaar: str) -> str:
    return _SEPARATORS.sub("", aadhaar)[-4:]


# --- Verhoeff ----------------------------------------------------------------


def _verhoeff_sum(digits: str, offset: int) -> int:
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _D[c][_P[(i + offset) % 8][int(ch)]]
    return c


def verhoeff_check_digit(digits: str) -> str:
    """The Verhoeff check digit to append to ``digits``."""
    return str(_INV[_verhoeff_sum(digits, 1)])


def verhoeff_valid(number: str) -> bool:
    """True if the last digit of ``number`` is its Verhoeff check digit."""
    return number.isdigit() and _verhoeff_sum(number, 0) == 0


# --- single fields -----------------------------------------------------------


def _describe_pan_format(pan: str) -> str:
    if len(pan) != 10:
        return f"PAN must be 10 characters; got {len(pan)}."
    expected = ("letter",) * 5 + ("digit",) * 4 + ("letter",)
    for pos, (ch, kind) in enumerate(zip(pan, expected, strict=True), start=1):
        ok = ch.isdigit() if kind == "digit" else ("A" <= ch <= "Z")
        if not ok:
            return f"PAN character {pos} must be a {kind}."
    return f"PAN 4th letter {pan[3]} is not a PAN holder type."


def validate_pan(value: str) -> str:
    """Normalise (trim, upper case) and check an individual's PAN."""
    pan = _SEPARATORS.sub("", value).upper()
    hint = "A PAN looks like ABCPE1234F: 5 letters, 4 digits, 1 letter."
    if not PAN_RE.match(pan):
        raise KycFieldError("pan", _describe_pan_format(pan), hint=hint)
    if pan[3] != "P":
        holder = PAN_HOLDER_TYPES[pan[3]]
        raise KycFieldError(
            "pan",
            f"PAN {mask_pan(pan)} is {holder} PAN (4th letter {pan[3]}); "
            "members must hold an individual PAN (P).",
            hint="Ask the member for their personal PAN card.",
        )
    return pan


def validate_aadhaar(value: str) -> str:
    """Normalise (drop spaces and dashes) and check an Aadhaar number."""
    number = _SEPARATORS.sub("", ascii_digits(value))
    if not _all_digits(number) or len(number) != 12:
        raise KycFieldError(
            "aadhaar",
            f"Aadhaar must be 12 digits; got {len(number)} characters"
            + ("" if _all_digits(number) else " including non-digits")
            + ".",
        )
    if number[0] in "01":
        raise KycFieldError("aadhaar", "Aadhaar cannot start with 0 or 1.")
    if not verhoeff_valid(number):
        raise KycFieldError(
            "aadhaar",
            f"Aadhaar {mask_aadhaar(number)} fails its check digit.",
            hint="One digit is probably mistyped: compare with the card.",
        )
    return number


def validate_ifsc(value: str) -> str:
    """Normalise (trim, upper case) and check an IFSC (bank branch code)."""
    ifsc = _SEPARATORS.sub("", value).upper()
    if not IFSC_RE.match(ifsc):
        raise KycFieldError(
            "ifsc",
            f"IFSC {ifsc!r} is not valid: it must be 4 letters, a zero, "
            "then 6 letters or digits (e.g. SBIN0001234).",
        )
    return ifsc


def validate_phone(value: str) -> str:
    """Indian mobile number -> ``+91XXXXXXXXXX``.

    Accepts spaces, dashes and brackets, and an optional ``+91``, ``91`` or
    leading ``0`` before the 10 digits, which must start with 6, 7, 8 or 9.
    """
    raw = re.sub(r"[\s\-()]", "", ascii_digits(value))
    digits = raw.removeprefix("+")
    if not _all_digits(digits):
        raise KycFieldError("phone", "Mobile number may contain only digits and a leading +.")
    if raw.startswith("+"):
        if not digits.startswith("91"):
            raise KycFieldError("phone", "Mobile number must be Indian (+91).")
        digits = digits[2:]
    elif len(digits) == 12 and digits.startswith("91"):
        digits = digits[2:]
    elif len(digits) == 11 and digits.startswith("0"):
        digits = digits[1:]
    if len(digits) != 10:
        raise KycFieldError("phone", f"Mobile number must have 10 digits; got {len(digits)}.")
    if digits[0] not in "6789":
        raise KycFieldError("phone", "Mobile number must start with 6, 7, 8 or 9.")
    return "+91" + digits


def validate_account_number(value: str) -> str:
    """Bank account number: 9 to 18 digits (spaces and dashes dropped)."""
    number = _SEPARATORS.sub("", ascii_digits(value))
    if not _all_digits(number):
        raise KycFieldError("account_number", "Account number may contain only digits.")
    if not 9 <= len(number) <= 18:
        raise KycFieldError(
            "account_number", f"Account number must be 9 to 18 digits; got {len(number)}."
        )
    return number


def _all_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _is_name(name: str) -> bool:
    """Letters and combining marks (Indic vowel signs) with a little punctuation, and the
    joiners some scripts need (kept by :func:`~app.services.text.normalise` only there)."""
    kinds = [unicodedata.category(ch)[0] for ch in name]
    allowed = all(
        k in "LM" or ch in _NAME_PUNCTUATION or ch in JOINERS
        for k, ch in zip(kinds, name, strict=True)
    )
    return allowed and unicodedata.category(name[0])[0] == "L"


def validate_name(value: str) -> str:
    """A person's name: letters (any script), spaces, dots, apostrophes, hyphens."""
    if len(value) > 4 * NAME_MAX:
        raise KycFieldError("name", f"Name must be at most {NAME_MAX} characters.")
    name = normalise(value)
    if len(name) < 2:
        raise KycFieldError("name", "Name must have at least 2 characters.")
    if len(name) > NAME_MAX:
        raise KycFieldError("name", f"Name must be at most {NAME_MAX} characters.")
    if not _is_name(name):
        raise KycFieldError(
            "name", "Name may contain only letters, spaces, dots, apostrophes and hyphens."
        )
    return name


def validate_address(value: str) -> str:
    """A postal address (cleaned, lines kept) that carries its 6-digit PIN code."""
    try:
        address = clean(value, "Address", ADDRESS, required=True)
    except ValidationError as exc:
        raise KycFieldError("address", exc.message, hint=exc.hint) from exc
    if len(address) < 10:
        raise KycFieldError("address", "Address is too short: write the house, street and town.")
    if not PIN_CODE_RE.search(ascii_digits(address)):
        raise KycFieldError(
            "address",
            "Address needs its 6-digit PIN code (e.g. 600041).",
            hint="The PIN code is on the Aadhaar card, below the address.",
        )
    return address


# --- one field as a person types it --------------------------------------------------


@dataclass(frozen=True)
class FieldVerdict:
    """What a screen shows under a field as it is typed: whether it is right, what is
    wrong (naming the field, numbers masked) and the value as it may be shown."""

    field: str
    ok: bool
    message: str
    hint: str
    shown: str


def _shown(value: str) -> str:
    return " ".join(value.split())


_CHECKS: dict[str, tuple[str, Callable[[str], str], Callable[[str], str]]] = {
    "name": ("Name", validate_name, _shown),
    "pan": ("PAN", validate_pan, mask_pan),
    "aadhaar": ("Aadhaar", validate_aadhaar, mask_aadhaar),
    "phone": ("Mobile number", validate_phone, mask_phone),
    "ifsc": ("IFSC", validate_ifsc, _shown),
    "account_number": ("Account number", validate_account_number, mask_account),
    "address": ("Address", validate_address, lambda v: v),
}
"""Each field a KYC form checks: its label, its check, and how it may be shown."""


def check_field(field: str, value: str) -> FieldVerdict:
    """The verdict on one field of a KYC form (``field`` as :data:`_CHECKS` names it).

    Never raises for a wrong value; a field it does not know is a KeyError (a bug)."""
    label, validate, show = _CHECKS[field]
    if not value.strip():
        return FieldVerdict(field, False, f"{label} is required.", "", "")
    try:
        normal = validate(value)
    except KycFieldError as exc:
        return FieldVerdict(field, False, exc.message, exc.hint, show(value.strip()))
    return FieldVerdict(field, True, "", "", show(normal))


# --- a whole submission ------------------------------------------------------


@dataclass(frozen=True)
class ValidatedKyc:
    """A checked, normalised KYC submission. Its repr masks every number."""

    name: str
    pan: str
    aadhaar: str
    phone: str
    ifsc: str
    account_number: str

    def __repr__(self) -> str:
        return (
            f"ValidatedKyc(name={self.name!r}, pan={mask_pan(self.pan)!r}, "
            f"aadhaar={mask_aadhaar(self.aadhaar)!r}, phone={mask_phone(self.phone)!r}, "
            f"ifsc={self.ifsc!r}, account_number={mask_account(self.account_number)!r})"
        )

    __str__ = __repr__


_FIELDS = (
    ("name", "Name", validate_name),
    ("pan", "PAN", validate_pan),
    ("aadhaar", "Aadhaar", validate_aadhaar),
    ("phone", "Mobile number", validate_phone),
    ("ifsc", "IFSC", validate_ifsc),
    ("account_number", "Account number", validate_account_number),
)


def validate_submission(data: Mapping[str, object]) -> ValidatedKyc:
    """Check every field; raise one :class:`KycErrors` listing all that are wrong."""
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    for key, label, check in _FIELDS:
        raw = data.get(key)
        if not isinstance(raw, str) or not raw.strip():
            errors[key] = f"{label} is required."
            continue
        try:
            values[key] = check(raw)
        except KycFieldError as exc:
            errors[key] = exc.message
    if errors:
        raise KycErrors(errors)
    return ValidatedKyc(**values)
