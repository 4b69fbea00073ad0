"""The members' search index: every member's name, mobile and number in memory, so that
the register searches 100,000 members in milliseconds.

It is built on first use from the members' directory (``member_directory/``: a document
per block of 250 member numbers, kept by enrolment, see :mod:`app.services.members`), so
100,000 members take 400 reads, off the GUI thread like every read. When the directory
does not list every member (members enrolled before it began), the index is built from
every member document instead. Afterwards each use first reads the members enrolled
since: member numbers only grow, so that is one indexed query for numbers above the
highest seen, which usually finds nothing. A search therefore sees every member
committed before it began, by this process or any other.

An entry holds only what does not change after enrolment (name, mobile, number); what
can change (status, KYC state) is read fresh for the rows shown. Members enrolled before
numbering began have no number and are found by the first read only, which is enough:
nobody enrols without one any more.

What a search matches (:func:`parse`):

* ``M-0042`` or ``m42``: that member number;
* digits (spaces, ``+``, ``-`` and brackets allowed): that member number (unless they
  begin with 0), or with 4 digits or more the mobile numbers ending in them (``3210``, as
  a masked number shows, or a whole number in any usual format);
* anything else: the names containing every word typed, in any order and case (``rao
  asha`` finds Asha Rao), or the member whose id it is.

Matches are in the register's order: by name, then id.
"""

from __future__ import annotations

import bisect
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

from app.services.collections import MEMBER_DIRECTORY, MEMBERS
from app.services.store import Document, DocumentStore, Query
from app.services.text import ascii_digits, normalise

Cursor = tuple[str, str]
"""A place in the register's order: (name in lower case, member id)."""
PHONE_DIGITS = 10
MIN_PHONE_DIGITS = 4
_NUMBER = re.compile(r"m\s*-?\s*(\d{1,9})")
_PHONE_MARKS = re.compile(r"[\s+\-()]")
ID_PREFIX = re.compile(r"mem-[0-9a-f]+")


class Entry(NamedTuple):
    """One member as the index knows them; entries sort in the register's order."""

    name: str  # case-folded
    id: str
    number: int | None
    phone: str  # the last 10 digits

    @property
    def cursor(self) -> Cursor:
        return (self.name, self.id)


def entry_of(doc: Document) -> Entry:
    d = doc.data
    number = d.get("number")
    return Entry(
        str(d.get("name", "")).casefold(),
        doc.id,
        number if isinstance(number, int) else None,
        str(d.get("phone", ""))[-PHONE_DIGITS:],  # stored as +91 and 10 digits
    )


@dataclass(frozen=True)
class Search:
    """What was typed, parsed: a member number, the digits of a mobile number, words of a
    name, or a member id."""

    number: int | None = None
    phone: str = ""
    words: tuple[str, ...] = ()
    member_id: str = ""

    @property
    def everyone(self) -> bool:
        return self.number is None and not (self.phone or self.words or self.member_id)

    def matches(self) -> Callable[[Entry], bool]:
        number, phone, words, member_id = self.number, self.phone, self.words, self.member_id
        if member_id:
            return lambda e: e.id == member_id
        if words:
            return lambda e: all(w in e.name for w in words)
        if phone:
            return lambda e: e.number == number or e.phone.endswith(phone)
        return lambda e: e.number == number


def parse(text: str) -> Search:
    """What ``text`` searches for (see module docstring)."""
    needle = normalise(ascii_digits(text)).casefold()
    numbered = _NUMBER.fullmatch(needle)
    if numbered:
        return Search(number=int(numbered.group(1)))
    digits = _PHONE_MARKS.sub("", needle)
    if digits.isdigit() and digits.isascii():
        number = int(digits) if len(digits) <= 9 and not digits.startswith("0") else None
        return Search(number=number, phone=_phone_tail(digits))
    if ID_PREFIX.fullmatch(needle):
        return Search(member_id=needle)
    return Search(words=tuple(needle.split()))


def _phone_tail(digits: str) -> str:
    """The digits to find at the end of a mobile number ("" when too few to mean one)."""
    if len(digits) < MIN_PHONE_DIGITS:
        return ""
    if len(digits) == PHONE_DIGITS + 1 and digits.startswith("0"):
        return digits[1:]
    return digits[-PHONE_DIGITS:]


class MemberIndex:
    """Every member's entry, in the register's order (see module docstring).

    Safe to use from several threads: each use holds the index's lock.
    """

    def __init__(self, store: DocumentStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._entries: list[Entry] = []
        self._by_id: dict[str, Entry] = {}
        self._last_number = 0
        self._built = False
        self._last: tuple[Search, list[Entry]] | None = None

    def find(self, text: str) -> list[Entry]:
        """The members matching ``text``, in the register's order (a list to keep)."""
        search = parse(text)
        with self._lock:
            self._catch_up()
            if self._last is not None and self._last[0] == search:
                return self._last[1]
            if search.everyone:
                found = list(self._entries)
            else:
                found = list(filter(search.matches(), self._entries))
            self._last = (search, found)
            return found

    def total(self) -> int:
        """How many members the index holds (as of its last use)."""
        with self._lock:
            return len(self._entries)

    def update(self, docs: Iterable[Document]) -> None:
        """Take the entries of ``docs`` as they are now (e.g. the rows a page just read)."""
        with self._lock:
            for doc in docs:
                if self._by_id.get(doc.id) != entry_of(doc):
                    self._put(entry_of(doc))

    def _catch_up(self) -> None:
        if not self._built:
            self._build()
            return
        newer = Query(MEMBERS).where("number", ">", self._last_number).order_by("number")
        for doc in self._store.stream(newer):
            self._put(entry_of(doc))

    def _build(self) -> None:
        entries = self.from_directory()
        if entries is None:
            entries = [entry_of(doc) for doc in self._store.stream(Query(MEMBERS))]
        entries.sort()
        self._entries = entries
        self._by_id = {e.id: e for e in entries}
        self._last_number = max((e.number or 0 for e in entries), default=0)
        self._built = True

    def from_directory(self) -> list[Entry] | None:
        """Every member's entry from the directory, or None when it misses some."""
        make = Entry._make
        entries = [
            make((name.casefold(), member_id, number, phone[-PHONE_DIGITS:]))
            for block in self._store.stream(Query(MEMBER_DIRECTORY))
            for member_id, (name, phone, number) in block.data["members"].items()
        ]
        return entries if len(entries) == self._store.count(Query(MEMBERS)) else None

    def _put(self, entry: Entry) -> None:
        old = self._by_id.get(entry.id)
        if old is not None:
            del self._entries[bisect.bisect_left(self._entries, old)]
        bisect.insort(self._entries, entry)
        self._by_id[entry.id] = entry
        self._last_number = max(self._last_number, entry.number or 0)
        self._last = None


def after(found: list[Entry], cursor: Cursor | None) -> int:
    """Where the entries after ``cursor`` begin in ``found`` (0 without a cursor)."""
    if cursor is None:
        return 0
    return bisect.bisect_right(found, cursor, key=lambda e: e.cursor)
