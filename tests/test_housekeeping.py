"""The daily jobs open recovery cases and refresh days past due by themselves."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from app.kernel.locks import LockManager
from app.services.context import FixedClock, close_context, make_context
from app.services.demo import generate
from app.services.housekeeping import Housekeeping
from app.services.ledger import LedgerService
from app.services.recovery import RecoveryService
from tests.lending import loan_service

END = date(2026, 11, 24)


def test_the_daily_run_picks_up_what_fell_due_since(tmp_path: Path) -> None:
    clock = FixedClock(datetime(2026, 11, 24, 6, 0, tzinfo=UTC))
    ctx = make_context(tmp_path, clock=clock)
    try:
        generate(ctx, groups=1, members=6, months=3, seed=7, end=END)
        daily = Housekeeping(loan_service(ctx), RecoveryService(ctx, ledger=LedgerService(ctx)))
        same_day = daily.run_once()
        assert same_day.sweep is not None and not same_day.sweep.changed

        clock.set(datetime.combine(END + timedelta(days=45), datetime.min.time(), UTC))
        later = daily.run_once()
        assert later.sweep is not None and later.sweep.changed
        assert later.sweep.opened or later.sweep.updated
        assert later.loans_refreshed is not None and later.loans_refreshed > 0
        again = daily.run_once()
        assert again.sweep is not None and not again.sweep.changed
        assert again.loans_refreshed == 0
    finally:
        close_context(ctx)


def test_start_and_stop_are_clean(tmp_path: Path) -> None:
    ctx = make_context(tmp_path)
    try:
        daily = Housekeeping(
            loan_service(ctx), RecoveryService(ctx, ledger=LedgerService(ctx)), interval=0.05
        )
        daily.start()
        daily.stop()
        assert daily._thread is None
    finally:
        close_context(ctx)


def test_a_job_another_process_is_running_is_skipped(tmp_path: Path) -> None:
    """Each job runs under its own lock (an OS lock here): a process that finds it held
    skips that round, and the other job still runs."""
    ctx = make_context(tmp_path)
    try:
        other_process = LockManager(tmp_path / "locks").lock("job-dpd-refresh")
        assert other_process.try_acquire("refresh days past due", holder="system")
        daily = Housekeeping(loan_service(ctx), RecoveryService(ctx, ledger=LedgerService(ctx)))
        run = daily.run_once()
        assert run.loans_refreshed is None and run.sweep is not None
        other_process.release()
        assert daily.run_once().loans_refreshed == 0
    finally:
        close_context(ctx)
