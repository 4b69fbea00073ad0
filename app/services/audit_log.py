"""The audit log's reading side: what the viewer, the activity feed, the CLI and the
members' integrity badge read from the write-ahead log.

* the viewer's pages and searches, newest first, by byte offset (:meth:`AuditLog.page`,
  :meth:`~AuditLog.search`, :meth:`~AuditLog.after`, :meth:`~AuditLog.summaries`), so a
  log of a million records opens at once (see :mod:`app.kernel.wal_index`);
* the activity feed: the newest records in plain words (:meth:`~AuditLog.activity`);
* :meth:`~AuditLog.tail` and :meth:`~AuditLog.stats` for ``tfos wal``;
* :meth:`~AuditLog.verify`, re-hashing the whole chain with progress;
* :meth:`~AuditLog.integrity`: the last verification, redone only once the log has
  grown, and never twice at once;
* :meth:`~AuditLog.digest`: what the ``audit`` report counts and lists, in one pass
  (:mod:`app.services.audit_digest`).

Everything here only reads the file, without its lock, so it works beside the writer
of this process or of any other. The write side is the pipeline's.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from app.kernel.errors import KnownError, StorageError
from app.kernel.wal import GENESIS, VerifyReport, verify_file
from app.kernel.wal_format import format_ts
from app.kernel.wal_index import LineSummary, Span, WalFilter, WalReader, parse_body
from app.services.activity import Names, describe
from app.services.audit_digest import AuditDigest, digest
from app.services.context import Clock
from app.services.events import failed

__all__ = [
    "Activity",
    "ActivityRead",
    "AuditDigest",
    "AuditLog",
    "Integrity",
    "LineSummary",
    "Span",
    "VerifyReport",
    "WalFilter",
    "existing_log",
]

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Activity:
    """One record as the activity feed shows it; ``failed`` when it records something
    refused (a failed sign-in)."""

    summary: LineSummary
    text: str
    failed: bool = False


@dataclass(frozen=True)
class ActivityRead:
    """New activities (oldest first), where the log ends now, and whether the feed
    starts over (the first read, or the log was cut back)."""

    items: list[Activity]
    end: int
    reset: bool


@dataclass(frozen=True)
class Integrity:
    """The members' badge: was the whole chain intact when last checked."""

    verified: bool
    entries: int
    head_lsn: int
    head_hash: str
    broken: int
    checked_at: str
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {**vars(self), "seconds": round(self.seconds, 4)}


def existing_log(data_dir: Path, wal_path: Path, path: Path | None = None) -> Path:
    """The log a read-only command reads (``path``, or the data directory's): one clear
    error, and nothing created, when there is none (a mistyped --data-dir)."""
    log = path or wal_path
    if log.is_file():
        return log
    if path:
        raise KnownError(f"There is no write-ahead log at {log}.", hint="Check the path.")
    raise KnownError(
        f"{data_dir} is not a TransactFlowOS data directory (it has no "
        f"{log.relative_to(data_dir)}); nothing was created.",
        hint="Check --data-dir (or TFOS_DATA_DIR).",
    )


def _damaged(span: Span, exc: KnownError) -> LineSummary:
    return LineSummary(0, "", {}, "", {}, "", "", False, str(exc))


class AuditLog:
    """Reads one write-ahead log file (see module docstring)."""

    @classmethod
    def existing(
        cls, data_dir: Path, wal_path: Path, clock: Clock, path: Path | None = None
    ) -> AuditLog:
        """The log of a read-only command, refused (see :func:`existing_log`) when there
        is none; it opens nothing for writing."""
        return cls(existing_log(data_dir, wal_path, path), clock)

    def __init__(self, path: Path, clock: Clock, *, names: Names | None = None) -> None:
        self.path = path
        self._reader = WalReader(path)
        self._clock = clock
        self._names = names or Names()
        self._verifying = threading.Lock()
        self._integrity: tuple[int, Integrity] | None = None

    # -- the viewer ------------------------------------------------------------------

    def end(self) -> int:
        """Where the last complete record ends (0 for an empty or missing log)."""
        return self._reader.end()

    def head_lsn(self, end: int | None = None) -> int:
        return self._reader.head_lsn(end)

    def head(self) -> tuple[int, str]:
        """The sequence number and hash of the last complete record (0 and the genesis
        hash for an empty log)."""
        spans, _ = self._reader.page(self._reader.end(), 1)
        if not spans:
            return 0, GENESIS
        last = LineSummary.parse(self._reader.read(spans[0]))
        return last.lsn, last.hash

    def page(self, end: int, count: int) -> tuple[list[Span], int]:
        """Up to ``count`` records ending at ``end``, newest first, and where they start."""
        return self._reader.page(end, count)

    def search(
        self, flt: WalFilter, end: int, *, cancelled: Callable[[], bool] = lambda: False
    ) -> Iterator[tuple[list[Span], int]]:
        """Matching records before ``end``, newest first, a batch per block read."""
        return self._reader.search(flt, end, cancelled=cancelled)

    def after(self, start: int, end: int, flt: WalFilter | None = None) -> list[Span]:
        """Matching records from ``start`` to ``end``, oldest first."""
        return self._reader.after(start, end, flt)

    def summaries(self, spans: Sequence[Span]) -> dict[int, LineSummary]:
        """The parsed records at ``spans``, by offset (an unreadable one marked damaged)."""
        found: dict[int, LineSummary] = {}
        lines = self._reader.read_many(spans) if spans else []
        for span, line in zip(spans, lines, strict=True):
            try:
                found[span.offset] = LineSummary.parse(line)
            except KnownError as exc:
                found[span.offset] = _damaged(span, exc)
        return found

    def record(self, span: Span) -> dict[str, Any]:
        """The whole record at ``span``, its change included."""
        return parse_body(self._reader.read(span))

    # -- the activity feed -------------------------------------------------------------

    def activity(self, since: int | None, limit: int) -> ActivityRead:
        """Records written after offset ``since`` (the newest ``limit``; all of the
        newest ``limit`` when ``since`` is None or the log was cut back)."""
        end = self._reader.end()
        if since is not None and end == since:
            return ActivityRead([], end, False)
        reset = since is None or end < since
        if since is None or reset:
            spans, _ = self._reader.page(end, limit)
            spans.reverse()
        else:
            spans = self._reader.after(since, end)[-limit:]
        lines = self._reader.read_many(spans) if spans else []
        return ActivityRead([self._activity(line) for line in lines], end, reset)

    def _activity(self, line: bytes) -> Activity:
        summary = LineSummary.parse(line)
        try:
            found = parse_body(line).get("change", {}).get("event")
        except KnownError:
            found = None
        event: dict[str, Any] = found if isinstance(found, dict) else {}
        text = describe(summary, event, self._names)
        return Activity(summary, text, failed(summary.action))

    # -- the command line ------------------------------------------------------------

    def tail(self, count: int) -> list[dict[str, Any]]:
        """The newest ``count`` records, oldest first, each with its hash."""
        spans, _ = self._reader.page(self._reader.end(), max(count, 1))
        lines = self._reader.read_many(spans[::-1]) if spans else []
        return [
            {**parse_body(line), "hash": line[:64].decode("ascii", "replace")} for line in lines
        ]

    def stats(self) -> dict[str, Any]:
        """Entries, head hash, size in bytes and whether the chain is intact."""
        report = self.verify()
        return {
            "entries": report.entries,
            "head_hash": report.head_hash,
            "bytes": report.bytes,
            "ok": report.ok,
        }

    # -- verification ----------------------------------------------------------------

    def verify(self, progress: Progress | None = None) -> VerifyReport:
        """Re-hash the whole chain; ``progress(bytes checked, total bytes)`` as it goes."""
        return verify_file(self.path, progress)

    def integrity(self) -> Integrity:
        """The last verification, redone only once the log has grown (by anyone);
        callers arriving during a verification wait for it and share its report."""
        with self._verifying:
            end = self._reader.end()
            if self._integrity is None or self._integrity[0] != end:
                report = self.verify()
                self._integrity = (
                    end,
                    Integrity(
                        report.ok,
                        report.entries,
                        report.head_lsn,
                        report.head_hash,
                        len(report.broken),
                        self._clock.now().isoformat(),
                        report.seconds,
                    ),
                )
            return self._integrity[1]

    # -- the audit report ------------------------------------------------------------

    def lines(self, block: int = 4 << 20) -> Iterator[bytes]:
        """Every complete line of the log (without its newline), oldest first, read a
        block at a time."""
        try:
            with open(self.path, "rb", buffering=0) as file:
                rest = b""
                while piece := os.read(file.fileno(), block):
                    parts = (rest + piece).split(b"\n")
                    rest = parts.pop()
                    yield from parts
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StorageError(
                f"Cannot read the write-ahead log {self.path}: {exc.strerror}.",
                hint="Check that the data folder is there and readable.",
            ) from exc

    def digest(
        self,
        upto: int,
        since: datetime | None = None,
        until: datetime | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> AuditDigest:
        """Records 1 to ``upto`` counted and listed for an auditor, those written in
        ``[since, until)`` (see :mod:`app.services.audit_digest`)."""
        start = format_ts(since) if since is not None else None
        stop = format_ts(until) if until is not None else None
        return digest(self.lines(), upto, start, stop, progress)
