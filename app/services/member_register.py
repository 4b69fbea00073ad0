"""The members' register: every member, searched, a page at a time.

:meth:`MemberRegister.page` is the read model behind the desktop's register, a lazy
table over 100,000 members: the members matching a search (name, mobile or member
number, see :mod:`app.services.member_index`) in name order, one page at a time from a
cursor, each row with the member's status and KYC state, tickets, and what they owe late.

A page's rows are read fresh from the store (the member documents, their tickets, their
unpaid dues and disbursed loans, in a few queries for the whole page), so a page is
current even though the search runs over the index. Overdue means past its due date and
not paid in full: chit instalments, and EMIs of disbursed loans, counted to the
services' today.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from app.services import topics
from app.services.collections import DUES, LOANS, MEMBERS, TICKETS
from app.services.context import ServiceContext
from app.services.ledger import Due
from app.services.loans import DISBURSED
from app.services.member_index import Cursor, Entry, after
from app.services.members import Member, MemberService
from app.services.recovery.service import loan_overdue
from app.services.store import Document, DocumentStore, Query
from app.services.topics import reads

PAGE = 200
IN_LIMIT = 30
"""The most values one ``in`` filter may hold (Firestore's limit)."""


@dataclass(frozen=True)
class Late:
    """What a member owes past its due date: the amount and the oldest due date."""

    amount: int = 0
    oldest: date | None = None

    def add(self, amount: int, due: date) -> Late:
        oldest = due if self.oldest is None else min(self.oldest, due)
        return Late(self.amount + amount, oldest)

    def days(self, today: date) -> int:
        return (today - self.oldest).days if self.oldest is not None else 0


@dataclass(frozen=True)
class RegisterRow:
    """One member in the register (masked mobile only)."""

    member_id: str
    member_no: str
    name: str
    phone_masked: str
    status: str
    kyc_status: str
    tickets: int
    prized: int
    overdue: int
    days_late: int
    cursor: Cursor


@dataclass(frozen=True)
class RegisterPage:
    """Up to a page of rows matching ``search`` after a cursor, and the counts."""

    search: str
    rows: list[RegisterRow]
    matches: int
    total: int
    more: bool
    as_of: date


class MemberRegister:
    """Reads the register a page at a time (see module docstring)."""

    def __init__(self, ctx: ServiceContext, members: MemberService) -> None:
        self.ctx = ctx
        self.members = members

    @reads(topics.MEMBERS, topics.KYC, topics.GROUPS, topics.DUES, topics.LOANS)
    def page(
        self, search: str = "", *, after_row: Cursor | None = None, limit: int = PAGE
    ) -> RegisterPage:
        """The members matching ``search`` (every member when empty) that come after
        ``after_row`` (from the start when None), at most ``limit`` of them."""
        found = self.members.index.find(search)
        start = after(found, after_row)
        chosen = found[start : start + max(limit, 0)]
        today = self.ctx.clock.today()
        rows = self._rows(chosen, today)
        return RegisterPage(
            search=search,
            rows=rows,
            matches=len(found),
            total=self.members.index.total(),
            more=start + len(chosen) < len(found),
            as_of=today,
        )

    def _rows(self, chosen: list[Entry], today: date) -> list[RegisterRow]:
        ids = [e.id for e in chosen]
        store = self.ctx.store
        docs = store.get_many(MEMBERS, ids)
        self.members.index.update(docs.values())
        tickets, prized = _tickets(store, ids)
        late = late_by_member(store, ids, today)
        return [
            _row(Member.from_doc(docs[e.id]), tickets[e.id], prized[e.id], late[e.id], today, e)
            for e in chosen
            if e.id in docs
        ]


def _each(
    store: DocumentStore, collection: str, ids: list[str], *, status: str | None = None
) -> Iterator[Document]:
    """The documents of ``collection`` whose member is one of ``ids`` (and in ``status``)."""
    for start in range(0, len(ids), IN_LIMIT):
        query = Query(collection).where("member_id", "in", ids[start : start + IN_LIMIT])
        if status is not None:
            query = query.where("status", "==", status)
        yield from store.stream(query)


def _tickets(store: DocumentStore, ids: list[str]) -> tuple[dict[str, int], dict[str, int]]:
    held: defaultdict[str, int] = defaultdict(int)
    prized: defaultdict[str, int] = defaultdict(int)
    for doc in _each(store, TICKETS, ids):
        held[doc.data["member_id"]] += 1
        prized[doc.data["member_id"]] += doc.data.get("prized_period") is not None
    return held, prized


def late_by_member(store: DocumentStore, ids: list[str], today: date) -> defaultdict[str, Late]:
    """What each of ``ids`` owes past its due date as of ``today``: unpaid instalments
    and the EMIs of disbursed loans."""
    late: defaultdict[str, Late] = defaultdict(Late)
    for doc in _each(store, DUES, ids, status="due"):
        due = Due.from_doc(doc)
        due_on = date.fromisoformat(due.due_date)
        if due_on < today and due.outstanding > 0:
            late[due.member_id] = late[due.member_id].add(due.outstanding, due_on)
    for doc in _each(store, LOANS, ids, status=DISBURSED):
        owed = loan_overdue(doc.id, doc.data, today)
        if owed is not None:
            late[owed.member_id] = late[owed.member_id].add(owed.amount, owed.oldest_due)
    return late


def _row(
    m: Member, tickets: int, prized: int, late: Late, today: date, entry: Entry
) -> RegisterRow:
    return RegisterRow(
        member_id=m.id,
        member_no=m.member_no,
        name=m.name,
        phone_masked=m.phone_masked,
        status=m.status,
        kyc_status=m.kyc_status,
        tickets=tickets,
        prized=prized,
        overdue=late.amount,
        days_late=late.days(today),
        cursor=entry.cursor,
    )
