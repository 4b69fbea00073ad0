"""The Firestore document store: the port over Google Cloud Firestore.

Several processes and machines share one Firestore project; every one of them sees
the others' commits, and its listeners hear them (Firestore pushes them).

Layout: see :mod:`.firestore_codec` (``tfos/store/{collection}/{id}`` holding the
data under ``d`` and the version under ``v``; ``last_applied_lsn`` on the root
document ``tfos/store``). Queries: see :mod:`.firestore_query`. Connection and
errors: see :mod:`.firestore_client`.

Commits are optimistic, never Firestore transactions (the emulator's pessimistic
locks collapse under concurrent writers). A commit:

1. reads every document it writes or checks, in one request, with its update time;
2. checks the expected versions (``Conflict`` if one moved) and folds the writes into
   each document's new state with :mod:`.writes`, as the SQLite store does;
3. sends one atomic batch with one write per document, each conditional on the update
   time read (or on absence): a changed document is written in full with its next
   version, a deleted one deleted, and a document only checked gets a no-op update
   that keeps its update time; ``last_applied_lsn`` is raised with Firestore's
   ``maximum`` transform in the same batch, so it never moves backwards.

If another writer changed one of those documents between 1 and 3, Firestore refuses
the whole batch and the commit starts again from 1; the caller's expected versions
are checked again there, so a conflict with them is reported as ``Conflict`` while
a race with an unrelated writer is retried (up to ``MAX_ATTEMPTS``).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from google.api_core import exceptions as api
from google.cloud.firestore_v1.transforms import Maximum

from app.kernel.errors import Conflict, StorageError, ValidationError
from app.services.store import firestore_codec as codec
from app.services.store import firestore_query, limits
from app.services.store.firestore_client import Connection, capitalized, connect, errors
from app.services.store.firestore_leases import FirestoreLeases
from app.services.store.firestore_listen import FirestoreListener
from app.services.store.firestore_records import LOG_ID, LSN
from app.services.store.port import Change, Document, Query, Write
from app.services.store.transactions import CheckedStore
from app.services.store.writes import Slot, fold

if TYPE_CHECKING:
    from app.services.store.firestore_log import FirestoreLog

logger = logging.getLogger(__name__)
KEYS_ID = "keys"

Key = tuple[str, str]
MAX_ATTEMPTS = 50
_RACED = (api.FailedPrecondition, api.AlreadyExists, api.Aborted)


class FirestoreStore(CheckedStore):
    """The :class:`~app.services.store.port.DocumentStore` over a Firestore project.

    Args:
        connection: an open client (:meth:`open` makes one from the settings).
        timeout: seconds one Firestore request may take.
    """

    def __init__(self, connection: Connection, *, timeout: float = 30.0) -> None:
        self._conn = connection
        self._client = connection.client
        self._root = self._client.collection(codec.ROOT_COLLECTION).document(codec.ROOT_ID)
        self.where = connection.where
        self.timeout = timeout
        self._listeners: set[FirestoreListener] = set()
        self._listeners_lock = threading.Lock()
        self._leases: FirestoreLeases | None = None
        self._closed = False
        self.on_read: Callable[[Key, Document | None, Any], None] | None = None
        """Told of every document read whole, with its update time (the log's cache)."""

    @classmethod
    def open(cls, project: str, *, timeout: float = 30.0) -> FirestoreStore:
        """Connect to ``project`` (emulator or real, see :mod:`.firestore_client`)."""
        return cls(connect(project, probe_timeout=min(timeout, 10.0)), timeout=timeout)

    @property
    def client(self) -> Any:
        """The Firestore client (``google.cloud.firestore.Client``)."""
        return self._client

    def ref(self, collection: str, doc_id: str) -> Any:
        """The Firestore document holding the port's ``(collection, doc_id)``."""
        return self._root.collection(collection).document(doc_id)

    _ref = ref

    def _ensure_open(self) -> None:
        if self._closed:
            raise StorageError(f"The store on {self.where} is closed.", hint="Open it again.")

    # -- reads ----------------------------------------------------------------------

    def get(self, collection: str, doc_id: str) -> Document | None:
        return self.get_many(collection, [doc_id]).get(doc_id)

    def get_many(self, collection: str, ids: Iterable[str]) -> dict[str, Document]:
        keys = [(collection, doc_id) for doc_id in dict.fromkeys(ids)]
        found = self._read(keys)
        return {key[1]: doc for key, (doc, _) in found.items() if doc is not None}

    def _read(self, keys: list[Key], *, fields: list[str] | None = None) -> dict[Key, Any]:
        """``{key: (Document or None, update time or None)}`` from one consistent read."""
        for key in keys:
            _check_key(key)
        if not keys:
            return {}
        self._ensure_open()
        refs = {key: self._ref(*key) for key in keys}
        paths = {ref.path: key for key, ref in refs.items()}
        with errors(self.where):
            snaps = list(
                self._client.get_all(list(refs.values()), field_paths=fields, timeout=self.timeout)
            )
        out: dict[Key, Any] = {key: (None, None) for key in keys}
        for snap in snaps:
            key = paths[snap.reference.path]
            out[key] = (codec.document(key[0], key[1], snap.to_dict()), snap.update_time)
        if self.on_read is not None and fields is None:
            for key, (doc, update_time) in out.items():
                self.on_read(key, doc, update_time)
        return out

    def query(self, query: Query) -> list[Document]:
        return list(self.stream(query))

    def stream(self, query: Query) -> Iterator[Document]:
        """The result from one consistent read (filters Firestore cannot run are applied
        in Python to everything the others select, see :mod:`.firestore_query`)."""
        plan = firestore_query.plan(query)
        if plan.empty:
            return iter(())
        if plan.exact:
            return self._stream(plan)
        return iter(firestore_query.finish(plan, list(self._stream(plan))))

    def _stream(self, plan: firestore_query.Plan) -> Iterator[Document]:
        self._ensure_open()
        fs = firestore_query.build(self._root.collection(plan.query.collection), plan)
        collection = plan.query.collection
        with errors(self.where):
            for snap in fs.stream(timeout=self.timeout):
                doc = codec.document(collection, snap.id, snap.to_dict())
                if doc is not None:
                    if self.on_read is not None:
                        self.on_read((collection, snap.id), doc, snap.update_time)
                    yield doc

    def count(self, query: Query) -> int:
        plan = firestore_query.plan(query)
        if plan.empty:
            return 0
        if not plan.exact:
            return len(self.query(query))
        self._ensure_open()
        fs = firestore_query.build(self._root.collection(query.collection), plan)
        with errors(self.where):
            result = fs.count().get(timeout=self.timeout)
        return int(result[0][0].value)

    def versions(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
        wanted = list(dict.fromkeys(keys))
        found = self._read(wanted, fields=[codec.VERSION])
        return {key: 0 if doc is None else doc.version for key, (doc, _) in found.items()}

    def last_applied_lsn(self) -> int:
        """The newest record whose writes the store holds: the head of the log kept in
        Firestore (written with the documents), or what ``commit`` recorded."""
        self._ensure_open()
        head = self._client.collection(codec.ROOT_COLLECTION).document(LOG_ID)
        with errors(self.where):
            snaps = list(self._client.get_all([self._root, head], timeout=self.timeout))
        found = {snap.id: snap.to_dict() or {} for snap in snaps if snap.exists}
        return max(
            int(found.get(codec.ROOT_ID, {}).get(codec.LAST_LSN, 0)),
            int(found.get(LOG_ID, {}).get(LSN, 0)),
        )

    def stored_lsn(self) -> int:
        """What ``commit(..., last_lsn=...)`` recorded (a log kept elsewhere)."""
        self._ensure_open()
        with errors(self.where):
            snap = self._root.get(field_paths=[codec.LAST_LSN], timeout=self.timeout)
        return int((snap.to_dict() or {}).get(codec.LAST_LSN, 0))

    # -- a store several machines share: its log and leases -----------------------------

    def commit_log(
        self, wal_path: Path, *, clock: Callable[[], datetime], lock_timeout: float
    ) -> FirestoreLog:
        """The log kept in this project, mirrored to ``wal_path``."""
        from app.services.store.firestore_log import FirestoreLog

        return FirestoreLog(self, wal_path, clock=clock, lock_timeout=lock_timeout)

    def agree_key(self, name: str, key_id: str, path: Path) -> None:
        """Check that this machine's key ``name`` (its id ``key_id``, kept in ``path``) is
        the one every machine on the project uses; the first machine records its id.

        Raises:
            StorageError: it is another key (values sealed here would be unreadable
                elsewhere, and keyed tokens would not match).
        """
        ref = self._client.collection(codec.ROOT_COLLECTION).document(KEYS_ID)
        recorded = None
        for _ in range(5):
            with errors(self.where):
                snap = ref.get(timeout=self.timeout)
            recorded = (snap.to_dict() or {}).get(name)
            if recorded is not None or self._record_key(ref, snap, name, key_id):
                break
        if recorded is not None and recorded != key_id:
            raise StorageError(
                f"This machine's {name} key ({path}, id {key_id}) is not the one the data "
                f"on {self.where} was sealed with (id {recorded}).",
                hint=f"Copy {path.name} from a machine already working on this project into "
                f"{path.parent} (keep it private, mode 600), then start again.",
            )

    def _record_key(self, ref: Any, snap: Any, name: str, key_id: str) -> bool:
        """Record the first key id; False when another machine recorded one meanwhile."""
        batch = self._client.batch()
        if snap.exists:
            option = self._client.write_option(last_update_time=snap.update_time)
            batch.update(ref, {name: key_id}, option=option)
        else:
            batch.create(ref, {name: key_id})
        try:
            with errors(self.where):
                batch.commit(retry=None, timeout=self.timeout)
        except (api.FailedPrecondition, api.AlreadyExists):
            return False
        return True

    def leases(self, *, ttl: float = 15.0) -> FirestoreLeases:
        """The project's leases (closed with the store)."""
        if self._leases is None:
            self._leases = FirestoreLeases(self._client, self.where, ttl=ttl)
        return self._leases

    # -- writes ---------------------------------------------------------------------

    def _commit(
        self, writes: Sequence[Write], checks: dict[Key, int], last_lsn: int | None
    ) -> None:
        for write in writes:
            _check_key((write.collection, write.id))
        keys = list(dict.fromkeys([*checks, *((w.collection, w.id) for w in writes)]))
        if not keys and last_lsn is None:
            return
        for attempt in range(1, MAX_ATTEMPTS + 1):
            batch = self._prepare(keys, writes, checks, last_lsn)
            if self._send(batch, attempt):
                return
            time.sleep(random.uniform(0, 0.002 * attempt))
        raise Conflict(
            f"The commit kept meeting concurrent changes on {self.where}"
            f" ({MAX_ATTEMPTS} attempts).",
            hint="Try again in a moment; nothing was saved.",
        )

    def _send(self, batch: Any, attempt: int) -> bool:
        """Commit ``batch``; False when another writer got there first."""
        with errors(self.where):
            try:
                batch.commit(timeout=self.timeout)
            except _RACED as exc:
                logger.debug("Commit attempt %d raced another writer: %s", attempt, exc)
                return False
            except api.InvalidArgument as exc:
                raise ValidationError(
                    f"{capitalized(self.where)} refused the commit: {exc.message}",
                    hint="A document holds at most 1 MiB, with maps nested at most 20 deep;"
                    " nothing was saved.",
                ) from exc
        return True

    def _prepare(
        self,
        keys: list[Key],
        writes: Sequence[Write],
        checks: dict[Key, int],
        last_lsn: int | None,
    ) -> Any:
        """Read, check and fold (steps 1 and 2); the batch of step 3."""
        read = self._read(keys)
        before = {k: Slot(d.data, d.version) if d else Slot(None, 0) for k, (d, _) in read.items()}
        after = fold(before, writes, checks)
        batch = self._client.batch()
        for key in keys:
            self._add(batch, key, before[key], after[key], read[key][1])
        if last_lsn is not None:
            batch.set(self._root, {codec.LAST_LSN: Maximum(last_lsn)}, merge=True)
        return batch

    def _add(self, batch: Any, key: Key, old: Slot, new: Slot, update_time: Any) -> None:
        """One conditional write taking ``key`` from ``old`` to ``new``."""
        ref = self._ref(*key)
        if old.data is None:
            if new.data is None:
                batch.delete(ref, option=self._client.write_option(exists=False))
            else:
                batch.create(ref, codec.stored(new.data, new.version))
            return
        unchanged = self._client.write_option(last_update_time=update_time)
        if new.data is None:
            batch.delete(ref, option=unchanged)
        elif new is old:
            batch.update(ref, {codec.VERSION: old.version}, option=unchanged)
        else:
            batch.update(ref, codec.stored(new.data, new.version), option=unchanged)

    # -- listeners and lifetime -----------------------------------------------------

    def on_snapshot(
        self, target: str | Query, callback: Callable[[list[Change]], None]
    ) -> FirestoreListener:
        query = Query(target) if isinstance(target, str) else target
        plan = firestore_query.plan(query)
        self._ensure_open()
        fs = firestore_query.build(self._root.collection(query.collection), plan, listen=True)
        listener = FirestoreListener(plan, fs, callback, self._forget)
        with self._listeners_lock:
            self._listeners.add(listener)
        return listener

    def watch(self, collection: str, callback: Callable[[list[Change]], None]) -> FirestoreListener:
        """A collection's listener, with its documents (Firestore tells changes only
        through them)."""
        return self.on_snapshot(collection, callback)

    def _forget(self, listener: FirestoreListener) -> None:
        with self._listeners_lock:
            self._listeners.discard(listener)

    def close(self) -> None:
        """Stop every listener and close the client (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._leases is not None:
            self._leases.close()
        with self._listeners_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener.unsubscribe()
        self._conn.close()


def _check_key(key: Key) -> None:
    limits.check_name("collection", key[0])
    limits.check_name("document", key[1])
