"""Leases in Firestore, on the emulator: one holder across machines, expiry when the
holder stops, fencing of a holder that lost its lease, and the services that use them
(auction sessions, the daily jobs, loan-scoring claims). The lease passing between two
real servers when one is killed: test_firestore_offices.py."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.kernel.errors import Conflict, LockHeld
from app.kernel.leases import LeaseLost
from app.services.actors import SYSTEM, Actor
from app.services.auctions.model import lock_name
from app.services.context import FixedClock, close_context, make_context
from app.services.housekeeping import Housekeeping
from app.services.loans.queue import LoanQueue
from app.services.pipeline import ChangeSet
from app.services.store import Write
from app.services.store.firestore import FirestoreStore
from app.services.store.firestore_leases import FirestoreLease, FirestoreLeases
from tests.builders import ADMIN, EMPLOYEE, services_of
from tests.offices import give_key, new_key
from tests.test_auctions import running_group

pytestmark = pytest.mark.firestore

TTL = 1.5
NOW = datetime(2026, 11, 24, 5, 30, tzinfo=UTC)


def member(member_id: str) -> Actor:
    return Actor(member_id, f"Member {member_id}", "member")


@pytest.fixture
def machines(firestore_project: str) -> Iterator[list[FirestoreLeases]]:
    """The leases of two machines on one project."""
    stores = [FirestoreStore.open(firestore_project) for _ in range(2)]
    yield [store.leases(ttl=TTL) for store in stores]
    for store in stores:
        store.close()


def die(leases: FirestoreLeases) -> None:
    """As if the machine stopped: nothing is renewed or let go any more."""
    leases._stop.set()
    leases._renewer.join()


def wait_until_free(lease: FirestoreLease, timeout: float = 10.0) -> float:
    started = time.monotonic()
    while lease.holder() is not None:
        assert time.monotonic() - started < timeout, "the lease never expired"
        time.sleep(0.1)
    return time.monotonic() - started


def test_one_holder_across_machines(machines: list[FirestoreLeases]) -> None:
    a, b = (m.lock("auction-g1") for m in machines)
    assert a.try_acquire("period 1", holder="Ravi")
    assert not a.try_acquire("again")  # not re-entrant
    assert not b.try_acquire("period 1", holder="Farah")
    with pytest.raises(LockHeld, match="held by Ravi") as held:
        b.acquire("period 1", timeout=0.3)
    assert "period 1" in held.value.message
    assert b.holder() is not None and b.holder().user == "Ravi"  # type: ignore[union-attr]
    assert [h.name for h in machines[1].held()] == ["auction-g1"]
    a.release()
    assert b.try_acquire("period 1", holder="Farah")
    assert a.holder().user == "Farah"  # type: ignore[union-attr]
    b.release()
    assert machines[0].held() == []


def test_a_held_lease_is_renewed_and_a_dead_holders_expires(
    machines: list[FirestoreLeases],
) -> None:
    a, b = (m.lock("job") for m in machines)
    assert a.try_acquire("sweep")
    time.sleep(TTL * 2)  # renewed meanwhile
    assert not b.try_acquire("sweep")
    die(machines[0])
    waited = wait_until_free(b)
    assert waited <= TTL + 1.0
    assert b.try_acquire("sweep")


def test_a_holder_that_lost_its_lease_cannot_commit_under_it(
    firestore_project: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ctx = make_context(tmp_path / "a", store=FirestoreStore.open(firestore_project))
    other = FirestoreStore.open(firestore_project)
    try:
        mine = ctx.locks.lock("job")
        assert isinstance(mine, FirestoreLease) and mine.try_acquire("sweep")
        change = ChangeSet("doc.put", "doc", "d", [Write("set", "docs", "d", {"n": 1})])
        with ctx.pipeline.under(mine):
            ctx.pipeline.commit(SYSTEM, change)  # held: fine
        die(ctx.locks)  # type: ignore[arg-type]  # paused: it does not renew
        mine._leases.ttl = TTL  # so that it expires soon
        mine.renew  # noqa: B018
        theirs = other.leases(ttl=TTL).lock("job")
        deadline = time.monotonic() + 30
        while not theirs.try_acquire("sweep"):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert mine.locked  # it has not noticed yet
        with ctx.pipeline.under(mine), pytest.raises(LeaseLost, match="no longer holds"):
            ctx.pipeline.commit(SYSTEM, change)
        assert ctx.pipeline.head()[0] == 1
        with caplog.at_level(logging.ERROR):
            mine.renew()
        assert not mine.locked and "Lost the lease 'job'" in caplog.text
        theirs.release()
    finally:
        other.close()
        close_context(ctx)


# -- the services ---------------------------------------------------------------------------


class Office:
    def __init__(self, data_dir: Path, project: str, clock: FixedClock, key: bytes) -> None:
        give_key(data_dir, key)
        store = FirestoreStore.open(project)
        self.ctx = make_context(data_dir, clock=clock, store=store, lease_seconds=TTL)
        self.services = services_of(self.ctx)

    def close(self) -> None:
        self.services.close()
        close_context(self.ctx)


@pytest.fixture
def offices(firestore_project: str, tmp_path: Path) -> Iterator[list[Office]]:
    clock, key = FixedClock(NOW), new_key()
    opened = [Office(tmp_path / name, firestore_project, clock, key) for name in ("a", "b")]
    yield opened
    for office in opened:
        office.close()


def test_an_auction_session_is_one_machines_and_passes_on_when_it_stops(
    offices: list[Office],
) -> None:
    a, b = offices
    gid = running_group(a.ctx)
    auction = a.services.auctions.open_auction(EMPLOYEE, gid, 1)
    assert f"pid {__import__('os').getpid()}" in (b.services.auctions.session_holder(gid) or "")
    with pytest.raises(LockHeld, match="already open"):
        b.services.auctions.open_auction(EMPLOYEE, gid, 1)
    b.services.auctions.bid(member("m01"), auction.id, "m01", 300_000)  # bids on any machine
    die(a.ctx.locks)  # type: ignore[arg-type]
    wait_until_free(b.ctx.locks.lock(lock_name(gid)))  # type: ignore[arg-type]
    with pytest.raises(Conflict, match="session is not running"):
        b.services.auctions.bid(member("m02"), auction.id, "m02", 350_000)
    resumed = b.services.auctions.open_auction(EMPLOYEE, gid, 1)
    assert resumed.seed_hash == auction.seed_hash and resumed.bids_count == 1
    b.services.auctions.bid(member("m02"), auction.id, "m02", 350_000)
    with pytest.raises(LeaseLost):  # the stopped machine cannot close it under its lost lease
        a.services.auctions.close_auction(ADMIN, auction.id, force_reason="closing early")


def test_the_daily_jobs_run_on_one_machine_at_a_time(
    offices: list[Office], caplog: pytest.LogCaptureFixture
) -> None:
    a, b = offices
    daily_b = Housekeeping(b.services.loans, b.services.recovery)
    sweep = a.ctx.locks.lock("job-recovery-sweep")
    assert sweep.try_acquire("recovery sweep")
    with caplog.at_level(logging.INFO):
        skipped = daily_b.run_once()
    assert skipped.sweep is None and skipped.loans_refreshed is not None
    assert "recovery sweep skipped: another process is running it" in caplog.text
    sweep.release()
    assert daily_b.run_once().sweep is not None


def test_one_machine_scores_a_loan_application(offices: list[Office]) -> None:
    a, b = offices
    claim = a.ctx.locks.lock("loan-score-loan-1")
    assert claim.try_acquire("scoring")
    queue = LoanQueue(b.ctx, 1, service=b.services.loans)
    try:
        queue.start(sweep=False)
        queue.submit("loan-1")
        assert queue.wait_idle(10)
        assert queue.stats().skipped == 1 and queue.stats().scored == 0
    finally:
        queue.stop()
        claim.release()
