"""The counter's rules: what a reference looks like for each mode, and when a second
person must check a receipt.

References (one bank reference is one receipt, so the reference is what makes a receipt
idempotent, and what a bank statement line matches later):

* cash: the counter slip's number (the desk proposes one: ``CASH-20261124-3F9A``);
* UPI: the 12-digit UPI transaction reference (RRN) the member's app shows;
* NEFT/IMPS: the UTR (NEFT: 16 letters and digits, e.g. ``SBIN126054012345``; IMPS:
  12 digits);
* cheque: the 6-digit cheque number with the drawee branch's IFSC (printed on every
  CTS-2010 cheque), as ``CHQ-<IFSC>-<number>``: cheque numbers alone repeat across banks.

Maker-checker at the counter (DOMAIN.md: a money movement made by one person is approved
by another), decided where money is most at risk:

* cash above :data:`CASH_CHECK_ABOVE` (₹50,000) in one receipt is counted by a second
  staff member before it is posted: the maker records it, it waits, a checker approves;
* cash is refused outright when it would bring one member's cash that day to
  :data:`CASH_DAY_LIMIT` (₹2,00,000) or more: the Income-tax Act, s.269ST, forbids
  receiving that much in cash from one person in a day (pending receipts count);
* a bounced cheque reverses a posting and reopens a due (which can bar the member from
  the next auction): the maker reports the bounce, a checker confirms it;
* UPI, NEFT/IMPS and cheques are posted at once (the bank holds the trail), and marking
  a cheque cleared moves no money: one person.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.kernel.errors import ValidationError
from app.services.kyc.rules import KycFieldError, validate_ifsc
from app.services.ledger.postings import normalise_bank_ref
from app.services.ledger.receipts import Cheque
from app.services.ledger.records import CASH, CHEQUE, MODES, NEFT, UPI
from app.services.money import format_inr

CASH_CHECK_ABOVE = 50_000_00
"""Cash above this (paise) in one receipt needs a second person."""
CASH_DAY_LIMIT = 2_00_000_00
"""Cash from one member in one day must stay below this (paise): s.269ST."""
COUNTER_MODES = (CASH, UPI, NEFT, CHEQUE)
"""The modes a counter receipt can take (a bank statement's lines are ``bank``)."""

_UPI = re.compile(r"^\d{12}$")
_UTR = re.compile(r"^(?:[A-Z]{4}[A-Z0-9]{12,18}|\d{12})$")
_CHEQUE_NO = re.compile(r"^\d{6}$")
_SPACES = re.compile(r"[\s-]+")


@dataclass(frozen=True)
class Reference:
    """A counter receipt's bank reference, and its cheque when paid by cheque."""

    bank_ref: str
    cheque: Cheque | None = None


def reference(mode: str, text: str, ifsc: str = "") -> Reference:
    """The bank reference of a receipt paid by ``mode`` with the reference ``text`` the
    staff typed (``ifsc``: a cheque's drawee branch); a ValidationError names the field
    and says what it should look like."""
    if mode not in COUNTER_MODES:
        modes = ", ".join(MODES[m] for m in COUNTER_MODES)
        raise ValidationError(f"Mode: choose one of {modes}.")
    typed = text.strip().upper() if isinstance(text, str) else ""
    if mode == CASH:
        return Reference(_checked_ref(typed, "Slip number", "the counter slip's number"))
    compact = _SPACES.sub("", typed)
    if mode == UPI and not _UPI.match(compact):
        raise ValidationError(
            f"UPI reference: {text!r} is not a UPI transaction reference.",
            hint="Type the 12-digit reference (UTR/RRN) the member's UPI app shows.",
        )
    if mode == NEFT and not _UTR.match(compact):
        raise ValidationError(
            f"UTR: {text!r} is not a NEFT or IMPS reference.",
            hint="NEFT: 16 letters and digits starting with the bank's code "
            "(SBIN126054012345); IMPS: 12 digits.",
        )
    if mode == CHEQUE:
        return _cheque_reference(compact, ifsc)
    return Reference(compact)


def _cheque_reference(number: str, ifsc: str) -> Reference:
    if not _CHEQUE_NO.match(number):
        raise ValidationError(
            f"Cheque number: {number!r} is not a cheque number.",
            hint="Type the 6 digits printed at the cheque's bottom left.",
        )
    try:
        branch = validate_ifsc(ifsc if isinstance(ifsc, str) else "")
    except KycFieldError as exc:
        raise ValidationError(
            f"Drawee IFSC: {exc.message}", hint="It is printed on the cheque."
        ) from None
    return Reference(f"CHQ-{branch}-{number}", Cheque(number, branch))


def _checked_ref(text: str, field: str, what: str) -> str:
    try:
        return normalise_bank_ref(text)
    except ValidationError:
        raise ValidationError(
            f"{field}: {text!r} is not {what}.",
            hint="4 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit.",
        ) from None


def needs_checker(mode: str, amount: int) -> bool:
    """Whether a receipt waits for a second person before it is posted."""
    return mode == CASH and amount > CASH_CHECK_ABOVE


def check_cash_day(amount: int, earlier: int, member: str, day: str) -> None:
    """Refuse cash that would bring ``member``'s cash on ``day`` (``earlier``: already
    taken or waiting) to the s.269ST limit."""
    if earlier + amount >= CASH_DAY_LIMIT:
        raise ValidationError(
            f"Amount: {format_inr(amount)} in cash would bring {member}'s cash on {day} to "
            f"{format_inr(earlier + amount)}; the Income-tax Act (s.269ST) forbids taking "
            f"{format_inr(CASH_DAY_LIMIT)} or more in cash from one person in a day.",
            hint="Take the rest by cheque, UPI or a bank transfer.",
        )
