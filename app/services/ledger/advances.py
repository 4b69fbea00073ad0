"""Advances of the company's cash to group pools, and their repayment from late dues.

The foreman may advance the company's own cash to a group's pool so that a prize is
paid within its statutory time while members have not paid yet (decided, gated and
posted by :mod:`app.services.payouts.advances`). Each group keeps one book,
``advance_books/<g>``: the advances still open, oldest first, each with the period of
the prize it paid and what is left to repay, and the running totals.

An advance stands in for the dues members had not paid when its prize fell due: dues
of its period and earlier. So an instalment received for period p repays the open
advances made for prizes of period p or later, oldest first, up to the amount received
(:meth:`AdvanceBooks.repay`, called for every receipt); an instalment of a later period
never does, as it is the next prize's money. What a defaulter never pays stays open,
plainly, as the company's claim on the pool. The repayment is posted in the receipt's
own change (``advance.repaid``, see :mod:`.postings`), so a receipt and what it repays
commit together. The receipt keeps which advances it repaid and by how much
(:attr:`AdvanceBooks.repaid_by`): when its cheque bounces, :func:`reopen` makes them owed
again (``advance.reopened``), so the pool owes the company what it owed before.
"""

from __future__ import annotations

from datetime import date as Date
from typing import Any

from app.services.collections import ADVANCE_BOOKS, ADVANCES
from app.services.ledger.postings import NewId, advance_reopened_write, advance_repaid_write
from app.services.pipeline import Reader
from app.services.store import Write

ADVANCED, REPAID = "advanced", "repaid"


def empty_book() -> dict[str, Any]:
    return {"open": [], "outstanding": 0, "advanced": 0, "repaid": 0}


def book_with_advance(
    book: dict[str, Any] | None, advance_id: str, period: int, amount: int
) -> dict[str, Any]:
    """``book`` (None: a group's first) after an advance of ``amount`` for ``period``."""
    book = book or empty_book()
    entry = {"id": advance_id, "period": period, "amount": amount, "left": amount}
    return {
        **book,
        "open": [*book["open"], entry],
        "outstanding": book["outstanding"] + amount,
        "advanced": book["advanced"] + amount,
    }


def repay(
    book: dict[str, Any], period: int, amount: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``book`` after an instalment of ``amount`` for ``period`` repaid what it can, and
    the open entries it touched (with what is now left of each)."""
    remaining, touched, kept = amount, [], []
    for entry in book["open"]:
        take = min(remaining, entry["left"]) if entry["period"] >= period else 0
        if take:
            remaining -= take
            entry = {**entry, "left": entry["left"] - take}
            touched.append(entry)
        if entry["left"]:
            kept.append(entry)
    paid = amount - remaining
    new = {**book, "open": kept, "outstanding": book["outstanding"] - paid}
    new["repaid"] = book["repaid"] + paid
    return new, touched


class AdvanceBooks:
    """The advance books a set of receipts reads, with the repayments made so far."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self.books: dict[str, dict[str, Any] | None] = {}
        self.entries: dict[str, dict[str, Any]] = {}
        self.changed: set[str] = set()
        self.repaid_by: dict[str, list[dict[str, Any]]] = {}
        """A receipt's bank reference -> the advances it repaid: ``{"id", "amount"}``."""

    def book(self, group_id: str) -> dict[str, Any] | None:
        if group_id not in self.books:
            doc = self.reader.get(ADVANCE_BOOKS, group_id)
            self.books[group_id] = dict(doc.data) if doc is not None else None
        return self.books[group_id]

    def repay(
        self,
        ids: NewId,
        *,
        group_id: str,
        period: int,
        amount: int,
        date: Date | str,
        bank_ref: str,
    ) -> list[Write]:
        """The repayment posting of an instalment just received (none when the group
        has no open advance of ``period`` or later)."""
        book = self.book(group_id)
        if not book or not book["outstanding"]:
            return []
        new, touched = repay(book, period, amount)
        if not touched:
            return []
        self.books[group_id] = new
        self.changed.add(group_id)
        self.entries.update({e["id"]: e for e in touched})
        left = {e["id"]: e["left"] for e in book["open"]}
        self.repaid_by[bank_ref] = [
            {"id": e["id"], "amount": left[e["id"]] - e["left"]} for e in touched
        ]
        paid = book["outstanding"] - new["outstanding"]
        return [
            advance_repaid_write(
                ids, group_id=group_id, amount=paid, date=date, period=period, bank_ref=bank_ref
            )
        ]

    def updates(self) -> list[Write]:
        """The books and advances changed by the repayments."""
        writes = [
            Write("update", ADVANCES, e["id"], advance_progress(e)) for e in self.entries.values()
        ]
        for group_id in sorted(self.changed):
            book = self.books[group_id]
            assert book is not None
            writes.append(Write("set", ADVANCE_BOOKS, group_id, book))
        return writes


def advance_progress(entry: dict[str, Any]) -> dict[str, Any]:
    """The fields of ``advances/<id>`` that follow its book entry."""
    left = entry["left"]
    status = REPAID if not left else ADVANCED
    return {"left": left, "repaid": entry["amount"] - left, "status": status}


def reopen(
    reader: Reader,
    ids: NewId,
    *,
    group_id: str,
    period: int,
    repaid: list[dict[str, Any]],
    date: Date | str,
    bank_ref: str,
) -> list[Write]:
    """Undo what the receipt ``bank_ref`` repaid (``repaid``: its
    :attr:`AdvanceBooks.repaid_by`), its cheque having bounced: each advance is owed
    again what the receipt took from it, back in the group's book (an advance that was
    repaid in full reopens in period order), and the repayment posting is reversed."""
    if not repaid:
        return []
    book = dict(reader.require(ADVANCE_BOOKS, group_id, "advance book").data)
    entries = [dict(e) for e in book["open"]]
    writes = []
    for item in repaid:
        entry = next((e for e in entries if e["id"] == item["id"]), None)
        if entry is None:
            entry = _closed_entry(reader, item["id"])
            later = [i for i, e in enumerate(entries) if e["period"] > entry["period"]]
            entries.insert(later[0] if later else len(entries), entry)
        entry["left"] += item["amount"]
        writes.append(Write("update", ADVANCES, entry["id"], advance_progress(entry)))
    total = sum(item["amount"] for item in repaid)
    book.update(
        open=entries, outstanding=book["outstanding"] + total, repaid=book["repaid"] - total
    )
    posting = advance_reopened_write(
        ids, group_id=group_id, amount=total, date=date, period=period, bank_ref=bank_ref
    )
    return [posting, *writes, Write("set", ADVANCE_BOOKS, group_id, book)]


def _closed_entry(reader: Reader, advance_id: str) -> dict[str, Any]:
    """The book entry of an advance repaid in full (so no longer in the book), at 0."""
    d = reader.require(ADVANCES, advance_id, "advance").data
    return {"id": advance_id, "period": d["period"], "amount": d["amount"], "left": 0}
