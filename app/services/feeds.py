"""Feeds: live lists of documents a web client follows, each defined by the service that
owns the data (a member's ledger transactions, dues and loans; an auction's bids and
the auction itself).

A :class:`Feed` says which documents; :meth:`Feeds.follow` calls back with the whole
list first (as ``added`` changes), then with every change to it, for commits made by
any process on the data directory. Callbacks run on the store's listener thread.
Followers of equal feeds (same :attr:`Feed.key`) may share one listener. The
documents and changes handed out are the store's own types; nothing outside the
services names a collection or builds a query.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.services.store import Change, Document, DocumentStore, Listener, Query

__all__ = ["Change", "Document", "Feed", "Feeds", "Listener"]


@dataclass(frozen=True)
class Feed:
    """Which documents a live list holds (made by the service that owns them)."""

    query: Query

    @property
    def key(self) -> str:
        """Equal for equal feeds: followers of one key can share a listener."""
        return repr(self.query)


class Feeds:
    """Follows feeds on the document store."""

    def __init__(self, store: DocumentStore) -> None:
        self._store = store

    def follow(self, feed: Feed, callback: Callable[[list[Change]], None]) -> Listener:
        """Call ``callback`` with the list now, then with each change; ``unsubscribe()``
        on the returned listener stops it."""
        return self._store.on_snapshot(feed.query, callback)
