"""Where the pipeline's change sets become records: the log port, and the local log.

The pipeline turns a change set into a log entry and what must hold when it is written
(:class:`Pending`: the versions the change read, its writes, the leases it was made
under) and hands both to its :class:`CommitLog`. Two logs implement the port:

* :class:`LocalLog`, for a store on one machine (SQLite): the data directory's WAL file.
  Its writer thread, under the WAL's cross-process lock, checks each change's versions
  against the store, appends and fsyncs the batch once (group commit), then applies the
  batch to the store in one transaction that also records the last applied sequence
  number; records the store has not applied are replayed at open and whenever another
  process's append is noticed (see :mod:`app.services.pipeline`).
* :class:`~app.services.store.firestore_log.FirestoreLog`, for a store several machines
  share (Firestore): one Firestore commit per batch creates the records, writes the
  documents and advances the log's head, each conditional on what was read, so a change
  and its record are one atomic write and no two writers can fork the chain; the data
  directory's WAL file is a verified mirror of the records.

Either way :attr:`CommitLog.wal` is the data directory's ``wal.log``: what the audit
viewer, the README's verifier and the signed checkpoints read. A store that spans
machines brings its own log and leases (:class:`SharedStore`); :func:`log_for` picks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from app.kernel.errors import Conflict, NotFound, StorageError
from app.kernel.wal import Entry, OpenReport, Record, WriteAheadLog
from app.services.store import DocumentStore, Write
from app.services.store.limits import MAX_RECORD_BYTES

if TYPE_CHECKING:
    from app.kernel.leases import Lease, Leases

Key = tuple[str, str]
REPLAY_CHUNK = 500


@dataclass
class Pending:
    """What must hold when a change's record is written, and what it writes."""

    checks: dict[Key, int]
    writes: list[Write]
    leases: Sequence[Lease] = field(default_factory=tuple)


class PreconditionFailed(Conflict):
    """A document read by a transaction changed before its commit (retryable)."""


class CommitLog(Protocol):
    """The log a pipeline writes through (see the module docstring)."""

    @property
    def wal(self) -> WriteAheadLog:
        """The data directory's log file: the log itself, or its verified mirror."""
        ...

    def open(self) -> OpenReport: ...

    def append(self, entry: Entry, pending: Pending) -> Record:
        """Write ``entry`` once ``pending`` holds; its durable record.

        Raises:
            PreconditionFailed: a version read has moved (the transaction runs again).
            KnownError: refused, or not saved; nothing of it was written.
        """
        ...

    def head(self) -> tuple[int, str]:
        """The lsn and hash of the newest record this process knows of."""
        ...

    def read(self, first: int, last: int | None = None) -> Iterator[Record]:
        """Records ``first`` to ``last`` (default: to the head)."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class SharedStore(Protocol):
    """A store that several machines share: it keeps the log and the leases itself."""

    def commit_log(
        self, wal_path: Path, *, clock: Callable[[], datetime], lock_timeout: float
    ) -> CommitLog: ...

    def leases(self, *, ttl: float) -> Leases: ...

    def agree_key(self, name: str, key_id: str, path: Path) -> None:
        """Refuse a machine whose key ``name`` is not the one the shared data uses."""
        ...


def log_for(
    store: DocumentStore,
    wal_path: Path,
    *,
    clock: Callable[[], datetime],
    lock_timeout: float,
) -> CommitLog:
    """The store's own log if it spans machines, else the data directory's WAL."""
    if isinstance(store, SharedStore):
        return store.commit_log(wal_path, clock=clock, lock_timeout=lock_timeout)
    return LocalLog(store, wal_path, clock=clock, lock_timeout=lock_timeout)


class LocalLog:
    """The data directory's WAL, applied to a store on this machine (see the module
    docstring). It is the WAL's :class:`~app.kernel.wal.BatchHooks`."""

    def __init__(
        self,
        store: DocumentStore,
        wal_path: Path,
        *,
        clock: Callable[[], datetime],
        lock_timeout: float,
    ) -> None:
        self.store = store
        self._wal = WriteAheadLog(
            wal_path,
            hooks=self,
            clock=clock,
            lock_timeout=lock_timeout,
            max_record_bytes=MAX_RECORD_BYTES,
        )
        self._pending: dict[int, Pending] = {}
        self._store_behind = False
        self._checked = False  # the batch being appended came through the pipeline

    @property
    def wal(self) -> WriteAheadLog:
        return self._wal

    def open(self) -> OpenReport:
        """Open the WAL and replay what the store has not applied (a torn last record is
        only reported: the first write cuts it)."""
        return self._wal.open()

    def close(self) -> None:
        self._wal.close()

    def append(self, entry: Entry, pending: Pending) -> Record:
        self._pending[id(entry)] = pending
        try:
            return self._wal.append(entry)
        finally:
            self._pending.pop(id(entry), None)

    def head(self) -> tuple[int, str]:
        return self._wal.head()

    def read(self, first: int, last: int | None = None) -> Iterator[Record]:
        return self._wal.read(first, last)

    # -- BatchHooks: called by the WAL writer thread under the WAL lock ---------------

    def catch_up(self, head_lsn: int) -> None:
        """Apply WAL records the store has not applied yet (after a crash or another
        process's append that did not reach the store)."""
        applied = self.store.last_applied_lsn()
        if applied > head_lsn:
            raise StorageError(
                f"The store has applied sequence number {applied} but the WAL ends at "
                f"{head_lsn}: the WAL has lost records.",
                hint="Run `tfos wal verify` and restore the WAL from a backup.",
            )
        replay(self.store, self._wal.read(applied + 1, head_lsn))
        self._store_behind = False

    def before_append(self, entries: list[Entry]) -> list[Exception | None]:
        if self._store_behind:
            self.catch_up(self._wal.head()[0])
        pending = [self._pending.get(id(e), _NOTHING) for e in entries]
        self._checked = all(p is not _NOTHING for p in pending)
        keys = {key for p in pending for key in _keys(p)}
        current = self.store.versions(keys) if keys else {}
        return [check(p, current) for p in pending]

    def after_append(self, records: list[Record]) -> None:
        """Apply the batch just appended; the pipeline checked its writes against the
        store limits when every entry came through it (see :meth:`before_append`)."""
        checked, self._checked = self._checked, False
        try:
            apply_records(self.store, records, checked=checked)
        except Exception:
            self._store_behind = True
            raise


_NOTHING = Pending({}, [])


def apply_records(
    store: DocumentStore, records: Sequence[Record], *, checked: bool = False
) -> None:
    """Apply the writes of ``records`` (in order, one store transaction) and record the
    last one's lsn as applied; ``checked``: see :meth:`DocumentStore.commit`."""
    writes = [Write.from_json(w) for r in records for w in r.change.get("writes", ())]
    store.commit(writes, last_lsn=records[-1].lsn, checked=checked)


def replay(store: DocumentStore, records: Iterable[Record]) -> int:
    """Apply ``records`` in order, ``REPLAY_CHUNK`` at a time; the last lsn applied (0 if
    there was none)."""
    batch: list[Record] = []
    last = 0
    for record in records:
        batch.append(record)
        if len(batch) >= REPLAY_CHUNK:
            apply_records(store, batch)
            last, batch = batch[-1].lsn, []
    if batch:
        apply_records(store, batch)
        last = batch[-1].lsn
    return last


def _keys(pending: Pending) -> Iterable[Key]:
    yield from pending.checks
    for write in pending.writes:
        yield (write.collection, write.id)


def check(pending: Pending, current: dict[Key, int]) -> Exception | None:
    """Check one change against ``current`` versions; on success, advance them so the
    next change in the same batch sees this one's effect."""
    for key, expected in pending.checks.items():
        if current.get(key, 0) != expected:
            return PreconditionFailed(
                f"{key[0]}/{key[1]} changed (version {current.get(key, 0)}, read {expected})"
            )
    for write in pending.writes:
        key = (write.collection, write.id)
        if write.kind == "update" and current.get(key, 0) == 0:
            return NotFound(f"Cannot update {key[0]}/{key[1]}: it does not exist.")
    for write in pending.writes:
        key = (write.collection, write.id)
        current[key] = 0 if write.kind == "delete" else current.get(key, 0) + 1
    return None
