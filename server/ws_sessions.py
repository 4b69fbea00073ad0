"""A websocket lives only as long as the session that opened it.

Each connection carries the :class:`Grant` its token gave it. :class:`Sessions` ends
the connection (close code 4403) when

* the session leaves its watch feed (signed out, or ended because a staff account
  was disabled or its password set), followed by one listener shared by the
  connections of one person (:class:`SessionWatch`), which also sees commits made by
  other processes on the same data directory (within 50 ms for SQLite);
* the session expires (:meth:`Sessions.end_expired`, run every second or so by the
  hub); or
* a request finds the session over: every request re-checks it first
  (:meth:`Sessions.recheck`), and runs with the actor as they are now.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from app.services.actors import Actor
from app.services.feeds import Change, Feed, Feeds, Listener

if TYPE_CHECKING:
    from server.ws import Connection


@dataclass(frozen=True)
class Grant:
    """What a session token grants a socket: who, which session, until when.

    ``watch`` is a feed that holds the session (document id ``session_id``) while it
    is open."""

    actor: Actor
    session_id: str
    expires_at: datetime
    watch: Feed


Authenticate = Callable[[str], Awaitable[Grant | None]]
Clock = Callable[[], datetime]


class SessionWatch:
    """One listener shared by the connections whose sessions its feed follows (one
    person's open sessions); a session leaving the feed ends its connections."""

    def __init__(
        self,
        feeds: Feeds,
        feed: Feed,
        loop: Callable[[], asyncio.AbstractEventLoop],
    ) -> None:
        self.key = feed.key
        self.connections: set[Connection] = set()
        self._loop = loop
        self.listener: Listener = feeds.follow(feed, self._from_thread)

    def _from_thread(self, changes: list[Change]) -> None:
        ended = {c.document.id for c in changes if c.kind == "removed"}
        if ended:
            with contextlib.suppress(RuntimeError):  # loop closed during shutdown
                self._loop().call_soon_threadsafe(self.apply, ended)

    def apply(self, ended: set[str]) -> None:
        for conn in list(self.connections):
            if conn.grant.session_id in ended:
                conn.end("session ended")


class Sessions:
    """The session watches of one hub, and the checks that end connections."""

    def __init__(
        self,
        feeds: Feeds,
        authenticate: Authenticate,
        clock: Clock,
        loop: Callable[[], asyncio.AbstractEventLoop],
    ) -> None:
        self.feeds, self.authenticate, self.clock = feeds, authenticate, clock
        self.watches: dict[str, SessionWatch] = {}
        self._loop = loop

    async def bind(self, conn: Connection) -> None:
        """Follow ``conn``'s session; then check it once more, for an end that came
        between its authentication and the watch."""
        key = conn.grant.watch.key
        watch = self.watches.get(key)
        if watch is None:
            watch = SessionWatch(self.feeds, conn.grant.watch, self._loop)
            self.watches[key] = watch
        watch.connections.add(conn)
        conn.watch = watch
        await self.recheck(conn)

    async def recheck(self, conn: Connection) -> bool:
        """Whether ``conn``'s session still holds (its grant refreshed); ends it if not."""
        if not conn.ended:
            grant = await self.authenticate(conn.token)
            if grant is not None and grant.session_id == conn.grant.session_id:
                conn.grant = grant
            else:
                conn.end("session ended")
        return not conn.ended

    def end_expired(self, connections: Iterable[Connection]) -> None:
        now = self.clock()
        for conn in list(connections):
            if conn.grant.expires_at <= now:
                conn.end("session expired")

    def release(self, conn: Connection) -> None:
        """Stop following ``conn``'s session (the watch goes with its last connection)."""
        watch, conn.watch = conn.watch, None
        if watch is not None:
            watch.connections.discard(conn)
            if not watch.connections:
                watch.listener.unsubscribe()
                del self.watches[watch.key]

    def close(self) -> None:
        for watch in self.watches.values():
            watch.listener.unsubscribe()
        self.watches.clear()
