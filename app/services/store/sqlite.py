"""The embedded document store: one SQLite file in WAL mode.

Durability: the file runs with ``journal_mode=WAL`` and ``synchronous=NORMAL``, so a
power cut may lose the last few commits but never corrupts the file. That is enough
because the store is not the durability source: the kernel WAL is. Every commit of
the WAL pipeline records the last WAL sequence number it applied (``last_lsn``) in the
same transaction, and replay resumes after :meth:`SqliteStore.last_applied_lsn`.

Concurrency: one writer connection behind a lock (``BEGIN IMMEDIATE``, so other
processes wait up to ``busy_timeout``); each reading thread has its own connection,
and in WAL mode readers never block the writer nor wait for it. Documents are stored
as canonical JSON text; queries run as SQL (see :mod:`.sqlite_sql`) and give the same
results as :mod:`.matching`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

from app.kernel.errors import StorageError
from app.kernel.files import PRIVATE_DIR, create_private
from app.services.store import limits, matching, sqlite_sql
from app.services.store.port import Change, Document, Query, Write
from app.services.store.sqlite_listen import Dispatcher, Subscription
from app.services.store.transactions import CheckedStore
from app.services.store.writes import Slot, fold

logger = logging.getLogger(__name__)

Key = tuple[str, str]

KEEP_CHANGES = 10_000
ANALYZE_EVERY = 10_000  # fewest documents written between refreshes of planner statistics
_PRUNE_EVERY = 256

_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    collection TEXT NOT NULL,
    id TEXT NOT NULL,
    data TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (collection, id)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    collection TEXT NOT NULL,
    id TEXT NOT NULL,
    kind TEXT NOT NULL
);
INSERT OR IGNORE INTO meta (key, value) VALUES ('last_applied_lsn', 0), ('changes_pruned_to', 0);
"""
_UPSERT = (
    "INSERT INTO docs (collection, id, data, version, updated_at) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (collection, id) DO UPDATE SET data = excluded.data, "
    "version = excluded.version, updated_at = excluded.updated_at"
)


_IDS_IN = (
    "SELECT {columns} FROM docs WHERE collection = ? AND id IN (SELECT value FROM json_each(?))"
)
"""Documents of one collection by id, the ids bound as one JSON array: one statement
however many (SQLite caps bound parameters), seeking the primary key for each."""

StoredRow = tuple[str, str, str, int]
"""(collection, id, data as canonical JSON text, version)."""


class Snapshot(NamedTuple):
    """See :meth:`SqliteStore.snapshot`."""

    last_applied_lsn: int
    rows: Iterator[StoredRow]


def _rows(
    cursor: sqlite3.Cursor, errors: Callable[[], contextlib.AbstractContextManager[None]]
) -> Iterator[StoredRow]:
    while True:
        with errors():
            rows = cursor.fetchmany(256)
        if not rows:
            return
        yield from rows


class SqliteStore(CheckedStore):
    """The :class:`~app.services.store.port.DocumentStore` over one SQLite file.

    Args:
        path: the database file (created with its folder if missing).
        poll_interval: seconds between checks for commits made by other processes.
        busy_timeout: seconds to wait for another process's write before failing.
    """

    def __init__(
        self, path: Path, *, poll_interval: float = 0.05, busy_timeout: float = 5.0
    ) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._commits_since_prune = 0
        self._written_since_analyze = 0
        self._analyze_after = ANALYZE_EVERY
        self._closed = False
        with self._storage_errors():
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
            create_private(self.path)  # SQLite gives its -wal and -shm files the same mode
            self._writer = self._connect()
            mode = self._writer.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal":
                raise StorageError(
                    f"The store {self.path} cannot use write-ahead logging (mode {mode}).",
                    hint="Keep the data folder on a local disk, not a network share.",
                )
            self._writer.executescript(_SCHEMA)
            self._indexes = {r[0] for r in self._writer.execute("SELECT name FROM sqlite_master")}
        self._dispatcher = Dispatcher(self._connect, self._run_query, self._fetch, poll_interval)

    # -- connections and errors -------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path,
            timeout=self.busy_timeout,
            isolation_level=None,
            check_same_thread=False,
            cached_statements=256,
        )
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def _reader(self) -> sqlite3.Connection:
        """This thread's reading connection."""
        self._ensure_open()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            with self._readers_lock:
                self._readers.append(conn)
            self._local.conn = conn
        return conn

    def _ensure_open(self) -> None:
        if self._closed:
            raise StorageError(f"The store {self.path} is closed.", hint="Open it again.")

    @contextlib.contextmanager
    def _storage_errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            known = storage_error(exc, self.path, self.busy_timeout)
            if known is None:
                raise
            raise known from exc

    @contextlib.contextmanager
    def _read_transaction(self, conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    # -- reads --------------------------------------------------------------------

    def get(self, collection: str, doc_id: str) -> Document | None:
        return self.get_many(collection, [doc_id]).get(doc_id)

    def get_many(self, collection: str, ids: Iterable[str]) -> dict[str, Document]:
        ids = list(ids)
        limits.check_name("collection", collection)
        for doc_id in ids:
            limits.check_name("document", doc_id)
        with self._storage_errors():
            return self._fetch(self._reader(), collection, ids)

    def _fetch(
        self, conn: sqlite3.Connection, collection: str, ids: Iterable[str]
    ) -> dict[str, Document]:
        rows = conn.execute(
            _IDS_IN.format(columns="id, data, version"), (collection, json.dumps(list(ids)))
        ).fetchall()
        return {row[0]: _document(collection, row) for row in rows}

    def query(self, query: Query) -> list[Document]:
        with self._storage_errors():
            return self._run_query(self._reader(), query)

    def _run_query(self, conn: sqlite3.Connection, query: Query) -> list[Document]:
        plan = self._plan(sqlite_sql.select, query)
        rows = conn.execute(plan.sql, plan.params).fetchall()
        return [_document(query.collection, row) for row in rows]

    def stream(self, query: Query) -> Iterator[Document]:
        """Documents one at a time from one consistent snapshot (its own connection)."""
        plan = self._plan(sqlite_sql.select, query)
        return self._stream(plan, query.collection)

    def _stream(self, plan: sqlite_sql.Plan, collection: str) -> Iterator[Document]:
        with self._storage_errors():
            self._ensure_open()
            conn = self._connect()
        try:
            with self._storage_errors(), self._read_transaction(conn):
                cursor = conn.execute(plan.sql, plan.params)
                while rows := cursor.fetchmany(256):
                    yield from (_document(collection, row) for row in rows)
        finally:
            conn.close()

    def count(self, query: Query) -> int:
        plan = self._plan(sqlite_sql.count, query)
        with self._storage_errors():
            return int(self._reader().execute(plan.sql, plan.params).fetchone()[0])

    def versions(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
        wanted = list(dict.fromkeys(keys))
        with self._storage_errors():
            found = self._versions(self._reader(), wanted)
        return {key: found.get(key, 0) for key in wanted}

    @staticmethod
    def _versions(conn: sqlite3.Connection, keys: list[Key]) -> dict[Key, int]:
        found: dict[Key, int] = {}
        for collection, ids in _by_collection(keys).items():
            rows = conn.execute(_IDS_IN.format(columns="id, version"), (collection, ids))
            found.update(((collection, i), v) for i, v in rows)
        return found

    def last_applied_lsn(self) -> int:
        with self._storage_errors():
            row = (
                self._reader()
                .execute("SELECT value FROM meta WHERE key = 'last_applied_lsn'")
                .fetchone()
            )
        return int(row[0])

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        """The whole store as one consistent read (its own connection): the last applied
        WAL sequence number and every document, ordered by collection and id, with its
        data as stored (canonical JSON text)."""
        with self._storage_errors():
            self._ensure_open()
            conn = self._connect()
        try:
            with self._storage_errors(), self._read_transaction(conn):
                row = conn.execute("SELECT value FROM meta WHERE key = 'last_applied_lsn'")
                lsn = int(row.fetchone()[0])
                rows = conn.execute(
                    "SELECT collection, id, data, version FROM docs ORDER BY collection, id"
                )
                yield Snapshot(lsn, _rows(rows, self._storage_errors))
        finally:
            conn.close()

    # -- indexes ------------------------------------------------------------------

    def _plan(self, build: Callable[[Query], sqlite_sql.Plan], query: Query) -> sqlite_sql.Plan:
        plan = build(query)
        for field_path in plan.indexed_fields:
            name, sql = sqlite_sql.index_statement(query.collection, field_path)
            if name not in self._indexes:
                self._create_index(name, sql)
        return plan

    def _create_index(self, name: str, sql: str) -> None:
        """Create a field's expression index (once per file) and refresh the statistics
        the query planner uses to choose between indexes."""
        with self._write_lock:
            if name in self._indexes:
                return
            self._ensure_open()
            self._indexes.add(name)
            self._maintain(sql, f"index {name}")
            self._analyze()

    def _analyze(self) -> None:
        """Refresh the planner statistics (writer lock held); next time after the
        collection grew by half, at least ``ANALYZE_EVERY`` documents written."""
        self._maintain("ANALYZE docs", "planner statistics")
        try:
            row = self._writer.execute(
                "SELECT stat FROM sqlite_stat1 WHERE idx = 'sqlite_autoindex_docs_1'"
            ).fetchone()
        except sqlite3.OperationalError:
            row = None
        rows = int(row[0].split()[0]) if row else 0
        self._written_since_analyze = 0
        self._analyze_after = max(ANALYZE_EVERY, rows // 2)

    def _maintain(self, sql: str, what: str) -> None:
        """Run a maintenance statement (writer lock held); a failure only costs speed."""
        try:
            with self._storage_errors():
                self._writer.execute(sql)
        except StorageError as exc:
            logger.warning("Could not update the %s: %s", what, exc)

    # -- writes -------------------------------------------------------------------

    def _commit(
        self, writes: Sequence[Write], checks: dict[Key, int], last_lsn: int | None
    ) -> None:
        with self._write_lock, self._storage_errors():
            self._ensure_open()
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                self._apply(conn, writes, checks, last_lsn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            self._written_since_analyze += len(writes)
            if self._written_since_analyze >= self._analyze_after:
                self._analyze()
        self._dispatcher.notify()

    def _apply(
        self,
        conn: sqlite3.Connection,
        writes: Sequence[Write],
        checks: dict[Key, int],
        last_lsn: int | None,
    ) -> None:
        keys = list(dict.fromkeys([*checks, *((w.collection, w.id) for w in writes)]))
        before = self._load(conn, keys)
        after = fold(before, writes, checks)
        now = time.time()
        upserts, deletes, changes = [], [], []
        for key in dict.fromkeys((w.collection, w.id) for w in writes):
            old, new = before[key], after[key]
            if new.data is not None:
                upserts.append((*key, matching.canonical_json(new.data), new.version, now))
                changes.append((*key, "created" if old.data is None else "updated"))
            elif old.data is not None:
                deletes.append(key)
                changes.append((*key, "deleted"))
        conn.executemany(_UPSERT, upserts)
        conn.executemany("DELETE FROM docs WHERE collection = ? AND id = ?", deletes)
        conn.executemany("INSERT INTO changes (collection, id, kind) VALUES (?, ?, ?)", changes)
        if last_lsn is not None:
            conn.execute("UPDATE meta SET value = ? WHERE key = 'last_applied_lsn'", (last_lsn,))
        self._maybe_prune(conn, len(changes))

    @staticmethod
    def _load(conn: sqlite3.Connection, keys: list[Key]) -> dict[Key, Slot]:
        slots = {key: Slot(None, 0) for key in keys}
        for collection, ids in _by_collection(keys).items():
            rows = conn.execute(_IDS_IN.format(columns="id, data, version"), (collection, ids))
            for doc_id, data, version in rows:
                slots[(collection, doc_id)] = Slot(json.loads(data), version)
        return slots

    def _maybe_prune(self, conn: sqlite3.Connection, written: int) -> None:
        """Keep the last ``KEEP_CHANGES`` change rows; listeners that fell further
        behind re-run their queries (they see ``changes_pruned_to`` move)."""
        self._commits_since_prune += 1
        if self._commits_since_prune < _PRUNE_EVERY and written < KEEP_CHANGES:
            return
        self._commits_since_prune = 0
        last = conn.execute("SELECT coalesce(max(seq), 0) FROM changes").fetchone()[0]
        cut = last - KEEP_CHANGES
        if cut > 0:
            conn.execute("DELETE FROM changes WHERE seq <= ?", (cut,))
            conn.execute(
                "UPDATE meta SET value = max(value, ?) WHERE key = 'changes_pruned_to'", (cut,)
            )

    # -- listeners and lifetime ---------------------------------------------------

    def on_snapshot(
        self, target: str | Query, callback: Callable[[list[Change]], None]
    ) -> Subscription:
        query = Query(target) if isinstance(target, str) else target
        matching.validate_query(query)
        self._ensure_open()
        return self._dispatcher.subscribe(query, callback)

    def watch(self, collection: str, callback: Callable[[list[Change]], None]) -> Subscription:
        """Called with no documents: from the change rows alone, so a watch on a
        collection of a million documents reads and holds none of them."""
        limits.check_name("collection", collection)
        self._ensure_open()
        return self._dispatcher.subscribe(Query(collection), callback, documents=False)

    def close(self) -> None:
        """Stop the listener thread and close every connection (idempotent)."""
        if self._closed:
            return
        self._dispatcher.close()  # first: a round still running reads through this store
        self._closed = True
        with self._write_lock:
            self._maintain("PRAGMA optimize", "planner statistics")
            self._writer.close()
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()


def _by_collection(keys: Iterable[Key]) -> dict[str, str]:
    """``keys`` grouped by collection, each group's ids as a JSON array (see ``_IDS_IN``)."""
    ids: dict[str, list[str]] = {}
    for collection, doc_id in keys:
        ids.setdefault(collection, []).append(doc_id)
    return {collection: json.dumps(group) for collection, group in ids.items()}


def _document(collection: str, row: tuple[str, str, int]) -> Document:
    return Document(collection, row[0], json.loads(row[1]), row[2])


# -- disk errors ----------------------------------------------------------------------

_KNOWN_ERRORS = (
    (
        "disk is full",
        "The disk holding the store {path} is full.",
        "Free some disk space, then try again; nothing was saved.",
    ),
    (
        "readonly",
        "The store file {path} is read-only.",
        "Give this user write access to the file and its folder, then restart.",
    ),
    (
        "locked",
        "The store {path} stayed locked by another process for over {timeout:g} s.",
        "Wait for the other TransactFlowOS process to finish (or close it), then try again.",
    ),
    (
        "busy",
        "The store {path} stayed busy in another process for over {timeout:g} s.",
        "Wait for the other TransactFlowOS process to finish (or close it), then try again.",
    ),
    (
        "unable to open",
        "The store file {path} cannot be opened.",
        "Check that its folder exists and that this user may write there.",
    ),
    (
        "disk i/o error",
        "The disk failed while reading or writing the store {path}.",
        "Check the disk and the free space, then restart TransactFlowOS.",
    ),
    (
        "not a database",
        "The store file {path} is damaged (not a database).",
        "Rebuild it from the log with `tfos store rebuild --replace`, or restore a backup.",
    ),
    (
        "malformed",
        "The store file {path} is damaged (malformed).",
        "Rebuild it from the log with `tfos store rebuild --replace`, or restore a backup.",
    ),
)


def storage_error(exc: sqlite3.Error, path: Path, timeout: float) -> StorageError | None:
    """The ``StorageError`` a person can act on for a disk-level SQLite failure, or
    ``None`` when ``exc`` is a bug (bad SQL, misuse)."""
    if not isinstance(exc, sqlite3.OperationalError) and type(exc) is not sqlite3.DatabaseError:
        return None
    text = str(exc).lower()
    for needle, message, hint in _KNOWN_ERRORS:
        if needle in text:
            return StorageError(message.format(path=path, timeout=timeout), hint=hint)
    return None
