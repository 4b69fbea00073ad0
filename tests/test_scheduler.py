"""The loan scheduler: policy with a fake clock, then real worker threads."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.kernel.errors import Conflict, ValidationError
from app.kernel.scheduler import Job, LoanScheduler, Priority, pick_next

WAIT = 10.0


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_job(seq: int, priority: int, submitted_at: float) -> Job:
    return Job(f"j{seq}", None, priority, submitted_at, seq)


def drain_order(queue: list[Job], now: float, aging: float = 30.0) -> list[str]:
    order = []
    queue = list(queue)
    while queue:
        job = pick_next(queue, now, aging)
        queue.remove(job)
        order.append(job.id)
    return order


def test_lower_priority_number_goes_first() -> None:
    queue = [make_job(0, Priority.LOW, 0), make_job(1, Priority.URGENT, 0)]
    queue.append(make_job(2, Priority.NORMAL, 0))
    assert drain_order(queue, now=0) == ["j1", "j2", "j0"]


def test_ties_are_fifo() -> None:
    queue = [make_job(3, Priority.NORMAL, 5), make_job(1, Priority.NORMAL, 5)]
    queue.append(make_job(2, Priority.NORMAL, 5))
    assert drain_order(queue, now=5) == ["j1", "j2", "j3"]


def test_an_aged_tie_is_exact_and_fifo() -> None:
    # In floats 1 - 39.75/30 < 0 - 9.75/30; exactly they are equal, so FIFO decides.
    aged, fresh = make_job(0, Priority.NORMAL, 10.75), make_job(1, Priority.URGENT, 40.75)
    assert pick_next([fresh, aged], now=50.5) is aged


def test_aging_overtakes_after_one_interval_per_class() -> None:
    low = make_job(0, Priority.LOW, 0)
    urgent_at_tie = make_job(1, Priority.URGENT, 60)
    assert pick_next([urgent_at_tie, low], now=60) is low
    urgent_later = make_job(2, Priority.URGENT, 60.5)
    assert pick_next([urgent_later, low], now=61) is low
    urgent_sooner = make_job(3, Priority.URGENT, 59.5)
    assert pick_next([urgent_sooner, low], now=61) is urgent_sooner


def test_pick_next_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError):
        pick_next([], now=0)


def starvation_run(aging: float, backlog: int, ticks: int) -> int | None:
    """One urgent arrival and one pick a second; return the pick that served the low job."""
    queue = [make_job(i, Priority.URGENT, 0) for i in range(backlog)]
    low = make_job(backlog, Priority.LOW, 0)
    queue.append(low)
    for tick in range(1, ticks + 1):
        queue.append(make_job(backlog + tick, Priority.URGENT, tick))
        job = pick_next(queue, now=tick, aging_seconds=aging)
        queue.remove(job)
        if job is low:
            return tick
    return None


@pytest.mark.parametrize(("aging", "backlog"), [(30.0, 0), (30.0, 50), (5.0, 10), (0.5, 200)])
def test_low_priority_job_is_served_within_the_bound(aging: float, backlog: int) -> None:
    # Only the backlog and jobs arriving within (p - p_min)·A seconds may go first.
    bound = backlog + int((Priority.LOW - Priority.URGENT) * aging) + 1
    served = starvation_run(aging, backlog, ticks=10 * bound + 100)
    assert served is not None and served <= bound


def test_without_aging_the_low_job_would_starve() -> None:
    assert starvation_run(aging=1e9, backlog=0, ticks=2_000) is None


times = st.integers(0, 400).map(lambda t: t / 4)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), times), min_size=1, max_size=25))
def test_scheduler_heap_follows_the_policy(specs: list[tuple[int, float]]) -> None:
    clock = FakeClock(0.0)
    started: list[str] = []
    scheduler = LoanScheduler(lambda job: started.append(job.id), workers=1, clock=clock)
    jobs = []
    for i, (priority, at) in enumerate(sorted(specs, key=lambda spec: spec[1])):
        clock.now = at
        jobs.append(scheduler.submit(i, priority, job_id=f"j{i}"))
    expected = drain_order(jobs, now=clock.now + 7.25)
    scheduler.start()
    scheduler.stop(drain=True, timeout=WAIT)
    assert started == expected


def test_many_workers_run_every_job_exactly_once() -> None:
    seen: list[int] = []
    lock = threading.Lock()
    done: list[str] = []

    def process(job: Job) -> int:
        with lock:
            seen.append(job.payload)
        return int(job.payload) * 2

    with LoanScheduler(process, workers=4) as scheduler:
        scheduler.on_done(lambda job, result, exc: done.append(job.id))
        jobs = [scheduler.submit(n, priority=n % 3) for n in range(500)]
        results = [job.future.result(timeout=WAIT) for job in jobs]
    assert results == [n * 2 for n in range(500)]
    assert Counter(seen) == Counter(range(500))
    assert sorted(done) == sorted(job.id for job in jobs)
    stats = scheduler.stats()
    assert (stats.completed, stats.failed, stats.queue_depth, stats.running) == (500, 0, 0, 0)
    assert all(job.started_at is not None and job.finished_at is not None for job in jobs)


def test_a_raising_job_is_recorded_and_workers_go_on(caplog: pytest.LogCaptureFixture) -> None:
    outcomes: list[tuple[str, Any, BaseException | None]] = []

    def process(job: Job) -> str:
        if job.payload % 2:
            raise RuntimeError(f"bad application {job.payload}")
        return "ok"

    caplog.set_level(logging.ERROR, logger="app.kernel.scheduler")
    with LoanScheduler(process, workers=2) as scheduler:
        scheduler.on_done(lambda job, result, exc: outcomes.append((job.id, result, exc)))
        jobs = [scheduler.submit(n, job_id=f"a{n}") for n in range(20)]
        for job in jobs:
            job.future.exception(timeout=WAIT)
    failed = [job for job in jobs if job.payload % 2]
    assert all(isinstance(job.error, RuntimeError) for job in failed)
    assert all(job.future.exception() is job.error for job in failed)
    assert all(job.future.result() == "ok" for job in jobs if not job.payload % 2)
    assert (scheduler.stats().completed, scheduler.stats().failed) == (10, 10)
    assert sorted(o[0] for o in outcomes if o[2] is not None) == sorted(j.id for j in failed)
    tracebacks = [r for r in caplog.records if r.exc_info and "a1" in r.getMessage()]
    assert tracebacks and tracebacks[0].exc_info is not None
    assert tracebacks[0].exc_info[0] is RuntimeError


def test_a_raising_callback_does_not_kill_the_worker(caplog: pytest.LogCaptureFixture) -> None:
    def explode(job: Job, result: Any, exc: BaseException | None) -> None:
        raise ValueError("callback bug")

    caplog.set_level(logging.ERROR, logger="app.kernel.scheduler")
    with LoanScheduler(lambda job: job.payload, workers=1) as scheduler:
        scheduler.on_done(explode)
        jobs = [scheduler.submit(n) for n in range(5)]
        assert [job.future.result(timeout=WAIT) for job in jobs] == list(range(5))
    assert sum("callback failed" in r.getMessage() for r in caplog.records) == 5


def test_stop_cancels_queued_jobs_and_joins_the_workers() -> None:
    release = threading.Event()
    entered = threading.Event()

    def process(job: Job) -> str:
        entered.set()
        release.wait(WAIT)
        return job.id

    scheduler = LoanScheduler(process, workers=1, name="stop-test")
    first = scheduler.submit("first")
    scheduler.start()
    assert entered.wait(WAIT)
    queued = [scheduler.submit(n) for n in range(10)]
    scheduler.stop(wait=False)
    release.set()
    scheduler.stop(timeout=WAIT)
    assert first.future.result(timeout=0) == first.id
    assert all(job.future.cancelled() for job in queued)
    assert scheduler.stats().cancelled == 10
    assert not [t for t in threading.enumerate() if t.name.startswith("stop-test")]
    with pytest.raises(Conflict):
        scheduler.submit("late")
    with pytest.raises(Conflict):
        scheduler.start()


def test_idle_scheduler_stops_at_once() -> None:
    scheduler = LoanScheduler(lambda job: None, workers=4, name="idle-test")
    scheduler.start()
    scheduler.stop(timeout=WAIT)
    assert not [t for t in threading.enumerate() if t.name.startswith("idle-test")]


def test_cancelled_future_is_skipped() -> None:
    ran: list[str] = []
    scheduler = LoanScheduler(lambda job: ran.append(job.id), workers=1)
    keep = scheduler.submit("keep", job_id="keep")
    drop = scheduler.submit("drop", job_id="drop")
    assert drop.future.cancel()
    assert scheduler.stats().queue_depth == 1
    scheduler.start()
    scheduler.stop(drain=True, timeout=WAIT)
    assert ran == ["keep"] and keep.future.done()
    assert scheduler.stats().cancelled == 1


def test_duplicate_job_ids_are_refused_while_active() -> None:
    scheduler = LoanScheduler(lambda job: None, workers=1)
    first = scheduler.submit("x", job_id="app-1")
    with pytest.raises(Conflict, match="app-1"):
        scheduler.submit("y", job_id="app-1")
    first.future.cancel()
    again = scheduler.submit("z", job_id="app-1")
    scheduler.start()
    scheduler.stop(drain=True, timeout=WAIT)
    assert again.future.done() and not again.future.cancelled()


def test_stats_with_a_fake_clock() -> None:
    clock = FakeClock(100.0)
    scheduler = LoanScheduler(lambda job: clock.advance(1.0), workers=1, clock=clock)
    scheduler.submit("a")
    clock.advance(4.0)
    scheduler.submit("b")
    clock.advance(2.0)
    scheduler.start()
    scheduler.stop(drain=True, timeout=WAIT)
    stats = scheduler.stats()
    # a waited 6 s, ran 1 s; b waited 2 + 1 = 3 s; two finishes over the 2 s since start.
    assert (stats.completed, stats.avg_wait_s, stats.max_wait_s) == (2, 4.5, 6.0)
    assert stats.throughput_per_s == 1.0


@pytest.mark.parametrize("kwargs", [{"workers": 0}, {"aging_seconds": 0}])
def test_bad_settings_are_rejected(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        LoanScheduler(lambda job: None, **kwargs)
