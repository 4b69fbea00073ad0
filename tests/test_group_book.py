"""A group's page read model: its book (tickets, period table, defaulters, payouts), its
health with the reason, enrolment candidates and the ticket list; over real services."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from app.services.actors import Actor
from app.services.context import FixedClock, ServiceContext
from app.services.pipeline import ChangeSet
from app.services.registry import Services
from app.services.store import Write
from tests.builders import ADMIN, CHECKER, EMPLOYEE, sanction, services_of

R = 100
TODAY = date(2026, 11, 24)
NAMES = ["Lakshmi Devi", "Arun Kumar", "Devika Rao", "Zoya Khan", "Imran Sheikh", "Ravi Rao"]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 24, 5, 0, tzinfo=UTC))


@pytest.fixture
def services(ctx: ServiceContext) -> Iterator[Services]:
    s = services_of(ctx)
    yield s
    s.close()


@pytest.fixture
def history(services: Services, ctx: ServiceContext, clock: FixedClock) -> dict[str, Any]:
    """Group A (4 members) through period 1: won at ₹6,000; two paid in full, one in
    part, one not at all; then 4 days past the due date. Group B forming, 2 of 3 taken."""
    s = services
    m = [s.members.enroll(ADMIN, n, f"98765432{i:02d}").id for i, n in enumerate(NAMES)]
    a = s.groups.create_group(
        EMPLOYEE,
        "Group A",
        gross_paise=40_000 * R,
        members=4,
        start_date=TODAY,
        bid_step_paise=100 * R,
        registration_no="TN/CHIT/2026/0001",
    ).id
    s.groups.approve_terms(CHECKER, a)
    for mid in m[:4]:
        s.groups.enroll(EMPLOYEE, a, mid)
    s.groups.start(EMPLOYEE, a)
    auction = s.auctions.open_auction(EMPLOYEE, a, 1)
    s.auctions.bid(Actor(m[0], NAMES[0], "member"), auction.id, m[0], 6_000 * R)
    clock.advance(seconds=601)
    s.auctions.close_auction(EMPLOYEE, auction.id, present=[m[1], m[2]])
    for i, (mid, amount) in enumerate([(m[0], 9_000), (m[1], 9_000), (m[2], 4_000)]):
        s.ledger.record_receipt(
            EMPLOYEE, group_id=a, period=1, member_id=mid, amount=amount * R,
            bank_ref=f"UTR{i:04d}", received_on=TODAY,
        )  # fmt: skip
    b = s.groups.create_group(
        EMPLOYEE, "Group B", gross_paise=30_000 * R, members=3, start_date=date(2027, 1, 1),
        registration_no=sanction(),
    ).id  # fmt: skip
    s.groups.approve_terms(CHECKER, b)
    s.groups.enroll(EMPLOYEE, b, m[0])
    s.groups.enroll(EMPLOYEE, b, m[4])
    removed = Write("update", "members", m[5], {"status": "removed"})
    ctx.pipeline.commit(ADMIN, ChangeSet("test.seed", "member", m[5], [removed]))
    clock.set(datetime(2026, 12, 5, 5, 0, tzinfo=UTC))  # the period's dues fell due on 1 Dec
    return {"a": a, "b": b, "m": m}


def test_the_period_table_has_every_period_and_the_settled_ones_outcome(
    services: Services, history: dict[str, Any]
) -> None:
    book = services.groups.detail(history["a"]).book
    assert book is not None
    assert [p.period for p in book.periods] == [1, 2, 3, 4]
    assert [p.auction_date for p in book.periods] == [
        date(2026, 11, 24), date(2026, 12, 24), date(2027, 1, 24), date(2027, 2, 24)
    ]  # fmt: skip
    first = book.periods[0]
    assert first.settled and first.winner == "Lakshmi Devi" and first.decided_by == "highest bid"
    assert (first.discount, first.prize) == (6_000 * R, 34_000 * R)
    assert (first.dividend, first.net_instalment) == (1_000 * R, 9_000 * R)  # (6,000 − 2,000) ÷ 4
    assert (first.expected, first.collected, first.paid_count) == (36_000 * R, 22_000 * R, 2)
    assert first.short == 14_000 * R and first.due_date == "2026-12-01"
    assert first.drawn_at is not None and first.drawn_at.startswith("2026-11-24T05:10")
    later = book.periods[1]
    assert not later.settled and later.winner == "" and later.discount is None and later.short == 0
    assert book.settled == [first]


def test_defaulters_are_who_owes_past_the_due_date_as_the_health_counts(
    services: Services, history: dict[str, Any]
) -> None:
    detail = services.groups.detail(history["a"])
    book, m = detail.book, history["m"]
    assert book is not None and detail.health is not None
    assert [(d.name, d.ticket_no, d.periods, d.overdue) for d in book.defaulters] == [
        ("Zoya Khan", 4, [1], 9_000 * R),
        ("Devika Rao", 3, [1], 5_000 * R),
    ]
    assert all(d.oldest_due == "2026-12-01" and d.days_late == 4 for d in book.defaulters)
    assert len(book.defaulters) == detail.health.defaulters == 2
    assert book.overdue == detail.health.overdue == 14_000 * R
    assert detail.verdict == "At risk"
    assert "2 defaulting (₹14,000.00 overdue)" in detail.reason
    assert "Period 1: 2/4 paid, ₹22,000.00 of ₹36,000.00 collected." in detail.reason
    tickets = {t.member_id: t for t in book.tickets}
    assert [t.ticket_no for t in book.tickets] == [1, 2, 3, 4]
    assert (tickets[m[2]].outstanding, tickets[m[2]].overdue) == (5_000 * R, 5_000 * R)
    assert (tickets[m[0]].prized_period, tickets[m[0]].security_held) == (1, 0)
    assert tickets[m[1]].prized_period is None and tickets[m[1]].security_held is None
    assert tickets[m[0]].phone_masked == "+91 XXXXXX3200"


def test_payouts_and_the_pool(services: Services, history: dict[str, Any]) -> None:
    book = services.groups.detail(history["a"]).book
    assert book is not None
    [line] = book.payout_lines
    assert (line.winner, line.payout.period, line.payout.amount) == ("Lakshmi Devi", 1, 34_000 * R)
    assert line.payout.status == "pending"
    assert book.pool == services.ledger.pool(history["a"]) == 20_000 * R  # less the commission


def test_a_forming_groups_page_says_where_it_stands(
    services: Services, history: dict[str, Any]
) -> None:
    detail = services.groups.detail(history["b"])
    assert detail.verdict == "–" and detail.reason == "Enrolling: 2 of 3 tickets taken."
    assert detail.book is not None and detail.book.defaulters == [] and detail.book.settled == []
    assert detail.group.registration_no is not None
    overview = {row.group.id: row for row in services.groups.overview()}
    assert (overview[history["b"]].verdict, overview[history["b"]].reason) == (
        detail.verdict,
        detail.reason,
    )


def test_candidates_say_who_can_take_the_next_ticket(
    services: Services, history: dict[str, Any]
) -> None:
    m = history["m"]
    found = {c.member_id: c for c in services.groups.candidates(history["b"], "")}
    assert found[m[0]].why_not == "Holds ticket 1 already." and not found[m[0]].can_enrol
    assert found[m[5]].why_not == "Removed from the register."
    assert found[m[1]].can_enrol and found[m[1]].why_not == "" and found[m[1]].ticket_no is None
    assert [c.name for c in services.groups.candidates(history["b"], "3203")] == ["Zoya Khan"]
    running = services.groups.candidates(history["a"], "Imran")
    assert [(c.can_enrol, c.why_not) for c in running] == [
        (False, "Running: 1 of 4 periods settled.")
    ]


def test_the_ticket_list_exports_as_csv_with_mobiles_masked(
    services: Services, history: dict[str, Any]
) -> None:
    text = services.groups.ticket_list_csv(history["a"])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [f"Ticket list of Group A ({history['a']})"]
    assert rows[1] == ["Registration (sanction) number", "TN/CHIT/2026/0001"]
    assert rows[2] == ["Ticket", "Member id", "Name", "Mobile", "KYC", "Enrolled"]
    assert [r[0] for r in rows[3:]] == ["1", "2", "3", "4"]
    assert rows[3][2:] == ["Lakshmi Devi", "+91 XXXXXX3200", "none", "24 Nov 2026, 10:30 IST"]
    assert "9876543200" not in text


def test_nobody_defaults_before_the_due_date(
    services: Services, history: dict[str, Any], clock: FixedClock
) -> None:
    clock.set(datetime(2026, 12, 1, 5, 0, tzinfo=UTC))  # the due date itself: not late yet
    detail = services.groups.detail(history["a"])
    assert detail.book is not None and detail.book.defaulters == []
    assert sum(t.outstanding for t in detail.book.tickets) == 14_000 * R
    assert all(t.overdue == 0 for t in detail.book.tickets)
    assert detail.verdict == "Healthy"
