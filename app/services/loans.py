"""Loans to members: application, risk score, maker-checker, disbursement, EMIs, risk.

Life of a loan (``loans/<id>``)::

    submitted -> scored -> recommended -> approved -> disbursed -> closed
         \\________\\____________\\___________\\-> rejected (reason required)

* ``apply``: a member for themselves, or staff on a member's behalf. The EMI is the
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
  instalment receipts so one bank transfer is one receipt). A payment settles the
  instalments in order, interest before principal in each, so paying an EMI on time
  splits exactly as the schedule says.

Days past due count from the oldest instalment not paid in full, as of
``ctx.clock.today()``; PAR30/PAR90 and provisions come from :mod:`app.services.credit`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from app.kernel.bankers import Decision
from app.kernel.errors import Conflict, NotFound, PermissionDenied, ValidationError
from app.services import credit
from app.services import emi as emi_calc
from app.services.actors import Actor
from app.services.context import IST, ServiceContext
from app.services.gate import BankersGate, Verdict, loan_commitment
from app.services.ledger import (
    DUES,
    RECEIPTS,
    emi_received_write,
    iso_date,
    loan_disbursed_write,
    normalise_bank_ref,
)
from app.services.money import format_inr
from app.services.pipeline import ChangeSet, Reader
from app.services.store import Document, Query, Write

LOANS = "loans"
SUBMITTED, SCORED, RECOMMENDED, APPROVED = "submitted", "scored", "recommended", "approved"
REJECTED, DISBURSED, CLOSED = "rejected", "disbursed", "closed"
STATUSES = (SUBMITTED, SCORED, RECOMMENDED, APPROVED, REJECTED, DISBURSED, CLOSED)
OPEN = (SUBMITTED, SCORED, RECOMMENDED, APPROVED)
"""Applications still waiting for a decision or for the money."""
REJECTABLE = OPEN

DEFAULT_RATE_BPS = 2400
"""24 % a year, reducing balance, unless the application says otherwise."""
MIN_AMOUNT = 1_000_00
MAX_AMOUNT = 50_00_000_00
MAX_TENURE_MONTHS = 60
MAX_PURPOSE = 200
MAX_NOTE = 500


@dataclass(frozen=True)
class Preview:
    """What an applicant sees before applying (amounts in paise)."""

    amount: int
    tenure_months: int
    rate_bps: int
    emi: int
    total_interest: int
    total_payable: int
    schedule: list[emi_calc.Instalment]
    flat: emi_calc.FlatQuote | None = None


def preview(
    amount: int,
    tenure_months: int,
    rate_bps: int = DEFAULT_RATE_BPS,
    flat_rate_bps: int | None = None,
) -> Preview:
    """The EMI and full schedule (pure). With ``flat_rate_bps`` the loan is priced at
    the equivalent reducing rate and the flat quote is returned beside it."""
    flat = None
    if flat_rate_bps is not None:
        flat = emi_calc.describe_flat_quote(amount, flat_rate_bps, tenure_months)
        rate_bps = flat.reducing_rate_bps
    rows = emi_calc.schedule(amount, rate_bps, tenure_months)
    interest = sum(row.interest for row in rows)
    amount_emi = emi_calc.emi(amount, rate_bps, tenure_months)
    return Preview(
        amount, tenure_months, rate_bps, amount_emi, interest, amount + interest, rows, flat
    )


@dataclass(frozen=True)
class LoanRow:
    """One line of the desktop's loan inbox (no personal numbers in clear)."""

    loan_id: str
    member_id: str
    member_name: str
    phone_masked: str
    amount: int
    tenure_months: int
    rate_bps: int
    emi: int
    score: int | None
    eligibility: str | None
    status: str
    applied_at: str
    dpd: int
    bucket: str


@dataclass(frozen=True)
class ScheduleRow:
    number: int
    due_date: str | None
    emi: int
    interest: int
    principal: int
    balance: int
    paid_interest: int = 0
    paid_principal: int = 0
    paid_on: str | None = None

    @property
    def paid(self) -> bool:
        return self.paid_interest + self.paid_principal == self.emi


@dataclass(frozen=True)
class LoanDetail:
    """Everything the loan screen shows: the row, the score's factors, the schedule."""

    row: LoanRow
    purpose: str
    flat_quote: dict[str, Any] | None
    factors: list[dict[str, Any]]
    reasons: list[str]
    precheck: dict[str, Any] | None
    schedule: list[ScheduleRow]
    outstanding_principal: int
    paid_principal: int
    paid_interest: int
    history: list[dict[str, Any]]
    data: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class EmiReceipt:
    """An EMI recorded; ``duplicate`` when the bank reference had been recorded before."""

    loan_id: str
    bank_ref: str
    amount: int
    principal: int
    interest: int
    received_on: str
    txn_id: str
    outstanding_principal: int
    status: str
    duplicate: bool = False


@dataclass(frozen=True)
class Portfolio:
    """Risk of the disbursed book as of ``as_of``."""

    as_of: date
    loans: int
    outstanding: int
    par30: credit.ParResult
    par90: credit.ParResult
    provisions: credit.ProvisionReport
    by_bucket: dict[str, int]


class LoanService:
    """Loans from application to closure, and the reads the screens need.

    ``on_submitted`` (if set) is called with the loan id after each application is
    committed; :class:`app.services.loan_queue.LoanQueue` sets it to queue scoring.
    """

    def __init__(
        self,
        ctx: ServiceContext,
        *,
        gate: BankersGate | None = None,
        on_submitted: Callable[[str], Any] | None = None,
    ) -> None:
        self.ctx = ctx
        self.gate = gate or BankersGate(ctx)
        self.on_submitted = on_submitted

    # -- application --------------------------------------------------------------

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
        """Submit an application; returns the loan id."""
        actor.require("member", "employee", "admin", doing="apply for a loan")
        if actor.role == "member" and actor.id != member_id:
            raise PermissionDenied(
                f"{actor.name} may apply for a loan only for themselves.",
                hint="Staff can apply on a member's behalf.",
            )
        terms = _checked_terms(amount, tenure_months, purpose, rate_bps, flat_rate_bps)
        loan_id = self.ctx.ids.new("loan")
        data = {
            **terms,
            "member_id": member_id,
            "status": SUBMITTED,
            "applied_at": self.ctx.clock.now().isoformat(),
            "applied_by": actor.to_json(),
        }

        def work(reader: Reader) -> ChangeSet:
            _require_active_member(reader, member_id)
            event = {
                "type": "loan.submitted",
                "loan_id": loan_id,
                "member_id": member_id,
                "amount": amount,
                "tenure_months": tenure_months,
            }
            write = Write("set", LOANS, loan_id, data, expect_version=0)
            return ChangeSet("loan.apply", "loan", loan_id, [write], terms["purpose"], event)

        self.ctx.pipeline.transact(actor, work)
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
            loan = _require_loan(reader, loan_id)
            if only_submitted and loan.data["status"] != SUBMITTED:
                return None
            _require_status(loan, (SUBMITTED, SCORED), "be scored")
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
        text = _checked_note(note, required=False)

        def work(reader: Reader) -> ChangeSet:
            loan = _require_loan(reader, loan_id)
            _require_status(loan, (SCORED,), "be recommended", hint=_SCORE_FIRST)
            _check_not_own(actor, loan, "recommend")
            _check_recommendable(loan, text)
            update = {
                "status": RECOMMENDED,
                "recommended_by": actor.to_json(),
                "recommended_at": self.ctx.clock.now().isoformat(),
                "recommend_note": text,
            }
            event = {"type": "loan.recommended", "loan_id": loan_id, "by": actor.id}
            writes = [Write("update", LOANS, loan_id, update)]
            return ChangeSet("loan.recommend", "loan", loan_id, writes, text, event)

        self.ctx.pipeline.transact(actor, work)

    def approve(self, actor: Actor, loan_id: str, note: str = "") -> Verdict:
        """The checker: a second employee or an admin approves; the Banker's gate must
        find the state with this loan sanctioned safe. Returns the gate's verdict."""
        actor.require("employee", "admin", doing="approve a loan")
        text = _checked_note(note, required=False)

        def work(reader: Reader) -> tuple[ChangeSet, Verdict]:
            loan = _require_loan(reader, loan_id)
            _require_status(loan, (RECOMMENDED,), "be approved", hint="Recommend it first.")
            _check_checker(actor, loan)
            _check_not_own(actor, loan, "approve")
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

        return _granted_or_raise(self.ctx.pipeline.transact(actor, work).value)

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
        event = {
            "type": "loan.approved",
            "loan_id": loan.id,
            "amount": loan.data["amount"],
            "bankers": verdict.record,
        }
        writes = [Write("update", LOANS, loan.id, update), *verdict.writes]
        return ChangeSet("loan.approve", "loan", loan.id, writes, note, event)

    def reject(self, actor: Actor, loan_id: str, reason: str) -> None:
        """Reject an application not yet disbursed; the reason is required."""
        actor.require("employee", "admin", doing="reject a loan")
        text = _checked_note(reason, required=True, what="reason")

        def work(reader: Reader) -> ChangeSet:
            loan = _require_loan(reader, loan_id)
            _require_status(loan, REJECTABLE, "be rejected")
            update = {
                "status": REJECTED,
                "rejected_by": actor.to_json(),
                "rejected_at": self.ctx.clock.now().isoformat(),
                "reject_reason": text,
            }
            event = {"type": "loan.rejected", "loan_id": loan_id, "by": actor.id}
            writes = [Write("update", LOANS, loan_id, update)]
            return ChangeSet("loan.reject", "loan", loan_id, writes, text, event)

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
            loan = _require_loan(reader, loan_id)
            _require_status(loan, (APPROVED,), "be disbursed", hint="Approve it first.")
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

        return _granted_or_raise(self.ctx.pipeline.transact(actor, work).value)

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
            "schedule": [_row_json(r) for r in rows],
            "outstanding_principal": d["amount"],
            "paid_principal": 0,
            "paid_interest": 0,
            "dpd": 0,
            "bucket": "standard",
        }
        event = {
            "type": "loan.disbursed",
            "loan_id": loan.id,
            "member_id": d["member_id"],
            "amount": d["amount"],
            "txn_id": txn.id,
            "bankers": verdict.record,
        }
        writes = [Write("update", LOANS, loan.id, update), txn, *verdict.writes]
        return ChangeSet("loan.disburse", "loan", loan.id, writes, "", event)

    def record_emi(
        self, actor: Actor, loan_id: str, amount: int, bank_ref: str, received_on: date | str
    ) -> EmiReceipt:
        """Record a repayment (idempotent by ``bank_ref``): interest, then principal,
        of each instalment in order."""
        actor.require("employee", "admin", doing="record an EMI")
        ref, when = normalise_bank_ref(bank_ref), iso_date(received_on, "received on")
        _check_payment(amount, when, self.ctx.clock.today())

        def work(reader: Reader) -> tuple[ChangeSet, EmiReceipt]:
            existing = reader.get(RECEIPTS, ref)
            if existing is not None:
                raise _AlreadyRecorded(existing)
            loan = _require_loan(reader, loan_id)
            return self._emi_change(actor, loan, amount, ref, when)

        try:
            committed = self.ctx.pipeline.transact(actor, work)
        except _AlreadyRecorded as dup:
            return _same_emi(dup.doc, self.get(loan_id), amount, when)
        receipt: EmiReceipt = committed.value
        return receipt

    def _emi_change(
        self, actor: Actor, loan: Document, amount: int, ref: str, when: str
    ) -> tuple[ChangeSet, EmiReceipt]:
        d = loan.data
        _require_status(loan, (DISBURSED,), "take repayments")
        if when < d["disbursed_on"]:
            raise ValidationError(
                f"Received on {when} is before the loan was disbursed ({d['disbursed_on']})."
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
            instalment_no=_first_unpaid(d["schedule"]),
        )
        outstanding = d["outstanding_principal"] - principal
        status = CLOSED if all(_row_paid(r) for r in rows) else DISBURSED
        dpd = credit.days_past_due(_unpaid_due_dates(rows), today)
        update = {
            "schedule": rows,
            "outstanding_principal": outstanding,
            "status": status,
            "paid_principal": d["paid_principal"] + principal,
            "paid_interest": d["paid_interest"] + interest,
            "dpd": dpd,
            "bucket": credit.bucket(dpd),
            "last_paid_on": when,
        }
        if status == CLOSED:
            update["closed_on"] = when
        receipt = EmiReceipt(
            loan.id, ref, amount, principal, interest, when, txn.id, outstanding, status
        )
        writes = [
            _emi_receipt_write(actor, receipt, d["member_id"], self.ctx.clock.now()),
            Write("update", LOANS, loan.id, update),
            txn,
        ]
        event = {
            "type": "loan.emi",
            "loan_id": loan.id,
            "bank_ref": ref,
            "amount": amount,
            "principal": principal,
            "interest": interest,
        }
        return ChangeSet("loan.emi", "loan", loan.id, writes, "", event), receipt

    def refresh_dpd(self, actor: Actor) -> int:
        """Store today's days past due and bucket on every disbursed loan whose figures
        changed (a daily job); returns how many loans changed."""
        actor.require("system", "employee", "admin", doing="refresh days past due")
        today = self.ctx.clock.today()

        def work(reader: Reader) -> tuple[ChangeSet, int] | None:
            writes = []
            for loan in reader.query(Query(LOANS).where("status", "==", DISBURSED)):
                dpd = loan_dpd(loan.data, today)
                if dpd != loan.data.get("dpd"):
                    update = {"dpd": dpd, "bucket": credit.bucket(dpd)}
                    writes.append(Write("update", LOANS, loan.id, update))
            if not writes:
                return None
            event = {"type": "loans.dpd", "as_of": today.isoformat(), "changed": len(writes)}
            change = ChangeSet("loan.refresh_dpd", "portfolio", "loans", writes, "", event)
            return change, len(writes)

        try:
            committed = self.ctx.pipeline.transact(actor, _skippable(work))
        except _Skip:
            return 0
        changed: int = committed.value
        return changed

    # -- reads --------------------------------------------------------------------

    def get(self, loan_id: str) -> Document:
        doc = self.ctx.store.get(LOANS, loan_id)
        if doc is None:
            raise NotFound(f"No loan with id {loan_id!r}.")
        return doc

    def inbox(self, status: str | Iterable[str] | None = None) -> list[LoanRow]:
        """Loans for the desk, oldest application first (open ones when no status)."""
        wanted = [status] if isinstance(status, str) else list(status or OPEN)
        unknown = [s for s in wanted if s not in STATUSES]
        if unknown:
            raise ValidationError(f"Unknown loan status {unknown[0]!r}; use one of {STATUSES}.")
        docs = self.ctx.store.query(Query(LOANS).where("status", "in", wanted))
        docs.sort(key=lambda d: (d.data["applied_at"], d.id))
        return self._rows(docs)

    def for_member(self, member_id: str) -> list[LoanRow]:
        docs = self.ctx.store.query(Query(LOANS).where("member_id", "==", member_id))
        docs.sort(key=lambda d: (d.data["applied_at"], d.id))
        return self._rows(docs)

    def _rows(self, docs: list[Document]) -> list[LoanRow]:
        members = self.ctx.store.get_many("members", {d.data["member_id"] for d in docs})
        today = self.ctx.clock.today()
        return [_loan_row(d, members.get(d.data["member_id"]), today) for d in docs]

    def detail(self, loan_id: str) -> LoanDetail:
        doc = self.get(loan_id)
        d = doc.data
        member = self.ctx.store.get("members", d["member_id"])
        row = _loan_row(doc, member, self.ctx.clock.today())
        score = d.get("score") or {}
        return LoanDetail(
            row=row,
            purpose=d["purpose"],
            flat_quote=d.get("flat_quote"),
            factors=list(score.get("factors", [])),
            reasons=list(d.get("eligibility_reasons", [])),
            precheck=d.get("precheck"),
            schedule=[ScheduleRow(**r) for r in _schedule_of(d)],
            outstanding_principal=d.get("outstanding_principal", d["amount"]),
            paid_principal=d.get("paid_principal", 0),
            paid_interest=d.get("paid_interest", 0),
            history=_history(d),
            data=d,
        )

    def portfolio(self) -> Portfolio:
        """PAR30, PAR90, provisions and buckets of the disbursed book, as of today."""
        today = self.ctx.clock.today()
        docs = self.ctx.store.query(Query(LOANS).where("status", "==", DISBURSED))
        book = [
            credit.LoanExposure(d.id, d.data["outstanding_principal"], loan_dpd(d.data, today))
            for d in docs
        ]
        by_bucket: dict[str, int] = {}
        for loan in book:
            name = credit.bucket(loan.dpd)
            by_bucket[name] = by_bucket.get(name, 0) + loan.outstanding_principal
        return Portfolio(
            as_of=today,
            loans=len(book),
            outstanding=sum(x.outstanding_principal for x in book),
            par30=credit.par(book, 30),
            par90=credit.par(book, 90),
            provisions=credit.provisions(book),
            by_bucket=by_bucket,
        )


# -- risk inputs ------------------------------------------------------------------


def risk_inputs(ctx: ServiceContext, loan: Document, today: date) -> credit.RiskInputs:
    """Gather the score's inputs for ``loan`` from the store, as of ``today``."""
    store, member_id = ctx.store, loan.data["member_id"]
    member = store.get("members", member_id)
    dues = store.query(Query(DUES).where("member_id", "==", member_id))
    others = [
        d for d in store.query(Query(LOANS).where("member_id", "==", member_id)) if d.id != loan.id
    ]
    on_time, due_count, worst = _history_figures(_repayments(dues, others), today)
    prized, owed, held = prize_exposure(ctx, member_id)
    live = [d for d in others if d.data["status"] in (APPROVED, DISBURSED)]
    return credit.RiskInputs(
        on_time_count=on_time,
        due_count=due_count,
        max_dpd_history=worst,
        kyc_status=(member.data.get("kyc_status") if member else None) or "none",
        requested_amount=loan.data["amount"],
        contributions_paid=sum(d.data.get("paid", 0) for d in dues),
        is_prized_subscriber=prized,
        future_instalments_owed=owed,
        security_held=held,
        existing_loans=len(live),
        existing_outstanding=sum(
            d.data.get("outstanding_principal", d.data["amount"]) for d in live
        ),
    )


def _repayments(dues: list[Document], loans: list[Document]) -> list[tuple[date, date | None]]:
    """(due date, date paid in full or None) of every instalment and EMI of a member."""
    items = [
        (
            date.fromisoformat(d.data["due_date"]),
            _as_date(d.data.get("paid_at")) if d.data.get("status") == "paid" else None,
        )
        for d in dues
    ]
    for loan in loans:
        for row in loan.data.get("schedule") or ():
            paid_on = row.get("paid_on") if _row_paid(row) else None
            items.append((date.fromisoformat(row["due_date"]), _as_date(paid_on)))
    return items


def _history_figures(items: list[tuple[date, date | None]], today: date) -> tuple[int, int, int]:
    """(paid on time, fallen due, worst days late) over (due, paid) pairs."""
    on_time = count = worst = 0
    for due, paid in items:
        if paid is None and due >= today:
            continue
        late = max(((paid or today) - due).days, 0)
        count += 1
        on_time += late == 0
        worst = max(worst, late)
    return on_time, count, worst


def prize_exposure(ctx: ServiceContext, member_id: str) -> tuple[bool, int, int]:
    """(is prized, future gross instalments owed on prized tickets, security held)."""
    tickets = ctx.store.query(Query("tickets").where("member_id", "==", member_id))
    prized = [t for t in tickets if t.data.get("prized_period") is not None]
    if not prized:
        return False, 0, 0
    payouts = ctx.store.query(Query("payouts").where("member_id", "==", member_id))
    deducted = {p.data["group_id"] for p in payouts if p.data.get("deduct_future")}
    groups = ctx.store.get_many("groups", {t.data["group_id"] for t in prized})
    owed = 0
    for ticket in prized:
        group = groups.get(ticket.data["group_id"])
        if group is None or group.id in deducted:
            continue
        agreement = group.data["agreement"]
        remaining = agreement["members"] - group.data.get("periods_done", 0)
        owed += max(remaining, 0) * (agreement["gross_paise"] // agreement["members"])
    held = sum(p.data.get("security_held", 0) for p in payouts)
    return True, owed, held


def _as_date(value: str | None) -> date | None:
    """A stored date or ISO datetime as the firm's (IST) calendar date."""
    if not value:
        return None
    if len(value) == 10:
        return date.fromisoformat(value)
    moment = datetime.fromisoformat(value)
    return moment.astimezone(IST).date() if moment.tzinfo else moment.date()


# -- schedules and payments -------------------------------------------------------


def _row_json(row: emi_calc.Instalment) -> dict[str, Any]:
    return {
        "number": row.number,
        "due_date": row.due_date.isoformat() if row.due_date else None,
        "emi": row.emi,
        "interest": row.interest,
        "principal": row.principal,
        "balance": row.balance,
        "paid_interest": 0,
        "paid_principal": 0,
        "paid_on": None,
    }


def _schedule_of(d: dict[str, Any]) -> list[dict[str, Any]]:
    """The fixed schedule once disbursed; before that, the projected one (no dates)."""
    if d.get("schedule"):
        return list(d["schedule"])
    return [_row_json(r) for r in emi_calc.schedule(d["amount"], d["rate_bps"], d["tenure_months"])]


def _row_paid(row: dict[str, Any]) -> bool:
    return bool(
        row["paid_interest"] == row["interest"] and row["paid_principal"] == row["principal"]
    )


def _unpaid_due_dates(rows: list[dict[str, Any]]) -> list[date]:
    return [date.fromisoformat(r["due_date"]) for r in rows if not _row_paid(r) and r["due_date"]]


def _first_unpaid(rows: list[dict[str, Any]]) -> int | None:
    return next((r["number"] for r in rows if not _row_paid(r)), None)


def loan_dpd(d: dict[str, Any], today: date) -> int:
    """Days past due of a loan document as of ``today`` (0 before disbursement)."""
    if d.get("status") != DISBURSED:
        return 0
    return credit.days_past_due(_unpaid_due_dates(d.get("schedule") or []), today)


def allocate(
    rows: list[dict[str, Any]], amount: int, paid_on: str
) -> tuple[list[dict[str, Any]], int, int]:
    """Apply ``amount`` to the schedule in order, interest before principal in each
    instalment. Returns (new rows, principal part, interest part).

    Raises:
        ValidationError: if ``amount`` is more than everything still owed.
    """
    owed = sum(
        r["interest"] + r["principal"] - r["paid_interest"] - r["paid_principal"] for r in rows
    )
    if amount > owed:
        raise ValidationError(
            f"{format_inr(amount)} is more than the {format_inr(owed)} still owed on this loan.",
            hint=f"Record at most {format_inr(owed)}; refund the excess.",
        )
    left, parts = amount, {"interest": 0, "principal": 0}
    updated = []
    for raw in rows:
        row = dict(raw)
        for part in ("interest", "principal"):
            take = min(left, row[part] - row[f"paid_{part}"])
            row[f"paid_{part}"] += take
            parts[part] += take
            left -= take
        if row["paid_on"] is None and _row_paid(row):
            row["paid_on"] = paid_on
        updated.append(row)
    return updated, parts["principal"], parts["interest"]


def _check_payment(amount: int, when: str, today: date) -> None:
    problems = []
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        problems.append(f"the amount must be a positive whole number of paise (got {amount!r})")
    if when > today.isoformat():
        problems.append(f"received on {when} is in the future")
    if problems:
        raise ValidationError("The EMI cannot be recorded: " + "; ".join(problems) + ".")


def _emi_receipt_write(actor: Actor, r: EmiReceipt, member_id: str, now: datetime) -> Write:
    doc = {
        "kind": "emi",
        "bank_ref": r.bank_ref,
        "loan_id": r.loan_id,
        "member_id": member_id,
        "group_id": None,
        "period": None,
        "amount": r.amount,
        "principal": r.principal,
        "interest": r.interest,
        "received_on": r.received_on,
        "txn_id": r.txn_id,
        "recorded_by": actor.id,
        "recorded_at": now.isoformat(),
        "commission_txn": None,
    }
    return Write("set", RECEIPTS, r.bank_ref, doc, expect_version=0)


class _AlreadyRecorded(Exception):
    def __init__(self, doc: Document) -> None:
        super().__init__(doc.id)
        self.doc = doc


def _same_emi(doc: Document, loan: Document, amount: int, when: str) -> EmiReceipt:
    """The first receipt of a repeated bank reference, or a refusal if it differs."""
    d = doc.data
    same = (d.get("kind"), d.get("loan_id"), d.get("amount"), d.get("received_on"))
    if same == ("emi", loan.id, amount, when):
        return EmiReceipt(
            loan.id,
            doc.id,
            amount,
            d["principal"],
            d["interest"],
            when,
            d["txn_id"],
            loan.data.get("outstanding_principal", 0),
            loan.data["status"],
            duplicate=True,
        )
    what = (
        f"an EMI of loan {d.get('loan_id')}"
        if d.get("kind") == "emi"
        else f"an instalment of group {d.get('group_id')} period {d.get('period')}"
    )
    raise ValidationError(
        f"Bank reference {doc.id} was already used for {what} "
        f"({format_inr(d.get('amount', 0))} received on {d.get('received_on')}).",
        hint="Check the bank reference: one bank transfer is one receipt.",
    )


# -- checks -----------------------------------------------------------------------

_SCORE_FIRST = "Wait for the loan queue to score it, or score it from its screen."


def _checked_terms(
    amount: int, tenure: int, purpose: str, rate_bps: int | None, flat_rate_bps: int | None
) -> dict[str, Any]:
    """The application's terms, or one ValidationError listing every problem."""
    problems = _amount_problems(amount) + _tenure_problems(tenure)
    text = purpose.strip() if isinstance(purpose, str) else ""
    if len(text) < 3:
        problems.append("say what the loan is for (purpose)")
    elif len(text) > MAX_PURPOSE:
        problems.append(f"the purpose is longer than {MAX_PURPOSE} characters")
    if rate_bps is not None and flat_rate_bps is not None:
        problems.append("give either a reducing rate or a flat rate, not both")
    rate = DEFAULT_RATE_BPS if rate_bps is None else rate_bps
    for name, value in (("rate_bps", rate), ("flat_rate_bps", flat_rate_bps)):
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not 0 <= value <= emi_calc.MAX_RATE_BPS
        ):
            problems.append(
                f"{name} must be 0 to {emi_calc.MAX_RATE_BPS} basis points (got {value!r})"
            )
    if problems:
        raise ValidationError(
            "The loan application is not valid: " + "; ".join(problems) + ".",
            hint="Correct these and apply again.",
        )
    quote = preview(amount, tenure, rate, flat_rate_bps)
    flat = quote.flat
    return {
        "amount": amount,
        "tenure_months": tenure,
        "rate_bps": quote.rate_bps,
        "emi": quote.emi,
        "total_interest": quote.total_interest,
        "purpose": text,
        "flat_quote": None
        if flat is None
        else {
            "flat_rate_bps": flat.flat_rate_bps,
            "emi": flat.emi,
            "total_interest": flat.total_interest,
            "reducing_rate_bps": flat.reducing_rate_bps,
            "label": flat.label,
        },
        "score": None,
        "eligibility": None,
        "eligibility_reasons": [],
    }


def _amount_problems(amount: int) -> list[str]:
    if isinstance(amount, bool) or not isinstance(amount, int):
        return [f"the amount must be whole paise (got {amount!r})"]
    if not MIN_AMOUNT <= amount <= MAX_AMOUNT:
        return [
            f"the amount must be {format_inr(MIN_AMOUNT)} to {format_inr(MAX_AMOUNT)} "
            f"(got {format_inr(amount)})"
        ]
    return []


def _tenure_problems(tenure: int) -> list[str]:
    if (
        isinstance(tenure, bool)
        or not isinstance(tenure, int)
        or not (1 <= tenure <= MAX_TENURE_MONTHS)
    ):
        return [f"the tenure must be 1 to {MAX_TENURE_MONTHS} months (got {tenure!r})"]
    return []


def _checked_note(note: str, *, required: bool, what: str = "note") -> str:
    text = note.strip() if isinstance(note, str) else ""
    if required and not text:
        raise ValidationError(f"A {what} is required.", hint="Say why, in a sentence.")
    if len(text) > MAX_NOTE:
        raise ValidationError(f"The {what} is longer than {MAX_NOTE} characters.")
    return text


def _require_active_member(reader: Reader, member_id: str) -> Document:
    member = reader.require("members", member_id, "member")
    if member.data.get("status", "active") != "active":
        raise Conflict(f"Member {member_id} has been removed and cannot take a loan.")
    return member


def _require_loan(reader: Reader, loan_id: str) -> Document:
    return reader.require(LOANS, loan_id, "loan")


def _require_status(loan: Document, allowed: Iterable[str], doing: str, *, hint: str = "") -> None:
    status = loan.data["status"]
    allowed = tuple(allowed)
    if status not in allowed:
        raise Conflict(
            f"Loan {loan.id} is {status}; only a loan that is {' or '.join(allowed)} can {doing}.",
            hint=hint,
        )


def _check_not_own(actor: Actor, loan: Document, doing: str) -> None:
    if actor.id == loan.data["member_id"]:
        raise PermissionDenied(
            f"{actor.name} applied for loan {loan.id} and cannot {doing} their own loan.",
            hint="Another employee must do it.",
        )


def _check_checker(actor: Actor, loan: Document) -> None:
    maker = loan.data.get("recommended_by") or {}
    if maker.get("id") == actor.id:
        raise PermissionDenied(
            f"{actor.name} recommended loan {loan.id} and so cannot approve it: the maker "
            "can never check their own action.",
            hint="A second employee or an admin must approve it.",
        )


def _check_recommendable(loan: Document, note: str) -> None:
    eligibility = loan.data.get("eligibility")
    reasons = "; ".join(loan.data.get("eligibility_reasons", []))
    if eligibility == "ineligible":
        raise Conflict(
            f"Loan {loan.id} is ineligible and cannot be recommended: {reasons}",
            hint="Reject it, or fix the cause and score it again.",
        )
    if eligibility == "needs_review" and not note:
        raise ValidationError(
            f"Loan {loan.id} needs review ({reasons}); say in the note why you recommend it."
        )


def _granted_or_raise(verdict: Verdict) -> Verdict:
    if not verdict.granted:
        raise verdict.error()
    return verdict


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
    event = {
        "type": "loan.scored",
        "loan_id": loan.id,
        "score": result.total,
        "eligibility": result.eligibility,
    }
    writes = [Write("update", LOANS, loan.id, update)]
    return ChangeSet("loan.score", "loan", loan.id, writes, "", event)


def _loan_row(doc: Document, member: Document | None, today: date) -> LoanRow:
    d = doc.data
    score = d.get("score") or {}
    dpd = loan_dpd(d, today)
    return LoanRow(
        loan_id=doc.id,
        member_id=d["member_id"],
        member_name=member.data.get("name", "") if member else "(unknown member)",
        phone_masked=member.data.get("phone_masked", "") if member else "",
        amount=d["amount"],
        tenure_months=d["tenure_months"],
        rate_bps=d["rate_bps"],
        emi=d["emi"],
        score=score.get("total"),
        eligibility=d.get("eligibility"),
        status=d["status"],
        applied_at=d["applied_at"],
        dpd=dpd,
        bucket=credit.bucket(dpd),
    )


def _history(d: dict[str, Any]) -> list[dict[str, Any]]:
    """Who did what to the loan, in order (from the loan's own fields)."""
    steps = (
        ("applied", "applied_by", "applied_at", "purpose"),
        ("scored", "scored_by", "scored_at", None),
        ("recommended", "recommended_by", "recommended_at", "recommend_note"),
        ("approved", "approved_by", "approved_at", "approve_note"),
        ("rejected", "rejected_by", "rejected_at", "reject_reason"),
        ("disbursed", "disbursed_by", "disbursed_at", None),
    )
    return [
        {"step": step, "by": d[by], "at": d[at], "note": d.get(note) if note else ""}
        for step, by, at, note in steps
        if d.get(at)
    ]
