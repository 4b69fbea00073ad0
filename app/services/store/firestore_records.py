"""The log in Firestore: its records and its head, and reading them back.

Layout, beside the store's ``tfos/store`` (:mod:`.firestore_codec`):

* ``tfos/log``, the head: ``{lsn, hash, ts}`` of the newest record (absent before the
  first record). Every commit advances it on condition that it is unchanged, which is
  what keeps the chain from forking.
* ``tfos/log/records/{lsn}``, one document per record, its id the lsn in 12 digits (so
  Firestore's order of ids is the log's order): ``{body, hash}``, where ``body`` is the
  record's canonical body exactly as the README documents it (the bytes after the hash on
  its ``wal.log`` line) and ``hash`` is its SHA-256 after the previous hash. A record is
  created only if absent, in the same commit as the documents it changes.

(The issue sketched ``wal_records/{lsn}``; the records sit under ``tfos/`` instead so that
one root holds an installation's documents, log and leases, which the migration's
emptiness check and the security rules rely on, and so that ids sort.)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from app.kernel.wal import GENESIS
from app.services.store import firestore_codec as codec
from app.services.store.firestore_client import errors

LOG_ID, RECORDS = "log", "records"
BODY, HASH = "body", "hash"
LSN, TS = "lsn", "ts"
PAGE = 500


def record_id(lsn: int) -> str:
    return f"{lsn:012d}"


@dataclass(frozen=True)
class Head:
    """The newest record's lsn, hash and time, and the head document's update time
    (None while there is no head: an empty log)."""

    lsn: int
    hash: str
    ts: str
    update_time: Any = None


EMPTY = Head(0, GENESIS, "")


def head_of(snapshot: Any) -> Head:
    """The head a snapshot of ``tfos/log`` holds."""
    if not snapshot.exists:
        return EMPTY
    fields = snapshot.to_dict()
    return Head(int(fields[LSN]), str(fields[HASH]), str(fields[TS]), snapshot.update_time)


def head_fields(lsn: int, digest: str, ts: str) -> dict[str, Any]:
    return {LSN: lsn, HASH: digest, TS: ts}


def line_of(fields: dict[str, Any]) -> bytes:
    """A record document as its ``wal.log`` line, newline included."""
    return f"{fields[HASH]} {fields[BODY]}\n".encode("ascii")


def record_fields(digest: str, body: bytes) -> dict[str, Any]:
    return {BODY: body.decode("ascii"), HASH: digest}


class LogRefs:
    """The log's Firestore references, and reads of it."""

    def __init__(self, client: Any, where: str, timeout: float = 30.0) -> None:
        self.client = client
        self.where = where
        self.timeout = timeout
        self.head = client.collection(codec.ROOT_COLLECTION).document(LOG_ID)
        self.records = self.head.collection(RECORDS)

    def record(self, lsn: int) -> Any:
        return self.records.document(record_id(lsn))

    def read_head(self) -> Head:
        with errors(self.where):
            return head_of(self.head.get(timeout=self.timeout))

    def lines(self, first: int, last: int) -> list[bytes]:
        """The lines of records ``first`` to ``last``, in order, up to the first missing."""
        if last < first:
            return []
        refs = [self.record(lsn) for lsn in range(first, last + 1)]
        with errors(self.where):
            snaps = {s.id: s for s in self.client.get_all(refs, timeout=self.timeout) if s.exists}
        out = []
        for lsn in range(first, last + 1):
            snap = snaps.get(record_id(lsn))
            if snap is None:
                break
            out.append(line_of(snap.to_dict()))
        return out

    def stream(self, first: int = 1) -> Iterator[tuple[int, bytes]]:
        """Every record from ``first`` on, in id order, as (lsn from its id, line)."""
        after = record_id(first - 1)
        while True:
            query = (
                self.records.order_by("__name__")
                .start_after({"__name__": self.records.document(after)})
                .limit(PAGE)
            )
            with errors(self.where):
                page = list(query.stream(timeout=self.timeout))
            for snap in page:
                yield int(snap.id), line_of(snap.to_dict())
            if len(page) < PAGE:
                return
            after = page[-1].id

    def exists(self, lsn: int) -> bool:
        with errors(self.where):
            return bool(self.record(lsn).get(field_paths=[HASH], timeout=self.timeout).exists)

    def copied_up_to(self) -> int:
        """How far a copy that writes records in order (each batch after the one before)
        got: records 1 to the result are there, the next is not (0: none). Firestore
        scans ids only upwards, so this searches: about 2 log2(n) reads."""
        low, high = 0, 1
        while self.exists(high):
            low, high = high, high * 2
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if self.exists(middle) else (low, middle)
        return low
