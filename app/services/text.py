"""Text from people, cleaned at the edge: one function, and each kind's limits declared once.

Every service action that takes text a person typed (names, purposes, reasons, notes,
memos, descriptions, places) passes it through :func:`clean` with the field's
:class:`Kind` before it goes into a change. Cleaning:

1. refuses anything that is not text;
2. drops what a person cannot see or should not store: control characters (Unicode
   category Cc), format characters (Cf: bidi overrides and isolates, zero-width spaces,
   byte-order marks, soft hyphens, tag characters) and unpaired surrogates. A zero-width
   joiner or non-joiner is kept where writing needs it: after a letter, mark or symbol
   beyond Latin and before another character (क्‍ष, Urdu words, 👨‍👩‍👧);
3. NFC-normalises, so text typed two ways is stored one way;
4. turns tabs and other spaces into one ordinary space and trims; multi-line kinds
   keep line breaks (``\\r\\n``, ``\\r``, U+2028 and U+2029 become ``\\n``), trim each
   line and keep at most one empty line in a row; single-line kinds join lines with a
   space;
5. refuses text longer than the kind allows ("Purpose is too long: at most 200
   characters.") and, when required, text that is empty afterwards.

Identity numbers (phone, Aadhaar, account numbers) go through :func:`ascii_digits`, so
a number written in Devanagari or other digits is the same number.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from app.kernel.errors import ValidationError


@dataclass(frozen=True)
class Kind:
    """A kind of field: the most characters it holds, and whether it keeps line breaks."""

    max_chars: int
    multiline: bool = False


PERSON_NAME = Kind(100)
"""A person's name (members, staff)."""
TITLE = Kind(80)
"""A short title: a chit group's name."""
LINE = Kind(200)
"""One line of free text: a loan's purpose, a security's description, an auction's place."""
NOTE = Kind(500, multiline=True)
"""Why something was done: reasons, notes, memos."""
FILE_NAME = Kind(120)
"""The name of an uploaded file, as the person's computer called it."""
ADDRESS = Kind(300, multiline=True)
"""A postal address: house, street, town, PIN code, on as many lines as it takes."""
REGISTRATION_NO = Kind(40)
"""A chit group's registration (sanction) number from the Registrar."""

JOINERS = frozenset("\u200c\u200d")
_KEPT = ("Co", "Cn")  # private use and not yet assigned: visible, storable
_BREAKS = frozenset("\n\r\u2028\u2029\x85\x0b\x0c")
_INPUT_FACTOR = 4  # longer raw input cannot clean down to the limit in any real case


def clean(value: object, field: str, kind: Kind, *, required: bool = False) -> str:
    """``value`` cleaned (see module docstring) for the field called ``field``.

    Raises:
        ValidationError: not text, too long, or (``required``) empty once cleaned.
    """
    if not isinstance(value, str):
        if value is None and not required:
            return ""
        raise ValidationError(f"{field} must be text.")
    if len(value) > _INPUT_FACTOR * kind.max_chars + 100:
        raise _too_long(field, kind)
    text = normalise(value, multiline=kind.multiline)
    if len(text) > kind.max_chars:
        raise _too_long(field, kind)
    if required and not text:
        raise ValidationError(f"{field} is required.", hint="Write it in, then try again.")
    return text


def normalise(value: str, *, multiline: bool = False) -> str:
    """Steps 2 to 4 of cleaning (see module docstring): no checks, nothing refused."""
    text = unicodedata.normalize("NFC", _visible(value.replace("\r\n", "\n"), multiline))
    return _tidy_lines(text) if multiline else " ".join(text.split())


def _too_long(field: str, kind: Kind) -> ValidationError:
    return ValidationError(
        f"{field} is too long: at most {kind.max_chars:,} characters.",
        hint="Shorten it, then try again.",
    )


def _visible(text: str, multiline: bool) -> str:
    """``text`` without control and format characters; line breaks kept as ``\\n`` (or
    a space), other spaces as a space."""
    out: list[str] = []
    for i, ch in enumerate(text):
        if ch in _BREAKS:
            out.append("\n" if multiline else " ")
            continue
        category = unicodedata.category(ch)
        if category[0] == "Z" or ch == "\t":
            out.append(" ")
        elif category[0] != "C" or category in _KEPT or (ch in JOINERS and _joins(text, i)):
            out.append(ch)
    return "".join(out)


def _joins(text: str, i: int) -> bool:
    """Whether the joiner at ``i`` sits where a script or an emoji sequence needs it."""
    if i == 0 or i + 1 == len(text):
        return False
    before, after = text[i - 1], text[i + 1]
    return (
        ord(before) > 0x24F
        and unicodedata.category(before)[0] in "LMS"
        and not after.isspace()
        and unicodedata.category(after)[0] != "C"
    )


def _tidy_lines(text: str) -> str:
    lines = [" ".join(line.split()) for line in text.split("\n")]
    kept: list[str] = []
    for line in lines:
        if line or (kept and kept[-1]):
            kept.append(line)
    return "\n".join(kept).strip("\n")


def ascii_digits(text: str) -> str:
    """``text`` with every decimal digit of any script (५, ৫, ٥, …) as its ASCII digit."""
    return "".join(
        str(unicodedata.decimal(ch)) if not ch.isascii() and ch.isdecimal() else ch for ch in text
    )
