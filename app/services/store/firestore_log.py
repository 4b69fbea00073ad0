"""The log kept in Firestore: the pipeline's :class:`~app.services.commit_log.CommitLog`
for the Firestore store.

A change and its record are one conditional Firestore commit, batched by the kernel's
group commit (one writer per process) and sent by :mod:`.firestore_batches`: records
created only if absent, documents written only if unchanged since they were read, the
head advanced only if unchanged, so the chain cannot fork whoever writes. The data
directory's ``wal.log`` is a verified mirror of the records (:mod:`.firestore_mirror`),
which the audit viewer, the verifier and the signed checkpoints read. Acknowledgement
never waits for the mirror.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from app.kernel.errors import StorageError
from app.kernel.wal import Entry, OpenReport, Record, WriteAheadLog
from app.kernel.wal_format import check_record_size, encode_entry, utcnow
from app.kernel.wal_writer import GroupCommit, not_open
from app.services.commit_log import Pending
from app.services.store import firestore_records as layout
from app.services.store import limits
from app.services.store.firestore_batches import FirestoreBatches
from app.services.store.firestore_client import capitalized
from app.services.store.firestore_mirror import LogMirror

if TYPE_CHECKING:
    from app.services.store.firestore import FirestoreStore


class FirestoreLog:
    """The log of a Firestore project, and this data directory's mirror of it."""

    def __init__(
        self,
        store: FirestoreStore,
        wal_path: Path,
        *,
        clock: Callable[[], datetime] = utcnow,
        lock_timeout: float = 10.0,
    ) -> None:
        self.store = store
        self.refs = layout.LogRefs(store.client, store.where, store.timeout)
        self._wal = WriteAheadLog(
            wal_path, lock_timeout=lock_timeout, max_record_bytes=limits.MAX_RECORD_BYTES
        )
        self.mirror = LogMirror(self._wal, self.refs)
        self._pending: dict[int, Pending] = {}
        self.batches = FirestoreBatches(self, clock)
        self._group: GroupCommit | None = None

    @property
    def wal(self) -> WriteAheadLog:
        return self._wal

    def open(self) -> OpenReport:
        """Open the mirror, check that it is this project's log, and start following.

        Raises:
            StorageError: the data directory's log is not (a part of) the project's log,
                or Firestore does not answer.
        """
        report = self._wal.open()
        try:
            head = self.refs.read_head()
            self._check_layout(head)
            self.batches.saw_head(head)
            self.mirror.start(head, on_head=self.batches.saw_head)
        except BaseException:
            self.mirror.close()
            self._wal.close()
            raise
        self._group = GroupCommit(self.batches)
        self.store.on_read = self.batches.cache.read
        return report

    def _check_layout(self, head: layout.Head) -> None:
        if head.lsn == 0 and self.store.stored_lsn() > 0:
            raise StorageError(
                f"{capitalized(self.store.where)} holds documents whose log was kept on one "
                "machine (an earlier version of TransactFlowOS), not in Firestore.",
                hint="Move that machine's data directory into a new, empty project with "
                "`tfos store migrate --to firestore`.",
            )

    def append(self, entry: Entry, pending: Pending) -> Record:
        group = self._group
        if group is None:
            raise not_open(self._wal.path, "not opened")
        tail = encode_entry(entry)
        check_record_size(tail, limits.MAX_RECORD_BYTES)
        self._pending[id(entry)] = pending
        try:
            return group.append(entry, tail)
        finally:
            self._pending.pop(id(entry), None)

    def pending(self, entry: Entry) -> Pending:
        return self._pending.get(id(entry), _NOTHING)

    def head(self) -> tuple[int, str]:
        head = self.batches.head
        mirrored = self._wal.head()
        if head is None or head.lsn <= mirrored[0]:
            return mirrored
        return head.lsn, head.hash

    def read(self, first: int, last: int | None = None) -> Iterator[Record]:
        """From the mirror, once it has them (waiting up to a few seconds), else from
        Firestore itself."""
        first = max(first, 1)
        last = self.head()[0] if last is None else last
        if self.mirror.wait(last, timeout=5.0):
            return self._wal.read(first, last)
        lines = self.refs.lines(first, last)
        return iter([Record.parse(line) for line in lines])

    def close(self) -> None:
        self.store.on_read = None
        if self._group is not None:
            self._group.close()
            self._group = None
        self.mirror.close()
        self._wal.close()


_NOTHING = Pending({}, [])
