"""The Banker's gate over real pools: prize payouts, security, refusals in the WAL, races."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from app.kernel.bankers import BankState, Commitment, Decision
from app.kernel.errors import Conflict, PermissionDenied, ValidationError
from app.services.actors import Actor
from app.services.auctions import AuctionService, rules
from app.services.context import FixedClock, ServiceContext, close_context, make_context
from app.services.gate import BankersGate, loan_commitment
from app.services.groups import GroupService
from app.services.ledger import LedgerService
from app.services.ledger.postings import chitfund, cr, dr, group_cash, txn_write
from app.services.loans import LoanService
from app.services.pipeline import ChangeSet
from app.services.store import Query, Write
from tests.builders import sanction
from tests.lending import (
    ADMIN,
    LAKH,
    MEENA,
    RAVI,
    START,
    add_capital,
    add_member,
    approved_loan,
    chit_of_four,
    loan_service,
    wal,
)

G = LAKH  # gross chit ₹1,00,000, 4 members, instalment ₹25,000
PRIZE = 70_000_00
FUTURE = 25_000_00  # period 3 of 4: one gross instalment still owed


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def gate(ctx: ServiceContext) -> BankersGate:
    return BankersGate(ctx, ledger=LedgerService(ctx))


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


# -- payouts ----------------------------------------------------------------------------


def test_release_refused_without_security(ctx: ServiceContext, gate: BankersGate) -> None:
    group_id, payout_id, _ = prize_setup(ctx, PRIZE)
    before = len(wal(ctx))
    with pytest.raises(Conflict, match=r"Security .* short: ₹0.00 held of ₹33,333.34"):
        gate.release_payout(RAVI, payout_id)
    assert len(wal(ctx)) == before
    assert ctx.store.get("payouts", payout_id).data["status"] == "pending"  # type: ignore[union-attr]
    assert LedgerService(ctx).pool(group_id) == PRIZE


def test_release_granted_with_security(ctx: ServiceContext, gate: BankersGate) -> None:
    group_id, payout_id, winner = prize_setup(ctx, PRIZE + 5_000_00)
    gate.record_security(RAVI, payout_id, 34_000_00, description="FD receipt 1234, SBI")
    released = gate.release_payout(MEENA, payout_id, bank_ref="NEFT-778899")

    assert (released.paid, released.deducted) == (PRIZE, 0)
    assert released.sequence == [f"payouts/{payout_id}"]
    ledger = LedgerService(ctx)
    assert ledger.pool(group_id) == 5_000_00
    assert ledger.balance(chitfund(group_id)) == -(PRIZE + 5_000_00) + PRIZE
    payout = ctx.store.get("payouts", payout_id)
    assert payout is not None and payout.data["status"] == "released"
    record = wal(ctx)[-1]
    assert record.action == "payout.release"
    decision = record.change["event"]["bankers"]
    assert decision["granted"] and decision["sequence"] == [f"payouts/{payout_id}"]
    assert decision["available"] == {group_cash(group_id): PRIZE + 5_000_00}
    with pytest.raises(Conflict, match="released, not pending"):
        gate.release_payout(MEENA, payout_id)
    assert (
        ctx.store.query(Query("ledger_txns").where("payout_id", "==", payout_id))[0].data[
            "member_id"
        ]
        == winner
    )


def test_immovable_security_must_cover_a_half(ctx: ServiceContext, gate: BankersGate) -> None:
    _, payout_id, _ = prize_setup(ctx, PRIZE)
    payout = gate.record_security(
        RAVI, payout_id, 34_000_00, immovable=True, description="House, survey no. 12"
    )
    assert payout["security_required"] == 37_500_00
    with pytest.raises(Conflict, match="short"):
        gate.release_payout(MEENA, payout_id)
    with pytest.raises(ValidationError, match="describe the security"):
        gate.record_security(RAVI, payout_id, 40_000_00, description=" ")


def test_release_refused_when_the_group_pool_is_short(
    ctx: ServiceContext, gate: BankersGate
) -> None:
    group_id, payout_id, _ = prize_setup(ctx, 50_000_00)
    gate.record_security(RAVI, payout_id, 40_000_00, description="Gold, 40 g, pledged")
    pool = group_cash(group_id)
    with pytest.raises(Conflict) as caught:
        gate.release_payout(MEENA, payout_id)
    assert pool in str(caught.value) and f"payouts/{payout_id}" in str(caught.value)

    record = wal(ctx)[-1]
    assert record.action == "bankers.refuse"
    assert record.entity == {"type": "payout", "id": payout_id}
    decision = record.change["event"]["decision"]
    assert (decision["pool"], decision["commitment"]) == (pool, f"payouts/{payout_id}")
    assert decision["code"] == "exceeds_available" and decision["granted"] is False
    assert LedgerService(ctx).pool(group_id) == 50_000_00
    assert [d["id"] for d in gate.decisions(payout_id)] == [decision["id"]]


def test_deducting_future_instalments_pays_the_rest(ctx: ServiceContext, gate: BankersGate) -> None:
    group_id, payout_id, _ = prize_setup(ctx, PRIZE)
    with pytest.raises(ValidationError, match="reason"):
        gate.deduct_future(RAVI, payout_id, "")
    gate.deduct_future(RAVI, payout_id, "Winner's letter of 10 Jan")
    released = gate.release_payout(MEENA, payout_id)
    assert (released.paid, released.deducted) == (PRIZE - FUTURE, FUTURE)
    ledger = LedgerService(ctx)
    assert ledger.pool(group_id) == FUTURE
    assert ledger.balance(chitfund(group_id)) == -FUTURE


def test_only_other_staff_release_a_prize(ctx: ServiceContext, gate: BankersGate) -> None:
    _, payout_id, winner = prize_setup(ctx, PRIZE)
    gate.deduct_future(RAVI, payout_id, "Winner's request")
    with pytest.raises(PermissionDenied):
        gate.release_payout(Actor(winner, "Kavitha", "member"), payout_id)
    with pytest.raises(PermissionDenied, match="won this prize"):
        gate.release_payout(Actor(winner, "Kavitha", "employee"), payout_id)


def test_a_short_pool_never_blocks_another_group(ctx: ServiceContext, gate: BankersGate) -> None:
    winner = add_member(ctx, "Kavitha Subramanian", "+919811111111")
    poor, rich = chit_group(ctx, "Poor Chit"), chit_group(ctx, "Rich Chit")
    fund_pool(ctx, rich, PRIZE)
    stuck, ok = pending_payout(ctx, poor, winner), pending_payout(ctx, rich, winner)
    for payout_id in (stuck, ok):
        gate.deduct_future(RAVI, payout_id, "Winner's request")
    whole = gate.state()
    assert set(whole.available) == {"cash:lending", group_cash(poor), group_cash(rich)}
    assert {c.id for c in whole.commitments} == {f"payouts/{stuck}", f"payouts/{ok}"}
    assert gate.release_payout(MEENA, ok).paid == PRIZE - FUTURE


# -- decisions ---------------------------------------------------------------------------


def test_check_is_a_pure_sanction(ctx: ServiceContext, gate: BankersGate) -> None:
    add_capital(ctx, LAKH)
    records = len(wal(ctx))
    fits, too_big = loan_commitment("loan-a", LAKH), loan_commitment("loan-b", LAKH + 1)
    assert gate.check(fits).granted
    refused = gate.check(too_big)
    assert not refused.granted and refused.pool == "cash:lending"
    assert refused.blocked[0].shortfalls[0].short == 1
    assert gate.check(fits, {"cash:lending": LAKH}).sequence == ["loans/loan-a"]
    assert len(wal(ctx)) == records


class RacingGate(BankersGate):
    """Holds every first decision until both threads have made theirs (a test hook)."""

    def __init__(self, ctx: ServiceContext, barrier: threading.Barrier) -> None:
        super().__init__(ctx, ledger=LedgerService(ctx))
        self.barrier = barrier
        self.seen: set[int] = set()

    def _evaluate(
        self, commitment: Commitment, amounts: Mapping[str, int] | None
    ) -> tuple[Decision, BankState]:
        result = super()._evaluate(commitment, amounts)
        if amounts and threading.get_ident() not in self.seen:
            self.seen.add(threading.get_ident())
            self.barrier.wait(timeout=10)
        return result


def test_two_disbursements_at_once_never_overspend(ctx: ServiceContext) -> None:
    add_capital(ctx, 1_50_000_00)
    loans = LoanService(ctx, gate=RacingGate(ctx, threading.Barrier(2)))
    plain = loan_service(ctx)
    ids = [
        approved_loan(plain, add_member(ctx, f"Member {'AB'[n - 1]}", f"+91980000000{n}"), LAKH)
        for n in (1, 2)
    ]
    outcomes: dict[str, str] = {}

    def disburse(loan_id: str) -> None:
        try:
            loans.disburse(RAVI, loan_id)
            outcomes[loan_id] = "granted"
        except Conflict as exc:
            outcomes[loan_id] = str(exc)

    threads = [threading.Thread(target=disburse, args=(x,)) for x in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(v == "granted" for v in outcomes.values()) == [False, True]
    assert LedgerService(ctx).lending_pool() == 50_000_00
    refused = next(v for v in outcomes.values() if v != "granted")
    assert "cash:lending" in refused


# -- end to end with the auction room ---------------------------------------------------


def test_prize_from_a_real_auction_goes_through_the_gate(tmp_path: Path) -> None:
    clock = FixedClock(START)
    ctx = make_context(tmp_path / "e2e", clock=clock)
    try:
        room, ledger = AuctionService(ctx), LedgerService(ctx)
        gid, members = chit_of_four(ctx, "Kaveri Chit", G)
        auction = room.open_auction(RAVI, gid, 1, duration_s=60)
        room.bid(Actor(members[0], "S0", "member"), auction.id, members[0], 30_000_00)
        clock.advance(seconds=120)
        closed = room.close_auction(RAVI, auction.id, present=members[1:3])
        payout_id, prize = closed.payout_id, closed.settlement.prize_paise
        gate = BankersGate(ctx, ledger=LedgerService(ctx))
        gate.record_security(RAVI, payout_id, FUTURE * 4, description="FD, Canara Bank")

        for n, member_id in enumerate(members[:2]):
            due = ledger.dues_for(member_id)[0]
            ledger.record_receipt(
                RAVI, group_id=gid, period=1, member_id=member_id, amount=due.net,
                bank_ref=f"UTR-E2E-{n}", received_on=clock.today(),
            )  # fmt: skip
        with pytest.raises(Conflict, match=group_cash(gid)):
            gate.release_payout(MEENA, payout_id)
        for n, member_id in enumerate(members[2:], start=2):
            due = ledger.dues_for(member_id)[0]
            ledger.record_receipt(
                RAVI, group_id=gid, period=1, member_id=member_id, amount=due.net,
                bank_ref=f"UTR-E2E-{n}", received_on=clock.today(),
            )  # fmt: skip
        assert ledger.pool(gid) == prize
        assert gate.release_payout(MEENA, payout_id).paid == prize
        assert ledger.pool(gid) == 0
        assert ledger.trial_balance().balanced
    finally:
        close_context(ctx)


def test_gate_records_decisions_with_the_state_seen(ctx: ServiceContext) -> None:
    add_capital(ctx, 2 * LAKH)
    loans = loan_service(ctx)
    loan_id = approved_loan(loans, add_member(ctx, "Lakshmi", "+919876543210"), LAKH)
    verdict = loans.disburse(RAVI, loan_id)
    doc = ctx.store.get("bankers_decisions", verdict.id)
    assert doc is not None and doc.data["available"] == {"cash:lending": 2 * LAKH}
    assert doc.data["action"] == "loan.disburse" and doc.data["by"] == RAVI.id
    guard = ctx.store.get("bankers_pools", "cash:lending")
    assert guard is not None and guard.data["grants"] == 2  # the sanction and the grant
    assert datetime.fromisoformat(doc.data["at"]).tzinfo == UTC


# -- deducted instalments settle the winner's later dues ----------------------------------


def test_deducted_prize_settles_the_winners_next_due(tmp_path: Path) -> None:
    from app.services.ledger import check_ledger
    from app.services.recovery import RecoveryService

    clock = FixedClock(START)
    ctx = make_context(tmp_path / "deduct", clock=clock)
    try:
        room, ledger = AuctionService(ctx), LedgerService(ctx)
        gid, members = chit_of_four(ctx, "Godavari Chit", G)
        auction = room.open_auction(RAVI, gid, 1, duration_s=60)
        room.bid(Actor(members[0], "S0", "member"), auction.id, members[0], 10_000_00)
        clock.advance(seconds=120)
        payout_id = room.close_auction(RAVI, auction.id, present=members[1:3]).payout_id
        for n, member_id in enumerate(members):
            ledger.record_receipt(
                RAVI, group_id=gid, period=1, member_id=member_id,
                amount=ledger.dues_for(member_id)[0].net, bank_ref=f"UTR-DED-{n}",
                received_on=clock.today(),
            )  # fmt: skip
        gate = BankersGate(ctx, ledger=LedgerService(ctx))
        gate.deduct_future(RAVI, payout_id, "Winner's letter of 10 Jan")
        released = gate.release_payout(MEENA, payout_id)
        assert released.deducted == 3 * FUTURE

        clock.set(datetime(2026, 2, 10, 6, 0, tzinfo=UTC))
        auction = room.open_auction(RAVI, gid, 2, duration_s=60)
        room.bid(Actor(members[1], "S1", "member"), auction.id, members[1], 10_000_00)
        clock.advance(seconds=120)
        closed = room.close_auction(RAVI, auction.id, present=members[2:4])

        due = next(d for d in ledger.dues_for(members[0]) if d.period == 2)
        net = closed.settlement.net_instalment_paise
        assert (due.status, due.paid, due.bank_refs) == ("paid", net, [f"deducted:{payout_id}"])
        assert all(d.status == "due" for m in members[1:] for d in ledger.dues_for(m)[1:])
        summary = ledger.period_collections(gid, 2)
        assert (summary.collected, summary.paid_count) == (net, 1)
        assert summary.commission_txn is not None  # the deduction covers the commission
        assert ledger.balance(f"receivable:{members[0]}:{gid}") == 0
        ok, report = check_ledger(ctx)
        assert ok, report
        with pytest.raises(ValidationError, match="already paid"):
            ledger.record_receipt(
                RAVI, group_id=gid, period=2, member_id=members[0], amount=net,
                bank_ref="UTR-DED-TWICE", received_on=clock.today(),
            )  # fmt: skip

        RecoveryService(ctx, ledger=LedgerService(ctx)).sweep(RAVI, date(2026, 3, 20))
        cases = ctx.store.query(Query("recovery_cases"))
        debtors = {c.data["member_id"] for c in cases}
        assert members[0] not in debtors and debtors == set(members[1:])
    finally:
        close_context(ctx)
