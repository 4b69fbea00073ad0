"""The write-ahead log's writer thread: one batch at a time, under the cross-process lock.

For each batch: take the lock (waiting at most ``lock_timeout``), take in records
other processes appended (and let the hooks catch up), let the hooks reject
entries, encode and chain the rest, write them with one ``write`` and one
``fdatasync``, let the hooks apply them, wake the callers, release the lock.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Callable
from datetime import datetime
from hashlib import sha256
from pathlib import Path
from queue import SimpleQueue
from typing import Any, Protocol

from app.kernel.errors import KnownError, StorageError
from app.kernel.wal_format import Entry, Record, format_ts
from app.kernel.wal_lock import WalLock
from app.kernel.wal_scan import Tip, settle_tail

log = logging.getLogger("app.kernel.wal")
_fdatasync: Callable[[int], None] = getattr(os, "fdatasync", os.fsync)
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


class ResultTarget(Protocol):
    """Where the writer reports one entry's outcome (a ``Future`` is one)."""

    def set_running_or_notify_cancel(self) -> bool: ...

    def set_result(self, result: Record) -> None: ...

    def set_exception(self, exception: BaseException | None) -> None: ...


Pending = tuple[Entry, bytes, ResultTarget]
"""A queued entry: the entry, its encoded tail, where to report."""
_Outcome = list[tuple[ResultTarget, Any]]


class BatchWriter:
    """The state the writer thread owns: the file, the lock, the tip, the counters."""

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
    ) -> None:
        self.path = path
        self.tip = tip
        self.commits = 0
        self.fsyncs = 0
        self._fd = fd
        self._lock = lock
        self._hooks = hooks
        self._clock = clock
        self._lock_timeout = lock_timeout
        self._stale = False
        self._failed = ""

    def run(self, queue: SimpleQueue[Pending | None]) -> None:
        """The writer thread: take everything queued, commit it as one batch, repeat."""
        while True:
            batch = [queue.get()]
            for _ in range(queue.qsize()):
                batch.append(queue.get_nowait())
            stop = batch[-1] is None
            pending = [item for item in batch if item is not None]
            if pending:
                try:
                    self._commit(pending)
                except Exception as exc:  # a bug: never leave callers waiting forever
                    self._resolve(self._failure(pending, exc))
            if stop:
                return

    def _commit(self, batch: list[Pending]) -> None:
        live = [item for item in batch if item[2].set_running_or_notify_cancel()]
        if not live:
            return
        try:
            self._take_lock()
        except BaseException as exc:
            self._resolve(self._failure(live, exc))
            return
        try:
            try:
                outcome = self._locked_commit(live)
            except BaseException as exc:
                outcome = self._failure(live, exc)
            self._resolve(outcome)
        finally:
            self._lock.release()

    def _take_lock(self) -> None:
        if self._failed:
            raise StorageError(self._failed, hint=_RESTART_HINT)
        self._lock.acquire(self._lock_timeout)

    def _locked_commit(self, live: list[Pending]) -> _Outcome:
        self._sync()
        accepted, outcome = self._screen(live)
        if accepted:
            outcome += self._append(accepted)
        return outcome

    @staticmethod
    def _failure(live: list[Pending], exc: BaseException) -> _Outcome:
        if not isinstance(exc, KnownError):
            log.exception("A write-ahead log batch failed", exc_info=exc)
        return [(item[2], exc) for item in live]

    @staticmethod
    def _resolve(outcome: _Outcome) -> None:
        """Wake the callers (before the lock is released, so their wake-up overlaps it)."""
        for target, value in outcome:
            try:
                if isinstance(value, BaseException):
                    target.set_exception(value)
                else:
                    target.set_result(value)
            except Exception:
                log.exception("Could not hand a write-ahead log result to its caller")

    def _append(self, accepted: list[Pending]) -> _Outcome:
        records, data = self._encode(accepted)
        try:
            self._write(data)
        except StorageError as exc:
            return [(item[2], exc) for item in accepted]
        self.tip = Tip(records[-1].lsn, records[-1].hash.encode(), self.tip.end + len(data))
        self.commits += len(records)
        self.fsyncs += 1
        return self._after(accepted, records)

    def _sync(self) -> None:
        """Take in records other processes appended; catch the hooks up if needed."""
        if os.fstat(self._fd).st_size != self.tip.end:
            self.tip, torn = settle_tail(self._fd, self.path, self.tip)
            if torn is not None:
                log.warning("%s", torn.detail)
            self._stale = True
        if self._stale:
            if self._hooks is not None:
                self._hooks.catch_up(self.tip.lsn)
            self._stale = False

    def _screen(self, live: list[Pending]) -> tuple[list[Pending], _Outcome]:
        if self._hooks is None:
            return live, []
        verdicts = self._hooks.before_append([item[0] for item in live])
        if len(verdicts) != len(live):
            raise TypeError(f"before_append gave {len(verdicts)} verdicts for {len(live)} entries")
        accepted: list[Pending] = []
        outcome: _Outcome = []
        for item, verdict in zip(live, verdicts, strict=True):
            if verdict is None:
                accepted.append(item)
            else:
                outcome.append((item[2], verdict))
        return accepted, outcome

    def _encode(self, accepted: list[Pending]) -> tuple[list[Record], bytes]:
        ts = format_ts(self._clock())
        ts_bytes = ts.encode()
        lsn, prev = self.tip.lsn, self.tip.hash
        prev_text = prev.decode()
        lines: list[bytes] = []
        records: list[Record] = []
        for entry, tail, _ in accepted:
            lsn += 1
            body = b'{"lsn":%d,"prev":"%s","ts":"%s"%s' % (lsn, prev, ts_bytes, tail)
            digest = sha256(prev + body).hexdigest()
            prev = digest.encode()
            lines.append(b"%s %s\n" % (prev, body))
            records.append(
                Record(
                    lsn,
                    ts,
                    prev_text,
                    digest,
                    entry.actor,
                    entry.action,
                    entry.entity,
                    entry.change,
                    entry.reason,
                )
            )
            prev_text = digest
        return records, b"".join(lines)

    def _write(self, data: bytes) -> None:
        try:
            view = memoryview(data)
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

    def _after(self, accepted: list[Pending], records: list[Record]) -> _Outcome:
        if self._hooks is not None:
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
                return [(item[2], error) for item in accepted]
        return [(item[2], record) for item, record in zip(accepted, records, strict=True)]


_RESTART_HINT = (
    "Stop the program, free disk space or check the disk, and start it again: "
    "opening the log cuts a partial last record."
)
