"""Moving an office: a SQLite data directory's log and documents into an empty project.

``tfos store migrate --to firestore`` (:func:`migrate`):

1. The source must be quiet (no program has its store or log open), its store must
   reflect its whole log, and the target project must be empty: no log head, no
   record, no document (leases and the recorded key do not count). A project holding
   anything else is refused; one holding an interrupted migration of this same log
   (``tfos/migration`` names its first record) is continued with ``--resume``.
2. The personal-data key's id is recorded (:meth:`FirestoreStore.agree_key`): the
   documents were sealed with it, so every machine on the project needs this key.
3. Records are copied in order, ``RECORDS_PER_BATCH`` at a time, each created only if
   absent, every line checked first as the verifier checks it (lsn, previous hash,
   SHA-256): a damaged source stops the copy at the damage. A resumed copy finds how far
   it got and checks that Firestore's last record there is the source's.
4. Documents are copied from one consistent read of the store, versions kept (a
   rewrite of the same data, so copying again after an interruption is harmless).
5. The log's head is written last: until it exists, no TransactFlowOS program starts
   on the project (the mirror check refuses it), and ``--resume`` can finish the move.
6. The copy is compared: the head's hash with the source's last record, the number of
   records, and the documents of each collection.

On a real project the copy starts at 500 writes a second and grows by half every five
minutes (Firestore's "500/50/5" ramp for new traffic); the emulator takes it at once.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.kernel.errors import StorageError
from app.kernel.files import processes_using
from app.kernel.wal import GENESIS
from app.kernel.wal_scan import CHUNK
from app.kernel.wal_verify import analyze
from app.services.store import Query
from app.services.store import firestore_codec as codec
from app.services.store import firestore_records as layout
from app.services.store.firestore import FirestoreStore
from app.services.store.firestore_client import EMULATOR_ENV, errors
from app.services.store.sqlite import SqliteStore

RECORDS_PER_BATCH = 400
DOCUMENTS_PER_BATCH = 400
BATCH_BYTES = 3 << 20
MARKER_ID = "migration"
Progress = Callable[[str], None]
Copy = list[tuple[Any, dict[str, Any], int]]
"""Documents waiting to be written: reference, fields, bytes."""


@dataclass
class MigrateReport:
    """What was copied and how the copy compares with the source."""

    records: int
    head_hash: str
    target_head_hash: str
    documents: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Per collection: (documents in the source, in the project)."""

    @property
    def identical(self) -> bool:
        same_docs = all(a == b for a, b in self.documents.values())
        return self.head_hash == self.target_head_hash and same_docs

    def lines(self) -> list[str]:
        verdict = "identical" if self.identical else "DIFFERENT"
        out = [
            f"Copied {self.records:,} records; the project's head is {self.target_head_hash}"
            f" ({'the same as' if self.head_hash == self.target_head_hash else 'not'} the"
            f" source's {self.head_hash}).",
        ]
        for name, (ours, theirs) in sorted(self.documents.items()):
            mark = "" if ours == theirs else "  <- differs"
            out.append(f"  {name}: {ours:,} documents, {theirs:,} in the project{mark}")
        out.append(f"The copy is {verdict}.")
        return out


def migrate(
    data_dir: Path,
    target: FirestoreStore,
    key: tuple[str, Path],
    *,
    resume: bool = False,
    progress: Progress = lambda _line: None,
) -> MigrateReport:
    """Copy ``data_dir`` (SQLite store and log) into ``target`` (see the module docstring);
    ``key`` is the id and path of the data directory's personal-data key.

    Raises:
        StorageError: the source is in use, behind or damaged, or the target is not
            empty (or not this log's interrupted migration); nothing was changed then.
    """
    wal_path, store_path = data_dir / "wal" / "wal.log", data_dir / "store.sqlite3"
    _check_quiet([wal_path, store_path])
    refs = layout.LogRefs(target.client, target.where, target.timeout)
    first = _first_line(wal_path)
    _check_target(target, refs, first, resume=resume)
    target.agree_key("personal-data", *key)
    ramp = Ramp(enabled=not os.environ.get(EMULATOR_ENV))
    last, head_hash, ts = _copy_records(wal_path, refs, ramp, progress)
    with SqliteStore(store_path) as source:
        counts = _copy_documents(source, target, last, ramp, progress)
    _write_head(refs, last, head_hash, ts)
    target_head = refs.read_head()
    documents = {name: (n, target.count(Query(name))) for name, n in counts.items()}
    report = MigrateReport(target_head.lsn, head_hash, target_head.hash, documents)
    if refs.copied_up_to() != last:
        report.target_head_hash = f"(records missing: the project holds {refs.copied_up_to()})"
    return report


# -- checks --------------------------------------------------------------------------------


def _check_quiet(paths: list[Path]) -> None:
    users = sorted({p for path in paths if path.exists() for p in processes_using(path)})
    if users:
        raise StorageError(
            f"The data directory is in use ({', '.join(users)}), so it was not copied.",
            hint="Stop every TransactFlowOS program on it, then migrate.",
        )


def _first_line(wal_path: Path) -> bytes:
    with open(wal_path, "rb") as file:
        line = file.readline()
    if not line.endswith(b"\n"):
        raise StorageError(f"The log {wal_path} holds no record to copy.")
    return line


def _check_target(
    target: FirestoreStore, refs: layout.LogRefs, first: bytes, *, resume: bool
) -> None:
    marker = target.client.collection(codec.ROOT_COLLECTION).document(MARKER_ID)
    with errors(target.where):
        mark = marker.get(timeout=target.timeout).to_dict()
    head = refs.read_head()
    if head.lsn:
        raise StorageError(
            f"{target.where} already holds a log ({head.lsn:,} records), so nothing was copied.",
            hint="Migrate into a new, empty project.",
        )
    holds = refs.exists(1) or _holds_documents(target)
    if resume:
        if mark is None or mark.get("first_hash") != first[:64].decode():
            raise StorageError(
                f"{target.where} holds no interrupted migration of this data directory's log.",
                hint="Migrate without --resume into an empty project.",
            )
        return
    if holds or mark is not None:
        raise StorageError(
            f"{target.where} is not empty"
            + (" (an interrupted migration)" if mark is not None else "")
            + ", so nothing was copied.",
            hint="Migrate into a new, empty project"
            + (", or continue that migration with --resume." if mark is not None else "."),
        )
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    with errors(target.where):
        marker.create({"first_hash": first[:64].decode(), "started_at": stamp})


def _holds_documents(target: FirestoreStore) -> bool:
    root = target.client.collection(codec.ROOT_COLLECTION).document(codec.ROOT_ID)
    with errors(target.where):
        for collection in root.collections(timeout=target.timeout):
            if list(collection.limit(1).stream(timeout=target.timeout)):
                return True
    return False


# -- records -------------------------------------------------------------------------------


def _copy_records(
    wal_path: Path, refs: layout.LogRefs, ramp: Ramp, progress: Progress
) -> tuple[int, str, str]:
    """Copy every record, checked; the last lsn, its hash and its time."""
    done = refs.copied_up_to()
    state: Any = (1, GENESIS.encode(), None)
    last, head_hash, last_line = 0, GENESIS, b""
    batch: list[tuple[int, bytes]] = []
    for line in _lines(wal_path):
        problems, lsn, state = analyze(line, state)
        if problems or lsn is None:
            raise StorageError(
                f"The source log is damaged at record {last + 1}: {'; '.join(problems)}. "
                f"Records up to {last:,} were copied.",
                hint="Run `tfos wal verify` on the data directory; nothing was repaired.",
            )
        last, head_hash, last_line = lsn, line[:64].decode(), line
        if lsn == done:
            _check_resumed(refs, lsn, line)
        if lsn > done:
            batch.append((lsn, line))
        if len(batch) >= RECORDS_PER_BATCH or sum(len(b[1]) for b in batch) >= BATCH_BYTES:
            _send_records(refs, batch, ramp, progress)
            batch = []
    _send_records(refs, batch, ramp, progress)
    return last, head_hash, json.loads(last_line[65:])["ts"] if last else ""


def _check_resumed(refs: layout.LogRefs, lsn: int, line: bytes) -> None:
    theirs = refs.lines(lsn, lsn)
    if not theirs or theirs[0][:64] != line[:64]:
        raise StorageError(
            f"Record {lsn} in the project is not the source's: it is another log.",
            hint="Migrate into a new, empty project.",
        )


def _send_records(
    refs: layout.LogRefs, batch: list[tuple[int, bytes]], ramp: Ramp, progress: Progress
) -> None:
    if not batch:
        return
    ramp.wait(len(batch))
    writes = refs.client.batch()
    for lsn, line in batch:
        writes.create(refs.record(lsn), layout.record_fields(line[:64].decode(), line[65:]))
    with errors(refs.where):
        writes.commit(timeout=refs.timeout)
    progress(f"records {batch[0][0]:,} to {batch[-1][0]:,} copied")


def _lines(path: Path) -> Iterator[bytes]:
    """The complete lines of ``path`` (no newline); a torn last line is left out."""
    rest = b""
    with open(path, "rb") as file:
        while piece := file.read(CHUNK):
            lines = (rest + piece).split(b"\n")
            rest = lines.pop()
            yield from lines


# -- documents and head --------------------------------------------------------------------


def _copy_documents(
    source: SqliteStore, target: FirestoreStore, last: int, ramp: Ramp, progress: Progress
) -> dict[str, int]:
    counts: dict[str, int] = {}
    batch: Copy = []
    with source.snapshot() as snap:
        if snap.last_applied_lsn != last:
            raise StorageError(
                f"The store has applied record {snap.last_applied_lsn:,} and the log ends "
                f"at {last:,}, so the documents were not copied.",
                hint="Start TransactFlowOS once on the data directory (it brings the store "
                "in step with its log), stop it, then migrate with --resume.",
            )
        for collection, doc_id, data, version in snap.rows:
            counts[collection] = counts.get(collection, 0) + 1
            fields = codec.stored(json.loads(data), version)
            batch.append((target.ref(collection, doc_id), fields, len(data)))
            if len(batch) >= DOCUMENTS_PER_BATCH or sum(b[2] for b in batch) >= BATCH_BYTES:
                _send_documents(target, batch, ramp, progress)
                batch = []
    _send_documents(target, batch, ramp, progress)
    return counts


def _send_documents(
    target: FirestoreStore,
    batch: list[tuple[Any, dict[str, Any], int]],
    ramp: Ramp,
    progress: Progress,
) -> None:
    if not batch:
        return
    ramp.wait(len(batch))
    writes = target.client.batch()
    for ref, fields, _ in batch:
        writes.set(ref, fields)
    with errors(target.where):
        writes.commit(timeout=target.timeout)
    progress(f"{len(batch)} documents copied")


def _write_head(refs: layout.LogRefs, last: int, head_hash: str, ts: str) -> None:
    with errors(refs.where):
        refs.head.create(layout.head_fields(last, head_hash, ts))


class Ramp:
    """Firestore's 500/50/5 rule for new traffic: at most 500 writes a second at first,
    half as many again every 5 minutes."""

    def __init__(self, *, enabled: bool, clock: Callable[[], float] = time.monotonic) -> None:
        self.enabled = enabled
        self._clock = clock
        self._started = clock()
        self._second = (0.0, 0)

    def rate(self) -> float:
        return 500 * 1.5 ** int((self._clock() - self._started) // 300)

    def wait(self, writes: int) -> None:
        if not self.enabled:
            return
        start, used = self._second
        now = self._clock()
        if now - start >= 1:
            start, used = now, 0
        if used + writes > self.rate():
            time.sleep(max(0.0, start + 1 - now))
            start, used = self._clock(), 0
        self._second = (start, used + writes)
