"""OS file locks on raw descriptors, through portalocker (flock on POSIX, LockFileEx on
Windows). Callers open the descriptors themselves, with O_CLOEXEC, so children never
inherit a lock."""

from __future__ import annotations

import portalocker
from portalocker import LockFlags


def try_lock(fd: int, *, shared: bool = False) -> bool:
    """Take the lock without waiting; False when another holder has it."""
    mode = LockFlags.SHARED if shared else LockFlags.EXCLUSIVE
    try:
        portalocker.lock(fd, mode | LockFlags.NON_BLOCKING)
    except portalocker.AlreadyLocked:
        return False
    return True


def lock(fd: int) -> None:
    """Take the exclusive lock, waiting as long as it takes."""
    portalocker.lock(fd, LockFlags.EXCLUSIVE)


def unlock(fd: int) -> None:
    portalocker.unlock(fd)
