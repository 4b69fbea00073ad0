"""JSON nested 50,000 deep (or just past the limit) is a clear 400 / bad_message, never
a 500 or a traceback in the log; a deep auth message closes the socket with 4403."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from aiohttp import WSMsgType

from app.bootstrap import Runtime
from server.security import MAX_DEPTH, nesting
from server.ws import CLOSE_BAD_TOKEN
from tests.server.wsutil import JSON, Client, bare, connect

DEEP = 50_000
BODIES = {
    "open arrays": "[" * DEEP,
    "closed arrays": "[" * DEEP + "]" * DEEP,
    "objects": '{"a":' * DEEP + "1" + "}" * DEEP,
    "just past the limit": '{"purpose":' + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "}",
}


@pytest.fixture(autouse=True)
def no_tracebacks(caplog: pytest.LogCaptureFixture) -> Any:
    caplog.set_level(logging.ERROR)
    yield
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_deep_request_bodies_are_refused_with_400(
    client: Client, runtime: Runtime, asha: dict[str, str]
) -> None:
    head = runtime.pipeline.wal.head()
    for path in ("/api/loans", "/api/otp/request"):
        for what, body in BODIES.items():
            resp = await client.post(path, data=body, headers={**asha, **JSON})
            assert resp.status == 400, (path, what, resp.status)
            error = (await resp.json())["error"]
            assert error["code"] == "invalid", what
            assert (
                error["message"] == f"The request body is nested more than {MAX_DEPTH} levels deep."
            )
    assert runtime.pipeline.wal.head() == head


async def test_deep_websocket_messages_get_bad_message(
    client: Client, asha: dict[str, str]
) -> None:
    ws = await connect(client, bare(asha))
    for what, body in BODIES.items():
        if len(body) > 60_000:
            continue  # past the frame limit: closed with 1009, tested elsewhere
        await ws.send_str(body)
        reply = await ws.receive_json(timeout=5)
        assert reply["event"] == "error" and reply["request_id"] is None, what
        assert reply["payload"]["code"] == "bad_message", what
        assert "nested more than" in reply["payload"]["message"], what
    await ws.send_json({"channel": "loans.mine", "action": "subscribe", "request_id": 1})
    assert (await ws.receive_json(timeout=5))["event"] == "ack"


async def test_a_deep_auth_message_closes_with_4403(client: Client, asha: dict[str, str]) -> None:
    for token in ("[" * 30_000, {"a": json.loads("[" * MAX_DEPTH + "]" * MAX_DEPTH)}):
        ws = await client.ws_connect("/ws")
        text = (
            '{"type": "auth", "token": '
            + (token if isinstance(token, str) else json.dumps(token))
            + "}"
        )
        await ws.send_str(text)
        msg = await ws.receive(timeout=5)
        assert msg.type == WSMsgType.CLOSE and msg.data == CLOSE_BAD_TOKEN


def test_nesting_counts_levels_without_recursion() -> None:
    assert [nesting(v) for v in (1, [], {}, [[]], {"a": [1, {"b": 2}]})] == [0, 1, 1, 2, 3]
    assert nesting(json.loads("[" * 900 + "]" * 900)) == 900
