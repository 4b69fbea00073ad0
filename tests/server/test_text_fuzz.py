"""Arbitrary Unicode in every text field of every HTTP route and websocket action of a
real server: each request is refused with a clear 4xx (or error message) or done, never
a 5xx or a dropped socket; afterwards the data directory opens again, the log verifies
and the store equals a replay of the log.

Bodies are sent as JSON with every non-ASCII character escaped, so lone surrogates
arrive as ``\\udXXX`` escapes, exactly as the report's raw body did."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import config
from app.bootstrap import Runtime, build
from app.services.otp import OtpService
from app.services.sms import OUTBOX_NAME, OutboxSender
from tests.browser.conftest import ServerThread
from tests.browser.world import PHONES, World, open_auction, populate
from tests.fuzz import EVERY_FIELD, TEXT, check_data_dir
from tests.server.conftest import last_code
from tests.server.wsutil import staff_token

FRAME_LIMIT = 64 * 1024


@dataclass
class Served:
    thread: ServerThread
    runtime: Runtime
    world: World
    auction_id: str
    member: str
    staff: str
    session: aiohttp.ClientSession

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.thread.port}"

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.thread.loop).result(timeout=60)


def _body(value: dict[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=True).encode()


def _segment(text: str) -> str:
    """``text`` for a URL path or query; cut to 250 characters, as aiohttp answers a
    request line over 8 KiB with a 400 of its own before any route sees it."""
    return quote(text[:250].encode("utf-8", "surrogatepass"), safe="")


async def http(s: Served, method: str, path: str, token: str, body: Any = None) -> None:
    headers = {"Origin": s.base, "Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else _body(body)
    async with s.session.request(method, s.base + path, data=data, headers=headers) as resp:
        text = await resp.text()
        assert resp.status < 500, f"{method} {path} -> {resp.status}: {text[:300]}"
        if resp.status >= 400:
            error = json.loads(text)["error"]
            assert error["code"] and error["message"], text


async def ws(s: Served, token: str, *messages: dict[str, Any]) -> None:
    """Send ``messages`` after signing in with ``token``: each gets one reply (an ack or
    one error shape); a bad token closes the socket with 4403."""
    async with s.session.ws_connect(s.base + "/ws", headers={"Origin": s.base}) as sock:
        await sock.send_str(json.dumps({"type": "auth", "token": token}, ensure_ascii=True))
        first = await sock.receive(timeout=10)
        if first.type != aiohttp.WSMsgType.TEXT:
            assert sock.close_code == 4403, (first, sock.close_code)
            return
        assert json.loads(first.data)["event"] == "ready"
        for message in messages:
            frame = json.dumps(message, ensure_ascii=True)
            await sock.send_str(frame)
            if len(frame) > FRAME_LIMIT:  # the documented answer to an oversized frame
                assert (await sock.receive(timeout=10)).type == aiohttp.WSMsgType.CLOSE
                assert sock.close_code == 1009
                return
            reply = await _reply(sock)
            if reply["event"] == "error":
                assert reply["payload"]["code"] and reply["payload"]["message"], reply
            else:
                assert reply["event"] == "ack", reply


async def _reply(sock: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    while True:
        msg = await sock.receive(timeout=10)
        assert msg.type == aiohttp.WSMsgType.TEXT, (msg, sock.close_code)
        data: dict[str, Any] = json.loads(msg.data)
        if data.get("event") in ("ack", "error"):
            return data


Request = Callable[[Served, str], Coroutine[Any, Any, None]]
REQUESTS: dict[str, Request] = {
    "otp.request phone": lambda s, t: http(s, "POST", "/api/otp/request", "", {"phone": t}),
    "otp.verify phone": lambda s, t: http(
        s, "POST", "/api/otp/verify", "", {"phone": t, "code": "123456"}
    ),
    "otp.verify code": lambda s, t: http(
        s, "POST", "/api/otp/verify", "", {"phone": PHONES[2], "code": t}
    ),
    "loans.apply purpose": lambda s, t: http(
        s, "POST", "/api/loans", s.member, {"amount": "10000", "tenure": "6", "purpose": t}
    ),
    "loans.apply amount": lambda s, t: http(
        s, "POST", "/api/loans", s.member, {"amount": t, "tenure": "6", "purpose": "shop"}
    ),
    "loans.apply tenure": lambda s, t: http(
        s, "POST", "/api/loans", s.member, {"amount": "10000", "tenure": t, "purpose": "shop"}
    ),
    "loans.apply member_id (staff)": lambda s, t: http(
        s,
        "POST",
        "/api/loans",
        s.staff,
        {"amount": "10000", "tenure": "6", "purpose": "shop", "member_id": t},
    ),
    "loans.preview": lambda s, t: http(
        s, "GET", f"/api/loans/preview?amount={_segment(t)}&tenure={_segment(t)}", s.member
    ),
    "pages member_id (staff)": lambda s, t: _pages(s, t),
    "groups id": lambda s, t: _groups(s, _segment(t)),
    "agreement.sign sha256": lambda s, t: http(
        s, "POST", f"/api/groups/{s.world.group_id}/agreement/sign", s.member, {"sha256": t}
    ),
    "auctions id": lambda s, t: http(s, "GET", f"/api/auctions/{_segment(t)}", s.member),
    "ws auth token": lambda s, t: ws(s, t),
    "ws channel": lambda s, t: ws(
        s, s.member, {"channel": t, "action": "subscribe", "payload": {}, "request_id": "r"}
    ),
    "ws action": lambda s, t: ws(
        s, s.member, {"channel": "loans.mine", "action": t, "payload": {}, "request_id": "r"}
    ),
    "ws request_id and member_id (staff)": lambda s, t: ws(
        s,
        s.staff,
        {
            "channel": "member.dues",
            "action": "subscribe",
            "payload": {"member_id": t},
            "request_id": t,
        },
    ),
    "ws bid discount": lambda s, t: ws(
        s,
        s.member,
        {
            "channel": f"auction.{s.auction_id}",
            "action": "bid",
            "payload": {"discount": t},
            "request_id": "b",
        },
    ),
}


async def _pages(s: Served, text: str) -> None:
    for page in ("dashboard", "timeline", "loans"):
        await http(s, "GET", f"/api/{page}?member_id={_segment(text)}", s.staff)


async def _groups(s: Served, segment: str) -> None:
    await http(s, "GET", f"/api/groups/{segment}/health", s.member)
    await http(s, "GET", f"/api/groups/{segment}/agreement", s.member)
    await http(s, "POST", f"/api/groups/{segment}/agreement/sign", s.member, {"sha256": "0" * 64})


def _token(runtime: Runtime, phone: str) -> str:
    otp = OtpService(
        runtime.ctx,
        OutboxSender(runtime.settings.data_dir / OUTBOX_NAME),
        members=runtime.services.members,
    )
    otp.request_code(phone, "10.0.0.1")
    return otp.verify(phone, last_code(runtime, phone), "10.0.0.1").token


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    data_dir = tmp_path / "data"
    runtime = build(config.load(environ={}, data_dir=data_dir))
    world = populate(runtime)
    auction = open_auction(runtime, world)
    member, staff = _token(runtime, PHONES[0]), staff_token(runtime)
    thread = ServerThread(runtime)
    thread.start()
    assert thread.started.wait(10), "the test server did not start"

    async def session() -> aiohttp.ClientSession:
        return aiohttp.ClientSession()

    client = asyncio.run_coroutine_threadsafe(session(), thread.loop).result()
    yield Served(thread, runtime, world, auction.id, member, staff, client)
    asyncio.run_coroutine_threadsafe(client.close(), thread.loop).result()
    thread.stop()
    runtime.close()
    check_data_dir(data_dir)


def test_every_route_and_action_meets_every_nasty_text(served: Served) -> None:
    for name, request in REQUESTS.items():
        for text in EVERY_FIELD:
            try:
                served.run(request(served, text))
            except AssertionError as exc:
                raise AssertionError(f"{name} with {text[:40]!r}: {exc}") from None


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(name=st.sampled_from(sorted(REQUESTS)), text=TEXT)
def test_arbitrary_text_anywhere_gets_a_clear_answer(served: Served, name: str, text: str) -> None:
    served.run(REQUESTS[name](served, text))
