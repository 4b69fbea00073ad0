"""KPIs on a small dataset built through the services, every figure checked by hand.

Group A (4 members, G = ₹40,000, 5% commission) settles period 1 at a ₹6,000
discount won by m1: prize ₹34,000, commission ₹2,000, share ₹1,000, net instalment
₹9,000, due 1 Dec 2026. m1 and m2 pay ₹9,000, m3 pays ₹4,000, m4 nothing: collected
₹22,000, of which the ₹2,000 commission moves to the company, so the pool is ₹20,000.
m1 gives ₹25,000 security against 3 future instalments of ₹10,000 (₹30,000 owed).
Group B (m1, m5, m6) is forming; m6 is then removed. Active members: m1..m5 = 5.
Loans: L1 (m1) ₹50,000 outstanding, EMI due 1 Dec unpaid; L2 (m2) ₹1,50,000 current;
L3 (m5) ₹1,00,000, EMI due 1 Oct unpaid; L4 approved, not disbursed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from app.services.actors import SYSTEM, Actor
from app.services.auctions import AuctionService
from app.services.context import FixedClock, ServiceContext, close_context, make_context
from app.services.groups import GroupService
from app.services.kpis import DEFAULT_RATE_DEFINITION, Exposure, GroupHealth, KpiService
from app.services.ledger import LedgerService
from app.services.members import MemberService
from app.services.pipeline import ChangeSet
from app.services.recovery import RecoveryService
from app.services.store import Document, Query, Write
from app.services.store.sqlite import SqliteStore
from tests.builders import ADMIN, CHECKER, EMPLOYEE, sanction
from tests.lending import payout_service

R = 100  # paise per rupee
TODAY = date(2026, 11, 24)


class CountingStore(SqliteStore):
    """The real SQLite store, counting the reads made through it."""

    reads = 0

    def get(self, collection: str, doc_id: str) -> Document | None:
        self.reads += 1
        return super().get(collection, doc_id)

    def get_many(self, collection: str, ids: Iterable[str]) -> dict[str, Document]:
        self.reads += 1
        return super().get_many(collection, ids)

    def query(self, query: Query) -> list[Document]:
        self.reads += 1
        return super().query(query)

    def stream(self, query: Query) -> Iterator[Document]:
        self.reads += 1
        return super().stream(query)


@pytest.fixture
def ctx(data_dir: Path, clock: FixedClock) -> Iterator[ServiceContext]:
    c = make_context(data_dir, clock=clock, store=CountingStore(data_dir / "store.sqlite3"))
    yield c
    close_context(c)


def emi_row(number: int, due: str) -> dict[str, Any]:
    """An unpaid EMI of ₹10,000 (₹1,000 interest)."""
    return {
        "number": number,
        "due_date": due,
        "emi": 10_000 * R,
        "interest": 1_000 * R,
        "principal": 9_000 * R,
        "balance": 0,
        "paid_interest": 0,
        "paid_principal": 0,
        "paid_on": None,
    }


def loan(member: str, status: str, outstanding: int, unpaid_due: str | None) -> dict[str, Any]:
    """A loan in the loans/ schema with one EMI due in June 2027, and one earlier EMI
    left unpaid when ``unpaid_due`` is given."""
    dues = [unpaid_due] if unpaid_due else []
    rows = [emi_row(n, due) for n, due in enumerate([*dues, "2027-06-01"], start=1)]
    return {
        "member_id": member,
        "amount": outstanding,
        "status": status,
        "outstanding_principal": outstanding,
        "schedule": rows,
    }


@pytest.fixture
def dataset(ctx: ServiceContext, clock: FixedClock) -> dict[str, Any]:
    members = MemberService(ctx)
    names = ["Lakshmi Devi", "Arun Kumar", "Devika Rao", "Zoya Khan", "Imran Sheikh", "Ravi Rao"]
    m = [members.enroll(ADMIN, n, f"98765432{i:02d}").id for i, n in enumerate(names)]
    groups = GroupService(ctx)
    a = groups.create_group(
        EMPLOYEE,
        "Group A",
        gross_paise=40_000 * R,
        members=4,
        start_date=TODAY,
        bid_step_paise=100 * R,
        registration_no=sanction(),
    )
    groups.approve_terms(CHECKER, a.id)
    for mid in m[:4]:
        groups.enroll(EMPLOYEE, a.id, mid)
    groups.start(EMPLOYEE, a.id)
    b = groups.create_group(
        EMPLOYEE,
        "Group B",
        gross_paise=30_000 * R,
        members=3,
        start_date=date(2027, 1, 1),
        registration_no=sanction(),
    )
    groups.approve_terms(CHECKER, b.id)
    for mid in (m[0], m[4], m[5]):
        groups.enroll(EMPLOYEE, b.id, mid)

    room = AuctionService(ctx)
    auction = room.open_auction(EMPLOYEE, a.id, 1)
    room.bid(Actor(m[0], names[0], "member"), auction.id, m[0], 6_000 * R)
    clock.advance(seconds=601)
    closed = room.close_auction(EMPLOYEE, auction.id, present=[m[1], m[2]])
    assert closed.settlement.net_instalment_paise == 9_000 * R

    ledger = LedgerService(ctx)
    for i, (mid, amount) in enumerate([(m[0], 9_000), (m[1], 9_000), (m[2], 4_000)]):
        ledger.record_receipt(
            EMPLOYEE,
            group_id=a.id,
            period=1,
            member_id=mid,
            amount=amount * R,
            bank_ref=f"UTR{i:04d}",
            received_on=TODAY,
        )
    payout_service(ctx).record_security(
        EMPLOYEE, closed.payout_id, 25_000 * R, description="Fixed deposit receipt"
    )
    writes = [
        Write("update", "members", m[5], {"status": "removed"}),
        Write("set", "loans", "L1", loan(m[0], "disbursed", 50_000 * R, "2026-12-01")),
        Write("set", "loans", "L2", loan(m[1], "disbursed", 150_000 * R, None)),
        Write("set", "loans", "L3", loan(m[4], "disbursed", 100_000 * R, "2026-10-01")),
        Write("set", "loans", "L4", loan(m[3], "approved", 80_000 * R, None)),
    ]
    ctx.pipeline.commit(ADMIN, ChangeSet("test.seed", "test", "seed", writes))
    return {"a": a.id, "b": b.id, "m": m}


def test_kpis_match_the_hand_computed_figures(ctx: ServiceContext, dataset: dict[str, Any]) -> None:
    k = KpiService(ctx, ledger=LedgerService(ctx)).kpis(date(2027, 1, 5))
    assert k.total_pool == 20_000 * R
    assert k.active_members == 5
    assert (k.defaulting_members, k.default_rate_bps) == (2, 4000)  # m3, m4 of 5
    assert k.default_rate_definition == DEFAULT_RATE_DEFINITION
    assert (k.loans_count, k.loans_outstanding) == (3, 300_000 * R)
    assert (k.par30.at_risk, k.par30.bps, k.par30.loans_at_risk) == (150_000 * R, 5000, 2)
    assert (k.par90.at_risk, k.par90.bps) == (100_000 * R, 3333)

    a, b = k.groups
    assert (a.group_id, a.name, a.status, b.group_id) == (
        dataset["a"],
        "Group A",
        "running",
        dataset["b"],
    )
    assert (a.members, a.periods_done, a.progress_bps, a.pool) == (4, 1, 2500, 20_000 * R)
    assert (a.period, a.paid_count, a.expected, a.collected) == (1, 2, 36_000 * R, 22_000 * R)
    assert (a.defaulters, a.overdue) == (2, 14_000 * R)
    assert (a.commission_earned, a.commission_collected) == (2_000 * R, 2_000 * R)
    e = a.exposure
    assert (e.prized, e.owed, e.security_held, e.uncovered, e.short_of_cover) == (
        1,
        30_000 * R,
        25_000 * R,
        5_000 * R,
        1,
    )
    assert (b.status, b.period, b.pool, b.defaulters, b.progress_bps) == ("forming", None, 0, 0, 0)
    assert b.exposure.prized == 0


def test_default_rate_counts_only_more_than_30_days(
    ctx: ServiceContext, dataset: dict[str, Any]
) -> None:
    service = KpiService(ctx, ledger=LedgerService(ctx))
    on_day_30 = service.kpis(date(2026, 12, 31))  # due 1 Dec: 30 days late
    assert (on_day_30.defaulting_members, on_day_30.default_rate_bps) == (0, 0)
    assert on_day_30.groups[0].defaulters == 2  # overdue at all: may not bid
    assert on_day_30.par30.loans_at_risk == 1  # L3 only (91 days); L1 is 30 days
    assert on_day_30.par90.loans_at_risk == 1
    on_day_31 = service.kpis(date(2027, 1, 1))
    assert on_day_31.defaulting_members == 2
    before_due = service.kpis(date(2026, 12, 1))
    assert before_due.groups[0].defaulters == 0


def test_json_and_text_forms(ctx: ServiceContext, dataset: dict[str, Any]) -> None:
    k = KpiService(ctx, ledger=LedgerService(ctx)).kpis(date(2027, 1, 5))
    out = json.loads(json.dumps(k.to_json()))
    assert out["as_of"] == "2027-01-05"
    assert out["default_rate"] == {
        "bps": 4000,
        "defaulting_members": 2,
        "definition": DEFAULT_RATE_DEFINITION,
    }
    assert out["par30"] == {
        "bps": 5000,
        "at_risk": 15_000_000,
        "outstanding": 30_000_000,
        "loans_at_risk": 2,
    }
    assert out["groups"][0]["exposure"]["uncovered"] == 500_000
    text = "\n".join(k.lines())
    assert "Total pool: ₹20,000.00" in text
    assert "Default rate: 40.00% (2 of 5)" in text
    assert "PAR30 50.00%, PAR90 33.33%" in text


def test_reads_do_not_grow_with_members(ctx: ServiceContext, dataset: dict[str, Any]) -> None:
    store = ctx.store
    assert isinstance(store, CountingStore)
    service = KpiService(ctx, ledger=LedgerService(ctx))
    service.kpis(date(2027, 1, 5))
    store.reads = 0
    service.kpis(date(2027, 1, 5))
    few = store.reads
    more = [
        Write(
            "set",
            "tickets",
            f"x-{i}",
            {"group_id": "gx", "ticket_no": i, "member_id": f"mx{i}", "prized_period": None},
        )
        for i in range(50)
    ]
    ctx.pipeline.commit(ADMIN, ChangeSet("test.seed", "test", "more", more))
    service.kpis(date(2027, 1, 5))
    store.reads = 0
    service.kpis(date(2027, 1, 5))
    assert store.reads == few <= 12


# -- read models built on the figures ---------------------------------------------------


def health(status: str = "running", members: int = 20, defaulters: int = 0) -> GroupHealth:
    return GroupHealth(
        "g", "Kaveri", status, members, 3, 1500, 90_000 * R, 3, members - defaulters,
        200_000 * R, 180_000 * R, defaulters, defaulters * 10_000 * R, 0, 0, Exposure(),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("status", "defaulters", "verdict"),
    [
        ("running", 0, "Healthy"),
        ("running", 2, "Watch"),  # 10 % of 20
        ("running", 3, "At risk"),
        ("completed", 0, "Healthy"),
        ("forming", 0, "–"),
    ],
)
def test_a_groups_health_in_a_word(status: str, defaulters: int, verdict: str) -> None:
    assert health(status, defaulters=defaulters).verdict == verdict


def test_the_reason_gives_the_figures_behind_the_verdict() -> None:
    assert health("forming").reason == "Not running yet."
    reason = health(defaulters=3).reason
    assert reason.startswith("Period 3: 17/20 paid, ₹1,80,000.00 of ₹2,00,000.00 collected.")
    assert "3 defaulting (₹30,000.00 overdue). Pool ₹90,000.00" in reason


def test_group_health_is_the_kpis_per_group_part(
    ctx: ServiceContext, dataset: dict[str, Any]
) -> None:
    service = KpiService(ctx, ledger=LedgerService(ctx))
    day = date(2027, 1, 5)
    assert service.group_health(day) == service.kpis(day).groups


def test_the_group_overview_and_detail_carry_the_health(
    ctx: ServiceContext, dataset: dict[str, Any]
) -> None:
    kpis = KpiService(ctx, ledger=LedgerService(ctx))
    groups = GroupService(ctx, health=lambda: kpis.group_health(date(2027, 1, 5)))
    rows = {row.group.id: row for row in groups.overview()}
    a, b = rows[dataset["a"]], rows[dataset["b"]]
    assert (a.verdict, b.verdict) == ("At risk", "–")  # 2 of group A's 4 members owe
    assert "2 defaulting" in a.reason and b.reason == "Every ticket is taken: ready to start."
    assert a.next_auction == date(2026, 12, 24) and b.next_auction == date(2027, 1, 1)
    detail = groups.detail(dataset["a"])
    assert detail.group.name == "Group A" and detail.progress.prized_tickets == 1
    assert detail.health is not None and detail.health.defaulters == 2
    with pytest.raises(RuntimeError, match="without a health source"):
        GroupService(ctx).overview()


def test_the_dashboard_series(ctx: ServiceContext, dataset: dict[str, Any]) -> None:
    recovery = RecoveryService(ctx, ledger=LedgerService(ctx))
    recovery.sweep(SYSTEM, date(2027, 1, 5))
    d = KpiService(ctx, ledger=LedgerService(ctx), recovery=recovery).dashboard(date(2027, 1, 5))
    assert d.pool == [(TODAY, 20_000 * R)]  # the receipts in, the commission out
    assert [(m.month, m.expected, m.collected) for m in d.months] == [
        ("2026-12", 36_000 * R, 22_000 * R)
    ]
    assert list(d.buckets) == ["standard", "SMA-0", "SMA-1", "SMA-2", "NPA"]
    assert sum(d.buckets.values()) == len(recovery.cases(open_only=True)) > 0
