"""The demo-data clock: a day-by-day run of tasks, in lanes, through the real services.

Demo data is made by playing a made-up history forward through the services, so the
WAL, the store and the ledger agree exactly as they would after real use. The
:class:`Engine` walks the calendar a day at a time. Each day has fixed *phases*
(setup, auctions opening, auctions closing, receipts, payouts, EMIs, loans, the
counter, the recovery sweep, recovery moves), and before each phase the shared
:class:`FixedClock` is set to that phase's time of day in India.

A task runs in a *lane*. Tasks of one lane run one after another, in the order they
were scheduled; lanes of one phase run at the same time on a thread pool, so their
independent changes share the WAL's group commits. Each lane has its own seeded id
generator and random numbers, so what a lane does and the ids it creates do not
depend on how the threads happen to interleave: a seed always gives the same ids.
For that, what a lane reads must not be changed by another lane of the same phase:
work that shares data (one group's period summary, one pool's grants, a member's
repayment history and a score of their next loan) is kept in one lane or in phases
of its own.

After a phase, the tasks' ``then`` callbacks run on the calling thread in the order
the tasks were scheduled; they plan what happens next (schedule more tasks).
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import Any

from app.services.auctions import AuctionService
from app.services.context import IST, Clock, FixedClock, IdGen, ServiceContext
from app.services.gate import BankersGate
from app.services.groups import GroupService
from app.services.kyc import KycService
from app.services.ledger import CapitalDesk, LedgerService
from app.services.loans import LoanService
from app.services.members import MemberService
from app.services.payouts import PayoutService
from app.services.recovery import RecoveryService
from app.services.staff import StaffService

PHASES: dict[str, time] = {
    "setup": time(9, 30),
    "open": time(11, 0),
    "close": time(11, 20),
    "receipts": time(13, 0),
    "payouts": time(15, 0),
    "emis": time(15, 30),
    "loans": time(16, 0),
    "counter": time(17, 0),
    "sweep": time(18, 0),
    "recovery": time(18, 30),
}
"""The phases of a demo day, in order, with the time (IST) the clock shows during each."""


def derive(seed: int, name: str) -> int:
    """A seed for ``name`` derived from the demo's seed (stable across runs)."""
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


class LaneClock:
    """The engine's clock as one lane sees it: the phase's time, plus what the lane's
    own work has moved on within the phase (a bid some minutes into its auction), so
    lanes running at once never move each other's time."""

    def __init__(self, base: Clock) -> None:
        self.base = base
        self.into_phase = timedelta(0)

    def now(self) -> datetime:
        return self.base.now() + self.into_phase

    def today(self) -> date:
        return self.now().astimezone(IST).date()


class Lane:
    """One serial stream of demo work: the services on a context whose ids are seeded
    for this lane, and this lane's own random numbers and clock."""

    def __init__(self, name: str, ctx: ServiceContext, seed: int) -> None:
        self.name = name
        self.clock = LaneClock(ctx.clock)
        self.ctx = replace(ctx, ids=IdGen(derive(seed, f"ids:{name}")), clock=self.clock)
        self.rng = random.Random(derive(seed, f"rng:{name}"))

    @cached_property
    def members(self) -> MemberService:
        return MemberService(self.ctx)

    @cached_property
    def kyc(self) -> KycService:
        return KycService(self.ctx)

    @cached_property
    def groups(self) -> GroupService:
        return GroupService(self.ctx)

    @cached_property
    def auctions(self) -> AuctionService:
        return AuctionService(self.ctx)

    @cached_property
    def ledger(self) -> LedgerService:
        return LedgerService(self.ctx)

    @cached_property
    def capital(self) -> CapitalDesk:
        return CapitalDesk(self.ctx, ledger=self.ledger)

    @cached_property
    def gate(self) -> BankersGate:
        return BankersGate(self.ctx, ledger=self.ledger)

    @cached_property
    def loans(self) -> LoanService:
        return LoanService(self.ctx, gate=self.gate)

    @cached_property
    def recovery(self) -> RecoveryService:
        return RecoveryService(self.ctx, ledger=self.ledger)

    @cached_property
    def staff(self) -> StaffService:
        return StaffService(self.ctx)

    @cached_property
    def payouts(self) -> PayoutService:
        return PayoutService(self.ctx, gate=self.gate, ledger=self.ledger)


Run = Callable[[Lane], Any]
Then = Callable[[Any], None]


@dataclass
class _Task:
    lane: str
    run: Run
    then: Then | None


@dataclass
class _Day:
    phases: dict[str, list[_Task]] = field(default_factory=lambda: defaultdict(list))


class Engine:
    """Runs scheduled tasks day by day, phase by phase (see the module docstring)."""

    def __init__(
        self,
        ctx: ServiceContext,
        clock: FixedClock,
        seed: int,
        *,
        workers: int = 8,
        on_day: Callable[[date], None] | None = None,
    ) -> None:
        self.ctx = replace(ctx, clock=clock)
        self.clock = clock
        self.seed = seed
        self.workers = workers
        self.on_day = on_day
        self.today: date | None = None
        self._days: dict[date, _Day] = defaultdict(_Day)
        self._lanes: dict[str, Lane] = {}

    def lane(self, name: str) -> Lane:
        if name not in self._lanes:
            self._lanes[name] = Lane(name, self.ctx, self.seed)
        return self._lanes[name]

    def at(self, day: date, phase: str, lane: str, run: Run, then: Then | None = None) -> None:
        """Schedule ``run`` in ``lane`` on ``day`` during ``phase``; ``then(result)``
        runs afterwards on the calling thread."""
        if phase not in PHASES:
            raise ValueError(f"unknown demo phase {phase!r}")
        if self.today is not None and day < self.today:
            raise ValueError(f"cannot schedule on {day}: the demo is already at {self.today}")
        self._days[day].phases[phase].append(_Task(lane, run, then))

    def set_clock(self, day: date, phase: str, *, minutes: int = 0) -> None:
        moment = datetime.combine(day, PHASES[phase], tzinfo=IST) + timedelta(minutes=minutes)
        self.clock.set(moment)

    def run(self, first: date, last: date) -> None:
        """Play every day from ``first`` to ``last`` (both included)."""
        with ThreadPoolExecutor(self.workers, thread_name_prefix="demo") as pool:
            for day in _days(first, last):
                self.today = day
                if self.on_day is not None:
                    self.on_day(day)
                self._run_day(day, pool)
                self._days.pop(day, None)

    def _run_day(self, day: date, pool: ThreadPoolExecutor) -> None:
        for phase in PHASES:
            while tasks := self._take(day, phase):
                self.set_clock(day, phase)
                results = self._execute(tasks, pool)
                for task, result in zip(tasks, results, strict=True):
                    if task.then is not None:
                        task.then(result)

    def _take(self, day: date, phase: str) -> list[_Task]:
        scheduled = self._days.get(day)
        if scheduled is None:
            return []
        return scheduled.phases.pop(phase, [])

    def _execute(self, tasks: list[_Task], pool: ThreadPoolExecutor) -> list[Any]:
        by_lane: dict[str, list[int]] = defaultdict(list)
        for index, task in enumerate(tasks):
            by_lane[task.lane].append(index)
        results: list[Any] = [None] * len(tasks)

        def run_lane(name: str) -> None:
            lane = self.lane(name)
            for index in by_lane[name]:
                results[index] = tasks[index].run(lane)

        names = list(by_lane)
        for name in names:
            self.lane(name)
        if len(names) == 1:
            run_lane(names[0])
        else:
            for future in [pool.submit(run_lane, name) for name in names]:
                future.result()
        return results


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)
