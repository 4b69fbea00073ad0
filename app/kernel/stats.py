"""One snapshot of the machine and the kernel, shown by the desktop footer and the server.

Machine and process figures come from psutil. The kernel's own figures (WAL
entries, locks held, queue depth, connected clients) come from zero-argument
callables registered by the composition root, so this module imports neither the
WAL nor the server. A source that fails is logged once and reported as None.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psutil

log = logging.getLogger(__name__)

Source = Callable[[], Any]

SOURCES: dict[str, Callable[[Any], Any]] = {
    "wal_entries": int,
    "locks_held": lambda held: [str(getattr(h, "name", h)) for h in held],
    "queue_depth": int,
    "connected_clients": int,
}
"""The figures that come from registered sources, each with how its value is normalised.

``locks_held`` takes names or anything with a ``name`` (so ``LockManager.held`` fits).
"""


@dataclass(frozen=True)
class KernelStats:
    """Sizes in bytes; ``cpu_percent`` is this process's share of one core (may exceed 100).

    ``ram_used`` is memory in use by everything on the machine (total minus available).
    Figures from sources are None when the source is missing or failed.
    """

    ram_used: int
    ram_total: int
    process_rss: int
    cpu_percent: float
    thread_count: int
    open_files: int
    wal_entries: int | None
    locks_held: list[str] | None
    queue_depth: int | None
    connected_clients: int | None
    taken_at: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))


def _now() -> datetime:
    return datetime.now(UTC)


class StatsCollector:
    """Takes ``KernelStats`` samples cheaply; safe to call from several threads."""

    def __init__(
        self,
        sources: Mapping[str, Source] | None = None,
        *,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._process = psutil.Process()
        self._process.cpu_percent(interval=None)
        self._sources: dict[str, Source] = {}
        self._failing: set[str] = set()
        self._clock = clock
        self._mutex = threading.Lock()
        for name, fn in (sources or {}).items():
            self.register(name, fn)

    def register(self, name: str, fn: Source) -> None:
        """Use ``fn()`` for the figure ``name`` (one of ``SOURCES``) in every sample."""
        if name not in SOURCES:
            raise ValueError(f"Unknown stats source {name!r}; expected one of {sorted(SOURCES)}.")
        with self._mutex:
            self._sources[name] = fn
            self._failing.discard(name)

    def sample(self) -> KernelStats:
        with self._mutex:
            memory = psutil.virtual_memory()
            with self._process.oneshot():
                rss = self._process.memory_info().rss
                cpu = self._process.cpu_percent(interval=None)
                threads = self._process.num_threads()
                files = self._open_files()
            figures = {name: self._read(name) for name in SOURCES}
        return KernelStats(
            ram_used=memory.total - memory.available,
            ram_total=memory.total,
            process_rss=rss,
            cpu_percent=cpu,
            thread_count=threads,
            open_files=files,
            taken_at=self._clock().isoformat(timespec="seconds"),
            **figures,
        )

    @property
    def failing(self) -> frozenset[str]:
        """The sources whose last call failed."""
        return frozenset(self._failing)

    def _open_files(self) -> int:
        if sys.platform == "win32":
            return int(self._process.num_handles())
        return int(self._process.num_fds())

    def _read(self, name: str) -> Any:
        fn = self._sources.get(name)
        if fn is None:
            return None
        try:
            value = SOURCES[name](fn())
        except Exception:
            if name not in self._failing:
                log.exception("Stats source %r failed; reporting it as unknown.", name)
                self._failing.add(name)
            return None
        if name in self._failing:
            log.info("Stats source %r works again.", name)
            self._failing.discard(name)
        return value
