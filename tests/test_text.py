"""Text from people is cleaned at the edge: invisible and control characters go, NFC,
one space, limits per kind of field, refusals that name the field."""

from __future__ import annotations

import pytest

from app.kernel.errors import Conflict, ValidationError
from app.services.context import ServiceContext
from app.services.kyc.rules import validate_aadhaar, validate_name, validate_phone
from app.services.members import MemberService
from app.services.text import LINE, NOTE, PERSON_NAME, TITLE, ascii_digits, clean
from tests.builders import EMPLOYEE


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("a\x00b", "ab"),
        ("x\ud800y\udfff", "xy"),
        ("  school   fees\t", "school fees"),
        ("paid\u202e\u2066 back\u2069", "paid back"),  # bidi override and isolate
        ("zero\u200bwidth\ufeff\u00ad", "zerowidth"),  # ZWSP, BOM, soft hyphen
        ("\u00a0no\u2003break\u3000", "no break"),  # other spaces become one space
        ("cafe\u0301", "café"),  # NFC
        ("As\u200dha", "Asha"),  # a joiner between Latin letters does nothing
        ("क्\u200dष", "क्\u200dष"),  # a half form needs it
        ("👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧"),  # an emoji sequence too
        ("می\u200cخواهم", "می\u200cخواهم"),  # the non-joiner of Urdu and Persian words
        ("line one\nline two", "line one line two"),  # single-line kinds join lines
        ("tag\U000e0041\U000e007f", "tag"),
        ("\U000f0000private", "\U000f0000private"),  # private use is visible: kept
    ],
)
def test_clean_keeps_what_people_see(raw: str, cleaned: str) -> None:
    assert clean(raw, "Purpose", LINE) == cleaned


def test_multiline_text_keeps_its_lines() -> None:
    raw = "  Called twice;\r\nno answer.\u2028\n\n\n\tLeft a message.  \n\n"
    assert clean(raw, "Note", NOTE) == "Called twice;\nno answer.\n\nLeft a message."


def test_refusals_name_the_field() -> None:
    with pytest.raises(ValidationError, match=r"^Purpose is too long: at most 200 characters\."):
        clean("x" * 201, "Purpose", LINE)
    with pytest.raises(ValidationError, match="Note is too long: at most 500 characters"):
        clean("y" * 10_000, "Note", NOTE)
    with pytest.raises(ValidationError, match=r"^Name is required"):
        clean("\u200b \x00", "Name", PERSON_NAME, required=True)
    with pytest.raises(ValidationError, match=r"^Reason must be text"):
        clean(42, "Reason", NOTE)
    assert clean(None, "Reason", NOTE) == ""
    assert clean("x" * 200 + "\u200b" * 50, "Purpose", LINE) == "x" * 200
    assert len(clean("é" * 80, "The group's name", TITLE)) == 80


def test_numbers_in_any_script_are_the_same_number() -> None:
    assert ascii_digits("+९१ ९८७६५-४३२१०") == "+91 98765-43210"
    assert validate_phone("९८७६५४३२१०") == "+919876543210"
    assert validate_aadhaar("५२११ ८५१३ ३३७६") == "521185133376"
    with pytest.raises(ValidationError):
        validate_phone("98765432¹⁰")  # superscripts are digits to isdigit(), not to us


def test_names_keep_the_joiners_their_script_needs() -> None:
    assert validate_name(" Asha\u200b  Verma\u202e ") == "Asha Verma"
    assert validate_name("लक्\u200dष्मी") == "लक्\u200dष्मी"


def test_one_phone_number_in_two_scripts_is_one_member(ctx: ServiceContext) -> None:
    members = MemberService(ctx)
    members.enroll(EMPLOYEE, "Asha Verma", "+919876543210")
    with pytest.raises(Conflict, match="already belongs"):
        members.enroll(EMPLOYEE, "Asha V", "+९१९८७६५४३२१०")
