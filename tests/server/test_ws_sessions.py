"""A websocket lives as long as its session: sign-out, expiry, a disabled account or a
new password close it with 4403 (also when another process on the same data directory
made the change), and no request on it is acted on afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType, web

from app.bootstrap import Runtime
from app.services.auctions import Auction
from app.services.context import FixedClock
from app.services.staff import StaffService
from server.app import create_app
from server.ws import CLOSE_BAD_TOKEN, HubOptions
from tests.browser.world import World, open_auction
from tests.conftest import ROOT
from tests.server.wsutil import Client, bare, call, connect, subscribe, token_for

CHILD = ROOT / "tests" / "server" / "session_child.py"
PASSWORD = "Correct-horse-9"
END = {
    "disable": lambda staff, admin, who: staff.disable(admin, who, reason="left"),
    "password": lambda staff, admin, who: staff.set_password(admin, who, "Another-horse-42"),
}


@pytest.fixture
def auction(runtime: Runtime, world: World) -> Auction:
    return open_auction(runtime, world)


@pytest.fixture
def asha(app: web.Application, runtime: Runtime, world: World) -> str:
    return bare(token_for(app, runtime, world.phones[0]))


@pytest.fixture
def desk(runtime: Runtime) -> tuple[str, str, str]:
    """(admin id, employee id, the employee's session token)."""
    staff = StaffService(runtime.ctx)
    admin = staff.create_first_admin("Anil Admin", "anil", PASSWORD)
    ravi = staff.create_staff(admin.actor, "Ravi Kumar", "ravi", PASSWORD)
    return admin.id, ravi.id, staff.sign_in("ravi", PASSWORD).token


async def closed_within(ws: Any, seconds: float) -> float:
    """Seconds until the socket closed with 4403 (only stray deltas may come first)."""
    start = time.monotonic()
    while True:
        msg = await ws.receive(timeout=seconds)
        if msg.type == WSMsgType.TEXT:
            assert '"event": "delta"' in msg.data, msg.data
            continue
        assert msg.type == WSMsgType.CLOSE, msg
        assert msg.data == CLOSE_BAD_TOKEN, (msg.data, msg.extra)
        return time.monotonic() - start


async def try_bid(ws: Any, channel: str, discount: int) -> None:
    """Send a bid; the server may have closed the socket already (that is a refusal too)."""
    message = {"channel": channel, "action": "bid", "payload": {"discount": discount}}
    with contextlib.suppress(ConnectionResetError):
        await ws.send_json({**message, "request_id": "late"})


def bids_in_wal(runtime: Runtime) -> int:
    return sum(1 for r in runtime.pipeline.wal.read() if r.action == "auction.bid")


async def run_child(data_dir: Path, *args: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(CHILD), str(data_dir), *args, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0 and out.strip() == b"done", out


@pytest.mark.parametrize("where", ["here", "in another process"])
async def test_a_bid_after_sign_out_is_refused_and_never_logged(
    client: Client, runtime: Runtime, auction: Auction, asha: str, where: str
) -> None:
    ws = await connect(client, asha)
    channel = f"auction.{auction.id}"
    await subscribe(ws, channel)
    assert (await call(ws, "b1", channel, "bid", discount=7_500_00))["event"] == "ack"
    if where == "here":
        bearer = {"Authorization": f"Bearer {asha}"}
        assert (await client.post("/api/signout", json={}, headers=bearer)).status == 200
    else:
        await run_child(runtime.settings.data_dir, "sign-out", asha)
    await try_bid(ws, channel, 8_000_00)
    assert await closed_within(ws, 1.0) < 1.0
    assert bids_in_wal(runtime) == 1


async def test_expiry_closes_the_socket_within_a_second(
    client: Client, runtime: Runtime, world: World, asha: str, clock: FixedClock
) -> None:
    ws = await connect(client, asha)
    await subscribe(ws, "loans.mine")
    clock.advance(hours=12, seconds=1)
    assert await closed_within(ws, 1.0) < 1.0


async def test_an_expired_session_is_refused_at_request_time(
    aiohttp_client: Any, runtime: Runtime, world: World, clock: FixedClock
) -> None:
    """With the expiry sweep far away, the request itself finds the session over."""
    app = create_app(runtime.services, runtime.settings, hub_options=HubOptions(expiry_check=3600))
    client = await aiohttp_client(app)
    auction = open_auction(runtime, world)
    ws = await connect(client, bare(token_for(app, runtime, world.phones[0])))
    channel = f"auction.{auction.id}"
    await subscribe(ws, channel)
    clock.advance(hours=12, seconds=1)
    await try_bid(ws, channel, 7_500_00)
    await closed_within(ws, 2.0)
    assert bids_in_wal(runtime) == 0


@pytest.mark.parametrize("how", ["disable", "password"])
@pytest.mark.parametrize("where", ["here", "in another process"])
async def test_disabling_staff_or_a_new_password_closes_their_socket(
    client: Client, runtime: Runtime, desk: tuple[str, str, str], how: str, where: str
) -> None:
    admin_id, ravi_id, token = desk
    ws = await connect(client, token)
    await subscribe(ws, "loans.mine", member_id="anyone")
    if where == "here":
        staff = StaffService(runtime.ctx)
        await asyncio.to_thread(END[how], staff, staff.get(admin_id).actor, ravi_id)
    else:
        await run_child(runtime.settings.data_dir, how, admin_id, ravi_id)
    assert await closed_within(ws, 1.0) < 1.0
    refused = await client.ws_connect("/ws")
    await refused.send_json({"type": "auth", "token": token})
    assert (await refused.receive(timeout=5)).data == CLOSE_BAD_TOKEN
