"""Demo loans: applications through scoring, maker-checker, the gate, and EMIs.

Loans are applied for across the history (by the member on the web, or by the desk
on their behalf); each is scored by the platform (``system``) the day it arrives, then
recommended by the desk (the maker) and approved by a second employee (the checker),
and disbursed through the Banker's gate. The last few applications are left at each
step of the way (submitted, scored, recommended, approved) so the inbox has work;
about one in eight is rejected, with a reason (members whose KYC is not approved are
ineligible and rejected). Disbursed loans are repaid on their schedule, a few days
late now and then; some borrowers stop paying after an EMI or two, so their loans
fall into SMA/NPA buckets and recovery cases open; short loans taken early are
repaid in full and closed.

Everything that goes through the gate for lending capital (approvals and
disbursements) runs in one lane, so no two grants race for ``cash:lending``. EMIs run
in a few lanes of their own, in an earlier phase of the day, so a score or a sanction
never sees half of a day's repayments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import Any

from app.kernel.errors import Conflict
from app.services.actors import SYSTEM
from app.services.collections import LOANS
from app.services.demo.engine import Lane
from app.services.demo.model import MemberPlan, Story

RUPEE = 100
LANE = LOANS
EMI_LANES = 4
PURPOSES = (
    "Daughter's wedding",
    "Stock for the festival season at the shop",
    "Two-wheeler for work",
    "Children's school and college fees",
    "Roof and house repairs",
    "Medical treatment",
    "Sewing machines for a tailoring unit",
    "Two dairy cows",
    "Auto-rickshaw down payment",
)
REJECT_REASONS = (
    "Income proof not provided after two reminders.",
    "The requested EMI is above half of the declared monthly income.",
    "Guarantor withdrew; the member will apply again later.",
)
PIPELINE = ("submitted", "scored", "recommended", "approved")
PIPELINE_DAYS_BEFORE_END = {"submitted": 0, "scored": 1, "recommended": 2, "approved": 4}


@dataclass
class LoanPlan:
    no: int
    member: MemberPlan
    amount: int
    tenure: int
    purpose: str
    apply_day: date
    target: str
    flat_rate_bps: int | None = None
    bad: bool = False
    stop_after: int = 0
    id: str = ""

    @property
    def emi_lane(self) -> str:
        return f"emi:{self.no % EMI_LANES}"


class Loans:
    """Plans the loan book and schedules each loan's life on the engine."""

    def __init__(self, story: Story, *, trusted: Callable[[MemberPlan], bool]) -> None:
        self.story = story
        self.engine = story.engine
        self.trusted = trusted
        self.loans: list[LoanPlan] = []
        self.bad_ids: set[str] = set()
        """Ids of the loans whose borrowers stop paying."""

    # -- planning ---------------------------------------------------------------------

    def plan(self, opens: date) -> None:
        """Plan the applications: from ``opens`` (a few weeks into the first groups) to
        a week before the end, and the pipeline ones in the last days."""
        story, rng = self.story, self.story.rng
        count = max(12, len(story.members) // 20)
        good = [m for m in story.members if self.trusted(m)] or list(story.members)
        shaky = [m for m in story.members if m.kyc != "approved"] or good
        rng.shuffle(good)
        last = story.end - timedelta(days=6)
        first = min(opens, last)
        each = max(1, count * 3 // 100)
        targets = [t for t in PIPELINE for _ in range(each)]
        targets += ["rejected"] * max(1, count * 12 // 100)
        targets += ["disbursed"] * (count - len(targets))
        for no, target in enumerate(targets, start=1):
            if target == "rejected" and rng.random() < 0.7:
                member = rng.choice(shaky)
            else:
                member = good[no % len(good)]
            if target in PIPELINE:
                day = story.end - timedelta(days=PIPELINE_DAYS_BEFORE_END[target])
            else:
                day = first + timedelta(days=rng.randint(0, (last - first).days))
            self.loans.append(self._loan(no, member, day, target))
        self.loans.sort(key=lambda loan: (loan.apply_day, loan.no))
        self._mark_bad()

    def _loan(self, no: int, member: MemberPlan, day: date, target: str) -> LoanPlan:
        rng = self.story.rng
        return LoanPlan(
            no=no,
            member=member,
            amount=rng.randrange(20_000, 2_00_001, 5_000) * RUPEE,
            tenure=rng.choice((3, 6, 6, 9, 12, 12, 18, 24)),
            purpose=rng.choice(PURPOSES),
            apply_day=day,
            target=target,
            flat_rate_bps=rng.choice((1200, 1400)) if rng.random() < 0.15 else None,
        )

    def _mark_bad(self) -> None:
        """Some early borrowers stop paying (their cases have time to escalate); the
        first good early loan is short, so it is repaid in full and closed."""
        rng = self.story.rng
        disbursed = [loan for loan in self.loans if loan.target == "disbursed"]
        early = disbursed[: max(5, len(disbursed) // 2)]
        bad = rng.sample(early, min(len(early), max(4, len(disbursed) * 12 // 100)))
        for loan in bad:
            loan.bad = True
            loan.stop_after = rng.randint(0, 1)
        closing = [loan for loan in disbursed if not loan.bad]
        if closing:
            closing[0].tenure = 3

    def capital_needed(self) -> int:
        """Lending capital the planned disbursements and sanctions need, in paise."""
        lent = sum(loan.amount for loan in self.loans if loan.target in ("approved", "disbursed"))
        return -(-lent // (1_00_000 * RUPEE)) * 1_00_000 * RUPEE

    # -- scheduling ---------------------------------------------------------------------

    def schedule(self) -> None:
        for loan in self.loans:
            self.engine.at(
                loan.apply_day,
                "loans",
                LANE,
                partial(self._apply, loan=loan),
                partial(self._applied, loan),
            )

    def _apply(self, lane: Lane, loan: LoanPlan) -> tuple[str, str | None]:
        member = loan.member
        by_member = lane.rng.random() < 0.5
        actor = member.actor if by_member else self.story.cast.employee
        loan_id = lane.loans.apply(
            actor,
            member.id,
            loan.amount,
            loan.tenure,
            loan.purpose,
            flat_rate_bps=loan.flat_rate_bps,
        )
        if loan.target == "submitted":
            return loan_id, None
        return loan_id, lane.loans.score(SYSTEM, loan_id).eligibility

    def _applied(self, loan: LoanPlan, result: tuple[str, str | None]) -> None:
        loan.id, eligibility = result
        if loan.bad:
            self.bad_ids.add(loan.id)
        self.story.count("loan_applications")
        if eligibility == "ineligible" and loan.target not in ("rejected", "scored"):
            self.story.count("loans_ineligible")
            loan.target = "rejected"
        if loan.target == "rejected":
            self._next(loan, 1, self._reject)
        elif loan.target not in ("submitted", "scored"):
            self._next(loan, 1, self._recommend)

    def _next(self, loan: LoanPlan, days: int, step: Callable[[Lane, LoanPlan], Any]) -> None:
        day = self.engine.today or loan.apply_day
        when = day + timedelta(days=days)
        if when <= self.story.end:
            self.engine.at(
                when,
                "loans",
                LANE,
                lambda lane: step(lane, loan),
                lambda result: self._stepped(loan, step, result),
            )

    def _stepped(self, loan: LoanPlan, step: Callable[..., Any], result: Any) -> None:
        if step == self._recommend and loan.target != "recommended":
            self._next(loan, 1, self._approve)
        elif step == self._approve and result and loan.target == "disbursed":
            self._next(loan, 1, self._disburse)
        elif step == self._disburse:
            self._plan_emis(loan, result)

    def _reject(self, lane: Lane, loan: LoanPlan) -> None:
        doc = lane.loans.get(loan.id).data
        reasons = doc.get("eligibility_reasons") or []
        reason = reasons[0] if reasons else lane.rng.choice(REJECT_REASONS)
        lane.loans.reject(self.story.cast.employee, loan.id, reason)

    def _recommend(self, lane: Lane, loan: LoanPlan) -> None:
        note = "Visited the member; repayment capacity verified against bank statements."
        lane.loans.recommend(self.story.cast.employee, loan.id, note)

    def _approve(self, lane: Lane, loan: LoanPlan) -> bool:
        try:
            lane.loans.approve(self.story.cast.checker, loan.id, "Checked the file; approved.")
        except Conflict:
            return False
        return True

    def _disburse(self, lane: Lane, loan: LoanPlan) -> list[dict[str, Any]]:
        ref = f"NEFTLN{loan.no:06d}"
        lane.loans.disburse(self.story.cast.employee, loan.id, bank_ref=ref)
        schedule: list[dict[str, Any]] = lane.loans.get(loan.id).data["schedule"]
        return schedule

    # -- repayments ---------------------------------------------------------------------

    def _plan_emis(self, loan: LoanPlan, schedule: list[dict[str, Any]]) -> None:
        rng = self.story.rng
        self.story.count("loans_disbursed")
        for row in schedule:
            if loan.bad and row["number"] > loan.stop_after:
                return
            due = date.fromisoformat(row["due_date"])
            paid_on = due + timedelta(days=rng.randint(1, 12) if rng.random() < 0.12 else 0)
            if paid_on > self.story.end:
                return
            self.engine.at(
                paid_on,
                "emis",
                loan.emi_lane,
                partial(self._emi, loan=loan, row=row, paid_on=paid_on),
            )

    def _emi(self, lane: Lane, loan: LoanPlan, row: dict[str, Any], paid_on: date) -> None:
        ref = f"{loan.member.person.bank}E{paid_on:%y%m%d}{loan.no:05d}{row['number']:02d}"
        lane.loans.record_emi(self.story.cast.employee, loan.id, row["emi"], ref, paid_on)
