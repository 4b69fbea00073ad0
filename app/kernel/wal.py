"""The write-ahead log: an append-only, hash-chained, fsync'd record of every change.

File format
-----------
One record per line, UTF-8 (in fact pure ASCII), each line::

    <hash> <body>\\n

``<hash>`` is 64 lowercase hex characters, then exactly one space, then ``<body>``:
canonical JSON as Python's ``json.dumps(..., ensure_ascii=True, separators=(",", ":"),
sort_keys=True, allow_nan=False)`` writes it (no whitespace; non-ASCII characters as
``\\uXXXX``; keys of nested objects sorted by code point; NaN and infinities refused),
except that the top-level keys come in this fixed order::

    {"lsn":N,"prev":"<64 hex>","ts":"YYYY-MM-DDTHH:MM:SS.ffffffZ",
     "actor":{"id":..,"name":..,"role":..},"action":"..","entity":{"id":..,"type":..},
     "change":{..},"reason":".."}

* ``lsn``: log sequence number, 1 for the first record, +1 for each record.
* ``prev``: the hash of the record before; for lsn 1 it is ``GENESIS`` (64 zeros).
* ``ts``: when the record's batch was written (all records of a batch share it),
  UTC with microseconds and ``Z``.
* ``actor``: who did it (id, name, role); ``action``: what was done;
  ``entity``: what it was done to (type, id); ``change``: any JSON object
  describing the change; ``reason``: why, as text (may be empty).

``hash`` = hex SHA-256 of (``prev`` as its 64 ASCII bytes, followed by the body
bytes). Changing, removing, inserting or reordering any record breaks the chain.

How to verify a log (no JSON parser needed)
-------------------------------------------
Start with ``prev = GENESIS`` and ``lsn = 1``. For each line: split at the first
space into ``hash`` and ``body`` (drop the newline); check that ``hash`` equals
``sha256(prev + body).hexdigest()`` and that ``body`` starts with
``{"lsn":<lsn>,"prev":"<prev>"``; then ``prev = hash``, ``lsn += 1``.
``verify_file`` does exactly this, lists every broken record (after a broken
record it goes on from that record's stored hash, so one changed byte names one
record) and never changes the file.

Durability and group commit
---------------------------
A record is acknowledged (its ``append`` returns, its future resolves) only after
the bytes are on disk (``fdatasync``). Entries are checked and JSON-encoded in the
caller's thread, then queued. One batch at a time is written per ``WriteAheadLog``
(see ``wal_writer``): a caller of ``append`` that finds no batch in progress writes
its own entry at once, in its own thread; callers that arrive meanwhile queue up
and wait, and one of them then writes everything queued as the next batch, with
one ``write`` and one ``fdatasync`` (group commit), and wakes the others.
``submit`` returns a future at once; a helper thread writes a batch when only
submitted entries are waiting.
If the write or the sync fails (disk full, I/O error), the file is cut back to its
last good record and every caller in the batch gets a ``StorageError``.

Hooks
-----
``BatchHooks`` keep the owner of the log (the document store) in step with it. All
three run in the thread writing the batch while the lock is held, one batch at a
time. ``catch_up(head_lsn)`` runs at ``open``, whenever the file grew through
another process, and before the next batch after a failed ``after_append``.
``before_append(entries)`` may reject single entries: that caller gets the exception
and nothing is written for it.
``after_append(records)`` applies the durable records; if it raises, the callers
get a ``StorageError`` saying that their records are saved.

Several processes
-----------------
Processes sharing a data folder take turns: each batch is written while holding an
exclusive ``flock`` on ``<log>.lock`` (see ``wal_lock``). Writers wait for the lock,
but only ``lock_timeout`` seconds; then the batch fails with ``LockHeld`` naming the
holder (pid, host, since when). A bounded wait keeps a stuck process from hanging
everyone silently. After taking the lock, a writer that finds the file grown reads
the new records (checking their chain) and calls ``hooks.catch_up(head_lsn)``
before writing its own.

The Merkle tree
---------------
Beside the log, ``<log>.tree`` (``wal.tree``) keeps the log's RFC 6962 Merkle tree
(leaf ``i`` is line ``i`` without its newline). It is brought in step at ``open`` and
extended after each durable batch, under the same lock (see ``log_tree``); it is
derived data and mends itself from the log. Signed checkpoints and proofs over it
are in ``tlog``.

Crashes and damage
------------------
A crash in the middle of a write can leave a torn last record: a last line with no
newline, or a last line that fails its check; such a record was never acknowledged.
``open`` finds it and says so in its ``OpenReport`` but leaves the file as it is: the
first batch written cuts it (under the lock, before appending). A program that opens
the log and then refuses to start, or only reads, so never changes the file. Damage
anywhere else is never repaired: ``open`` refuses with a ``StorageError`` that points
to ``tfos wal verify``.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType

from app.kernel.errors import StorageError
from app.kernel.files import PRIVATE_DIR, PRIVATE_FILE, fsync_dir
from app.kernel.log_tree import LogTree, TreeReport, tree_path
from app.kernel.wal_format import GENESIS, Entry, Record, check_record_size, encode_entry, utcnow
from app.kernel.wal_lock import WalLock, WalLockHeld
from app.kernel.wal_scan import (
    START,
    Tip,
    TornTail,
    find_tail,
    follow,
    last_lsn,
    read_records,
)
from app.kernel.wal_verify import PARALLEL_MIN_BYTES, VerifyReport, can_use_workers, verify_file
from app.kernel.wal_writer import (
    BatchHooks,
    BatchWriter,
    GroupCommit,
    LogMismatch,
    ResultTarget,
    not_open,
)

__all__ = [
    "GENESIS",
    "BatchHooks",
    "Entry",
    "LogMismatch",
    "OpenReport",
    "Record",
    "VerifyReport",
    "WalLockHeld",
    "WalStats",
    "WriteAheadLog",
    "last_lsn",
    "utcnow",
    "verify_file",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OpenReport:
    """What ``open`` found: the head of the log and any torn record after it (which
    the next write cuts)."""

    entries: int
    head_lsn: int
    head_hash: str
    torn_bytes: int = 0
    torn_detail: str = ""
    torn_lsn: int | None = None


@dataclass(frozen=True)
class WalStats:
    """Counters since ``open``: ``commits`` records in ``fsyncs`` batches."""

    entries: int
    bytes: int
    commits: int
    fsyncs: int

    @property
    def avg_batch(self) -> float:
        return self.commits / self.fsyncs if self.fsyncs else 0.0

    def to_dict(self) -> dict[str, float]:
        return {
            "entries": self.entries,
            "bytes": self.bytes,
            "commits": self.commits,
            "fsyncs": self.fsyncs,
            "avg_batch": round(self.avg_batch, 2),
        }


class WriteAheadLog:
    """An append-only, hash-chained log with group commit (thread-safe)."""

    def __init__(
        self,
        path: Path,
        *,
        hooks: BatchHooks | None = None,
        clock: Callable[[], datetime] = utcnow,
        lock_timeout: float = 10.0,
        keep_tree: bool = True,
        max_record_bytes: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.max_record_bytes = max_record_bytes
        self._hooks = hooks
        self._tree = LogTree(tree_path(self.path), self.path) if keep_tree else None
        self.tree_report: TreeReport | None = None
        self._clock = clock
        self._lock_timeout = lock_timeout
        self._state = "new"
        self._fd = -1
        self._lock: WalLock | None = None
        self._tip = START
        self._batches: BatchWriter | None = None
        self._group: GroupCommit | None = None
        self._extending = threading.Lock()

    # -- lifecycle -----------------------------------------------------------------

    def open(self) -> OpenReport:
        """Check the log, find a torn last record, catch the hooks up, start writing.

        Raises:
            StorageError: the log cannot be opened or is damaged before its last record.
            LockHeld: another process kept the log locked for ``lock_timeout`` seconds.
        """
        if self._state != "new":
            raise StorageError(f"The write-ahead log {self.path} was already opened.")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
            created = not self.path.exists()
            flags = os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
            fd = os.open(self.path, flags, PRIVATE_FILE)
        except OSError as exc:
            raise StorageError(
                f"Cannot open the write-ahead log {self.path}: {exc.strerror}.",
                hint="Check that the data folder exists and that you may write to it.",
            ) from exc
        try:
            if created:
                fsync_dir(self.path.parent)
            lock = WalLock(self.path.with_name(self.path.name + ".lock"), self.path)
            try:
                torn = self._recover(fd, lock)
            except BaseException:
                lock.close()
                raise
        except BaseException:
            os.close(fd)
            raise
        self._fd, self._lock = fd, lock
        self._batches = BatchWriter(
            self.path,
            fd,
            lock,
            self._tip,
            hooks=self._hooks,
            clock=self._clock,
            lock_timeout=self._lock_timeout,
            observer=self._tree,
        )
        self._group = GroupCommit(self._batches)
        self._state = "open"
        return self._open_report(torn)

    def _recover(self, fd: int, lock: WalLock) -> TornTail | None:
        tip = self._check_chain(fd)
        lock.acquire(self._lock_timeout)
        try:
            self._tip, torn = find_tail(fd, self.path, tip)
            if torn is not None:
                log.warning("%s", torn.detail)
            if self._hooks is not None:
                self._hooks.catch_up(self._tip.lsn)
            self._reconcile_tree()
        finally:
            lock.release()
        return torn

    def _reconcile_tree(self) -> None:
        if self._tree is None:
            return
        try:
            self.tree_report = self._tree.reconcile(self._tip)
        except Exception:  # derived data: mended before the next batch
            log.exception("Could not bring the log's Merkle tree in step with the log")

    def _check_chain(self, fd: int) -> Tip:
        """The last good record, found without the lock (big logs in parallel)."""
        size = os.fstat(fd).st_size
        if size >= PARALLEL_MIN_BYTES and can_use_workers():
            report = verify_file(self.path)
            if not report.broken:
                end = report.bytes if report.torn_tail is None else report.torn_tail["offset"]
                return Tip(report.head_lsn, report.head_hash.encode(), end)
        return follow(fd, START, size)[0]

    def _open_report(self, torn: TornTail | None) -> OpenReport:
        lsn, digest = self.head()
        if torn is None:
            return OpenReport(lsn, lsn, digest)
        return OpenReport(lsn, lsn, digest, torn.size, torn.detail, torn.lsn)

    def close(self) -> None:
        """Write everything already submitted, then close the file (idempotent)."""
        if self._group is None or not self._group.close():
            self._state = "closed"
            return
        os.close(self._fd)
        if self._lock is not None:
            self._lock.close()
        if self._tree is not None:
            self._tree.close()
        self._state = "closed"

    def __enter__(self) -> WriteAheadLog:
        if self._state == "new":
            self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- callers -------------------------------------------------------------------

    def submit(self, entry: Entry) -> Future[Record]:
        """Queue ``entry``; the future resolves to its durable record.

        Raises:
            ValidationError: the entry is malformed (nothing is queued).
            StorageError: the log is not open.
        """
        future: Future[Record] = Future()
        self._enqueue(entry, future)
        return future

    def _enqueue(self, entry: Entry, target: ResultTarget) -> None:
        """Check, encode and queue ``entry`` without blocking; the outcome goes to ``target``."""
        tail = encode_entry(entry)
        check_record_size(tail, self.max_record_bytes)
        self._open_group().put((entry, tail, target), can_lead=False)

    def append(self, entry: Entry) -> Record:
        """Write ``entry`` and wait until it is durable (safe from any thread but a hook).

        Raises:
            ValidationError: the entry is malformed or too large (nothing is written).
            StorageError: the log is not open, or the batch could not be saved or applied.
            LockHeld: another process kept the log locked for ``lock_timeout`` seconds.
        """
        tail = encode_entry(entry)
        check_record_size(tail, self.max_record_bytes)
        return self._open_group().append(entry, tail)

    def extend(self, lines: list[bytes]) -> int:
        """Append records made elsewhere, for a log that mirrors one kept elsewhere (and
        that nothing is appended to); returns the head lsn.

        ``lines`` are whole lines (newline included) of consecutive records; those at or
        before the head are skipped (the one at the head must be the head), the rest must
        continue the chain: lsn, prev and hash are checked as the verifier checks them.
        They are written with one write and one ``fdatasync``, under the lock.

        Raises:
            LogMismatch: a line does not continue this log (nothing is written).
            StorageError: the log is not open, or the disk refused.
        """
        self._open_group()
        assert self._batches is not None
        with self._extending:
            return self._batches.extend(lines)

    def _open_group(self) -> GroupCommit:
        group = self._group
        if group is None:
            raise not_open(self.path, self._state)
        return group

    @property
    def tree(self) -> LogTree | None:
        """The log's Merkle tree (``None`` when made with ``keep_tree=False``)."""
        return self._tree

    def head(self) -> tuple[int, str]:
        """The lsn and hash of the last record this process knows of."""
        tip = self._current()
        return tip.lsn, tip.hash.decode()

    def read(self, from_lsn: int = 1, to_lsn: int | None = None) -> Iterator[Record]:
        """Records ``from_lsn`` to ``to_lsn`` (both included; default up to the head)."""
        stop = self._current().end if self._state == "open" else None
        return read_records(self.path, max(from_lsn, 1), to_lsn, stop)

    def stats(self) -> WalStats:
        batches = self._batches
        tip = self._current()
        if batches is None:
            return WalStats(tip.lsn, tip.end, 0, 0)
        return WalStats(tip.lsn, tip.end, batches.commits, batches.fsyncs)

    def _current(self) -> Tip:
        return self._batches.tip if self._batches is not None else self._tip
