"""Default recovery: cases that open on their own, the 7-stage pipeline, the board.

A case (``recovery_cases/{case_id}``) follows one member's default on one *source*:

* ``dues``: the member's overdue instalments in one chit group (``ref`` = group id);
  every instalment missed in that group while the case is open joins it, so a
  defaulting subscriber has one case (and one statutory notice) per group;
* ``loan``: the member's overdue EMIs of one loan (``ref`` = loan id).

At most one open case per (member, source, ref): ``recovery_open/{key}`` names it and
is created with ``expect_version=0`` beside the case and deleted when it closes.

:meth:`RecoveryService.sweep` (run daily by the platform, or by staff) finds what is
overdue as of a date (ledger dues not paid in full, and EMIs of disbursed loans, due
before that date), opens the missing cases at *missed*, recomputes overdue amount,
days late and bucket of the open ones, and resolves the open cases whose dues are
cleared. All in ONE ChangeSet (``recovery.sweep``); a sweep that finds nothing to
change commits nothing, so running it twice on one day changes nothing. What a
written-off case covered (its instalments, or its whole loan) never reopens a case.

Moves (:meth:`RecoveryService.move`) follow :mod:`app.services.recovery.rules`:
forward one stage at a time; *resolved* from any open stage once the dues are cleared
(checked against the store at the time of the move); *written_off* only from *legal*,
in two steps: an admin's :meth:`~RecoveryService.request_write_off`, then a different
staff member's approval (a move to *written_off*). Every step is one WAL record and
one entry in the case's ``history`` (who, role, when, why). Entering *notice* sets
``notice_date`` and the statutory ``clocks`` (notice to be sent within 14 days,
reinstatement within 7 days of sending, removal after), shown on the board.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from app.kernel import office_time
from app.kernel.errors import Conflict, NotFound, ValidationError
from app.services import topics
from app.services.actors import Actor
from app.services.collections import DUES, LOANS, MEMBERS, RECOVERY_CASES, RECOVERY_OPEN
from app.services.context import ServiceContext
from app.services.credit import bucket
from app.services.events import CaseMoved, CasesSwept, CaseWrittenOff, NoticeSent, WriteOffRequested
from app.services.ledger import Due, LedgerService
from app.services.loans import DISBURSED
from app.services.loans.book import loan_code, loan_dpd
from app.services.pipeline import ChangeSet, Reader
from app.services.recovery.rules import (
    CLOSED,
    FORWARD,
    Stage,
    WriteOffRequest,
    as_stage,
    check_move,
    check_write_off_request,
    is_write_off_request,
    statutory_clocks,
)
from app.services.store import Document, DocumentStore, Query, Write
from app.services.text import NOTE, clean
from app.services.topics import reads

CASES = RECOVERY_CASES
OPEN_KEYS = RECOVERY_OPEN
CLOSED_STAGES = frozenset(stage.value for stage in CLOSED)
DUES_SOURCE, LOAN_SOURCE = "dues", "loan"
STAGES: tuple[Stage, ...] = (*FORWARD, Stage.RESOLVED, Stage.WRITTEN_OFF)
CLOCK_LABELS = {
    "notice_send_by": "Send the written notice by",
    "reinstate_by": "Reinstatement if paid by",
    "removal_from": "May be removed from",
}


class _NothingToDo(Exception):
    """The sweep found nothing to change: commit nothing."""


@dataclass(frozen=True)
class Overdue:
    """What one member owes late on one source, as of a date."""

    member_id: str
    source: str
    ref: str
    items: tuple[str, ...]
    amount: int
    oldest_due: date

    @property
    def key(self) -> str:
        return case_key(self.source, self.ref, self.member_id)

    def figures(self, as_of: date) -> dict[str, Any]:
        days = max((as_of - self.oldest_due).days, 0)
        return {
            "overdue": self.amount,
            "days_late": days,
            "bucket": bucket(days),
            "items": list(self.items),
            "oldest_due": self.oldest_due.isoformat(),
        }


@dataclass(frozen=True)
class Case:
    id: str
    member_id: str
    source: str
    ref: str
    stage: str
    overdue: int
    days_late: int
    bucket: str
    items: tuple[str, ...]
    history: tuple[dict[str, Any], ...]
    notice_date: str | None
    clocks: dict[str, str]
    write_off_request: dict[str, Any] | None
    opened_at: str
    closed_at: str | None
    as_of: str

    @classmethod
    def from_doc(cls, doc: Document) -> Case:
        d = doc.data
        return cls(
            id=doc.id,
            member_id=d["member_id"],
            source=d["source"],
            ref=d["ref"],
            stage=d["stage"],
            overdue=d["overdue"],
            days_late=d["days_late"],
            bucket=d["bucket"],
            items=tuple(d.get("items", ())),
            history=tuple(d.get("history", ())),
            notice_date=d.get("notice_date"),
            clocks=dict(d.get("clocks") or {}),
            write_off_request=d.get("write_off_request"),
            opened_at=d["opened_at"],
            closed_at=d.get("closed_at"),
            as_of=d["as_of"],
        )

    @property
    def is_open(self) -> bool:
        return self.stage not in CLOSED


@dataclass
class SweepResult:
    as_of: date
    opened: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    open_cases: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.opened or self.updated or self.resolved)


@dataclass(frozen=True)
class Card:
    """One case on the recovery board."""

    case_id: str
    member_id: str
    member_name: str
    source: str
    ref: str
    stage: str
    overdue: int
    days_late: int
    bucket: str
    clocks: dict[str, str]
    next_due: tuple[str, str] | None
    """(what, ISO date) of the next statutory due date on or after the board's date."""
    write_off_requested_by: str | None
    closed: Closing | None = None
    """How a resolved or written-off case was closed (None while it is open)."""
    subject: str = ""
    """What the case is about as people name it: a loan's number (``L-0042``), or the
    group's id for chit dues."""

    @property
    def awaiting_write_off(self) -> bool:
        """A write-off was requested and nobody has approved it yet."""
        return bool(self.write_off_requested_by) and self.stage not in CLOSED_STAGES

    def requests_write_off(self, target: str) -> bool:
        """Whether dropping this card on ``target`` asks for a write-off rather than
        moving the case (see :meth:`RecoveryService.drop`)."""
        return is_write_off_request(self.stage, bool(self.write_off_requested_by), target)


@dataclass(frozen=True)
class Closing:
    """When and by whom a case was closed, and the note that closed it. A written-off
    case keeps the overdue amount and days late it had when it was written off."""

    at: str
    by: str
    note: str


@dataclass(frozen=True)
class Board:
    as_of: date
    columns: dict[str, list[Card]]

    def counts(self) -> dict[str, int]:
        return {stage: len(cards) for stage, cards in self.columns.items()}


def case_key(source: str, ref: str, member_id: str) -> str:
    return f"{source}-{ref}-{member_id}"


# -- what is overdue -------------------------------------------------------------------


def overdue_dues(dues: Iterable[Due], excluded: Container[str] = frozenset()) -> list[Overdue]:
    """Overdue dues grouped by (member, group)."""
    grouped: dict[tuple[str, str], list[Due]] = defaultdict(list)
    for due in dues:
        if due.id not in excluded and due.outstanding > 0:
            grouped[(due.member_id, due.group_id)].append(due)
    return [
        Overdue(
            member_id=member,
            source=DUES_SOURCE,
            ref=group,
            items=tuple(sorted(d.id for d in items)),
            amount=sum(d.outstanding for d in items),
            oldest_due=min(date.fromisoformat(d.due_date) for d in items),
        )
        for (member, group), items in grouped.items()
    ]


def loan_overdue(loan_id: str, data: dict[str, Any], as_of: date) -> Overdue | None:
    """A disbursed loan's EMIs due before ``as_of`` and not paid in full, or None."""
    if data.get("status") != DISBURSED or loan_dpd(data, as_of) == 0:
        return None
    late = [
        row
        for row in data.get("schedule") or ()
        if row.get("due_date") and date.fromisoformat(row["due_date"]) < as_of and _owed(row) > 0
    ]
    if not late:
        return None
    return Overdue(
        member_id=data["member_id"],
        source=LOAN_SOURCE,
        ref=loan_id,
        items=tuple(f"{loan_id}#{row['number']}" for row in late),
        amount=sum(_owed(row) for row in late),
        oldest_due=min(date.fromisoformat(row["due_date"]) for row in late),
    )


def _owed(row: dict[str, Any]) -> int:
    paid = row.get("paid_interest", 0) + row.get("paid_principal", 0)
    return int(row["interest"] + row["principal"] - paid)


# -- the service -------------------------------------------------------------------------


class RecoveryService:
    """Opens recovery cases, moves them through the pipeline, draws the board."""

    def __init__(self, ctx: ServiceContext, *, ledger: LedgerService) -> None:
        self.ctx = ctx
        self.ledger = ledger

    # -- the sweep -----------------------------------------------------------------

    def overdue(self, as_of: date, reader: Reader | None = None) -> list[Overdue]:
        """Everything overdue as of ``as_of`` that a written-off case does not cover.
        Inside a transaction, pass its ``reader``: every due, loan and written-off case
        read becomes a precondition, so a payment committed meanwhile forces a retry."""
        excluded_items, excluded_loans = self._written_off(reader)
        dues = self.ledger.overdue(as_of, reader)
        found = overdue_dues(dues, excluded_items)
        for doc in _read(self.ctx.store, reader, Query(LOANS).where("status", "==", DISBURSED)):
            if doc.id not in excluded_loans:
                late = loan_overdue(doc.id, doc.data, as_of)
                if late is not None:
                    found.append(late)
        return found

    def _written_off(self, reader: Reader | None = None) -> tuple[set[str], set[str]]:
        items: set[str] = set()
        loans: set[str] = set()
        query = Query(CASES).where("stage", "==", Stage.WRITTEN_OFF.value)
        for doc in _read(self.ctx.store, reader, query):
            if doc.data["source"] == LOAN_SOURCE:
                loans.add(doc.data["ref"])
            else:
                items.update(doc.data.get("items", ()))
        return items, loans

    def sweep(self, actor: Actor, as_of: date | None = None) -> SweepResult:
        """Open, update and resolve cases for what is overdue as of ``as_of`` (default:
        today). Idempotent: a second sweep for the same date commits nothing."""
        actor.require("system", "employee", "admin", doing="run the recovery sweep")
        day = as_of or self.ctx.clock.today()

        def work(reader: Reader) -> tuple[ChangeSet, SweepResult]:
            found = {o.key: o for o in self.overdue(day, reader)}
            cases = {d.data["key"]: d for d in reader.query(Query(CASES).where("open", "==", True))}
            result = SweepResult(day, open_cases=len(found))
            writes = self._open_and_update(actor, day, found, cases, result)
            writes += self._resolve_cleared(actor, day, found, cases, result)
            if not writes:
                raise _NothingToDo
            event = CasesSwept(day.isoformat(), result.opened, len(result.updated), result.resolved)
            change = ChangeSet.of(event, f"sweep-{day}", writes)
            return change, result

        try:
            value: SweepResult = self.ctx.pipeline.transact(actor, work).value
        except _NothingToDo:
            return SweepResult(day, open_cases=self._count_open())
        return value

    def _open_and_update(
        self,
        actor: Actor,
        day: date,
        found: dict[str, Overdue],
        cases: dict[str, Document],
        result: SweepResult,
    ) -> list[Write]:
        writes: list[Write] = []
        for key, late in sorted(found.items()):
            figures = late.figures(day)
            case = cases.get(key)
            if case is None:
                case_id = self.ctx.ids.new("rc")
                writes += self._open_writes(actor, case_id, late, figures, day)
                result.opened.append(case_id)
            elif any(case.data.get(k) != v for k, v in figures.items()):
                writes.append(
                    Write("update", CASES, case.id, {**figures, "as_of": day.isoformat()})
                )
                result.updated.append(case.id)
        return writes

    def _open_writes(
        self, actor: Actor, case_id: str, late: Overdue, figures: dict[str, Any], day: date
    ) -> list[Write]:
        now = self.ctx.clock.now().isoformat()
        count = len(late.items)
        what = "instalment" if late.source == DUES_SOURCE else "EMI"
        note = f"{count} {what}{'s' if count > 1 else ''} overdue since {late.oldest_due}."
        data = {
            "key": late.key,
            "member_id": late.member_id,
            "source": late.source,
            "ref": late.ref,
            **figures,
            "stage": Stage.MISSED.value,
            "open": True,
            "history": [_entry(actor, now, None, Stage.MISSED, note, "open")],
            "notice_date": None,
            "clocks": {},
            "write_off_request": None,
            "opened_at": now,
            "opened_on": day.isoformat(),
            "closed_at": None,
            "as_of": day.isoformat(),
        }
        return [
            Write("set", CASES, case_id, data, expect_version=0),
            Write("set", OPEN_KEYS, late.key, {"case_id": case_id}, expect_version=0),
        ]

    def _resolve_cleared(
        self,
        actor: Actor,
        day: date,
        found: dict[str, Overdue],
        cases: dict[str, Document],
        result: SweepResult,
    ) -> list[Write]:
        writes: list[Write] = []
        now = self.ctx.clock.now().isoformat()
        note = f"Dues cleared: nothing overdue as of {office_time.day(day)} (daily sweep)."
        for key, case in sorted(cases.items()):
            if key in found:
                continue
            check_move(case.data["stage"], Stage.RESOLVED, actor.role, True, reason=note)
            update = _close_update(actor, case.data, Stage.RESOLVED, note, now)
            update.update(overdue=0, days_late=0, bucket=bucket(0), as_of=day.isoformat())
            writes += [Write("update", CASES, case.id, update), Write("delete", OPEN_KEYS, key)]
            result.resolved.append(case.id)
        return writes

    # -- moves ---------------------------------------------------------------------

    def move(self, actor: Actor, case_id: str, target: Stage | str, note: str) -> Case:
        """Move a case to ``target`` (see the module docstring); ``note`` says why."""
        actor.require("employee", "admin", "system", doing="move a recovery case")
        goal = as_stage(target)
        why = clean(note, "Note", NOTE)

        def work(reader: Reader) -> ChangeSet:
            case = reader.require(CASES, case_id, "recovery case")
            d = case.data
            today = self.ctx.clock.today()
            cleared = self._cleared(reader, d, today)
            request = _request_of(d)
            check_move(
                d["stage"],
                goal,
                actor.role,
                cleared,
                reason=why,
                actor_id=actor.id,
                request=request,
            )
            now = self.ctx.clock.now().isoformat()
            writes = [Write("update", CASES, case_id, self._move_update(actor, d, goal, why, now))]
            if goal in CLOSED:
                writes.append(Write("delete", OPEN_KEYS, d["key"]))
            kind = CaseWrittenOff if goal is Stage.WRITTEN_OFF else CaseMoved
            event = kind(case_id, d["member_id"], d["stage"], goal.value, d["overdue"])
            return ChangeSet.of(event, case_id, writes, why)

        self.ctx.pipeline.transact(actor, work)
        return self.get(case_id)

    def _move_update(
        self, actor: Actor, d: dict[str, Any], goal: Stage, note: str, now: str
    ) -> dict[str, Any]:
        if goal in CLOSED:
            return _close_update(actor, d, goal, note, now)
        update: dict[str, Any] = {
            "stage": goal.value,
            "history": [*d.get("history", ()), _entry(actor, now, d["stage"], goal, note)],
        }
        if goal is Stage.NOTICE:
            today = self.ctx.clock.today()
            update["notice_date"] = today.isoformat()
            update["clocks"] = _iso(statutory_clocks(today))
        return update

    def resolve(self, actor: Actor, case_id: str, note: str) -> Case:
        """Close a case whose dues are cleared."""
        return self.move(actor, case_id, Stage.RESOLVED, note)

    def request_write_off(self, actor: Actor, case_id: str, reason: str) -> Case:
        """Step 1 of a write-off: an admin asks, from the legal stage, saying why."""
        actor.require("admin", doing="request a write-off")
        why = clean(reason, "Reason", NOTE)

        def work(reader: Reader) -> ChangeSet:
            case = reader.require(CASES, case_id, "recovery case")
            d = case.data
            pending = d.get("write_off_request")
            if pending:
                raise Conflict(
                    f"A write-off of case {case_id} was already requested by "
                    f"{pending['requested_by_name']} at {pending['at']}.",
                    hint="Another staff member approves it by moving the case to written_off.",
                )
            cleared = self._cleared(reader, d, self.ctx.clock.today())
            check_write_off_request(d["stage"], actor.role, cleared, reason=why)
            now = self.ctx.clock.now().isoformat()
            request = {
                "requested_by": actor.id,
                "requested_by_name": actor.name,
                "requester_role": actor.role,
                "reason": why,
                "at": now,
            }
            entry = _entry(actor, now, d["stage"], Stage.WRITTEN_OFF, why, "write_off_requested")
            update = {"write_off_request": request, "history": [*d["history"], entry]}
            writes = [Write("update", CASES, case_id, update)]
            return ChangeSet.of(WriteOffRequested(case_id), case_id, writes, why)

        self.ctx.pipeline.transact(actor, work)
        return self.get(case_id)

    def drop(self, actor: Actor, case_id: str, target: Stage | str, note: str) -> Case:
        """What dropping a case's card on ``target``'s column of the board does: on
        *written off*, a legal case with no write-off pending gets the admin's request
        (step 1); otherwise the case moves (a pending write-off's approval included)."""
        case = self.get(case_id)
        if is_write_off_request(case.stage, bool(case.write_off_request), target):
            return self.request_write_off(actor, case_id, note)
        return self.move(actor, case_id, target, note)

    def approve_write_off(self, actor: Actor, case_id: str, note: str) -> Case:
        """Step 2 of a write-off: a staff member other than the requester approves."""
        return self.move(actor, case_id, Stage.WRITTEN_OFF, note)

    def record_notice_sent(self, actor: Actor, case_id: str, sent_on: date, note: str = "") -> Case:
        """Record the day the written notice went out; the reinstatement clock runs
        from it."""
        actor.require("employee", "admin", doing="record a recovery notice")
        note = clean(note, "Note", NOTE)

        def work(reader: Reader) -> ChangeSet:
            d = reader.require(CASES, case_id, "recovery case").data
            if not d.get("notice_date") or d["stage"] in CLOSED:
                raise Conflict(f"Case {case_id} is not at or past the notice stage, or is closed.")
            if sent_on > self.ctx.clock.today():
                raise ValidationError(
                    f"The notice cannot be sent in the future ({office_time.day(sent_on)})."
                )
            clocks = _iso(statutory_clocks(date.fromisoformat(d["notice_date"]), sent_on))
            now = self.ctx.clock.now().isoformat()
            why = note or f"Written notice sent on {office_time.day(sent_on)}."
            entry = _entry(actor, now, d["stage"], as_stage(d["stage"]), why, "notice_sent")
            update = {
                "clocks": clocks,
                "notice_sent_on": sent_on.isoformat(),
                "history": [*d["history"], entry],
            }
            event = NoticeSent(case_id, str(sent_on))
            writes = [Write("update", CASES, case_id, update)]
            return ChangeSet.of(event, case_id, writes, why)

        self.ctx.pipeline.transact(actor, work)
        return self.get(case_id)

    def _cleared(self, reader: Reader, d: dict[str, Any], today: date) -> bool:
        """Whether the member owes nothing overdue on the case's source now."""
        if d["source"] == LOAN_SOURCE:
            loan = reader.get(LOANS, d["ref"])
            return loan is None or loan_overdue(loan.id, loan.data, today) is None
        query = (
            Query(DUES)
            .where("member_id", "==", d["member_id"])
            .where("group_id", "==", d["ref"])
            .where("status", "==", "due")
        )
        late = [
            Due.from_doc(doc) for doc in reader.query(query) if doc.data["due_date"] < str(today)
        ]
        return not any(due.outstanding > 0 for due in late)

    # -- reads ---------------------------------------------------------------------

    def get(self, case_id: str) -> Case:
        doc = self.ctx.store.get(CASES, case_id)
        if doc is None:
            raise NotFound(f"No recovery case with id {case_id!r}.")
        return Case.from_doc(doc)

    def cases(self, *, member_id: str | None = None, open_only: bool = False) -> list[Case]:
        query = Query(CASES)
        if member_id is not None:
            query = query.where("member_id", "==", member_id)
        if open_only:
            query = query.where("open", "==", True)
        found = [Case.from_doc(d) for d in self.ctx.store.stream(query)]
        return sorted(found, key=lambda c: (c.opened_at, c.id))

    def _count_open(self) -> int:
        return self.ctx.store.count(Query(CASES).where("open", "==", True))

    @reads(topics.RECOVERY, topics.MEMBERS)
    def board(self, as_of: date | None = None, *, closed_limit: int = 50) -> Board:
        """Columns in pipeline order: every open case, and the ``closed_limit`` most
        recently closed per closed stage. Cards are ordered by days late, then amount."""
        day = as_of or self.ctx.clock.today()
        docs = list(self.ctx.store.stream(Query(CASES).where("open", "==", True)))
        for stage in (Stage.RESOLVED, Stage.WRITTEN_OFF):
            query = (
                Query(CASES)
                .where("stage", "==", stage.value)
                .order_by("closed_at", "desc")
                .limit(closed_limit)
            )
            docs += self.ctx.store.query(query)
        members = self.ctx.store.get_many(MEMBERS, {d.data["member_id"] for d in docs})
        loans = self.ctx.store.get_many(
            LOANS, {d.data["ref"] for d in docs if d.data["source"] == "loan"}
        )
        columns: dict[str, list[Card]] = {stage.value: [] for stage in STAGES}
        for doc in docs:
            member = members.get(doc.data["member_id"])
            name = member.data.get("name", "") if member else ""
            loan = loans.get(doc.data["ref"]) if doc.data["source"] == "loan" else None
            subject = loan_code(loan) if loan else doc.data["ref"]
            columns[doc.data["stage"]].append(_card(doc, name, day, subject))
        for stage in FORWARD:
            columns[stage.value].sort(key=lambda c: (-c.days_late, -c.overdue, c.case_id))
        return Board(day, columns)


# -- helpers -------------------------------------------------------------------------------


def _read(store: DocumentStore, reader: Reader | None, query: Query) -> Iterable[Document]:
    """The query's documents, through ``reader`` (recording them as preconditions) when
    given, else streamed from the store."""
    return reader.query(query) if reader is not None else store.stream(query)


def _entry(
    actor: Actor, at: str, src: str | None, dst: Stage, note: str, kind: str = "move"
) -> dict[str, Any]:
    return {
        "kind": kind,
        "from": src,
        "to": dst.value,
        "by": actor.id,
        "by_name": actor.name,
        "role": actor.role,
        "at": at,
        "note": note,
    }


def _close_update(
    actor: Actor, d: dict[str, Any], goal: Stage, note: str, now: str
) -> dict[str, Any]:
    return {
        "stage": goal.value,
        "open": False,
        "closed_at": now,
        "history": [*d.get("history", ()), _entry(actor, now, d["stage"], goal, note)],
    }


def _request_of(d: dict[str, Any]) -> WriteOffRequest | None:
    raw = d.get("write_off_request")
    if not raw:
        return None
    return WriteOffRequest(raw["requested_by"], raw["requester_role"], raw["reason"])


def _iso(clocks: dict[str, date]) -> dict[str, str]:
    return {name: day.isoformat() for name, day in clocks.items()}


def _next_due(clocks: dict[str, str], day: date) -> tuple[str, str] | None:
    upcoming = sorted((when, name) for name, when in clocks.items() if when >= day.isoformat())
    if not upcoming:
        return None
    when, name = upcoming[0]
    return CLOCK_LABELS.get(name, name), when


def _card(doc: Document, member_name: str, day: date, subject: str) -> Card:
    d = doc.data
    clocks = dict(d.get("clocks") or {})
    request = d.get("write_off_request")
    return Card(
        case_id=doc.id,
        member_id=d["member_id"],
        member_name=member_name,
        source=d["source"],
        ref=d["ref"],
        stage=d["stage"],
        overdue=d["overdue"],
        days_late=d["days_late"],
        bucket=d["bucket"],
        clocks=clocks,
        next_due=_next_due(clocks, day) if d["stage"] not in CLOSED else None,
        write_off_requested_by=request["requested_by_name"] if request else None,
        closed=_closing(d),
        subject=subject,
    )


def _closing(d: dict[str, Any]) -> Closing | None:
    if d.get("open", True) or not d.get("closed_at"):
        return None
    last = (d.get("history") or [{}])[-1]
    return Closing(d["closed_at"], str(last.get("by_name", "")), str(last.get("note", "")))
