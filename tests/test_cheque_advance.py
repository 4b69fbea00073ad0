"""A cheque that repaid the company's advance to a pool, then bounced: the repayment is
undone with the instalment, so the pool owes the company again, and the ledger balances
and reconciles with the advance book at every step."""

from __future__ import annotations

import pytest

from app.services.context import FixedClock, ServiceContext
from app.services.counter import CounterService, Slip
from app.services.ledger import LedgerService, check_ledger
from app.services.ledger.postings import COMPANY_CASH, advance_account, repayable
from app.services.payouts import PayoutService
from tests.lending import LAKH, MEENA, RAVI, START, payout_service
from tests.test_payouts import NET, Drawn, company_cash, draw_period_one, pay, secure

IFSC = "SBIN0001234"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def payouts(ctx: ServiceContext) -> PayoutService:
    return payout_service(ctx)


def sound(ctx: ServiceContext) -> None:
    ok, report = check_ledger(ctx)
    assert ok, report


def advanced(ctx: ServiceContext, clock: FixedClock, payouts: PayoutService) -> tuple[Drawn, str]:
    """Period 1 won and paid on time with an advance of ₹37,500, two members having paid."""
    drawn = draw_period_one(ctx, clock)
    company_cash(ctx, LAKH)
    secure(payouts, drawn.payout_id)
    pay(ctx, drawn, 0)
    pay(ctx, drawn, 1)
    advance = payouts.propose_advance(RAVI, drawn.payout_id, "C and D pay next week")
    payouts.approve_advance(MEENA, advance["id"], "Checked the dues")
    payouts.release_payout(MEENA, drawn.payout_id)
    return drawn, advance["id"]


def test_a_bounced_cheque_that_repaid_an_advance_makes_it_owed_again(
    ctx: ServiceContext, clock: FixedClock, payouts: PayoutService
) -> None:
    drawn, advance_id = advanced(ctx, clock, payouts)
    ledger, counter, gid = LedgerService(ctx), CounterService(ctx), drawn.group_id
    owed = payouts.advance_data(advance_id)["left"]
    assert owed == 2 * NET
    before = (ledger.pool(gid), ledger.balance(COMPANY_CASH))
    sound(ctx)

    slip = Slip(drawn.members[2], gid, 1, NET, "cheque", "004101", ctx.clock.today(), IFSC)
    ref = counter.take(RAVI, slip).receipt.bank_ref  # type: ignore[union-attr]
    assert payouts.advance_data(advance_id)["left"] == owed - NET
    assert ledger.balance(COMPANY_CASH) == before[1] + NET
    sound(ctx)

    asked = counter.report_bounce(RAVI, ref, "Funds insufficient (return memo 01)")
    sound(ctx)
    counter.approve(MEENA, asked.id, "Return memo seen")
    again = payouts.advance_data(advance_id)
    assert (again["status"], again["left"], again["repaid"]) == ("advanced", owed, 0)
    assert (ledger.pool(gid), ledger.balance(COMPANY_CASH)) == before
    assert ledger.balance(advance_account(gid)) == owed == -ledger.balance(repayable(gid))
    kinds = [t.kind for t in ledger.transactions(group_id=gid)]
    assert kinds.count("advance.repaid") == 1 and kinds.count("advance.reopened") == 1
    sound(ctx)

    pay(ctx, drawn, 2)  # the member pays by transfer after all: the advance is repaid again
    assert payouts.advance_data(advance_id)["left"] == owed - NET
    sound(ctx)


def test_an_advance_repaid_in_full_reopens_in_the_book(
    ctx: ServiceContext, clock: FixedClock, payouts: PayoutService
) -> None:
    drawn, advance_id = advanced(ctx, clock, payouts)
    ledger, counter, gid = LedgerService(ctx), CounterService(ctx), drawn.group_id
    pay(ctx, drawn, 2)
    slip = Slip(drawn.members[3], gid, 1, NET, "cheque", "004102", ctx.clock.today(), IFSC)
    ref = counter.take(RAVI, slip).receipt.bank_ref  # type: ignore[union-attr]
    assert payouts.advance_data(advance_id)["status"] == "repaid"
    assert ledger.balance(advance_account(gid)) == 0
    counter.approve(MEENA, counter.report_bounce(RAVI, ref, "Signature differs").id)
    again = payouts.advance_data(advance_id)
    assert (again["status"], again["left"], again["repaid"]) == ("advanced", NET, NET)
    assert ledger.balance(advance_account(gid)) == NET == -ledger.balance(repayable(gid))
    sound(ctx)
