"""Loans to members: application, risk score, maker-checker, disbursement, EMIs, risk.

Life of a loan (``loans/<id>``)::

    submitted -> scored -> recommended -> approved -> disbursed -> closed
         \\________\\____________\\___________\\-> rejected (reason required)

* ``apply``: a member for themselves, or staff on a member's behalf; the loan takes the
  next loan number (``L-0042``, :func:`~app.services.loans.book.loan_no`). The EMI is the
  reducing-balance EMI of :mod:`app.services.emi`. Where a flat rate is quoted, the
  loan runs at the equivalent reducing rate (same EMI to the rupee) and both rates are
  kept, so every screen shows the flat quote's true cost beside it.
* ``score`` (the loan queue as ``system``, or staff): risk inputs gathered from the
  store (dues and EMIs paid on time, worst days late, KYC, prize exposure against
  security, contributions paid, open loans) and scored by :mod:`app.services.credit`;
  also a Banker's pre-check (could lending capital take this loan now?), advisory.
* ``recommend`` (employee: the maker) then ``approve`` (another employee or an admin:
  the checker). The maker can never approve. Approval is a sanction through the
  Banker's gate: the state with this loan as a commitment must be safe.
* ``disburse``: money moves (Dr loans:<id> / Cr cash:lending) only if the gate grants
  it; the schedule is fixed from the disbursement date.
* ``record_emi``: idempotent by bank reference (``receipts/<bank_ref>``, shared with
  instalment receipts so one bank transfer is one receipt; a reference a capital pay-in
  holds is refused, :mod:`app.services.ledger.capital`). A payment settles the
  instalments in order, interest before principal in each, so paying an EMI on time
  splits exactly as the schedule says.

Days past due count from the oldest instalment not paid in full, as of
``ctx.clock.today()``; PAR30/PAR90 and provisions come from :mod:`app.services.credit`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from app.kernel import office_time
from app.kernel.bankers import Decision
from app.kernel.errors import PermissionDenied, ValidationError
from app.services import credit
from app.services import emi as emi_calc
from app.services.actors import Actor
from app.services.collections import CAPITAL_PAYINS, LOANS, RECEIPTS
from app.services.context import ServiceContext
from app.services.events import (
    DaysPastDueRefreshed,
    EmiReceived,
    LoanApplied,
    LoanApproved,
    LoanDisbursed,
    LoanRecommended,
    LoanRejected,
    LoanScored,
)
from app.services.gate import BankersGate, Verdict, loan_commitment
from app.services.ledger.postings import (
    emi_received_write,
    iso_date,
    loan_disbursed_write,
    normalise_bank_ref,
)
from app.services.ledger.records import capital_use
from app.services.loans.book import (
    APPLY_ATTEMPTS,
    APPROVED,
    CLOSED,
    DISBURSED,
    NUMBER_COUNTER,
    RECOMMENDED,
    REJECTABLE,
    REJECTED,
    SCORED,
    SUBMITTED,
    AlreadyRecorded,
    EmiReceipt,
    Preview,
    allocate,
    check_payment,
    emi_receipt_write,
    first_unpaid,
    loan_dpd,
    preview,
    risk_inputs,
    row_json,
    row_paid,
    same_emi,
    unpaid_due_dates,
)
from app.services.loans.checks import (
    SCORE_FIRST,
    check_checker,
    check_not_own,
    check_recommendable,
    checked_note,
    checked_terms,
    form_terms,
    require_active_member,
    require_loan,
    require_status,
)
from app.services.loans.reads import LoanReads
from app.services.numbering import next_number
from app.services.pipeline import ChangeSet, Reader
from app.services.store import Document, Query, Write


class LoanService(LoanReads):
    """Loans from application to closure, and the reads the screens need.

    ``on_submitted`` (if set) is called with the loan id after each application is
    committed; :class:`app.services.loans.queue.LoanQueue` sets it to queue scoring.
    """

    def __init__(
        self,
        ctx: ServiceContext,
        *,
        gate: BankersGate,
        on_submitted: Callable[[str], Any] | None = None,
    ) -> None:
        self.ctx = ctx
        self.gate = gate
        self.on_submitted = on_submitted

    # -- application --------------------------------------------------------------

    @staticmethod
    def form_terms(amount_text: Any, tenure_text: Any) -> tuple[int, int]:
        """An application form's amount (rupees as typed) and tenure, checked (paise,
        months); see :func:`~app.services.loans.checks.form_terms`."""
        return form_terms(amount_text, tenure_text)

    @staticmethod
    def quote(amount_text: Any, tenure_text: Any) -> Preview:
        """The EMI and schedule of the terms typed in a form, at the standard rate."""
        return preview(*form_terms(amount_text, tenure_text))

    def apply(
        self,
        actor: Actor,
        member_id: str,
        amount: int,
        tenure_months: int,
        purpose: str,
        rate_bps: int | None = None,
        flat_rate_bps: int | None = None,
    ) -> str:
        """Submit an application, numbered from ``counters/loans``; returns the loan id."""
        actor.require("member", "employee", "admin", doing="apply for a loan")
        if actor.role == "member" and actor.id != member_id:
            raise PermissionDenied(
                f"{actor.name} may apply for a loan only for themselves.",
                hint="Staff can apply on a member's behalf.",
            )
        terms = checked_terms(amount, tenure_months, purpose, rate_bps, flat_rate_bps)
        loan_id = self.ctx.ids.new("loan")
        data = {
            **terms,
            "member_id": member_id,
            "status": SUBMITTED,
            "applied_at": self.ctx.clock.now().isoformat(),
            "applied_by": actor.to_json(),
        }

        def work(reader: Reader) -> ChangeSet:
            require_active_member(reader, member_id)
            number, counted = next_number(reader, NUMBER_COUNTER)
            event = LoanApplied(loan_id, member_id, amount, tenure_months)
            write = Write("set", LOANS, loan_id, {**data, "number": number}, expect_version=0)
            return ChangeSet.of(event, loan_id, [write, counted], terms["purpose"])

        self.ctx.pipeline.transact(actor, work, attempts=APPLY_ATTEMPTS)
        if self.on_submitted is not None:
            self.on_submitted(loan_id)
        return loan_id

    # -- scoring ------------------------------------------------------------------

    def score(self, actor: Actor, loan_id: str) -> credit.RiskScore:
        """Score (or re-score) a submitted or scored application and store why."""
        actor.require("system", "employee", "admin", doing="score a loan application")
        result = self._score(actor, loan_id, only_submitted=False)
        assert result is not None
        return result

    def score_pending(self, actor: Actor, loan_id: str) -> credit.RiskScore | None:
        """Score an application only if it is still ``submitted`` (the queue's job:
        running it twice scores once). Returns None when there was nothing to do."""
        actor.require("system", "employee", "admin", doing="score a loan application")
        return self._score(actor, loan_id, only_submitted=True)

    def _score(self, actor: Actor, loan_id: str, only_submitted: bool) -> credit.RiskScore | None:
        def work(reader: Reader) -> tuple[ChangeSet, credit.RiskScore] | None:
            loan = require_loan(reader, loan_id)
            if only_submitted and loan.data["status"] != SUBMITTED:
                return None
            require_status(loan, (SUBMITTED, SCORED), "be scored")
            inputs = risk_inputs(self.ctx, loan, self.ctx.clock.today())
            result = credit.score(inputs)
            precheck = self.gate.check(loan_commitment(loan_id, loan.data["amount"]))
            return _score_change(actor, loan, result, precheck, self.ctx.clock.now()), result

        try:
            committed = self.ctx.pipeline.transact(actor, _skippable(work))
        except _Skip:
            return None
        value: credit.RiskScore = committed.value
        return value

    # -- maker-checker ------------------------------------------------------------

    def recommend(self, actor: Actor, loan_id: str, note: str) -> None:
        """The maker: an employee recommends a scored application for approval."""
        actor.require("employee", "admin", doing="recommend a loan")
        text = checked_note(note, required=False)

        def work(reader: Reader) -> ChangeSet:
            loan = require_loan(reader, loan_id)
            require_status(loan, (SCORED,), "be recommended", hint=SCORE_FIRST)
            check_not_own(actor, loan, "recommend")
            check_recommendable(loan, text)
            update = {
                "status": RECOMMENDED,
                "recommended_by": actor.to_json(),
                "recommended_at": self.ctx.clock.now().isoformat(),
                "recommend_note": text,
            }
            writes = [Write("update", LOANS, loan_id, update)]
            return ChangeSet.of(LoanRecommended(loan_id, actor.id), loan_id, writes, text)

        self.ctx.pipeline.transact(actor, work)

    def approve(self, actor: Actor, loan_id: str, note: str = "") -> Verdict:
        """The checker: a second employee or an admin approves; the Banker's gate must
        find the state with this loan sanctioned safe. Returns the gate's verdict."""
        actor.require("employee", "admin", doing="approve a loan")
        text = checked_note(note, required=False)

        def work(reader: Reader) -> tuple[ChangeSet, Verdict]:
            loan = require_loan(reader, loan_id)
            require_status(loan, (RECOMMENDED,), "be approved", hint="Recommend it first.")
            check_checker(actor, loan)
            check_not_own(actor, loan, "approve")
            verdict = self.gate.decide(
                reader,
                actor,
                loan_commitment(loan_id, loan.data["amount"]),
                None,
                action="loan.approve",
                subject=("loan", loan_id),
            )
            if not verdict.granted:
                return self.gate.refusal(verdict, text), verdict
            return self._approve_change(actor, loan, verdict, text), verdict

        return self.gate.granted_or_raise(self.ctx.pipeline.transact(actor, work).value)

    def _approve_change(
        self, actor: Actor, loan: Document, verdict: Verdict, note: str
    ) -> ChangeSet:
        update = {
            "status": APPROVED,
            "approved_by": actor.to_json(),
            "approved_at": self.ctx.clock.now().isoformat(),
            "approve_note": note,
            "sanction_decision": verdict.id,
        }
        event = LoanApproved(loan.id, loan.data["amount"], verdict.record)
        writes = [Write("update", LOANS, loan.id, update), *verdict.writes]
        return ChangeSet.of(event, loan.id, writes, note)

    def reject(self, actor: Actor, loan_id: str, reason: str) -> None:
        """Reject an application not yet disbursed; the reason is required."""
        actor.require("employee", "admin", doing="reject a loan")
        text = checked_note(reason, required=True, what="reason")

        def work(reader: Reader) -> ChangeSet:
            loan = require_loan(reader, loan_id)
            require_status(loan, REJECTABLE, "be rejected")
            update = {
                "status": REJECTED,
                "rejected_by": actor.to_json(),
                "rejected_at": self.ctx.clock.now().isoformat(),
                "reject_reason": text,
            }
            writes = [Write("update", LOANS, loan_id, update)]
            return ChangeSet.of(LoanRejected(loan_id, actor.id), loan_id, writes, text)

        self.ctx.pipeline.transact(actor, work)

    # -- money --------------------------------------------------------------------

    def disburse(self, actor: Actor, loan_id: str, *, bank_ref: str | None = None) -> Verdict:
        """Pay an approved loan out of lending capital if the Banker's gate grants it.

        Raises:
            Conflict: not approved, or refused by the gate (recorded as bankers.refuse).
        """
        actor.require("employee", "admin", doing="disburse a loan")
        ref = normalise_bank_ref(bank_ref) if bank_ref else None

        def work(reader: Reader) -> tuple[ChangeSet, Verdict]:
            loan = require_loan(reader, loan_id)
            require_status(loan, (APPROVED,), "be disbursed", hint="Approve it first.")
            amount = loan.data["amount"]
            verdict = self.gate.decide(
                reader,
                actor,
                loan_commitment(loan_id, amount),
                {"cash:lending": amount},
                action="loan.disburse",
                subject=("loan", loan_id),
            )
            if not verdict.granted:
                return self.gate.refusal(verdict), verdict
            return self._disburse_change(actor, loan, verdict, ref), verdict

        return self.gate.granted_or_raise(self.ctx.pipeline.transact(actor, work).value)

    def _disburse_change(
        self, actor: Actor, loan: Document, verdict: Verdict, ref: str | None
    ) -> ChangeSet:
        d, today = loan.data, self.ctx.clock.today()
        rows = emi_calc.schedule(d["amount"], d["rate_bps"], d["tenure_months"], start=today)
        txn = loan_disbursed_write(
            self.ctx.ids,
            loan_id=loan.id,
            member_id=d["member_id"],
            amount=d["amount"],
            date=today,
            bank_ref=ref,
        )
        update = {
            "status": DISBURSED,
            "disbursed_on": today.isoformat(),
            "disbursed_at": self.ctx.clock.now().isoformat(),
            "disbursed_by": actor.to_json(),
            "disburse_decision": verdict.id,
            "disburse_txn": txn.id,
            "schedule": [row_json(r) for r in rows],
            "outstanding_principal": d["amount"],
            "paid_principal": 0,
            "paid_interest": 0,
            "dpd": 0,
            "bucket": "standard",
        }
        event = LoanDisbursed(loan.id, d["member_id"], d["amount"], txn.id, verdict.record)
        writes = [Write("update", LOANS, loan.id, update), txn, *verdict.writes]
        return ChangeSet.of(event, loan.id, writes)

    def record_emi(
        self, actor: Actor, loan_id: str, amount: int, bank_ref: str, received_on: date | str
    ) -> EmiReceipt:
        """Record a repayment (idempotent by ``bank_ref``): interest, then principal,
        of each instalment in order."""
        actor.require("employee", "admin", doing="record an EMI")
        ref, when = normalise_bank_ref(bank_ref), iso_date(received_on, "received on")
        check_payment(amount, when, self.ctx.clock.today())

        def work(reader: Reader) -> tuple[ChangeSet, EmiReceipt]:
            existing = reader.get(RECEIPTS, ref)
            if existing is not None:
                raise AlreadyRecorded(existing)
            used = capital_use(reader.get(CAPITAL_PAYINS, ref))
            if used:
                raise ValidationError(
                    f"Bank reference {ref} was already used for {used}, not for a loan repayment.",
                    hint="Check the bank reference: one bank transfer is one receipt.",
                )
            loan = require_loan(reader, loan_id)
            return self._emi_change(actor, loan, amount, ref, when)

        try:
            committed = self.ctx.pipeline.transact(actor, work)
        except AlreadyRecorded as dup:
            used_on = self.loan_nos([str(dup.doc.data.get("loan_id"))])
            return same_emi(dup.doc, self.get(loan_id), amount, when, used_on)
        receipt: EmiReceipt = committed.value
        return receipt

    def _emi_change(
        self, actor: Actor, loan: Document, amount: int, ref: str, when: str
    ) -> tuple[ChangeSet, EmiReceipt]:
        d = loan.data
        require_status(loan, (DISBURSED,), "take repayments")
        if when < d["disbursed_on"]:
            raise ValidationError(
                f"Received on {office_time.shown(when)} is before the loan was disbursed "
                f"({office_time.day(d['disbursed_on'])})."
            )
        rows, principal, interest = allocate(d["schedule"], amount, when)
        today = self.ctx.clock.today()
        txn = emi_received_write(
            self.ctx.ids,
            loan_id=loan.id,
            member_id=d["member_id"],
            principal=principal,
            interest=interest,
            date=when,
            bank_ref=ref,
            instalment_no=first_unpaid(d["schedule"]),
        )
        outstanding = d["outstanding_principal"] - principal
        status = CLOSED if all(row_paid(r) for r in rows) else DISBURSED
        dpd = credit.days_past_due(unpaid_due_dates(rows), today)
        update = {
            "schedule": rows,
            "outstanding_principal": outstanding,
            "status": status,
            "paid_principal": d["paid_principal"] + principal,
            "paid_interest": d["paid_interest"] + interest,
            "dpd": dpd,
            "bucket": credit.bucket(dpd),
            "last_paid_on": when,
            "receipts": d.get("receipts", 0) + 1,
        }
        if status == CLOSED:
            update["closed_on"] = when
        receipt = EmiReceipt(
            loan.id, ref, amount, principal, interest, when, txn.id, outstanding, status
        )
        writes = [
            emi_receipt_write(
                actor, receipt, d["member_id"], self.ctx.clock.now(), update["receipts"]
            ),
            Write("update", LOANS, loan.id, update),
            txn,
        ]
        event = EmiReceived(loan.id, ref, amount, principal, interest)
        return ChangeSet.of(event, loan.id, writes), receipt

    def refresh_dpd(self, actor: Actor) -> int:
        """Store today's days past due and bucket on every disbursed loan whose figures
        changed (a daily job); returns how many loans changed. Only the loans it updates
        are preconditions, so an EMI posted meanwhile on another loan causes no retry."""
        actor.require("system", "employee", "admin", doing="refresh days past due")
        today = self.ctx.clock.today()

        def work(reader: Reader) -> tuple[ChangeSet, int] | None:
            writes = []
            for loan in self.ctx.store.stream(Query(LOANS).where("status", "==", DISBURSED)):
                dpd = loan_dpd(loan.data, today)
                if dpd != loan.data.get("dpd"):
                    update = {"dpd": dpd, "bucket": credit.bucket(dpd)}
                    writes.append(
                        Write("update", LOANS, loan.id, update, expect_version=loan.version)
                    )
            if not writes:
                return None
            event = DaysPastDueRefreshed(today.isoformat(), len(writes))
            change = ChangeSet.of(event, "loans", writes)
            return change, len(writes)

        try:
            committed = self.ctx.pipeline.transact(actor, _skippable(work))
        except _Skip:
            return 0
        changed: int = committed.value
        return changed


class _Skip(Exception):
    """Raised out of a transaction's work when there is nothing to commit."""


def _skippable(work: Callable[[Reader], Any]) -> Callable[[Reader], Any]:
    def wrapped(reader: Reader) -> Any:
        result = work(reader)
        if result is None:
            raise _Skip
        return result

    return wrapped


def _score_change(
    actor: Actor, loan: Document, result: credit.RiskScore, precheck: Decision, now: datetime
) -> ChangeSet:
    factors = [
        {"name": f.name, "value": f.value_text, "points": f.points, "explanation": f.explanation}
        for f in result.factors
    ]
    update = {
        "status": SCORED,
        "score": {"total": result.total, "base": result.base, "factors": factors},
        "eligibility": result.eligibility,
        "eligibility_reasons": list(result.reasons),
        "precheck": {"safe": precheck.granted, "reason": precheck.reason, "pool": precheck.pool},
        "scored_at": now.isoformat(),
        "scored_by": actor.to_json(),
    }
    event = LoanScored(loan.id, result.total, result.eligibility)
    return ChangeSet.of(event, loan.id, [Write("update", LOANS, loan.id, update)])
