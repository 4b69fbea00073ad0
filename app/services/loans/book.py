"""The loan book: statuses, pricing preview, schedules and payments, risk inputs.

Pure helpers and store reads shared by :class:`app.services.loans.LoanService` and
the risk reports (:mod:`app.services.kpis`, :mod:`app.services.recovery.service`): the EMI
schedule a loan document carries, how a payment settles it, days past due, and the
credit score's inputs gathered from the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from app.kernel import office_time
from app.kernel.errors import ValidationError
from app.services import credit
from app.services import emi as emi_calc
from app.services.actors import Actor
from app.services.collections import DUES, GROUPS, LOANS, MEMBERS, PAYOUTS, RECEIPTS, TICKETS
from app.services.context import IST, ServiceContext
from app.services.money import format_inr
from app.services.store import Document, Query, Write

SUBMITTED, SCORED, RECOMMENDED, APPROVED = "submitted", "scored", "recommended", "approved"
REJECTED, DISBURSED, CLOSED = "rejected", "disbursed", "closed"
STATUSES = (SUBMITTED, SCORED, RECOMMENDED, APPROVED, REJECTED, DISBURSED, CLOSED)
OPEN = (SUBMITTED, SCORED, RECOMMENDED, APPROVED)
"""Applications still waiting for a decision or for the money."""
REJECTABLE = OPEN

DEFAULT_RATE_BPS = 2400
"""24 % a year, reducing balance, unless the application says otherwise."""

NUMBER_COUNTER = "loans"
"""``counters/loans``: the last loan number given (see app/services/numbering.py)."""
APPLY_ATTEMPTS = 50
"""Every application advances one counter, so concurrent ones collide and retry."""


def loan_no(number: int | None, loan_id: str) -> str:
    """What staff and members call a loan: ``L-0042``, or the id of one applied for
    before numbering."""
    return f"L-{number:04d}" if number is not None else loan_id


def loan_code(loan: Document) -> str:
    """:func:`loan_no` of a stored loan."""
    return loan_no(loan.data.get("number"), loan.id)


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


# -- risk inputs ------------------------------------------------------------------


def risk_inputs(ctx: ServiceContext, loan: Document, today: date) -> credit.RiskInputs:
    """Gather the score's inputs for ``loan`` from the store, as of ``today``."""
    store, member_id = ctx.store, loan.data["member_id"]
    member = store.get(MEMBERS, member_id)
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
            paid_on = row.get("paid_on") if row_paid(row) else None
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
    tickets = ctx.store.query(Query(TICKETS).where("member_id", "==", member_id))
    prized = [t for t in tickets if t.data.get("prized_period") is not None]
    if not prized:
        return False, 0, 0
    payouts = ctx.store.query(Query(PAYOUTS).where("member_id", "==", member_id))
    deducted = {p.data["group_id"] for p in payouts if p.data.get("deduct_future")}
    groups = ctx.store.get_many(GROUPS, {t.data["group_id"] for t in prized})
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


def row_json(row: emi_calc.Instalment) -> dict[str, Any]:
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


def schedule_of(d: dict[str, Any]) -> list[dict[str, Any]]:
    """The fixed schedule once disbursed; before that, the projected one (no dates)."""
    if d.get("schedule"):
        return list(d["schedule"])
    return [row_json(r) for r in emi_calc.schedule(d["amount"], d["rate_bps"], d["tenure_months"])]


def row_paid(row: dict[str, Any]) -> bool:
    return bool(
        row["paid_interest"] == row["interest"] and row["paid_principal"] == row["principal"]
    )


def unpaid_due_dates(rows: list[dict[str, Any]]) -> list[date]:
    return [date.fromisoformat(r["due_date"]) for r in rows if not row_paid(r) and r["due_date"]]


def first_unpaid(rows: list[dict[str, Any]]) -> int | None:
    return next((r["number"] for r in rows if not row_paid(r)), None)


def loan_dpd(d: dict[str, Any], today: date) -> int:
    """Days past due of a loan document as of ``today`` (0 before disbursement)."""
    if d.get("status") != DISBURSED:
        return 0
    return credit.days_past_due(unpaid_due_dates(d.get("schedule") or []), today)


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
        if row["paid_on"] is None and row_paid(row):
            row["paid_on"] = paid_on
        updated.append(row)
    return updated, parts["principal"], parts["interest"]


def check_payment(amount: int, when: str, today: date) -> None:
    problems = []
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        problems.append(f"the amount must be a positive whole number of paise (got {amount!r})")
    if when > today.isoformat():
        problems.append(f"received on {office_time.shown(when)} is in the future")
    if problems:
        raise ValidationError("The EMI cannot be recorded: " + "; ".join(problems) + ".")


def emi_receipt_write(
    actor: Actor, r: EmiReceipt, member_id: str, now: datetime, serial: int | None = None
) -> Write:
    """The ``receipts/<bank_ref>`` document of a repayment; ``serial`` numbers it among
    the loan's receipts."""
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
        "serial": serial,
    }
    return Write("set", RECEIPTS, r.bank_ref, doc, expect_version=0)


class AlreadyRecorded(Exception):
    def __init__(self, doc: Document) -> None:
        super().__init__(doc.id)
        self.doc = doc


def same_emi(
    doc: Document, loan: Document, amount: int, when: str, loan_nos: dict[str, str]
) -> EmiReceipt:
    """The first receipt of a repeated bank reference, or a refusal if it differs (naming
    the loan it was used for by ``loan_nos``)."""
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
    used_on = str(d.get("loan_id"))
    what = (
        f"an EMI of loan {loan_nos.get(used_on, used_on)}"
        if d.get("kind") == "emi"
        else f"an instalment of group {d.get('group_id')} period {d.get('period')}"
    )
    raise ValidationError(
        f"Bank reference {doc.id} was already used for {what} "
        f"({format_inr(d.get('amount', 0))} received on "
        f"{office_time.shown(d.get('received_on'))}).",
        hint="Check the bank reference: one bank transfer is one receipt.",
    )
