"""The composition root: settings -> kernel -> store -> pipeline -> services.

The desktop (``python -m app``), the headless server (``tfos serve``) and the CLI all
start here, so every process on a data directory is wired the same way.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path

from app.config import Settings
from app.kernel.errors import KnownError, StorageError
from app.kernel.files import PRIVATE_DIR, make_private
from app.kernel.stats import StatsCollector
from app.services.audit_log import existing_log
from app.services.context import Clock, ServiceContext, close_context, make_context
from app.services.housekeeping import Housekeeping
from app.services.loans import LoanQueue
from app.services.pipeline import Pipeline
from app.services.registry import Services
from app.services.sms import SmsSender
from app.services.store import DocumentStore

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Everything a front end needs, built once per process."""

    settings: Settings
    ctx: ServiceContext
    stats: StatsCollector
    services: Services
    queue: LoanQueue
    daily: Housekeeping
    _closed: bool = field(default=False, repr=False)
    _started: bool = field(default=False, repr=False)

    def start_background(self) -> None:
        """Start the loan scheduler's workers and the daily jobs (the desktop and the
        server do; the CLI's one-shot commands do not)."""
        if not self._started:
            self._started = True
            self.queue.start()
            self.daily.start()

    @property
    def store(self) -> DocumentStore:
        return self.ctx.store

    @property
    def pipeline(self) -> Pipeline:
        return self.ctx.pipeline

    def seed_demo_if_empty(self) -> None:
        """First start (``make run``): fill an empty data directory with demo data and
        print how to sign in; progress goes to stderr."""
        from app.services.demo import seed_if_empty

        summary = seed_if_empty(self.ctx, progress=lambda line: print(line, file=sys.stderr))
        if summary is not None:
            print(summary.text(), flush=True)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self._started:
                self.daily.stop()
                self.queue.stop()
            self.services.close()
            close_context(self.ctx)


def open_store(settings: Settings) -> DocumentStore:
    """The document store the settings name."""
    if settings.store_backend == "sqlite":
        from app.services.store.sqlite import SqliteStore

        return SqliteStore(settings.store_path)
    if settings.store_backend == "firestore":
        from app.services.store.firestore import FirestoreStore

        return FirestoreStore.open(settings.firestore_project)
    raise KnownError(
        f"The {settings.store_backend!r} store backend is not available in this version.",
        hint="Use --store-backend sqlite (the default) or firestore.",
    )


def ensure_data_dir(path: Path) -> None:
    """Create the data directory (its user's alone), or take group and other
    permissions off an existing one and everything in it, with a warning."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
        opened = make_private(path)
    except OSError as exc:
        raise StorageError(
            f"Cannot create the data directory {path}, or make it private: {exc.strerror}.",
            hint="Choose another folder with --data-dir or TFOS_DATA_DIR.",
        ) from exc
    if opened:
        shown = ", ".join(str(p.relative_to(path)) for p in opened[:5])
        log.warning(
            "Other users could read the data directory %s: made %d files and folders "
            "private to this user (%s%s).",
            path,
            len(opened),
            shown,
            ", ..." if len(opened) > 5 else "",
        )


def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    sender: SmsSender | None = None,
    existing: bool = False,
) -> Runtime:
    """Open (and, on first start, create) the data directory and wire the runtime.

    ``clock`` replaces the system clock and ``sender`` the SMS sender the settings name
    (tests, demo data, benchmarks). With ``existing`` (read-only commands) a folder that
    is not a data directory is refused, and nothing is created.
    """
    if existing and settings.store_backend != "firestore":  # Firestore holds the log itself
        existing_log(settings.data_dir, settings.wal_path)
    ensure_data_dir(settings.data_dir)
    ctx = make_context(
        settings.data_dir,
        clock=clock,
        store=open_store(settings),
        lock_timeout=settings.wal_lock_timeout,
        lease_seconds=settings.lease_seconds,
    )
    report = ctx.pipeline.open_report
    if report is not None and report.torn_bytes:
        log.warning("WAL: %s", report.torn_detail)
    stats = StatsCollector()
    stats.register("wal_entries", lambda: ctx.pipeline.wal.head()[0])
    stats.register("locks_held", lambda: [h.name for h in ctx.locks.held()])
    services = Services.build(ctx, settings, sender=sender)
    queue = LoanQueue(ctx, settings.scheduler_workers, service=services.loans)
    stats.register("queue_depth", queue.depth)
    daily = Housekeeping(services.loans, services.recovery)
    return Runtime(settings, ctx, stats, services, queue, daily)
