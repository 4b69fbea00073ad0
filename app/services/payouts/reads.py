"""What the payouts screen shows: the prizes with their clocks, and one prize in full.

:meth:`PayoutReads.board` lists the prizes (awaiting payout, released, or all) with
their statutory clock, security, the pool's cash against what is to be paid, any
advance, and the next step, in words. :meth:`PayoutReads.detail` adds what the
Banker's gate would say now about the release and about an advance of the shortfall,
named (the pool and the commitment, as people call them), and the decisions already
recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from app.kernel.bankers import BankState, Decision, request
from app.kernel.errors import NotFound
from app.services import topics
from app.services.auctions.close import next_instalment_date
from app.services.auctions.rules import Agreement
from app.services.collections import ADVANCES, GROUPS, MEMBERS, PAYOUTS
from app.services.gate import advance_commitment, deduction, payout_commitment
from app.services.gate_names import NEW_ADVANCE, GateNames
from app.services.groups import Group
from app.services.ledger.postings import COMPANY_CASH, group_cash
from app.services.money import format_inr
from app.services.payouts.advances import PROPOSED, AdvanceDesk
from app.services.payouts.base import PENDING, local_day
from app.services.payouts.clock import PrizeClock
from app.services.payouts.security import KINDS
from app.services.store import Document, Query
from app.services.topics import reads

AWAITING, RELEASED_ONLY, ALL = "awaiting", "released", "all"
SHOWS = {AWAITING: "Awaiting payout", RELEASED_ONLY: "Released", ALL: "All prizes"}


@dataclass(frozen=True)
class AdvanceRow:
    """One advance of company cash for a prize, as a person reads it."""

    id: str
    amount: int
    status: str
    left: int
    proposed_by: str
    proposed_by_id: str
    decided_by: str | None
    reason: str
    note: str

    @property
    def text(self) -> str:
        amount = format_inr(self.amount)
        if self.status == PROPOSED:
            return f"{amount} proposed by {self.proposed_by}; a second person approves it"
        if self.status in ("advanced", "repaid"):
            repaid = format_inr(self.amount - self.left)
            return (
                f"{amount} advanced from company cash ({self.decided_by}); "
                f"{repaid} repaid, {format_inr(self.left)} to repay"
            )
        who = f" by {self.decided_by}" if self.decided_by else ""
        return f"{amount} {self.status}{who}: {self.note}"

    @classmethod
    def from_doc(cls, doc: Document) -> AdvanceRow:
        d = doc.data
        decider = d.get("approved_by") or d.get("declined_by") or {}
        return cls(
            doc.id,
            d["amount"],
            d["status"],
            d.get("left", 0),
            d["proposed_by"]["name"],
            d["proposed_by"]["id"],
            decider.get("name"),
            d.get("reason", ""),
            d.get("decision_note", ""),
        )


@dataclass(frozen=True)
class PayoutRow:
    """One prize: who won it, its clock, where it stands and what to do next."""

    id: str
    group_id: str
    group_name: str
    period: int
    member_id: str
    winner: str
    prize: int
    to_pay: int
    status: str
    clock: PrizeClock
    security: str
    secured: bool
    requested_by: str | None
    pool: int | None
    shortfall: int | None
    advance: AdvanceRow | None
    next_step: str
    late_reason: str | None


@dataclass(frozen=True)
class PayoutBoard:
    rows: list[PayoutRow]
    company_cash: int
    today: date

    @property
    def overdue(self) -> int:
        return sum(1 for r in self.rows if r.status == PENDING and r.clock.days_left < 0)


@dataclass(frozen=True)
class GateView:
    """What the Banker's gate says (or would say) about a grant, in words."""

    granted: bool
    text: str


@dataclass(frozen=True)
class PayoutDetail:
    row: PayoutRow
    agreement: Agreement
    remaining: int
    security_kind: str | None
    security_description: str
    security_held: int
    security_required: int
    deducted: bool
    request: dict[str, Any] | None
    requested_on: date | None
    released_by: str | None
    bank_ref: str | None
    release_check: GateView | None
    advance_check: GateView | None
    advances: list[AdvanceRow]
    decisions: list[dict[str, Any]]

    @property
    def future(self) -> int:
        return self.remaining * self.agreement.instalment_paise


class PayoutReads(AdvanceDesk):
    """The payouts screen's read models."""

    @reads(topics.GATE, topics.LEDGER, topics.AUCTIONS, topics.GROUPS, topics.MEMBERS)
    def board(self, show: str = AWAITING) -> PayoutBoard:
        """The prizes awaiting payout (soonest deadline first), released (latest first)
        or all, with ``cash:company`` as the gate sees it."""
        query = Query(PAYOUTS)
        if show != ALL:
            query = query.where("status", "==", PENDING if show == AWAITING else "released")
        docs = self.ctx.store.query(query)
        rows = _Rows(self, docs).rows()
        rows.sort(key=lambda r: (r.status != PENDING, _order(r)))
        return PayoutBoard(rows, self.gate.available(COMPANY_CASH), self.ctx.clock.today())

    @reads(topics.GATE, topics.LEDGER, topics.AUCTIONS, topics.GROUPS, topics.MEMBERS)
    def detail(self, payout_id: str) -> PayoutDetail:
        """One prize: its row, security, the gate's view of its release and of an
        advance, its advances and the decisions recorded about them."""
        doc = self.ctx.store.get(PAYOUTS, payout_id)
        if doc is None:
            raise NotFound(f"No prize payout with id {payout_id!r}.")
        rows = _Rows(self, [doc])
        row = rows.rows()[0]
        group = rows.groups[row.group_id]
        d = doc.data
        advances = rows.advances.get(payout_id, [])
        decided = [payout_id, *(a.id for a in advances)]
        return PayoutDetail(
            row,
            group.agreement,
            group.members - row.period,
            d.get("security_kind") or ("deposit" if d.get("security_held") else None),
            d.get("security_description", ""),
            d.get("security_held", 0),
            d.get("security_required", 0),
            bool(d.get("deduct_future")),
            d.get("release_request"),
            local_day(d["release_request"]["at"]) if d.get("release_request") else None,
            d.get("released_by_name"),
            d.get("bank_ref"),
            self._release_check(doc, rows) if row.status == PENDING else None,
            self._advance_check(row, rows) if row.status == PENDING else None,
            advances,
            sorted(
                (r for i in decided for r in self.gate.decisions(i)),
                key=lambda r: r["at"],
                reverse=True,
            ),
        )

    def _release_check(self, doc: Document, rows: _Rows) -> GateView:
        pool = group_cash(doc.data["group_id"])
        commitment = payout_commitment(doc)
        state = self.gate.state([pool], extra=[commitment])
        paid = doc.data["amount"] - deduction(doc)
        decision = request(state, commitment.id, {pool: paid})
        return GateView(decision.granted, rows.say(decision, state, "Releasing it"))

    def _advance_check(self, row: PayoutRow, rows: _Rows) -> GateView | None:
        proposed = row.advance if row.advance and row.advance.status == PROPOSED else None
        amount = proposed.amount if proposed else row.shortfall
        if not amount:
            return None
        commitment = advance_commitment(proposed.id if proposed else NEW_ADVANCE, amount)
        state = self.gate.state([COMPANY_CASH], extra=[commitment])
        decision = request(state, commitment.id, {COMPANY_CASH: amount})
        doing = f"Advancing {format_inr(amount)}"
        return GateView(decision.granted, rows.say(decision, state, doing))


def _order(row: PayoutRow) -> tuple[Any, ...]:
    if row.status == PENDING:
        return (row.clock.deadline, row.group_name, row.period)
    released = row.clock.released_on or row.clock.deadline
    return (-released.toordinal(), row.group_name, row.period)


class _Rows:
    """Builds rows for some payouts, reading each group, name and pool once."""

    def __init__(self, reads: PayoutReads, docs: list[Document]) -> None:
        self.reads = reads
        self.docs = docs
        store = reads.ctx.store
        self.groups = {
            g: Group.from_doc(d)
            for g, d in store.get_many(GROUPS, {d.data["group_id"] for d in docs}).items()
        }
        people = store.get_many(MEMBERS, {d.data["member_id"] for d in docs})
        self.names = {m: str(d.data.get("name", m)) for m, d in people.items()}
        self.advances = self._advances(docs)
        self.gate_names = GateNames(store, {g: group.name for g, group in self.groups.items()})
        self.today = reads.ctx.clock.today()
        self.company_cash = reads.gate.available(COMPANY_CASH)

    def _advances(self, docs: list[Document]) -> dict[str, list[AdvanceRow]]:
        """Each prize's advances, newest first: a released prize keeps the advance that
        was posted for it (and what is still to be repaid of it)."""
        found: dict[str, list[tuple[str, AdvanceRow]]] = {}
        ids = [d.id for d in docs]
        for chunk in (ids[i : i + 10] for i in range(0, len(ids), 10)):
            query = Query(ADVANCES).where("payout_id", "in", chunk)
            for a in self.reads.ctx.store.query(query):
                at = a.data["proposed_at"]
                found.setdefault(a.data["payout_id"], []).append((at, AdvanceRow.from_doc(a)))
        return {p: [row for _, row in sorted(rows, reverse=True)] for p, rows in found.items()}

    def rows(self) -> list[PayoutRow]:
        return [self.row(d) for d in self.docs if d.data["group_id"] in self.groups]

    def row(self, doc: Document) -> PayoutRow:
        d, group = doc.data, self.groups[doc.data["group_id"]]
        released = local_day(d["released_at"]) if d.get("released_at") else None
        clock = PrizeClock(
            local_day(d["created_at"]),
            next_instalment_date(group, d["period"]),
            date.fromisoformat(d["deadline"]),
            self.today,
            released,
        )
        secured = bool(d.get("deduct_future")) or d.get("security_held", 0) >= d.get(
            "security_required", 0
        )
        asked = (d.get("release_request") or {}).get("by", {}).get("name")
        advances = self.advances.get(doc.id, [])
        waiting = d["status"] == PENDING
        shortfall = self.reads.shortfall(doc) if waiting else None
        row = PayoutRow(
            doc.id,
            group.id,
            group.name,
            d["period"],
            d["member_id"],
            self.names.get(d["member_id"], d["member_id"]),
            d["amount"],
            d.get("paid") or d["amount"] - deduction(doc),
            d["status"],
            clock,
            _security_text(d),
            secured,
            asked,
            self.reads.gate.available(group_cash(group.id)) if waiting else None,
            shortfall,
            advances[0] if advances else None,
            "",
            d.get("late_reason"),
        )
        return replace(row, next_step=next_step(row, self.company_cash))

    def say(self, decision: Decision, state: BankState, doing: str) -> str:
        """A decision in words, with the pool and the commitments named."""
        if decision.granted:
            order = " → ".join(self.label(c) for c in decision.sequence) or "nothing else"
            return f"{doing} is granted: every commitment can still be met ({order})."
        if decision.code == "exceeds_available" and decision.pool is not None:
            pool, have = decision.pool, state.available[decision.pool]
            want = decision.amounts[pool]
            return (
                f"{doing} is refused: {self.label(pool)} holds {format_inr(have)} of the "
                f"{format_inr(want)} needed (short by {format_inr(want - have)})."
            )
        shorts = [s for b in decision.blocked for s in b.shortfalls]
        named = "; ".join(
            f"{self.label(s.commitment_id)} would still need {format_inr(s.need)} from "
            f"{self.label(s.pool)}, which could hold at most {format_inr(s.reachable)}"
            for s in shorts[:3]
        )
        return f"{doing} is refused: {named or decision.reason}."

    def label(self, name: str) -> str:
        """A pool or commitment as people call it (:mod:`app.services.gate_names`)."""
        return self.gate_names.label(name)


def _security_text(d: Mapping[str, Any]) -> str:
    if d.get("deduct_future"):
        return f"Future instalments deducted ({format_inr(d.get('future_instalments', 0))})"
    held, required = d.get("security_held", 0), d.get("security_required", 0)
    if not required:
        return "None needed (last period)"
    if not held:
        return f"None yet ({format_inr(required)} required)"
    kind = KINDS.get(str(d.get("security_kind")))
    what = kind.label if kind else "Security"
    if held >= required:
        return f"{what} {format_inr(held)} ✓"
    return f"{what} {format_inr(held)}, short by {format_inr(required - held)}"


def next_step(row: PayoutRow, company_cash: int) -> str:
    """What must happen next for the prize, in words (or why it was late)."""
    if row.status != PENDING:
        when = row.clock.released_on
        paid = f"Paid {when:%d %b %Y}" if when else "Paid"
        if row.clock.days_late:
            return f"{paid}, {row.clock.text.removeprefix('paid ')}: {row.late_reason}"
        return f"{paid}, on time"
    if not row.secured:
        return "Record the winner's security, or deduct the future instalments"
    advance = row.advance if row.advance and row.advance.status == PROPOSED else None
    if advance is not None and advance.amount > company_cash:
        return (
            f"Advance of {format_inr(advance.amount)} proposed, but company cash holds only "
            f"{format_inr(company_cash)}: wait for the members' dues, or add company cash"
        )
    if advance is not None:
        return f"Advance of {format_inr(advance.amount)} awaits a second person's approval"
    if row.shortfall:
        return f"Pool short by {format_inr(row.shortfall)}: propose an advance from company cash"
    if row.requested_by is None:
        return "Ask for the release (a second person then releases it)"
    return f"Release it (asked for by {row.requested_by}; a second person releases it)"
