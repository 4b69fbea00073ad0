"""Subscribe queries run off the event loop; shutdown closes open sockets once."""

from __future__ import annotations

import asyncio
import gc
import threading
from typing import Any

import pytest
from aiohttp import WSCloseCode, WSMsgType, web
from aiohttp.test_utils import TestClient, TestServer

from app.bootstrap import Runtime
from app.kernel.errors import ValidationError
from app.services.actors import Actor
from app.services.feeds import Feed
from app.services.members import Member
from app.services.store import Query
from app.services.store.sqlite_listen import Subscription
from server.app import HUB, create_app
from server.ws import ChannelSpec, Connection, Topic
from server.ws_sessions import SessionWatch
from tests.server.wsutil import NOTES, OPTIONS, member_token

ALL = frozenset({"member", "employee", "admin"})
query_threads: list[int] = []


def _recording_feed(actor: Actor, channel: str, payload: dict[str, Any]) -> Feed:
    query_threads.append(threading.get_ident())
    if payload.get("bad"):
        raise ValidationError("That filter is not allowed.", hint="Leave it out.")
    return Feed(Query("notes").where("visible", "==", True))


PROBE = ChannelSpec("probe", ALL, feed=_recording_feed)


@pytest.fixture
def app(runtime: Runtime, member: Member) -> web.Application:
    return create_app(
        runtime.services, runtime.settings, hub_options=OPTIONS, channels=[NOTES, PROBE]
    )


async def _signed_in(client: TestClient[Any, Any], token: str) -> Any:
    ws = await client.ws_connect("/ws")
    await ws.send_json({"type": "auth", "token": token})
    assert (await ws.receive_json(timeout=5))["event"] == "ready"
    return ws


async def test_subscribe_query_runs_off_the_loop_and_errors_keep_request_id(
    aiohttp_client: Any, app: web.Application, runtime: Runtime
) -> None:
    client = await aiohttp_client(app)
    ws = await _signed_in(client, member_token(app, runtime))
    query_threads.clear()
    await ws.send_json({"channel": "probe", "action": "subscribe", "request_id": "p1"})
    ack = await ws.receive_json(timeout=5)
    assert ack["event"] == "ack" and ack["request_id"] == "p1"
    assert (await ws.receive_json(timeout=5))["event"] == "snapshot"
    assert query_threads and threading.get_ident() not in query_threads
    await ws.send_json({"channel": "probe", "action": "unsubscribe", "request_id": "p2"})
    assert (await ws.receive_json(timeout=5))["payload"] == {"unsubscribed": True}
    bad = {"channel": "probe", "action": "subscribe", "request_id": 9, "payload": {"bad": 1}}
    await ws.send_json(bad)
    error = await ws.receive_json(timeout=5)
    assert error["event"] == "error" and error["request_id"] == 9
    assert error["payload"]["message"] == "That filter is not allowed."
    assert app[HUB].topics == {}


async def test_shutdown_closes_open_sockets_and_drops_listeners(
    app: web.Application, runtime: Runtime
) -> None:
    server = TestServer(app)
    client = TestClient(server)
    await client.start_server()
    ws = await _signed_in(client, member_token(app, runtime))
    await ws.send_json({"channel": "notes", "action": "subscribe", "request_id": 1})
    assert (await ws.receive_json(timeout=5))["event"] == "ack"
    assert (await ws.receive_json(timeout=5))["event"] == "snapshot"
    hub = app[HUB]
    assert hub.count() == 1 and len(hub.topics) == 1
    closing = asyncio.create_task(server.close())
    msg = await ws.receive(timeout=5)
    assert msg.type == WSMsgType.CLOSE and msg.data == WSCloseCode.GOING_AWAY
    assert msg.extra == "server shutting down"
    await asyncio.wait_for(closing, 10)
    await client.close()
    assert hub.count() == 0 and hub.topics == {}


async def test_clients_that_leave_leave_nothing_behind(
    aiohttp_client: Any, app: web.Application, runtime: Runtime
) -> None:
    """The memory bench's finding, kept: after the clients leave, no connection, topic,
    session watch or store listener of theirs is still alive (what stays in RSS is the
    allocator's, see bench/ws_memory.py)."""
    client = await aiohttp_client(app)
    token = member_token(app, runtime)
    sockets = [await _signed_in(client, token) for _ in range(20)]
    for n, ws in enumerate(sockets):
        channel = "notes" if n % 2 else "probe"
        await ws.send_json({"channel": channel, "action": "subscribe", "request_id": n})
        assert (await ws.receive_json(timeout=5))["event"] == "ack"
    hub = app[HUB]
    assert hub.count() == 20 and len(hub.topics) == 2 and len(hub.sessions.watches) == 1
    for ws in sockets:
        await ws.close()
    for _ in range(100):
        if not hub.count():
            break
        await asyncio.sleep(0.05)
    gc.collect()
    assert hub.count() == 0 and hub.topics == {} and hub.sessions.watches == {}
    alive = [o for o in gc.get_objects() if isinstance(o, Connection | Topic | SessionWatch)]
    assert alive == []
    listening = [o for o in gc.get_objects() if isinstance(o, Subscription) and o.active]
    assert listening == []
