"""Releasing a prize, maker-checker: one staff member asks, another releases.

The maker (an employee) asks for the release once the winner's security covers the
future instalments (or they are deducted); a second employee or an admin (the
checker) releases it, never the maker, and never the winner. The release is a grant
through the Banker's gate from the group's pool (:mod:`app.services.gate`): granted
with the safe sequence, or refused, in the WAL, naming the pool and the commitment
that would be left short.

A release after the statutory deadline (:mod:`.clock`) needs the checker's reason,
which is kept with the payout and shown wherever the payout is: a prize paid late
always says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from app.kernel import office_time
from app.kernel.errors import Conflict, PermissionDenied, ValidationError
from app.services.actors import Actor
from app.services.collections import PAYOUTS
from app.services.events import PayoutReleased, PayoutReleaseRequested
from app.services.gate import Verdict, deduction, payout_commitment
from app.services.ledger.postings import group_cash, normalise_bank_ref, prize_paid_write
from app.services.money import format_inr
from app.services.payouts.advances import withdraw_writes
from app.services.payouts.base import (
    RELEASED,
    STAFF,
    PayoutBase,
    not_the_winner,
    pending,
)
from app.services.payouts.clock import days
from app.services.pipeline import ChangeSet, Reader
from app.services.store import Document, Write
from app.services.text import NOTE, clean


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
    days_late: int = 0


def check_secured(payout: Document) -> None:
    """Refuse unless the security covers what is required, or instalments are deducted."""
    d = payout.data
    held, required = d.get("security_held", 0), d.get("security_required", 0)
    if held < required and not d.get("deduct_future"):
        raise Conflict(
            f"Security for prize payout {payout.id} is short: {format_inr(held)} held of "
            f"{format_inr(required)} required (future instalments plus a third, or a half "
            "for immovable property).",
            hint="Record the winner's security, or deduct the future instalments from the "
            "prize, before releasing it.",
        )


def check_checker(actor: Actor, payout: Document) -> None:
    """The release needs a maker's request, and the checker is someone else."""
    request = payout.data.get("release_request")
    if not request:
        raise Conflict(
            f"Nobody has asked for the release of prize payout {payout.id} yet.",
            hint="An employee asks for it (maker); a second person releases it (checker).",
        )
    if request["by"]["id"] == actor.id:
        raise PermissionDenied(
            f"{actor.name} asked for this release and so cannot release it: the maker can "
            "never check their own action.",
            hint="A second employee or an admin must release it.",
        )


class ReleaseDesk(PayoutBase):
    """Asking for a prize's release (maker) and releasing it (checker)."""

    def request_release(
        self, actor: Actor, payout_id: str, *, bank_ref: str | None = None, note: str = ""
    ) -> dict[str, Any]:
        """The maker asks for the release (security must already be met); returns the
        payout."""
        actor.require(*STAFF, doing="ask for a prize's release")
        ref = normalise_bank_ref(bank_ref) if bank_ref else None
        note = clean(note, "Note", NOTE)

        def work(reader: Reader) -> ChangeSet:
            payout = pending(reader, payout_id)
            not_the_winner(actor, payout, "ask for the release of")
            check_secured(payout)
            asked = payout.data.get("release_request")
            if asked:
                raise Conflict(
                    f"{asked['by']['name']} already asked for this release on "
                    f"{office_time.day(asked['at'])}.",
                    hint="A second employee or an admin releases it now.",
                )
            request = {
                "by": actor.to_json(),
                "at": self.ctx.clock.now().isoformat(),
                "note": note,
                "bank_ref": ref,
            }
            write = Write("update", PAYOUTS, payout_id, {"release_request": request})
            paid = payout.data["amount"] - deduction(payout)
            event = PayoutReleaseRequested(payout_id, payout.data["group_id"], paid)
            return ChangeSet.of(event, payout_id, [write], note)

        self.ctx.pipeline.transact(actor, work)
        return self.payout_data(payout_id)

    def release_payout(
        self, actor: Actor, payout_id: str, *, bank_ref: str | None = None, reason: str = ""
    ) -> PayoutRelease:
        """The checker pays the prize out of its group's pool, if the Banker's gate
        grants it.

        Raises:
            Conflict: the payout is not pending, security is short, nobody asked for
                the release, or the Banker's check refuses (the refusal is in the WAL
                as ``bankers.refuse``).
            PermissionDenied: the checker is the maker or the winner.
            ValidationError: the prize is late and no reason was given.
        """
        actor.require(*STAFF, doing="release a prize payout")
        ref = normalise_bank_ref(bank_ref) if bank_ref else None
        reason = clean(reason, "Reason", NOTE)

        def work(reader: Reader) -> tuple[ChangeSet, Verdict | PayoutRelease]:
            payout = pending(reader, payout_id)
            not_the_winner(actor, payout, "release")
            check_secured(payout)
            check_checker(actor, payout)
            late = self._days_late(payout)
            if late and not reason:
                raise ValidationError(
                    f"Reason: the prize is released {days(late)} after its deadline "
                    f"({payout.data['deadline']}); say why. It is kept with the payout."
                )
            paid = payout.data["amount"] - deduction(payout)
            verdict = self.gate.decide(
                reader,
                actor,
                payout_commitment(payout),
                {group_cash(payout.data["group_id"]): paid},
                action="payout.release",
                subject=("payout", payout_id),
            )
            if not verdict.granted:
                return self.gate.refusal(verdict, reason), verdict
            request_ref = payout.data["release_request"].get("bank_ref")
            change, release = self._release_change(
                actor, payout, verdict, ref or request_ref, reason, late
            )
            change.writes += withdraw_writes(reader, payout_id, "The prize was released.")
            return change, release

        outcome = self.ctx.pipeline.transact(actor, work).value
        if isinstance(outcome, Verdict):
            self.gate.granted_or_raise(outcome)
        assert isinstance(outcome, PayoutRelease)
        return outcome

    def _days_late(self, payout: Document) -> int:
        deadline = date.fromisoformat(payout.data["deadline"])
        return max(0, (self.ctx.clock.today() - deadline).days)

    def _release_change(
        self,
        actor: Actor,
        payout: Document,
        verdict: Verdict,
        ref: str | None,
        reason: str,
        late: int,
    ) -> tuple[ChangeSet, PayoutRelease]:
        d = payout.data
        kept = deduction(payout)
        paid = d["amount"] - kept
        txn = self._prize_txn(payout, kept, ref)
        update = {
            "status": RELEASED,
            "released_at": self.ctx.clock.now().isoformat(),
            "released_by": actor.id,
            "released_by_name": actor.name,
            "paid": paid,
            "deducted": kept,
            "txn_id": txn.id,
            "bank_ref": ref,
            "decision_id": verdict.id,
            "days_late": late,
            "late_reason": reason if late else None,
        }
        writes = [Write("update", PAYOUTS, payout.id, update), txn, *verdict.writes]
        release = PayoutRelease(
            payout.id,
            d["group_id"],
            d["member_id"],
            d["amount"],
            paid,
            kept,
            txn.id,
            verdict.id,
            list(verdict.decision.sequence),
            late,
        )
        event = PayoutReleased(payout.id, d["group_id"], d["member_id"], paid, kept, verdict.record)
        return ChangeSet.of(event, payout.id, writes, reason), release

    def _prize_txn(self, payout: Document, kept: int, ref: str | None) -> Write:
        d = payout.data
        memo = f"Prize of period {d['period']}"
        if kept:
            memo += f"; {format_inr(kept)} kept in the pool for future instalments"
        return prize_paid_write(
            self.ctx.ids,
            group_id=d["group_id"],
            period=d["period"],
            member_id=d["member_id"],
            amount=d["amount"] - kept,
            date=self.ctx.clock.today(),
            payout_id=payout.id,
            bank_ref=ref,
            memo=memo,
        )
