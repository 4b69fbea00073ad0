"""Property tests of the ledger on a real store and WAL (hypothesis).

- the ledger balances after any sequence of valid operations;
- in every period, collections = prize + commission (to the paisa, the foreman
  absorbing the rounding residue of the shares);
- nobody pays twice for one instalment, whatever bank references are used;
- receipts are idempotent by bank reference.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.kernel.errors import ValidationError
from app.services.auctions import rules as auction_rules
from app.services.auctions.rules import Agreement, Settlement
from app.services.context import FixedClock, ServiceContext, close_context, make_context
from app.services.ledger import LedgerService, Payment
from app.services.ledger.postings import COMPANY_CASH, chitfund, prize_paid_write, receivable
from tests.test_ledger import CLERK, DRAW, NOW, fresh_scan, members, post, raise_dues

PROPERTY_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@contextmanager
def fresh_context() -> Iterator[ServiceContext]:
    with tempfile.TemporaryDirectory() as tmp:
        ctx = make_context(Path(tmp), clock=FixedClock(NOW))
        try:
            yield ctx
        finally:
            close_context(ctx)


@st.composite
def agreements(draw: st.DrawFn) -> Agreement:
    n = draw(st.integers(3, 6))
    return Agreement(
        gross_paise=n * draw(st.sampled_from([1_000_00, 2_500_00, 3_333_33, 10_000_00])),
        members=n,
        commission_bps=draw(st.sampled_from([0, 100, 250, 500, 700])),
        discount_cap_bps=4000,
        bid_step_paise=draw(st.sampled_from([1, 7, 100_00])),
        foreman_takes_first=draw(st.booleans()),
    )


def discount_for(draw: st.DrawFn, agreement: Agreement, period: int) -> int:
    if period == 1 and agreement.foreman_takes_first:
        return 0
    floor, top = auction_rules.discount_floor(agreement), auction_rules.max_bid(agreement)
    steps = draw(st.integers(0, (top - floor) // agreement.bid_step_paise))
    return floor + steps * agreement.bid_step_paise


def split(draw: st.DrawFn, total: int) -> list[int]:
    """``total`` in 1 to 3 positive parts."""
    cuts = draw(st.lists(st.integers(1, total - 1), max_size=2, unique=True)) if total > 1 else []
    points = [0, *sorted(cuts), total]
    return [b - a for a, b in itertools.pairwise(points)]


@dataclass
class Plan:
    agreement: Agreement
    discounts: list[int]
    payments: list[tuple[int, str, int]]  # (period, member, amount) in arrival order
    replays: list[int]  # indexes of payments sent twice
    pay_prizes: bool
    statement_size: int  # 1: one receipt at a time; more: bank statements of that many


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    agreement = draw(agreements())
    periods = draw(st.integers(1, 2))
    discounts = [discount_for(draw, agreement, p) for p in range(1, periods + 1)]
    payments = []
    for period, discount in enumerate(discounts, start=1):
        net = auction_rules.settle(agreement, period, discount).net_instalment_paise
        for member in members(agreement.members):
            payments += [(period, member, part) for part in split(draw, net)]
    payments = draw(st.permutations(payments))
    replays = draw(st.lists(st.integers(0, len(payments) - 1), max_size=3))
    size = draw(st.sampled_from([1, 1, 3, 7]))
    return Plan(agreement, discounts, payments, replays, draw(st.booleans()), size)


def assert_balanced(ledger: LedgerService) -> None:
    tb = ledger.trial_balance()
    assert tb.balanced and tb.total_debit == tb.total_credit
    assert tb == fresh_scan(ledger.ctx)
    assert ledger.balance_sheet().balanced


@PROPERTY_SETTINGS
@given(plan=plans())
def test_ledger_balances_and_collections_equal_prize_plus_commission(plan: Plan) -> None:
    with fresh_context() as ctx:
        ledger = LedgerService(ctx)
        people = members(plan.agreement.members)
        settled: list[Settlement] = []
        for period, discount in enumerate(plan.discounts, start=1):
            settled.append(raise_dues(ctx, "g1", plan.agreement, period, discount, people))
            assert_balanced(ledger)
        rows = [
            Payment("g1", period, member, amount, f"REF{i:04d}", DRAW)
            for i, (period, member, amount) in enumerate(plan.payments)
        ]
        rows += [rows[i] for i in plan.replays]
        size = plan.statement_size
        for start in range(0, len(rows), size):
            receipts = ledger.record_receipts(CLERK, rows[start : start + size])
            assert [r.duplicate for r in receipts] == [start + k >= len(plan.payments)
                                                       for k in range(len(receipts))]  # fmt: skip
            assert_balanced(ledger)
        check_periods(ctx, ledger, settled, people, plan.pay_prizes)


def check_periods(
    ctx: ServiceContext,
    ledger: LedgerService,
    settled: list[Settlement],
    people: list[str],
    pay_prizes: bool,
) -> None:
    fees = 0
    for s in settled:
        got = ledger.period_collections("g1", s.period)
        assert got.collected == s.members * s.net_instalment_paise
        assert got.collected == s.prize_paise + s.commission_paise - s.residue_paise
        assert got.collected + s.residue_paise == s.prize_paise + s.commission_paise
        assert got.unpaid == [] and got.paid_count == s.members
        assert got.commission_moved == (s.foreman_receives_paise > 0)
        fees += s.foreman_receives_paise
        if pay_prizes:
            post(ctx, [prize_paid_write(ctx.ids, group_id="g1", period=s.period,
                                        member_id=people[s.period - 1],
                                        amount=s.prize_paise, date=DRAW)])  # fmt: skip
    prizes_owed = 0 if pay_prizes else sum(s.prize_paise for s in settled)
    assert ledger.pool("g1") == prizes_owed
    assert ledger.balance(chitfund("g1")) == -prizes_owed
    assert ledger.balance(COMPANY_CASH) == fees
    assert all(ledger.balance(receivable(m, "g1")) == 0 for m in people)
    assert_balanced(ledger)


@dataclass
class Attempt:
    member: str
    amount: int
    ref: str


@st.composite
def attempts(draw: st.DrawFn) -> tuple[Agreement, int, list[Attempt]]:
    agreement = draw(agreements())
    discount = discount_for(draw, agreement, 2)
    net = auction_rules.settle(agreement, 2, discount).net_instalment_paise
    people = members(agreement.members)[:3]
    amount = st.one_of(st.just(net), st.integers(1, net + 1), st.integers(net // 2, net))
    attempt = st.builds(Attempt, st.sampled_from(people), amount, st.sampled_from("ABCDEFGH"))
    return agreement, discount, draw(st.lists(attempt, min_size=1, max_size=12))


@PROPERTY_SETTINGS
@given(case=attempts())
def test_nobody_pays_twice_and_receipts_are_idempotent(
    case: tuple[Agreement, int, list[Attempt]],
) -> None:
    agreement, discount, tries = case
    with fresh_context() as ctx:
        ledger = LedgerService(ctx)
        s = raise_dues(ctx, "g1", agreement, 2, discount, members(agreement.members))
        accepted: dict[str, Attempt] = {}
        paid = dict.fromkeys(members(agreement.members), 0)
        for attempt in tries:
            ref = f"UTR-{attempt.ref}1"
            first = accepted.get(ref)
            owed = s.net_instalment_paise - paid[attempt.member]
            try:
                receipt = ledger.record_receipt(
                    CLERK,
                    group_id="g1",
                    period=2,
                    member_id=attempt.member,
                    amount=attempt.amount,
                    bank_ref=ref.lower(),
                    received_on=DRAW,
                )
            except ValidationError:
                reused = first is not None and first != attempt
                assert reused or (first is None and attempt.amount > owed)
                continue
            if first is not None:
                assert receipt.duplicate and first == attempt
                continue
            assert not receipt.duplicate and attempt.amount <= owed
            accepted[ref] = attempt
            paid[attempt.member] += attempt.amount
        check_payments(ledger, s, paid, accepted)


def check_payments(
    ledger: LedgerService, s: Settlement, paid: dict[str, int], accepted: dict[str, Attempt]
) -> None:
    for due in (d for m in paid for d in ledger.dues_for(m)):
        assert due.paid == paid[due.member_id] <= s.net_instalment_paise
        assert due.status == ("paid" if due.paid == due.net else "due")
        assert ledger.balance(receivable(due.member_id, "g1")) == due.outstanding
    receipts = ledger.transactions(kind="instalment.received")
    assert sorted(t.refs["bank_ref"] for t in receipts) == sorted(accepted)
    assert ledger.period_collections("g1", 2).collected == sum(paid.values())
    assert_balanced(ledger)
