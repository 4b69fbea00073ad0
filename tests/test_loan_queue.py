"""The loan queue: worker threads score applications exactly once, in policy order."""

from __future__ import annotations

from collections import Counter

import pytest

from app.services.context import FixedClock, ServiceContext
from app.services.loans import LoanQueue
from tests.lending import LAKH, RAVI, START, add_capital, add_member, loan_service, wal

NAMES = "ABCDEFGHIJKLMNOP"


class StepClock:
    """A monotonic clock that moves only when told (for the policy's order)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


def members(ctx: ServiceContext, count: int) -> list[str]:
    return [
        add_member(ctx, f"Member {NAMES[n]}", f"+9198765430{n:02d}", dues=2) for n in range(count)
    ]


def score_records(ctx: ServiceContext) -> list[str]:
    return [r.entity["id"] for r in wal(ctx) if r.action == "loan.score"]


def test_applications_are_scored_exactly_once_by_two_workers(ctx: ServiceContext) -> None:
    add_capital(ctx, 10 * LAKH)
    service = loan_service(ctx)
    people = members(ctx, 12)
    with LoanQueue(ctx, workers=2, service=service) as queue:
        ids = [service.apply(RAVI, m, LAKH, 12, "Working capital") for m in people]
        for loan_id in ids[:4]:
            queue.submit(loan_id)  # again: already queued or already scored
        assert queue.wait_idle(30)
        stats = queue.stats()
    assert Counter(score_records(ctx)) == Counter(ids)
    assert all(service.get(x).data["status"] == "scored" for x in ids)
    assert stats.scored == 12 and stats.failed == 0 and stats.queue_depth == 0
    assert stats.workers == 2 and stats.throughput_per_s > 0
    assert stats.max_wait_s >= stats.avg_wait_s >= 0
    assert service.on_submitted is None
    precheck = service.get(ids[0]).data["precheck"]
    assert precheck["safe"] is True and precheck["pool"] is None


def test_start_sweeps_the_backlog_and_stop_is_clean(ctx: ServiceContext) -> None:
    service = loan_service(ctx)
    backlog = [service.apply(RAVI, m, LAKH, 6, "Seeds") for m in members(ctx, 3)]
    queue = LoanQueue(ctx, workers=2, service=service)
    assert queue.start() == 3
    assert queue.wait_idle(30)
    queue.stop()
    assert sorted(score_records(ctx)) == sorted(backlog)
    assert queue.submit(backlog[0]) is None  # stopped: takes nothing
    assert queue.stats().scored == 3
    precheck = service.get(backlog[0]).data["precheck"]  # no lending capital at all
    assert precheck["safe"] is False and precheck["pool"] == "cash:lending"


def test_policy_order_urgent_then_normal_then_backlog(ctx: ServiceContext) -> None:
    service = loan_service(ctx)
    a, b, c, d = (service.apply(RAVI, m, LAKH, 12, "Shop") for m in members(ctx, 4))
    clock = StepClock()
    queue = LoanQueue(ctx, workers=1, service=service, aging_seconds=30, clock=clock)
    queue.submit(a)
    clock.now += 1
    queue.submit(b)
    clock.now += 1
    queue.rescore(c)
    clock.now += 1
    queue.sweep()  # d is the only one not queued yet: low priority
    assert queue.depth() == 4
    queue.start(sweep=False)
    assert queue.wait_idle(30)
    queue.stop()
    assert score_records(ctx) == [c, a, b, d]


@pytest.mark.parametrize(("waited", "old_first"), [(20, False), (31, True)])
def test_a_backlog_item_ages_past_new_work(
    ctx: ServiceContext, waited: int, old_first: bool
) -> None:
    service = loan_service(ctx)
    first, second = members(ctx, 2)
    old = service.apply(RAVI, first, LAKH, 12, "Shop")
    clock = StepClock()
    queue = LoanQueue(ctx, workers=1, service=service, aging_seconds=30, clock=clock)
    assert queue.sweep() == 1  # old: LOW
    clock.now += waited  # one class is worth 30 s of waiting
    new = service.apply(RAVI, second, LAKH, 12, "Shop")
    queue.submit(new)  # NORMAL, but younger
    queue.start(sweep=False)
    assert queue.wait_idle(30)
    queue.stop()
    assert score_records(ctx) == ([old, new] if old_first else [new, old])
