"""The double-entry ledger on a real store and WAL: postings, receipts, reports."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import pytest

from app.kernel.errors import NotFound, PermissionDenied, ValidationError
from app.services.actors import Actor
from app.services.auctions import rules as auction_rules
from app.services.auctions.rules import Agreement, Settlement
from app.services.collections import LEDGER
from app.services.context import FixedClock, ServiceContext, close_context, make_context
from app.services.ledger import LedgerService, Payment, Receipt, TrialBalance, check_ledger
from app.services.ledger import totals as ledger_totals
from app.services.ledger.postings import (
    CAPITAL,
    COMMISSION_INCOME,
    COMPANY_CASH,
    INTEREST_INCOME,
    LENDING_CASH,
    PENALTY_INCOME,
    Line,
    capital_write,
    chitfund,
    cr,
    dr,
    dues_writes,
    emi_received_write,
    group_cash,
    loan_account,
    loan_disbursed_write,
    penalty_receivable,
    penalty_received_write,
    penalty_write,
    prize_paid_write,
    receivable,
    txn_write,
)
from app.services.pipeline import ChangeSet
from app.services.store import Query, Write

ADMIN = Actor("adm-1", "Asha Admin", "admin")
CLERK = Actor("emp-1", "Ravi Clerk", "employee")
MEMBER = Actor("mem-01", "Meena Member", "member")
NOW = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
DRAW = date(2026, 11, 20)
DUE = date(2026, 11, 30)
LAKH = 100_000 * 100


class Ids:
    """Sequential ids, so tests read well."""

    def __init__(self) -> None:
        self.n = 0

    def new(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}-{self.n:05d}"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def ledger(ctx: ServiceContext) -> LedgerService:
    return LedgerService(ctx)


def members(n: int) -> list[str]:
    return [f"mem-{i:02d}" for i in range(1, n + 1)]


def post(ctx: ServiceContext, writes: Sequence[Write], action: str = "test.post") -> None:
    """Commit writes the way a service does: one ChangeSet."""
    change = ChangeSet(action=action, entity_type="test", entity_id="t", writes=list(writes))
    ctx.pipeline.transact(ADMIN, lambda reader: change)


def raise_dues(
    ctx: ServiceContext,
    group_id: str,
    agreement: Agreement,
    period: int,
    discount: int,
    member_ids: Sequence[str],
    due: date = DUE,
    raised: date = DRAW,
) -> Settlement:
    settlement = auction_rules.settle(agreement, period, discount)
    writes = dues_writes(group_id, period, settlement, member_ids, due, ctx.ids, raised_on=raised)
    post(ctx, writes)
    return settlement


def pay(
    ledger: LedgerService,
    group_id: str,
    period: int,
    member_id: str,
    amount: int,
    ref: str,
    on: date = DRAW,
) -> Receipt:
    return ledger.record_receipt(
        CLERK,
        group_id=group_id,
        period=period,
        member_id=member_id,
        amount=amount,
        bank_ref=ref,
        received_on=on,
    )


def txn_count(ctx: ServiceContext) -> int:
    return ctx.store.count(Query(LEDGER))


EXAMPLE = Agreement(gross_paise=5 * LAKH, members=50)
SMALL = Agreement(gross_paise=40_000_00, members=4, commission_bps=500, bid_step_paise=100_00)


# -- txn_write ----------------------------------------------------------------------


def test_txn_write_records_a_balanced_transaction() -> None:
    write = txn_write(
        Ids(),
        date=date(2026, 1, 2),
        kind="loan.disbursed",
        lines=[dr("loans:ln-1", 500), ("cash:lending", 0, 500)],
        loan_id="ln-1",
    )
    assert write.collection == LEDGER and write.expect_version == 0
    assert write.data["lines"] == [
        {"account": "loans:ln-1", "debit": 500, "credit": 0},
        {"account": "cash:lending", "debit": 0, "credit": 500},
    ]
    assert write.data["date"] == "2026-01-02" and write.data["amount"] == 500
    assert write.data["lending"] is True and write.data["loan_id"] == "ln-1"


def test_txn_write_fills_in_the_group_of_group_accounts() -> None:
    write = txn_write(
        Ids(),
        date="2026-01-02",
        kind="prize.paid",
        lines=[dr(chitfund("g1"), 10), cr(group_cash("g1"), 10)],
    )
    assert write.data["group_id"] == "g1" and write.data["lending"] is False


@pytest.mark.parametrize(
    ("lines", "refs", "message"),
    [
        ([dr("cash:company", 10), cr("income:penalty", 9)], {}, "do not equal"),
        ([dr("cash:company", 10)], {}, "at least 2 lines"),
        ([dr("cash:company", -5), cr("income:penalty", -5)], {}, "negative"),
        ([Line("cash:company", 5, 5), Line("income:penalty", 5, 5)], {}, "either a debit"),
        ([Line("cash:company", 0, 0), cr("income:penalty", 0)], {}, "either a debit"),
        ([dr("cash:company", True), cr("income:penalty", True)], {}, "whole paise"),
        ([("cash:company", 1.5, 0), ("income:penalty", 0, 1.5)], {}, "whole paise"),
        ([dr("bank:hdfc", 5), cr("income:penalty", 5)], {}, "not a ledger account"),
        ([dr("cash:", 5), cr("income:penalty", 5)], {}, "not a ledger account"),
        ([dr(group_cash("g1"), 5), cr(group_cash("g2"), 5)], {}, "one group"),
        ([dr(group_cash("g1"), 5), cr(chitfund("g1"), 5)], {"group_id": "g2"}, "does not match"),
        ([dr("cash:company", 5), cr("income:penalty", 5)], {"grp": "g1"}, "unknown reference"),
    ],
)
def test_txn_write_refuses_what_does_not_balance(
    lines: list[Line], refs: dict[str, str], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        txn_write(Ids(), date="2026-01-02", kind="test.post", lines=lines, **refs)


def test_txn_write_refuses_a_bad_kind_and_date() -> None:
    lines = [dr("cash:company", 5), cr("income:penalty", 5)]
    with pytest.raises(ValidationError, match="bad kind"):
        txn_write(Ids(), date="2026-01-02", kind="Penalty", lines=lines)
    with pytest.raises(ValidationError, match="not a date"):
        txn_write(Ids(), date="02/01/2026", kind="penalty.charged", lines=lines)


# -- a chit period --------------------------------------------------------------------


def test_domain_worked_example(ctx: ServiceContext, ledger: LedgerService) -> None:
    """G ₹5,00,000, N 50, 5% commission, period 5 won at 30%: net ₹7,500 each, and
    50 × 7,500 = 3,50,000 (prize) + 25,000 (commission)."""
    people = members(50)
    s = raise_dues(ctx, "g1", EXAMPLE, 5, 150_000_00, people)
    assert (s.prize_paise, s.share_paise, s.net_instalment_paise) == (
        350_000_00,
        2_500_00,
        7_500_00,
    )
    assert ledger.balance(receivable("mem-07", "g1")) == 7_500_00
    assert ledger.balance(chitfund("g1")) == -350_000_00
    assert ledger.balance(COMMISSION_INCOME) == -25_000_00
    for i, member in enumerate(people):
        pay(ledger, "g1", 5, member, 7_500_00, f"UTR{i:04d}")
    collections = ledger.period_collections("g1", 5)
    assert collections.collected == 50 * 7_500_00 == 350_000_00 + 25_000_00
    assert collections.unpaid == [] and collections.paid_count == 50
    assert ledger.pool("g1") == 350_000_00
    assert ledger.balance(COMPANY_CASH) == 25_000_00
    post(ctx, [prize_paid_write(ctx.ids, group_id="g1", period=5, member_id="mem-09",
                                amount=s.prize_paise, date=DUE)])  # fmt: skip
    assert ledger.pool("g1") == 0 and ledger.balance(chitfund("g1")) == 0
    assert all(ledger.balance(receivable(m, "g1")) == 0 for m in people)
    assert ledger.trial_balance().balanced and ledger.balance_sheet().balanced


def test_dues_postings_line_by_line(ctx: ServiceContext, ledger: LedgerService) -> None:
    s = raise_dues(ctx, "g1", SMALL, 2, 6_000_00, members(4))
    by_kind = {t.kind: t for t in ledger.transactions(group_id="g1")}
    raised, discount = by_kind["dues.raised"], by_kind["discount.distributed"]
    assert raised.kind == "dues.raised" and raised.date == DRAW.isoformat()
    assert sorted(raised.lines) == sorted(
        [Line(receivable(m, "g1"), 10_000_00, 0) for m in members(4)]
        + [Line(chitfund("g1"), 0, 40_000_00)]
    )
    assert discount.kind == "discount.distributed"
    assert sorted(discount.lines) == sorted(
        [Line(chitfund("g1"), 6_000_00, 0), Line(COMMISSION_INCOME, 0, 2_000_00)]
        + [Line(receivable(m, "g1"), 0, 1_000_00) for m in members(4)]
    )
    due = ledger.dues_for("mem-02")[0]
    assert (due.gross, due.share, due.net, due.status, due.due_date) == (
        10_000_00,
        1_000_00,
        9_000_00,
        "due",
        DUE.isoformat(),
    )
    assert s.net_instalment_paise == 9_000_00


def test_raising_a_period_twice_is_refused(ctx: ServiceContext) -> None:
    raise_dues(ctx, "g1", SMALL, 2, 6_000_00, members(4))
    with pytest.raises(Exception, match=r"already exists|changed"):
        raise_dues(ctx, "g1", SMALL, 2, 6_000_00, members(4))


def test_dues_writes_checks_its_members(ctx: ServiceContext) -> None:
    s = auction_rules.settle(SMALL, 2, 6_000_00)
    with pytest.raises(ValidationError, match="3 members but the group has 4"):
        dues_writes("g1", 2, s, members(3), DUE, ctx.ids)
    with pytest.raises(ValidationError, match="listed twice"):
        dues_writes("g1", 2, s, ["a", "a", "b", "c"], DUE, ctx.ids)
    with pytest.raises(ValidationError, match="settlement is for 2"):
        dues_writes("g1", 3, s, members(4), DUE, ctx.ids)


def test_foreman_takes_first_has_no_discount_or_commission(
    ctx: ServiceContext, ledger: LedgerService
) -> None:
    agreement = Agreement(gross_paise=40_000_00, members=4, foreman_takes_first=True)
    raise_dues(ctx, "g1", agreement, 1, 0, members(4))
    assert [t.kind for t in ledger.transactions(group_id="g1")] == ["dues.raised"]
    for i, member in enumerate(members(4)):
        pay(ledger, "g1", 1, member, 10_000_00, f"REF{i:03d}")
    assert ledger.pool("g1") == 40_000_00 and ledger.balance(COMPANY_CASH) == 0
    assert not ledger.period_collections("g1", 1).commission_moved


def test_rounding_short_of_the_prize_is_made_up_by_the_company(
    ctx: ServiceContext, ledger: LedgerService
) -> None:
    """No commission and shares rounded up: the members pay 1 paisa less than the
    prize, so the company tops the pool up at settlement."""
    agreement = Agreement(gross_paise=3_000_00, members=3, commission_bps=0, bid_step_paise=500_00)
    s = raise_dues(ctx, "g1", agreement, 2, 500_00, members(3))
    assert (s.share_paise, s.residue_paise, s.foreman_receives_paise) == (166_67, 1, -1)
    for i, member in enumerate(members(3)):
        pay(ledger, "g1", 2, member, s.net_instalment_paise, f"REF{i:03d}")
    assert ledger.pool("g1") == s.prize_paise
    assert ledger.balance(COMPANY_CASH) == -1 and ledger.balance(COMMISSION_INCOME) == 1
    assert ledger.trial_balance().balanced


# -- receipts -------------------------------------------------------------------------


@pytest.fixture
def period2(ctx: ServiceContext) -> Settlement:
    return raise_dues(ctx, "g1", SMALL, 2, 6_000_00, members(4))


def test_receipt_posts_cash_and_clears_the_due(
    ctx: ServiceContext, ledger: LedgerService, period2: Settlement
) -> None:
    receipt = ledger.record_receipt(
        CLERK,
        group_id="g1",
        period=2,
        member_id="mem-01",
        amount=9_000_00,
        bank_ref=" utr-0001 ",
        received_on="2026-11-21",
    )
    assert receipt.bank_ref == "UTR-0001" and not receipt.duplicate
    assert ctx.store.get("receipts", "UTR-0001").data["kind"] == "instalment"  # type: ignore[union-attr]
    assert receipt.recorded_by == CLERK.id
    due = ledger.dues_for("mem-01")[0]
    assert (due.paid, due.status, due.bank_refs, due.paid_at) == (
        9_000_00,
        "paid",
        ["UTR-0001"],
        "2026-11-21",
    )
    assert ledger.balance(receivable("mem-01", "g1")) == 0
    txn = ledger.transactions(kind="instalment.received")[0]
    assert txn.id == receipt.txn_id and txn.refs["bank_ref"] == "UTR-0001"
    record = list(ctx.pipeline.wal.read(1, ctx.pipeline.wal.head()[0]))[-1]
    assert record.action == "receipt.record" and record.actor["id"] == CLERK.id


def test_same_bank_reference_twice_is_one_receipt(
    ctx: ServiceContext, ledger: LedgerService, period2: Settlement
) -> None:
    args = dict(group_id="g1", period=2, member_id="mem-01", amount=4_000_00, received_on=DRAW)
    first = ledger.record_receipt(CLERK, bank_ref="UTR1234", **args)  # type: ignore[arg-type]
    lsn, txns = ctx.store.last_applied_lsn(), txn_count(ctx)
    again = ledger.record_receipt(ADMIN, bank_ref="utr1234", **args)  # type: ignore[arg-type]
    assert again.duplicate and again.txn_id == first.txn_id
    assert again.recorded_by == CLERK.id
    assert (ctx.store.last_applied_lsn(), txn_count(ctx)) == (lsn, txns)
    assert ledger.dues_for("mem-01")[0].paid == 4_000_00


def test_reused_bank_reference_with_another_payload_is_refused(
    ledger: LedgerService, period2: Settlement
) -> None:
    pay(ledger, "g1", 2, "mem-01", 4_000_00, "UTR1234")
    with pytest.raises(ValidationError, match=r"UTR1234 was already used .* mem-01") as err:
        pay(ledger, "g1", 2, "mem-02", 4_000_00, "UTR1234")
    assert "mem-02" in err.value.message
    with pytest.raises(ValidationError, match="already used"):
        pay(ledger, "g1", 2, "mem-01", 3_000_00, "UTR1234")
    assert ledger.dues_for("mem-02")[0].paid == 0


def test_a_bank_reference_used_for_an_emi_is_refused(
    ctx: ServiceContext, ledger: LedgerService, period2: Settlement
) -> None:
    emi = {"kind": "emi", "bank_ref": "NEFT42", "loan_id": "ln-1", "amount": 9_455_96}
    post(ctx, [Write("set", "receipts", "NEFT42", {**emi, "recorded_at": NOW.isoformat()})])
    with pytest.raises(ValidationError, match=r"NEFT42 was already used on 24 Nov 2026 for emi"):
        pay(ledger, "g1", 2, "mem-01", 9_000_00, "neft42")
    assert ledger.dues_for("mem-01")[0].paid == 0


def test_part_payments_add_up_and_over_payment_is_refused(
    ledger: LedgerService, period2: Settlement
) -> None:
    pay(ledger, "g1", 2, "mem-01", 5_000_00, "UTR0001")
    with pytest.raises(ValidationError, match=r"₹5,000.00 is more than the ₹4,000.00 still owed"):
        pay(ledger, "g1", 2, "mem-01", 5_000_00, "UTR0002")
    pay(ledger, "g1", 2, "mem-01", 4_000_00, "UTR0003")
    due = ledger.dues_for("mem-01")[0]
    assert (due.paid, due.status, due.bank_refs) == (9_000_00, "paid", ["UTR0001", "UTR0003"])


def test_a_member_cannot_pay_twice_for_one_instalment(
    ctx: ServiceContext, ledger: LedgerService, period2: Settlement
) -> None:
    pay(ledger, "g1", 2, "mem-01", 9_000_00, "UTR0001")
    before = txn_count(ctx)
    with pytest.raises(ValidationError, match=r"already paid in full .* UTR0001"):
        pay(ledger, "g1", 2, "mem-01", 9_000_00, "UTR0002")
    assert txn_count(ctx) == before and ctx.store.get("receipts", "UTR0002") is None


def race(count: int, attempt: Callable[[int], object]) -> list[object]:
    """Run ``attempt(i)`` for i in range(count) at once; results or exceptions."""

    def outcome(i: int) -> object:
        try:
            return attempt(i)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(outcome, range(count)))


def test_concurrent_payments_of_one_instalment_are_accepted_once(
    ctx: ServiceContext, ledger: LedgerService, period2: Settlement
) -> None:
    def attempt(i: int) -> object:
        return pay(ledger, "g1", 2, "mem-01", 9_000_00, f"UTR{i:04d}")

    outcomes = race(8, attempt)
    refused = [o for o in outcomes if isinstance(o, ValidationError)]
    assert len(refused) == 7 and all("already paid" in o.message for o in refused)
    assert ledger.dues_for("mem-01")[0].paid == 9_000_00
    assert len(ledger.transactions(kind="instalment.received")) == 1


def test_concurrent_copies_of_one_receipt_write_it_once(
    ctx: ServiceContext, ledger: LedgerService, period2: Settlement
) -> None:
    def attempt(i: int) -> object:
        return ledger.record_receipt(
            CLERK,
            group_id="g1",
            period=2,
            member_id="mem-01",
            amount=9_000_00,
            bank_ref="UTR0001",
            received_on=DRAW,
        )

    outcomes = race(8, attempt)
    receipts = [o for o in outcomes if isinstance(o, Receipt)]
    assert len(receipts) == 8 and sum(not r.duplicate for r in receipts) == 1
    assert len({r.txn_id for r in receipts}) == 1
    assert len(ledger.transactions(kind="instalment.received")) == 1


def statement(*rows: tuple[str, int, str]) -> list[Payment]:
    return [Payment("g1", 2, member, amount, ref, DRAW) for member, amount, ref in rows]


def test_a_bank_statement_is_one_change(
    ctx: ServiceContext, ledger: LedgerService, period2: Settlement
) -> None:
    lsn = ctx.store.last_applied_lsn()
    rows = [(m, 9_000_00, f"S{i:04d}") for i, m in enumerate(members(3))]
    rows += [("mem-04", 4_000_00, "S0003"), ("mem-04", 5_000_00, "S0004")]
    receipts = ledger.record_receipts(CLERK, statement(*rows))
    assert ctx.store.last_applied_lsn() == lsn + 1
    assert [r.bank_ref for r in receipts] == [ref for _, _, ref in rows]
    assert sum(r.commission_txn is not None for r in receipts) == 1
    got = ledger.period_collections("g1", 2)
    assert (got.collected, got.paid_count, got.unpaid) == (36_000_00, 4, [])
    assert ledger.dues_for("mem-04")[0].bank_refs == ["S0003", "S0004"]
    assert ledger.pool("g1") == 34_000_00 == period2.prize_paise
    (record,) = ctx.pipeline.wal.read(lsn + 1, lsn + 1)
    assert record.action == "receipt.import"
    assert record.change["event"] == {"type": "receipt.import", "count": 5, "amount": 36_000_00}
    again = ledger.record_receipts(CLERK, statement(*rows))
    assert all(r.duplicate for r in again) and ctx.store.last_applied_lsn() == lsn + 1


def test_a_statement_with_bad_lines_records_nothing(
    ctx: ServiceContext, ledger: LedgerService, period2: Settlement
) -> None:
    pay(ledger, "g1", 2, "mem-01", 9_000_00, "UTR0001")
    lsn = ctx.store.last_applied_lsn()
    rows = statement(
        ("mem-02", 9_000_00, "S0001"),
        ("mem-03", 9_500_00, "S0002"),
        ("mem-09", 9_000_00, "S0003"),
        ("mem-04", 9_000_00, "UTR0001"),
        ("mem-02", 1_00, "S0004"),
    )
    with pytest.raises(ValidationError) as err:
        ledger.record_receipts(CLERK, rows)
    message = err.value.message
    assert message.startswith("4 of 5 receipts cannot be recorded, so none was")
    assert "#2 (S0002): ₹9,500.00 is more than" in message
    assert "#3 (S0003): No instalment is due from member mem-09" in message
    assert "#4 (UTR0001): Bank reference UTR0001 was already used" in message
    assert "#5 (S0004): The instalment of member mem-02" in message
    assert ctx.store.last_applied_lsn() == lsn


def test_one_statement_may_not_reuse_a_reference_for_another_payment(
    ledger: LedgerService, period2: Settlement
) -> None:
    same = statement(("mem-01", 9_000_00, "S0001"), ("mem-01", 9_000_00, "S0001"))
    first, copy = ledger.record_receipts(CLERK, same)
    assert copy.duplicate and copy.txn_id == first.txn_id and not first.duplicate
    clash = statement(("mem-02", 9_000_00, "S0002"), ("mem-03", 9_000_00, "S0002"))
    with pytest.raises(ValidationError, match=r"#2 \(S0002\): Bank reference S0002"):
        ledger.record_receipts(CLERK, clash)
    assert ledger.record_receipts(CLERK, []) == []
    assert ledger.find_receipt("s0001") == first
    assert ledger.find_receipt("S0002") is None


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"amount": 0}, ValidationError, "positive whole number"),
        ({"amount": 9_000.0}, ValidationError, "positive whole number"),
        ({"bank_ref": "x"}, ValidationError, "not a bank reference"),
        ({"bank_ref": "UTR/1234"}, ValidationError, "not a bank reference"),
        ({"received_on": "2026-12-01"}, ValidationError, "in the future"),
        ({"period": 0}, ValidationError, "period must be"),
        ({"period": 3}, NotFound, "No instalment is due"),
        ({"member_id": "mem-99"}, NotFound, "No instalment is due"),
    ],
)
def test_bad_receipts_are_refused(
    ledger: LedgerService,
    period2: Settlement,
    changes: dict[str, object],
    error: type[Exception],
    message: str,
) -> None:
    args: dict[str, object] = dict(
        group_id="g1",
        period=2,
        member_id="mem-01",
        amount=9_000_00,
        bank_ref="UTR0001",
        received_on=DRAW,
    )
    with pytest.raises(error, match=message):
        ledger.record_receipt(CLERK, **{**args, **changes})  # type: ignore[arg-type]


def test_only_staff_record_receipts_and_only_admins_add_capital(
    ledger: LedgerService, period2: Settlement
) -> None:
    with pytest.raises(PermissionDenied, match="may not record an instalment receipt"):
        ledger.record_receipt(
            MEMBER,
            group_id="g1",
            period=2,
            member_id="mem-01",
            amount=9_000_00,
            bank_ref="UTR0001",
            received_on=DRAW,
        )
    with pytest.raises(PermissionDenied, match="may not add lending capital"):
        ledger.add_capital(CLERK, 10 * LAKH)


def test_commission_moves_once_when_collections_cover_it(
    ledger: LedgerService, period2: Settlement
) -> None:
    pay(ledger, "g1", 2, "mem-01", 1_500_00, "UTR0001")
    assert not ledger.period_collections("g1", 2).commission_moved
    assert ledger.pool("g1") == 1_500_00
    pay(ledger, "g1", 2, "mem-02", 1_000_00, "UTR0002")
    moved = ledger.period_collections("g1", 2)
    assert moved.commission_moved and moved.collected == 2_500_00
    assert ledger.pool("g1") == 500_00 and ledger.balance(COMPANY_CASH) == 2_000_00
    pay(ledger, "g1", 2, "mem-03", 9_000_00, "UTR0003")
    assert ledger.balance(COMPANY_CASH) == 2_000_00
    assert len(ledger.transactions(kind="commission.transferred")) == 1


# -- loans, capital, penalties --------------------------------------------------------


def test_loan_postings(ctx: ServiceContext, ledger: LedgerService) -> None:
    """The DOMAIN EMI example: ₹1,00,000 at 24% for 12 months, EMI ₹9,455.96."""
    txn = ledger.add_capital(ADMIN, 5 * LAKH, "Board resolution 7")
    assert txn.kind == "capital.added" and txn.memo == "Board resolution 7"
    ids = ctx.ids
    post(ctx, [loan_disbursed_write(ids, loan_id="ln-1", member_id="mem-01", amount=LAKH,
                                    date=DRAW, bank_ref="NEFT01")])  # fmt: skip
    post(ctx, [emi_received_write(ids, loan_id="ln-1", member_id="mem-01", principal=7_455_96,
                                  interest=2_000_00, date=DUE, bank_ref="NEFT02",
                                  instalment_no=1)])  # fmt: skip
    assert ledger.balance(loan_account("ln-1")) == 92_544_04
    assert ledger.lending_pool() == 5 * LAKH - LAKH + 9_455_96
    assert ledger.balance(INTEREST_INCOME) == -2_000_00
    assert ledger.balance(CAPITAL) == -5 * LAKH
    sheet = ledger.balance_sheet()
    assert sheet.assets == {LENDING_CASH: 4_09_455_96, loan_account("ln-1"): 92_544_04}
    assert sheet.equity == {CAPITAL: 5 * LAKH} and sheet.income == {INTEREST_INCOME: 2_000_00}
    assert sheet.balanced


def test_penalty_postings(ctx: ServiceContext, ledger: LedgerService) -> None:
    post(ctx, [penalty_write(ctx.ids, member_id="mem-01", amount=250_00, date=DUE,
                             group_id="g1", period=2)])  # fmt: skip
    assert ledger.balance(penalty_receivable("mem-01")) == 250_00
    post(ctx, [penalty_received_write(ctx.ids, member_id="mem-01", amount=250_00, date=DUE,
                                      bank_ref="UPI77")])  # fmt: skip
    assert ledger.balance(penalty_receivable("mem-01")) == 0
    assert ledger.balance(PENALTY_INCOME) == -250_00
    assert ledger.balance(COMPANY_CASH) == 250_00


def test_capital_write_and_add_capital_validate_amounts(ledger: LedgerService) -> None:
    with pytest.raises(ValidationError, match="positive"):
        ledger.add_capital(ADMIN, -5)
    with pytest.raises(ValidationError, match="either a debit"):
        capital_write(Ids(), amount=0, date=DRAW)


# -- reads -----------------------------------------------------------------------------


def test_member_timeline_newest_first(ctx: ServiceContext, ledger: LedgerService) -> None:
    raise_dues(ctx, "g1", SMALL, 2, 6_000_00, members(4), date(2026, 10, 30), date(2026, 10, 20))
    pay(ledger, "g1", 2, "mem-01", 9_000_00, "UTR0001", on=date(2026, 11, 1))
    post(ctx, [prize_paid_write(ctx.ids, group_id="g1", period=2, member_id="mem-01",
                                amount=34_000_00, date="2026-11-05", payout_id="po-1",
                                bank_ref="NEFT9")])  # fmt: skip
    post(ctx, [loan_disbursed_write(ctx.ids, loan_id="ln-1", member_id="mem-01",
                                    amount=LAKH, date="2026-11-10")])  # fmt: skip
    post(ctx, [emi_received_write(ctx.ids, loan_id="ln-1", member_id="mem-01",
                                  principal=7_455_96, interest=2_000_00,
                                  date="2026-11-22", bank_ref="NEFT10")])  # fmt: skip
    post(ctx, [penalty_write(ctx.ids, member_id="mem-01", amount=100_00,
                             date="2026-11-23")])  # fmt: skip
    pay(ledger, "g1", 2, "mem-02", 9_000_00, "UTR0002")
    items = ledger.member_timeline("mem-01")
    assert [(i.date, i.kind, i.amount) for i in items] == [
        ("2026-11-23", "penalty_charged", 100_00),
        ("2026-11-22", "emi_paid", 9_455_96),
        ("2026-11-10", "loan_disbursed", LAKH),
        ("2026-11-05", "prize_paid", 34_000_00),
        ("2026-11-01", "instalment_paid", 9_000_00),
        ("2026-10-30", "instalment_due", 10_000_00),
        ("2026-10-20", "discount_share", 1_000_00),
    ]
    assert items[1].bank_ref == "NEFT10" and items[4].bank_ref == "UTR0001"
    assert items[3].group_id == "g1" and items[3].period == 2
    assert "₹9,000.00" in items[5].description
    assert ledger.member_timeline("nobody") == []


def test_overdue_lists_unpaid_dues_past_their_date(
    ctx: ServiceContext, ledger: LedgerService
) -> None:
    raise_dues(ctx, "g1", SMALL, 2, 6_000_00, members(4), due=date(2026, 11, 10))
    pay(ledger, "g1", 2, "mem-01", 9_000_00, "UTR0001")
    pay(ledger, "g1", 2, "mem-02", 1_000_00, "UTR0002")
    assert ledger.overdue(date(2026, 11, 10)) == []
    late = ledger.overdue(date(2026, 11, 24))
    assert [(d.member_id, d.outstanding) for d in late] == [
        ("mem-02", 8_000_00),
        ("mem-03", 9_000_00),
        ("mem-04", 9_000_00),
    ]
    assert late[0].days_late(date(2026, 11, 24)) == 14
    collections = ledger.period_collections("g1", 2)
    assert collections.unpaid == ["mem-02", "mem-03", "mem-04"]
    assert collections.outstanding == 3 * 9_000_00 - 1_000_00
    with pytest.raises(NotFound, match="no dues for period 3"):
        ledger.period_collections("g1", 3)


def test_trial_balance_is_refreshed_after_a_change(
    ctx: ServiceContext, ledger: LedgerService
) -> None:
    empty = ledger.trial_balance()
    assert empty.rows == [] and empty.balanced
    ledger.add_capital(ADMIN, LAKH)
    tb = LedgerService(ctx).trial_balance()
    assert tb.balances() == {LENDING_CASH: LAKH, CAPITAL: -LAKH}
    assert (tb.total_debit, tb.total_credit, tb.txn_count) == (LAKH, LAKH, 1)
    assert ledger.trial_balance() is tb


def fresh_scan(ctx: ServiceContext) -> TrialBalance:
    return ledger_totals.scan(ctx.store, ctx.store.last_applied_lsn()).trial_balance()


def behind_the_wal(ctx: ServiceContext, txn_id: str) -> None:
    """A transaction written to the store directly, which only a full scan sees."""
    lines = [dr(COMPANY_CASH, 1_00), cr(CAPITAL, 1_00)]
    data = txn_write(Ids(), date=DRAW, kind="test.side", lines=lines).data
    ctx.store.commit([Write("set", LEDGER, txn_id, data)])


def test_totals_follow_the_wal_and_equal_a_fresh_scan(
    ctx: ServiceContext, ledger: LedgerService, period2: Settlement
) -> None:
    ledger.trial_balance()
    behind_the_wal(ctx, "txn-side")
    pay(ledger, "g1", 2, "mem-01", 9_000_00, "UTR0001")
    ledger.add_capital(ADMIN, LAKH)
    assert ledger.balance(COMPANY_CASH) == 2_000_00
    assert fresh_scan(ctx).balances()[COMPANY_CASH] == 2_001_00
    ctx.store.commit([Write("delete", LEDGER, "txn-side")])
    pay(ledger, "g1", 2, "mem-02", 5_000_00, "UTR0002")
    assert ledger.trial_balance() == fresh_scan(ctx)


def test_totals_follow_another_process_writing_to_the_same_folder(
    ctx: ServiceContext, ledger: LedgerService, period2: Settlement
) -> None:
    ledger.trial_balance()
    behind_the_wal(ctx, "txn-side")
    other = make_context(ctx.data_dir, clock=FixedClock(NOW))
    try:
        pay(LedgerService(other), "g1", 2, "mem-01", 9_000_00, "UTR0001")
    finally:
        close_context(other)
    assert ledger.pool("g1") == 7_000_00
    assert ledger.balance(COMPANY_CASH) == 2_000_00
    assert fresh_scan(ctx).balances()[COMPANY_CASH] == 2_001_00


def test_totals_rescan_when_the_wal_changes_a_ledger_transaction(
    ctx: ServiceContext, ledger: LedgerService, period2: Settlement
) -> None:
    ledger.trial_balance()
    behind_the_wal(ctx, "txn-side")
    txn_id = ledger.transactions(kind="dues.raised")[0].id
    post(ctx, [Write("update", LEDGER, txn_id, {"memo": "corrected"})])
    assert ledger.balance(COMPANY_CASH) == 1_00
    assert ledger.trial_balance() == fresh_scan(ctx)


def test_check_ledger_reports_in_rupees(
    ctx: ServiceContext, ledger: LedgerService, period2: Settlement
) -> None:
    pay(ledger, "g1", 2, "mem-01", 9_000_00, "UTR0001")
    ledger.add_capital(ADMIN, 25 * LAKH)
    ok, text = check_ledger(ctx)
    assert ok, text
    assert "₹25,00,000.00" in text and "The ledger balances." in text
    assert "Dues outstanding match" in text
    row = "receivable:*:g1 (4 members)     ₹40,000.00     ₹13,000.00"
    assert row in text and "mem-01" not in text
    assert "receivable:mem-01:g1" in check_ledger(ctx, detail=True)[1]


def test_check_ledger_fails_on_an_unbalanced_or_unreconciled_ledger(
    ctx: ServiceContext, ledger: LedgerService, period2: Settlement
) -> None:
    broken = {
        "date": "2026-11-20",
        "kind": "test.broken",
        "memo": "",
        "lines": [{"account": COMPANY_CASH, "debit": 5_00, "credit": 0}],
    }
    ctx.store.commit([Write("set", LEDGER, "txn-broken", broken)])
    ok, text = check_ledger(ctx)
    assert not ok and "does NOT balance" in text and "txn-broken" in text
    assert "(debits - credits = ₹5.00)" in text
    ctx.store.commit([Write("update", "dues", "g1-2-mem-01", {"paid": 1_00})])
    ok, text = check_ledger(ctx)
    assert "group g1: dues outstanding ₹35,999.00 but receivables ₹36,000.00" in text
