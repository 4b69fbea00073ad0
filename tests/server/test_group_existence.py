"""A member gets one answer for a group (or auction) that does not exist and for one
they hold no ticket in: the same status, code, message and hint, on every HTTP route
and websocket channel that takes a group or auction id."""

from __future__ import annotations

from typing import Any

import pytest

from app.bootstrap import Runtime
from app.services.auctions import Auction
from tests.browser.world import World, open_auction, populate
from tests.server.wsutil import JSON, Client, bare, call, connect

OTHERS = (
    ("Dev Rao", "+919811111111"),
    ("Esha Pai", "+919811111112"),
    ("Farid Ali", "+919811111113"),
)


@pytest.fixture
def elsewhere(runtime: Runtime, world: World) -> Auction:
    """An open auction in a running group none of the world's members is in."""
    return open_auction(runtime, populate(runtime, people=OTHERS, name="Other 1.5L"))


async def http_answer(client: Client, method: str, path: str, headers: dict[str, str]) -> Any:
    body = {"sha256": "0" * 64} if method == "POST" else None
    resp = await client.request(method, path, json=body, headers={**headers, **JSON})
    return resp.status, (await resp.json())["error"]


async def test_http_routes_answer_alike(
    client: Client, runtime: Runtime, world: World, asha: dict[str, str], elsewhere: Auction
) -> None:
    routes = [
        ("GET", "/api/groups/{}/health", "group"),
        ("GET", "/api/groups/{}/agreement", "group"),
        ("POST", "/api/groups/{}/agreement/sign", "group"),
        ("GET", "/api/auctions/{}", "auction"),
    ]
    head = runtime.pipeline.wal.head()
    for method, path, kind in routes:
        ids = {"group": (elsewhere.group_id, "grp-nope"), "auction": (elsewhere.id, "nope-1")}[kind]
        theirs, missing = [await http_answer(client, method, path.format(i), asha) for i in ids]
        assert theirs == missing, (path, theirs, missing)
        assert theirs[0] == 404 and theirs[1]["code"] == "not_found", path
    assert runtime.pipeline.wal.head() == head


async def test_websocket_channels_answer_alike(
    client: Client, runtime: Runtime, world: World, asha: dict[str, str], elsewhere: Auction
) -> None:
    ws = await connect(client, bare(asha))
    for prefix, action, payload in (
        ("auction.", "subscribe", {}),
        ("auction.status.", "subscribe", {}),
        ("auction.", "bid", {"discount": 7_500_00}),
    ):
        theirs, missing = [
            (await call(ws, f"{prefix}{i}{action}", prefix + i, action, **payload))["payload"]
            for i in (elsewhere.id, "nope-1")
        ]
        assert theirs == missing, (prefix, action, theirs, missing)
        assert theirs["code"] == "not_found"
    assert not any(r.action == "auction.bid" for r in runtime.pipeline.wal.read())
    # Their own group's auction still opens.
    own = open_auction(runtime, world)
    assert (await call(ws, "own", f"auction.{own.id}", "subscribe"))["event"] == "ack"
