"""Rebuilding the store from the write-ahead log, and checking the store against it.

The WAL is the record; the store is what replaying it gives. :func:`rebuild` replays the
whole log into a fresh SQLite file beside the store (``store.rebuilt.sqlite3``), compares
it with the store at the store's last applied record (every document and its version),
then replays the rest of the log, if any. The store itself is only read, from one
consistent snapshot, so a running desktop or server may go on meanwhile.
:func:`replace` swaps the rebuilt file in, keeping the old store as a backup; it refuses
while any process has the store open.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from app.kernel.errors import KnownError, StorageError
from app.kernel.files import fsync_dir, processes_using
from app.kernel.wal import WriteAheadLog
from app.services.pipeline import replay
from app.services.store.sqlite import Snapshot, SqliteStore, StoredRow

REBUILT_NAME = "store.rebuilt.sqlite3"
SHOWN = 20
_SIDE_FILES = ("", "-wal", "-shm")


@dataclass
class Comparison:
    """How the store and the replayed log compare at record ``lsn``."""

    lsn: int
    store_documents: int = 0
    replay_documents: int = 0
    differences: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, key: tuple[str, str], what: str) -> None:
        self.differences += 1
        if len(self.examples) < SHOWN:
            self.examples.append(f"{key[0]}/{key[1]}: {what}")


@dataclass
class RebuildReport:
    rebuilt: Path
    records: int
    comparison: Comparison | None
    problem: str = ""

    @property
    def identical(self) -> bool:
        return self.comparison is not None and not self.comparison.differences

    def lines(self) -> list[str]:
        out = [f"Replayed {self.records:,} WAL records into {self.rebuilt}."]
        cmp = self.comparison
        if cmp is None:
            return [*out, f"Nothing to compare with: {self.problem}"]
        counts = (
            f"{cmp.store_documents:,} documents in the store, {cmp.replay_documents:,} replayed"
        )
        if not cmp.differences:
            out.append(f"Compared at record {cmp.lsn:,}: identical ({counts}).")
        else:
            out.append(f"Compared at record {cmp.lsn:,}: {cmp.differences:,} differ ({counts}):")
            out += [f"  {line}" for line in cmp.examples]
            if cmp.differences > len(cmp.examples):
                out.append(f"  ... and {cmp.differences - len(cmp.examples):,} more")
        if self.problem:
            out.append(self.problem)
        return out


def rebuild(wal_path: Path, store_path: Path) -> RebuildReport:
    """Replay ``wal_path`` into a fresh store beside ``store_path`` and compare them.

    Raises:
        StorageError: the log is damaged, or a record cannot be applied.
    """
    if not wal_path.is_file():
        raise StorageError(f"There is no write-ahead log at {wal_path}.")
    target = store_path.with_name(REBUILT_NAME)
    _remove(target)
    wal = WriteAheadLog(wal_path)
    with SqliteStore(target) as fresh, contextlib.ExitStack() as stack:
        try:
            snap = _snapshot(stack, store_path)
        except StorageError as exc:
            _replay(fresh, wal, 1, None)
            return RebuildReport(target, fresh.last_applied_lsn(), None, str(exc))
        report = _compare_at(fresh, wal, snap)
        stack.close()
        report.problem = _replay_rest(fresh, wal) or report.problem
        report.records = fresh.last_applied_lsn()
    return report


def _snapshot(stack: contextlib.ExitStack, store_path: Path) -> Snapshot:
    if not store_path.is_file():
        raise StorageError(f"there is no store at {store_path}.")
    try:
        live = stack.enter_context(SqliteStore(store_path))
        return stack.enter_context(live.snapshot())
    except StorageError as exc:
        raise StorageError(f"the store cannot be read: {exc.message}") from exc


def _compare_at(fresh: SqliteStore, wal: WriteAheadLog, snap: Snapshot) -> RebuildReport:
    """Replay up to the snapshot's record and compare; the report (records not set)."""
    lsn = snap.last_applied_lsn
    done = _replay(fresh, wal, 1, lsn) if lsn else 0
    comparison = Comparison(lsn)
    report = RebuildReport(fresh.path, done, comparison)
    if done < lsn:
        report.problem = (
            f"The store has applied record {lsn:,} but the log ends at {done:,}: the log "
            "has lost records. Restore it from a backup."
        )
    try:
        with fresh.snapshot() as ours:
            _compare(comparison, snap.rows, ours.rows)
    except StorageError as exc:
        report.comparison = None
        report.problem = f"the store cannot be read: {exc.message}"
    return report


def _replay_rest(fresh: SqliteStore, wal: WriteAheadLog) -> str:
    """Replay what the log holds beyond the store's last applied record; what it says."""
    done = fresh.last_applied_lsn()
    later = _replay(fresh, wal, done + 1, None)
    if later <= done:
        return ""
    return (
        f"Records {done + 1:,} to {later:,} were not in the store yet; the rebuilt store has "
        "them (a running program, or the next start, applies them to the store)."
    )


def _replay(store: SqliteStore, wal: WriteAheadLog, first: int, last: int | None) -> int:
    """Replay records ``first`` to ``last`` (None: to the end); the last lsn applied."""
    try:
        done = replay(store, wal.read(first, last))
    except KnownError as exc:
        applied = store.last_applied_lsn()
        raise StorageError(
            f"Replaying the log stopped after record {applied:,}: {exc}",
            hint="The store itself was not touched.",
        ) from exc
    return done or store.last_applied_lsn()


def _compare(result: Comparison, live: Iterator[StoredRow], ours: Iterator[StoredRow]) -> None:
    a, b = next(live, None), next(ours, None)
    while a is not None or b is not None:
        if b is None or (a is not None and a[:2] < b[:2]):
            assert a is not None
            result.store_documents += 1
            result.add(a[:2], "in the store, not in the log")
            a = next(live, None)
        elif a is None or b[:2] < a[:2]:
            result.replay_documents += 1
            result.add(b[:2], "in the log, missing from the store")
            b = next(ours, None)
        else:
            result.store_documents += 1
            result.replay_documents += 1
            if a[2] != b[2]:
                result.add(a[:2], "its data differs")
            elif a[3] != b[3]:
                result.add(a[:2], f"version {a[3]} in the store, {b[3]} replayed")
            a, b = next(live, None), next(ours, None)


def replace(store_path: Path) -> Path:
    """Swap the rebuilt store in; the old one (and its -wal, -shm files) is kept with a
    ``.bak-<time>`` suffix, which is returned.

    Raises:
        StorageError: there is no rebuilt store, or a process has the store open.
    """
    rebuilt = store_path.with_name(REBUILT_NAME)
    if not rebuilt.is_file():
        raise StorageError(f"There is no rebuilt store at {rebuilt}.", hint="Rebuild it first.")
    users = [p for path in _present(store_path) for p in processes_using(path)]
    if users:
        raise StorageError(
            f"The store is in use ({', '.join(sorted(set(users)))}), so it was not replaced.",
            hint="Stop every TransactFlowOS program on this data directory, then run "
            "`tfos store rebuild --replace` again.",
        )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    backup = store_path.with_name(f"{store_path.name}.bak-{stamp}")
    for path in _present(store_path):
        path.rename(path.with_name(backup.name + path.name[len(store_path.name) :]))
    rebuilt.rename(store_path)
    fsync_dir(store_path.parent)
    return backup


def _present(store_path: Path) -> list[Path]:
    paths = [store_path.with_name(store_path.name + suffix) for suffix in _SIDE_FILES]
    return [p for p in paths if p.exists()]


def _remove(store_path: Path) -> None:
    for path in _present(store_path):
        os.unlink(path)
