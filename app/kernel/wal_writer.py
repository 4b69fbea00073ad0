"""Group commit for the write-ahead log: leader/follower, one batch per lock hold.

A blocking ``append`` that finds no batch in progress claims the lead and commits
its own entry directly (``commit_one``: no queue, no result object). Callers
arriving meanwhile queue their entries and wait; when a batch is done the leader
hands the lead to one of them, which takes everything that queued up meanwhile as
the next batch. A lone writer so never hands its request to another thread and
back. Entries from ``submit`` (futures, asyncio slots) never lead in their caller's
thread (it must not block): when one of them is next, a helper thread leads.

For each batch: take the lock (waiting at most ``lock_timeout``), take in records
other processes appended (and let the hooks catch up), let the hooks reject
entries, chain the rest, write them with one ``write`` and one ``fdatasync``, add
them to the observer (the log's Merkle tree), let the hooks apply them, release the
lock, hand on the lead, wake the callers.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
from _thread import allocate_lock
from collections.abc import Callable
from datetime import datetime
from hashlib import sha256
from pathlib import Path
from queue import SimpleQueue
from typing import Any, Protocol

from app.kernel.errors import KnownError, StorageError
from app.kernel.wal_format import Entry, Record, format_ts, make_record, utc_stamp, utcnow
from app.kernel.wal_lock import WalLock
from app.kernel.wal_scan import LSN_AT, Tip, settle_tail, walk

log = logging.getLogger("app.kernel.wal")
_fdatasync: Callable[[int], None] = getattr(os, "fdatasync", os.fsync)
_BODY = b'{"lsn":%d,"prev":"%s","ts":"%s"%s'
_DISK_PROBLEMS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EFBIG: "the file has reached the largest size allowed",
    errno.EIO: "the disk reported an input/output error",
    errno.EROFS: "the disk is read-only",
}


class BatchHooks(Protocol):
    """What the owner of the log (the store) does around each batch, under the lock."""

    def catch_up(self, head_lsn: int) -> None:
        """Apply records up to ``head_lsn`` written by others (at open, or found new)."""

    def before_append(self, entries: list[Entry]) -> list[Exception | None]:
        """One verdict per entry: an exception rejects that entry alone."""

    def after_append(self, records: list[Record]) -> None:
        """Apply the records just made durable."""


class LogObserver(Protocol):
    """Data derived from the log and kept in step under its lock (its Merkle tree)."""

    def appended(self, first_lsn: int, lines: bytes) -> None:
        """Take in durable ``lines`` holding records ``first_lsn`` onwards (never raises)."""


class Batches(Protocol):
    """What commits a batch for :class:`GroupCommit` (the file's ``BatchWriter``, or a
    log kept elsewhere)."""

    path: Path

    def commit(self, batch: list[Pending]) -> Outcome:
        """Commit ``batch``; the outcome for each live entry (never raises)."""

    def commit_one(self, entry: Entry, tail: bytes) -> Record:
        """Commit one entry for a caller that found no batch in progress."""


class ResultTarget(Protocol):
    """Where the writer reports one entry's outcome (a ``Future`` is one)."""

    def set_running_or_notify_cancel(self) -> bool: ...

    def set_result(self, result: Record) -> None: ...

    def set_exception(self, exception: BaseException | None) -> None: ...


Pending = tuple[Entry, bytes, ResultTarget]
"""A queued entry: the entry, its encoded tail, where to report."""
Outcome = list[tuple[ResultTarget, Any]]


class Waiter:
    """A blocking ``append``'s target: a bare lock, let go once the entry is done or
    once its thread is to lead (cheaper than a ``Future``)."""

    __slots__ = ("_ready", "error", "gone", "lead", "value")

    def __init__(self) -> None:
        self._ready = allocate_lock()
        self._ready.acquire()
        self.value: Record | None = None
        self.error: BaseException | None = None
        self.lead = False
        self.gone = False

    def set_running_or_notify_cancel(self) -> bool:
        return True

    def set_result(self, result: Record) -> None:
        self.value = result
        self._ready.release()

    def set_exception(self, exception: BaseException | None) -> None:
        self.error = exception
        self._ready.release()

    def promote(self) -> None:
        self.lead = True
        self._ready.release()

    def wait(self) -> bool:
        """Block until done (``False``) or asked to lead (``True``)."""
        self._ready.acquire()
        return self.lead

    def outcome(self) -> Record:
        if self.error is not None:
            raise self.error
        assert self.value is not None, "a WAL entry was left without an outcome"
        return self.value


class GroupCommit:
    """The queue of entries and who leads: one batch at a time per log object."""

    def __init__(self, batches: Batches) -> None:
        self.batches = batches
        self._mutex = threading.Lock()
        self._queue: list[Pending] = []
        self._leading = False
        self._leader = 0
        self._state = "open"
        self._idle: Any = None
        self._jobs: SimpleQueue[bool] = SimpleQueue()
        self._helper = threading.Thread(target=self._help, name="wal-writer", daemon=True)
        self._helper.start()

    def append(self, entry: Entry, tail: bytes) -> Record:
        """Commit ``entry`` (encoded as ``tail``) and wait for its record: at once when no
        batch is in progress, else with the next batch (see the module docstring)."""
        if self.claim():
            try:
                return self.batches.commit_one(entry, tail)
            finally:
                self.unclaim()
        if self.is_leading():
            raise RuntimeError("append() from inside a log hook would wait for itself forever")
        waiter = Waiter()
        if self.put((entry, tail, waiter), can_lead=True) or self.wait(waiter):
            self.lead()
        return waiter.outcome()

    def put(self, item: Pending, *, can_lead: bool) -> bool:
        """Queue ``item``; ``True`` when the caller must now ``lead``.

        Raises:
            StorageError: the log is closing or closed.
        """
        with self._mutex:
            if self._state != "open":
                raise not_open(self.batches.path, self._state)
            self._queue.append(item)
            if self._leading:
                return False
            self._leading = True
        if can_lead:
            return True
        self._jobs.put(True)
        return False

    def claim(self) -> bool:
        """Lead at once, with nothing queued, when no batch is in progress (``True``).

        The caller then writes its own entry directly and calls ``unclaim``; callers
        arriving meanwhile queue up as usual and get the lead handed on.

        Raises:
            StorageError: the log is closing or closed.
        """
        with self._mutex:
            if self._state != "open":
                raise not_open(self.batches.path, self._state)
            if self._leading:
                return False
            self._leading = True
        self._leader = threading.get_ident()
        return True

    def unclaim(self) -> None:
        """End a ``claim``: hand the lead to whoever queued meanwhile."""
        self._pass_lead(self._leader)

    def is_leading(self) -> bool:
        """Whether the calling thread is running a batch (so it may not wait on one)."""
        return self._leader == threading.get_ident()

    def lead(self) -> None:
        """Commit batches while this thread holds the lead, then hand it on."""
        me = threading.get_ident()
        again = True
        while again:
            with self._mutex:
                batch, self._queue = self._queue, []
            self._leader = me
            outcome: Outcome = []
            try:
                outcome = self.batches.commit(batch)
            finally:
                again = self._pass_lead(me)
            resolve(outcome)

    def _pass_lead(self, me: int) -> bool:
        """Give the lead to a waiting caller or the helper; ``True``: keep it."""
        with self._mutex:
            queue = self._queue
            if queue and me == self._helper.ident:
                return True
            self._leader = 0
            if not queue:
                self._leading = False
                if self._idle is not None:
                    self._idle.release()
                    self._idle = None
                return False
            for item in queue:
                target = item[2]
                if type(target) is Waiter and not target.gone:
                    target.promote()
                    return False
        self._jobs.put(True)
        return False

    def wait(self, waiter: Waiter) -> bool:
        """``waiter.wait()``; if the wait is interrupted, the lead it got or gets goes on."""
        try:
            return waiter.wait()
        except BaseException:
            with self._mutex:
                waiter.gone = True
                promoted = waiter.lead
            if promoted:
                self._jobs.put(True)
            raise

    def _help(self) -> None:
        while self._jobs.get():
            self.lead()

    def close(self) -> bool:
        """Refuse new entries, wait until everything queued is committed, stop the helper.

        Returns ``True`` to the one caller that did it; later calls return ``False``.
        """
        with self._mutex:
            if self._state != "open":
                return False
            if self.is_leading():
                raise RuntimeError("close() from inside a WAL hook would wait for itself")
            self._state = "closing"
            idle = None
            if self._leading:
                idle = self._idle = allocate_lock()
                idle.acquire()
        if idle is not None:
            idle.acquire()
        self._jobs.put(False)
        self._helper.join()
        self._state = "closed"
        return True


def resolve(outcome: Outcome) -> None:
    """Hand each caller its record or its error; an interrupt waits until all have theirs."""
    interrupt: BaseException | None = None
    for target, value in outcome:
        try:
            if isinstance(value, BaseException):
                target.set_exception(value)
            else:
                target.set_result(value)
        except Exception:
            log.exception("Could not hand a write-ahead log result to its caller")
        except BaseException as exc:
            interrupt = exc
    if interrupt is not None:
        raise interrupt


def not_open(path: Path, state: str) -> StorageError:
    return StorageError(
        f"The write-ahead log {path} is not open ({state}).",
        hint="Open it before writing; nothing was written.",
    )


class BatchWriter:
    """What the leading thread works on: the file, the lock, the tip, the counters."""

    def __init__(
        self,
        path: Path,
        fd: int,
        lock: WalLock,
        tip: Tip,
        *,
        hooks: BatchHooks | None,
        clock: Callable[[], datetime],
        lock_timeout: float,
        observer: LogObserver | None = None,
    ) -> None:
        self.path = path
        self.tip = tip
        self.commits = 0
        self.fsyncs = 0
        self._fd = fd
        self._lock = lock
        self._hooks = hooks
        self._observer = observer
        self._stamp = utc_stamp if clock is utcnow else lambda: format_ts(clock())
        self._lock_timeout = lock_timeout
        self._stale = False
        self._failed = ""

    def commit(self, batch: list[Pending]) -> Outcome:
        """Commit ``batch`` under the lock; the outcome for each live entry (never raises)."""
        try:
            live = [item for item in batch if item[2].set_running_or_notify_cancel()]
        except BaseException as exc:
            return self._failure(batch, exc)
        if not live:
            return []
        try:
            self._take_lock()
        except BaseException as exc:
            return self._failure(live, exc)
        try:
            return self._locked_commit(live)
        except BaseException as exc:
            return self._failure(live, exc)
        finally:
            self._lock.release()

    def commit_one(self, entry: Entry, tail: bytes) -> Record:
        """Commit one entry under the lock, as ``commit`` would a batch of one; for a
        caller that found no batch in progress (no queue, no result target).

        Raises:
            KnownError: the lock, a hook or the disk refused; nothing was written, or
                (``StorageError``) the record is durable but could not be applied.
        """
        try:
            self._take_lock()
        except BaseException as exc:
            _log_unknown(exc)
            raise
        try:
            self._sync()
            refusal = self._verdicts([entry])[0] if self._hooks is not None else None
            if refusal is None:
                record, data = self._encode_one(entry, tail)
                self._write(data)
                self._advance([record], data)
                refusal = self._apply([record])
        except BaseException as exc:
            _log_unknown(exc)
            raise
        finally:
            self._lock.release()
        if refusal is not None:
            raise refusal
        return record

    def extend(self, lines: list[bytes]) -> int:
        """Append records made elsewhere (see ``WriteAheadLog.extend``); the new head lsn.

        Raises:
            LogMismatch: a line does not continue this log's chain.
            StorageError: the disk refused; nothing was written.
        """
        self._take_lock()
        try:
            self._sync()
            fresh = unseen(lines, self.tip, self.path)
            if fresh:
                data = b"".join(fresh)
                end, lsn, digest = walk(data, 0, self.tip.lsn, self.tip.hash)
                if end != len(data):
                    raise mismatch(self.path, lsn + 1, "does not continue the chain here")
                self._write(data)
                first = self.tip.lsn + 1
                self.tip = Tip(lsn, digest, self.tip.end + len(data))
                self.commits += len(fresh)
                self.fsyncs += 1
                if self._observer is not None:
                    self._observer.appended(first, data)
            return self.tip.lsn
        finally:
            self._lock.release()

    def _take_lock(self) -> None:
        if self._failed:
            raise StorageError(self._failed, hint=_RESTART_HINT)
        self._lock.acquire(self._lock_timeout)

    def _locked_commit(self, live: list[Pending]) -> Outcome:
        self._sync()
        accepted, outcome = self._screen(live)
        if accepted:
            outcome += self._append(accepted)
        return outcome

    @staticmethod
    def _failure(live: list[Pending], exc: BaseException) -> Outcome:
        _log_unknown(exc)
        return [(item[2], exc) for item in live]

    def _append(self, accepted: list[Pending]) -> Outcome:
        records, data = self._encode(accepted)
        try:
            self._write(data)
        except StorageError as exc:
            return [(item[2], exc) for item in accepted]
        self._advance(records, data)
        error = self._apply(records)
        if error is not None:
            return [(item[2], error) for item in accepted]
        if len(records) == 1:
            return [(accepted[0][2], records[0])]
        return [(item[2], record) for item, record in zip(accepted, records, strict=True)]

    def _advance(self, records: list[Record], data: bytes) -> None:
        """The tip, counters and observer after ``records`` (``data``) were made durable."""
        self.tip = Tip(records[-1].lsn, records[-1].hash.encode(), self.tip.end + len(data))
        self.commits += len(records)
        self.fsyncs += 1
        if self._observer is not None:
            self._observer.appended(records[0].lsn, data)

    def _sync(self) -> None:
        """Take in records other processes appended; catch the hooks up if needed.

        The file's size comes from ``lseek`` (one system call, like ``fstat``, but no
        stat object to build); reads go through ``pread`` and writes append, so the
        file offset it moves is never used."""
        if os.lseek(self._fd, 0, os.SEEK_END) != self.tip.end:
            self.tip, torn = settle_tail(self._fd, self.path, self.tip)
            if torn is not None:
                log.warning("%s Cut now, before this write.", torn.detail)
            self._stale = True
        if self._stale:
            if self._hooks is not None:
                self._hooks.catch_up(self.tip.lsn)
            self._stale = False

    def _screen(self, live: list[Pending]) -> tuple[list[Pending], Outcome]:
        if self._hooks is None:
            return live, []
        verdicts = self._verdicts([item[0] for item in live])
        accepted: list[Pending] = []
        outcome: Outcome = []
        for item, verdict in zip(live, verdicts, strict=True):
            if verdict is None:
                accepted.append(item)
            else:
                outcome.append((item[2], verdict))
        return accepted, outcome

    def _verdicts(self, entries: list[Entry]) -> list[Exception | None]:
        assert self._hooks is not None
        verdicts = self._hooks.before_append(entries)
        if len(verdicts) != len(entries):
            raise TypeError(
                f"before_append gave {len(verdicts)} verdicts for {len(entries)} entries"
            )
        return verdicts

    def _encode_one(self, entry: Entry, tail: bytes) -> tuple[Record, bytes]:
        ts = self._stamp()
        lsn, prev = self.tip.lsn + 1, self.tip.hash
        body = _BODY % (lsn, prev, ts.encode(), tail)
        digest = sha256(prev + body).hexdigest()
        return make_record(lsn, ts, prev.decode(), digest, entry), b"%s %s\n" % (
            digest.encode(),
            body,
        )

    def _encode(self, accepted: list[Pending]) -> tuple[list[Record], bytes]:
        if len(accepted) == 1:
            record, data = self._encode_one(accepted[0][0], accepted[0][1])
            return [record], data
        ts = self._stamp()
        ts_bytes = ts.encode()
        lsn, prev = self.tip.lsn, self.tip.hash
        prev_text = prev.decode()
        lines: list[bytes] = []
        records: list[Record] = []
        line, record_, hash_ = lines.append, records.append, sha256
        for entry, tail, _ in accepted:
            lsn += 1
            body = _BODY % (lsn, prev, ts_bytes, tail)
            digest = hash_(prev + body).hexdigest()
            prev = digest.encode()
            line(b"%s %s\n" % (prev, body))
            record_(make_record(lsn, ts, prev_text, digest, entry))
            prev_text = digest
        return records, b"".join(lines)

    def _write(self, data: bytes) -> None:
        try:
            written = os.write(self._fd, data)
            if written < len(data):
                view = memoryview(data)[written:]
                while view:
                    view = view[os.write(self._fd, view) :]
            _fdatasync(self._fd)
        except OSError as exc:
            self._roll_back()
            problem = _DISK_PROBLEMS.get(exc.errno or 0, exc.strerror or str(exc))
            raise StorageError(
                f"Could not save to the write-ahead log {self.path}: {problem} "
                f"(errno {exc.errno}). Nothing from this batch was saved.",
                hint="Free disk space or check the disk, then try again.",
            ) from exc

    def _roll_back(self) -> None:
        try:
            os.ftruncate(self._fd, self.tip.end)
            os.fsync(self._fd)
        except OSError as exc:
            self._failed = (
                f"The write-ahead log {self.path} could not be cut back after a failed "
                f"write ({exc.strerror}); it may end with a partial record."
            )
            log.error("%s", self._failed)

    def _apply(self, records: list[Record]) -> StorageError | None:
        """Let the hooks apply the durable ``records``; the callers' error if they fail."""
        if self._hooks is None:
            return None
        try:
            self._hooks.after_append(records)
        except Exception as exc:
            log.exception("after_append failed; records are durable")
            self._stale = True
            error = StorageError(
                f"Records {records[0].lsn} to {records[-1].lsn} are saved in the "
                f"write-ahead log, but applying them afterwards failed: {exc}",
                hint="They are applied again before the next write or at the next start.",
            )
            error.__cause__ = exc
            return error
        return None


class LogMismatch(StorageError):
    """Records from elsewhere do not continue this log: it is not their mirror."""


def mismatch(path: Path, lsn: int, why: str) -> LogMismatch:
    return LogMismatch(
        f"The write-ahead log {path} is not a copy of the log it follows: record {lsn} {why}.",
        hint="Nothing was written to it. Keep this data directory for the audit, and "
        "follow the log with an empty data directory.",
    )


def unseen(lines: list[bytes], tip: Tip, path: Path) -> list[bytes]:
    """``lines`` after ``tip``; the one at ``tip`` (if given) must be ``tip``'s record."""
    for i, line in enumerate(lines):
        found = LSN_AT.match(line)
        if found is None:
            raise mismatch(path, tip.lsn + 1, "is not a log line")
        lsn = int(found[1])
        if lsn == tip.lsn and line[:64] != tip.hash:
            raise mismatch(path, lsn, "differs from the one here")
        if lsn > tip.lsn:
            if lsn != tip.lsn + 1:
                raise StorageError(f"Records {tip.lsn + 1} to {lsn - 1} are missing before {lsn}.")
            return lines[i:]
    return []


def _log_unknown(exc: BaseException) -> None:
    if not isinstance(exc, KnownError):
        log.exception("A write-ahead log batch failed", exc_info=exc)


_RESTART_HINT = (
    "Stop the program, free disk space or check the disk, and start it again: "
    "the next write cuts a partial last record."
)
