"""Awaiting write-ahead log appends from asyncio, one loop wake-up per batch.

Only bench/wal.py uses this (it compares three ways of submitting from 64 concurrent
callers); the app's writers go through the pipeline. tests/test_wal.py keeps it honest.

``asyncio.wrap_future(wal.submit(entry))`` works, but costs a thread-safe call
into the loop for every record. ``AsyncWal`` hands the writer a small slot in place
of a ``Future``; the writer drops each finished record into a queue and wakes the
loop once for the whole batch, which then resolves every waiting task.

Cancelling a task that awaits ``append`` does not unwrite its record if the
writer already took it: the outcome of a cancelled append is unknown, as with any
commit interrupted by its caller.
"""

from __future__ import annotations

import asyncio
from collections import deque

from app.kernel.wal import Record, WriteAheadLog
from app.kernel.wal_format import Entry

_Done = tuple["asyncio.Future[Record]", Record | None, BaseException | None]


class AsyncWal:
    """``await AsyncWal(wal).append(entry)`` from tasks of one event loop."""

    def __init__(self, wal: WriteAheadLog) -> None:
        self._wal = wal
        self._loop: asyncio.AbstractEventLoop | None = None
        self._done: deque[_Done] = deque()
        self._scheduled = False

    async def append(self, entry: Entry) -> Record:
        """Write ``entry`` and wait (without blocking the loop) until it is durable."""
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif loop is not self._loop:
            raise RuntimeError("An AsyncWal serves the event loop that first used it")
        future: asyncio.Future[Record] = loop.create_future()
        self._wal._enqueue(entry, _Slot(self, future))
        return await future

    def _deliver(self, done: _Done) -> None:
        """Called by the writer thread for each finished entry."""
        self._done.append(done)
        if not self._scheduled and self._loop is not None:
            self._scheduled = True
            try:
                self._loop.call_soon_threadsafe(self._drain)
            except RuntimeError:
                self._scheduled = False
                raise

    def _drain(self) -> None:
        self._scheduled = False
        done = self._done
        while done:
            future, record, error = done.popleft()
            if future.cancelled():
                continue
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(record)  # type: ignore[arg-type]


class _Slot:
    """Stands in for a ``Future`` in the writer's queue."""

    __slots__ = ("bridge", "future")

    def __init__(self, bridge: AsyncWal, future: asyncio.Future[Record]) -> None:
        self.bridge = bridge
        self.future = future

    def set_running_or_notify_cancel(self) -> bool:
        return not self.future.cancelled()

    def set_result(self, result: Record) -> None:
        self.bridge._deliver((self.future, result, None))

    def set_exception(self, exception: BaseException | None) -> None:
        self.bridge._deliver((self.future, None, exception))
