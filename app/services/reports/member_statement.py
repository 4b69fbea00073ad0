"""``member-statement``: a member's passbook.

Their tickets, the chit account (instalments charged, dividends and payments credited,
penalties; the balance they owe after each line), prizes and payouts, loans with their
repayments, and what is still due. ``--from``/``--to`` limit the dated lines; the
opening line carries the balance owed before ``--from``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from app.services.gate import Payout
from app.services.groups import Ticket
from app.services.ledger import Due, TimelineItem
from app.services.ledger.reports import KIND_ORDER
from app.services.loans import LoanRow
from app.services.members import Member
from app.services.reports.base import KYC_TEXT, Params, ReportKind, Sources, day, dues_table, inr
from app.services.reports.blocks import Block, Column, Facts, Heading, Table, Text

CHARGES = {"instalment_due": "Instalment due", "penalty_charged": "Penalty charged"}
CREDITS = {
    "discount_share": "Dividend",
    "instalment_paid": "Instalment paid",
    "penalty_paid": "Penalty paid",
}


def _particulars(item: TimelineItem, groups: dict[str, str]) -> str:
    label = CHARGES.get(item.kind) or CREDITS[item.kind]
    if item.description.startswith("Instalment deducted"):
        label = "Instalment deducted from the prize"
    if item.group_id:
        return f"{label} — {groups.get(item.group_id, item.group_id)}, period {item.period}"
    return label


def _chit_items(items: Sequence[TimelineItem], dues: Sequence[Due]) -> list[TimelineItem]:
    """The chit account's lines oldest first, each instalment charged on the day it was
    raised (as the ledger posts it), not on its due date."""
    raised = {d.id: d.raised_on for d in dues}
    chit = [
        replace(i, date=raised.get(i.ref, i.date)) if i.kind == "instalment_due" else i
        for i in items
        if i.kind in CHARGES or i.kind in CREDITS
    ]
    return sorted(chit, key=lambda i: (i.date, KIND_ORDER[i.kind], i.ref))


def passbook(
    items: Sequence[TimelineItem], dues: Sequence[Due], groups: dict[str, str], params: Params
) -> tuple[list[tuple[str, ...]], int, int]:
    """Rows of the chit account oldest first, the balance brought forward and the
    closing balance (what the member owes on their chits and penalties)."""
    chit = _chit_items(items, dues)
    opening = balance = 0
    rows: list[tuple[str, ...]] = []
    for item in chit:
        signed = item.amount if item.kind in CHARGES else -item.amount
        if params.before(item.date):
            opening += signed
            balance = opening
            continue
        if not params.within(item.date):
            continue
        balance += signed
        charged = inr(item.amount) if signed > 0 else ""
        credited = inr(item.amount) if signed < 0 else ""
        ref = item.bank_ref or ""
        rows.append(
            (day(item.date), _particulars(item, groups), ref, charged, credited, inr(balance))
        )
    if params.start is not None:
        rows.insert(0, (day(params.start), "Balance brought forward", "", "", "", inr(opening)))
    return rows, opening, balance


def _facts(src: Sources, member: Member, closing: int, loans: Sequence[LoanRow]) -> Facts:
    kyc = src.services.kyc.find(member.id)
    return Facts(
        [
            ("Member", member.name),
            ("Member no.", member.member_no),
            ("Mobile", member.phone_masked),
            ("KYC", KYC_TEXT.get(member.kyc_status, member.kyc_status)),
            ("PAN", kyc.pan_masked if kyc else "—"),
            ("Aadhaar", kyc.aadhaar_masked if kyc else "—"),
            ("Owes on chits", inr(closing)),
            ("Loans outstanding", inr(sum(x.outstanding for x in loans))),
        ]
    )


def _tickets(tickets: Sequence[Ticket], groups: dict[str, str]) -> Table:
    return Table(
        [
            Column("Group", weight=2),
            Column("Ticket", "right"),
            Column("Prized in period", "right"),
            Column("Enrolled", "right"),
        ],
        [
            (
                groups.get(t.group_id, t.group_id),
                str(t.ticket_no),
                str(t.prized_period) if t.prized else "—",
                day(t.enrolled_at),
            )
            for t in tickets
        ],
        empty="No tickets.",
        share=0.7,
    )


def _account(rows: list[tuple[str, ...]]) -> Table:
    return Table(
        [
            Column("Date", "right"),
            Column("Particulars", weight=3),
            Column("Bank reference", mono=True, weight=1.5),
            Column("Charged", "right"),
            Column("Paid or credited", "right"),
            Column("Balance owed", "right"),
        ],
        rows,
        empty="No instalments in this range.",
    )


def _payouts(payouts: Sequence[Payout], groups: dict[str, str]) -> Table:
    return Table(
        [
            Column("Group", weight=2),
            Column("Period", "right"),
            Column("Prize", "right"),
            Column("Status"),
            Column("Pay by", "right"),
            Column("Paid", "right"),
            Column("Released", "right"),
            Column("Bank reference", mono=True),
        ],
        [
            (
                groups.get(p.group_id, p.group_id),
                str(p.period),
                inr(p.amount),
                p.status.capitalize(),
                day(p.deadline),
                inr(p.paid) if p.paid else "—",
                day(p.released_at) or "—",
                p.bank_ref or "—",
            )
            for p in payouts
        ],
        empty="No prize won yet.",
    )


def _loans(loans: Sequence[LoanRow], repaid: Sequence[TimelineItem]) -> list[Block]:
    table = Table(
        [
            Column("Loan", mono=True),
            Column("Status"),
            Column("Principal", "right"),
            Column("EMI", "right"),
            Column("Outstanding", "right"),
            Column("Days past due", "right"),
        ],
        [
            (
                x.loan_no,
                x.status.capitalize(),
                inr(x.amount),
                f"{x.tenure_months} × {inr(x.emi)}",
                inr(x.outstanding),
                str(x.dpd) if x.status == "disbursed" else "—",
            )
            for x in loans
        ],
        empty="No loans.",
    )
    if not loans:
        return [table]
    loan_nos = {x.loan_id: x.loan_no for x in loans}
    repayments = Table(
        [
            Column("Repaid on", "right"),
            Column("Loan", mono=True),
            Column("Bank reference", mono=True, weight=2),
            Column("Amount", "right"),
        ],
        [
            (
                day(i.date),
                loan_nos.get(i.loan_id or "", i.loan_id or ""),
                i.bank_ref or "",
                inr(i.amount),
            )
            for i in repaid
        ],
        total=("Total", "", "", inr(sum(i.amount for i in repaid))),
        empty="No loan repayments in this range.",
    )
    return [table, repayments]


def build(src: Sources, params: Params) -> Sequence[Block]:
    s, member = src.services, params.member
    assert member is not None
    groups = {g.id: g.name for g in s.groups.list_groups()}
    items = s.ledger.member_timeline(member.id)
    dues = s.ledger.dues_for(member.id)
    rows, _, closing = passbook(items, dues, groups, params)
    loans = s.loans.for_member(member.id)
    repaid = [i for i in reversed(items) if i.kind == "emi_paid" and params.within(i.date)]
    still_due = [d for d in dues if d.outstanding > 0]
    return [
        _facts(src, member, closing, loans),
        Heading("Tickets"),
        _tickets(s.groups.member_tickets(member.id), groups),
        Heading("Chit account"),
        _account(rows),
        Heading("Prizes and payouts"),
        _payouts(s.gate.payouts(member_id=member.id), groups),
        Heading("Loans"),
        *_loans(loans, repaid),
        Heading("Still due"),
        dues_table(still_due, "Group", lambda d: groups.get(d.group_id, d.group_id), params.today),
        Text(
            "Charged: the gross instalment of each period, on the day it was raised, and any "
            "penalty; credited: the dividend (the member's share of that period's discount) "
            "and every payment. Personal numbers are masked.",
            "muted",
        ),
    ]


KIND = ReportKind(
    name="member-statement",
    title="Member statement",
    description="A member's passbook: dues, receipts, dividends, prizes, loans and balance.",
    build=build,
    takes=frozenset({"member", "start", "end"}),
    needs=frozenset({"member"}),
    dated=True,
)
