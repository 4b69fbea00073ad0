"""A priority queue of jobs worked off by a pool of threads, with aging.

The kernel knows nothing of what a job does: the caller passes ``process(job)``
(for loan applications: scoring, eligibility, the Banker's pre-check).

Policy, precisely. Each job has an integer ``priority`` (lower runs sooner;
:class:`Priority` names 0, 1 and 2) and the time ``s`` it was submitted. At time ``t``
its effective priority is ``priority - (t - s) / A``, where ``A`` is ``aging_seconds``:
waiting ``A`` seconds is worth one priority class. A free worker takes the job with the
lowest effective priority; ties go to the job submitted first (FIFO by submission
number).

Because ``t`` is the same for every job compared, that order never changes with time:
it equals the order of the fixed rank ``priority·A + s``. The queue is therefore a heap
on ``(priority·A + s, seq)`` and taking the next job costs O(log n). Both keys are
computed as exact fractions so that float rounding can never split a true tie.

No starvation, with a bound. Let ``p_min`` be the lowest priority ever submitted. A job
``J`` submitted at ``s_J`` with priority ``p`` ranks ahead of every job submitted after
``s_J + (p - p_min)·A``, whatever its priority. So the jobs that can start before ``J``
are those already queued when ``J`` arrived plus those submitted within the next
``(p - p_min)·A`` seconds: a finite number for any finite arrival rate. With priorities
0..2 and the default ``A`` = 30 s, a low-priority application yields to at most one
minute's worth of arrivals.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from enum import IntEnum
from fractions import Fraction
from typing import Any

from app.kernel.errors import Conflict, KnownError, ValidationError

log = logging.getLogger(__name__)

DoneCallback = Callable[["Job", Any, BaseException | None], None]


class Priority(IntEnum):
    URGENT = 0
    NORMAL = 1
    LOW = 2


@dataclass(eq=False)
class Job:
    """A submitted job and what became of it; ``future`` resolves with the result."""

    id: str
    payload: Any
    priority: int
    submitted_at: float
    seq: int
    future: Future[Any] = field(default_factory=Future, repr=False)
    started_at: float | None = None
    finished_at: float | None = None
    error: BaseException | None = field(default=None, repr=False)

    @property
    def waited_s(self) -> float | None:
        """Seconds between submission and start, once started."""
        return None if self.started_at is None else self.started_at - self.submitted_at


def effective_priority(job: Job, now: float, aging_seconds: float) -> Fraction:
    """The job's priority at ``now``: lower is sooner; one class per ``aging_seconds`` waited.

    Computed exactly (the floats are converted to fractions without rounding), so two
    jobs that tie in exact arithmetic tie here too and FIFO decides.
    """
    waited = Fraction(now) - Fraction(job.submitted_at)
    return job.priority - waited / Fraction(aging_seconds)


def rank(job: Job, aging_seconds: float) -> tuple[Fraction, int]:
    """The time-independent key that orders jobs as effective priority does, then FIFO."""
    return (job.priority * Fraction(aging_seconds) + Fraction(job.submitted_at), job.seq)


def pick_next(queue: Iterable[Job], now: float, aging_seconds: float = 30.0) -> Job:
    """The job the policy runs next at time ``now`` (pure; raises ValueError if empty)."""
    return min(queue, key=lambda job: (effective_priority(job, now, aging_seconds), job.seq))


@dataclass(frozen=True)
class SchedulerStats:
    queue_depth: int
    running: int
    completed: int
    failed: int
    cancelled: int
    avg_wait_s: float
    max_wait_s: float
    throughput_per_s: float


class _Counters:
    """Finished-job figures, guarded by the scheduler's lock."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self.completed = 0
        self.failed = 0
        self.cancelled = 0
        self.started = 0
        self.wait_total = 0.0
        self.wait_max = 0.0
        self.finish_times: deque[float] = deque()

    def on_start(self, waited: float) -> None:
        self.started += 1
        self.wait_total += waited
        self.wait_max = max(self.wait_max, waited)

    def on_finish(self, ok: bool, now: float) -> None:
        if ok:
            self.completed += 1
        else:
            self.failed += 1
        self.finish_times.append(now)
        self.prune(now)

    def prune(self, now: float) -> None:
        while self.finish_times and self.finish_times[0] < now - self.window_s:
            self.finish_times.popleft()

    def throughput(self, now: float, started_at: float | None) -> float:
        self.prune(now)
        span = self.window_s if started_at is None else min(self.window_s, now - started_at)
        return len(self.finish_times) / span if span > 0 else 0.0


class LoanScheduler:
    """Runs ``process(job)`` for each submitted job on ``workers`` threads, by priority.

    Exceptions raised by ``process`` are logged with their traceback, stored on the job
    and set on its future; the worker goes on with the next job. Worker threads are
    daemons so a stuck job cannot keep the application from exiting, but :meth:`stop`
    should be called (or the scheduler used as a context manager) for a clean shutdown.
    """

    def __init__(
        self,
        process: Callable[[Job], Any],
        *,
        workers: int = 2,
        clock: Callable[[], float] = time.monotonic,
        aging_seconds: float = 30.0,
        window_s: float = 60.0,
        name: str = "loan-scheduler",
    ) -> None:
        if workers < 1:
            raise ValidationError(f"A scheduler needs at least one worker, got {workers}.")
        if aging_seconds <= 0:
            raise ValidationError(f"aging_seconds must be positive, got {aging_seconds}.")
        self._process = process
        self._workers = workers
        self._clock = clock
        self.aging_seconds = aging_seconds
        self._name = name
        self._cond = threading.Condition()
        self._heap: list[tuple[Fraction, int, Job]] = []
        self._active: dict[str, Job] = {}
        self._running = 0
        self._counters = _Counters(window_s)
        self._callbacks: list[DoneCallback] = []
        self._threads: list[threading.Thread] = []
        self._seq = itertools.count()
        self._started_at: float | None = None
        self._stopping = False

    def __enter__(self) -> LoanScheduler:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def on_done(self, callback: DoneCallback) -> None:
        """Call ``callback(job, result, exception)`` on the worker when a job finishes."""
        with self._cond:
            self._callbacks.append(callback)

    def submit(
        self, payload: Any, priority: int = Priority.NORMAL, job_id: str | None = None
    ) -> Job:
        """Queue ``payload``; jobs submitted before :meth:`start` wait for it."""
        with self._cond:
            if self._stopping:
                raise Conflict("The scheduler is stopped; it takes no new jobs.")
            job_id = job_id or uuid.uuid4().hex
            existing = self._active.get(job_id)
            if existing is not None and not existing.future.cancelled():
                raise Conflict(f"Job {job_id} is already queued or running.")
            job = Job(job_id, payload, int(priority), self._clock(), next(self._seq))
            self._active[job_id] = job
            heapq.heappush(self._heap, (*rank(job, self.aging_seconds), job))
            self._cond.notify()
        return job

    def start(self) -> None:
        """Start the worker threads (again: no effect; after stop: Conflict)."""
        with self._cond:
            if self._stopping:
                raise Conflict("A stopped scheduler cannot be restarted; create a new one.")
            if self._threads:
                return
            self._started_at = self._clock()
            for number in range(self._workers):
                thread = threading.Thread(
                    target=self._work, name=f"{self._name}-{number}", daemon=True
                )
                self._threads.append(thread)
                thread.start()

    def stop(self, wait: bool = True, *, drain: bool = False, timeout: float | None = None) -> None:
        """Stop taking jobs; cancel the queued ones unless ``drain``; join the workers."""
        with self._cond:
            self._stopping = True
            if not drain or not self._threads:
                self._cancel_queued()
            self._cond.notify_all()
        if wait:
            for thread in self._threads:
                thread.join(timeout)

    def stats(self) -> SchedulerStats:
        with self._cond:
            counters = self._counters
            started = counters.started
            return SchedulerStats(
                queue_depth=sum(not job.future.cancelled() for *_, job in self._heap),
                running=self._running,
                completed=counters.completed,
                failed=counters.failed,
                cancelled=counters.cancelled,
                avg_wait_s=counters.wait_total / started if started else 0.0,
                max_wait_s=counters.wait_max,
                throughput_per_s=counters.throughput(self._clock(), self._started_at),
            )

    def _forget(self, job: Job) -> None:
        if self._active.get(job.id) is job:
            del self._active[job.id]

    def _cancel_queued(self) -> None:
        for *_, job in self._heap:
            if job.future.cancel():
                self._counters.cancelled += 1
            self._forget(job)
        self._heap.clear()

    def _next_job(self) -> Job | None:
        with self._cond:
            while True:
                while not self._heap and not self._stopping:
                    self._cond.wait()
                if not self._heap:
                    return None
                job = heapq.heappop(self._heap)[-1]
                if not job.future.set_running_or_notify_cancel():
                    self._counters.cancelled += 1
                    self._forget(job)
                    continue
                job.started_at = self._clock()
                self._running += 1
                self._counters.on_start(job.started_at - job.submitted_at)
                return job

    def _work(self) -> None:
        while (job := self._next_job()) is not None:
            self._run(job)

    def _run(self, job: Job) -> None:
        result: Any = None
        try:
            result = self._process(job)
        except KnownError as exc:
            log.info("Job %s refused: %s", job.id, exc)
            job.error = exc
        except Exception as exc:
            log.exception("Job %s failed in %s", job.id, threading.current_thread().name)
            job.error = exc
        job.finished_at = self._clock()
        with self._cond:
            self._running -= 1
            self._forget(job)
            self._counters.on_finish(job.error is None, job.finished_at)
            callbacks = list(self._callbacks)
        self._notify(callbacks, job, result)
        if job.error is None:
            job.future.set_result(result)
        else:
            job.future.set_exception(job.error)

    def _notify(self, callbacks: list[DoneCallback], job: Job, result: Any) -> None:
        for callback in callbacks:
            try:
                callback(job, result, job.error)
            except Exception:
                log.exception("on_done callback failed for job %s", job.id)
