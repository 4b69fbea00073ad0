"""The auction room: sessions under the group's OS lock, bids, countdown, lots and closing.

Real SQLite store, real WAL, real flock locks and real subprocesses; only the clock is
hand-set (FixedClock).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from app.kernel.errors import Conflict, LockHeld, NotFound, PermissionDenied, ValidationError
from app.services.actors import SYSTEM, Actor
from app.services.auctions import AuctionService, rules
from app.services.auctions.model import lock_name
from app.services.context import FixedClock, ServiceContext, close_context, make_context
from app.services.groups import GroupService
from app.services.ledger import LedgerService
from app.services.pipeline import ChangeSet
from app.services.store import Query, Write
from tests.builders import ADMIN, CHECKER, EMPLOYEE, sanction

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 24, 5, 30, tzinfo=UTC)  # 11:00 in Kolkata
RUPEE = 100


def member(member_id: str) -> Actor:
    return Actor(member_id, f"Member {member_id}", "member")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def room(ctx: ServiceContext) -> AuctionService:
    return AuctionService(ctx)


def add_members(ctx: ServiceContext, count: int) -> list[str]:
    ids = [f"m{i:02d}" for i in range(1, count + 1)]
    writes = [Write("set", "members", m, {"name": m, "status": "active"}) for m in ids]
    ctx.pipeline.commit(SYSTEM, ChangeSet("member.seed", "member", "seed", writes))
    return ids


def running_group(
    ctx: ServiceContext,
    members: int = 5,
    gross: int = 50_000 * RUPEE,
    start: date | None = None,
    **terms: object,
) -> str:
    """A full, running group whose period 1 falls today (or ``start``)."""
    groups = GroupService(ctx)
    ids = add_members(ctx, members)
    foreman = terms.pop("foreman_member_id", None)
    group = groups.create_group(
        EMPLOYEE,
        "Test Chit",
        gross_paise=gross,
        members=members,
        start_date=start or ctx.clock.today(),
        foreman_member_id=foreman,  # type: ignore[arg-type]
        registration_no=sanction(),
        **terms,  # type: ignore[arg-type]
    )
    groups.approve_terms(CHECKER, group.id)
    for m in ids:
        if m != foreman:
            groups.enroll(EMPLOYEE, group.id, m)
    groups.start(EMPLOYEE, group.id)
    return group.id


def settle(room: AuctionService, clock: FixedClock, gid: str, period: int, bidder: str) -> None:
    """Run one period: open, one floor bid by ``bidder``, wait out the clock, close."""
    auction = room.open_auction(EMPLOYEE, gid, period)
    floor = rules.discount_floor(GroupService(room.ctx).get_group(gid).agreement)
    room.bid(member(bidder), auction.id, bidder, floor)
    clock.advance(seconds=601)
    room.close_auction(EMPLOYEE, auction.id, present=["m01", "m02"])


def wal_bytes(ctx: ServiceContext) -> bytes:
    return (ctx.data_dir / "wal" / "wal.log").read_bytes()


def last_record(ctx: ServiceContext, action: str):  # type: ignore[no-untyped-def]
    return [r for r in ctx.pipeline.wal.read() if r.action == action][-1]


def sealed_seed(ctx: ServiceContext, auction_id: str) -> str:
    doc = ctx.store.get("auctions", auction_id)
    assert doc is not None
    return ctx.pii.unseal(doc.data["seed_sealed"], context=f"auction-seed:{auction_id}")


# -- the worked example ----------------------------------------------------------------


def test_worked_example_period_five(
    ctx: ServiceContext, room: AuctionService, clock: FixedClock
) -> None:
    """G = ₹5,00,000, N = 50, 5% commission; period 5 won at 30% (DOMAIN.md)."""
    start = date(2026, 7, 24)
    gid = running_group(ctx, members=50, gross=500_000 * RUPEE, start=start)
    for period, bidder in zip(range(1, 5), ("m41", "m42", "m43", "m44"), strict=True):
        settle(room, clock, gid, period, bidder)
    auction = room.open_auction(EMPLOYEE, gid, 5)
    room.bid(member("m10"), auction.id, "m10", 100_000 * RUPEE)
    room.bid(EMPLOYEE, auction.id, "m20", 140_000 * RUPEE, reason="by phone at 11:02")
    room.bid(member("m10"), auction.id, "m10", 150_000 * RUPEE)
    clock.advance(seconds=600)
    closed = room.close_auction(EMPLOYEE, auction.id, present=["m01"])

    s = closed.settlement
    assert closed.winner_member_id == "m10"
    assert closed.decided_by == "highest bid"
    assert s.discount_paise == 150_000 * RUPEE
    assert s.prize_paise == 350_000 * RUPEE
    assert s.commission_paise == 25_000 * RUPEE
    assert s.share_paise == 2_500 * RUPEE
    assert s.net_instalment_paise == 7_500 * RUPEE
    assert 50 * s.net_instalment_paise == s.prize_paise + s.commission_paise

    payout = ctx.store.get("payouts", closed.payout_id)
    assert payout is not None
    assert payout.data["amount"] == 350_000 * RUPEE
    assert payout.data["status"] == "pending"
    assert payout.data["member_id"] == "m10"
    assert payout.data["security_required"] == rules.security_required(
        GroupService(ctx).get_group(gid).agreement, 45, False
    )
    assert payout.data["security_required"] == 600_000 * RUPEE  # 45 x ₹10,000 + 1/3
    assert payout.data["deadline"] == "2026-12-01"  # 7 days after the draw

    dues = ctx.store.query(Query("dues").where("group_id", "==", gid).where("period", "==", 5))
    assert len(dues) == 50
    assert {d.data["net"] for d in dues} == {7_500 * RUPEE}
    assert {d.data["due_date"] for d in dues} == {"2026-12-01"}

    ticket = GroupService(ctx).ticket_of(gid, "m10")
    assert ticket is not None and ticket.prized_period == 5
    progress = GroupService(ctx).progress(gid)
    assert (progress.periods_done, progress.progress_bps, progress.prized_tickets) == (5, 1000, 5)
    assert progress.next_auction_date == date(2026, 12, 24)

    minutes = room.minutes(auction.id)
    for key in ("started_at", "ended_at", "place", "period", "present", "winner_member_id"):
        assert minutes[key], key
    assert minutes["discount"] == 150_000 * RUPEE
    assert minutes["present"] == ["m01", "m10", "m20"]
    assert [s["role"] for s in minutes["signatures"]] == [
        "foreman",
        "winner",
        "subscriber",
        "subscriber",
    ]
    assert all(s["signed_at"] is None for s in minutes["signatures"])
    assert minutes["status"] == "pending signatures"
    assert room.session_holder(gid) is None


def test_close_is_one_wal_record_with_every_write(
    ctx: ServiceContext, room: AuctionService, clock: FixedClock
) -> None:
    gid = running_group(ctx)
    settle(room, clock, gid, 1, "m03")
    record = last_record(ctx, "auction.close")
    collections = [w["collection"] for w in record.change["writes"]]
    for name in ("auctions", "minutes", "payouts", "tickets", "groups", "ledger_periods"):
        assert collections.count(name) == 1, name
    assert collections.count("dues") == 5
    assert collections.count("ledger_txns") == 2  # dues raised + discount distributed
    assert record.change["event"]["winner_member_id"] == "m03"
    assert ctx.store.count(Query("dues").where("group_id", "==", gid)) == 5
    pay_all_dues(ctx, gid, except_member="nobody")
    ledger = LedgerService(ctx)
    assert ledger.trial_balance().balanced
    payout = ctx.store.get("payouts", f"{gid}-1")
    assert payout is not None
    assert ledger.pool(gid) == payout.data["amount"]  # collections = prize + commission


# -- refusals --------------------------------------------------------------------------


def test_bid_refusals(ctx: ServiceContext, room: AuctionService, clock: FixedClock) -> None:
    gid = running_group(ctx)  # ₹50,000 / 5: floor ₹2,500, cap ₹15,000, step ₹500
    settle(room, clock, gid, 1, "m05")
    clock.set(NOW + timedelta(days=31))
    pay_all_dues(ctx, gid, except_member="m04")
    aid = room.open_auction(EMPLOYEE, gid, 2).id

    def refused(who: str, discount: int, error: type[Exception], text: str) -> None:
        with pytest.raises(error, match=text):
            room.bid(member(who), aid, who, discount)

    refused("m05", 3_000 * RUPEE, PermissionDenied, "already won a prize")
    refused("m04", 3_000 * RUPEE, PermissionDenied, "overdue instalment")
    refused("m01", 2_000 * RUPEE, ValidationError, "below the floor of ₹2,500.00")
    refused("m01", 15_500 * RUPEE, ValidationError, "above this group's cap of ₹15,000.00")
    refused("m01", 2_700 * RUPEE, ValidationError, "not on a ₹500.00 step")
    room.bid(member("m01"), aid, "m01", 5_000 * RUPEE)
    refused("m02", 5_000 * RUPEE, ValidationError, "does not beat the current best")
    refused("m02", 4_500 * RUPEE, ValidationError, "does not beat the current best")
    with pytest.raises(PermissionDenied, match="only for themselves"):
        room.bid(member("m01"), aid, "m02", 6_000 * RUPEE)
    with pytest.raises(ValidationError, match="needs a reason"):
        room.bid(EMPLOYEE, aid, "m02", 6_000 * RUPEE)
    with pytest.raises(PermissionDenied, match="holds no ticket"):
        room.bid(member("x99"), aid, "x99", 6_000 * RUPEE)
    clock.advance(seconds=600)
    refused("m02", 6_000 * RUPEE, ValidationError, "closed before this bid arrived")
    room.close_auction(EMPLOYEE, aid, present=["m02"])
    refused("m02", 6_000 * RUPEE, Conflict, "is closed")
    assert len(room.bids(aid)) == 1


def pay_all_dues(ctx: ServiceContext, gid: str, except_member: str) -> None:
    """Receive every member's instalments of the group but one member's."""
    ledger = LedgerService(ctx)
    for due in ctx.store.query(Query("dues").where("group_id", "==", gid)):
        d = due.data
        if d["member_id"] != except_member and d["status"] == "due":
            ledger.record_receipt(
                EMPLOYEE,
                group_id=gid,
                period=d["period"],
                member_id=d["member_id"],
                amount=d["net"] - d["paid"],
                bank_ref=f"UTR-{d['period']}-{d['member_id']}".upper(),
                received_on=ctx.clock.today(),
            )


def test_opening_refusals(ctx: ServiceContext, room: AuctionService) -> None:
    gid = running_group(ctx, start=NOW.date() + timedelta(days=3))
    with pytest.raises(Conflict, match="scheduled for 27 Nov 2026"):
        room.open_auction(EMPLOYEE, gid, 1)
    with pytest.raises(Conflict, match=r"next period .* is 1"):
        room.open_auction(EMPLOYEE, gid, 2)
    with pytest.raises(PermissionDenied):
        room.open_auction(member("m01"), gid, 1)
    with pytest.raises(ValidationError, match="lasts 60 s"):
        room.open_auction(EMPLOYEE, gid, 1, duration_s=5)
    assert room.session_holder(gid) is None  # every refusal let the lock go


def test_close_before_the_end(ctx: ServiceContext, room: AuctionService) -> None:
    gid = running_group(ctx)
    aid = room.open_auction(EMPLOYEE, gid, 1).id
    room.bid(member("m01"), aid, "m01", 3_000 * RUPEE)
    with pytest.raises(Conflict, match="runs until"):
        room.close_auction(EMPLOYEE, aid, present=["m02"])
    with pytest.raises(PermissionDenied, match="before its end time"):
        room.close_auction(EMPLOYEE, aid, present=["m02"], force_reason="hall closing")
    with pytest.raises(ValidationError, match="at least 2 subscribers present"):
        room.close_auction(ADMIN, aid, force_reason="hall closing")
    assert room.session_holder(gid) is not None  # a failed close keeps the session
    closed = room.close_auction(ADMIN, aid, present=["m02"], force_reason="hall closing")
    assert closed.winner_member_id == "m01"
    assert last_record(ctx, "auction.close").reason == "hall closing"
    with pytest.raises(Conflict, match="is closed"):
        room.close_auction(ADMIN, aid, present=["m02"], force_reason="again")


# -- countdown -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "extended", "new_left"),
    [(31, False, 31), (30, False, 30), (29, True, 30), (1, True, 30)],
)
def test_countdown_extension(
    ctx: ServiceContext,
    room: AuctionService,
    clock: FixedClock,
    left: int,
    extended: bool,
    new_left: int,
) -> None:
    """A bid with 30 s or less left resets the countdown to 30 s; the end never moves back."""
    gid = running_group(ctx)
    auction = room.open_auction(EMPLOYEE, gid, 1, duration_s=600)
    clock.set(auction.ends_at - timedelta(seconds=left))
    result = room.bid(member("m01"), auction.id, "m01", 3_000 * RUPEE)
    assert result.extended is extended
    assert result.ends_at == clock.now() + timedelta(seconds=new_left)
    assert room.get_auction(auction.id).ends_at == result.ends_at


def test_countdown_keeps_extending_then_closes(
    ctx: ServiceContext, room: AuctionService, clock: FixedClock
) -> None:
    gid = running_group(ctx)
    auction = room.open_auction(EMPLOYEE, gid, 1, duration_s=60)
    ends = auction.ends_at
    for k, who in enumerate(("m01", "m02", "m03")):
        clock.set(ends - timedelta(seconds=10))
        ends = room.bid(member(who), auction.id, who, (3_000 + 500 * k) * RUPEE).ends_at
    assert ends == auction.ends_at + timedelta(seconds=60)
    clock.set(ends)
    with pytest.raises(ValidationError, match="closed"):
        room.bid(member("m04"), auction.id, "m04", 5_000 * RUPEE)
    events = [r.change["event"] for r in ctx.pipeline.wal.read() if r.action == "auction.bid"]
    assert [e["extended"] for e in events] == [True, True, True]


# -- lots ------------------------------------------------------------------------------


def test_tie_at_the_cap_is_a_verifiable_lot(
    ctx: ServiceContext, room: AuctionService, clock: FixedClock
) -> None:
    gid = running_group(ctx)
    aid = room.open_auction(EMPLOYEE, gid, 1).id
    cap = 15_000 * RUPEE
    room.bid(member("m01"), aid, "m01", 10_000 * RUPEE)
    room.bid(member("m02"), aid, "m02", cap)
    room.bid(member("m03"), aid, "m03", cap)  # joins at the cap
    room.bid(member("m01"), aid, "m01", cap)
    with pytest.raises(Conflict, match="already bid the cap"):
        room.bid(member("m02"), aid, "m02", cap)
    with pytest.raises(ValidationError, match="above this group's cap"):
        room.bid(member("m04"), aid, "m04", cap + 500 * RUPEE)
    seed = sealed_seed(ctx, aid)
    clock.advance(seconds=600)
    closed = room.close_auction(EMPLOYEE, aid)

    assert closed.decided_by == "lot among tied bids"
    assert closed.settlement.discount_paise == cap
    auction = room.get_auction(aid)
    assert auction.seed == seed
    minutes = room.minutes(aid)
    lot = minutes["lot"]
    tied = sorted({b.alias for b in room.bids(aid) if b.discount == cap})
    assert lot["candidates"] == tied and len(tied) == 3
    assert rules.verify_draw(auction.seed or "", minutes["seed_hash"], tied, lot["winner"])
    assert auction.winner_alias == lot["winner"]
    assert closed.winner_member_id in {"m01", "m02", "m03"}
    check = room.verify_lot(aid)
    assert check.used_lot and check.seed_matches and check.ok
    assert check.recomputed_winner == lot["winner"]
    others = [c for c in tied if c != lot["winner"]]
    assert not rules.verify_draw(auction.seed or "", minutes["seed_hash"], tied, others[0])


def test_no_bids_is_a_lot_among_eligible_at_the_floor(
    ctx: ServiceContext, room: AuctionService, clock: FixedClock
) -> None:
    gid = running_group(ctx)
    settle(room, clock, gid, 1, "m05")
    clock.set(NOW + timedelta(days=31))
    pay_all_dues(ctx, gid, except_member="m04")
    aid = room.open_auction(EMPLOYEE, gid, 2).id
    eligible = {m: room.bidder_status(aid, m) for m in ("m01", "m02", "m03", "m04", "m05")}
    assert [m for m, s in eligible.items() if s.may_bid] == ["m01", "m02", "m03"]
    clock.advance(seconds=600)
    with pytest.raises(ValidationError, match="at least 2 subscribers present"):
        room.close_auction(EMPLOYEE, aid, present=["m01"])
    closed = room.close_auction(EMPLOYEE, aid, present=["m01", "m02"])

    assert closed.decided_by == "lot (no bids)"
    assert closed.winner_member_id in {"m01", "m02", "m03"}
    assert closed.settlement.discount_paise == rules.discount_floor(
        GroupService(ctx).get_group(gid).agreement
    )
    lot = room.minutes(aid)["lot"]
    assert sorted(lot["candidates"]) == sorted(
        eligible[m].alias or "" for m in ("m01", "m02", "m03")
    )
    check = room.verify_lot(aid)
    assert check.ok and check.used_lot


def test_single_highest_bid_needs_no_lot(
    ctx: ServiceContext, room: AuctionService, clock: FixedClock
) -> None:
    gid = running_group(ctx)
    settle(room, clock, gid, 1, "m02")
    aid = f"{gid}-1"
    check = room.verify_lot(aid)
    assert not check.used_lot and check.seed_matches and check.ok
    assert room.minutes(aid)["lot"] is None


def test_verify_lot_waits_for_the_close(ctx: ServiceContext, room: AuctionService) -> None:
    gid = running_group(ctx)
    aid = room.open_auction(EMPLOYEE, gid, 1).id
    with pytest.raises(Conflict, match="revealed only when the auction closes"):
        room.verify_lot(aid)


# -- secrecy ---------------------------------------------------------------------------


def test_seed_is_not_in_the_wal_or_store_before_close(
    ctx: ServiceContext, room: AuctionService, clock: FixedClock
) -> None:
    gid = running_group(ctx)
    auction = room.open_auction(EMPLOYEE, gid, 1)
    room.bid(member("m01"), auction.id, "m01", 3_000 * RUPEE)
    seed = sealed_seed(ctx, auction.id)
    assert rules.commit_seed(bytes.fromhex(seed)) == auction.seed_hash
    files = [p for p in ctx.data_dir.rglob("*") if p.is_file()]
    assert any(p.name.startswith("store.sqlite3") for p in files)
    for blob in (p.read_bytes() for p in files):  # WAL, store (and its journals), locks
        assert seed.encode() not in blob
        assert seed.upper().encode() not in blob
        assert bytes.fromhex(seed) not in blob
    assert auction.seed_hash.encode() in wal_bytes(ctx)  # the commitment is published
    clock.advance(seconds=600)
    room.close_auction(EMPLOYEE, auction.id, present=["m02"])
    assert seed.encode() in wal_bytes(ctx)


def test_aliases_stable_within_an_auction_and_differ_between(
    ctx: ServiceContext, room: AuctionService, clock: FixedClock
) -> None:
    gid = running_group(ctx)
    aid = room.open_auction(EMPLOYEE, gid, 1).id
    first = room.bid(member("m01"), aid, "m01", 3_000 * RUPEE).bid.alias
    room.bid(member("m02"), aid, "m02", 3_500 * RUPEE)
    again = room.bid(member("m01"), aid, "m01", 4_000 * RUPEE).bid.alias
    assert first == again == room.bidder_status(aid, "m01").alias
    aliases = {room.bidder_status(aid, m).alias for m in ("m01", "m02", "m03", "m04", "m05")}
    assert len(aliases) == 5
    for doc in ctx.store.query(Query("bids").where("auction_id", "==", aid)):
        assert "member_id" not in doc.data
        assert not any(m in json.dumps(doc.data) for m in ("m01", "m02"))
    for record in ctx.pipeline.wal.read():
        if record.action == "auction.bid":
            event = json.dumps(record.change["event"])
            assert "m01" not in event and "m02" not in event
            for write in record.change["writes"]:
                assert "m01" not in json.dumps(write.get("data"))
    clock.advance(seconds=600)
    room.close_auction(EMPLOYEE, aid)
    clock.set(NOW + timedelta(days=31))
    pay_all_dues(ctx, gid, except_member="nobody")
    aid2 = room.open_auction(EMPLOYEE, gid, 2).id
    assert room.bidder_status(aid2, "m02").alias != room.bidder_status(aid, "m02").alias
    assert room.bidder_status(aid, "m01").alias == first  # still the same after close


# -- the session lock ------------------------------------------------------------------


def test_second_open_is_refused_naming_the_holder(
    ctx: ServiceContext, room: AuctionService, data_dir: Path, clock: FixedClock
) -> None:
    gid = running_group(ctx)
    aid = room.open_auction(EMPLOYEE, gid, 1).id
    with pytest.raises(LockHeld) as err:
        AuctionService(ctx).open_auction(ADMIN, gid, 1)
    text = err.value.message
    assert "Ravi Employee (u-emp)" in text and f"pid {os.getpid()}" in text and "since" in text
    assert f"auction {aid}" in text
    other = make_context(data_dir / "other", clock=clock)
    try:
        from app.kernel.locks import LockManager

        other.locks = LockManager(data_dir / "locks")  # same locks folder, own manager
        with pytest.raises(LockHeld, match="Ravi Employee"):
            AuctionService(other).open_auction(ADMIN, gid, 1)
    finally:
        close_context(other)
    clock.advance(seconds=600)
    room.close_auction(EMPLOYEE, aid, present=["m01", "m02"])
    assert room.session_holder(gid) is None


CHILD = """
import sys, time
from datetime import datetime
from app.services.actors import Actor
from app.services.auctions import AuctionService
from app.services.context import FixedClock, make_context
from pathlib import Path
ctx = make_context(Path(sys.argv[1]), clock=FixedClock(datetime.fromisoformat(sys.argv[2])))
kid = Actor("u-kid", "Kiran Child", "employee")
auction = AuctionService(ctx).open_auction(kid, sys.argv[3], 1)
print(auction.seed_hash, flush=True)
time.sleep(120)
"""


def start_child(data_dir: Path, gid: str) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(data_dir), NOW.isoformat(), gid],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
        close_fds=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    assert line, "the child did not open the auction"
    return proc, line


def test_session_held_by_another_process_then_freed_by_its_crash(
    ctx: ServiceContext, room: AuctionService, data_dir: Path, clock: FixedClock
) -> None:
    gid = running_group(ctx)
    proc, seed_hash = start_child(data_dir, gid)
    try:
        with pytest.raises(LockHeld) as err:
            room.open_auction(EMPLOYEE, gid, 1)
        assert f"pid {proc.pid}" in err.value.message
        assert "Kiran Child (u-kid)" in err.value.message
        aid = f"{gid}-1"
        room.bid(member("m01"), aid, "m01", 3_000 * RUPEE)  # the other process runs the room
        with pytest.raises(LockHeld):
            room.close_auction(EMPLOYEE, aid, present=["m02"])
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert proc.stdout is not None
        proc.stdout.close()
    with pytest.raises(Conflict, match="session is not running"):
        room.bid(member("m02"), aid, "m02", 3_500 * RUPEE)
    resumed = room.open_auction(EMPLOYEE, gid, 1)
    assert resumed.seed_hash == seed_hash
    assert resumed.bids_count == 1
    assert last_record(ctx, "auction.resume").actor["id"] == EMPLOYEE.id
    room.bid(member("m02"), aid, "m02", 3_500 * RUPEE)
    clock.advance(seconds=600)
    closed = room.close_auction(EMPLOYEE, aid)
    assert closed.winner_member_id == "m02"
    assert room.verify_lot(aid).seed_matches


def test_close_takes_over_a_crashed_session(
    ctx: ServiceContext, room: AuctionService, clock: FixedClock
) -> None:
    gid = running_group(ctx)
    aid = room.open_auction(EMPLOYEE, gid, 1).id
    room.bid(member("m01"), aid, "m01", 3_000 * RUPEE)
    ctx.locks.lock(lock_name(gid)).release()  # as if the session's program had stopped
    clock.advance(seconds=600)
    closed = room.close_auction(EMPLOYEE, aid, present=["m02"])
    assert closed.winner_member_id == "m01"
    assert room.session_holder(gid) is None


# -- period 1 to the foreman -----------------------------------------------------------


def test_foreman_takes_period_one_without_auction(
    ctx: ServiceContext, room: AuctionService, clock: FixedClock
) -> None:
    gid = running_group(ctx, foreman_member_id="m01", foreman_takes_first=True)
    with pytest.raises(Conflict, match="foreman's ticket without an auction"):
        room.open_auction(EMPLOYEE, gid, 1)
    closed = room.settle_foreman_period(EMPLOYEE, gid, reason="agreement clause 4")
    assert closed.winner_member_id == "m01"
    assert closed.settlement.prize_paise == 50_000 * RUPEE
    assert closed.settlement.commission_paise == 0
    payout = ctx.store.get("payouts", closed.payout_id)
    assert payout is not None and payout.data["amount"] == 50_000 * RUPEE
    dues = ctx.store.query(Query("dues").where("group_id", "==", gid))
    assert {d.data["net"] for d in dues} == {10_000 * RUPEE} and len(dues) == 5
    with pytest.raises(Conflict, match="next period"):
        room.settle_foreman_period(EMPLOYEE, gid)
    clock.set(NOW + timedelta(days=31))
    pay_all_dues(ctx, gid, except_member="nobody")
    aid = room.open_auction(EMPLOYEE, gid, 2).id
    assert not room.bidder_status(aid, "m01").may_bid


def test_last_period_completes_the_group(
    ctx: ServiceContext, room: AuctionService, clock: FixedClock
) -> None:
    gid = running_group(ctx, members=2, gross=20_000 * RUPEE)
    settle(room, clock, gid, 1, "m01")
    clock.set(NOW + timedelta(days=31))
    pay_all_dues(ctx, gid, except_member="nobody")
    aid = room.open_auction(EMPLOYEE, gid, 2).id
    clock.advance(seconds=600)
    closed = room.close_auction(EMPLOYEE, aid, present=["m01", "m02"])
    assert closed.winner_member_id == "m02"  # the only one left
    assert closed.decided_by == "sole eligible subscriber (no bids)"
    assert room.minutes(aid)["lot"] is None
    group = GroupService(ctx).get_group(gid)
    assert group.status == "completed" and group.next_period is None


# -- the room (one read model for the desktop and the members' page) -------------------


def test_the_room_follows_its_group_from_first_open_to_close(
    ctx: ServiceContext, room: AuctionService, clock: FixedClock
) -> None:
    gid = running_group(ctx)
    empty = room.room(gid)
    assert empty.auction is None and not empty.is_open and empty.bids == []
    assert [m for m, _ in empty.subscribers] == ["m01", "m02", "m03", "m04", "m05"]
    assert empty.subscribers[0] == ("m01", "m01")  # the seeded members are named by id
    agreement = GroupService(ctx).get_group(gid).agreement
    assert (empty.terms.floor, empty.terms.max_bid) == (
        rules.discount_floor(agreement),
        rules.max_bid(agreement),
    )
    auction = room.open_auction(EMPLOYEE, gid, 1)
    room.bid(member("m02"), auction.id, "m02", empty.terms.floor)
    live = room.room(gid)
    assert live.is_open and live.auction is not None and live.auction.id == auction.id
    assert [b.discount for b in live.bids] == [empty.terms.floor]
    assert live.holder is not None and EMPLOYEE.name in live.holder
    assert live.minutes is None and live.lot is None
    clock.advance(seconds=601)
    room.close_auction(EMPLOYEE, auction.id, present=["m01", "m03"])
    closed = room.room(gid)
    assert not closed.is_open and closed.holder is None
    assert closed.minutes is not None and closed.minutes["discount"] == empty.terms.floor
    assert closed.lot is not None and closed.lot.ok and not closed.lot.used_lot


def test_the_room_of_a_named_auction_must_be_of_that_group(
    ctx: ServiceContext, room: AuctionService, clock: FixedClock
) -> None:
    gid = running_group(ctx)
    settle(room, clock, gid, 1, "m02")
    assert room.room(gid, f"{gid}-1").auction is not None
    with pytest.raises(NotFound, match="has no auction"):
        room.room(gid, "another-group-1")
