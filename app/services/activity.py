"""The activity feed's wording: one WAL record as a sentence.

"Ravi Kumar (employee) recorded a receipt of ₹2,500.00 from Neha Naidu for Chennai 5
Lakh Chit 01, period 3": who did what to whom, from the record's actor, entity and
event, in the words of the event's class (``SAID`` in :mod:`app.services.events`).
Ids become names where the store knows them (:class:`Names`); amounts, dates and counts
are written as people read them, by the format specs a sentence uses:

* ``{amount:inr}`` ₹ amount; ``{sent_on:day}`` a date; ``{ends_at:time}`` a time;
* ``{opened:case}`` a count (of a list, or a number) with its noun: "1 case", "3 cases";
* ``{to:words}`` ``follow_up`` as "follow up"; ``{role:article}`` "an admin";
  ``{field:upper}`` "PAN"; ``{into:account}`` ``cash:lending`` as "lending cash".

Besides the event's fields a sentence may use ``{who}`` (the actor), ``{id}`` (the
entity's id), ``{thing}`` (the entity by name: a member's or group's name, "Chennai
Chit, period 3" for an auction or payout, "the loan of Neha Naidu (L-0042)"),
``{member}``, ``{group}`` and ``{winner}`` (the names behind ``member_id``,
``group_id`` and ``winner_member_id``), ``{members}`` (one name, or "3 members") and
``{for_member}`` (" for Neha Naidu" when staff acted for a member). A record whose
event does not fit its sentence (an older shape) is told plainly: "who did what to
which thing". The desktop's feed reads these through
:meth:`app.services.audit_log.AuditLog.activity`.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from app.kernel import office_time
from app.kernel.wal_index import LineSummary
from app.services.collections import GROUPS, LOANS, MEMBERS, RECOVERY_CASES, STAFF_ACCOUNTS
from app.services.events import wording
from app.services.ledger.reports import FIXED_NAMES
from app.services.loans.book import loan_code
from app.services.money import format_inr
from app.services.store import DocumentStore

CACHED_NAMES = 4096
NUMBERED = ("auction", "payout", "ticket")
"""Entities whose id is ``<group id>-<number>``: a period (auction, payout) or a ticket."""


class Names:
    """Names by id, read from the store and remembered: members, groups and staff by
    their own name, loans and recovery cases by their member's."""

    COLLECTIONS: ClassVar[dict[str, str]] = {
        "member": MEMBERS,
        "group": GROUPS,
        "staff": STAFF_ACCOUNTS,
    }
    HOLDERS: ClassVar[dict[str, str]] = {"loan": LOANS, "recovery_case": RECOVERY_CASES}

    def __init__(self, store: DocumentStore | None = None) -> None:
        self._store = store
        self._known: dict[tuple[str, str], str] = {}

    def of(self, kind: str, ident: str) -> str | None:
        """The name of the ``kind`` with id ``ident`` (for a loan or a recovery case:
        its member's name), if the store knows it."""
        return self._remembered((kind, ident), lambda: self._read(kind, ident))

    def number(self, kind: str, ident: str) -> str:
        """How people number the ``kind`` with id ``ident``: a loan's number (``L-0042``);
        the id for a loan stored before numbering, or anything else."""
        if kind != "loan":
            return ident
        return self._remembered(("loan_no", ident), lambda: self._loan_no(ident)) or ident

    def _remembered(self, key: tuple[str, str], read: Callable[[], str | None]) -> str | None:
        if key not in self._known:
            value = read()
            if value is None:
                return None
            if len(self._known) >= CACHED_NAMES:
                self._known.clear()
            self._known[key] = value
        return self._known[key]

    def _loan_no(self, ident: str) -> str | None:
        doc = self._store.get(LOANS, ident) if self._store is not None and ident else None
        return loan_code(doc) if doc is not None else None

    def shown(self, kind: str, ident: str) -> str:
        return self.of(kind, ident) or ident

    def _read(self, kind: str, ident: str) -> str | None:
        if self._store is None or not ident:
            return None
        if kind in self.HOLDERS:
            doc = self._store.get(self.HOLDERS[kind], ident)
            member = doc.data.get("member_id") if doc is not None else None
            return self.of("member", member) if isinstance(member, str) else None
        if kind not in self.COLLECTIONS:
            return None
        doc = self._store.get(self.COLLECTIONS[kind], ident)
        name = doc.data.get("name") if doc is not None else None
        return name if isinstance(name, str) and name else None


class _Words(string.Formatter):
    """``str.format`` with the feed's format specs (see module docstring)."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec == "inr":
            return format_inr(int(value))
        if format_spec == "day":
            return office_time.day(value)
        if format_spec == "time":
            return office_time.moment(value)
        if format_spec == "words":
            return str(value).replace("_", " ")
        if format_spec == "upper":
            return str(value).upper()
        if format_spec == "account":
            name = FIXED_NAMES.get(str(value), str(value))
            return name[:1].lower() + name[1:]
        if format_spec == "article":
            word = str(value).replace("_", " ")
            return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"
        if format_spec.isalpha():
            return counted(value, format_spec)
        return str(super().format_field(value, format_spec))


_WORDS = _Words()


def counted(value: Any, noun: str) -> str:
    """``3 cases``, ``1 case`` (``value`` a number, or a list to count)."""
    count = len(value) if isinstance(value, list | tuple) else int(value)
    if count == 1:
        return f"1 {noun}"
    return f"{count:,} {noun[:-1] + 'ies' if noun.endswith('y') else noun + 's'}"


def describe(
    s: LineSummary, event: Mapping[str, Any] | None = None, names: Names | None = None
) -> str:
    """One record in plain words: who did what to whom."""
    if s.damaged:
        return f"A damaged log line ({s.damaged})"
    names = names or Names()
    said = sentence(s, event or {}, names)
    if said is not None:
        return said
    who, (did, _) = _who(s), wording(s.action)
    if s.entity.get("id") == s.actor.get("id"):
        return f"{who} {did}"
    return f"{who} {did} {_thing(s, names)}".rstrip()


def sentence(s: LineSummary, event: Mapping[str, Any], names: Names) -> str | None:
    """The record told in its event's sentence; None when its event has none, or has
    not the fields the sentence needs (a record of an older shape)."""
    said = wording(s.action)[1]
    if not said:
        return None
    who = _who(s)
    try:
        text = _WORDS.vformat(said, (), _values(s, event, names, who))
    except (KeyError, IndexError, ValueError, TypeError, AttributeError):
        return None
    return f"{who} {text}" if said[:1].islower() else text[:1].upper() + text[1:]


def _who(s: LineSummary) -> str:
    return f"{s.actor.get('name', '?')} ({s.actor.get('role', '?')})"


def _values(s: LineSummary, event: Mapping[str, Any], names: Names, who: str) -> dict[str, Any]:
    values: dict[str, Any] = {**event, "who": who, "id": s.entity.get("id", "")}
    values["thing"] = _thing(s, names)
    for field, kind, key in (
        ("member_id", "member", "member"),
        ("group_id", "group", "group"),
        ("winner_member_id", "member", "winner"),
    ):
        if isinstance(event.get(field), str):
            values[key] = names.shown(kind, event[field])
    if isinstance(event.get("member_ids"), list):
        values["members"] = _members(event["member_ids"], names)
    member = event.get("member_id")
    acted_for = isinstance(member, str) and member != s.actor.get("id")
    values["for_member"] = f" for {names.shown('member', str(member))}" if acted_for else ""
    return values


def _members(ids: Sequence[str], names: Names) -> str:
    return names.shown("member", ids[0]) if len(ids) == 1 else counted(ids, "member")


def _thing(s: LineSummary, names: Names) -> str:
    """The record's entity as people name it."""
    kind, ident = s.entity.get("type", ""), s.entity.get("id", "")
    if kind in ("member", "kyc"):
        return names.of("member", ident) or f"member {ident}"
    if kind in ("group", "staff"):
        return names.of(kind, ident) or f"{kind} {ident}"
    if kind in Names.HOLDERS:
        holder = names.of(kind, ident)
        what = kind.replace("_", " ")
        shown = names.number(kind, ident)
        return f"the {what} of {holder} ({shown})" if holder else f"{what} {shown}"
    if kind in NUMBERED and "-" in ident:
        group_id, number = ident.rsplit("-", 1)
        group = names.of("group", group_id)
        if group is not None and kind == "ticket":
            return f"ticket {number} of {group}"
        if group is not None:
            return f"{group}, period {number}"
    if kind == "phone":
        return "a number that is no member's"
    return f"{kind.replace('_', ' ')} {ident}".strip()
