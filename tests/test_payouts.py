"""Prize payouts over a real store, WAL and ledger: the statutory clock, security at the
4/3 and 3/2 boundaries, the deduction, maker-checker release through the Banker's gate,
and advances of company cash with their repayment from late dues."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest

from app.kernel.errors import Conflict, PermissionDenied, ValidationError
from app.services.actors import Actor
from app.services.auctions import AuctionService
from app.services.context import FixedClock, ServiceContext
from app.services.groups import GroupService
from app.services.ledger import LedgerService, check_ledger
from app.services.ledger.advances import book_with_advance, repay
from app.services.ledger.postings import COMPANY_CASH, advance_account, group_cash, repayable
from app.services.payouts import PayoutService, PrizeClock, check_security
from app.services.pipeline import ChangeSet
from app.services.store import Write
from tests.lending import (
    ADMIN,
    FUTURE,
    LAKH,
    MEENA,
    PRIZE,
    RAVI,
    START,
    add_member,
    chit_group,
    chit_of_four,
    fund_pool,
    payout_service,
    pending_payout,
    prize_setup,
    wal,
)

NET = 18_750_00  # period 1 of a ₹1,00,000 chit of four, won at a ₹30,000 discount
PRIZE_1 = 70_000_00
FEE = 5_000_00
ADMIN2 = Actor("adm-2", "Kiran Admin", "admin")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def payouts(ctx: ServiceContext) -> PayoutService:
    return payout_service(ctx)


@dataclass(frozen=True)
class Drawn:
    group_id: str
    members: list[str]
    payout_id: str


def draw_period_one(ctx: ServiceContext, clock: FixedClock, on: datetime | None = None) -> Drawn:
    """A running group of four whose period 1 was won by subscriber A at ₹30,000."""
    gid, members = chit_of_four(ctx, "Kaveri Chit")
    if on is not None:
        clock.set(on)
    room = AuctionService(ctx)
    auction = room.open_auction(RAVI, gid, 1, duration_s=60)
    room.bid(Actor(members[0], "Subscriber A", "member"), auction.id, members[0], 30_000_00)
    clock.advance(seconds=120)
    payout_id = room.close_auction(RAVI, auction.id, present=members[1:3]).payout_id
    return Drawn(gid, members, payout_id)


def pay(ctx: ServiceContext, drawn: Drawn, member: int, period: int = 1) -> None:
    ledger = LedgerService(ctx)
    ledger.record_receipt(
        RAVI, group_id=drawn.group_id, period=period, member_id=drawn.members[member],
        amount=NET, bank_ref=f"UTR-{period}-{member}", received_on=ctx.clock.today(),
    )  # fmt: skip


def company_cash(ctx: ServiceContext, amount: int) -> None:
    LedgerService(ctx).add_capital(ADMIN, amount, "Cash for advances", into=COMPANY_CASH)


def secure(payouts: PayoutService, payout_id: str) -> None:
    payouts.record_security(
        RAVI, payout_id, 1_00_000_00, kind="guarantor", description="Two salaried guarantors"
    )
    payouts.request_release(RAVI, payout_id, bank_ref="NEFT-PRZ-1")


# -- the statutory clock ----------------------------------------------------------------


def test_the_clock_gives_seven_days_when_the_next_instalment_is_later(
    ctx: ServiceContext, clock: FixedClock, payouts: PayoutService
) -> None:
    drawn = draw_period_one(ctx, clock)  # drawn on 10 Jan; the next instalment is 10 Feb
    row = payouts.board().rows[0]
    assert row.clock.deadline == date(2026, 1, 17)
    assert (row.clock.next_instalment, row.clock.text) == (date(2026, 2, 10), "7 days left")
    assert row.clock.rule == "7 days from the draw on 10 Jan 2026"
    clock.set(datetime(2026, 1, 17, 6, 0, tzinfo=UTC))
    assert payouts.detail(drawn.payout_id).row.clock.text == "due today"
    clock.set(datetime(2026, 1, 19, 6, 0, tzinfo=UTC))
    late = payouts.board().rows[0].clock
    assert (late.state, late.text, late.days_left) == ("overdue", "overdue by 2 days", -2)


def test_the_clock_ends_before_the_next_instalment_when_that_comes_first(
    ctx: ServiceContext, clock: FixedClock, payouts: PayoutService
) -> None:
    draw_period_one(ctx, clock, on=datetime(2026, 2, 7, 6, 0, tzinfo=UTC))  # held late
    row = payouts.board().rows[0]
    assert (row.clock.draw, row.clock.deadline) == (date(2026, 2, 7), date(2026, 2, 9))
    assert row.clock.text == "2 days left"
    assert row.clock.rule.startswith("the day before the next instalment (10 Feb 2026)")


def test_a_released_prize_says_whether_it_was_on_time() -> None:
    day = date(2026, 1, 10)
    on_time = PrizeClock(day, None, date(2026, 1, 17), date(2026, 3, 1), date(2026, 1, 17))
    late = PrizeClock(day, None, date(2026, 1, 17), date(2026, 3, 1), date(2026, 1, 18))
    assert (on_time.state, on_time.text) == ("on time", "paid on time")
    assert (late.state, late.text, late.days_late) == ("late", "paid 1 day late", 1)


# -- security -----------------------------------------------------------------------------


def test_movable_security_must_be_a_third_more_than_the_future_instalments(
    ctx: ServiceContext, payouts: PayoutService
) -> None:
    _, payout_id, _ = prize_setup(ctx, PRIZE)  # one instalment of ₹25,000 still owed
    short = payouts.record_security(RAVI, payout_id, 33_333_33, description="FD 1234, SBI")
    assert short["security_required"] == 33_333_34
    with pytest.raises(Conflict, match=r"Security .* short: ₹33,333.33 held of ₹33,333.34"):
        payouts.request_release(RAVI, payout_id)
    payouts.record_security(
        RAVI, payout_id, 33_333_34, kind="guarantor", description="Guarantor: P. Raman"
    )
    payouts.request_release(RAVI, payout_id)
    assert payouts.release_payout(MEENA, payout_id).paid == PRIZE


def test_immovable_property_must_be_half_more(ctx: ServiceContext, payouts: PayoutService) -> None:
    _, payout_id, _ = prize_setup(ctx, PRIZE)
    house = "House, survey no. 12, deeds deposited"
    payouts.record_security(RAVI, payout_id, 37_499_99, kind="property", description=house)
    with pytest.raises(Conflict, match=r"short: ₹37,499.99 held of ₹37,500.00"):
        payouts.request_release(RAVI, payout_id)
    done = payouts.record_security(RAVI, payout_id, 37_500_00, kind="property", description=house)
    assert (done["security_required"], done["security_kind"]) == (37_500_00, "property")
    payouts.request_release(RAVI, payout_id)


def test_the_security_check_as_a_form_shows_it(ctx: ServiceContext) -> None:
    group = GroupService(ctx).get_group(chit_group(ctx))
    deposit = check_security(group.agreement, 1, "deposit", 33_333_33)
    assert not deposit.enough and deposit.short == 1
    assert deposit.text == (
        "₹33,333.33 is short by ₹0.01 of the ₹33,333.34 required "
        "(the future instalments ₹25,000.00 plus one third)."
    )
    assert check_security(group.agreement, 1, "deposit", 33_333_34).enough
    prop = check_security(group.agreement, 1, "property", 37_500_00)
    assert prop.enough and "plus one half (immovable property)" in prop.text
    with pytest.raises(ValidationError, match="Kind of security: 'car'"):
        check_security(group.agreement, 1, "car", 1)


def test_a_security_without_a_description_is_refused(
    ctx: ServiceContext, payouts: PayoutService
) -> None:
    _, payout_id, _ = prize_setup(ctx, PRIZE)
    before = len(wal(ctx))
    with pytest.raises(ValidationError, match="Description of the security: say what"):
        payouts.record_security(RAVI, payout_id, 40_000_00, kind="deposit", description=" ")
    assert len(wal(ctx)) == before


def test_deducting_the_future_instalments_pays_the_rest(
    ctx: ServiceContext, payouts: PayoutService
) -> None:
    group_id, payout_id, _ = prize_setup(ctx, PRIZE)
    with pytest.raises(ValidationError, match="reason"):
        payouts.deduct_future(RAVI, payout_id, "")
    payouts.deduct_future(RAVI, payout_id, "Winner's letter of 10 Jan")
    payouts.request_release(RAVI, payout_id)
    released = payouts.release_payout(MEENA, payout_id)
    assert (released.paid, released.deducted) == (PRIZE - FUTURE, FUTURE)
    assert LedgerService(ctx).pool(group_id) == FUTURE


# -- maker-checker release through the gate -------------------------------------------


def test_the_maker_never_releases_their_own_request(
    ctx: ServiceContext, payouts: PayoutService
) -> None:
    _, payout_id, winner = prize_setup(ctx, PRIZE)
    payouts.deduct_future(RAVI, payout_id, "Winner's request")
    with pytest.raises(Conflict, match="Nobody has asked"):
        payouts.release_payout(MEENA, payout_id)
    payouts.request_release(RAVI, payout_id, note="Verified the letter")
    with pytest.raises(Conflict, match="Ravi already asked"):
        payouts.request_release(MEENA, payout_id)
    before = len(wal(ctx))
    with pytest.raises(PermissionDenied, match="maker can never check their own action"):
        payouts.release_payout(RAVI, payout_id)
    with pytest.raises(PermissionDenied, match="won this prize"):
        payouts.release_payout(Actor(winner, "Kavitha", "employee"), payout_id)
    with pytest.raises(PermissionDenied):
        payouts.release_payout(Actor(winner, "Kavitha", "member"), payout_id)
    assert len(wal(ctx)) == before
    assert payouts.release_payout(MEENA, payout_id).paid == PRIZE - FUTURE


def test_a_second_request_names_the_day_of_the_first_in_the_office(
    ctx: ServiceContext, clock: FixedClock, payouts: PayoutService
) -> None:
    _, payout_id, _ = prize_setup(ctx, PRIZE)
    payouts.deduct_future(RAVI, payout_id, "Winner's request")
    clock.set(datetime(2026, 1, 10, 20, 0, tzinfo=UTC))  # 01:30 on 11 Jan 2026 in India
    payouts.request_release(RAVI, payout_id)
    with pytest.raises(Conflict) as refused:
        payouts.request_release(MEENA, payout_id)
    assert "Ravi already asked for this release on 11 Jan 2026." in str(refused.value)


def test_the_gate_refuses_a_short_pool_and_names_it(
    ctx: ServiceContext, payouts: PayoutService
) -> None:
    group_id, payout_id, _ = prize_setup(ctx, 50_000_00)
    payouts.record_security(RAVI, payout_id, 40_000_00, description="Gold, 40 g, pledged")
    payouts.request_release(RAVI, payout_id)
    pool = group_cash(group_id)
    with pytest.raises(Conflict) as caught:
        payouts.release_payout(MEENA, payout_id)
    assert str(caught.value).startswith(
        "The prize of period 3 of Shanti Chit asks ₹70,000.00 from the pool of "
        "Shanti Chit but only ₹50,000.00 is available there."
    )
    assert pool not in str(caught.value) and payout_id not in str(caught.value)
    record = wal(ctx)[-1]
    assert (record.action, record.entity) == ("bankers.refuse", {"type": "payout", "id": payout_id})
    decision = record.change["event"]["decision"]
    assert (decision["pool"], decision["code"]) == (pool, "exceeds_available")
    detail = payouts.detail(payout_id)
    assert detail.release_check is not None and not detail.release_check.granted
    assert detail.release_check.text == (
        "Releasing it is refused: the pool of Shanti Chit holds ₹50,000.00 of the ₹70,000.00 "
        "needed (short by ₹20,000.00)."
    )
    assert detail.row.shortfall == 20_000_00
    assert [d["id"] for d in detail.decisions] == [decision["id"]]


def test_a_late_release_needs_a_reason_and_keeps_it(
    ctx: ServiceContext, clock: FixedClock, payouts: PayoutService
) -> None:
    _, payout_id, _ = prize_setup(ctx, PRIZE)  # due by 17 Jan
    payouts.deduct_future(RAVI, payout_id, "Winner's request")
    payouts.request_release(RAVI, payout_id)
    clock.set(datetime(2026, 1, 20, 6, 0, tzinfo=UTC))
    with pytest.raises(ValidationError, match=r"released 3 days after its deadline"):
        payouts.release_payout(MEENA, payout_id)
    released = payouts.release_payout(MEENA, payout_id, reason="Winner's bank rejected NEFT")
    assert released.days_late == 3
    row = payouts.board("released").rows[0]
    assert (row.clock.text, row.late_reason) == ("paid 3 days late", "Winner's bank rejected NEFT")
    assert row.next_step == "Paid 20 Jan 2026, 3 days late: Winner's bank rejected NEFT"


# -- advances of company cash --------------------------------------------------------


def test_an_advance_pays_the_prize_on_time_and_late_dues_repay_it(
    ctx: ServiceContext, clock: FixedClock, payouts: PayoutService
) -> None:
    drawn = draw_period_one(ctx, clock)
    company_cash(ctx, LAKH)
    secure(payouts, drawn.payout_id)
    pay(ctx, drawn, 0)
    pay(ctx, drawn, 1)  # C and D have not paid: the pool holds 37,500 - 5,000 commission
    ledger = LedgerService(ctx)
    assert ledger.pool(drawn.group_id) == 2 * NET - FEE
    assert payouts.board().rows[0].next_step.startswith("Pool short by ₹37,500.00")

    advance = payouts.propose_advance(RAVI, drawn.payout_id, "C and D pay next week")
    assert (advance["amount"], advance["status"]) == (PRIZE_1 - 2 * NET + FEE, "proposed")
    with pytest.raises(PermissionDenied, match="proposed this advance"):
        payouts.approve_advance(RAVI, advance["id"])
    verdict = payouts.approve_advance(MEENA, advance["id"], "Checked the dues")
    assert verdict.decision.sequence == [f"advances/{advance['id']}"]
    assert ledger.pool(drawn.group_id) == PRIZE_1
    assert ledger.balance(COMPANY_CASH) == LAKH + FEE - advance["amount"]
    assert ledger.balance(advance_account(drawn.group_id)) == advance["amount"]
    assert ledger.balance(repayable(drawn.group_id)) == -advance["amount"]
    assert payouts.release_payout(MEENA, drawn.payout_id).days_late == 0

    pay(ctx, drawn, 2)
    half = payouts.advance_data(advance["id"])
    assert (half["status"], half["left"], half["repaid"]) == ("advanced", NET, NET)
    pay(ctx, drawn, 3)
    done = payouts.advance_data(advance["id"])
    assert (done["status"], done["left"]) == ("repaid", 0)
    assert ledger.balance(COMPANY_CASH) == LAKH + FEE
    assert ledger.balance(advance_account(drawn.group_id)) == 0
    assert ledger.pool(drawn.group_id) == 0
    ok, report = check_ledger(ctx)
    assert ok, report
    kinds = [t.kind for t in ledger.transactions(group_id=drawn.group_id)]
    assert kinds.count("advance.made") == 1 and kinds.count("advance.repaid") == 2


def test_only_the_periods_an_advance_stood_in_for_repay_it() -> None:
    book = book_with_advance(None, "adv-3", 3, 10_000)
    after, touched = repay(book, 4, 5_000)
    assert (after, touched) == (book, [])
    after, touched = repay(book, 2, 6_000)
    assert touched == [{"id": "adv-3", "period": 3, "amount": 10_000, "left": 4_000}]
    assert (after["outstanding"], after["repaid"]) == (4_000, 6_000)
    both = book_with_advance(after, "adv-5", 5, 3_000)
    final, touched = repay(both, 3, 9_000)
    assert [e["left"] for e in touched] == [0, 0] and final["open"] == []
    assert (final["outstanding"], final["repaid"]) == (0, 13_000)


def test_the_gate_refuses_an_advance_that_leaves_another_unmet(
    ctx: ServiceContext, payouts: PayoutService
) -> None:
    winner = add_member(ctx, "Kavitha Subramanian", "+919811111111")
    small, large = chit_group(ctx, "Ganga Chit"), chit_group(ctx, "Yamuna Chit")
    ids = []
    for group_id, prize in ((small, PRIZE), (large, 1_40_000_00)):
        fund_pool(ctx, group_id, 10_000_00)
        payout_id = pending_payout(ctx, group_id, winner, prize)
        payouts.deduct_future(RAVI, payout_id, "Winner's request")  # the pool keeps 25,000
        ids.append(payouts.propose_advance(RAVI, payout_id, "Members pay late")["id"])
    assert [payouts.advance_data(i)["amount"] for i in ids] == [60_000_00, 1_30_000_00]
    company_cash(ctx, LAKH)
    with pytest.raises(Conflict) as caught:
        payouts.approve_advance(MEENA, ids[0])
    message = str(caught.value)
    assert "more from company cash" in message and ids[1] not in message
    assert message.count("the advance for the prize of period 3") == 2
    record = wal(ctx)[-1]
    assert (record.action, record.entity["id"]) == ("bankers.refuse", ids[0])
    assert LedgerService(ctx).balance(COMPANY_CASH) == LAKH
    detail = payouts.detail(f"{small}-3")
    assert detail.advance_check is not None and not detail.advance_check.granted
    assert detail.advance_check.text == (
        "Advancing ₹60,000.00 is refused: the advance for the prize of period 3 of Yamuna "
        "Chit would still need ₹1,30,000.00 from company cash, which could hold at most "
        "₹1,00,000.00."
    )
    payouts.decline_advance(MEENA, ids[1], "Yamuna's members paid at the counter")
    payouts.approve_advance(MEENA, ids[0])
    assert LedgerService(ctx).pool(small) == PRIZE


def test_an_advance_no_longer_needed_is_not_made(
    ctx: ServiceContext, payouts: PayoutService
) -> None:
    group_id, payout_id, _ = prize_setup(ctx, 40_000_00)
    payouts.deduct_future(RAVI, payout_id, "Winner's request")  # the pool keeps 25,000
    with pytest.raises(ValidationError, match="Reason: say why"):
        payouts.propose_advance(RAVI, payout_id, " ")
    advance = payouts.propose_advance(RAVI, payout_id, "Two members pay on Monday")
    assert advance["amount"] == PRIZE - 40_000_00
    company_cash(ctx, LAKH)
    fund_pool(ctx, group_id, PRIZE - 40_000_00)  # the members paid meanwhile
    with pytest.raises(Conflict, match="no advance is needed"):
        payouts.approve_advance(MEENA, advance["id"])
    payouts.request_release(RAVI, payout_id)
    payouts.release_payout(MEENA, payout_id)
    assert payouts.advance_data(advance["id"])["status"] == "withdrawn"
    assert LedgerService(ctx).balance(COMPANY_CASH) == LAKH


def test_the_ledger_check_catches_an_advance_book_out_of_step(
    ctx: ServiceContext, clock: FixedClock, payouts: PayoutService
) -> None:
    drawn = draw_period_one(ctx, clock)
    company_cash(ctx, LAKH)
    secure(payouts, drawn.payout_id)
    advance = payouts.propose_advance(RAVI, drawn.payout_id, "Nobody has paid yet")
    payouts.approve_advance(ADMIN2, advance["id"])
    assert check_ledger(ctx)[0]
    book = {"open": [], "outstanding": 0, "advanced": 0, "repaid": 0}
    write = Write("set", "advance_books", drawn.group_id, book)
    ctx.pipeline.commit(ADMIN, ChangeSet("test.tamper", "group", drawn.group_id, [write]))
    ok, report = check_ledger(ctx)
    assert not ok and "Advances do not match the books" in report
