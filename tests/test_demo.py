"""Demo data: a small history made through the real services, checked end to end.

Real SQLite store, real WAL, real files; the clock is the demo's own FixedClock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from app.kernel.errors import Conflict, ValidationError
from app.kernel.wal import verify_file
from app.services.auctions import AuctionService
from app.services.context import FixedClock, ServiceContext, close_context, make_context
from app.services.demo import generate, seed_if_empty
from app.services.demo.model import DEMO_STAFF
from app.services.demo.summary import DemoSummary
from app.services.groups import GroupService
from app.services.kyc import KycService
from app.services.ledger import LedgerService, check_ledger
from app.services.members import MemberService
from app.services.recovery import STAGES
from app.services.recovery.service import CASES
from app.services.staff import StaffService
from app.services.store import Query
from tests.lending import payout_service

END = date(2026, 11, 24)
NOW = datetime(2026, 11, 24, 6, 30, tzinfo=UTC)
GROUPS, MEMBERS, MONTHS = 2, 6, 4


def make(ctx: ServiceContext, seed: int) -> DemoSummary:
    return generate(ctx, groups=GROUPS, members=MEMBERS, months=MONTHS, seed=seed, end=END)


def _context(path: Path) -> ServiceContext:
    path.mkdir(parents=True, exist_ok=True)
    return make_context(path, clock=FixedClock(NOW))


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServiceContext, DemoSummary]]:
    ctx = _context(tmp_path_factory.mktemp("demo") / "data")
    summary = make(ctx, 11)
    yield ctx, summary
    close_context(ctx)


def ids(ctx: ServiceContext, collection: str) -> list[str]:
    return sorted(d.id for d in ctx.store.stream(Query(collection)))


def statuses(ctx: ServiceContext, collection: str, path: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for doc in ctx.store.stream(Query(collection)):
        found[doc.data[path]] = found.get(doc.data[path], 0) + 1
    return found


def test_the_ledger_balances_and_matches_the_dues(made: tuple[ServiceContext, DemoSummary]) -> None:
    ctx, summary = made
    ok, text = check_ledger(ctx)
    assert ok, text
    assert summary.ledger_balanced
    tb = LedgerService(ctx).trial_balance()
    assert tb.balanced and tb.txn_count == summary.counts["activity"]["ledger_txns"] > 0


def test_the_wal_verifies_and_the_store_has_applied_all_of_it(
    made: tuple[ServiceContext, DemoSummary],
) -> None:
    ctx, summary = made
    report = verify_file(ctx.pipeline.wal.path)
    assert report.ok
    assert report.entries == summary.wal_entries == ctx.store.last_applied_lsn()
    assert report.head_hash == summary.wal_head


def test_every_kyc_state_is_present_and_documents_verify(
    made: tuple[ServiceContext, DemoSummary],
) -> None:
    ctx, summary = made
    kyc = KycService(ctx)
    counts = kyc.counts()
    assert all(counts[state] > 0 for state in ("none", "pending", "approved", "rejected"))
    assert counts == summary.counts["kyc"]
    submitted = ids(ctx, "kyc")
    assert len(submitted) == sum(counts.values()) - counts["none"]
    checks = [c for member_id in submitted for c in kyc.verify_documents(member_id)]
    assert checks and all(c.status == "match" for c in checks)
    for doc in ctx.store.stream(Query("kyc").where("status", "in", ["approved", "rejected"])):
        assert doc.data["decided_by"] != doc.data["submitted_by"]


def test_every_recovery_stage_is_present(made: tuple[ServiceContext, DemoSummary]) -> None:
    ctx, summary = made
    stages = statuses(ctx, CASES, "stage")
    assert set(stages) == {s.value for s in STAGES}
    assert summary.total("recovery") == sum(stages.values())
    for doc in ctx.store.stream(Query(CASES).where("stage", "==", "written_off")):
        steps = [h for h in doc.data["history"] if h.get("to") == "written_off"]
        assert len({h["by"] for h in steps}) == 2, steps


def test_loans_are_in_several_statuses_some_overdue(
    made: tuple[ServiceContext, DemoSummary],
) -> None:
    ctx, _ = made
    loans = statuses(ctx, "loans", "status")
    for status in ("submitted", "scored", "recommended", "approved", "rejected", "disbursed"):
        assert loans.get(status, 0) > 0, loans
    disbursed = ctx.store.query(Query("loans").where("status", "==", "disbursed"))
    assert any(d.data["dpd"] > 0 for d in disbursed)
    for doc in ctx.store.stream(Query("loans").where("status", "in", ["approved", "disbursed"])):
        assert doc.data["approved_by"]["id"] != doc.data["recommended_by"]["id"]


def test_auctions_receipts_and_payouts(made: tuple[ServiceContext, DemoSummary]) -> None:
    ctx, summary = made
    activity = summary.counts["activity"]
    assert activity["auctions"] == GROUPS * MONTHS
    assert activity["bids"] >= activity["auctions"]
    assert len(ids(ctx, "minutes")) == activity["auctions"]
    assert activity["receipts"] > 0
    receipts = ctx.store.query(Query("receipts").limit(5))
    assert receipts and all(r.id == r.data["bank_ref"] for r in receipts)
    released = ctx.store.query(Query("payouts").where("status", "==", "released"))
    assert released
    for payout in released:
        d = payout.data
        assert d["deduct_future"] or d["security_held"] >= d["security_required"]
    dues = statuses(ctx, "dues", "status")
    assert dues.get("paid", 0) > 0 and dues.get("due", 0) > 0


def test_the_demo_staff_and_members_can_sign_in(made: tuple[ServiceContext, DemoSummary]) -> None:
    ctx, summary = made
    staff = StaffService(ctx)
    for login in DEMO_STAFF:
        session = staff.sign_in(login.username, login.password)
        assert session.account.role == login.role
    assert summary.staff == DEMO_STAFF
    members = MemberService(ctx)
    assert summary.member_logins
    for person in summary.member_logins:
        member = members.find_by_phone(person.phone)
        assert member is not None and member.name == person.name
    text = summary.text()
    for login in DEMO_STAFF:
        assert login.username in text and login.password in text
    assert summary.member_logins[0].phone in text


def test_the_same_seed_gives_the_same_ids(
    made: tuple[ServiceContext, DemoSummary], tmp_path: Path
) -> None:
    first, summary = made
    again = _context(tmp_path / "again")
    try:
        repeat = make(again, 11)
        assert repeat.counts == summary.counts
        assert repeat.wal_entries == summary.wal_entries
        for collection in ("members", "groups", "tickets", "loans", CASES, "ledger_txns"):
            assert ids(again, collection) == ids(first, collection), collection
    finally:
        close_context(again)


def test_another_seed_gives_other_people(
    made: tuple[ServiceContext, DemoSummary], tmp_path: Path
) -> None:
    first, _ = made
    other = _context(tmp_path / "other")
    try:
        make(other, 12)
        assert set(ids(other, "members")).isdisjoint(ids(first, "members"))
        assert set(ids(other, "member_phones")).isdisjoint(ids(first, "member_phones"))
    finally:
        close_context(other)


def test_demo_data_goes_only_into_an_empty_data_directory(
    made: tuple[ServiceContext, DemoSummary],
) -> None:
    ctx, _ = made
    head = ctx.pipeline.wal.head()
    with pytest.raises(Conflict, match="already has"):
        make(ctx, 11)
    assert seed_if_empty(ctx) is None
    assert ctx.pipeline.wal.head() == head


def test_sizes_out_of_range_are_refused(tmp_path: Path) -> None:
    ctx = _context(tmp_path / "data")
    try:
        with pytest.raises(ValidationError) as caught:
            generate(ctx, groups=0, members=3, months=0, seed=1, end=END)
        message = caught.value.message
        assert "groups" in message and "members per group" in message and "months" in message
        assert ctx.pipeline.wal.head()[0] == 0
    finally:
        close_context(ctx)


def test_seed_if_empty_seeds_once(tmp_path: Path) -> None:
    ctx = _context(tmp_path / "data")
    try:
        summary = seed_if_empty(ctx)
        assert summary is not None and summary.ledger_balanced
        assert (summary.groups, summary.members_per_group, summary.months) == (3, 20, 6)
        assert summary.end == NOW.date()
        head = ctx.pipeline.wal.head()
        assert seed_if_empty(ctx) is None
        assert ctx.pipeline.wal.head() == head
    finally:
        close_context(ctx)


def test_prizes_are_paid_on_time_and_a_late_one_says_why(
    made: tuple[ServiceContext, DemoSummary],
) -> None:
    ctx, summary = made
    released = ctx.store.query(Query("payouts").where("status", "==", "released"))
    late = [p.data for p in released if p.data["released_at"][:10] > p.data["deadline"]]
    assert len(released) >= GROUPS * (MONTHS - 1)
    assert len(late) <= len(released) // 4, late
    assert all(p["days_late"] > 0 and p["late_reason"] for p in late)
    assert summary.counts["payouts"]["on_time"] == len(released) - len(late)
    advances = ctx.store.query(Query("advances"))
    assert advances and all(a.data["approved_by"] for a in advances if a.data["left"])
    assert summary.notes.get("advances", 0) == len(
        [a for a in advances if a.data["status"] in ("advanced", "repaid")]
    )
    payouts = payout_service(ctx)
    for row in payouts.board().rows:  # still unpaid after the deadline: a refusal says why
        if row.clock.days_left < 0:
            refused = [d for d in payouts.detail(row.id).decisions if not d["granted"]]
            assert refused and "company cash" in row.next_step, row


def test_bids_come_in_at_their_own_moments_of_the_auction(
    made: tuple[ServiceContext, DemoSummary],
) -> None:
    ctx, _ = made
    for auction in ctx.store.query(Query("auctions").where("kind", "==", "auction")):
        bids = ctx.store.query(Query("bids").where("auction_id", "==", auction.id))
        times = sorted(datetime.fromisoformat(b.data["at"]) for b in bids)
        opened = datetime.fromisoformat(auction.data["opened_at"])
        assert len(set(times)) == len(times), auction.id
        assert all(opened < t < datetime.fromisoformat(auction.data["ends_at"]) for t in times)


def test_an_auction_can_be_opened_live_on_the_last_day(tmp_path: Path) -> None:
    ctx = _context(tmp_path / "live")
    try:
        summary = generate(ctx, groups=1, members=5, months=2, seed=3, end=END)
        groups = GroupService(ctx)
        [group] = groups.list_groups()
        assert group.next_auction_date is not None and group.next_auction_date <= END
        staff = StaffService(ctx).sign_in("employee", DEMO_STAFF[1].password).account.actor
        room = AuctionService(ctx)
        auction = room.open_auction(staff, group.id, group.periods_done + 1)
        bidder = next(m for m in summary.member_logins if "today's auction" in m.note)
        member = MemberService(ctx).find_by_phone(bidder.phone)
        assert member is not None and room.bidder_status(auction.id, member.id).may_bid
    finally:
        close_context(ctx)
