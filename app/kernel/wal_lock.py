"""The write-ahead log's cross-process writer lock.

An exclusive ``flock(2)`` on a sidecar file (``wal.log.lock``), taken for each
batch and released after it, so several processes can append to one log in turn.
The descriptor stays open for the life of the log object and is opened with
``O_CLOEXEC``, so a child program never inherits it. The kernel frees the lock the
moment its holder dies, however it dies.

Right after acquiring, the holder writes who it is (pid, host, since when) into the
lock file, so a writer that gave up waiting can say who held the lock.
"""

from __future__ import annotations

import json
import os
import socket
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.kernel import flock, office_time
from app.kernel.errors import LockHeld
from app.kernel.files import PRIVATE_FILE

_INFO_BYTES = 256
_FIRST_DELAY = 0.0002
_MAX_DELAY = 0.005


class WalLockHeld(LockHeld):
    """Another process held the log's writer lock for longer than we would wait."""

    def __init__(self, message: str, *, hint: str = "", holder: dict[str, Any] | None = None):
        super().__init__(message, hint=hint)
        self.holder = holder or {}


class WalLock:
    """An exclusive lock on ``path``, taken and released once per batch."""

    def __init__(self, path: Path, subject: Path) -> None:
        self.path = path
        self.subject = subject
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE)
        me = json.dumps({"pid": os.getpid(), "host": socket.gethostname()})[:-1].encode()
        info = me.replace(b"%", b"%%") + b',"since":%.6f}'
        # Padded once here (the float part always has the same width for years to come),
        # so each acquire is one formatting and one pwrite.
        width = len(info % time.time())
        self._info = info.ljust(_INFO_BYTES - 1 - (width - len(info))) + b"\n"

    def acquire(self, timeout: float) -> None:
        """Take the lock, waiting up to ``timeout`` seconds.

        Raises:
            WalLockHeld: another holder kept it for the whole wait.
        """
        if not flock.try_lock(self._fd):
            self._wait(timeout)
        os.pwrite(self._fd, self._info % time.time(), 0)

    def _wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        delay = _FIRST_DELAY
        while True:
            time.sleep(delay)
            if flock.try_lock(self._fd):
                return
            if time.monotonic() >= deadline:
                raise self._held(timeout) from None
            delay = min(delay * 2, _MAX_DELAY)

    def release(self) -> None:
        flock.unlock(self._fd)

    def holder(self) -> dict[str, Any]:
        """What the current (or last) holder wrote about itself; empty if unreadable."""
        try:
            info = json.loads(os.pread(self._fd, _INFO_BYTES, 0))
        except (OSError, ValueError):
            return {}
        return info if isinstance(info, dict) else {}

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _held(self, timeout: float) -> WalLockHeld:
        holder = self.holder()
        who = "another process"
        if "pid" in holder and "since" in holder:
            since = datetime.fromtimestamp(float(holder["since"]), UTC)
            holder["since_iso"] = office_time.moment(since, seconds=True)
            who = (
                f"process {holder['pid']} on {holder.get('host', '?')}, "
                f"writing since {holder['since_iso']}"
            )
        return WalLockHeld(
            f"The write-ahead log {self.subject} is busy: {who}; "
            f"gave up after waiting {timeout:g} s.",
            hint="If that process is stuck, stop it; if it is only slow, "
            "raise the wal_lock_timeout setting.",
            holder=holder,
        )
