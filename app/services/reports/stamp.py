"""Which state of the log a report shows: the log head it reflects, read consistently.

A report is stamped with the last WAL record the store had applied when its data was
read (its LSN, hash and time). :func:`snapshot` reads the data between two looks at
the store's applied LSN and reads again when a commit landed in between, so the stamp
always names the state the figures come from.

The log's public key and latest signed checkpoint (issue 12, part 3) are optional
fields of :class:`LogHead`: when the signing side provides them they are printed
under the log head on every page, and nothing else changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from app.kernel import office_time
from app.kernel.errors import StorageError
from app.services.context import ServiceContext

T = TypeVar("T")
ATTEMPTS = 5
GENESIS = "0" * 64


@dataclass(frozen=True)
class LogHead:
    """The last record a report reflects. ``at`` is that record's time (UTC)."""

    lsn: int
    hash: str
    at: datetime | None
    public_key: str | None = None
    """The log's verifier key (C2SP note format), once the log signs checkpoints."""
    checkpoint: str | None = None
    """The latest signed checkpoint covering ``lsn``, as its text."""

    @property
    def at_ist(self) -> str:
        if self.at is None:
            return "no records yet"
        return office_time.moment(self.at, seconds=True)

    @property
    def pdf_date(self) -> str:
        """The creation date a PDF stamped with this head carries (in the office's zone)."""
        moment = office_time.office(self.at or datetime(2000, 1, 1, tzinfo=UTC))
        offset = int((moment.utcoffset() or timedelta(0)).total_seconds() // 60)
        hours, minutes = divmod(abs(offset), 60)
        sign = "-" if offset < 0 else "+"
        return f"D:{moment:%Y%m%d%H%M%S}{sign}{hours:02d}'{minutes:02d}'"

    def with_signing(self, public_key: str | None, checkpoint: str | None) -> LogHead:
        return replace(self, public_key=public_key, checkpoint=checkpoint)


def log_head(ctx: ServiceContext, lsn: int | None = None) -> LogHead:
    """Record ``lsn`` of the log (default: the one the store applied last); LSN 0 and the
    genesis hash for an empty log."""
    lsn = ctx.store.last_applied_lsn() if lsn is None else lsn
    if lsn == 0:
        return LogHead(0, GENESIS, None)
    record = ctx.pipeline.record(lsn)
    if record is None:
        raise StorageError(
            f"The store has applied record {lsn}, but the log has no such record.",
            hint="Run `tfos wal verify`; the store may belong to another log.",
        )
    at = datetime.fromisoformat(record.ts.replace("Z", "+00:00"))
    return LogHead(lsn, record.hash, at)


def snapshot(ctx: ServiceContext, read: Callable[[], T]) -> tuple[T, LogHead]:
    """``read()`` and the log head it reflects: read again while commits land meanwhile."""
    for _ in range(ATTEMPTS):
        before = ctx.store.last_applied_lsn()
        value = read()
        if ctx.store.last_applied_lsn() == before:
            return value, log_head(ctx, before)
    raise StorageError(
        "The log kept moving while the report was read, so it would not show one state.",
        hint="Try again in a moment.",
    )
