"""The websocket protocol, in-process with real sockets over a real runtime."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient

from app.bootstrap import Runtime
from app.services.members import Member
from server.app import HUB
from server.ws import CLOSE_AUTH_TIMEOUT, CLOSE_BAD_TOKEN, HubOptions
from tests.server.wsutil import OPTIONS, add_note, make_app, member_token, staff_token


@pytest.fixture
def app(runtime: Runtime, member: Member) -> web.Application:
    return make_app(runtime)


@pytest.fixture
async def client(aiohttp_client: Any, app: web.Application) -> TestClient[Any, Any]:
    return await aiohttp_client(app)


async def signed_in(client: TestClient[Any, Any], token: str) -> Any:
    ws = await client.ws_connect("/ws")
    await ws.send_json({"type": "auth", "token": token})
    ready = await ws.receive_json(timeout=5)
    assert ready["channel"] == "session" and ready["event"] == "ready"
    return ws


async def request(ws: Any, request_id: Any, **message: Any) -> dict[str, Any]:
    await ws.send_json({"request_id": request_id, **message})
    reply: dict[str, Any] = await ws.receive_json(timeout=5)
    return reply


async def test_auth_timeout_closes_with_4401(client: TestClient[Any, Any]) -> None:
    ws = await client.ws_connect("/ws")
    msg = await ws.receive(timeout=5)
    assert msg.type == WSMsgType.CLOSE and msg.data == CLOSE_AUTH_TIMEOUT
    assert "timed out" in msg.extra


async def test_bad_token_closes_with_4403(client: TestClient[Any, Any]) -> None:
    for first in ({"type": "auth", "token": "nope"}, {"type": "hello"}):
        ws = await client.ws_connect("/ws")
        await ws.send_json(first)
        msg = await ws.receive(timeout=5)
        assert msg.type == WSMsgType.CLOSE and msg.data == CLOSE_BAD_TOKEN


async def test_cookie_session_authenticates(
    client: TestClient[Any, Any], app: web.Application, runtime: Runtime
) -> None:
    token = member_token(app, runtime)
    ws = await client.ws_connect("/ws", headers={"Cookie": f"tfos_session={token}"})
    await ws.send_json({"type": "auth"})
    ready = await ws.receive_json(timeout=5)
    assert ready["payload"]["actor"]["role"] == "member"
    assert app[HUB].count() == 1
    assert runtime.stats.sample().connected_clients == 1


async def test_malformed_messages_get_errors_and_connection_survives(
    client: TestClient[Any, Any], app: web.Application, runtime: Runtime
) -> None:
    ws = await signed_in(client, member_token(app, runtime))
    await ws.send_str("{not json")
    reply = await ws.receive_json(timeout=5)
    assert reply["event"] == "error" and reply["payload"]["code"] == "bad_message"
    assert reply["request_id"] is None
    await ws.send_str("[1, 2]")
    assert (await ws.receive_json(timeout=5))["payload"]["message"].startswith("The message must")
    missing = await request(ws, 7, channel="notes")
    assert missing["request_id"] == 7 and "missing action" in missing["payload"]["message"]
    unknown = await request(ws, "u1", channel="nowhere", action="subscribe")
    assert unknown["payload"]["message"].startswith("Unknown channel")
    bad_action = await request(ws, "u2", channel="notes", action="explode")
    assert bad_action["request_id"] == "u2" and "Unknown action" in bad_action["payload"]["message"]
    ok = await request(ws, "u3", channel="notes", action="echo", payload={"x": 1})
    assert ok == {
        "channel": "notes",
        "event": "ack",
        "request_id": "u3",
        "payload": {"echo": {"x": 1}, "by": "member"},
    }


async def test_request_ids_pair_with_replies(
    client: TestClient[Any, Any], app: web.Application, runtime: Runtime
) -> None:
    ws = await signed_in(client, member_token(app, runtime))
    for i in range(10):
        await ws.send_json(
            {"channel": "notes", "action": "echo", "payload": {"i": i}, "request_id": f"r{i}"}
        )
    replies = [await ws.receive_json(timeout=5) for _ in range(10)]
    assert [r["request_id"] for r in replies] == [f"r{i}" for i in range(10)]
    assert [r["payload"]["echo"]["i"] for r in replies] == list(range(10))


async def test_member_refused_employee_action_and_channel(
    client: TestClient[Any, Any], app: web.Application, runtime: Runtime
) -> None:
    ws = await signed_in(client, member_token(app, runtime))
    refused = await request(ws, 1, channel="notes", action="approve", payload={"id": "n1"})
    assert refused["event"] == "error" and refused["payload"]["code"] == "forbidden"
    hidden = await request(ws, 2, channel="desk", action="subscribe")
    assert hidden["payload"]["code"] == "forbidden"
    staff = await signed_in(client, staff_token(runtime))
    allowed = await request(staff, 3, channel="notes", action="approve", payload={"id": "n1"})
    assert allowed["event"] == "ack" and allowed["payload"] == {"approved": "n1"}


async def test_subscription_snapshot_then_deltas(
    client: TestClient[Any, Any], app: web.Application, runtime: Runtime
) -> None:
    await asyncio.to_thread(add_note, runtime, "n1", "first")
    ws = await signed_in(client, member_token(app, runtime))
    ack = await request(ws, "s", channel="notes", action="subscribe")
    assert ack["event"] == "ack"
    snap = await ws.receive_json(timeout=5)
    assert snap["event"] == "snapshot" and [d["id"] for d in snap["payload"]] == ["n1"]
    await asyncio.to_thread(add_note, runtime, "n2", "second")
    delta = await ws.receive_json(timeout=5)
    assert delta["event"] == "delta"
    assert [(c["kind"], c["id"]) for c in delta["payload"]] == [("added", "n2")]
    await asyncio.to_thread(add_note, runtime, "n1", "edited")
    delta = await ws.receive_json(timeout=5)
    assert delta["payload"][0]["kind"] == "modified"
    assert delta["payload"][0]["data"]["text"] == "edited"
    await asyncio.to_thread(add_note, runtime, "n2", "hidden", False)
    delta = await ws.receive_json(timeout=5)
    assert [(c["kind"], c["id"]) for c in delta["payload"]] == [("removed", "n2")]
    # a second subscriber shares the topic and gets the current state at once
    other = await signed_in(client, staff_token(runtime))
    await request(other, "s2", channel="notes", action="subscribe")
    snap2 = await other.receive_json(timeout=5)
    assert [(d["id"], d["data"]["text"]) for d in snap2["payload"]] == [("n1", "edited")]


async def test_origin_checked_on_handshake(client: TestClient[Any, Any]) -> None:
    host = f"{client.host}:{client.port}"
    ws = await client.ws_connect("/ws", origin=f"http://{host}")
    await ws.close()
    with pytest.raises(Exception) as info:
        await client.ws_connect("/ws", origin="http://evil.example")
    assert "403" in str(info.value)


async def test_oversized_frame_closes_with_1009(
    client: TestClient[Any, Any], app: web.Application, runtime: Runtime
) -> None:
    ws = await signed_in(client, member_token(app, runtime))
    await ws.send_str("x" * (OPTIONS.max_msg_size + 1))
    msg = await ws.receive(timeout=5)
    while msg.type not in (WSMsgType.CLOSE, WSMsgType.CLOSED):
        msg = await ws.receive(timeout=5)
    assert ws.close_code == 1009
    again = await signed_in(client, member_token(app, runtime))
    assert (await request(again, 1, channel="notes", action="echo"))["event"] == "ack"


async def test_rate_limit_per_connection(
    aiohttp_client: Any, runtime: Runtime, member: Member
) -> None:
    app = make_app(runtime, HubOptions(auth_timeout=5, rate=0.001, burst=3))
    client = await aiohttp_client(app)
    ws = await signed_in(client, member_token(app, runtime))
    for i in range(5):
        await ws.send_json({"channel": "notes", "action": "echo", "request_id": i})
    replies = [await ws.receive_json(timeout=5) for _ in range(5)]
    assert [r["event"] for r in replies] == ["ack"] * 3 + ["error"] * 2
    assert replies[-1]["payload"]["code"] == "rate_limited" and replies[-1]["request_id"] == 4
