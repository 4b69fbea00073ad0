"""Checks on loan applications and decisions: terms, notes, status, maker-checker."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from app.kernel.errors import Conflict, PermissionDenied, ValidationError
from app.services import emi as emi_calc
from app.services.actors import Actor
from app.services.collections import LOANS, MEMBERS
from app.services.loans.book import DEFAULT_RATE_BPS, preview
from app.services.money import format_inr, rupees
from app.services.pipeline import Reader
from app.services.store import Document
from app.services.text import LINE, NOTE, clean

MIN_AMOUNT = 1_000_00
MAX_AMOUNT = 50_00_000_00
MAX_TENURE_MONTHS = 60
MAX_PURPOSE = LINE.max_chars
MAX_NOTE = NOTE.max_chars

SCORE_FIRST = "Wait for the loan queue to score it, or score it from its screen."


def checked_terms(
    amount: int, tenure: int, purpose: str, rate_bps: int | None, flat_rate_bps: int | None
) -> dict[str, Any]:
    """The application's terms, or one ValidationError listing every problem."""
    text = clean(purpose, "Purpose", LINE)
    problems = _amount_problems(amount) + _tenure_problems(tenure)
    if len(text) < 3:
        problems.append("say what the loan is for (purpose)")
    if rate_bps is not None and flat_rate_bps is not None:
        problems.append("give either a reducing rate or a flat rate, not both")
    rate = DEFAULT_RATE_BPS if rate_bps is None else rate_bps
    for name, value in (("rate_bps", rate), ("flat_rate_bps", flat_rate_bps)):
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not 0 <= value <= emi_calc.MAX_RATE_BPS
        ):
            problems.append(
                f"{name} must be 0 to {emi_calc.MAX_RATE_BPS} basis points (got {value!r})"
            )
    if problems:
        raise ValidationError(
            "The loan application is not valid: " + "; ".join(problems) + ".",
            hint="Correct these and apply again.",
        )
    quote = preview(amount, tenure, rate, flat_rate_bps)
    flat = quote.flat
    return {
        "amount": amount,
        "tenure_months": tenure,
        "rate_bps": quote.rate_bps,
        "emi": quote.emi,
        "total_interest": quote.total_interest,
        "purpose": text,
        "flat_quote": None
        if flat is None
        else {
            "flat_rate_bps": flat.flat_rate_bps,
            "emi": flat.emi,
            "total_interest": flat.total_interest,
            "reducing_rate_bps": flat.reducing_rate_bps,
            "label": flat.label,
        },
        "score": None,
        "eligibility": None,
        "eligibility_reasons": [],
    }


def form_terms(amount_text: Any, tenure_text: Any) -> tuple[int, int]:
    """The amount (rupees, as typed in a form) and tenure (months) of an application,
    checked: paise and months, or a ValidationError saying what to enter."""
    if not isinstance(amount_text, str | int) or str(amount_text).strip() == "":
        raise ValidationError("Enter the amount you need, in rupees.")
    amount = rupees(amount_text if isinstance(amount_text, int) else str(amount_text))
    try:
        tenure = int(str(tenure_text))
    except ValueError:
        raise ValidationError("Enter the tenure as a whole number of months.") from None
    if not MIN_AMOUNT <= amount <= MAX_AMOUNT:
        raise ValidationError(
            f"The amount must be {format_inr(MIN_AMOUNT)} to {format_inr(MAX_AMOUNT)}."
        )
    if not 1 <= tenure <= MAX_TENURE_MONTHS:
        raise ValidationError(f"The tenure must be 1 to {MAX_TENURE_MONTHS} months.")
    return amount, tenure


def _amount_problems(amount: int) -> list[str]:
    if isinstance(amount, bool) or not isinstance(amount, int):
        return [f"the amount must be whole paise (got {amount!r})"]
    if not MIN_AMOUNT <= amount <= MAX_AMOUNT:
        return [
            f"the amount must be {format_inr(MIN_AMOUNT)} to {format_inr(MAX_AMOUNT)} "
            f"(got {format_inr(amount)})"
        ]
    return []


def _tenure_problems(tenure: int) -> list[str]:
    if (
        isinstance(tenure, bool)
        or not isinstance(tenure, int)
        or not (1 <= tenure <= MAX_TENURE_MONTHS)
    ):
        return [f"the tenure must be 1 to {MAX_TENURE_MONTHS} months (got {tenure!r})"]
    return []


def checked_note(note: str, *, required: bool, what: str = "note") -> str:
    text = clean(note, what.capitalize(), NOTE)
    if required and not text:
        raise ValidationError(f"A {what} is required.", hint="Say why, in a sentence.")
    return text


def require_active_member(reader: Reader, member_id: str) -> Document:
    member = reader.require(MEMBERS, member_id, "member")
    if member.data.get("status", "active") != "active":
        raise Conflict(f"Member {member_id} has been removed and cannot take a loan.")
    return member


def require_loan(reader: Reader, loan_id: str) -> Document:
    return reader.require(LOANS, loan_id, "loan")


def require_status(loan: Document, allowed: Iterable[str], doing: str, *, hint: str = "") -> None:
    status = loan.data["status"]
    allowed = tuple(allowed)
    if status not in allowed:
        raise Conflict(
            f"Loan {loan.id} is {status}; only a loan that is {' or '.join(allowed)} can {doing}.",
            hint=hint,
        )


def check_not_own(actor: Actor, loan: Document, doing: str) -> None:
    if actor.id == loan.data["member_id"]:
        raise PermissionDenied(
            f"{actor.name} applied for loan {loan.id} and cannot {doing} their own loan.",
            hint="Another employee must do it.",
        )


def check_checker(actor: Actor, loan: Document) -> None:
    maker = loan.data.get("recommended_by") or {}
    if maker.get("id") == actor.id:
        raise PermissionDenied(
            f"{actor.name} recommended loan {loan.id} and so cannot approve it: the maker "
            "can never check their own action.",
            hint="A second employee or an admin must approve it.",
        )


def check_recommendable(loan: Document, note: str) -> None:
    eligibility = loan.data.get("eligibility")
    reasons = "; ".join(loan.data.get("eligibility_reasons", []))
    if eligibility == "ineligible":
        raise Conflict(
            f"Loan {loan.id} is ineligible and cannot be recommended: {reasons}",
            hint="Reject it, or fix the cause and score it again.",
        )
    if eligibility == "needs_review" and not note:
        raise ValidationError(
            f"Loan {loan.id} needs review ({reasons}); say in the note why you recommend it."
        )
