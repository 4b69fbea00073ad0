"""Default recovery: the sweep opens cases once, moves follow the rules, the board."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from app.kernel.errors import Conflict, NotFound, PermissionDenied, ValidationError
from app.services.actors import SYSTEM, Actor
from app.services.auctions import rules as auction_rules
from app.services.auctions.rules import Agreement
from app.services.context import FixedClock, ServiceContext
from app.services.ledger import LedgerService
from app.services.ledger.postings import dues_writes
from app.services.members import MemberService
from app.services.pipeline import ChangeSet
from app.services.recovery import RecoveryService
from app.services.recovery.service import OPEN_KEYS, Card
from app.services.store import Write
from tests.builders import ADMIN, ADMIN2, EMPLOYEE, interleave

NOW = datetime(2026, 12, 20, 6, 0, tzinfo=UTC)  # 20 Dec 2026, 11:30 in India
SMALL = Agreement(gross_paise=40_000_00, members=4, commission_bps=500, bid_step_paise=100_00)
NET = 9_000_00  # G/N 10,000 less share (6,000 - 2,000) / 4 = 1,000
GROUP = "grp-1"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def rec(ctx: ServiceContext) -> RecoveryService:
    return RecoveryService(ctx, ledger=LedgerService(ctx))


@pytest.fixture
def people(ctx: ServiceContext) -> list[str]:
    svc = MemberService(ctx)
    names = ["Lakshmi Devi", "Arun Kumar", "Devika Rao", "Zoya Khan"]
    return [svc.enroll(ADMIN, n, f"98765432{i:02d}").id for i, n in enumerate(names)]


def commit(ctx: ServiceContext, writes: list[Write]) -> None:
    ctx.pipeline.commit(ADMIN, ChangeSet("test.seed", "test", "seed", writes))


def raise_dues(ctx: ServiceContext, period: int, due: date, members: list[str]) -> None:
    settlement = auction_rules.settle(SMALL, period, 6_000_00)
    commit(ctx, dues_writes(GROUP, period, settlement, members, due, ctx.ids))


def pay(ctx: ServiceContext, period: int, member: str, amount: int, ref: str) -> None:
    LedgerService(ctx).record_receipt(
        EMPLOYEE,
        group_id=GROUP,
        period=period,
        member_id=member,
        amount=amount,
        bank_ref=ref,
        received_on=ctx.clock.today(),
    )


def emi_row(number: int, due: str, paid: bool) -> dict[str, Any]:
    return {
        "number": number,
        "due_date": due,
        "emi": 6_100_00,
        "interest": 100_00,
        "principal": 6_000_00,
        "balance": 6_000_00 * (2 - number),
        "paid_interest": 100_00 if paid else 0,
        "paid_principal": 6_000_00 if paid else 0,
        "paid_on": due if paid else None,
    }


def put_loan(ctx: ServiceContext, loan_id: str, member: str, second_paid: bool = False) -> None:
    """A disbursed two-EMI loan in the loans/ schema: EMI 1 paid, EMI 2 due 10 Dec."""
    rows = [emi_row(1, "2026-11-10", True), emi_row(2, "2026-12-10", second_paid)]
    data = {
        "member_id": member,
        "amount": 12_000_00,
        "tenure_months": 2,
        "rate_bps": 0,
        "status": "disbursed",
        "schedule": rows,
        "outstanding_principal": 0 if second_paid else 6_000_00,
    }
    commit(ctx, [Write("set", "loans", loan_id, data)])


def advance_to(ctx: ServiceContext, day: date) -> None:
    clock = ctx.clock
    assert isinstance(clock, FixedClock)
    clock.set(datetime(day.year, day.month, day.day, 6, 0, tzinfo=UTC))


def actions(ctx: ServiceContext) -> list[str]:
    return [r.action for r in ctx.pipeline.wal.read()]


@pytest.fixture
def defaults(ctx: ServiceContext, people: list[str]) -> dict[str, str]:
    """Period 1 due 5 Dec: people 0, 1 pay; 2 pays part; 3 pays nothing. Loan of 0 late."""
    raise_dues(ctx, 1, date(2026, 12, 5), people)
    pay(ctx, 1, people[0], NET, "UTR0001")
    pay(ctx, 1, people[1], NET, "UTR0002")
    pay(ctx, 1, people[2], 4_000_00, "UTR0003")
    put_loan(ctx, "loan-1", people[0])
    return {"partial": people[2], "none": people[3], "borrower": people[0]}


# -- the sweep --------------------------------------------------------------------------


def test_sweep_opens_one_case_per_default_once(
    ctx: ServiceContext, rec: RecoveryService, defaults: dict[str, str]
) -> None:
    before = len(actions(ctx))
    result = rec.sweep(SYSTEM, date(2026, 12, 20))
    assert len(result.opened) == 3 and result.open_cases == 3
    assert actions(ctx)[before:] == ["recovery.sweep"]
    cases = {(c.member_id, c.source): c for c in rec.cases()}
    partial = cases[(defaults["partial"], "dues")]
    assert (partial.overdue, partial.days_late, partial.bucket) == (5_000_00, 15, "SMA-0")
    assert partial.items == (f"{GROUP}-1-{defaults['partial']}",)
    assert (partial.stage, partial.ref, partial.as_of) == ("missed", GROUP, "2026-12-20")
    assert cases[(defaults["none"], "dues")].overdue == NET
    loan = cases[(defaults["borrower"], "loan")]
    assert (loan.ref, loan.overdue, loan.days_late, loan.items) == (
        "loan-1",
        6_100_00,
        10,
        ("loan-1#2",),
    )
    assert partial.history[0]["by"] == SYSTEM.id
    assert partial.history[0]["to"] == "missed"

    again = rec.sweep(SYSTEM, date(2026, 12, 20))
    assert not again.changed and again.open_cases == 3
    assert actions(ctx)[before:] == ["recovery.sweep"]
    assert len(rec.cases()) == 3

    next_day = rec.sweep(SYSTEM, date(2026, 12, 21))
    assert (next_day.opened, len(next_day.updated)) == ([], 3)
    assert rec.get(partial.id).days_late == 16
    assert len(rec.cases()) == 3


def test_a_second_missed_instalment_joins_the_open_case(
    ctx: ServiceContext, rec: RecoveryService, people: list[str], defaults: dict[str, str]
) -> None:
    rec.sweep(SYSTEM, date(2026, 12, 20))
    advance_to(ctx, date(2027, 1, 10))
    raise_dues(ctx, 2, date(2027, 1, 5), people)
    result = rec.sweep(SYSTEM)
    opened_for = {rec.get(c).member_id for c in result.opened}
    assert opened_for == {people[0], people[1]}  # their first default in the group
    case = rec.cases(member_id=defaults["none"])[0]
    assert case.overdue == 2 * NET
    assert (case.days_late, case.bucket) == (36, "SMA-1")
    assert len(case.items) == 2
    assert {c.member_id for c in rec.cases(open_only=True)} == {
        defaults["partial"],
        defaults["none"],
        defaults["borrower"],
        people[1],
    }


def test_sweep_resolves_cleared_cases_and_reopens_later_defaults(
    ctx: ServiceContext, rec: RecoveryService, people: list[str], defaults: dict[str, str]
) -> None:
    rec.sweep(SYSTEM, date(2026, 12, 20))
    case = rec.cases(member_id=defaults["partial"])[0]
    pay(ctx, 1, defaults["partial"], 5_000_00, "UTR0004")
    result = rec.sweep(SYSTEM, date(2026, 12, 20))
    assert result.resolved == [case.id]
    closed = rec.get(case.id)
    assert (closed.stage, closed.overdue, closed.closed_at is not None) == ("resolved", 0, True)
    assert closed.history[-1]["by"] == SYSTEM.id
    assert "Dues cleared" in closed.history[-1]["note"]
    assert ctx.store.get(OPEN_KEYS, f"dues-{GROUP}-{defaults['partial']}") is None
    advance_to(ctx, date(2027, 1, 10))
    raise_dues(ctx, 2, date(2027, 1, 5), people)
    rec.sweep(SYSTEM)
    again = rec.cases(member_id=defaults["partial"])
    assert [c.stage for c in again] == ["resolved", "missed"]
    assert again[1].items == (f"{GROUP}-2-{defaults['partial']}",)


def test_members_may_not_sweep(rec: RecoveryService, people: list[str]) -> None:
    with pytest.raises(PermissionDenied):
        rec.sweep(Actor(people[0], "Lakshmi Devi", "member"), date(2026, 12, 20))


# -- moves ----------------------------------------------------------------------------


def open_case(rec: RecoveryService, member: str) -> str:
    rec.sweep(SYSTEM, date(2026, 12, 20))
    return rec.cases(member_id=member)[0].id


def test_forward_moves_are_recorded_and_notice_starts_the_clocks(
    ctx: ServiceContext, rec: RecoveryService, defaults: dict[str, str]
) -> None:
    case_id = open_case(rec, defaults["none"])
    rec.move(EMPLOYEE, case_id, "contacted", "Called; promised to pay Friday")
    case = rec.move(ADMIN, case_id, "notice", "No payment after the call")
    assert case.notice_date == "2026-12-20"
    assert case.clocks == {
        "notice_send_by": "2027-01-03",
        "reinstate_by": "2026-12-27",
        "removal_from": "2026-12-28",
    }
    case = rec.record_notice_sent(EMPLOYEE, case_id, date(2026, 12, 20))
    assert case.clocks["reinstate_by"] == "2026-12-27"
    rec.move(EMPLOYEE, case_id, "follow_up", "Visited the member")
    case = rec.move(ADMIN, case_id, "legal", "Referred to counsel")
    moves = [(h["from"], h["to"], h["by"], h["note"]) for h in case.history if h["kind"] == "move"]
    assert moves == [
        ("missed", "contacted", EMPLOYEE.id, "Called; promised to pay Friday"),
        ("contacted", "notice", ADMIN.id, "No payment after the call"),
        ("notice", "follow_up", EMPLOYEE.id, "Visited the member"),
        ("follow_up", "legal", ADMIN.id, "Referred to counsel"),
    ]
    assert all(h["at"].startswith("2026-12-20T06:00") for h in case.history)
    records = [r for r in ctx.pipeline.wal.read() if r.entity["id"] == case_id]
    assert [r.action for r in records] == ["recovery.move"] * 2 + ["recovery.notice_sent"] + [
        "recovery.move"
    ] * 2
    assert records[0].reason == "Called; promised to pay Friday"
    assert records[0].actor == EMPLOYEE.to_json()


@pytest.mark.parametrize(
    ("path", "target", "error", "message"),
    [
        ([], "notice", ValidationError, "one stage at a time"),
        (["contacted"], "missed", ValidationError, "never move back"),
        ([], "missed", ValidationError, "already there"),
        ([], "written_off", ValidationError, "only from legal"),
        ([], "resolved", ValidationError, "dues are not cleared"),
        ([], "archived", ValidationError, "Unknown recovery stage"),
    ],
)
def test_illegal_moves_are_refused(
    rec: RecoveryService,
    defaults: dict[str, str],
    path: list[str],
    target: str,
    error: type[Exception],
    message: str,
) -> None:
    case_id = open_case(rec, defaults["none"])
    for step in path:
        rec.move(EMPLOYEE, case_id, step, "step")
    stage = rec.get(case_id).stage
    with pytest.raises(error, match=message):
        rec.move(EMPLOYEE, case_id, target, "why not")
    assert rec.get(case_id).stage == stage


def test_moves_need_a_note_and_staff(rec: RecoveryService, defaults: dict[str, str]) -> None:
    case_id = open_case(rec, defaults["none"])
    with pytest.raises(ValidationError, match="reason is required"):
        rec.move(EMPLOYEE, case_id, "contacted", "  ")
    with pytest.raises(PermissionDenied):
        rec.move(Actor(defaults["none"], "Zoya Khan", "member"), case_id, "contacted", "me")
    with pytest.raises(PermissionDenied):
        rec.move(SYSTEM, case_id, "contacted", "the platform cannot escalate")
    with pytest.raises(NotFound):
        rec.move(EMPLOYEE, "rc-none", "contacted", "x")
    assert rec.get(case_id).stage == "missed"


def test_resolve_once_dues_are_cleared(
    ctx: ServiceContext, rec: RecoveryService, defaults: dict[str, str]
) -> None:
    case_id = open_case(rec, defaults["none"])
    rec.move(EMPLOYEE, case_id, "contacted", "Called")
    pay(ctx, 1, defaults["none"], NET, "UTR0009")
    with pytest.raises(ValidationError, match="dues are cleared"):
        rec.move(EMPLOYEE, case_id, "notice", "Escalate anyway")
    case = rec.resolve(EMPLOYEE, case_id, "Paid in full at the branch")
    assert (case.stage, case.is_open) == ("resolved", False)
    with pytest.raises(ValidationError, match="closed"):
        rec.move(EMPLOYEE, case_id, "contacted", "again")
    assert rec.sweep(SYSTEM, date(2026, 12, 20)).opened == []


def test_loan_case_resolves_when_the_emi_is_paid(
    ctx: ServiceContext, rec: RecoveryService, defaults: dict[str, str]
) -> None:
    case_id = open_case(rec, defaults["borrower"])
    with pytest.raises(ValidationError, match="not cleared"):
        rec.resolve(EMPLOYEE, case_id, "Paid?")
    put_loan(ctx, "loan-1", defaults["borrower"], second_paid=True)
    assert rec.resolve(ADMIN, case_id, "EMI received").stage == "resolved"


def to_legal(rec: RecoveryService, case_id: str) -> None:
    for stage in ("contacted", "notice", "follow_up", "legal"):
        rec.move(EMPLOYEE, case_id, stage, f"to {stage}")


def test_write_off_needs_an_admin_request_and_another_persons_approval(
    ctx: ServiceContext, rec: RecoveryService, defaults: dict[str, str]
) -> None:
    case_id = open_case(rec, defaults["none"])
    with pytest.raises(ValidationError, match="only from legal"):
        rec.request_write_off(ADMIN, case_id, "Unreachable")
    to_legal(rec, case_id)
    with pytest.raises(PermissionDenied, match="needs an admin's request"):
        rec.approve_write_off(ADMIN2, case_id, "No request yet")
    with pytest.raises(PermissionDenied):
        rec.request_write_off(EMPLOYEE, case_id, "Unreachable")
    with pytest.raises(ValidationError, match="reason is required"):
        rec.request_write_off(ADMIN, case_id, "")
    case = rec.request_write_off(ADMIN, case_id, "Member emigrated; no assets")
    assert case.stage == "legal"
    assert case.write_off_request is not None
    assert case.write_off_request["requested_by"] == ADMIN.id
    with pytest.raises(Conflict, match="already requested"):
        rec.request_write_off(ADMIN2, case_id, "Again")
    with pytest.raises(PermissionDenied, match="cannot approve"):
        rec.approve_write_off(ADMIN, case_id, "Approving my own")
    assert rec.get(case_id).stage == "legal"
    case = rec.approve_write_off(EMPLOYEE, case_id, "Checked the file; agreed")
    assert (case.stage, case.is_open) == ("written_off", False)
    kinds = [(h["kind"], h["by"]) for h in case.history[-2:]]
    assert kinds == [("write_off_requested", ADMIN.id), ("move", EMPLOYEE.id)]
    mine = [r for r in ctx.pipeline.wal.read() if r.entity["id"] == case_id]
    assert [r.action for r in mine[-2:]] == ["recovery.write_off_request", "recovery.write_off"]
    assert rec.sweep(SYSTEM, date(2026, 12, 22)).opened == []
    assert [c.stage for c in rec.cases(member_id=defaults["none"])] == ["written_off"]


def test_dropping_on_written_off_asks_first_then_approves(
    rec: RecoveryService, defaults: dict[str, str]
) -> None:
    """The board's drop: on *written off*, a legal case with no request gets the
    admin's request; once requested, the same drop by someone else approves it."""
    case_id = open_case(rec, defaults["none"])
    to_legal(rec, case_id)
    card = next(c for c in rec.board().columns["legal"] if c.case_id == case_id)
    assert card.requests_write_off("written_off") and not card.requests_write_off("resolved")
    assert not card.awaiting_write_off
    requested = rec.drop(ADMIN, case_id, "written_off", "Member emigrated")
    assert requested.stage == "legal" and requested.write_off_request is not None
    card = next(c for c in rec.board().columns["legal"] if c.case_id == case_id)
    assert card.awaiting_write_off and not card.requests_write_off("written_off")
    assert rec.drop(EMPLOYEE, case_id, "written_off", "Agreed").stage == "written_off"
    closed = next(c for c in rec.board().columns["written_off"] if c.case_id == case_id)
    assert not closed.awaiting_write_off


def test_dropping_elsewhere_is_a_move(rec: RecoveryService, defaults: dict[str, str]) -> None:
    case_id = open_case(rec, defaults["none"])
    assert rec.drop(EMPLOYEE, case_id, "contacted", "Called").stage == "contacted"
    with pytest.raises(ValidationError, match="only from legal"):
        rec.drop(ADMIN, case_id, "written_off", "Too early")


# -- the board ------------------------------------------------------------------------


def test_a_loan_card_names_the_loan_by_its_number(
    ctx: ServiceContext, rec: RecoveryService, defaults: dict[str, str]
) -> None:
    rec.sweep(SYSTEM, date(2026, 12, 20))

    def loan_card() -> Card:
        columns = rec.board(date(2026, 12, 22)).columns.values()
        return next(c for cards in columns for c in cards if c.source == "loan")

    assert (loan_card().ref, loan_card().subject) == ("loan-1", "loan-1")
    commit(ctx, [Write("update", "loans", "loan-1", {"number": 7})])
    assert (loan_card().ref, loan_card().subject) == ("loan-1", "L-0007")


def test_board_columns_and_cards(
    ctx: ServiceContext, rec: RecoveryService, defaults: dict[str, str]
) -> None:
    rec.sweep(SYSTEM, date(2026, 12, 20))
    none_case = rec.cases(member_id=defaults["none"])[0].id
    rec.move(EMPLOYEE, none_case, "contacted", "Called")
    rec.move(EMPLOYEE, none_case, "notice", "Notice")
    partial_case = rec.cases(member_id=defaults["partial"])[0].id
    pay(ctx, 1, defaults["partial"], 5_000_00, "UTR0005")
    rec.resolve(EMPLOYEE, partial_case, "Paid")
    board = rec.board(date(2026, 12, 22))
    assert list(board.columns) == [
        "missed",
        "contacted",
        "notice",
        "follow_up",
        "legal",
        "resolved",
        "written_off",
    ]
    assert board.counts() == {
        "missed": 1,
        "contacted": 0,
        "notice": 1,
        "follow_up": 0,
        "legal": 0,
        "resolved": 1,
        "written_off": 0,
    }
    card = board.columns["notice"][0]
    assert (card.member_name, card.overdue, card.days_late, card.bucket) == (
        "Zoya Khan",
        NET,
        15,
        "SMA-0",
    )
    assert card.next_due == ("Reinstatement if paid by", "2026-12-27")
    assert board.columns["missed"][0].member_name == "Lakshmi Devi"
    assert board.columns["missed"][0].next_due is None
    late = rec.board(date(2027, 1, 2)).columns["notice"][0]
    assert late.next_due == ("Send the written notice by", "2027-01-03")


# -- concurrency -------------------------------------------------------------------------


def test_payments_committed_during_the_sweep_make_it_read_again(
    ctx: ServiceContext,
    rec: RecoveryService,
    defaults: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def pay_up() -> None:
        pay(ctx, 1, defaults["none"], NET, "UTR0010")
        put_loan(ctx, "loan-1", defaults["borrower"], second_paid=True)

    runs = interleave(monkeypatch, ctx, pay_up)
    result = rec.sweep(SYSTEM, date(2026, 12, 20))
    assert len(runs) == 2
    assert len(result.opened) == 1 and result.open_cases == 1
    assert [(c.member_id, c.source) for c in rec.cases()] == [(defaults["partial"], "dues")]


def test_a_part_payment_during_the_sweep_is_not_overwritten_by_stale_figures(
    ctx: ServiceContext,
    rec: RecoveryService,
    defaults: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case_id = open_case(rec, defaults["none"])
    runs = interleave(monkeypatch, ctx, lambda: pay(ctx, 1, defaults["none"], 2_000_00, "UTR0011"))
    rec.sweep(SYSTEM, date(2026, 12, 21))
    assert len(runs) == 2
    assert rec.get(case_id).overdue == NET - 2_000_00
