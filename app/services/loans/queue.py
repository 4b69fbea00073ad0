"""The loan application queue: scoring, eligibility and the Banker's pre-check on
worker threads (:class:`app.kernel.scheduler.LoanScheduler`).

How applications get here. :meth:`LoanQueue.start` hooks the queue into
:class:`~app.services.loans.LoanService` (``on_submitted``), so every application made
through that service in this process is queued as soon as it is committed; and it
sweeps the store once for applications still ``submitted`` (made before a restart, or
by another process), so none is left behind. A store listener was not chosen: the
hook needs no extra thread, and the sweep covers what the hook cannot see.

Priorities (the kernel adds aging: waiting ``aging_seconds`` is worth one class, so
nothing starves; see the kernel module for the bound):

* ``URGENT``  a re-score someone asked for at the desk (:meth:`LoanQueue.rescore`);
* ``NORMAL``  a new application;
* ``LOW``     the start-up sweep's backlog.

Each job runs :meth:`LoanService.score_pending` as the ``system`` actor: one pipeline
transaction that scores, decides eligibility and runs the Banker's pre-check. A job
finds the application no longer ``submitted`` when it has been scored already, so
submitting one twice (the hook and the sweep, or two processes) still scores it once.
When the locks span machines (the Firestore store's leases), a job first claims the
application (``loan-score-<id>``) and another machine's claim makes it skip: one runner
per application, and a claim lost meanwhile stops the commit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.kernel.errors import Conflict
from app.kernel.leases import holding
from app.kernel.scheduler import Job, LoanScheduler, Priority
from app.services.actors import SYSTEM
from app.services.collections import LOANS
from app.services.context import ServiceContext
from app.services.loans.book import SUBMITTED
from app.services.loans.service import LoanService
from app.services.store import Query


@dataclass(frozen=True)
class QueueStats:
    """For the kernel footer: depth, waiting time, throughput and outcomes."""

    queue_depth: int
    running: int
    workers: int
    scored: int
    skipped: int
    failed: int
    avg_wait_s: float
    max_wait_s: float
    throughput_per_s: float

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


class LoanQueue:
    """Scores loan applications on ``workers`` threads (``Settings.scheduler_workers``)."""

    def __init__(
        self,
        ctx: ServiceContext,
        workers: int = 2,
        *,
        service: LoanService,
        aging_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ctx = ctx
        self.service = service
        self.workers = workers
        self._scheduler = LoanScheduler(
            self._process,
            workers=workers,
            aging_seconds=aging_seconds,
            clock=clock,
            name="loan-queue",
        )
        self._lock = threading.Lock()
        self._scored = 0
        self._skipped = 0

    def __enter__(self) -> LoanQueue:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, *, sweep: bool = True) -> int:
        """Start the workers, hook into the service, queue the backlog; returns how
        many backlog applications were queued."""
        self.service.on_submitted = self.submit
        self._scheduler.start()
        return self.sweep() if sweep else 0

    def stop(self, *, drain: bool = False, timeout: float | None = 10.0) -> None:
        """Stop taking work (finishing the queue first when ``drain``) and join."""
        if self.service.on_submitted == self.submit:
            self.service.on_submitted = None
        self._scheduler.stop(drain=drain, timeout=timeout)

    def sweep(self) -> int:
        """Queue every application still ``submitted`` in the store, at low priority."""
        docs = self.ctx.store.query(Query(LOANS).where("status", "==", SUBMITTED))
        docs.sort(key=lambda d: (d.data["applied_at"], d.id))
        return sum(self.submit(d.id, Priority.LOW) is not None for d in docs)

    def submit(self, loan_id: str, priority: int = Priority.NORMAL) -> Job | None:
        """Queue an application; None when it is already queued or running."""
        try:
            return self._scheduler.submit(loan_id, priority, job_id=loan_id)
        except Conflict:
            return None

    def rescore(self, loan_id: str) -> Job | None:
        """Queue a re-score ahead of new applications (someone is waiting for it)."""
        return self.submit(loan_id, Priority.URGENT)

    def depth(self) -> int:
        """Applications waiting (for the kernel stats' ``queue_depth``)."""
        return self._scheduler.stats().queue_depth

    def stats(self) -> QueueStats:
        raw = self._scheduler.stats()
        with self._lock:
            scored, skipped = self._scored, self._skipped
        return QueueStats(
            queue_depth=raw.queue_depth,
            running=raw.running,
            workers=self.workers,
            scored=scored,
            skipped=skipped,
            failed=raw.failed,
            avg_wait_s=raw.avg_wait_s,
            max_wait_s=raw.max_wait_s,
            throughput_per_s=raw.throughput_per_s,
        )

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until nothing is queued or running; False on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            raw = self._scheduler.stats()
            if raw.queue_depth == 0 and raw.running == 0:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)

    def _process(self, job: Job) -> Any:
        if self.ctx.locks.shared:
            claim = self.ctx.locks.lock(f"loan-score-{job.payload}")
            with holding(claim, "scoring", holder=SYSTEM.name) as mine:
                if not mine:
                    return self._count(None)
                with self.ctx.pipeline.under(claim):
                    return self._count(self.service.score_pending(SYSTEM, job.payload))
        return self._count(self.service.score_pending(SYSTEM, job.payload))

    def _count(self, result: Any) -> Any:
        with self._lock:
            if result is None:
                self._skipped += 1
            else:
                self._scored += 1
        return result
