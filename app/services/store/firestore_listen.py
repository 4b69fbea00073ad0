"""Snapshot listeners of the Firestore store: one Firestore watch per listener.

Firestore pushes every change to a listened query, whichever process or machine made
it, on the watch's own thread. Each push carries the whole current result; the
listener finishes it in Python (see :mod:`.firestore_query`: offset, and filters
Firestore cannot run), diffs it against the result it delivered last and calls back
with the port's changes (removals, then additions and modifications in result
order). The first push is delivered even when empty; later pushes only when the
result changed.

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
from google.cloud.firestore_v1.watch import WATCH_TARGET_ID, Watch

from app.services.store import firestore_codec as codec
from app.services.store import firestore_query, matching
from app.services.store.port import Change, Document

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
        self.current: dict[str, Document] = {}
        self._delivered = False
        self._forget = forget
        self._watch_thread: int | None = None
        self._watch = _watch(fs_query, self._on_push)

    def _on_push(self, snapshots: list[Any], _changes: Any, _read_time: Any) -> None:
        self._watch_thread = threading.get_ident()
        collection = self.plan.query.collection
        docs = [codec.document(collection, s.id, s.to_dict()) for s in snapshots]
        result = firestore_query.finish(self.plan, [d for d in docs if d], listen=True)
        if not self.active:
            return
        changes = matching.diff(self.current, result)
        self.current = {d.id: d for d in result}
        if changes or not self._delivered:
            self._delivered = True
            self._deliver(changes)

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


def _by_name(a: DocumentSnapshot, b: DocumentSnapshot) -> int:
    return (a.id > b.id) - (a.id < b.id)
