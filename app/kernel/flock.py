"""OS file locks on raw descriptors, through portalocker (flock on POSIX, LockFileEx on
Windows). Callers open the descriptors themselves, with O_CLOEXEC, so children never
inherit a lock.

On POSIX, when portalocker's locker is plain ``fcntl.flock`` (its default), the calls
go straight to it with the flag values worked out once: portalocker's per-call flag
checks cost more than the system call (the WAL takes this lock once per batch).
Errors are translated as portalocker does.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

import portalocker
from portalocker import LockFlags
from portalocker import portalocker as _backend

_EXCLUSIVE = int(LockFlags.EXCLUSIVE)
_EXCLUSIVE_NOW = int(LockFlags.EXCLUSIVE | LockFlags.NON_BLOCKING)
_SHARED_NOW = int(LockFlags.SHARED | LockFlags.NON_BLOCKING)
_UNLOCK = int(LockFlags.UNBLOCK)
_BUSY = (errno.EACCES, errno.EAGAIN)


def _posix_flock() -> Callable[[int, int], Any] | None:
    """``fcntl.flock`` when portalocker would call exactly that, else ``None``."""
    try:
        import fcntl
    except ImportError:
        return None
    return fcntl.flock if getattr(_backend, "LOCKER", None) is fcntl.flock else None


_flock = _posix_flock()


def try_lock(fd: int, *, shared: bool = False) -> bool:
    """Take the lock without waiting; False when another holder has it."""
    if _flock is None:
        mode = LockFlags.SHARED if shared else LockFlags.EXCLUSIVE
        try:
            portalocker.lock(fd, mode | LockFlags.NON_BLOCKING)
        except portalocker.AlreadyLocked:
            return False
        return True
    try:
        _flock(fd, _SHARED_NOW if shared else _EXCLUSIVE_NOW)
    except OSError as exc:
        if exc.errno in _BUSY:
            return False
        raise portalocker.LockException(exc, str(exc), fh=fd) from exc
    return True


def lock(fd: int) -> None:
    """Take the exclusive lock, waiting as long as it takes."""
    if _flock is None:
        portalocker.lock(fd, LockFlags.EXCLUSIVE)
        return
    _call(fd, _EXCLUSIVE)


def unlock(fd: int) -> None:
    if _flock is None:
        portalocker.unlock(fd)
        return
    _call(fd, _UNLOCK)


def _call(fd: int, operation: int) -> None:
    assert _flock is not None
    try:
        _flock(fd, operation)
    except OSError as exc:
        raise portalocker.LockException(exc, str(exc), fh=fd) from exc
