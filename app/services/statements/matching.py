"""Sorting a statement's lines against the books: who paid, for which due.

:class:`Books` is read once per preview (members, their open dues with tickets and
groups, the receipts and capital pay-ins already holding a reference of the file, counter
cheques waiting to clear); :func:`sort_lines` then walks the file in order, so that two
lines paying the same due are seen as such (the second finds it paid by the first).

Who paid, from the narration (first rule that finds someone wins): the member's id or
number; a 10-digit mobile number; the member's full name (any order of its words). A
group's id or name in the narration narrows the dues to that group. Then the due: the
member's open dues that still owe exactly the credit; one group's (its oldest period)
is a match, several groups' is ambiguous, none is a wrong amount.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from app.services.ledger.postings import normalise_bank_ref
from app.services.ledger.records import BANK
from app.services.money import format_inr
from app.services.statements.csvfile import Line, mapping
from app.services.statements.model import (
    AMBIGUOUS,
    MATCHED,
    NOT_RECEIPT,
    RECORDED,
    UNMATCHED,
    WRONG_AMOUNT,
    Candidate,
    Sorted,
)

_ATOM = re.compile(r"[A-Z0-9]+")
_WORD = re.compile(r"[A-Z]+")
_PHONE = re.compile(r"(?<!\d)(?:\+?91[\s-]?|0)?([6-9]\d{9})(?!\d)")
_UPI_RRN = re.compile(r"(?<!\d)(\d{12})(?!\d)")
_UTR = re.compile(r"\b([A-Z]{4}[0-9A-Z]\d{10,17})\b")
_BANK_REF = re.compile(r"^[A-Z0-9][A-Z0-9._-]{3,63}$")


@dataclass
class Books:
    """What a statement is matched against (see module docstring)."""

    member_names: dict[str, str] = field(default_factory=dict)
    by_id: dict[str, str] = field(default_factory=dict)
    """A member's id or number (upper case) -> member id."""
    by_phone: dict[str, str] = field(default_factory=dict)
    by_name: dict[str, set[str]] = field(default_factory=dict)
    """A member's name words, sorted and joined by spaces -> member ids."""
    name_lengths: frozenset[int] = frozenset()
    dues: dict[str, list[Candidate]] = field(default_factory=dict)
    """Member id -> open dues, oldest first."""
    groups: dict[str, str] = field(default_factory=dict)
    """A group's id or name (upper case) -> group id."""
    receipts: dict[str, str] = field(default_factory=dict)
    """A reference already holding a receipt (or a capital pay-in) -> what it was
    recorded as."""
    cheques: dict[tuple[str, int], str] = field(default_factory=dict)
    """(cheque number, amount) of a counter cheque waiting to clear -> its reference."""

    def add_member(self, member_id: str, name: str, phone: str, number: str = "") -> None:
        self.member_names[member_id] = name
        self.by_id[member_id.upper()] = member_id
        if number:
            self.by_id[number.upper()] = member_id
        if phone:
            self.by_phone[phone[-10:]] = member_id
        words = _WORD.findall(name.upper())
        if len(words) >= 2:
            self.by_name.setdefault(" ".join(sorted(words)), set()).add(member_id)
            self.name_lengths = self.name_lengths | {len(words)}

    def add_group(self, group_id: str, name: str) -> None:
        self.groups[group_id.upper()] = group_id
        self.groups[" ".join(_WORD.findall(name.upper())) or group_id.upper()] = group_id


def line_reference(line: Line) -> str:
    """The receipt reference of a line: its reference column; else the UPI RRN or NEFT
    UTR in its narration; else one made from the line (``STMT-`` and 16 hex digits)."""
    typed = line.reference.strip().upper().replace(" ", "")
    if _BANK_REF.match(typed):
        return normalise_bank_ref(typed)
    text = line.narration.upper()
    found = _UPI_RRN.search(text) if "UPI" in text else _UTR.search(text)
    if found:
        return found.group(1)
    key = f"{line.date}|{line.narration}|{line.credit}|{line.debit}|{line.balance}"
    return "STMT-" + hashlib.sha256(key.encode()).hexdigest()[:16].upper()


def line_mode(narration: str) -> str:
    """How the money came, from the narration's words (the mapping's ``modes``)."""
    text = narration.upper()
    for mode, words in mapping().modes.items():
        if any(word in text for word in words):
            return mode
    return BANK


def tokens(text: str) -> list[str]:
    """The narration's words and numbers, and each two of them joined by a dash: an id
    (``MEM-3F9A1C2B07``) is found however the bank glued it to its neighbours."""
    atoms = _ATOM.findall(text)
    return atoms + [f"{a}-{b}" for a, b in itertools.pairwise(atoms)]


def who_paid(books: Books, narration: str) -> tuple[set[str], str]:
    """The members a narration names, and by what (see module docstring)."""
    text = narration.upper()
    found = {books.by_id[t] for t in tokens(text) if t in books.by_id}
    if found:
        return found, "member number"
    found = {books.by_phone[p] for p in _PHONE.findall(text) if p in books.by_phone}
    if found:
        return found, "mobile number"
    words = _WORD.findall(text)
    for size in sorted(books.name_lengths, reverse=True):
        for start in range(len(words) - size + 1):
            key = " ".join(sorted(words[start : start + size]))
            found |= books.by_name.get(key, set())
        if found:
            return found, "name"
    return set(), ""


def group_named(books: Books, narration: str) -> str | None:
    text = narration.upper()
    for token in tokens(text):
        if token in books.groups:
            return books.groups[token]
    words = " ".join(_WORD.findall(text))
    for name, group_id in books.groups.items():
        if " " in name and name in words:
            return group_id
    return None


class Sorter:
    """Sorts lines in file order, remembering what earlier lines paid."""

    def __init__(self, books: Books) -> None:
        self.books = books
        self.paid: dict[tuple[str, str, int], int] = {}
        self.refs: dict[str, int] = {}

    def sort(self, line: Line) -> Sorted:
        ref, mode = line_reference(line), line_mode(line.narration)
        if line.credit <= 0:
            return Sorted(line, NOT_RECEIPT, ref, mode, "money out" if line.debit else "no credit")
        if ref in self.refs:
            return Sorted(line, RECORDED, ref, mode, f"same reference as row {self.refs[ref]}")
        self.refs[ref] = line.number
        if ref in self.books.receipts:
            return Sorted(line, RECORDED, ref, mode, self.books.receipts[ref])
        cheque = self._counter_cheque(line, mode)
        if cheque:
            why = "a cheque taken at the counter, now paid by the bank: it is marked cleared"
            return Sorted(line, RECORDED, cheque, mode, why, clears_cheque=True)
        members, how = who_paid(self.books, line.narration)
        if not members:
            return Sorted(line, UNMATCHED, ref, mode, "no member's number, mobile or name")
        return self._due(line, ref, mode, members, how)

    def _counter_cheque(self, line: Line, mode: str) -> str:
        number = line.reference.strip()
        if mode != "cheque" or not number.isdigit():
            return ""
        return self.books.cheques.get((number.zfill(6), line.credit), "")

    def _due(self, line: Line, ref: str, mode: str, members: set[str], how: str) -> Sorted:
        group = group_named(self.books, line.narration)
        open_dues = [
            self._left(d)
            for m in sorted(members)
            for d in self.books.dues.get(m, [])
            if group is None or d.group_id == group
        ]
        open_dues = [d for d in open_dues if d.outstanding > 0]
        exact = [d for d in open_dues if d.outstanding == line.credit]
        names = " or ".join(sorted(self.books.member_names[m] for m in members))
        if len(members) > 1:
            choices = exact or open_dues
            why = f"the {how} fits {len(members)} members: {names}"
            return Sorted(line, AMBIGUOUS, ref, mode, why, tuple(choices))
        if not open_dues:
            return Sorted(line, WRONG_AMOUNT, ref, mode, f"nothing is due from {names}")
        if not exact:
            owed = ", ".join(sorted({format_inr(d.outstanding) for d in open_dues}))
            why = f"{names} owes {owed}, not {format_inr(line.credit)}"
            return Sorted(line, WRONG_AMOUNT, ref, mode, why, tuple(open_dues))
        groups = len({d.group_id for d in exact})
        if groups > 1:
            why = f"{names} owes {format_inr(line.credit)} in {groups} groups"
            return Sorted(line, AMBIGUOUS, ref, mode, why, tuple(exact))
        chosen = exact[0]
        self.paid[chosen.due_key] = self.paid.get(chosen.due_key, 0) + line.credit
        return Sorted(line, MATCHED, ref, mode, f"by {how}", (chosen,), chosen, line.credit)

    def _left(self, due: Candidate) -> Candidate:
        paid = self.paid.get(due.due_key, 0)
        if not paid:
            return due
        return Candidate(
            due.member_id, due.member_name, due.group_id, due.group_name, due.period,
            due.outstanding - paid, due.due_date, due.ticket_no,
        )  # fmt: skip


def sort_lines(books: Books, lines: Iterable[Line]) -> list[Sorted]:
    sorter = Sorter(books)
    return [sorter.sort(line) for line in lines]
