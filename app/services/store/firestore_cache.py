"""Documents as this process last saw them, so that a commit needs no read first.

The log's commits (:mod:`.firestore_log`) write each document on condition that its
update time is the one they started from. That state usually comes from here: the
store's reads (the transaction that built the change has just read what it checks) and
this process's own commits feed it. A document the commit only sets or deletes, and that
is not here, is taken to be absent (its write is then a create, or a delete on condition
that it is absent). None of this can make a wrong commit: a stale or wrong entry only
makes Firestore refuse the batch, which then reads everything afresh. The cache keeps the
newest state of each document it is told of, and the ``size`` most recently used.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from app.services.store.port import Document
from app.services.store.writes import Slot

Key = tuple[str, str]
Seen = tuple[Slot, Any]
"""A document's state (data None: absent) and its update time (None: absent)."""


class DocCache:
    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._seen: OrderedDict[Key, Seen] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Key) -> Seen | None:
        with self._lock:
            found = self._seen.get(key)
            if found is not None:
                self._seen.move_to_end(key)
            return found

    def saw(self, key: Key, slot: Slot, update_time: Any) -> None:
        """``key`` was found (or left) as ``slot`` at ``update_time``; an older state than
        the one kept is ignored (absent states cannot be ordered: the present one stays)."""
        with self._lock:
            known = self._seen.get(key)
            newer = known is None or known[1] is None
            if not newer and (update_time is None or update_time < known[1]):  # type: ignore[index]
                return
            self._seen[key] = (slot, update_time)
            self._seen.move_to_end(key)
            while len(self._seen) > self.size:
                self._seen.popitem(last=False)

    def read(self, key: Key, doc: Document | None, update_time: Any) -> None:
        """What a read of the store returned (the store calls this)."""
        self.saw(key, Slot(doc.data, doc.version) if doc else Slot(None, 0), update_time)

    def forget(self, keys: Iterable[Key]) -> None:
        with self._lock:
            for key in keys:
                self._seen.pop(key, None)
