"""Every JSON endpoint answers any malformed input with a 4xx and a message, never a 500,
and changes nothing (the WAL head stays where it was)."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from app.bootstrap import Runtime
from server.app import create_app
from server.ws import HubOptions
from tests.browser.world import World, open_auction

Client = TestClient[Any, Any]

NASTY: list[Any] = [
    None,
    True,
    0,
    -1,
    10**30,
    1.5,
    float("1e308"),
    "",
    "   ",
    "x" * 20_000,
    "9" * 5_000,
    [],
    [1, 2],
    {},
    {"a": {"b": []}},
    "\u0000",
    "१२३४५",
    "50,000.999",
    "-5000",
    "1e5",
    "NaN",
    "<script>alert(1)</script>",
    "../../etc/passwd",
]


@pytest.fixture
def app(runtime: Runtime, world: World) -> web.Application:
    """The real app, with the websocket rate limit out of the way (it has its own tests)."""
    return create_app(
        runtime.services, runtime.settings, hub_options=HubOptions(rate=10_000.0, burst=10_000.0)
    )


async def refused(resp: Any, what: str) -> None:
    assert 400 <= resp.status < 500, f"{what}: {resp.status} {(await resp.text())[:300]}"
    body = await resp.json()
    assert body["error"]["message"].strip(), what


def valid_posts(world: World) -> dict[str, dict[str, Any]]:
    return {
        "/api/loans": {"amount": "50000", "tenure": "12", "purpose": "shop stock"},
        f"/api/groups/{world.group_id}/agreement/sign": {"sha256": "0" * 64},
        "/api/otp/request": {"phone": world.phones[0]},
        "/api/otp/verify": {"phone": world.phones[0], "code": "000000"},
    }


@pytest.mark.parametrize("who", ["member", "staff"])
async def test_every_field_of_every_post_refuses_nasty_values(
    client: Client,
    runtime: Runtime,
    world: World,
    asha: dict[str, str],
    staff: dict[str, str],
    who: str,
) -> None:
    headers = asha if who == "member" else staff
    accepted = []
    for path, good in valid_posts(world).items():
        for field in [*good, "member_id"]:
            for value in NASTY:
                if path.startswith("/api/otp") and field != "phone":
                    continue  # each OTP request counts against the rate limits
                head = runtime.pipeline.wal.head()
                resp = await client.post(path, json={**good, field: value}, headers=headers)
                what = f"{who} POST {path} {field}={value!r:.40}"
                if resp.status in (200, 201):
                    accepted.append(field)
                    continue
                await refused(resp, what)
                assert runtime.pipeline.wal.head() == head, f"{what} was refused but wrote"
    # Free text is free (a purpose may read "NaN"); a member naming no one means
    # themselves. Every number, hash and phone above is refused.
    assert set(accepted) <= {"purpose", "member_id"}
    assert who == "member" or not accepted


async def test_bodies_that_are_not_json_objects_are_refused(
    client: Client, world: World, asha: dict[str, str]
) -> None:
    for path in valid_posts(world):
        for raw in (b"", b"{", b"[]", b'"text"', b"null", b"\xff\xfe", b"{" * 5000):
            resp = await client.post(
                path, data=raw, headers={**asha, "Content-Type": "application/json"}
            )
            await refused(resp, f"POST {path} {raw[:20]!r}")


async def test_query_parameters_with_nasty_values_are_refused(
    client: Client, world: World, asha: dict[str, str], staff: dict[str, str]
) -> None:
    gid = world.group_id
    for value in NASTY:
        # Within aiohttp's 8 KB request line (beyond it aiohttp itself answers 400).
        text = (value if isinstance(value, str) else str(value))[:2_000]
        for path, params in (
            ("/api/loans/preview", {"amount": text, "tenure": "12"}),
            ("/api/loans/preview", {"amount": "50000", "tenure": text}),
        ):
            resp = await client.get(path, params=params, headers=asha)
            if resp.status != 200:
                await refused(resp, f"GET {path} {params}")
        for path in (
            "/api/dashboard",
            "/api/timeline",
            "/api/loans",
            f"/api/groups/{gid}/health",
            f"/api/groups/{gid}/agreement",
        ):
            resp = await client.get(path, params={"member_id": text}, headers=staff)
            if resp.status != 200:
                await refused(resp, f"staff GET {path} member_id={text[:40]!r}")
        for path in (f"/api/groups/{text[:200]}/health", f"/api/auctions/{text[:200]}"):
            if "/" in text[:200] or "\x00" in text or not text.strip():
                continue
            resp = await client.get(path, headers=asha)
            if resp.status != 200:
                await refused(resp, f"GET {path[:60]}")


async def test_unknown_api_paths_and_methods_answer_in_the_api_error_shape(
    client: Client, asha: dict[str, str]
) -> None:
    resp = await client.get("/api/nothing-here", headers=asha)
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "not_found"
    resp = await client.delete("/api/loans", headers=asha)
    assert resp.status == 405 and "POST" in resp.headers["Allow"]
    assert (await resp.json())["error"]["code"] == "method_not_allowed"
    page = await client.get("/no-such-page")
    assert page.status == 404 and page.content_type != "application/json"


WS_VALUES: list[Any] = [v for v in NASTY if not (isinstance(v, str) and len(v) > 1_000)]


async def test_websocket_requests_with_nasty_values_get_exactly_one_clear_error(
    client: Client, runtime: Runtime, world: World, asha: dict[str, str]
) -> None:
    """Every malformed request on the member channels: one error with its request_id
    (never a 'bug'), the connection stays open, and nothing reaches the WAL."""
    auction = open_auction(runtime, world)
    ws = await client.ws_connect("/ws")
    await ws.send_json({"type": "auth", "token": asha["Authorization"].split()[1]})
    assert (await ws.receive_json(timeout=5))["event"] == "ready"
    channels = [
        f"auction.{auction.id}",
        f"auction.status.{auction.id}",
        "member.timeline",
        "loans.mine",
    ]
    requests: list[dict[str, Any]] = []
    for value in WS_VALUES:
        requests += [
            {"channel": f"auction.{auction.id}", "action": "bid", "payload": {"discount": value}},
            {"channel": value, "action": "subscribe", "payload": {}},
            {"channel": channels[2], "action": value, "payload": {}},
            {"channel": channels[2], "action": "subscribe", "payload": value},
            {"channel": channels[3], "action": "subscribe", "payload": {"member_id": value}},
        ]

    async def answer(request: dict[str, Any], request_id: Any) -> dict[str, Any]:
        await ws.send_json({**request, "request_id": request_id})
        while True:
            reply: dict[str, Any] = await ws.receive_json(timeout=5)
            if reply.get("request_id") == request_id:
                return reply
            assert reply["event"] in ("snapshot", "delta"), reply  # a subscription's data

    head = runtime.pipeline.wal.head()
    for n, request in enumerate(requests):
        reply = await answer(request, n)
        what = f"{request}"[:120]
        if reply["event"] == "ack":  # a member naming no one, or themselves, subscribes
            assert request["action"] == "subscribe" and request["channel"] in channels, what
            gone = await answer({"channel": request["channel"], "action": "unsubscribe"}, -n)
            assert gone["event"] == "ack", gone  # so the next value is tried afresh
            continue
        assert reply["event"] == "error", what
        assert reply["payload"]["code"] not in ("bug", "rate_limited"), what
        assert reply["payload"]["message"], what
    assert runtime.pipeline.wal.head() == head
    assert (await answer({"channel": channels[2], "action": "subscribe"}, "last"))["event"] == "ack"
    await ws.close()
