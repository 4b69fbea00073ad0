"""Builders for the loan tests: members with a payment history, lending capital, loans
taken through maker-checker. Shared by the loan, gate, loan-queue and view tests."""

from __future__ import annotations

from datetime import UTC, date, datetime

from app.kernel.wal import Record
from app.services.actors import SYSTEM, Actor
from app.services.auctions import rules
from app.services.context import ServiceContext
from app.services.gate import BankersGate
from app.services.groups import GroupService
from app.services.ledger import LedgerService
from app.services.ledger.postings import chitfund, cr, dr, group_cash, txn_write
from app.services.loans import LoanService
from app.services.members import MemberService
from app.services.payouts import PayoutService
from app.services.pipeline import ChangeSet
from app.services.store import Write
from tests.builders import CHECKER, sanction

START = datetime(2026, 1, 10, 6, 0, tzinfo=UTC)  # 11:30 on 10 Jan 2026 in India
LAKH = 1_00_000_00
ADMIN = Actor("adm-1", "Asha Admin", "admin")
RAVI = Actor("emp-1", "Ravi", "employee")
MEENA = Actor("emp-2", "Meena", "employee")


def add_member(
    ctx: ServiceContext, name: str, phone: str, kyc: str = "approved", dues: int = 6
) -> str:
    """A member with ``dues`` past instalments of ₹20,000 paid on time."""
    member = MemberService(ctx).enroll(RAVI, name, phone)
    if dues:
        paid_dues(ctx, member.id, [20_000_00] * dues)
    if kyc != "none":
        write = Write("update", "members", member.id, {"kyc_status": kyc})
        ctx.pipeline.commit(ADMIN, ChangeSet("kyc.approve", "kyc", member.id, [write]))
    return member.id


def loan_service(ctx: ServiceContext) -> LoanService:
    """A loan service wired as the registry wires it: its Banker's gate over a ledger."""
    return LoanService(ctx, gate=BankersGate(ctx, ledger=LedgerService(ctx)))


def payout_service(ctx: ServiceContext) -> PayoutService:
    """The payouts service wired as the registry wires it."""
    ledger = LedgerService(ctx)
    return PayoutService(ctx, gate=BankersGate(ctx, ledger=ledger), ledger=ledger)


def add_capital(ctx: ServiceContext, amount: int) -> None:
    LedgerService(ctx).add_capital(ADMIN, amount, "Lending capital")


def wal(ctx: ServiceContext) -> list[Record]:
    return list(ctx.pipeline.wal.read(1))


def approved_loan(loans: LoanService, member_id: str, amount: int, tenure: int = 12) -> str:
    loan_id = loans.apply(RAVI, member_id, amount, tenure, "Working capital for the shop")
    loans.score(SYSTEM, loan_id)
    loans.recommend(RAVI, loan_id, "Known customer, pays on time")
    loans.approve(MEENA, loan_id, "Checked")
    return loan_id


def disbursed_loan(loans: LoanService, member_id: str, amount: int, tenure: int = 12) -> str:
    loan_id = approved_loan(loans, member_id, amount, tenure)
    loans.disburse(RAVI, loan_id)
    return loan_id


def unnumbered(ctx: ServiceContext, loan_id: str) -> None:
    """Make ``loan_id`` look like a loan stored before loan numbers: no ``number``."""
    doc = ctx.store.get("loans", loan_id)
    assert doc is not None
    data = {k: v for k, v in doc.data.items() if k != "number"}
    ctx.pipeline.commit(
        ADMIN, ChangeSet("loan.migrate", "loan", loan_id, [Write("set", "loans", loan_id, data)])
    )


def paid_dues(ctx: ServiceContext, member_id: str, amounts: list[int]) -> None:
    """Dues of past periods, each paid on its due date (as the ledger would record them)."""
    writes = []
    for period, amount in enumerate(amounts, start=1):
        due = f"2025-{period:02d}-05"
        doc = {"group_id": "grp-x", "period": period, "member_id": member_id, "gross": amount,
               "share": 0, "net": amount, "paid": amount, "status": "paid", "due_date": due,
               "raised_on": due, "bank_ref": f"R{period}", "bank_refs": [f"R{period}"],
               "paid_at": due}  # fmt: skip
        writes.append(Write("set", "dues", f"grp-x-{period}-{member_id}", doc))
    ctx.pipeline.commit(ADMIN, ChangeSet("dues.seed", "member", member_id, writes))


def chit_of_four(ctx: ServiceContext, name: str, gross: int = LAKH) -> tuple[str, list[str]]:
    """A running group of four subscribers (A to D, no payment history) starting today;
    returns its id and the members' ids in ticket order."""
    groups = GroupService(ctx)
    members = [
        add_member(ctx, f"Subscriber {'ABCD'[n]}", f"+91981234567{n}", dues=0) for n in range(4)
    ]
    gid = groups.create_group(
        RAVI,
        name,
        gross_paise=gross,
        members=4,
        start_date=ctx.clock.today(),
        registration_no=sanction(),
    ).id
    groups.approve_terms(CHECKER, gid)
    for member_id in members:
        groups.enroll(RAVI, gid, member_id)
    groups.start(RAVI, gid)
    return gid, members


# -- prize payouts --------------------------------------------------------------------

G = LAKH  # gross chit ₹1,00,000, 4 members, instalment ₹25,000
PRIZE = 70_000_00
FUTURE = 25_000_00  # period 3 of 4: one gross instalment still owed


def chit_group(ctx: ServiceContext, name: str = "Shanti Chit") -> str:
    group = GroupService(ctx).create_group(
        RAVI,
        name,
        gross_paise=G,
        members=4,
        start_date=date(2026, 1, 10),
        registration_no=sanction(),
    )
    return group.id


def fund_pool(ctx: ServiceContext, group_id: str, amount: int) -> None:
    """Cash collected into a group's pool (as the period's receipts would put it there)."""
    txn = txn_write(
        ctx.ids,
        date="2026-01-10",
        kind="instalment.received",
        lines=[dr(group_cash(group_id), amount), cr(chitfund(group_id), amount)],
        group_id=group_id,
    )
    ctx.pipeline.commit(ADMIN, ChangeSet("receipt.seed", "group", group_id, [txn]))


def pending_payout(ctx: ServiceContext, group_id: str, winner: str, prize: int = PRIZE) -> str:
    """A pending prize payout of period 3, shaped as the auction room creates it."""
    payout_id = f"{group_id}-3"
    agreement = GroupService(ctx).get_group(group_id).agreement
    doc = {
        "group_id": group_id, "member_id": winner, "ticket_id": f"{group_id}-1", "period": 3,
        "auction_id": payout_id, "amount": prize, "status": "pending",
        "future_instalments": FUTURE,
        "security_required": rules.security_required(agreement, 1, False),
        "security_held": 0, "deduct_future": False, "deadline": "2026-01-17",
        "created_at": START.isoformat(), "released_at": None,
    }  # fmt: skip
    write = Write("set", "payouts", payout_id, doc, expect_version=0)
    ctx.pipeline.commit(ADMIN, ChangeSet("auction.close", "payout", payout_id, [write]))
    return payout_id


def prize_setup(ctx: ServiceContext, pool: int) -> tuple[str, str, str]:
    winner = add_member(ctx, "Kavitha Subramanian", "+919811111111")
    group_id = chit_group(ctx)
    fund_pool(ctx, group_id, pool)
    return group_id, pending_payout(ctx, group_id, winner), winner
