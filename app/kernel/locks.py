"""Named OS locks that other processes can see and that die with their holder.

A ``NamedLock`` is a binary semaphore shared by every process on this machine
that uses the same locks folder (the auction room takes one per chit group).
It rests on ``flock(2)``, so the kernel frees it the moment the holding process
exits, however it exits.

Each lock is two files in the locks folder:

* ``<name>.lock`` -- the lock acquirers contend for (``LOCK_EX``, non-blocking).
  Its content is the holder's details as JSON, written right after acquiring.
* ``<name>.held`` -- a witness the holder locks exclusively *after* writing its
  details. Readers test the witness with a non-blocking shared lock: if they get
  it, nobody holds the lock and any details left in ``.lock`` are stale (a dead
  holder). Readers never touch ``.lock``'s lock, so looking at a lock can never
  make an acquirer fail.

Descriptors are opened with ``O_CLOEXEC`` and are closed in forked children, so
a child process never keeps a lock alive after its parent releases it or dies.
Never hand these descriptors to a subprocess (``pass_fds``): flock locks belong
to the open file, and a child holding a copy would keep the lock held.

Within one process, each ``NamedLock`` object opens its own descriptors, and a
process-wide registry records which lock files this process holds, so a second
object for the same name sees the lock as held instead of acquiring it twice.
"""

from __future__ import annotations

import contextlib
import dataclasses
import getpass
import hashlib
import json
import os
import re
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from app.kernel import flock, office_time
from app.kernel.errors import LockHeld, StorageError
from app.kernel.files import PRIVATE_DIR, PRIVATE_FILE
from app.kernel.leases import Acquiring

LOCK_SUFFIX = ".lock"
WITNESS_SUFFIX = ".held"
_MAX_STEM = 80
_SAFE = re.compile(r"[^A-Za-z0-9._-]")
_OPEN_FLAGS = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC


@dataclass(frozen=True)
class LockHolder:
    """Who holds a lock: readable by any process while the lock is held."""

    name: str
    pid: int
    user: str
    purpose: str
    since: str
    host: str

    @classmethod
    def this_process(cls, name: str, purpose: str, holder: str = "") -> LockHolder:
        """This process, taking ``name`` now for ``purpose`` (``holder`` defaults to the
        OS user)."""
        return cls(
            name=name,
            pid=os.getpid(),
            user=holder or current_user(),
            purpose=purpose,
            since=datetime.now(UTC).isoformat(timespec="seconds"),
            host=socket.gethostname(),
        )

    def describe(self) -> str:
        purpose = self.purpose or "no purpose given"
        since = office_time.shown(self.since, seconds=True)
        return f"{self.user} (pid {self.pid} on {self.host}) for {purpose!r} since {since}"

    def to_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def safe_filename(name: str) -> str:
    """A file stem for a lock name: unsafe characters replaced, kept unique by a hash."""
    if not name or not name.strip():
        raise ValueError("A lock name must not be empty.")
    stem = _SAFE.sub("_", name)[:_MAX_STEM].lstrip(".") or "_"
    if stem != name:
        stem += "-" + hashlib.sha256(name.encode()).hexdigest()[:10]
    return stem


def current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


class _Registry:
    """The lock files this process holds, keyed by path (one holder per file)."""

    def __init__(self) -> None:
        self.mutex = threading.Lock()
        self.held: dict[Path, NamedLock] = {}

    def after_fork_in_child(self) -> None:
        self.mutex = threading.Lock()
        for lock in list(self.held.values()):
            lock._forget_inherited()
        self.held.clear()


_REGISTRY = _Registry()
os.register_at_fork(after_in_child=_REGISTRY.after_fork_in_child)


class NamedLock(Acquiring):
    """An exclusive lock on a name, shared by every process using ``locks_dir``.

    Not re-entrant: a second acquisition, by this object or another in the same
    process, is refused like one from another process.
    """

    def __init__(self, locks_dir: Path, name: str) -> None:
        self.name = name
        stem = safe_filename(name)
        self.locks_dir = Path(locks_dir).absolute()
        self.path = self.locks_dir / (stem + LOCK_SUFFIX)
        self.witness_path = self.locks_dir / (stem + WITNESS_SUFFIX)
        self._mutex = threading.Lock()
        self._fds: tuple[int, int] | None = None
        self._info: LockHolder | None = None
        self._owner_pid = 0

    def __repr__(self) -> str:
        state = "held" if self.locked else "free"
        return f"NamedLock({self.name!r}, {state} by this object)"

    @property
    def locked(self) -> bool:
        """True when this object holds the lock."""
        return self._fds is not None

    def try_acquire(self, purpose: str, holder: str = "") -> bool:
        """Take the lock if it is free; never waits. ``holder`` defaults to the OS user."""
        with _REGISTRY.mutex, self._mutex:
            if self._fds is not None or self.path in _REGISTRY.held:
                return False
            fds = self._lock_files(purpose, holder)
            if fds is None:
                return False
            self._fds, self._owner_pid = fds, os.getpid()
            _REGISTRY.held[self.path] = self
            return True

    def release(self) -> None:
        """Let the lock go. Does nothing when this object does not hold it."""
        with _REGISTRY.mutex, self._mutex:
            if self._fds is None:
                return
            lock_fd, witness_fd = self._fds
            self._fds, self._info = None, None
            if _REGISTRY.held.get(self.path) is self:
                del _REGISTRY.held[self.path]
            try:
                flock.unlock(witness_fd)
                flock.unlock(lock_fd)
            finally:
                os.close(witness_fd)
                os.close(lock_fd)

    def holder(self) -> LockHolder | None:
        """Who holds the lock now (any process), or None when it is free."""
        info = self._info
        if info is not None:
            return info
        return probe(self.path, self.witness_path, self.name)

    def __enter__(self) -> NamedLock:
        self.acquire("")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def _lock_files(self, purpose: str, holder: str) -> tuple[int, int] | None:
        try:
            self.locks_dir.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
            lock_fd = os.open(self.path, _OPEN_FLAGS, PRIVATE_FILE)
        except OSError as e:
            raise self._storage_error(e) from e
        try:
            return self._take(lock_fd, purpose, holder)
        except BaseException:
            os.close(lock_fd)
            raise

    def _take(self, lock_fd: int, purpose: str, holder: str) -> tuple[int, int] | None:
        if not flock.try_lock(lock_fd):
            os.close(lock_fd)
            return None
        info = LockHolder.this_process(self.name, purpose, holder)
        try:
            data = json.dumps(dataclasses.asdict(info)).encode()
            os.ftruncate(lock_fd, 0)
            os.pwrite(lock_fd, data, 0)
            witness_fd = os.open(self.witness_path, _OPEN_FLAGS, PRIVATE_FILE)
        except OSError as e:
            raise self._storage_error(e) from e
        try:
            flock.lock(witness_fd)  # waits only while a reader peeks
        except BaseException:
            os.close(witness_fd)
            raise
        self._info = info
        return lock_fd, witness_fd

    def _forget_inherited(self) -> None:
        """In a forked child: drop the copied descriptors without unlocking the parent's lock."""
        self._mutex = threading.Lock()
        if self._fds is not None and self._owner_pid != os.getpid():
            for fd in self._fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._fds, self._info = None, None

    def _held_error(self) -> LockHeld:
        who = self.holder()
        detail = who.describe() if who is not None else "another holder that has just let it go"
        return LockHeld(
            f"The lock {self.name!r} is held by {detail}.",
            hint="Wait for them to finish and try again; it frees itself if that program closes.",
        )

    def _storage_error(self, e: OSError) -> StorageError:
        return StorageError(
            f"Cannot use the lock file {self.path}: {e.strerror or e}.",
            hint="Check that the data folder exists, is writable and the disk is not full.",
        )


def probe(lock_path: Path, witness_path: Path, name: str = "") -> LockHolder | None:
    """Test a lock without taking it: its holder's details, or None when free."""
    for _ in range(5):
        if not _witness_held(witness_path):
            return None
        info = _read_holder(lock_path)
        if info is not None:
            return info
        time.sleep(0.001)
    return LockHolder(
        name=name or lock_path.stem, pid=0, user="unknown", purpose="", since="", host=""
    )


def _witness_held(witness_path: Path) -> bool:
    try:
        fd = os.open(witness_path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        return not flock.try_lock(fd, shared=True)
    finally:
        os.close(fd)


def _read_holder(lock_path: Path) -> LockHolder | None:
    try:
        raw = json.loads(lock_path.read_bytes())
        return LockHolder(**raw)
    except (OSError, ValueError, TypeError):
        return None


class LockManager:
    """The named locks of one locks folder.

    ``lock(name)`` returns the same ``NamedLock`` object for a name every time, so
    whoever took it here can release it through the manager.
    """

    shared = False
    """Only processes on this machine see these locks (see :mod:`app.kernel.leases`)."""

    def __init__(self, locks_dir: Path) -> None:
        self.locks_dir = Path(locks_dir)
        self._locks: dict[str, NamedLock] = {}
        self._mutex = threading.Lock()

    def lock(self, name: str) -> NamedLock:
        with self._mutex:
            found = self._locks.get(name)
            if found is None:
                found = self._locks[name] = NamedLock(self.locks_dir, name)
            return found

    def held(self) -> list[LockHolder]:
        """Every lock in this folder currently held by any process, by name."""
        try:
            paths = sorted(self.locks_dir.glob("*" + LOCK_SUFFIX))
        except OSError:
            return []
        found = []
        for path in paths:
            info = probe(path, path.with_suffix(WITNESS_SUFFIX))
            if info is not None:
                found.append(info)
        return sorted(found, key=lambda h: h.name)
