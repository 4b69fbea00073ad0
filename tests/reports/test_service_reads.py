"""The service reads the reports need: receipt numbers and registers, account names,
open dues, payouts, alias holders, a loan's outstanding principal, deductions in the
member's timeline.

One small history made through the real services (real store and WAL, hand-set
clock): a group of four, two auctions, receipts, a prize whose future instalments are
deducted, and a loan repaid twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from app.kernel.errors import Conflict, NotFound
from app.services.actors import Actor
from app.services.auctions import AuctionService
from app.services.collections import GROUPS
from app.services.context import FixedClock, ServiceContext, close_context, make_context
from app.services.gate import BankersGate
from app.services.group_terms import registration_key
from app.services.groups import GroupService
from app.services.ledger import LedgerService, Payment
from app.services.ledger.postings import receivable
from app.services.ledger.reports import MEMBERS_ALL
from app.services.reports.base import Params
from app.services.reports.member_statement import passbook
from app.services.store import Write
from tests.lending import (
    LAKH,
    MEENA,
    RAVI,
    START,
    add_capital,
    add_member,
    chit_of_four,
    disbursed_loan,
    loan_service,
    payout_service,
)
from tests.test_ledger import post

G = LAKH  # ₹1,00,000 among 4: instalment ₹25,000


@dataclass
class History:
    ctx: ServiceContext
    clock: FixedClock
    group_id: str
    members: list[str]
    payout_id: str
    open_auction: str
    loan_id: str

    @property
    def ledger(self) -> LedgerService:
        return LedgerService(self.ctx)


def _auction(
    room: AuctionService, clock: FixedClock, gid: str, period: int, bidder: str, present: list[str]
) -> str:
    auction = room.open_auction(RAVI, gid, period, duration_s=60)
    room.bid(Actor(bidder, "Bidder", "member"), auction.id, bidder, 10_000_00)
    clock.advance(seconds=120)
    return room.close_auction(RAVI, auction.id, present=present).payout_id


def _history(path: Path) -> History:
    clock = FixedClock(START)
    ctx = make_context(path, clock=clock)
    room, ledger = AuctionService(ctx), LedgerService(ctx)
    gid, members = chit_of_four(ctx, "Godavari Chit")
    payout_id = _auction(room, clock, gid, 1, members[0], members[1:3])
    for n, member_id in enumerate(members[:3]):
        net = ledger.dues_for(member_id)[0].net
        ledger.record_receipt(
            RAVI,
            group_id=gid,
            period=1,
            member_id=member_id,
            amount=net,
            bank_ref=f"UTR-P1-{n}",
            received_on=clock.today(),
        )
    net = ledger.dues_for(members[3])[0].net
    ledger.record_receipts(
        RAVI,
        [
            Payment(gid, 1, members[3], net // 2, "UTR-P1-HALF-A", clock.today()),
            Payment(gid, 1, members[3], net - net // 2, "UTR-P1-HALF-B", clock.today()),
        ],
    )
    payouts = payout_service(ctx)
    payouts.deduct_future(RAVI, payout_id, "Winner's letter")
    payouts.request_release(RAVI, payout_id)
    payouts.release_payout(MEENA, payout_id)
    clock.set(datetime(2026, 2, 10, 6, 0, tzinfo=UTC))
    _auction(room, clock, gid, 2, members[1], members[2:4])
    ledger.record_receipt(
        RAVI,
        group_id=gid,
        period=2,
        member_id=members[2],
        amount=ledger.dues_for(members[2])[1].net,
        bank_ref="UTR-P2-0",
        received_on=clock.today(),
    )
    clock.set(datetime(2026, 3, 10, 6, 0, tzinfo=UTC))
    third = room.open_auction(RAVI, gid, 3, duration_s=600).id
    add_capital(ctx, 5 * LAKH)
    loans = loan_service(ctx)
    borrower = add_member(ctx, "Borrower E", "+919812345699")
    loan_id = disbursed_loan(loans, borrower, LAKH, tenure=6)
    emi = loans.detail(loan_id).schedule[0].emi
    loans.record_emi(RAVI, loan_id, emi, "UTR-EMI-1", clock.today())
    loans.record_emi(RAVI, loan_id, emi, "UTR-EMI-2", clock.today())
    return History(ctx, clock, gid, members, payout_id, third, loan_id)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    made = _history(tmp_path_factory.mktemp("reads") / "data")
    yield made
    AuctionService(made.ctx).ctx.locks.lock(f"auction-{made.group_id}").release()
    close_context(made.ctx)


# -- receipt numbers --------------------------------------------------------------------------


def test_receipts_are_numbered_in_order_within_their_period(history: History) -> None:
    ledger = history.ledger
    registered = GroupService(history.ctx).get_group(history.group_id).registration_no
    assert registered is not None and registered.startswith("TN/CHIT/TEST/")
    code = registration_key(registered)  # TN-CHIT-TEST-00042: the group as people know it
    numbers = {
        ref: ledger.receipt_entry(ref).number
        for ref in ("UTR-P1-0", "UTR-P1-1", "UTR-P1-2", "UTR-P1-HALF-A", "UTR-P1-HALF-B")
    }
    assert list(numbers.values()) == [f"{code}/P1/{n:03d}" for n in range(1, 6)]
    assert ledger.receipt_entry("UTR-P2-0").number == f"{code}/P2/001"
    register = {e.bank_ref: e.number for e in ledger.receipt_register()}
    assert register["UTR-P2-0"] == f"{code}/P2/001"  # the same in the register


def test_a_group_stored_before_registration_numbers_keeps_its_id_in_receipt_numbers(
    history: History,
) -> None:
    gid = history.group_id
    post(history.ctx, [Write("update", GROUPS, gid, {"registration_no": None})])
    assert history.ledger.receipt_entry("UTR-P2-0").number == f"{gid}/P2/001"


def test_a_repeated_receipt_keeps_its_number_and_takes_no_new_one(history: History) -> None:
    ledger, gid, member = history.ledger, history.group_id, history.members[0]
    first = ledger.receipt_entry("UTR-P1-0")
    again = ledger.record_receipt(
        RAVI,
        group_id=gid,
        period=1,
        member_id=member,
        amount=first.amount,
        bank_ref="utr-p1-0",
        received_on=first.received_on,
    )
    assert again.duplicate and again.serial == first.serial == 1
    assert ledger.period_collections(gid, 1).paid_count == 4


def test_repayments_are_numbered_within_their_loan(history: History) -> None:
    entries = [history.ledger.receipt_entry(f"UTR-EMI-{n}") for n in (1, 2)]
    assert [e.number for e in entries] == ["L-0001/E001", "L-0001/E002"]
    assert all(e.kind == "emi" and e.principal and e.interest for e in entries)
    assert all(e.principal + e.interest == e.amount for e in entries)  # type: ignore[operator]


def test_an_unknown_receipt_is_not_found(history: History) -> None:
    with pytest.raises(NotFound, match="No receipt has the bank reference 'UTR-NONE'"):
        history.ledger.receipt_entry("UTR-NONE")


# -- registers -----------------------------------------------------------------------------


def test_receipt_register_takes_dates_and_a_group(history: History) -> None:
    ledger = history.ledger
    everything = ledger.receipt_register()
    assert [e.bank_ref for e in everything][:2] == ["UTR-P1-0", "UTR-P1-1"]
    assert {e.kind for e in everything} == {"instalment", "emi"}
    assert [e.received_on for e in everything] == sorted(e.received_on for e in everything)
    february = ledger.receipt_register(date(2026, 2, 1), date(2026, 2, 28))
    assert [e.bank_ref for e in february] == ["UTR-P2-0"]
    march = ledger.receipt_register(date(2026, 3, 1), group_id=history.group_id)
    assert march == []
    assert all(e.mode_label == "Bank transfer" for e in everything)


def test_open_dues_are_the_unpaid_ones_oldest_first(history: History) -> None:
    ledger, gid = history.ledger, history.group_id
    unpaid = ledger.open_dues(gid)
    assert {(d.period, d.member_id) for d in unpaid} == {
        (2, history.members[1]),
        (2, history.members[3]),
    }
    assert all(d.outstanding > 0 for d in unpaid)
    assert ledger.open_dues("grp-nobody") == []


# -- account names ---------------------------------------------------------------------------


def test_every_account_has_a_name_and_no_raw_key(history: History) -> None:
    ledger, gid = history.ledger, history.group_id
    accounts = [row.account for row in ledger.trial_balance().rows]
    names = ledger.account_names([*accounts, f"receivable:{MEMBERS_ALL}:{gid}", "cash:group:gone"])
    borrower = loan_service(history.ctx).detail(history.loan_id).row.member_name
    assert names[f"cash:group:{gid}"] == "Pool — Godavari Chit"
    assert names[f"chitfund:{gid}"] == "Prize payable — Godavari Chit"
    assert names[f"loans:{history.loan_id}"] == f"Loan to {borrower} (L-0001)"
    assert names[receivable(history.members[1], gid)] == "Dues — Subscriber B, Godavari Chit"
    assert names[f"receivable:{MEMBERS_ALL}:{gid}"] == "Members' dues — Godavari Chit"
    assert names["income:commission"] == "Foreman's commission"
    assert names["cash:group:gone"] == "Pool — gone (unknown group)"
    assert not [n for n in names.values() if ":" in n]


# -- payouts, aliases, loans -----------------------------------------------------------------


def test_payouts_by_group_and_by_member(history: History) -> None:
    gate = BankersGate(history.ctx, ledger=LedgerService(history.ctx))
    by_group = gate.payouts(group_id=history.group_id)
    assert [(p.period, p.status) for p in by_group] == [(1, "released"), (2, "pending")]
    mine = gate.payouts(member_id=history.members[0])
    assert [p.id for p in mine] == [history.payout_id] and mine[0].deduct_future


def test_alias_holders_are_named_only_after_the_auction_closes(history: History) -> None:
    room = AuctionService(history.ctx)
    with pytest.raises(Conflict, match="still open"):
        room.alias_holders(history.open_auction)
    first = f"{history.group_id}-1"
    holders = room.alias_holders(first)
    bid = room.bids(first)[0]
    assert holders[bid.alias] == history.members[0]
    assert sorted(holders.values()) == sorted(history.members)


def test_loan_rows_carry_the_outstanding_principal(history: History) -> None:
    loans = loan_service(history.ctx)
    row = next(r for r in loans.inbox("disbursed") if r.loan_id == history.loan_id)
    assert row.outstanding == loans.detail(history.loan_id).outstanding_principal
    assert 0 < row.outstanding < row.amount
    assert history.ledger.balance(f"loans:{history.loan_id}") == row.outstanding


def test_a_deducted_instalment_shows_in_the_timeline_and_the_passbook(history: History) -> None:
    ledger, gid, winner = history.ledger, history.group_id, history.members[0]
    items = ledger.member_timeline(winner)
    deducted = [i for i in items if i.description.startswith("Instalment deducted")]
    assert [(i.kind, i.period) for i in deducted] == [("instalment_paid", 2)]
    params = Params(today=history.clock.today())
    for member in history.members:
        _, _, closing = passbook(
            ledger.member_timeline(member), ledger.dues_for(member), {}, params
        )
        assert closing == ledger.balance(receivable(member, gid)), member
