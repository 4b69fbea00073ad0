"""Two offices on one Firestore project: two real servers, each on its own data
directory, one emulator project, members on websockets and HTTP.

* a member bids through server A, and a member on server B sees it live;
* 40 loan applications at once through both servers land on one unbroken chain;
* a server killed (SIGKILL) in the middle of commits loses no acknowledged change, the
  chain verifies and the other server carries on;
* the auction session's lease passes to the other office when its holder dies.

The servers are ``tfos serve``; where an office must also act as staff (open an
auction), it is ``tests/office_child.py``: the same runtime and server, plus the staff
commands the desktop would send.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from app import bootstrap, config
from app.bootstrap import Runtime
from app.kernel.wal import verify_file
from app.services.auctions import rules
from app.services.sms import OUTBOX_NAME
from app.services.staff import StaffService
from tests.browser.world import PHONES, STAFF, World, populate
from tests.cli import tfos
from tests.offices import give_key, new_key
from tests.server.conftest import sent_code

pytestmark = pytest.mark.firestore

ROOT = Path(__file__).resolve().parents[1]
LEASE_SECONDS = 3
JSON = {"Content-Type": "application/json"}


class Server:
    """A server process on its own data directory of the shared project."""

    def __init__(self, data_dir: Path, project: str, key: bytes, *, desk: bool = False) -> None:
        self.data_dir = give_key(data_dir, key)
        flags = [
            "--data-dir", str(data_dir), "--store-backend", "firestore",
            "--firestore-project", project, "--port", "0",
            "--lease-seconds", str(LEASE_SECONDS), "--log-level", "WARNING",
        ]  # fmt: skip
        program = [str(ROOT / "tests" / "office_child.py")] if desk else ["-m", "app.cli", "serve"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("TFOS_")}
        env["PYTHONPATH"] = str(ROOT)
        self.log = (data_dir.parent / f"{data_dir.name}.log").open("w")
        self.proc = subprocess.Popen(
            [sys.executable, *program, *flags],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env=env,
            cwd=ROOT,
        )
        line = self.read_line(60)
        assert "serving on" in line, f"the server did not start: {line!r}"
        self.url = line.split()[-1]

    def read_line(self, timeout: float = 30) -> str:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        assert ready, f"no answer from the server within {timeout} s"
        return self.proc.stdout.readline().strip()

    def say(self, line: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer: dict[str, Any] = json.loads(self.read_line())
        return answer

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


class Offices:
    """The project, its key, a desk runtime in this process and the servers started."""

    def __init__(self, project: str, tmp_path: Path) -> None:
        self.project, self.tmp_path, self.key = project, tmp_path, new_key()
        self.servers: list[Server] = []
        settings = config.load(
            environ={},
            data_dir=give_key(tmp_path / "desk", self.key),
            store_backend="firestore",
            firestore_project=project,
            lease_seconds=LEASE_SECONDS,
        )
        self.desk: Runtime = bootstrap.build(settings)

    def server(self, name: str, *, desk: bool = False) -> Server:
        started = Server(self.tmp_path / name, self.project, self.key, desk=desk)
        self.servers.append(started)
        return started

    def close(self) -> None:
        for server in self.servers:
            server.stop()
        self.desk.close()


@pytest.fixture
def offices(firestore_project: str, tmp_path: Path) -> Iterator[Offices]:
    opened = Offices(firestore_project, tmp_path)
    yield opened
    opened.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """Scripts' requests: Bearer tokens and no cookies, as the API takes them."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        yield session


async def sign_in(http: aiohttp.ClientSession, server: Server, phone: str) -> str:
    """A member's session token, signed in through ``server`` with the texted code."""
    async with http.post(f"{server.url}/api/otp/request", json={"phone": phone}) as reply:
        assert reply.status == 200, await reply.text()
    code = await asyncio.to_thread(sent_code, server.data_dir / OUTBOX_NAME, phone)
    body = {"phone": phone, "code": code}
    async with http.post(f"{server.url}/api/otp/verify", json=body) as reply:
        assert reply.status == 200, await reply.text()
        return reply.cookies["tfos_session"].value


async def socket(http: aiohttp.ClientSession, server: Server, token: str) -> Any:
    ws = await http.ws_connect(f"{server.url}/ws")
    await ws.send_json({"type": "auth", "token": token})
    assert (await ws.receive_json(timeout=10))["event"] == "ready"
    return ws


async def call(ws: Any, channel: str, action: str, **payload: Any) -> dict[str, Any]:
    request_id = f"{action}-{time.monotonic_ns()}"
    await ws.send_json(
        {"channel": channel, "action": action, "payload": payload, "request_id": request_id}
    )
    while True:
        message: dict[str, Any] = await ws.receive_json(timeout=10)
        if message.get("request_id") == request_id:
            return message


async def next_delta(ws: Any, channel: str) -> tuple[float, dict[str, Any]]:
    while True:
        message = await ws.receive_json(timeout=10)
        if message["channel"] == channel and message["event"] == "delta":
            return time.monotonic(), message


def verify_project(data_dir: Path, project: str) -> dict[str, Any]:
    done = tfos(data_dir, "wal", "verify", "--store-backend", "firestore",
                "--firestore-project", project)  # fmt: skip
    report: dict[str, Any] = json.loads(done.stdout)
    assert done.returncode == (0 if report["ok"] else 1), done.stderr
    return report


def floor_bid(desk: Runtime, world: World) -> int:
    return rules.discount_floor(desk.services.groups.get_group(world.group_id).agreement)


# -- a bid, live across servers ------------------------------------------------------------


async def test_a_bid_through_one_server_is_seen_live_through_the_other(
    offices: Offices, http: aiohttp.ClientSession
) -> None:
    world = populate(offices.desk)
    # the desk (this process) holds the session's lease
    auction = offices.desk.services.auctions.open_auction(STAFF, world.group_id, 1)
    a, b = offices.server("a"), offices.server("b")
    asha = await socket(http, a, await sign_in(http, a, PHONES[0]))
    bala = await socket(http, b, await sign_in(http, b, PHONES[1]))
    channel = f"auction.{auction.id}"
    for ws in (asha, bala):
        assert (await call(ws, channel, "subscribe"))["event"] == "ack"
    sent = time.monotonic()
    reply = await call(asha, channel, "bid", discount=floor_bid(offices.desk, world))
    assert reply["event"] == "ack", reply
    seen, delta = await next_delta(bala, channel)
    [change] = delta["payload"]
    assert change["kind"] == "added" and change["data"]["alias"] == reply["payload"]["alias"]
    print(f"bid through A seen through B after {(seen - sent) * 1000:.0f} ms")
    assert seen - sent < 1.0
    await asha.close()
    await bala.close()


# -- many applications, one chain --------------------------------------------------------------


def staff_token(desk: Runtime) -> str:
    staff = StaffService(desk.ctx)
    staff.create_first_admin("Anil Admin", "anil", "correct horse battery")
    return staff.sign_in("anil", "correct horse battery").token


async def apply(
    http: aiohttp.ClientSession, server: Server, token: str, member_id: str, n: int
) -> str:
    body = {"member_id": member_id, "amount": "25000", "tenure": "12", "purpose": f"stock {n}"}
    headers = {"Authorization": f"Bearer {token}", **JSON}
    async with http.post(f"{server.url}/api/loans", json=body, headers=headers) as reply:
        assert reply.status == 201, await reply.text()
        return str((await reply.json())["loan_id"])


async def test_40_applications_through_both_servers_make_one_chain(
    offices: Offices, http: aiohttp.ClientSession
) -> None:
    world = populate(offices.desk)
    token = staff_token(offices.desk)  # sessions live in the store: both servers know it
    a, b = offices.server("a"), offices.server("b")
    applied = await asyncio.gather(
        *(apply(http, (a, b)[n % 2], token, world.members[n % 3], n) for n in range(40))
    )
    assert len(set(applied)) == 40
    loans = offices.desk.services.loans
    assert all(loans.get(loan_id) is not None for loan_id in applied)
    report = verify_project(a.data_dir, offices.project)
    assert report["ok"] and report["broken"] == []
    records = [r for r in offices.desk.pipeline.read(1) if r.action == "loan.apply"]
    assert sorted(r.entity["id"] for r in records) == sorted(applied)
    for server in (a, b):
        assert verify_file(server.data_dir / "wal" / "wal.log").ok


# -- a server killed mid-commit ------------------------------------------------------------------


async def test_a_server_killed_mid_commit_loses_no_acknowledged_change(
    offices: Offices, http: aiohttp.ClientSession
) -> None:
    world = populate(offices.desk)
    token = staff_token(offices.desk)
    a, b = offices.server("a"), offices.server("b")
    acknowledged: list[str] = []

    async def keep_applying(server: Server, n: int) -> None:
        # cut off by the kill: not acknowledged
        with contextlib.suppress(TimeoutError, aiohttp.ClientError, AssertionError):
            acknowledged.append(await apply(http, server, token, world.members[n % 3], n))

    tasks = [asyncio.create_task(keep_applying(a, n)) for n in range(60)]
    while len(acknowledged) < 10:
        await asyncio.sleep(0.01)
    a.kill()  # SIGKILL, with applications still in flight
    killed_at = len(acknowledged)
    await asyncio.gather(*tasks)
    print(f"{killed_at} acknowledged when killed, {60 - len(acknowledged)} cut off")
    assert len(acknowledged) < 60, "the kill came after every application was done"
    survivor = [await apply(http, b, token, world.members[0], 100 + n) for n in range(5)]
    loans = offices.desk.services.loans
    missing = [loan_id for loan_id in acknowledged + survivor if loans.get(loan_id) is None]
    assert missing == [] and len(acknowledged) >= 10
    report = verify_project(b.data_dir, offices.project)
    assert report["ok"] and report["mirror"]["agrees"]
    restarted = offices.server("a")  # the killed office's data directory starts again
    assert restarted.url
    assert verify_project(a.data_dir, offices.project)["mirror"]["agrees"]


# -- the auction lease --------------------------------------------------------------------------


async def test_the_auction_lease_passes_to_the_other_office_when_its_holder_dies(
    offices: Offices, http: aiohttp.ClientSession
) -> None:
    world = populate(offices.desk)
    a, b = offices.server("a", desk=True), offices.server("b", desk=True)
    opened = a.say(f"open-auction {world.group_id} 1")
    channel = f"auction.{opened['auction_id']}"
    bala = await socket(http, b, await sign_in(http, b, PHONES[1]))
    await call(bala, channel, "subscribe")
    floor = floor_bid(offices.desk, world)
    assert (await call(bala, channel, "bid", discount=floor))["event"] == "ack"
    refused = b.say(f"open-auction {world.group_id} 1")
    assert "already open" in refused["error"] and f"pid {a.proc.pid}" in refused["error"]
    a.kill()
    deadline = time.monotonic() + LEASE_SECONDS + 10
    while offices.desk.services.auctions.session_holder(world.group_id) is not None:
        assert time.monotonic() < deadline, "the dead holder's lease never expired"
        await asyncio.sleep(0.2)
    step = offices.desk.services.groups.get_group(world.group_id).agreement.bid_step_paise
    late = await call(bala, channel, "bid", discount=floor + step)
    assert late["event"] == "error" and "not running" in late["payload"]["message"]
    resumed = b.say(f"open-auction {world.group_id} 1")
    assert resumed == {"auction_id": opened["auction_id"], "bids": 1}
    holder = offices.desk.services.auctions.session_holder(world.group_id) or ""
    assert f"pid {b.proc.pid}" in holder
    assert (await call(bala, channel, "bid", discount=floor + step))["event"] == "ack"
    await bala.close()
