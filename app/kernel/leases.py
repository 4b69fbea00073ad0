"""Named locks that processes compete for, behind one interface.

A service that must be the only one doing something (running a group's auction session,
the daily recovery sweep, scoring one loan application) takes a named lock through
:class:`Leases` and lets it go when done. Two kinds implement it:

* :class:`~app.kernel.locks.LockManager`: OS locks (``flock``) in the data directory's
  locks folder, seen by every process on this machine and freed by the kernel the moment
  their holder dies (``shared`` is False);
* the Firestore store's leases (``app.services.store.firestore_leases``): a document per
  name holding its holder and renewed while held, seen by every machine on the project; a
  holder that dies loses its lease when the lease expires, and a holder that lost its
  lease cannot commit under it (``shared`` is True).

Either way a lock is not re-entrant: a second acquisition, from this process or any
other, is refused while it is held.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from typing import Protocol, Self

from app.kernel.errors import LockHeld


class Holder(Protocol):
    """Who holds a lock (``app.kernel.locks.LockHolder``)."""

    @property
    def name(self) -> str: ...

    @property
    def pid(self) -> int: ...

    @property
    def user(self) -> str: ...

    @property
    def purpose(self) -> str: ...

    @property
    def since(self) -> str: ...

    @property
    def host(self) -> str: ...

    def describe(self) -> str: ...


class Lease(Protocol):
    """One named lock."""

    name: str

    @property
    def locked(self) -> bool:
        """True while this object holds it."""
        ...

    def try_acquire(self, purpose: str, holder: str = "") -> bool:
        """Take it if it is free; never waits."""
        ...

    def acquire(self, purpose: str, holder: str = "", timeout: float | None = None) -> None:
        """Take it, waiting up to ``timeout`` seconds (None: for ever).

        Raises:
            LockHeld: still held by someone else when the time is up.
        """
        ...

    def release(self) -> None:
        """Let it go (nothing when this object does not hold it)."""
        ...

    def holder(self) -> Holder | None:
        """Who holds it now (any process), or None when it is free."""
        ...

    def using(
        self, purpose: str, holder: str = "", timeout: float | None = None
    ) -> contextlib.AbstractContextManager[Lease]: ...


class Leases(Protocol):
    """The named locks of one installation."""

    shared: bool
    """True when processes on other machines compete for these locks too."""

    def lock(self, name: str) -> Lease:
        """The lock called ``name`` (the same object every time)."""
        ...

    def held(self) -> Sequence[Holder]:
        """Every lock held now, by any process, sorted by name."""
        ...


class Acquiring:
    """``acquire`` and ``using`` for a lock that offers ``try_acquire``: retries with a
    doubling pause (``FIRST_PAUSE`` up to ``MAX_PAUSE`` seconds)."""

    FIRST_PAUSE = 0.002
    MAX_PAUSE = 0.1

    @property
    def locked(self) -> bool:
        raise NotImplementedError

    def try_acquire(self, purpose: str, holder: str = "") -> bool:
        raise NotImplementedError

    def release(self) -> None:
        raise NotImplementedError

    def _held_error(self) -> LockHeld:
        raise NotImplementedError

    def acquire(self, purpose: str, holder: str = "", timeout: float | None = None) -> None:
        """Take the lock, waiting up to ``timeout`` seconds (None: for ever).

        Raises:
            LockHeld: still held by someone else when the time is up (at once if
                this object already holds it); the message names the holder.
        """
        deadline = None if timeout is None else time.monotonic() + max(timeout, 0.0)
        pause = self.FIRST_PAUSE
        while not self.try_acquire(purpose, holder):
            if self.locked or (deadline is not None and time.monotonic() >= deadline):
                raise self._held_error()
            left = self.MAX_PAUSE if deadline is None else max(deadline - time.monotonic(), 0.0)
            time.sleep(min(pause, left))
            pause = min(pause * 2, self.MAX_PAUSE)

    @contextlib.contextmanager
    def using(self, purpose: str, holder: str = "", timeout: float | None = None) -> Iterator[Self]:
        """``with lock.using("bidding", holder="asha", timeout=5):`` holds it for the block."""
        self.acquire(purpose, holder, timeout)
        try:
            yield self
        finally:
            self.release()


class LeaseLost(LockHeld):
    """A lease this process held was taken over (it expired); nothing more is done
    under it."""


@contextlib.contextmanager
def holding(lease: Lease, purpose: str, holder: str = "") -> Iterator[bool]:
    """``with holding(lease, purpose) as mine:`` takes ``lease`` if it is free (``mine``)
    and lets it go after the block; ``mine`` is False when someone else holds it."""
    mine = lease.try_acquire(purpose, holder)
    try:
        yield mine
    finally:
        if mine:
            lease.release()
