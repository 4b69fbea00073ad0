"""The write path: every state change is logged, and applied with its record.

A service builds a :class:`ChangeSet` (the document writes plus who, what and why)
inside :meth:`Pipeline.transact`, which reads through a :class:`Reader` that
remembers the version of every document it saw. The change is checked against what
any store can hold (:mod:`app.services.store.limits`: valid text, 64-bit integers,
nesting depth, document size), in the caller's thread and before anything is queued:
a record in the log can therefore always be applied. (A document's size after a
merge or update is worked out from the version the transaction read; a blind write
from :meth:`Pipeline.commit` starts from the store's current version.)

The pipeline then hands the entry and its preconditions to its log
(:mod:`app.services.commit_log`): the data directory's WAL for a store on one machine,
or the log a shared store keeps (Firestore), where one conditional Firestore commit
per batch checks the versions, creates the records, writes the documents and advances
the log's head. With the local WAL, its writer thread, for each batch and while holding
the WAL's cross-process lock:

1. checks every change's preconditions (the versions it read) against the store;
   a change whose data moved underneath it is refused with ``Conflict`` and
   :meth:`Pipeline.transact` runs the service function again (optimistic
   concurrency, as Firestore transactions do);
2. appends the accepted changes to the WAL and fsyncs once (group commit);
3. applies their writes to the store in one transaction that also records the last
   applied sequence number.

A crash between 2 and 3 loses nothing: on open (and whenever another process is
found to have appended) records after the store's last applied sequence number
are replayed. A crash before 2 leaves no trace, and the change was never
acknowledged. Replay applies a record at most once because the sequence number
moves in the same store transaction as the writes.

Auditors. A change in an auditor's name is refused here, before anything is checked or
queued (:func:`~app.services.actors.refuse_read_only`): whatever service or route asks,
an auditor's name goes only on their own exports, sign-ins, sign-outs and password.
The services check roles as well, to say what was refused in their own words.

Leases. A change made while holding a lease (a group's auction session, a job's claim)
is committed under it (:meth:`Pipeline.under`): with leases that span machines, the
commit is refused if the lease was taken over meanwhile (fencing).
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from app.kernel.errors import Conflict, NotFound
from app.kernel.leases import Lease, LeaseLost
from app.kernel.wal import Entry, OpenReport, Record, WriteAheadLog, utcnow
from app.services.actors import Actor, refuse_read_only
from app.services.commit_log import (
    CommitLog,
    Pending,
    PreconditionFailed,
    apply_records,
    log_for,
    replay,
)
from app.services.events import Event
from app.services.store import Document, DocumentStore, Query, Write, limits

__all__ = [
    "ChangeSet",
    "Committed",
    "Pipeline",
    "PreconditionFailed",
    "Reader",
    "apply_records",
    "replay",
]

log = logging.getLogger(__name__)

T = TypeVar("T")
Key = tuple[str, str]
RETRY_BACKOFF_S = 0.002  # jittered, grows with each attempt so no writer starves


@dataclass
class ChangeSet:
    """What one action changes, and why. One ChangeSet is one WAL record; its event
    (:mod:`app.services.events`) says what the change means."""

    action: str
    entity_type: str
    entity_id: str
    writes: list[Write] = field(default_factory=list)
    reason: str = ""
    event: Event | None = None

    @classmethod
    def of(
        cls,
        event: Event,
        entity_id: str,
        writes: list[Write],
        reason: str = "",
        *,
        entity_type: str = "",
    ) -> ChangeSet:
        """The change ``event`` describes: the event's action is the record's action,
        and its entity type the record's (unless given)."""
        return cls(event.ACTION, entity_type or event.ENTITY, entity_id, writes, reason, event)


@dataclass
class Committed:
    """The outcome of a commit: the WAL record, plus what the service wants to return."""

    record: Record
    value: Any = None


class Reader:
    """Reads the store for one attempt of a transaction, remembering versions read."""

    def __init__(self, store: DocumentStore) -> None:
        self.store = store
        self.seen: dict[Key, Document | None] = {}

    def get(self, collection: str, doc_id: str) -> Document | None:
        doc = self.store.get(collection, doc_id)
        self.seen[(collection, doc_id)] = doc
        return doc

    def get_many(self, collection: str, ids: Iterable[str]) -> dict[str, Document]:
        """Several documents in one read (absent ones are left out, and remembered as
        read absent, so their creation by someone else is a conflict)."""
        unique = list(dict.fromkeys(ids))
        wanted = [i for i in unique if (collection, i) not in self.seen]
        found = self.store.get_many(collection, wanted) if wanted else {}
        for doc_id in wanted:
            self.seen[(collection, doc_id)] = found.get(doc_id)
        return {i: doc for i in unique if (doc := self.seen[(collection, i)]) is not None}

    def require(self, collection: str, doc_id: str, what: str) -> Document:
        """Like :meth:`get`, but a missing document is a clear ``NotFound``."""
        doc = self.get(collection, doc_id)
        if doc is None:
            raise NotFound(f"No {what} with id {doc_id!r}.")
        return doc

    def query(self, query: Query) -> list[Document]:
        docs = self.store.query(query)
        for doc in docs:
            self.seen[(doc.collection, doc.id)] = doc
        return docs

    def versions(self) -> dict[Key, int]:
        return {key: (doc.version if doc else 0) for key, doc in self.seen.items()}


class Pipeline:
    """Owns the WAL and applies its records to the store (see module docstring)."""

    def __init__(
        self,
        store: DocumentStore,
        wal_path: Path,
        *,
        clock: Callable[[], datetime] = utcnow,
        lock_timeout: float = 10.0,
        log: CommitLog | None = None,
    ) -> None:
        self.store = store
        self.log = log or log_for(store, wal_path, clock=clock, lock_timeout=lock_timeout)
        self.open_report: OpenReport | None = None
        self._under = threading.local()

    @property
    def wal(self) -> WriteAheadLog:
        """The data directory's log file (the log itself, or the mirror of a shared one)."""
        return self.log.wal

    def open(self) -> OpenReport:
        """Open the log and bring the store in step with it (a torn last record is only
        reported: the first write cuts it)."""
        self.open_report = self.log.open()
        return self.open_report

    def close(self) -> None:
        self.log.close()

    def __enter__(self) -> Pipeline:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def head(self) -> tuple[int, str]:
        """The lsn and hash of the newest record this process knows of."""
        return self.log.head()

    def read(self, first: int = 1, last: int | None = None) -> Iterator[Record]:
        """Records ``first`` to ``last`` (default: to the head)."""
        return self.log.read(first, last)

    def record(self, lsn: int) -> Record | None:
        """Record ``lsn``, or None if the log has no such record."""
        return next(iter(self.log.read(lsn, lsn)), None)

    @contextlib.contextmanager
    def under(self, *leases: Lease) -> Iterator[None]:
        """Commit this thread's changes under ``leases`` for the block: each commit is
        refused (``LeaseLost``) once one of them is no longer held."""
        held = getattr(self._under, "leases", ())
        self._under.leases = (*held, *leases)
        try:
            yield
        finally:
            self._under.leases = held

    # -- the service-facing API --------------------------------------------------------

    def transact(
        self,
        actor: Actor,
        work: Callable[[Reader], ChangeSet | tuple[ChangeSet, T]],
        *,
        attempts: int = 5,
    ) -> Committed:
        """Run ``work`` against a fresh Reader and commit what it returns.

        ``work`` may return a ChangeSet, or (ChangeSet, value) to hand a value back to
        the caller in ``Committed.value``. It is run again when another writer changed
        a document it read (up to ``attempts`` times); any exception it raises
        propagates and nothing is written.
        """
        for attempt in range(1, attempts + 1):
            reader = Reader(self.store)
            result = work(reader)
            change, value = result if isinstance(result, tuple) else (result, None)
            try:
                record = self._commit(actor, change, reader)
            except PreconditionFailed as exc:
                if attempt == attempts:
                    raise Conflict(
                        f"{change.action} on {change.entity_type} {change.entity_id} kept "
                        f"colliding with other changes ({exc}).",
                        hint="Try again in a moment.",
                    ) from None
                time.sleep(random.uniform(0, RETRY_BACKOFF_S * attempt))
                continue
            return Committed(record, value)
        raise AssertionError("unreachable")

    def commit(self, actor: Actor, change: ChangeSet) -> Record:
        """Commit a change that needs no reads (blind writes, e.g. an append-only event)."""
        try:
            return self._commit(actor, change, None)
        except PreconditionFailed as exc:
            raise Conflict(str(exc)) from None

    # -- building entries ------------------------------------------------------------------

    def _commit(self, actor: Actor, change: ChangeSet, reader: Reader | None) -> Record:
        refuse_read_only(actor, change.action, change.entity_id)
        self._check_storable(actor, change, reader)
        checks = reader.versions() if reader else {}
        for write in change.writes:
            if write.expect_version is not None:
                checks[(write.collection, write.id)] = write.expect_version
        entry = Entry(
            actor=actor.to_json(),
            action=change.action,
            entity={"type": change.entity_type, "id": change.entity_id},
            change=self._change_json(change, reader),
            reason=change.reason,
        )
        return self.log.append(entry, Pending(checks, list(change.writes), self._leases()))

    def _leases(self) -> tuple[Lease, ...]:
        leases: tuple[Lease, ...] = getattr(self._under, "leases", ())
        for lease in leases:
            if not lease.locked:
                raise LeaseLost(
                    f"This process no longer holds {lease.name!r}; the change was not made.",
                    hint="Someone else took it over; start again from the beginning.",
                )
        return leases

    def _check_storable(self, actor: Actor, change: ChangeSet, reader: Reader | None) -> None:
        """Refuse what a store could not apply (see :mod:`.store.limits`): checked
        before the append, a record in the WAL can always be applied."""
        texts = {
            "The actor's id": actor.id,
            "The actor's name": actor.name,
            "The actor's role": actor.role,
            "The action": change.action,
            "The entity type": change.entity_type,
            "The entity id": change.entity_id,
            "The reason": change.reason,
        }
        for where, text in texts.items():
            limits.check_text(text, where)
        if change.event is not None:
            limits.check_value(change.event.to_json(), "The event")
        limits.check_writes(change.writes, lambda c, i: self._base(reader, c, i))

    def _base(self, reader: Reader | None, collection: str, doc_id: str) -> dict[str, Any] | None:
        """A document's data as this change found it (what a merge or update starts from)."""
        if reader is not None and (collection, doc_id) in reader.seen:
            doc = reader.seen[(collection, doc_id)]
        else:
            doc = self.store.get(collection, doc_id)
        return doc.data if doc is not None else None

    @staticmethod
    def _change_json(change: ChangeSet, reader: Reader | None) -> dict[str, Any]:
        writes = []
        for write in change.writes:
            item = write.to_json()
            before = reader.seen.get((write.collection, write.id)) if reader else None
            if before is not None:
                item["before"] = _before_values(before, write)
            writes.append(item)
        out: dict[str, Any] = {"writes": writes}
        if change.event is not None:
            out["event"] = change.event.to_json()
        return out


def _before_values(before: Document, write: Write) -> dict[str, Any]:
    """The old values of the fields a write touches (for the audit trail)."""
    if write.kind in ("set", "delete"):
        return before.data
    return {path: before.get(path) for path in write.data}
