"""The Banker's gate: cash leaves a pool only if every open commitment can still be met.

Resources are cash pools, with balances from the ledger (an overdrawn pool counts as
0): ``cash:group:<g>`` (a group's collected funds, which belong to its members),
``cash:lending`` (the company's lending capital) and ``cash:company`` (the company's own
cash, which prize advances come from). Commitments (processes, in
:mod:`app.kernel.bankers` terms) are:

* ``loans/<id>``: an approved loan not yet disbursed; may claim its amount from
  ``cash:lending`` and holds nothing yet;
* ``payouts/<id>``: a pending prize payout; may claim the prize from its group's pool;
* ``advances/<id>``: an advance of the company's cash to a group's pool, proposed and
  not yet decided; may claim its amount from ``cash:company``.

Every commitment claims from one pool, so safety is decided pool by pool: a decision
builds the state from the pools its commitment claims from and the commitments on
those pools. That is the same answer the whole state gives for this pool, a smaller
record, and a shortfall in one group never blocks another group's payout.
:meth:`BankersGate.state` builds the whole state for screens and benchmarks.

Two kinds of decision:

* a *sanction* (loan approval): the state with the loan added as a commitment must be
  safe (:meth:`BankersGate.check` with no amounts);
* a *grant* (disbursement, prize release, advance): :func:`app.kernel.bankers.request`
  grants the amounts only if they are available and the state after the grant is safe.

Every decision is written. A granted one goes into the ChangeSet of the action it
permits (the record's event carries the decision JSON, and ``bankers_decisions/<id>``
keeps it for screens); a refusal becomes its own ``bankers.refuse`` WAL record and is
then raised as ``Conflict`` with the reason (the pool and commitment that make the
state unsafe, or the pool short of cash).

Two grants from one pool made at once (by two threads or processes) must not both
spend the same cash: a granted decision reads and bumps ``bankers_pools/<pool>``
through the pipeline's reader, so the second commit fails its precondition and is
decided again with the first one's posting in view.

The prize payouts' workflow (security, maker-checker release, advances, the statutory
clock) is :mod:`app.services.payouts`; a payout whose winner chose to have the future
instalments deducted keeps them in the pool (:func:`deduction`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from app.kernel.bankers import BankState, Commitment, Decision, is_safe, request
from app.kernel.errors import KnownError
from app.services.actors import Actor
from app.services.collections import (
    ADVANCES,
    GATE_DECISIONS,
    GATE_POOLS,
    GROUPS,
    LOANS,
    PAYOUTS,
)
from app.services.context import ServiceContext
from app.services.events import BankersRefused
from app.services.gate_names import GateNames
from app.services.ledger import LedgerService
from app.services.ledger.postings import COMPANY_CASH, LENDING_CASH, group_cash
from app.services.pipeline import ChangeSet, Reader
from app.services.store import Document, Query, Write

DECISIONS = GATE_DECISIONS
GUARDS = GATE_POOLS
PENDING, RELEASED = "pending", "released"


def loan_commitment(loan_id: str, amount: int) -> Commitment:
    """An approved, undisbursed loan: may claim ``amount`` from ``cash:lending``."""
    return Commitment(f"{LOANS}/{loan_id}", {LENDING_CASH: amount}, {})


def payout_commitment(payout: Document) -> Commitment:
    """A pending prize payout: may claim the prize from its group's pool."""
    pool = group_cash(payout.data["group_id"])
    return Commitment(f"{PAYOUTS}/{payout.id}", {pool: payout.data["amount"]}, {})


def advance_commitment(advance_id: str, amount: int) -> Commitment:
    """A proposed advance: may claim ``amount`` from the company's cash."""
    return Commitment(f"{ADVANCES}/{advance_id}", {COMPANY_CASH: amount}, {})


def deduction(payout: Document) -> int:
    """What stays in the pool against the winner's future instalments (0 unless chosen)."""
    if not payout.data.get("deduct_future"):
        return 0
    return min(int(payout.data.get("future_instalments", 0)), payout.data["amount"])


@dataclass(frozen=True)
class Verdict:
    """A decision, its record (the JSON in the WAL) and the writes that keep it."""

    decision: Decision
    record: dict[str, Any]
    writes: list[Write]

    @property
    def granted(self) -> bool:
        return self.decision.granted

    @property
    def id(self) -> str:
        return str(self.record["id"])

    def error(self) -> KnownError:
        """The refusal as an exception to raise (Conflict for a shortage)."""
        error = self.decision.error()
        if error is None:
            raise AssertionError("a granted decision has no error")
        return error


@dataclass(frozen=True)
class Payout:
    """A prize payout as registers and statements show it (amounts in paise)."""

    id: str
    group_id: str
    member_id: str
    period: int
    amount: int
    status: str
    deadline: str
    security_required: int
    security_held: int
    deduct_future: bool
    paid: int | None
    released_at: str | None
    bank_ref: str | None

    @classmethod
    def from_doc(cls, doc: Document) -> Payout:
        d = doc.data
        return cls(
            id=doc.id,
            group_id=d["group_id"],
            member_id=d["member_id"],
            period=d["period"],
            amount=d["amount"],
            status=d["status"],
            deadline=d["deadline"],
            security_required=d.get("security_required", 0),
            security_held=d.get("security_held", 0),
            deduct_future=bool(d.get("deduct_future")),
            paid=d.get("paid"),
            released_at=d.get("released_at"),
            bank_ref=d.get("bank_ref"),
        )


class BankersGate:
    """Builds the Banker's state from the store and decides grants and sanctions."""

    def __init__(self, ctx: ServiceContext, *, ledger: LedgerService) -> None:
        self.ctx = ctx
        self.ledger = ledger

    # -- the state ------------------------------------------------------------------

    def available(self, pool: str) -> int:
        """Cash available in ``pool`` (its ledger balance; 0 when overdrawn)."""
        return max(self.ledger.balance(pool), 0)

    def commitments(self, pools: Iterable[str] | None = None) -> list[Commitment]:
        """Open commitments on ``pools`` (all pools when None), in a stable order."""
        wanted = None if pools is None else set(pools)
        found: list[Commitment] = []
        if wanted is None or LENDING_CASH in wanted:
            query = Query(LOANS).where("status", "==", "approved")
            found += [loan_commitment(d.id, d.data["amount"]) for d in self.ctx.store.query(query)]
        found += [payout_commitment(d) for d in self._pending_payouts(wanted)]
        if wanted is None or COMPANY_CASH in wanted:
            query = Query(ADVANCES).where("status", "==", "proposed")
            found += [
                advance_commitment(d.id, d.data["amount"]) for d in self.ctx.store.query(query)
            ]
        return sorted(found, key=lambda c: c.id)

    def _pending_payouts(self, pools: set[str] | None) -> list[Document]:
        query = Query(PAYOUTS).where("status", "==", PENDING)
        if pools is None:
            return self.ctx.store.query(query)
        groups = sorted(p.removeprefix("cash:group:") for p in pools if p.startswith("cash:group:"))
        return [d for g in groups for d in self.ctx.store.query(query.where("group_id", "==", g))]

    def state(
        self, pools: Iterable[str] | None = None, extra: Iterable[Commitment] = ()
    ) -> BankState:
        """The Banker's state over ``pools`` (every group and lending when None).

        ``extra`` commitments are added, replacing a stored one with the same id.
        """
        extras = {c.id: c for c in extra}
        commitments = [c for c in self.commitments(pools) if c.id not in extras]
        commitments += extras.values()
        names = set(pools) if pools is not None else self._all_pools()
        for commitment in commitments:
            names |= commitment.pools()
        available = {pool: self.available(pool) for pool in sorted(names)}
        return BankState(available, tuple(commitments))

    def _all_pools(self) -> set[str]:
        groups = {group_cash(d.id) for d in self.ctx.store.query(Query(GROUPS))}
        return {LENDING_CASH, *groups}

    # -- decisions --------------------------------------------------------------------

    def check(self, commitment: Commitment, amounts: Mapping[str, int] | None = None) -> Decision:
        """Decide a grant of ``amounts`` to ``commitment``, or (no amounts) whether the
        state with ``commitment`` added is safe (a sanction). Writes nothing."""
        return self._evaluate(commitment, amounts)[0]

    def _evaluate(
        self, commitment: Commitment, amounts: Mapping[str, int] | None
    ) -> tuple[Decision, BankState]:
        state = self.state(commitment.pools(), extra=[commitment])
        if amounts:
            return request(state, commitment.id, amounts), state
        return _sanction(state, commitment), state

    def decide(
        self,
        reader: Reader,
        actor: Actor,
        commitment: Commitment,
        amounts: Mapping[str, int] | None,
        *,
        action: str,
        subject: tuple[str, str],
    ) -> Verdict:
        """Decide inside a transaction: the verdict's writes record the decision (and,
        when granted, bump the pools' guards so concurrent grants are serialised)."""
        guards = {pool: reader.get(GUARDS, pool) for pool in sorted(commitment.pools())}
        decision, state = self._evaluate(commitment, amounts)
        record = self._record(actor, decision, state, action, subject)
        writes = [Write("set", DECISIONS, record["id"], record, expect_version=0)]
        if decision.granted:
            writes += [_guard_write(pool, doc, record["id"]) for pool, doc in guards.items()]
        return Verdict(decision, record, writes)

    def _record(
        self,
        actor: Actor,
        decision: Decision,
        state: BankState,
        action: str,
        subject: tuple[str, str],
    ) -> dict[str, Any]:
        return {
            **decision.to_json(),
            "id": self.ctx.ids.new("bd"),
            "action": action,
            "subject": {"type": subject[0], "id": subject[1]},
            "available": dict(state.available),
            "commitments": len(state.commitments),
            "at": self.ctx.clock.now().isoformat(),
            "by": actor.id,
        }

    @staticmethod
    def refusal(verdict: Verdict, reason: str = "") -> ChangeSet:
        """The ``bankers.refuse`` WAL record of a refused decision."""
        subject = verdict.record["subject"]
        return ChangeSet.of(
            BankersRefused(verdict.record),
            subject["id"],
            list(verdict.writes),
            reason or verdict.decision.reason,
            entity_type=subject["type"],
        )

    def granted_or_raise(self, verdict: Verdict) -> Verdict:
        """``verdict`` when it is granted; otherwise its refusal, raised with the pools
        and commitments named as people call them (the log keeps the ids)."""
        if verdict.granted:
            return verdict
        error = verdict.error()
        raise type(error)(GateNames(self.ctx.store).explain(verdict.decision), hint=error.hint)

    def named(self, ids: Iterable[str]) -> list[str]:
        """Pools and commitments (a decision's safe sequence) as people call them:
        "the prize of period 6 of Kaveri Chit", "the loan of Neha Naidu (L-0042)"."""
        return GateNames(self.ctx.store).sequence(ids)

    def decisions(self, subject_id: str | None = None) -> list[dict[str, Any]]:
        """Recorded decisions (for one loan or payout when given), newest first."""
        query = Query(DECISIONS)
        if subject_id is not None:
            query = query.where("subject.id", "==", subject_id)
        docs = self.ctx.store.query(query)
        return sorted((d.data for d in docs), key=lambda r: r["at"], reverse=True)

    # -- prize payouts (their workflow is in :mod:`app.services.payouts`) -----------

    def payouts(self, *, group_id: str | None = None, member_id: str | None = None) -> list[Payout]:
        """Prize payouts, of one group and/or one member when given, by group and period."""
        query = Query(PAYOUTS)
        if group_id is not None:
            query = query.where("group_id", "==", group_id)
        if member_id is not None:
            query = query.where("member_id", "==", member_id)
        found = [Payout.from_doc(doc) for doc in self.ctx.store.stream(query)]
        return sorted(found, key=lambda p: (p.group_id, p.period))


def _sanction(state: BankState, commitment: Commitment) -> Decision:
    result = is_safe(state)
    if result.safe:
        reason = f"sanction of {commitment.id} granted; the state stays {result.reason}"
        return Decision(True, "granted", reason, commitment.id, {}, result.sequence)
    reason = f"sanction of {commitment.id} refused: the state would become {result.reason}"
    pool = result.blocked[0].shortfalls[0].pool
    return Decision(False, "unsafe", reason, commitment.id, {}, pool=pool, blocked=result.blocked)


def _guard_write(pool: str, doc: Document | None, decision_id: str) -> Write:
    grants = (doc.data.get("grants", 0) if doc else 0) + 1
    return Write("set", GUARDS, pool, {"grants": grants, "last_decision": decision_id})
