"""Snapshot listeners of the Firestore store: one Firestore watch per listener.

Firestore pushes every change to a listened query, whichever process or machine made
it, on the watch's own thread, as the documents added to, modified in or removed from
the query's result. Only those are decoded. When Firestore runs the whole query (see
:mod:`.firestore_query`) and there is no offset, its changes are the port's changes;
otherwise the listener keeps what Firestore sent, finishes the result in Python
(offset, filters Firestore cannot run) and diffs it with the result it delivered
last. Changes are delivered as the port orders them: removals, then additions and
modifications in result order. The first push is delivered even when empty; later
pushes only when the result changed.

The watch is built here rather than with ``Query.on_snapshot`` because the client's
own comparator cannot order by a nested field path (every port field is nested under
``d``); the result's order comes from :mod:`.matching` instead.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from google.cloud.firestore_v1.document import DocumentSnapshot
from google.cloud.firestore_v1.types import Target
from google.cloud.firestore_v1.watch import WATCH_TARGET_ID, ChangeType, Watch

from app.services.store import firestore_codec as codec
from app.services.store import firestore_query, matching
from app.services.store.port import Change, ChangeKind, Document

logger = logging.getLogger(__name__)

Callback = Callable[[list[Change]], None]


class FirestoreListener:
    """One ``on_snapshot`` registration."""

    def __init__(
        self,
        plan: firestore_query.Plan,
        fs_query: Any,
        callback: Callback,
        forget: Callable[[FirestoreListener], None],
    ) -> None:
        self.plan = plan
        self.callback = callback
        self.active = True
        self.current: dict[str, Document] = {}  # the result delivered last
        self._sent: dict[str, Document] = {}  # what Firestore's query holds now
        self._incremental = plan.exact and not plan.query.offset_by
        self._delivered = False
        self._forget = forget
        self._watch_thread: int | None = None
        self._watch = _watch(fs_query, self._on_push)

    def _on_push(self, _snapshots: Any, changes: list[Any], _read_time: Any) -> None:
        self._watch_thread = threading.get_ident()
        if not self.active:
            return
        states = {c.document.id: self._decode(c) for c in sorted(changes, key=_doc_id)}
        delta = self._apply(states)
        if delta or not self._delivered:
            self._delivered = True
            self._deliver(delta)

    def _decode(self, change: Any) -> Document | None:
        if change.type == ChangeType.REMOVED:
            return None
        snap = change.document
        return codec.document(self.plan.query.collection, snap.id, snap.to_dict())

    def _apply(self, states: dict[str, Document | None]) -> list[Change]:
        """Take in Firestore's changes; the port's changes to the delivered result."""
        for doc_id, doc in states.items():
            if doc is None:
                self._sent.pop(doc_id, None)
            else:
                self._sent[doc_id] = doc
        if not self._incremental:
            result = firestore_query.finish(self.plan, list(self._sent.values()), listen=True)
            delta = matching.diff(self.current, result)
            self.current = {d.id: d for d in result}
            return delta
        gone = [i for i, d in states.items() if d is None and i in self.current]
        removed = [Change("removed", self.current.pop(i)) for i in gone]
        kept: list[Document] = []
        kinds: dict[str, ChangeKind] = {}
        for doc in (d for d in states.values() if d is not None):
            old = self.current.get(doc.id)
            if old is None or old.version != doc.version:
                kinds[doc.id] = "added" if old is None else "modified"
                kept.append(doc)
                self.current[doc.id] = doc
        return removed + [Change(kinds[d.id], d) for d in matching.order(kept, self.plan.query)]

    def _deliver(self, changes: list[Change]) -> None:
        try:
            self.callback(changes)
        except Exception:
            logger.exception(
                "A snapshot listener on %r raised; it stays subscribed", self.plan.query.collection
            )

    def unsubscribe(self) -> None:
        """Stop delivery; a callback already running finishes (unless it is the caller)."""
        self.active = False
        self._forget(self)
        if threading.get_ident() == self._watch_thread:
            # Called from our own callback: the watch cannot join its own thread.
            threading.Thread(target=self._watch.close, name="firestore-unwatch").start()
        else:
            self._watch.close()


def _watch(fs_query: Any, on_push: Callable[[list[Any], Any, Any], None]) -> Watch:
    """``Watch.for_query`` with an id comparator (see the module docstring)."""
    parent, _ = fs_query._parent._parent_info()
    target = Target.QueryTarget(parent=parent, structured_query=fs_query._to_protobuf())
    return Watch(
        fs_query,
        fs_query._client,
        {"query": target._pb, "target_id": WATCH_TARGET_ID},
        _by_name,
        on_push,
        DocumentSnapshot,
    )


def _doc_id(change: Any) -> str:
    return str(change.document.id)


def _by_name(a: DocumentSnapshot, b: DocumentSnapshot) -> int:
    return (a.id > b.id) - (a.id < b.id)
