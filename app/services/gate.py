"""The Banker's gate: cash leaves a pool only if every open commitment can still be met.

Resources are cash pools, with balances from the ledger (an overdrawn pool counts as
0): ``cash:group:<g>`` (a group's collected funds, which belong to its members) and
``cash:lending`` (the company's lending capital). Commitments (processes, in
:mod:`app.kernel.bankers` terms) are:

* ``loans/<id>``: an approved loan not yet disbursed; may claim its amount from
  ``cash:lending`` and holds nothing yet;
* ``payouts/<id>``: a pending prize payout; may claim the prize from its group's pool.

Every commitment claims from one pool, so safety is decided pool by pool: a decision
builds the state from the pools its commitment claims from and the commitments on
those pools. That is the same answer the whole state gives for this pool, a smaller
record, and a shortfall in one group never blocks another group's payout.
:meth:`BankersGate.state` builds the whole state for screens and benchmarks.

Two kinds of decision:

* a *sanction* (loan approval): the state with the loan added as a commitment must be
  safe (:meth:`BankersGate.check` with no amounts);
* a *grant* (disbursement, prize release): :func:`app.kernel.bankers.request` grants
  the amounts only if they are available and the state after the grant is safe.

Every decision is written. A granted one goes into the ChangeSet of the action it
permits (the record's event carries the decision JSON, and ``bankers_decisions/<id>``
keeps it for screens); a refusal becomes its own ``bankers.refuse`` WAL record and is
then raised as ``Conflict`` with the reason (the pool and commitment that make the
state unsafe, or the pool short of cash).

Two grants from one pool made at once (by two threads or processes) must not both
spend the same cash: a granted decision reads and bumps ``bankers_pools/<pool>``
through the pipeline's reader, so the second commit fails its precondition and is
decided again with the first one's posting in view.

Prize payouts are released only once security is met: ``security_held`` at least
``security_required`` (future gross instalments plus a third, or a half for immovable
property; :meth:`BankersGate.record_security`), or the winner chose to have the future
instalments deducted (:meth:`BankersGate.deduct_future`). A deduction keeps those
instalments in the group's pool: the cash paid is the prize less the deduction, and the
deduction stays on ``chitfund:<g>`` as owed to the winner until it is applied to their
dues.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from app.kernel.bankers import BankState, Commitment, Decision, is_safe, request
from app.kernel.errors import Conflict, KnownError, PermissionDenied, ValidationError
from app.services.actors import Actor
from app.services.auctions import rules
from app.services.collections import GATE_DECISIONS, GATE_POOLS, GROUPS, LOANS, PAYOUTS
from app.services.context import ServiceContext
from app.services.events import (
    BankersRefused,
    FutureInstalmentsDeducted,
    PayoutReleased,
    PayoutSecured,
)
from app.services.groups import read_group
from app.services.ledger import LedgerService
from app.services.ledger.postings import (
    LENDING_CASH,
    chitfund,
    cr,
    dr,
    group_cash,
    normalise_bank_ref,
    txn_write,
)
from app.services.money import format_inr
from app.services.pipeline import ChangeSet, Reader
from app.services.store import Document, Query, Write
from app.services.text import LINE, NOTE, clean

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
class PayoutRelease:
    """A released prize: what was paid, what stayed in the pool, and the decision."""

    payout_id: str
    group_id: str
    member_id: str
    prize: int
    paid: int
    deducted: int
    txn_id: str
    decision_id: str
    sequence: list[str]


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

    def decisions(self, subject_id: str | None = None) -> list[dict[str, Any]]:
        """Recorded decisions (for one loan or payout when given), newest first."""
        query = Query(DECISIONS)
        if subject_id is not None:
            query = query.where("subject.id", "==", subject_id)
        docs = self.ctx.store.query(query)
        return sorted((d.data for d in docs), key=lambda r: r["at"], reverse=True)

    # -- prize payouts ------------------------------------------------------------

    def release_payout(
        self, actor: Actor, payout_id: str, *, bank_ref: str | None = None, reason: str = ""
    ) -> PayoutRelease:
        """Pay a prize out of its group's pool, if security is met and the gate grants it.

        Raises:
            Conflict: the payout is not pending, security is short, or the Banker's
                check refuses (the refusal is in the WAL as ``bankers.refuse``).
        """
        actor.require("employee", "admin", doing="release a prize payout")
        ref = normalise_bank_ref(bank_ref) if bank_ref else None
        reason = clean(reason, "Reason", NOTE)

        def work(reader: Reader) -> tuple[ChangeSet, Verdict | PayoutRelease]:
            payout = reader.require(PAYOUTS, payout_id, "prize payout")
            _check_releasable(actor, payout)
            paid = payout.data["amount"] - deduction(payout)
            pool = group_cash(payout.data["group_id"])
            subject = ("payout", payout_id)
            verdict = self.decide(
                reader,
                actor,
                payout_commitment(payout),
                {pool: paid},
                action="payout.release",
                subject=subject,
            )
            if not verdict.granted:
                return self.refusal(verdict, reason), verdict
            return self._release_change(actor, payout, verdict, ref, reason)

        outcome = self.ctx.pipeline.transact(actor, work).value
        if isinstance(outcome, Verdict):
            raise outcome.error()
        assert isinstance(outcome, PayoutRelease)
        return outcome

    def _release_change(
        self, actor: Actor, payout: Document, verdict: Verdict, ref: str | None, reason: str
    ) -> tuple[ChangeSet, PayoutRelease]:
        d, today = payout.data, self.ctx.clock.today()
        kept = deduction(payout)
        txn = self._prize_txn(payout, kept, today, ref)
        update = {
            "status": RELEASED,
            "released_at": self.ctx.clock.now().isoformat(),
            "released_by": actor.id,
            "paid": d["amount"] - kept,
            "deducted": kept,
            "txn_id": txn.id,
            "bank_ref": ref,
            "decision_id": verdict.id,
        }
        writes = [Write("update", PAYOUTS, payout.id, update), txn, *verdict.writes]
        release = PayoutRelease(
            payout.id,
            d["group_id"],
            d["member_id"],
            d["amount"],
            d["amount"] - kept,
            kept,
            txn.id,
            verdict.id,
            list(verdict.decision.sequence),
        )
        event = PayoutReleased(
            payout.id, d["group_id"], d["member_id"], release.paid, kept, verdict.record
        )
        return ChangeSet.of(event, payout.id, writes, reason), release

    def _prize_txn(self, payout: Document, kept: int, today: date, ref: str | None) -> Write:
        d = payout.data
        paid = d["amount"] - kept
        memo = f"Prize of period {d['period']}"
        if kept:
            memo += f"; {format_inr(kept)} kept in the pool for future instalments"
        return txn_write(
            self.ctx.ids,
            date=today,
            kind="prize.paid",
            lines=[dr(chitfund(d["group_id"]), paid), cr(group_cash(d["group_id"]), paid)],
            memo=memo,
            group_id=d["group_id"],
            period=d["period"],
            member_id=d["member_id"],
            payout_id=payout.id,
            bank_ref=ref,
        )

    def record_security(
        self,
        actor: Actor,
        payout_id: str,
        amount: int,
        *,
        immovable: bool = False,
        description: str = "",
        reason: str = "",
    ) -> dict[str, Any]:
        """Record the security a prize winner has given (value in paise).

        Immovable property must cover the future instalments plus a half, anything
        else plus a third; ``security_required`` is recomputed accordingly.
        """
        actor.require("employee", "admin", doing="record a prize winner's security")
        text = _checked_security(amount, description)
        reason = clean(reason, "Reason", NOTE)

        def work(reader: Reader) -> ChangeSet:
            payout = _pending(reader, payout_id)
            group = read_group(reader, payout.data["group_id"])
            remaining = group.members - payout.data["period"]
            required = rules.security_required(group.agreement, remaining, immovable)
            update = {
                "security_held": amount,
                "security_required": required,
                "security_kind": "immovable" if immovable else "movable",
                "security_description": text,
                "security_recorded_by": actor.id,
                "security_recorded_at": self.ctx.clock.now().isoformat(),
            }
            write = Write("update", PAYOUTS, payout_id, update)
            event = PayoutSecured(payout_id, amount, required)
            return ChangeSet.of(event, payout_id, [write], reason)

        self.ctx.pipeline.transact(actor, work)
        return self._payout_data(payout_id)

    def deduct_future(self, actor: Actor, payout_id: str, reason: str) -> dict[str, Any]:
        """The winner chooses to have future instalments deducted from the prize."""
        actor.require("employee", "admin", doing="deduct future instalments from a prize")
        reason = clean(reason, "Reason", NOTE)
        if not reason:
            raise ValidationError("Give the reason (e.g. the winner's written request).")

        def work(reader: Reader) -> ChangeSet:
            payout = _pending(reader, payout_id)
            owed = int(payout.data.get("future_instalments", 0))
            if owed >= payout.data["amount"]:
                raise Conflict(
                    f"The future instalments ({format_inr(owed)}) are not less than the "
                    f"prize ({format_inr(payout.data['amount'])}): nothing would be paid.",
                    hint="Take security instead.",
                )
            write = Write("update", PAYOUTS, payout_id, {"deduct_future": True})
            event = FutureInstalmentsDeducted(payout_id, owed)
            return ChangeSet.of(event, payout_id, [write], reason)

        self.ctx.pipeline.transact(actor, work)
        return self._payout_data(payout_id)

    def payouts(self, *, group_id: str | None = None, member_id: str | None = None) -> list[Payout]:
        """Prize payouts, of one group and/or one member when given, by group and period."""
        query = Query(PAYOUTS)
        if group_id is not None:
            query = query.where("group_id", "==", group_id)
        if member_id is not None:
            query = query.where("member_id", "==", member_id)
        found = [Payout.from_doc(doc) for doc in self.ctx.store.stream(query)]
        return sorted(found, key=lambda p: (p.group_id, p.period))

    def _payout_data(self, payout_id: str) -> dict[str, Any]:
        doc = self.ctx.store.get(PAYOUTS, payout_id)
        assert doc is not None
        return {"id": doc.id, **doc.data}


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


def _pending(reader: Reader, payout_id: str) -> Document:
    payout = reader.require(PAYOUTS, payout_id, "prize payout")
    status = payout.data.get("status")
    if status != PENDING:
        raise Conflict(f"Prize payout {payout_id} is {status}; only a pending payout can change.")
    return payout


def _check_releasable(actor: Actor, payout: Document) -> None:
    d = payout.data
    if d.get("status") != PENDING:
        raise Conflict(f"Prize payout {payout.id} is {d.get('status')}, not pending.")
    if actor.id == d["member_id"]:
        raise PermissionDenied(
            f"{actor.name} won this prize and cannot release it to themselves.",
            hint="Another employee or an admin must release it.",
        )
    held, required = d.get("security_held", 0), d.get("security_required", 0)
    if held < required and not d.get("deduct_future"):
        raise Conflict(
            f"Security for prize payout {payout.id} is short: {format_inr(held)} held of "
            f"{format_inr(required)} required (future instalments plus a third).",
            hint="Record the winner's security, or deduct the future instalments from the "
            "prize, before releasing it.",
        )


def _checked_security(amount: int, description: str) -> str:
    problems = []
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        problems.append(f"the security's value must be whole paise, at least 0 (got {amount!r})")
    text = clean(description, "The security's description", LINE)
    if not text:
        problems.append("describe the security (e.g. 'FD receipt 1234, SBI')")
    if problems:
        raise ValidationError("The security cannot be recorded: " + "; ".join(problems) + ".")
    return text
