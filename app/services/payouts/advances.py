"""Advancing the company's cash to a group's pool, so a prize is paid on time.

A group's pool is short of a prize on its deadline when members have not paid yet.
The foreman may then advance the shortfall from the company's own cash
(``cash:company``): one explicit ledger entry (``advance.made``, see
:mod:`app.services.ledger.postings`), granted by the Banker's gate, made by two people:

* the maker proposes it for a payout (:meth:`AdvanceDesk.propose_advance`), for what
  the pool lacks so that the release would be granted (:func:`advance_needed`: the
  prize, and every other open commitment on the pool still met). Until it is decided,
  the proposal is a commitment on the company's cash (``advances/<id>``), so two
  proposals cannot both count on the same rupees;
* a second person approves it (:meth:`AdvanceDesk.approve_advance`): the gate grants
  it from ``cash:company`` only if the cash is there and every other proposed advance
  can still be met; it is posted and entered in the group's advance book, from which
  the members' late instalments repay it (:mod:`app.services.ledger.advances`).
  Either person may decline it instead, with a reason.

No more is advanced than the pool lacks when it is approved: if members paid in the
meantime the advance is smaller, and if the pool lacks nothing any more the approval
is refused (decline it and release the prize). A prize released without the advance
withdraws its open proposal.
"""

from __future__ import annotations

from typing import Any

from app.kernel.bankers import BankState, request
from app.kernel.errors import Conflict, PermissionDenied, ValidationError
from app.services.actors import Actor
from app.services.collections import ADVANCE_BOOKS, ADVANCES
from app.services.events import AdvanceApproved, AdvanceDeclined, AdvanceProposed
from app.services.gate import Verdict, advance_commitment, deduction, payout_commitment
from app.services.ledger.advances import ADVANCED, book_with_advance
from app.services.ledger.postings import COMPANY_CASH, advance_write, group_cash
from app.services.money import format_inr
from app.services.payouts.base import STAFF, PayoutBase, not_the_winner, pending
from app.services.pipeline import ChangeSet, Reader
from app.services.store import Document, Query, Write
from app.services.text import NOTE, clean

PROPOSED, DECLINED, WITHDRAWN = "proposed", "declined", "withdrawn"


def advance_needed(state: BankState, commitment_id: str, pool: str, amount: int) -> int | None:
    """The least cash to add to ``pool`` for the gate to grant ``amount`` to the
    commitment: 0 when it would be granted now; None when cash is not what stops it."""
    extra = max(0, amount - state.available[pool])
    for _ in range(len(state.commitments) + 1):
        available = {**state.available, pool: state.available[pool] + extra}
        decision = request(BankState(available, state.commitments), commitment_id, {pool: amount})
        if decision.granted:
            return extra
        shorts = [s.short for b in decision.blocked for s in b.shortfalls if s.pool == pool]
        if decision.code != "unsafe" or not shorts:
            return None
        extra += max(shorts)
    return None


def open_proposal(reader: Reader, payout_id: str) -> Document | None:
    """The payout's advance proposed and not yet decided, if any."""
    query = Query(ADVANCES).where("payout_id", "==", payout_id)
    return next((d for d in reader.query(query) if d.data["status"] == PROPOSED), None)


def withdraw_writes(reader: Reader, payout_id: str, why: str) -> list[Write]:
    """Close the payout's open proposal (the prize is released without it)."""
    found = open_proposal(reader, payout_id)
    if found is None:
        return []
    return [Write("update", ADVANCES, found.id, {"status": WITHDRAWN, "decision_note": why})]


class AdvanceDesk(PayoutBase):
    """Proposing (maker), approving or declining (checker) advances of company cash."""

    def shortfall(self, payout: Document) -> int | None:
        """What the group's pool lacks for the payout's release to be granted now (0:
        nothing; None: the gate would refuse it for another reason than cash)."""
        pool = group_cash(payout.data["group_id"])
        paid = payout.data["amount"] - deduction(payout)
        commitment = payout_commitment(payout)
        state = self.gate.state([pool], extra=[commitment])
        return advance_needed(state, commitment.id, pool, paid)

    def propose_advance(self, actor: Actor, payout_id: str, reason: str) -> dict[str, Any]:
        """The maker proposes advancing what the pool lacks for this prize."""
        actor.require(*STAFF, doing="propose an advance of company cash")
        reason = clean(reason, "Reason", NOTE)
        if not reason:
            raise ValidationError(
                "Reason: say why the advance is needed (e.g. 'three members have not paid; "
                "the prize is due on Friday')."
            )

        def work(reader: Reader) -> tuple[ChangeSet, str]:
            payout = pending(reader, payout_id)
            not_the_winner(actor, payout, "propose an advance for")
            found = open_proposal(reader, payout_id)
            if found is not None:
                raise Conflict(
                    f"{found.data['proposed_by']['name']} already proposed an advance of "
                    f"{format_inr(found.data['amount'])} for this prize.",
                    hint="A second person approves or declines it.",
                )
            amount = self._needed(payout)
            advance_id = self.ctx.ids.new("adv")
            doc = self._proposal(actor, payout, advance_id, amount, reason)
            write = Write("set", ADVANCES, advance_id, doc, expect_version=0)
            group_id = payout.data["group_id"]
            event = AdvanceProposed(advance_id, group_id, payout_id, amount)
            return ChangeSet.of(event, advance_id, [write], reason), advance_id

        advance_id = self.ctx.pipeline.transact(actor, work).value
        return self.advance_data(advance_id)

    def _needed(self, payout: Document) -> int:
        amount = self.shortfall(payout)
        if amount is None:
            raise Conflict(
                "The Banker's check would refuse this release for another reason than the "
                "pool's cash; an advance would not help.",
                hint="Look at the Banker's check on the payout.",
            )
        if amount == 0:
            raise Conflict(
                "The group's pool holds enough for this prize: no advance is needed.",
                hint="Release the prize.",
            )
        return amount

    def _proposal(
        self, actor: Actor, payout: Document, advance_id: str, amount: int, reason: str
    ) -> dict[str, Any]:
        d = payout.data
        return {
            "group_id": d["group_id"],
            "payout_id": payout.id,
            "period": d["period"],
            "amount": amount,
            "proposed_amount": amount,
            "left": 0,
            "repaid": 0,
            "status": PROPOSED,
            "proposed_by": actor.to_json(),
            "proposed_at": self.ctx.clock.now().isoformat(),
            "reason": reason,
        }

    def approve_advance(self, actor: Actor, advance_id: str, note: str = "") -> Verdict:
        """The checker approves: the gate grants it from the company's cash and it is
        posted. Raises Conflict when refused (recorded as ``bankers.refuse``)."""
        actor.require(*STAFF, doing="approve an advance of company cash")
        note = clean(note, "Note", NOTE)

        def work(reader: Reader) -> tuple[ChangeSet, Verdict]:
            advance = self._proposed(reader, advance_id)
            if advance.data["proposed_by"]["id"] == actor.id:
                raise PermissionDenied(
                    f"{actor.name} proposed this advance and so cannot approve it: the maker "
                    "can never check their own action.",
                    hint="A second employee or an admin must approve it.",
                )
            payout = pending(reader, advance.data["payout_id"])
            amount = min(self._needed(payout), advance.data["amount"])
            verdict = self.gate.decide(
                reader,
                actor,
                advance_commitment(advance_id, advance.data["amount"]),
                {COMPANY_CASH: amount},
                action="advance.approve",
                subject=("advance", advance_id),
            )
            if not verdict.granted:
                return self.gate.refusal(verdict, note), verdict
            return self._approve_change(reader, actor, advance, amount, verdict, note), verdict

        verdict = self.ctx.pipeline.transact(actor, work).value
        return self.gate.granted_or_raise(verdict)

    def _approve_change(
        self,
        reader: Reader,
        actor: Actor,
        advance: Document,
        amount: int,
        verdict: Verdict,
        note: str,
    ) -> ChangeSet:
        d = advance.data
        txn = advance_write(
            self.ctx.ids,
            group_id=d["group_id"],
            amount=amount,
            date=self.ctx.clock.today(),
            payout_id=d["payout_id"],
            period=d["period"],
        )
        book = reader.get(ADVANCE_BOOKS, d["group_id"])
        entry = book_with_advance(book.data if book else None, advance.id, d["period"], amount)
        update = {
            "status": ADVANCED,
            "amount": amount,
            "left": amount,
            "approved_by": actor.to_json(),
            "approved_at": self.ctx.clock.now().isoformat(),
            "decision_note": note,
            "txn_id": txn.id,
            "decision_id": verdict.id,
        }
        writes = [
            Write("update", ADVANCES, advance.id, update),
            txn,
            Write("set", ADVANCE_BOOKS, d["group_id"], entry),
            *verdict.writes,
        ]
        event = AdvanceApproved(
            advance.id, d["group_id"], d["payout_id"], amount, txn.id, verdict.record
        )
        return ChangeSet.of(event, advance.id, writes, note)

    def decline_advance(self, actor: Actor, advance_id: str, reason: str) -> dict[str, Any]:
        """Decline (or, as its maker, withdraw) a proposed advance, with a reason."""
        actor.require(*STAFF, doing="decline an advance of company cash")
        reason = clean(reason, "Reason", NOTE)
        if not reason:
            raise ValidationError("Reason: say why the advance is declined.")

        def work(reader: Reader) -> ChangeSet:
            advance = self._proposed(reader, advance_id)
            update = {
                "status": DECLINED,
                "declined_by": actor.to_json(),
                "declined_at": self.ctx.clock.now().isoformat(),
                "decision_note": reason,
            }
            write = Write("update", ADVANCES, advance_id, update)
            event = AdvanceDeclined(advance_id, advance.data["payout_id"])
            return ChangeSet.of(event, advance_id, [write], reason)

        self.ctx.pipeline.transact(actor, work)
        return self.advance_data(advance_id)

    def _proposed(self, reader: Reader, advance_id: str) -> Document:
        advance = reader.require(ADVANCES, advance_id, "advance")
        status = advance.data["status"]
        if status != PROPOSED:
            raise Conflict(f"Advance {advance_id} is {status}; only a proposed one can be decided.")
        return advance

    def advance_data(self, advance_id: str) -> dict[str, Any]:
        doc = self.ctx.store.get(ADVANCES, advance_id)
        assert doc is not None
        return {"id": doc.id, **doc.data}
