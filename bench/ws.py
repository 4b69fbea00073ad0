"""Websocket benchmark: store-change fanout and auction bid round trips.

Run from the repository root::

    PYTHONPATH=. python bench/ws.py [--quick] [--profile FILE]

The server (``create_app`` over a real runtime: SQLite store, WAL, fsync) runs in this
process on 127.0.0.1, port 0. The clients run in another process
(``bench/ws_clients.py``), driven over its stdin/stdout.

(1) Fanout. ``clients`` authenticated sockets subscribe to ``bench.ticker`` (a channel
    registered here over the ``bench_ticks`` collection). Each round commits one change
    through the pipeline; each client notes when the delta arrives. Latency = arrival -
    the moment the commit was acknowledged (``time.time()`` on both sides; the figure
    from the commit call, WAL fsync included, is given too). Beside it, in alternating
    rounds, a bare aiohttp broadcast server (a set of sockets and a ``send_str`` loop)
    sends the same envelope to as many sockets of the same client process; its latency
    is arrival - trigger. ratio = our p99 / bare p99. Latencies include the client
    process reading every socket, and other load on the machine; the event loop's own
    CPU time per round (``*_loop_cpu_ms_p50``) is the steadier server-side comparison.
(2) Bids. ``bidders`` members of one running group, each on its own socket subscribed
    to ``auction.<id>``, bid through the ``bid`` action and wait for the ack. First one
    at a time (each bid floor + k * step, so all are valid), then in waves sent at once
    with rising amounts (lower ones can lose the race: counted as refusals).

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import resource
import shutil
import string
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from app import config
from app.bootstrap import Runtime, build
from app.services.actors import SYSTEM, Actor
from app.services.auctions import rules
from app.services.context import FixedClock
from app.services.feeds import Feed
from app.services.members import Member
from app.services.pipeline import ChangeSet
from app.services.store import Query, Write
from server.app import bound_port, create_app, start
from server.ws import ChannelSpec, HubOptions, envelope

HERE = Path(__file__).resolve().parent
EMPLOYEE = Actor("staff-bench", "Bench Employee", "employee")
CHECKER = Actor("staff-bench-2", "Bench Checker", "employee")
TICKER = "bench.ticker"
TICKS = "bench_ticks"
NOTE = "x" * 160
ROUND_TIMEOUT_S = 5.0
BID_WAVE = 10


@dataclass(frozen=True)
class Plan:
    clients: int
    rounds: int
    bidders: int
    quick: bool


FULL = Plan(clients=1000, rounds=30, bidders=200, quick=False)
QUICK = Plan(clients=300, rounds=16, bidders=50, quick=True)


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def pct(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100) in the values' own unit."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 2)


# -- the client process ---------------------------------------------------------------


class ClientProcess:
    """bench/ws_clients.py in its own interpreter; one JSON line per command and reply."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls) -> ClientProcess:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(HERE / "ws_clients.py"),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=1 << 24,
        )
        client = cls(proc)
        await client._read()
        return client

    async def call(self, cmd: str, **args: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps({"cmd": cmd, **args}) + "\n").encode())
        await self.proc.stdin.drain()
        reply = await self._read()
        if "error" in reply:
            raise RuntimeError(f"client process: {cmd} failed: {reply['error']}")
        return reply

    async def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), 120)
        if not line:
            raise RuntimeError("the client process exited")
        reply: dict[str, Any] = json.loads(line)
        return reply

    async def stop(self) -> dict[str, Any]:
        try:
            return await asyncio.wait_for(self.call("close"), 30)
        finally:
            if self.proc.returncode is None:
                self.proc.kill()
            await self.proc.wait()


# -- the bare broadcast server --------------------------------------------------------


class Bare:
    """The baseline: a set of sockets and a send_str loop, nothing else."""

    def __init__(self) -> None:
        self.sockets: set[web.WebSocketResponse] = set()
        self.app = web.Application()
        self.app.router.add_get("/ws", self.handler)

    async def handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.add(ws)
        try:
            async for _ in ws:
                pass
        finally:
            self.sockets.discard(ws)
        return ws

    async def broadcast(self, text: str) -> None:
        for ws in list(self.sockets):
            await ws.send_str(text)


# -- setup ----------------------------------------------------------------------------


class CapturedSms:
    """Keeps the sign-in codes this benchmark asks for (the SMS boundary). Codes are
    sent from the OTP service's background threads: :meth:`code` waits for one."""

    def __init__(self) -> None:
        self.codes: dict[str, str] = {}
        self._arrived = threading.Condition()

    def send(self, to: str, text: str) -> None:
        with self._arrived:
            self.codes[to] = text.split()[0]
            self._arrived.notify_all()

    def code(self, to: str, timeout: float = 30.0) -> str:
        with self._arrived:
            if not self._arrived.wait_for(lambda: to in self.codes, timeout):
                raise TimeoutError(f"no sign-in code reached {to} in {timeout} s")
            return self.codes[to]


def ticker_feed(actor: Actor, channel: str, payload: dict[str, Any]) -> Feed:
    return Feed(Query(TICKS))


TICKER_SPEC = ChannelSpec(TICKER, frozenset({"member", "employee", "admin"}), feed=ticker_feed)


def tick(runtime: Runtime, rnd: int) -> None:
    data = {"round": rnd, "at": datetime.now(UTC).isoformat(), "note": NOTE}
    write = Write("set", TICKS, "tick", data)
    runtime.pipeline.commit(SYSTEM, ChangeSet("bench.tick", "bench", "tick", [write]))


def bare_message(rnd: int) -> str:
    """The same envelope our hub sends for a tick."""
    data = {"round": rnd, "at": datetime.now(UTC).isoformat(), "note": NOTE}
    item = {"kind": "modified", "id": "tick", "version": rnd + 1, "data": data}
    return envelope(TICKER, "delta", [item])


def staff_token(runtime: Runtime) -> str:
    staff = runtime.services.staff
    password = "wide ocean copper lantern 42"
    staff.create_first_admin("Bench Admin", "bench", password)
    return staff.sign_in("bench", password).token


def letters(i: int) -> str:
    """A name-safe spelling of ``i`` (names take letters only)."""
    out = ""
    for _ in range(3):
        i, r = divmod(i, 26)
        out = string.ascii_lowercase[r] + out
    return out.capitalize()


@dataclass
class Room:
    auction_id: str
    floor: int
    step: int
    tokens: list[str]


def auction_room(runtime: Runtime, bidders: int) -> Room:
    """``bidders`` enrolled members, a full running group, its period-1 auction open,
    and a signed-in session for each member (real OTP codes, real services)."""
    services = runtime.services
    phones = [f"+91{9_000_000_000 + i}" for i in range(bidders)]

    def enroll(index_phone: tuple[int, str]) -> Member:
        index, phone = index_phone
        return services.members.enroll(EMPLOYEE, f"Bidder {letters(index)}", phone)

    with ThreadPoolExecutor(8) as pool:
        members = list(pool.map(enroll, enumerate(phones)))
    group = services.groups.create_group(
        EMPLOYEE,
        "Bench Chit",
        gross_paise=bidders * 1_000_000,
        members=bidders,
        start_date=services.clock.today(),
        registration_no="TN/CHIT/BENCH/0001",
    )
    services.groups.approve_terms(CHECKER, group.id)
    for member in members:
        services.groups.enroll(EMPLOYEE, group.id, member.id)
    services.groups.start(EMPLOYEE, group.id)
    auction = services.auctions.open_auction(EMPLOYEE, group.id, 1, duration_s=3600)
    otp = services.otp
    sms = otp.sender
    assert isinstance(sms, CapturedSms)

    def sign_in(index_phone: tuple[int, str]) -> str:
        index, phone = index_phone
        address = f"10.9.{index // 200}.{index % 200}"
        otp.request_code(phone, address)
        return otp.verify(phone, sms.code(phone), address).token

    with ThreadPoolExecutor(8) as pool:
        tokens = list(pool.map(sign_in, enumerate(phones)))
    agreement = services.groups.get_group(group.id).agreement
    return Room(auction.id, rules.discount_floor(agreement), agreement.bid_step_paise, tokens)


# -- (1) fanout -----------------------------------------------------------------------


@dataclass
class Series:
    """One server's figures over the rounds (seconds)."""

    latencies: list[float] = field(default_factory=list)
    round_max: list[float] = field(default_factory=list)
    loop_cpu: list[float] = field(default_factory=list)
    missing: int = 0

    def add(self, arrivals: list[float], start: float, cpu: float, expected: int) -> None:
        late = [a - start for a in arrivals]
        self.latencies += late
        self.round_max.append(max(late, default=0.0))
        self.loop_cpu.append(cpu)
        self.missing += expected - len(arrivals)


class Fanout:
    """Alternating rounds: a store change to our subscribers, the same envelope from the
    bare server. Loop CPU is the event-loop thread's CPU time over the round (what the
    other processes on the machine cannot inflate)."""

    def __init__(
        self,
        runtime: Runtime,
        bare: Bare,
        client: ClientProcess,
        plan: Plan,
        profile: cProfile.Profile | None,
    ) -> None:
        self.runtime, self.bare, self.client, self.plan = runtime, bare, client, plan
        self.profile = profile
        self.ours, self.theirs, self.from_call = Series(), Series(), Series()
        self.commit_s: list[float] = []

    async def run(self) -> dict[str, Any]:
        for rnd in range(self.plan.rounds + 1):  # round 0 warms both paths up
            first, second = (self.round_ours, self.round_bare)[:: 1 if rnd % 2 else -1]
            await asyncio.sleep(0.05)
            await first(rnd)
            await asyncio.sleep(0.05)
            await second(rnd)
        return self.figures()

    async def round_ours(self, rnd: int) -> None:
        if self.profile is not None:
            self.profile.enable()
        cpu, called = time.thread_time(), time.time()
        await asyncio.to_thread(tick, self.runtime, rnd)
        acked = time.time()
        arrivals = await _arrivals(self.client, "ours", rnd)
        cpu = time.thread_time() - cpu
        if self.profile is not None:
            self.profile.disable()
        if rnd:
            self.commit_s.append(acked - called)
            self.ours.add(arrivals, acked, cpu, self.plan.clients)
            self.from_call.add(arrivals, called, cpu, self.plan.clients)

    async def round_bare(self, rnd: int) -> None:
        text = bare_message(rnd)
        cpu, sent = time.thread_time(), time.time()
        await self.bare.broadcast(text)
        arrivals = await _arrivals(self.client, "bare", rnd)
        cpu = time.thread_time() - cpu
        if rnd:
            self.theirs.add(arrivals, sent, cpu, self.plan.clients)

    def figures(self) -> dict[str, Any]:
        ours, theirs = self.ours, self.theirs
        p99, bare_p99 = pct(ours.latencies, 99), pct(theirs.latencies, 99)
        cpu, bare_cpu = pct(ours.loop_cpu, 50), pct(theirs.loop_cpu, 50)
        return {
            "fanout_p50_ms": ms(pct(ours.latencies, 50)),
            "fanout_p99_ms": ms(p99),
            "fanout_max_ms": ms(max(ours.latencies, default=None)),
            "fanout_from_commit_call_p99_ms": ms(pct(self.from_call.latencies, 99)),
            "commit_ms_p50": ms(pct(self.commit_s, 50)),
            "bare_p50_ms": ms(pct(theirs.latencies, 50)),
            "bare_p99_ms": ms(bare_p99),
            "fanout_ratio_vs_bare": _ratio(p99, bare_p99),
            "fanout_round_max_ratio_median": _ratio(
                pct(ours.round_max, 50), pct(theirs.round_max, 50)
            ),
            "fanout_loop_cpu_ms_p50": ms(cpu),
            "bare_loop_cpu_ms_p50": ms(bare_cpu),
            "fanout_loop_cpu_ratio": _ratio(cpu, bare_cpu),
            "fanout_deliveries": len(ours.latencies),
            "fanout_missing": ours.missing,
            "bare_deliveries": len(theirs.latencies),
            "bare_missing": theirs.missing,
            "fanout_round_max_ms": [ms(v) for v in ours.round_max],
            "bare_round_max_ms": [ms(v) for v in theirs.round_max],
        }


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


async def _arrivals(client: ClientProcess, kind: str, rnd: int) -> list[float]:
    reply = await client.call("await_round", kind=kind, round=rnd, timeout=ROUND_TIMEOUT_S)
    return [float(a) for a in reply["arrivals"]]


# -- (2) bids -------------------------------------------------------------------------


async def bids(client: ClientProcess, url: str, room: Room) -> dict[str, Any]:
    channel = f"auction.{room.auction_id}"
    connected = await client.call("bid_connect", url=url, tokens=room.tokens, channel=channel)
    n = len(room.tokens)
    one_by_one = [[i, room.floor + i * room.step] for i in range(n)]
    in_waves = [[i, room.floor + (n + i) * room.step] for i in range(n)]
    seq = (await client.call("bids", channel=channel, plan=one_by_one, wave=1))["results"]
    waves = (await client.call("bids", channel=channel, plan=in_waves, wave=BID_WAVE))["results"]
    seq_rtt = [r["rtt_ms"] for r in seq if r["event"] == "ack"]
    wave_rtt = [r["rtt_ms"] for r in waves if r["rtt_ms"] is not None]
    return {
        "bid_action": f"{channel} bid (server/channels.py)",
        "bidders_connect_s": connected["seconds"],
        "bid_rtt_p50_ms": _round2(pct(seq_rtt, 50)),
        "bid_rtt_p99_ms": _round2(pct(seq_rtt, 99)),
        "bid_rtt_max_ms": _round2(max(seq_rtt, default=None)),
        "bids_accepted": len(seq_rtt),
        "bids_refused": _refusals(seq),
        "bid_wave_size": BID_WAVE,
        "bid_wave_rtt_p50_ms": _round2(pct(wave_rtt, 50)),
        "bid_wave_rtt_p99_ms": _round2(pct(wave_rtt, 99)),
        "bid_wave_accepted": sum(1 for r in waves if r["event"] == "ack"),
        "bid_wave_refused": _refusals(waves),
    }


def _refusals(results: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in results:
        if r["event"] != "ack":
            key = r["code"] or r["event"]
            counts[key] = counts.get(key, 0) + 1
    return counts


def _round2(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


# -- the run --------------------------------------------------------------------------


async def run(plan: Plan, data_dir: Path, profile: cProfile.Profile | None) -> dict[str, Any]:
    started = time.perf_counter()
    settings = config.load(environ={}, data_dir=data_dir)
    runtime = build(settings, clock=FixedClock(datetime.now(UTC)), sender=CapturedSms())
    try:
        token = await asyncio.to_thread(staff_token, runtime)
        await asyncio.to_thread(tick, runtime, 0)
        room = await asyncio.to_thread(auction_room, runtime, plan.bidders)
        setup_s = time.perf_counter() - started
        options = HubOptions(rate=10_000.0, burst=10_000.0)
        app = create_app(runtime.services, settings, hub_options=options, channels=[TICKER_SPEC])
        bare = Bare()
        runner = await start(app, "127.0.0.1", 0)
        bare_runner = await start(bare.app, "127.0.0.1", 0)
        try:
            url = f"http://127.0.0.1:{bound_port(runner)}/ws"
            bare_url = f"http://127.0.0.1:{bound_port(bare_runner)}/ws"
            client = await ClientProcess.start()
            try:
                connected = await client.call(
                    "fanout_connect",
                    url=url,
                    token=token,
                    channel=TICKER,
                    bare_url=bare_url,
                    n=plan.clients,
                )
                figures = await Fanout(runtime, bare, client, plan, profile).run()
                figures |= await bids(client, url, room)
            finally:
                closed = await client.stop()
        finally:
            await runner.cleanup()
            await bare_runner.cleanup()
    finally:
        runtime.close()
    return {
        **figures,
        "clients": plan.clients,
        "rounds": plan.rounds,
        "bidders": plan.bidders,
        "connect_s": connected["seconds"],
        "bid_deltas_seen": closed.get("bid_deltas_seen"),
        "setup_s": round(setup_s, 2),
        "total_s": round(time.perf_counter() - started, 2),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 clients, 50 bidders")
    parser.add_argument("--profile", type=Path, help="write a cProfile of our fanout rounds")
    parser.add_argument("--dir", type=Path, help="data directory (default: a fresh temp dir)")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    fd_limit = raise_fd_limit()
    data_dir = args.dir or Path(tempfile.mkdtemp(prefix="tfos-bench-ws-"))
    profile = cProfile.Profile() if args.profile else None
    try:
        result = asyncio.run(run(plan, data_dir / "data", profile))
    finally:
        if args.dir is None:
            shutil.rmtree(data_dir, ignore_errors=True)
    if profile is not None:
        profile.dump_stats(args.profile)
    result |= {"quick": plan.quick, "fd_limit": fd_limit}
    if plan.quick:
        result["note"] = (
            f"--quick: {plan.clients} clients, {plan.rounds} rounds, {plan.bidders} bidders "
            "(full run: 1000 clients, 200 bidders)"
        )
    _print_summary(result)
    print(json.dumps(result))


def _print_summary(r: dict[str, Any]) -> None:
    print(
        f"fanout to {r['clients']} clients x {r['rounds']} rounds: "
        f"ours p50 {r['fanout_p50_ms']} ms p99 {r['fanout_p99_ms']} ms "
        f"(from the commit call: p99 {r['fanout_from_commit_call_p99_ms']} ms); "
        f"bare p50 {r['bare_p50_ms']} ms p99 {r['bare_p99_ms']} ms; "
        f"ratio {r['fanout_ratio_vs_bare']}"
    )
    print(
        f"bids by {r['bidders']} bidders, one at a time: p50 {r['bid_rtt_p50_ms']} ms "
        f"p99 {r['bid_rtt_p99_ms']} ms, accepted {r['bids_accepted']}, refused "
        f"{r['bids_refused']}; in waves of {r['bid_wave_size']}: p99 "
        f"{r['bid_wave_rtt_p99_ms']} ms, refused {r['bid_wave_refused']}"
    )


if __name__ == "__main__":
    main()
