"""Snapshot listeners of the SQLite store: one dispatcher thread per store.

Every commit writes one row per changed document to the ``changes`` table in the same
transaction. The dispatcher wakes when a local commit notifies it, or when ``PRAGMA
data_version`` on its own connection moves (any other connection, in this process or
another, committed), checked every ``poll_interval``. It then reads, in one read
transaction, the changes since the last sequence it saw and brings each listener's
result up to date: queries without limit, offset or cursors are updated document by
document with the Python matcher; the others are re-run. If the changes it needed were
pruned, every listener is re-run and diffed.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable

from app.services.store import matching
from app.services.store.port import Change, ChangeKind, Document, Query

logger = logging.getLogger(__name__)

Callback = Callable[[list[Change]], None]
RunQuery = Callable[[sqlite3.Connection, Query], list[Document]]
FetchDocs = Callable[[sqlite3.Connection, str, Iterable[str]], dict[str, Document]]


class Subscription:
    """One ``on_snapshot`` registration and the result last delivered to it; or, with
    ``documents=False``, one ``watch``: told (with no changes) at first and whenever
    the change rows name its collection, holding no result."""

    def __init__(
        self, query: Query, callback: Callback, dispatcher: Dispatcher, *, documents: bool = True
    ) -> None:
        self.query = query
        self.documents = documents
        self.callback = callback
        self.active = True
        self.initialized = False
        self.current: dict[str, Document] = {}
        self.incremental = (
            query.limit_to is None and not query.offset_by and query.start is None
        ) and query.end is None
        self._dispatcher = dispatcher

    def unsubscribe(self) -> None:
        """Stop delivery; a callback already running finishes."""
        self.active = False
        self._dispatcher.remove(self)

    def replace(self, docs: list[Document]) -> list[Change]:
        """Adopt a full new result; the changes are removals, then additions and
        modifications in result order."""
        changes = matching.diff(self.current, docs)
        self.current = {d.id: d for d in docs}
        return changes

    def update(self, docs: dict[str, Document | None]) -> list[Change]:
        """Apply the new state of some documents (``None`` = deleted)."""
        removed: list[Change] = []
        kept: list[tuple[ChangeKind, Document]] = []
        for doc_id, doc in docs.items():
            old = self.current.get(doc_id)
            now = doc if doc is not None and matching.matches(doc, self.query) else None
            if now is None and old is not None:
                removed.append(Change("removed", old))
                del self.current[doc_id]
            elif now is not None and (old is None or old.version != now.version):
                kept.append(("added" if old is None else "modified", now))
                self.current[doc_id] = now
        kinds = {d.id: k for k, d in kept}
        ordered = matching.order((d for _, d in kept), self.query)
        return removed + [Change(kinds[d.id], d) for d in ordered]


class Dispatcher:
    """Delivers snapshot changes from one background thread."""

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        run_query: RunQuery,
        fetch: FetchDocs,
        poll_interval: float,
    ) -> None:
        self._connect = connect
        self._run_query = run_query
        self._fetch = fetch
        self._poll_interval = poll_interval
        self._lock = threading.Lock()
        self._subs: list[Subscription] = []
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_seq: int | None = None

    def subscribe(
        self, query: Query, callback: Callback, *, documents: bool = True
    ) -> Subscription:
        sub = Subscription(query, callback, self, documents=documents)
        with self._lock:
            self._subs.append(sub)
            if self._thread is None:
                conn = self._connect()
                self._thread = threading.Thread(
                    target=self._run, args=(conn,), name="store-snapshots", daemon=True
                )
                self._thread.start()
        self._wake.set()
        return sub

    def remove(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    def notify(self) -> None:
        self._wake.set()

    def close(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                logger.warning("The snapshot dispatcher did not stop within %.1f s", timeout)

    def _run(self, conn: sqlite3.Connection) -> None:
        try:
            last_version = None
            while not self._stop.is_set():
                woken = self._wake.wait(self._poll_interval)
                self._wake.clear()
                if self._stop.is_set():
                    break
                try:
                    version = conn.execute("PRAGMA data_version").fetchone()[0]
                    if woken or version != last_version:
                        last_version = version
                        self._round(conn)
                except Exception:
                    logger.exception("A snapshot round failed; retrying in a second")
                    self._stop.wait(1.0)
                    self._wake.set()
        finally:
            conn.close()

    def _round(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            subs = [s for s in self._subs if s.active]
        conn.execute("BEGIN")
        try:
            changed, resync, last = self._read_changes(conn)
            deliveries = [(s, self._changes_for(conn, s, changed, resync)) for s in subs]
        finally:
            conn.execute("COMMIT")
        self._last_seq = last
        for sub, changes in deliveries:
            if changes is not None and sub.active:
                self._deliver(sub, changes)

    def _read_changes(self, conn: sqlite3.Connection) -> tuple[dict[str, set[str]], bool, int]:
        """Documents changed per collection since the last round, whether changes were
        pruned before this dispatcher saw them, and the last sequence number."""
        pruned_to, last = conn.execute(
            "SELECT (SELECT value FROM meta WHERE key = 'changes_pruned_to'),"
            " (SELECT coalesce(max(seq), 0) FROM changes)"
        ).fetchone()
        last = max(last, pruned_to)
        since = self._last_seq
        if since is None or since >= last:
            return {}, False, last
        if pruned_to > since:
            return {}, True, last
        changed: dict[str, set[str]] = {}
        rows = conn.execute(
            "SELECT collection, id FROM changes WHERE seq > ? AND seq <= ?", (since, last)
        )
        for collection, doc_id in rows:
            changed.setdefault(collection, set()).add(doc_id)
        return changed, False, last

    def _changes_for(
        self,
        conn: sqlite3.Connection,
        sub: Subscription,
        changed: dict[str, set[str]],
        resync: bool,
    ) -> list[Change] | None:
        query = sub.query
        if not sub.documents:
            first, sub.initialized = not sub.initialized, True
            return [] if first or resync or query.collection in changed else None
        if not sub.initialized:
            initial = sub.replace(self._run_query(conn, query))
            sub.initialized = True
            return initial
        if resync or (query.collection in changed and not sub.incremental):
            return sub.replace(self._run_query(conn, query)) or None
        ids = changed.get(query.collection)
        if not ids:
            return None
        found = self._fetch(conn, query.collection, ids)
        states: dict[str, Document | None] = {i: found.get(i) for i in sorted(ids)}
        return sub.update(states) or None

    @staticmethod
    def _deliver(sub: Subscription, changes: list[Change]) -> None:
        try:
            sub.callback(changes)
        except Exception:
            logger.exception(
                "A snapshot listener on %r raised; it stays subscribed", sub.query.collection
            )
