"""The Banker's gate over real pools: prize payouts, security, refusals in the WAL, races."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from app.kernel.bankers import BankState, Commitment, Decision
from app.kernel.errors import Conflict, ValidationError
from app.services.actors import Actor
from app.services.auctions import AuctionService
from app.services.context import FixedClock, ServiceContext, close_context, make_context
from app.services.gate import BankersGate, loan_commitment
from app.services.ledger import LedgerService
from app.services.ledger.postings import group_cash
from app.services.loans import LoanService
from app.services.payouts import PayoutRelease, PayoutService
from app.services.store import Query
from tests.lending import (
    FUTURE,
    LAKH,
    MEENA,
    PRIZE,
    RAVI,
    START,
    G,
    add_capital,
    add_member,
    approved_loan,
    chit_group,
    chit_of_four,
    fund_pool,
    loan_service,
    payout_service,
    pending_payout,
    wal,
)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def gate(ctx: ServiceContext) -> BankersGate:
    return BankersGate(ctx, ledger=LedgerService(ctx))


@pytest.fixture
def payouts(ctx: ServiceContext) -> PayoutService:
    return payout_service(ctx)


def release(payouts: PayoutService, payout_id: str, **kw: Any) -> PayoutRelease:
    """Ravi asks for the release (maker) and Meena releases it (checker)."""
    payouts.request_release(RAVI, payout_id)
    return payouts.release_payout(MEENA, payout_id, **kw)


# -- payouts (their workflow: tests/test_payouts.py) -----------------------------------


def test_a_short_pool_never_blocks_another_group(
    ctx: ServiceContext, gate: BankersGate, payouts: PayoutService
) -> None:
    winner = add_member(ctx, "Kavitha Subramanian", "+919811111111")
    poor, rich = chit_group(ctx, "Poor Chit"), chit_group(ctx, "Rich Chit")
    fund_pool(ctx, rich, PRIZE)
    stuck, ok = pending_payout(ctx, poor, winner), pending_payout(ctx, rich, winner)
    for payout_id in (stuck, ok):
        payouts.deduct_future(RAVI, payout_id, "Winner's request")
    whole = gate.state()
    assert set(whole.available) == {"cash:lending", group_cash(poor), group_cash(rich)}
    assert {c.id for c in whole.commitments} == {f"payouts/{stuck}", f"payouts/{ok}"}
    assert release(payouts, ok).paid == PRIZE - FUTURE


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
    assert "the lending capital" in refused and "cash:lending" not in refused


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
        payouts = payout_service(ctx)
        payouts.record_security(RAVI, payout_id, FUTURE * 4, description="FD, Canara Bank")
        payouts.request_release(RAVI, payout_id)

        for n, member_id in enumerate(members[:2]):
            due = ledger.dues_for(member_id)[0]
            ledger.record_receipt(
                RAVI, group_id=gid, period=1, member_id=member_id, amount=due.net,
                bank_ref=f"UTR-E2E-{n}", received_on=clock.today(),
            )  # fmt: skip
        with pytest.raises(Conflict, match="from the pool of "):
            payouts.release_payout(MEENA, payout_id)
        for n, member_id in enumerate(members[2:], start=2):
            due = ledger.dues_for(member_id)[0]
            ledger.record_receipt(
                RAVI, group_id=gid, period=1, member_id=member_id, amount=due.net,
                bank_ref=f"UTR-E2E-{n}", received_on=clock.today(),
            )  # fmt: skip
        assert ledger.pool(gid) == prize
        assert payouts.release_payout(MEENA, payout_id).paid == prize
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
        payouts = payout_service(ctx)
        payouts.deduct_future(RAVI, payout_id, "Winner's letter of 10 Jan")
        released = release(payouts, payout_id)
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
