"""Bank statement import: read a CSV export, sort every line, record the receipts.

:meth:`StatementService.preview` reads the books once and sorts every line
(:mod:`.matching`); staff resolve what needs a person on the :class:`~.model.Preview`;
:meth:`StatementService.commit` records the matched and resolved lines as receipts
through the ledger (numbered, posted, idempotent by reference), ``CHUNK`` lines to a
change: each chunk is one WAL record, so a crash loses at most the chunk being written,
and running the same file again finds every committed line already recorded and records
nothing twice. Each chunk also counts itself on the statement's ``statement_imports``
document, so the next preview of the file says what was imported before. The desktop's
import view and ``tfos collections import`` both run this.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.kernel import office_time
from app.kernel.errors import Conflict, KnownError, NotFound
from app.services import topics
from app.services.activity import counted
from app.services.actors import Actor, Role
from app.services.collections import (
    CAPITAL_PAYINS,
    DUES,
    GROUPS,
    MEMBERS,
    RECEIPTS,
    STATEMENT_IMPORTS,
    TICKETS,
)
from app.services.context import ServiceContext
from app.services.counter import CounterService
from app.services.events import StatementLinesImported
from app.services.ledger.receipts import NothingNew, Payment, normalise, receipts_change
from app.services.ledger.records import PENDING, capital_use, receipt_entries
from app.services.members import member_no
from app.services.money import format_inr
from app.services.pipeline import ChangeSet, Reader
from app.services.statements import csvfile, sample
from app.services.statements.matching import Books, line_reference, sort_lines
from app.services.statements.model import (
    LEFT,
    NEEDS_A_PERSON,
    Candidate,
    Imported,
    Preview,
    Sorted,
)
from app.services.store import Document, Query, Write
from app.services.text import FILE_NAME, clean
from app.services.topics import reads

STAFF_ROLES: tuple[Role, ...] = ("employee", "admin")
CHUNK = 400
"""Lines recorded per change (one WAL record each; well inside a record's 1 MiB)."""
Progress = Callable[[int, int], None]
"""Told (lines done, lines to record) after each chunk."""


@dataclass(frozen=True)
class _Done:
    recorded: int = 0
    amount: int = 0
    already: int = 0

    def __add__(self, other: _Done) -> _Done:
        return _Done(
            self.recorded + other.recorded, self.amount + other.amount, self.already + other.already
        )


class StatementService:
    """Statement previews and imports (see module docstring)."""

    def __init__(self, ctx: ServiceContext, *, counter: CounterService) -> None:
        self.ctx = ctx
        self.counter = counter

    # -- reading and sorting ----------------------------------------------------------

    def read(self, path: Path) -> csvfile.Statement:
        """The statement file at ``path`` (a ValidationError says what is wrong)."""
        return csvfile.read_statement(Path(path))

    def open(self, path: Path) -> Preview:
        """Read the statement at ``path`` and sort every line against the books."""
        return self.preview(self.read(path))

    @reads(topics.LEDGER, topics.DUES, topics.MEMBERS, topics.GROUPS)
    def preview(self, statement: csvfile.Statement) -> Preview:
        """Every line of ``statement`` sorted against the books as they are now."""
        books = self._books(statement)
        return Preview(
            statement, tuple(sort_lines(books, statement.lines)), self._earlier(statement)
        )

    @reads(topics.DUES, topics.MEMBERS, topics.GROUPS)
    def candidates(self, member_id: str) -> list[Candidate]:
        """A member's open dues, oldest first: what a line can be resolved to."""
        store = self.ctx.store
        books = Books()
        self._add_people(books, store.get_many(MEMBERS, [member_id]).values())
        tickets = store.query(Query(TICKETS).where("member_id", "==", member_id))
        groups = store.get_many(GROUPS, {t.data["group_id"] for t in tickets})
        dues = store.query(Query(DUES).where("member_id", "==", member_id))
        self._add_dues(books, groups.values(), tickets, dues)
        return books.dues.get(member_id, [])

    def _books(self, statement: csvfile.Statement) -> Books:
        store = self.ctx.store
        books = Books()
        self._add_people(books, store.stream(Query(MEMBERS)))
        self._add_all_dues(books)
        refs = [line_reference(line) for line in statement.lines]
        for entry in receipt_entries(store, store.get_many(RECEIPTS, refs).values()):
            who = books.member_names.get(entry.member_id, entry.member_id)
            books.receipts[entry.bank_ref] = (
                f"recorded on {office_time.day(entry.recorded_at)} as receipt "
                f"{entry.number or entry.bank_ref} "
                f"({who}, {format_inr(entry.amount)})"
            )
        self._add_capital(books, set(refs))
        for doc in store.query(Query(RECEIPTS).where("cheque.state", "==", PENDING)):
            books.cheques[(doc.data["cheque"]["number"], doc.data["amount"])] = doc.id
        return books

    def _add_capital(self, books: Books, refs: set[str]) -> None:
        """The file's references that capital pay-ins hold (all of them read: a firm
        records few, fewer than a statement has lines)."""
        for doc in self.ctx.store.stream(Query(CAPITAL_PAYINS)):
            used = capital_use(doc) if doc.id in refs else ""
            if used:
                books.receipts[doc.id] = f"used for {used}, not for an instalment"

    def _add_people(self, books: Books, docs: Any) -> None:
        for doc in docs:
            d = doc.data
            number = d.get("number")
            books.add_member(
                doc.id,
                d.get("name", doc.id),
                d.get("phone") or "",
                member_no(number, doc.id) if number is not None else "",
            )

    def _add_all_dues(self, books: Books) -> None:
        """Every open due of the firm, with every group and ticket."""
        store = self.ctx.store
        self._add_dues(
            books,
            store.stream(Query(GROUPS)),
            store.stream(Query(TICKETS)),
            store.stream(Query(DUES).where("status", "==", "due")),
        )

    @staticmethod
    def _add_dues(
        books: Books,
        groups: Iterable[Document],
        tickets: Iterable[Document],
        dues: Iterable[Document],
    ) -> None:
        names = {}
        for doc in groups:
            names[doc.id] = doc.data["name"]
            books.add_group(doc.id, doc.data["name"])
        numbers = {(t.data["member_id"], t.data["group_id"]): t.data["ticket_no"] for t in tickets}
        found: dict[str, list[Candidate]] = {}
        for doc in dues:
            d = doc.data
            if d["status"] == "paid":
                continue
            member, group = d["member_id"], d["group_id"]
            found.setdefault(member, []).append(
                Candidate(
                    member,
                    books.member_names.get(member, member),
                    group,
                    names.get(group, group),
                    d["period"],
                    d["net"] - d["paid"],
                    d["due_date"],
                    numbers.get((member, group)),
                )
            )
        for member, dues_of in found.items():
            books.dues[member] = sorted(dues_of, key=lambda c: (c.due_date, c.group_id, c.period))

    def _earlier(self, statement: csvfile.Statement) -> str:
        doc = self.ctx.store.get(STATEMENT_IMPORTS, _statement_id(statement))
        if doc is None:
            return ""
        d = doc.data
        return (
            f"This file was imported before: {counted(d['recorded'], 'receipt')} "
            f"({format_inr(d['amount'])}), last on {office_time.moment(d['updated_at'])} by "
            f"{d['updated_by']['name']}."
        )

    def example(self) -> bytes:
        """A short statement for the books as they are, with every kind of line (for
        training and screenshots: :func:`.sample.example_rows`)."""
        store = self.ctx.store
        books = Books()
        members = list(store.stream(Query(MEMBERS)))
        self._add_people(books, members)
        self._add_all_dues(books)
        phones = {m.id: m.data.get("phone") or "" for m in members}
        query = Query(RECEIPTS).where("kind", "==", "instalment").limit(50)
        recent = sorted(receipt_entries(store, store.query(query)), key=lambda r: r.bank_ref)
        rows = sample.example_rows(books, phones, recent, self.ctx.clock.today())
        return sample.to_csv(rows)

    def example_preview(self) -> Preview:
        """:meth:`example` read and sorted, as a person would see it after choosing it."""
        return self.preview(csvfile.parse_statement(self.example(), "example-statement.csv"))

    # -- committing -------------------------------------------------------------------

    def commit(
        self,
        actor: Actor,
        preview: Preview,
        progress: Progress | None = None,
        *,
        chunk: int = CHUNK,
    ) -> Imported:
        """Record the matched and resolved lines of ``preview``, ``chunk`` to a change,
        and mark cleared the counter cheques the statement shows paid."""
        actor.require(*STAFF_ROLES, doing="import a bank statement")
        clean(preview.statement.name, "File name", FILE_NAME, required=True)
        todo = preview.to_record()
        done, refused = _Done(), []
        for start in range(0, len(todo), chunk):
            part = todo[start : start + chunk]
            got, bad = self._record(actor, preview, part)
            done += got
            refused += bad
            if progress is not None:
                progress(min(start + chunk, len(todo)), len(todo))
        cleared = self._clear_cheques(actor, preview)
        left = preview.count(*_LEFT_VERDICTS)
        return Imported(
            preview.statement.name, done.recorded, done.amount, done.already,
            tuple(sorted(refused)), left, cleared,
        )  # fmt: skip

    def _record(
        self, actor: Actor, preview: Preview, part: Sequence[Sorted]
    ) -> tuple[_Done, list[tuple[int, str]]]:
        """Record ``part`` as one change; when a line is refused (the books moved since
        the preview), the halves are tried apart, down to the line refused."""
        try:
            return self._record_chunk(actor, preview, part), []
        except KnownError as exc:
            if len(part) == 1:
                return _Done(), [(part[0].line.number, exc.message)]
        half = len(part) // 2
        first, bad_first = self._record(actor, preview, part[:half])
        second, bad_second = self._record(actor, preview, part[half:])
        return first + second, bad_first + bad_second

    def _record_chunk(self, actor: Actor, preview: Preview, part: Sequence[Sorted]) -> _Done:
        today = self.ctx.clock.today()
        now = self.ctx.clock.now().isoformat()
        payments = [normalise(_payment(s), today) for s in part]
        statement = preview.statement
        sid = _statement_id(statement)
        rows = (part[0].line.number, part[-1].line.number)

        def work(reader: Reader) -> tuple[ChangeSet, _Done]:
            change, receipts = receipts_change(reader, self.ctx.ids, actor, now, payments)
            fresh = [r for r in receipts if not r.duplicate]
            amount = sum(r.amount for r in fresh)
            tally = reader.get(STATEMENT_IMPORTS, sid)
            write = _tally_write(sid, statement, tally, len(fresh), amount, actor, now)
            event = StatementLinesImported(sid, rows[0], rows[1], len(fresh), amount)
            why = (
                f"Bank statement {statement.name}, rows {rows[0]}-{rows[1]}: "
                f"{len(fresh)} receipts, {format_inr(amount)}"
            )
            done = _Done(len(fresh), amount, len(receipts) - len(fresh))
            return ChangeSet.of(event, sid, [*change.writes, write], why), done

        try:
            committed = self.ctx.pipeline.transact(actor, work)
        except NothingNew as nothing:
            return _Done(already=len(nothing.receipts))
        done: _Done = committed.value
        return done

    def _clear_cheques(self, actor: Actor, preview: Preview) -> int:
        cleared = 0
        for s in preview.lines:
            if not s.clears_cheque:
                continue
            try:
                self.counter.clear_cheque(actor, s.bank_ref)
                cleared += 1
            except (Conflict, NotFound):
                continue  # bounced or cleared meanwhile: the counter's state stands
        return cleared


_LEFT_VERDICTS = (*NEEDS_A_PERSON, LEFT)


def _statement_id(statement: csvfile.Statement) -> str:
    return f"stmt-{statement.sha256[:32]}"


def _payment(s: Sorted) -> Payment:
    assert s.chosen is not None
    c = s.chosen
    return Payment(c.group_id, c.period, c.member_id, s.amount, s.bank_ref, s.line.date, s.mode)


def _tally_write(
    sid: str,
    statement: csvfile.Statement,
    tally: Any,
    count: int,
    amount: int,
    actor: Actor,
    now: str,
) -> Write:
    before: dict[str, Any] = (
        tally.data if tally is not None else {"recorded": 0, "amount": 0, "first_at": now}
    )
    doc = {
        "name": clean(statement.name, "File name", FILE_NAME, required=True),
        "sha256": statement.sha256,
        "lines": len(statement.lines),
        "recorded": before["recorded"] + count,
        "amount": before["amount"] + amount,
        "first_at": before["first_at"],
        "updated_at": now,
        "updated_by": actor.to_json(),
    }
    return Write("set", STATEMENT_IMPORTS, sid, doc)
