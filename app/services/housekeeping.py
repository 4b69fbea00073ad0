"""The daily jobs of a running installation.

Every ``interval`` seconds (and once at start) the platform itself, as the ``system``
actor, refreshes each disbursed loan's days past due and runs the recovery sweep, which
opens cases for newly missed instalments and EMIs, recomputes days late and resolves
cases whose dues were cleared. Both jobs are idempotent: on a day when nothing moved
they commit nothing, so running them hourly (and in several processes) is harmless.
Each runs under a lock of its own (``job-dpd-refresh``, ``job-recovery-sweep``), so
that across processes, and with the Firestore store across machines, one runs it at a
time; a process that finds the lock held skips that round.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from app.kernel.errors import KnownError
from app.kernel.leases import holding
from app.services.actors import SYSTEM
from app.services.loans import LoanService
from app.services.recovery import RecoveryService, SweepResult

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class DailyRun:
    loans_refreshed: int | None
    sweep: SweepResult | None


class Housekeeping:
    def __init__(
        self, loans: LoanService, recovery: RecoveryService, *, interval: float = 3600.0
    ) -> None:
        self.loans = loans
        self.recovery = recovery
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> DailyRun:
        """Refresh DPD, then sweep; a failing or skipped job is None, the other still runs."""
        refreshed = self._guard(
            "refresh days past due", "job-dpd-refresh", lambda: self.loans.refresh_dpd(SYSTEM)
        )
        sweep = self._guard(
            "recovery sweep", "job-recovery-sweep", lambda: self.recovery.sweep(SYSTEM)
        )
        return DailyRun(refreshed, sweep)

    def _guard(self, what: str, lock_name: str, job: Callable[[], T]) -> T | None:
        ctx = self.loans.ctx
        lock = ctx.locks.lock(lock_name)
        try:
            with holding(lock, what, holder=SYSTEM.name) as mine:
                if not mine:
                    log.info("%s skipped: another process is running it", what)
                    return None
                with ctx.pipeline.under(lock):
                    return job()
        except KnownError as exc:
            log.warning("%s not done: %s", what, exc)
        except Exception:
            log.exception("bug in the daily job: %s", what)
        return None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="tfos-daily", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
