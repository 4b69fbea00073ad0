"""Money as integer paise: parsing, Indian formatting and exact rounding.

Every amount in the platform is an ``int`` number of paise (1 rupee = 100 paise).
``Decimal`` appears only while parsing text typed by a person; floats never do.
Rounding is half-up (away from zero for negatives, like ``decimal.ROUND_HALF_UP``)
and happens only at the edges: an EMI, a share, a percentage. Splits give the
residue to the last part so that totals add up exactly.

Percentages are carried as integer basis points (1 bps = 0.01 %, 24 % = 2400).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from app.kernel.errors import ValidationError
from app.kernel.inr import PAISE_PER_RUPEE as PAISE_PER_RUPEE
from app.kernel.inr import format_inr as format_inr
from app.kernel.inr import group_indian as group_indian

Paise = int
"""An amount of money in paise. An alias for readability; it is a plain ``int``."""

BPS_PER_UNIT = 10_000
"""Basis points in a whole (100 %)."""

_CURRENCY_MARKS = re.compile(r"^(?:₹|rs\.?|inr)\s*", re.IGNORECASE)
_INDIAN_GROUPS = r"\d{1,2}(?:,\d{2})*,\d{3}"
_WESTERN_GROUPS = r"\d{1,3}(?:,\d{3})+"
_AMOUNT = re.compile(rf"^(?:\d+|{_INDIAN_GROUPS}|{_WESTERN_GROUPS})(?:\.\d+)?$", re.ASCII)
_PERCENT = re.compile(r"^\d+(?:\.\d+)?$", re.ASCII)


def round_half_up(numerator: int, denominator: int) -> int:
    """Return ``numerator / denominator`` rounded half-up to an integer, exactly.

    Halves round away from zero: 5/2 -> 3, -5/2 -> -3, 7/3 -> 2.

    Raises:
        ValidationError: if ``denominator`` is zero.
    """
    if denominator == 0:
        raise ValidationError("Cannot divide by zero.", hint="Check the divisor passed in.")
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    magnitude = (2 * abs(numerator) + denominator) // (2 * denominator)
    return magnitude if numerator >= 0 else -magnitude


def split_evenly(total: Paise, parts: int) -> list[Paise]:
    """Split ``total`` into ``parts`` equal amounts; the last absorbs the residue.

    Every part but the last is ``total / parts`` truncated toward zero, so the
    parts always sum to ``total`` and the last is never smaller in magnitude.

    >>> split_evenly(1000, 3)
    [333, 333, 334]
    """
    if isinstance(parts, bool) or not isinstance(parts, int) or parts < 1:
        raise ValidationError(f"parts must be a whole number of at least 1 (got {parts!r}).")
    share = abs(total) // parts
    if total < 0:
        share = -share
    return [share] * (parts - 1) + [total - share * (parts - 1)]


def bps_of(amount: Paise, bps: int) -> Paise:
    """Return ``bps`` basis points of ``amount``, rounded half-up to the paisa."""
    return round_half_up(amount * bps, BPS_PER_UNIT)


def ratio_bps(numerator: int, denominator: int) -> int:
    """Return ``numerator / denominator`` in basis points (half-up); 0 when the whole is 0."""
    if denominator == 0:
        return 0
    return round_half_up(numerator * BPS_PER_UNIT, denominator)


def format_bps(bps: int) -> str:
    """Show basis points as a percentage with two decimals: 2450 -> ``"24.50%"``."""
    sign = "-" if bps < 0 else ""
    whole, frac = divmod(abs(bps), 100)
    return f"{sign}{whole}.{frac:02d}%"


def percent_to_bps(value: str | int | Decimal, *, field: str = "rate") -> int:
    """Parse a percentage (``"24"``, ``"12.5%"``, ``Decimal("7.25")``) into basis points.

    Raises:
        ValidationError: on text that is not a non-negative number with at most
            two decimals.
    """
    text = _as_text(value, field).removesuffix("%").strip()
    if not _PERCENT.match(text):
        raise ValidationError(
            f"{field}: {value!r} is not a percentage.", hint="Type a number such as 12 or 12.5."
        )
    return _scale_exact(Decimal(text), 2, field, "a percentage has at most 2 decimals")


def rupees(
    value: str | int | Decimal, *, allow_negative: bool = False, field: str = "amount"
) -> Paise:
    """Parse an amount in rupees into paise.

    Accepts ``int`` rupees, ``Decimal`` rupees, or text such as ``"500000"``,
    ``"5,00,000.50"``, ``"500,000.50"``, ``"₹5,00,000.00"`` or ``"Rs. 1,200"``.
    Trailing zeros beyond the paisa (``"1.500"``) are accepted because they are exact.

    Raises:
        ValidationError: naming ``field`` when the value is not a number, has a
            fraction of a paisa, or is negative while ``allow_negative`` is False.
    """
    if isinstance(value, bool):
        raise ValidationError(f"{field}: {value!r} is not an amount.")
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValidationError(f"{field}: {value!r} is not an amount.")
        amount = value
    else:
        amount = _parse_amount_text(_as_text(value, field), field)
    if amount < 0 and not allow_negative:
        raise ValidationError(
            f"{field} cannot be negative (got {value!r}).", hint="Enter a positive amount."
        )
    return _scale_exact(amount, 2, field, "an amount has at most 2 decimals (paise)")


_ONES = (
    *("Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine"),
    *("Ten", "Eleven", "Twelve", "Thirteen", "Fourteen", "Fifteen", "Sixteen", "Seventeen"),
    *("Eighteen", "Nineteen"),
)
_TENS = ("", "", "Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety")
_INDIAN_UNITS = ((10_000_000, "Crore"), (100_000, "Lakh"), (1_000, "Thousand"), (100, "Hundred"))


def _below_hundred(n: int) -> str:
    if n < 20:
        return _ONES[n]
    tens, ones = divmod(n, 10)
    return _TENS[tens] + (f" {_ONES[ones]}" if ones else "")


def _indian_words(n: int) -> str:
    """A positive whole number in Indian words: 120000 -> "One Lakh Twenty Thousand"."""
    for size, name in _INDIAN_UNITS:
        if n >= size:
            head, rest = divmod(n, size)
            words = f"{_indian_words(head)} {name}"
            return f"{words} {_indian_words(rest)}" if rest else words
    return _below_hundred(n)


def amount_in_words(paise: Paise) -> str:
    """An amount as a receipt or cheque writes it, in the Indian system.

    >>> amount_in_words(10_000_00)
    'Rupees Ten Thousand Only'
    >>> amount_in_words(1_20_000_50)
    'Rupees One Lakh Twenty Thousand and Fifty Paise Only'

    Raises:
        ValidationError: for a negative amount or one that is not whole paise.
    """
    if isinstance(paise, bool) or not isinstance(paise, int) or paise < 0:
        raise ValidationError(
            f"An amount in words needs whole, non-negative paise (got {paise!r})."
        )
    whole, frac = divmod(paise, PAISE_PER_RUPEE)
    parts = [f"Rupees {_indian_words(whole)}"] if whole or not frac else []
    if frac:
        parts.append(f"{_below_hundred(frac)} {'Paisa' if frac == 1 else 'Paise'}")
    return " and ".join(parts) + " Only"


def to_rupees(paise: Paise) -> Decimal:
    """Return the exact rupee value of ``paise`` as a ``Decimal`` with two places."""
    return Decimal(paise).scaleb(-2)


def _as_text(value: str | int | Decimal, field: str) -> str:
    if isinstance(value, bool):
        raise ValidationError(f"{field}: {value!r} is not a number.")
    if isinstance(value, int | Decimal):
        return str(value)
    if not isinstance(value, str):
        raise ValidationError(f"{field}: expected text or a number, got {type(value).__name__}.")
    return value.strip()


def _parse_amount_text(text: str, field: str) -> Decimal:
    negative = text.startswith("-")
    body = _CURRENCY_MARKS.sub("", text.removeprefix("-").strip()).strip()
    if not _AMOUNT.match(body):
        raise ValidationError(
            f"{field}: {text!r} is not an amount in rupees.",
            hint="Type digits with an optional .paise part, e.g. 5,00,000.50.",
        )
    try:
        amount = Decimal(body.replace(",", ""))
    except InvalidOperation as exc:  # pragma: no cover - the patterns above admit only digits
        raise ValidationError(f"{field}: {text!r} is not an amount in rupees.") from exc
    return -amount if negative else amount


_MAX_DIGITS = 40
"""More digits than any real amount or rate has; refused before any arithmetic."""
_MAX_STORED = 2**63 - 1
"""The largest integer every store backend keeps exactly (Firestore's is 64-bit)."""


def _scale_exact(amount: Decimal, places: int, field: str, rule: str) -> int:
    """Return ``amount * 10**places`` as an int, exactly, or refuse if a fraction is left
    or the result is too large to store."""
    sign, digits, exponent = amount.as_tuple()
    if not isinstance(exponent, int):
        raise ValidationError(f"{field}: {amount} is not a number.")
    if len(digits) > _MAX_DIGITS:
        raise ValidationError(
            f"{field}: a {len(digits)}-digit number has too many digits.", hint="Check the number."
        )
    if amount.adjusted() + places > 18:
        raise ValidationError(f"{field}: {amount} is too large.", hint="Check the number.")
    coefficient = int("".join(map(str, digits)) or "0")
    shift = exponent + places
    if shift >= 0:
        scaled = coefficient * 10**shift
    else:
        scaled, remainder = divmod(coefficient, 10**-shift)
        if remainder:
            raise ValidationError(f"{field}: {amount} is too precise; {rule}.")
    if scaled > _MAX_STORED:
        raise ValidationError(f"{field}: {amount} is too large.", hint="Check the number.")
    return -scaled if sign else scaled
