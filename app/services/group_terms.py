"""A new chit group's terms as a person types them: checked field by field, and the
first month's figures worked out by the auction rules.

The form (:class:`GroupForm`) holds text, as the desktop's fields do. :func:`parse`
turns it into :class:`GroupTerms` or raises one :class:`~app.kernel.errors.FieldErrors`
naming every wrong field (``field_errors`` is keyed by :data:`FIELDS`).
:func:`check` never raises: it returns the problems so far and, once the money terms
are right, a :class:`Preview` of the first month computed with
:func:`app.services.auctions.rules.settle` (the same function that settles a real
period), so what the form shows is what the group will do.

Rules a form applies beyond the agreement's own (:func:`~app.services.auctions.rules.
term_problems`): a name; a start date that is not in the past (the form creates new
groups); when the foreman takes period 1, the foreman's member; and the registration
(sanction) number s.4 of the Chit Funds Act requires before subscriptions are invited.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace
from typing import Any

from app.kernel.errors import FieldErrors, ValidationError
from app.services.auctions import rules
from app.services.auctions.rules import MAX_COMMISSION_BPS, Agreement
from app.services.money import format_bps, format_inr, percent_to_bps, rupees
from app.services.text import REGISTRATION_NO, TITLE, clean

FIELDS = {
    "name": "Group name",
    "chit_value": "Chit value",
    "members": "Number of members",
    "start_date": "Start date",
    "commission": "Foreman's commission",
    "discount_cap": "Discount cap",
    "bid_step": "Bid step",
    "foreman": "Foreman's member",
    "registration_no": "Registration (sanction) number",
}
"""Every field of the form by its key, with the label a person sees (and errors name)."""

TERM_FIELDS = {
    "gross_paise": "chit_value",
    "members": "members",
    "period_months": "members",
    "commission_bps": "commission",
    "discount_cap_bps": "discount_cap",
    "bid_step_paise": "bid_step",
}
"""Which form field each of the agreement's terms comes from."""

RULES = {
    "name": "How members and staff will know the group, e.g. “Mylapore 5 Lakh Chit 07”.",
    "chit_value": "The gross chit amount G; it must divide evenly among the members.",
    "members": "N members pay N monthly instalments; one prize is given each month.",
    "start_date": "The first draw; instalments follow monthly. Today or later.",
    "commission": f"At most {format_bps(MAX_COMMISSION_BPS)} of G (s.21 as amended in 2019); "
    "the lowest bid. Rounded down to the paisa.",
    "discount_cap": "The highest discount a member may bid; above the commission. "
    "Seen in practice: 25–45%.",
    "bid_step": "Bids move up from the commission in steps of this amount.",
    "foreman": "The foreman's own ticket takes period 1's full chit amount, without discount.",
    "registration_no": "The Registrar's sanction under s.4 of the Chit Funds Act, required "
    "before subscriptions are invited. Printed on the agreement.",
}
"""The rule behind each field, shown beside it."""

_REGISTRATION = re.compile(r"^[A-Z0-9][A-Z0-9/.\- ]*$")
MIN_MEMBERS, MAX_MEMBERS = 2, 1000


@dataclass(frozen=True)
class GroupForm:
    """A new group's terms as typed (amounts in rupees, rates in percent)."""

    name: str = ""
    chit_value: str = ""
    members: str = ""
    start_date: date | str = ""
    commission: str = "5"
    discount_cap: str = "30"
    bid_step: str = "500"
    foreman_takes_first: bool = False
    foreman_member_id: str = ""
    registration_no: str = ""


@dataclass(frozen=True)
class GroupTerms:
    """A form's terms, checked: what :meth:`GroupService.create_group` takes."""

    name: str
    agreement: Agreement
    start_date: date
    foreman_member_id: str | None
    registration_no: str

    def create_kwargs(self) -> dict[str, Any]:
        a = self.agreement
        return {
            "gross_paise": a.gross_paise,
            "members": a.members,
            "start_date": self.start_date,
            "period_months": a.period_months,
            "commission_bps": a.commission_bps,
            "discount_cap_bps": a.discount_cap_bps,
            "bid_step_paise": a.bid_step_paise,
            "foreman_takes_first": a.foreman_takes_first,
            "foreman_member_id": self.foreman_member_id,
            "registration_no": self.registration_no,
        }


@dataclass(frozen=True)
class Outcome:
    """One period's money at one winning discount (paise)."""

    discount: int
    prize: int
    dividend: int
    """Each member's share of the discount less the commission."""
    net_instalment: int


@dataclass(frozen=True)
class Preview:
    """The first month's figures (the first auction's, when the foreman takes period 1)."""

    period: int
    instalment: int
    commission: int
    floor: Outcome
    cap: Outcome
    foreman_first: Outcome | None
    """Period 1 when the foreman's ticket takes it: G without discount."""
    residue_note: str

    def lines(self) -> list[str]:
        """The preview as sentences."""
        out = []
        if self.foreman_first is not None:
            out.append(
                f"Period 1 goes to the foreman's ticket: prize "
                f"{format_inr(self.foreman_first.prize)}, no dividend; every member pays "
                f"{format_inr(self.instalment)}."
            )
        for label, o in (("At the floor", self.floor), ("At the cap", self.cap)):
            out.append(
                f"{label} (discount {format_inr(o.discount)}): prize {format_inr(o.prize)}, "
                f"dividend {format_inr(o.dividend)} per member, net instalment "
                f"{format_inr(o.net_instalment)}."
            )
        if self.residue_note:
            out.append(self.residue_note)
        return out


@dataclass(frozen=True)
class FormCheck:
    """What is wrong with a form so far (by field key), and the preview once the money
    terms are right."""

    problems: dict[str, str]
    preview: Preview | None


def parse(form: GroupForm, today: date) -> GroupTerms:
    """The checked terms of ``form``; every wrong field in one FieldErrors."""
    values, problems = _read(form, today)
    if problems:
        raise FieldErrors("The new group", problems)
    return GroupTerms(**values)


def check(form: GroupForm, today: date) -> FormCheck:
    """``form``'s problems so far and the first month's figures, for a live form."""
    values, problems = _read(form, today)
    agreement = values.get("agreement")
    return FormCheck(problems, preview(agreement) if agreement is not None else None)


def checked_terms(
    name: object,
    terms: dict[str, Any],
    start_date: object,
    foreman_member_id: str | None,
    registration_no: object,
) -> GroupTerms:
    """Typed terms (``terms``: the :class:`Agreement`'s fields) checked as a form's are,
    except that the start date may be in the past (a group entered after the fact);
    every wrong one in one FieldErrors."""
    values: dict[str, Any] = {**terms, "foreman_member_id": foreman_member_id or None}
    problems: dict[str, str] = {}
    _try(values, problems, "name", "name", lambda: _name(name))
    _try(
        values,
        problems,
        "registration_no",
        "registration_no",
        lambda: _registration(registration_no),
    )
    if not isinstance(start_date, date):
        problems["start_date"] = f"{FIELDS['start_date']} must be a date."
    if terms.get("foreman_takes_first") and not foreman_member_id:
        problems["foreman"] = NO_FOREMAN
    agreement = _agreement(values, problems)
    if problems or agreement is None or not isinstance(start_date, date):
        raise FieldErrors("The chit group", problems)
    return GroupTerms(
        values["name"],
        agreement,
        start_date,
        values["foreman_member_id"],
        values["registration_no"],
    )


def preview(agreement: Agreement) -> Preview:
    """The first auctioned month's figures at the lowest and the highest bid."""
    first = 2 if agreement.foreman_takes_first else 1
    floor = rules.settle(agreement, first, rules.discount_floor(agreement))
    cap = rules.settle(agreement, first, rules.max_bid(agreement))
    foreman = rules.settle(agreement, 1, 0) if agreement.foreman_takes_first else None
    note = ""
    if floor.residue_paise or cap.residue_paise:
        note = (
            "Dividends are rounded to the paisa; the foreman's commission absorbs the "
            "rounding, so collections always add up to the prize and the commission."
        )
    return Preview(
        period=first,
        instalment=rules.instalment(agreement),
        commission=rules.commission(agreement),
        floor=_outcome(floor),
        cap=_outcome(cap),
        foreman_first=_outcome(foreman) if foreman is not None else None,
        residue_note=note,
    )


def registration_key(number: str) -> str:
    """One spelling of a registration number, for telling duplicates apart:
    ``tn/chit 2026/12`` and ``TN-CHIT-2026-12`` are the same number."""
    return re.sub(r"[^A-Z0-9]+", "-", number.upper()).strip("-")


# -- reading the form -------------------------------------------------------------------------

NO_FOREMAN = (
    f"{FIELDS['foreman']}: the foreman takes period 1, so name the member who holds the "
    "foreman's ticket. Or untick “Foreman takes period 1”."
)
_KEPT = ("name", "start_date", "foreman_member_id", "registration_no")


def _outcome(s: rules.Settlement) -> Outcome:
    return Outcome(s.discount_paise, s.prize_paise, s.share_paise, s.net_instalment_paise)


def _read(form: GroupForm, today: date) -> tuple[dict[str, Any], dict[str, str]]:
    values: dict[str, Any] = {"foreman_takes_first": form.foreman_takes_first}
    problems: dict[str, str] = {}
    readers: tuple[tuple[str, str, Callable[[], Any]], ...] = (
        ("name", "name", lambda: _name(form.name)),
        ("gross_paise", "chit_value", lambda: _amount(form.chit_value, "chit_value")),
        ("members", "members", lambda: _members(form.members)),
        ("start_date", "start_date", lambda: _start_date(form.start_date, today)),
        ("commission_bps", "commission", lambda: _percent(form.commission, "commission")),
        ("discount_cap_bps", "discount_cap", lambda: _percent(form.discount_cap, "discount_cap")),
        ("bid_step_paise", "bid_step", lambda: _amount(form.bid_step, "bid_step")),
        ("foreman_member_id", "foreman", lambda: _foreman(form)),
        ("registration_no", "registration_no", lambda: _registration(form.registration_no)),
    )
    for key, field, read in readers:
        _try(values, problems, key, field, read)
    agreement = _agreement(values, problems)
    kept = {key: values[key] for key in _KEPT if key in values}
    return ({**kept, "agreement": agreement} if agreement else kept), problems


def _try(
    values: dict[str, Any], problems: dict[str, str], key: str, field: str, read: Callable[[], Any]
) -> None:
    try:
        values[key] = read()
    except ValidationError as exc:
        problems[field] = f"{exc.message} {exc.hint}".strip()


def _agreement(values: dict[str, Any], problems: dict[str, str]) -> Agreement | None:
    """The agreement of ``values``' terms, or None; each wrong term is added to
    ``problems`` under its field (unless that field is wrong already)."""
    terms: dict[str, Any] = {k: values.get(k) for k in (*TERM_FIELDS, "foreman_takes_first")}
    terms["period_months"] = terms["period_months"] or 1
    terms["foreman_takes_first"] = bool(terms["foreman_takes_first"])
    if any(terms[key] is None for key in TERM_FIELDS):
        return None
    wrong = rules.term_problems(SimpleNamespace(**terms))
    for term, message in wrong:
        field = TERM_FIELDS[term]
        problems.setdefault(field, f"{FIELDS[field]}: {message}.")
    return None if wrong else Agreement(**terms)


def _name(value: object) -> str:
    return clean(value, FIELDS["name"], TITLE, required=True)


def _registration(value: object) -> str:
    label = FIELDS["registration_no"]
    text = clean(value, label, REGISTRATION_NO, required=True).upper()
    if not _REGISTRATION.match(text) or not any(ch.isdigit() for ch in text):
        raise ValidationError(
            f"{label} {text!r} is not a registration number: use letters, digits, spaces "
            "and / . - only, with at least one digit.",
            hint="Copy it from the Registrar's sanction order, e.g. TN/CHIT/2026/0142.",
        )
    return text


def _given(value: object, field: str) -> str:
    text = str(value).strip() if isinstance(value, str | int) else ""
    if not text:
        raise ValidationError(f"{FIELDS[field]} is required.", hint=RULES[field])
    return text


def _amount(value: object, field: str) -> int:
    return rupees(_given(value, field), field=FIELDS[field])


def _percent(value: object, field: str) -> int:
    return percent_to_bps(_given(value, field), field=FIELDS[field])


def _members(value: object) -> int:
    label = FIELDS["members"]
    text = _given(value, "members")
    if not text.isdigit() or not MIN_MEMBERS <= int(text) <= MAX_MEMBERS:
        raise ValidationError(
            f"{label}: {text} is not a whole number from {MIN_MEMBERS} to {MAX_MEMBERS}.",
            hint="It is also the number of monthly periods.",
        )
    return int(text)


def _start_date(value: date | str, today: date) -> date:
    label = FIELDS["start_date"]
    try:
        day = value if isinstance(value, date) else date.fromisoformat(_given(value, "start_date"))
    except ValueError:
        raise ValidationError(f"{label}: {value!r} is not a date (YYYY-MM-DD).") from None
    if day < today:
        raise ValidationError(
            f"{label} {day.strftime('%d %b %Y')} is in the past: a new group's first draw "
            f"is today ({today.strftime('%d %b %Y')}) or later."
        )
    return day


def _foreman(form: GroupForm) -> str | None:
    member = form.foreman_member_id.strip() if isinstance(form.foreman_member_id, str) else ""
    if form.foreman_takes_first and not member:
        raise ValidationError(NO_FOREMAN)
    return member or None
