"""The websocket hub at /ws: authentication, channels, live feed subscriptions.

Protocol (documented for clients in README.md, "The websocket protocol"):

* The first message is ``{"type": "auth", "token": ...}`` (the token may be left out
  when the session cookie was sent with the handshake) within ``auth_timeout``
  seconds, or the socket closes with 4401 (timeout) or 4403 (bad token).
* Every server message is an envelope ``{"channel", "event", "payload"}``; replies to a
  client request also carry its ``request_id``.
* A client request is ``{"channel", "action", "payload", "request_id"}`` and gets
  exactly one ``ack`` or ``error`` with the same ``request_id``. ``subscribe`` is acked,
  then a ``snapshot`` and ``delta`` events (added/modified/removed) follow.

A socket lives as long as its session (:mod:`server.ws_sessions`): sign-out, expiry, a
disabled account or a new password close it with 4403, and every request re-checks it.

Features add channels through a :class:`ChannelRegistry` without touching the hub.
Connections that subscribe to the same channel and feed share one listener (a
:class:`Topic`); feed callbacks arrive on the store's dispatcher thread and hop onto the
event loop with ``call_soon_threadsafe``. Each message to a topic is serialised once.

Fanout writes a message straight to every subscriber with nothing queued or in flight
and less than ``DIRECT_WRITE_LIMIT`` buffered (under asyncio's 64 KiB high-water mark,
so such a write never waits), all from one task; the others get it through their
queue, and a client whose queue fills up is closed with 4408.

No permessage-deflate (``compress=False``): browsers ask for it, and it would compress
every message once per connection and keep a compressor (a few hundred KiB) per socket,
for small JSON messages that shrink little.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from app.kernel.errors import KnownError, PermissionDenied
from app.services.actors import Actor
from app.services.feeds import Change, Document, Feed, Feeds, Listener
from server.security import loads, same_origin
from server.ws_sessions import Authenticate, Clock, Grant, Sessions, SessionWatch

log = logging.getLogger(__name__)

CLOSE_AUTH_TIMEOUT = 4401
CLOSE_BAD_TOKEN = 4403
CLOSE_TOO_SLOW = 4408
DIRECT_WRITE_LIMIT = 32 * 1024


Render = Callable[[Document], dict[str, Any]]
FeedFor = Callable[[Actor, str, dict[str, Any]], Feed]


@dataclass(frozen=True)
class ActionRequest:
    actor: Actor
    channel: str
    payload: dict[str, Any]


ActionHandler = Callable[[ActionRequest], Awaitable[Any]]


@dataclass(frozen=True)
class Action:
    """A client action on a channel, allowed to ``roles`` only."""

    handler: ActionHandler
    roles: frozenset[str]


def render_document(doc: Document) -> dict[str, Any]:
    return {"id": doc.id, "version": doc.version, "data": doc.data}


@dataclass
class ChannelSpec:
    """A channel (``"loans.mine"``) or a family of them (``"auction.*"``).

    ``feed`` turns (actor, channel name, subscribe payload) into the feed (made by a
    service) the subscription follows; it raises PermissionDenied for what the actor
    may not see. ``render`` turns a document into what clients receive (drop private
    fields here).
    """

    name: str
    roles: frozenset[str]
    feed: FeedFor | None = None
    render: Render = render_document
    actions: dict[str, Action] = field(default_factory=dict)


class ChannelRegistry:
    """Channels by exact name, or by prefix for names ending in ``.*``."""

    def __init__(self) -> None:
        self._exact: dict[str, ChannelSpec] = {}
        self._prefix: dict[str, ChannelSpec] = {}

    def register(self, spec: ChannelSpec) -> ChannelSpec:
        table, key = (
            (self._prefix, spec.name[:-1]) if spec.name.endswith(".*") else (self._exact, spec.name)
        )
        if key in table:
            raise ValueError(f"channel {spec.name!r} is already registered")
        table[key] = spec
        return spec

    def resolve(self, channel: str) -> ChannelSpec | None:
        if channel in self._exact:
            return self._exact[channel]
        prefix, dot, rest = channel.rpartition(".")
        if dot and rest:
            return self._prefix.get(prefix + ".")
        return None

    def names(self) -> list[str]:
        return sorted([*self._exact, *(p + "*" for p in self._prefix)])


class ProtocolError(KnownError):
    """A client message the hub cannot act on."""

    code = "bad_message"


class RateLimited(KnownError):
    code = "rate_limited"


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic):
        self.rate, self.burst, self._clock = rate, burst, clock
        self.tokens = burst
        self._last = clock()

    def take(self) -> bool:
        now = self._clock()
        self.tokens = min(self.burst, self.tokens + (now - self._last) * self.rate)
        self._last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def envelope(channel: str, event: str, payload: Any, request_id: Any = None) -> str:
    message: dict[str, Any] = {"channel": channel, "event": event, "payload": payload}
    if request_id is not None:
        message["request_id"] = request_id
    return json.dumps(message, default=str)


def error_message(channel: str, request_id: Any, exc: KnownError) -> str:
    """The one error shape; ``request_id`` is null when the request had none."""
    message = {"channel": channel, "event": "error", "payload": exc.to_dict()}
    return json.dumps({**message, "request_id": request_id}, default=str)


@dataclass(frozen=True)
class HubOptions:
    auth_timeout: float = 15.0
    max_msg_size: int = 64 * 1024
    rate: float = 20.0
    burst: float = 40.0
    queue_size: int = 1000
    expiry_check: float = 0.5


class Connection:
    """One authenticated socket: its outgoing queue and its subscriptions.

    Messages leave in the order they were sent, either through ``outbox`` (drained by
    :meth:`run_writer`) or written at once by a topic's fanout (:func:`_write_all`) when
    nothing is queued or in flight. ``busy`` is set while the writer sends; ``reserved``
    while a fanout write is still to go out, and the writer waits for it.
    """

    def __init__(
        self,
        ws: web.WebSocketResponse,
        token: str,
        grant: Grant,
        options: HubOptions,
        transport: asyncio.BaseTransport | None = None,
    ) -> None:
        self.ws = ws
        self.token = token
        self.grant = grant
        self.watch: SessionWatch | None = None  # set by Sessions.bind
        self.ended = False
        self.transport = transport if isinstance(transport, asyncio.WriteTransport) else None
        self.bucket = TokenBucket(options.rate, options.burst)
        self.outbox: asyncio.Queue[str] = asyncio.Queue(options.queue_size)
        self.topics: dict[str, Topic] = {}
        self.too_slow = False
        self.busy = False
        self.reserved = False
        self._released: asyncio.Future[None] | None = None

    @property
    def actor(self) -> Actor:
        return self.grant.actor

    def end(self, why: str) -> None:
        """The session is over: send nothing more, and close with 4403."""
        if self.ended:
            return
        self.ended = True
        log.info("websocket of %s closed: %s", self.actor.id, why)
        _spawn(self.ws.close(code=CLOSE_BAD_TOKEN, message=why.encode()))

    def send(self, text: str) -> None:
        if self.too_slow or self.ended:
            return
        try:
            self.outbox.put_nowait(text)
        except asyncio.QueueFull:
            log.warning("websocket client %s is too slow; closing it", self.actor.id)
            self.too_slow = True
            _spawn(self.ws.close(code=CLOSE_TOO_SLOW, message=b"client too slow"))

    def writable_now(self, size: int) -> bool:
        """True when a message of ``size`` bytes may skip the queue: nothing queued or in
        flight, and the socket's buffer far enough below the level where writes wait."""
        transport = self.transport
        return (
            not self.busy
            and not self.reserved
            and not self.too_slow
            and not self.ended
            and self.outbox.empty()
            and transport is not None
            and not transport.is_closing()
            and transport.get_write_buffer_size() + size < DIRECT_WRITE_LIMIT
        )

    def release(self) -> None:
        """End a fanout reservation; a writer waiting on it goes on."""
        self.reserved = False
        released, self._released = self._released, None
        if released is not None and not released.done():
            released.set_result(None)

    async def run_writer(self) -> None:
        while not self.ws.closed:
            text = await self.outbox.get()
            if self.ended:
                return
            while self.reserved:
                self._released = asyncio.get_running_loop().create_future()
                await self._released
            self.busy = True
            try:
                await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return
            finally:
                self.busy = False


_TASKS: set[asyncio.Task[Any]] = set()


def _spawn(coro: Awaitable[Any]) -> None:
    task = asyncio.ensure_future(coro)
    _TASKS.add(task)
    task.add_done_callback(_TASKS.discard)


async def _write_all(conns: list[Connection], text: str) -> None:
    """Send ``text`` to each reserved connection in turn (see :meth:`Topic._send`)."""
    for i, conn in enumerate(conns):
        try:
            if not conn.ended:
                await conn.ws.send_str(text)
        except (ConnectionError, RuntimeError):
            pass
        except BaseException:
            for rest in conns[i:]:
                rest.release()
            raise
        conn.release()


class Topic:
    """One feed listener shared by every connection subscribed to (channel, feed)."""

    def __init__(self, hub: Hub, key: str, channel: str, spec: ChannelSpec, feed: Feed):
        self.hub, self.key, self.channel, self.spec = hub, key, channel, spec
        self.subscribers: set[Connection] = set()
        self.waiting: set[Connection] = set()
        self.docs: dict[str, dict[str, Any]] = {}
        self.ready = False
        self.listener: Listener = hub.feeds.follow(feed, self._from_thread)

    def _from_thread(self, changes: list[Change]) -> None:
        with contextlib.suppress(RuntimeError):  # loop closed during shutdown
            self.hub.loop.call_soon_threadsafe(self.apply, changes)

    def add(self, conn: Connection) -> None:
        self.subscribers.add(conn)
        if self.ready:
            conn.send(self._snapshot())
        else:
            self.waiting.add(conn)

    def apply(self, changes: list[Change]) -> None:
        if not self.subscribers:
            return
        rendered = [(c.kind, c.document.id, self.spec.render(c.document)) for c in changes]
        for kind, doc_id, item in rendered:
            if kind == "removed":
                self.docs.pop(doc_id, None)
            else:
                self.docs[doc_id] = item
        if not self.ready:
            self.ready = True
            self._send(self.waiting, self._snapshot())
            self.waiting.clear()
            return
        delta = [{"kind": kind, "id": doc_id, **item} for kind, doc_id, item in rendered]
        self._send(self.subscribers - self.waiting, envelope(self.channel, "delta", delta))

    def _snapshot(self) -> str:
        return envelope(self.channel, "snapshot", list(self.docs.values()))

    @staticmethod
    def _send(conns: set[Connection], text: str) -> None:
        """One message to many: idle sockets are written by one task, in turn (one wake-up
        for them all); the others queue it behind what they are still sending."""
        direct: list[Connection] = []
        size = len(text)
        for conn in conns:
            if conn.writable_now(size):
                conn.reserved = True
                direct.append(conn)
            else:
                conn.send(text)
        if direct:
            _spawn(_write_all(direct, text))

    def remove(self, conn: Connection) -> bool:
        """Drop ``conn``; True when the topic has no subscriber left (and is closed)."""
        self.subscribers.discard(conn)
        self.waiting.discard(conn)
        if self.subscribers:
            return False
        self.listener.unsubscribe()
        return True


class Hub:
    """Connections, channels and shared topics of one application; each connection is
    bound to its session (:class:`~server.ws_sessions.Sessions`)."""

    def __init__(
        self,
        feeds: Feeds,
        registry: ChannelRegistry,
        authenticate: Authenticate,
        options: HubOptions | None = None,
        clock: Clock = lambda: datetime.now(UTC),
    ) -> None:
        self.feeds = feeds
        self.registry = registry
        self.authenticate = authenticate
        self.options = options or HubOptions()
        self.connections: set[Connection] = set()
        self.topics: dict[str, Topic] = {}
        self.sessions = Sessions(feeds, authenticate, clock, lambda: self.loop)
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def count(self) -> int:
        return len(self.connections)

    async def close_all(self) -> None:
        """Close every socket (on shutdown) and drop every store listener."""
        for conn in list(self.connections):
            with contextlib.suppress(Exception):
                await conn.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")
        for topic in list(self.topics.values()):
            topic.listener.unsubscribe()
        self.topics.clear()
        self.sessions.close()

    # -- sessions -------------------------------------------------------------------------

    async def bind(self, conn: Connection) -> None:
        self.connections.add(conn)
        await self.sessions.bind(conn)

    async def expire_sessions(self) -> None:
        """End expired sessions' sockets, every ``expiry_check`` seconds (runs until
        cancelled)."""
        while True:
            await asyncio.sleep(self.options.expiry_check)
            self.sessions.end_expired(self.connections)

    # -- subscriptions --------------------------------------------------------------------

    async def subscribe(
        self, conn: Connection, channel: str, spec: ChannelSpec, payload: dict[str, Any]
    ) -> Callable[[], None]:
        """Check a subscription; returns the step that attaches it (run after the ack, so
        the snapshot always follows the ack). Making the channel's feed may read the store
        (who may see what), so it runs in a worker thread, off the event loop (the GUI
        loop in the desktop)."""
        if spec.feed is None:
            raise ProtocolError(f"Channel {channel!r} has nothing to subscribe to.")
        if channel in conn.topics:
            raise ProtocolError(f"Already subscribed to {channel!r}.")
        feed = await asyncio.to_thread(spec.feed, conn.actor, channel, payload)
        key = f"{channel}|{feed.key}"

        def attach() -> None:
            if conn not in self.connections or channel in conn.topics:
                return
            topic = self.topics.get(key)
            if topic is None:
                topic = self.topics[key] = Topic(self, key, channel, spec, feed)
            conn.topics[channel] = topic
            topic.add(conn)

        return attach

    def unsubscribe(self, conn: Connection, channel: str) -> bool:
        topic = conn.topics.pop(channel, None)
        if topic is None:
            return False
        if topic.remove(conn):
            self.topics.pop(topic.key, None)
        return True

    def drop(self, conn: Connection) -> None:
        for channel in list(conn.topics):
            self.unsubscribe(conn, channel)
        self.connections.discard(conn)
        self.sessions.release(conn)

    # -- one client request ------------------------------------------------------------

    async def handle(self, conn: Connection, raw: str) -> None:
        """Act on one client message; always answers with exactly one ack or error."""
        channel, request_id = "", None
        if conn.ended:
            return
        try:
            message = _parse(raw)
            channel, request_id = message.get("channel") or "", message.get("request_id")
            if not conn.bucket.take():
                raise RateLimited(
                    "Too many messages on this connection.", hint="Slow down and try again."
                )
            channel, action, payload, request_id = _fields(message)
            if not await self.sessions.recheck(conn):
                return
            result, after = await self._dispatch(conn, channel, action, payload)
            conn.send(envelope(channel, "ack", result, request_id))
            if after is not None:
                after()
        except KnownError as exc:
            conn.send(error_message(channel, request_id, exc))
        except Exception:
            log.exception("websocket action failed: %.200s", raw)
            bug = KnownError("Something went wrong on our side.", hint="It was logged.")
            bug.code = "bug"
            conn.send(error_message(channel, request_id, bug))

    async def _dispatch(
        self, conn: Connection, channel: str, action: str, payload: dict[str, Any]
    ) -> tuple[Any, Callable[[], None] | None]:
        spec = self.registry.resolve(channel)
        if spec is None:
            raise ProtocolError(
                f"Unknown channel {channel!r}.",
                hint=f"Use one of {', '.join(self.registry.names())}.",
            )
        if action == "unsubscribe":
            return {"unsubscribed": self.unsubscribe(conn, channel)}, None
        if action == "subscribe":
            _require(conn.actor, spec.roles, f"see {channel}")
            return {"subscribed": channel}, await self.subscribe(conn, channel, spec, payload)
        handler = spec.actions.get(action)
        if handler is None:
            known = ", ".join(["subscribe", "unsubscribe", *spec.actions])
            raise ProtocolError(
                f"Unknown action {action!r} on {channel!r}.", hint=f"Use one of {known}."
            )
        _require(conn.actor, handler.roles, f"{action} on {channel}")
        return await handler.handler(ActionRequest(conn.actor, channel, payload)), None


def _require(actor: Actor, roles: frozenset[str], doing: str) -> None:
    if actor.role not in roles:
        raise PermissionDenied(
            f"{actor.name} ({actor.role}) may not {doing}: only {' or '.join(sorted(roles))} may."
        )


def _parse(raw: str) -> dict[str, Any]:
    try:
        message = loads(raw)
    except ValueError as exc:
        raise ProtocolError(
            f"The message is {exc}.",
            hint='Send {"channel", "action", "payload", "request_id"} as a JSON object.',
        ) from None
    if not isinstance(message, dict):
        raise ProtocolError("The message must be a JSON object.")
    return message


def _fields(message: dict[str, Any]) -> tuple[str, str, dict[str, Any], Any]:
    missing = [f for f in ("channel", "action", "request_id") if message.get(f) in (None, "")]
    if missing:
        raise ProtocolError(
            f"The message is missing {', '.join(missing)}.",
            hint='Send {"channel", "action", "payload", "request_id"}.',
        )
    channel, action, request_id = message["channel"], message["action"], message["request_id"]
    payload = message.get("payload", {})
    if not isinstance(channel, str) or not isinstance(action, str):
        raise ProtocolError("channel and action must be strings.")
    if not isinstance(request_id, str | int) or isinstance(request_id, bool):
        raise ProtocolError("request_id must be a string or an integer.")
    if not isinstance(payload, dict):
        raise ProtocolError("payload must be a JSON object.")
    return channel, action, payload, request_id


# -- the handler ---------------------------------------------------------------------------


async def websocket_handler(
    request: web.Request, hub: Hub, cookie_token: str | None
) -> web.StreamResponse:
    if same_origin(request) is False:
        raise web.HTTPForbidden(
            text=json.dumps({"error": {"code": "forbidden", "message": "Origin not allowed."}}),
            content_type="application/json",
        )
    ws = web.WebSocketResponse(
        max_msg_size=hub.options.max_msg_size, heartbeat=30.0, compress=False
    )
    await ws.prepare(request)
    signed_in = await _authenticate(ws, hub, cookie_token)
    if signed_in is None:
        return ws
    conn = Connection(ws, *signed_in, hub.options, request.transport)
    writer = asyncio.create_task(conn.run_writer())
    try:
        await hub.bind(conn)
        conn.send(envelope("session", "ready", {"actor": conn.actor.to_json()}))
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await hub.handle(conn, msg.data)
            elif msg.type == WSMsgType.BINARY:
                conn.send(error_message("", None, ProtocolError("Send text (JSON) messages.")))
    finally:
        hub.drop(conn)
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
    return ws


async def _authenticate(
    ws: web.WebSocketResponse, hub: Hub, cookie_token: str | None
) -> tuple[str, Grant] | None:
    """The token and its grant from the first message, or None (the socket closed)."""
    try:
        msg = await asyncio.wait_for(ws.receive(), hub.options.auth_timeout)
    except TimeoutError:
        await ws.close(code=CLOSE_AUTH_TIMEOUT, message=b"authentication timed out")
        return None
    if msg.type != WSMsgType.TEXT:
        await ws.close(code=CLOSE_BAD_TOKEN, message=b"first message must be auth")
        return None
    try:
        first = loads(msg.data)
    except ValueError:
        first = None
    if not isinstance(first, dict) or first.get("type") != "auth":
        await ws.close(code=CLOSE_BAD_TOKEN, message=b'first message must be {"type":"auth"}')
        return None
    token = first.get("token") or cookie_token
    grant = await hub.authenticate(token) if isinstance(token, str) and token else None
    if grant is None or not isinstance(token, str):
        await ws.close(code=CLOSE_BAD_TOKEN, message=b"invalid or expired session")
        return None
    return token, grant
