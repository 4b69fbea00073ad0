"""What every service is given: store, pipeline, clock, locks, ids, data dir, PII vault,
and the signed checkpoints over the WAL.

A store on one machine (SQLite) gets the data directory's WAL and OS locks; a store that
several machines share (Firestore) brings its own log and leases
(:class:`~app.services.commit_log.SharedStore`), and every machine on it must hold the
same personal-data key (``keys/pii.key``): a machine with another one is refused at
start, before it could seal a value the others cannot read."""

from __future__ import annotations

import random
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Protocol

from app.kernel.files import PRIVATE_DIR
from app.kernel.leases import Leases
from app.kernel.locks import LockManager
from app.kernel.office_time import INDIA
from app.kernel.tlog import TransparencyLog
from app.kernel.wal import utcnow
from app.services.commit_log import SharedStore
from app.services.pii import PiiVault
from app.services.pipeline import Pipeline
from app.services.store import DocumentStore

IST = INDIA
"""India's zone: the books' calendar (due dates, days late, "today")."""


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def today(self) -> date:
        """Today's date in India (the firm's calendar)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return self.now().astimezone(IST).date()


class FixedClock:
    """A hand-set clock for tests and demo data; ``advance`` moves it forward."""

    def __init__(self, at: datetime) -> None:
        self._now = at if at.tzinfo else at.replace(tzinfo=UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def today(self) -> date:
        return self.now().astimezone(IST).date()

    def advance(self, **delta: float) -> None:
        with self._lock:
            self._now += timedelta(**delta)

    def set(self, at: datetime) -> None:
        with self._lock:
            self._now = at if at.tzinfo else at.replace(tzinfo=UTC)


class IdGen:
    """Short unique ids with a readable prefix ("loan-3f9a1c2b"); seeded for demo data."""

    def __init__(self, seed: int | None = None) -> None:
        self._rng = random.Random(seed) if seed is not None else None
        self._lock = threading.Lock()

    def new(self, prefix: str) -> str:
        if self._rng is None:
            return f"{prefix}-{secrets.token_hex(5)}"
        with self._lock:
            return f"{prefix}-{self._rng.getrandbits(40):010x}"


@dataclass
class ServiceContext:
    store: DocumentStore
    pipeline: Pipeline
    clock: Clock
    locks: Leases
    ids: IdGen
    data_dir: Path
    pii: PiiVault
    transparency: TransparencyLog | None = None
    """Signed checkpoints and proofs over the WAL (started by ``make_context``)."""

    @property
    def documents_dir(self) -> Path:
        return self.data_dir / "documents"


def make_context(
    data_dir: Path,
    *,
    clock: Clock | None = None,
    ids: IdGen | None = None,
    store: DocumentStore | None = None,
    lock_timeout: float = 10.0,
    lease_seconds: float = 15.0,
    log_clock: Callable[[], datetime] | None = None,
) -> ServiceContext:
    """A real context (SQLite store unless ``store`` is given, and the pipeline over its
    log) on ``data_dir``, with the log opened and the store in step with it; close with
    :func:`close_context`. ``log_clock`` stamps the log's records (default: the system
    clock; tests that need records written on given days pass their clock's ``now``)."""
    for sub in ("", "wal", "locks", "documents", "keys"):
        (data_dir / sub).mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    if store is None:
        from app.services.store.sqlite import SqliteStore

        store = SqliteStore(data_dir / "store.sqlite3")
    pipeline = Pipeline(
        store, data_dir / "wal" / "wal.log", lock_timeout=lock_timeout, clock=log_clock or utcnow
    )
    try:
        pipeline.open()
    except BaseException:
        store.close()
        raise
    transparency = TransparencyLog(
        pipeline.wal,
        key_path=data_dir / "keys" / "checkpoint.key",
        checkpoints_dir=data_dir / "checkpoints",
    )
    transparency.start()
    pii = PiiVault(data_dir / "keys" / "pii.key")
    locks: Leases
    if isinstance(store, SharedStore):
        try:
            store.agree_key("personal-data", pii.key_id, pii.key_path)
        except BaseException:
            transparency.close()
            pipeline.close()
            store.close()
            raise
        locks = store.leases(ttl=lease_seconds)
    else:
        locks = LockManager(data_dir / "locks")
    return ServiceContext(
        store=store,
        pipeline=pipeline,
        clock=clock or SystemClock(),
        locks=locks,
        ids=ids or IdGen(),
        data_dir=data_dir,
        pii=pii,
        transparency=transparency,
    )


def close_context(ctx: ServiceContext) -> None:
    if ctx.transparency is not None:
        ctx.transparency.close()
    ctx.pipeline.close()
    ctx.store.close()
