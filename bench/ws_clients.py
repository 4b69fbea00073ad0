"""Websocket clients for bench/ws.py, run in a process of their own.

The benchmark starts this script with ``python bench/ws_clients.py`` and drives it over
stdin/stdout: each command is one JSON line on stdin and gets exactly one JSON line on
stdout. Every connection lives on this process's one event loop.

Commands (``cmd``):

* ``fanout_connect`` {url, token, channel, bare_url, n}: ``n`` authenticated sockets
  subscribed to ``channel`` on our server and ``n`` sockets on the bare server.
* ``await_round`` {kind, round, timeout}: wait until every ``kind`` ("ours" or "bare")
  socket has seen ``round``; answers the arrival times (``time.time()``).
* ``bid_connect`` {url, tokens, channel}: one socket per token, subscribed to the
  auction channel.
* ``bids`` {channel, plan: [[socket index, discount], ...], wave}: send the bids in
  waves of ``wave`` at once, each waiting for its reply; answers each round trip.
* ``close``: close everything and exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import json
import resource
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiohttp

CONNECT_CONCURRENCY = 50
CONNECT_TIMEOUT_S = 30.0
REPLY_TIMEOUT_S = 10.0
DELTA = '"event": "delta"'
ROUND = '"round": '


def raise_fd_limit() -> int:
    """Raise the soft open-files limit to the hard one; returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Arrivals:
    """Arrival times of broadcast rounds, per kind of server."""

    def __init__(self) -> None:
        self.times: dict[tuple[str, int], list[float]] = {}
        self.expected: dict[str, int] = {}
        self.complete: dict[tuple[str, int], asyncio.Event] = {}

    def record(self, kind: str, rnd: int, at: float) -> None:
        key = (kind, rnd)
        times = self.times.setdefault(key, [])
        times.append(at)
        if len(times) >= self.expected.get(kind, 0):
            self._event(key).set()

    def _event(self, key: tuple[str, int]) -> asyncio.Event:
        return self.complete.setdefault(key, asyncio.Event())

    async def wait(self, kind: str, rnd: int, timeout: float) -> list[float]:
        key = (kind, rnd)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event(key).wait(), timeout)
        return self.times.pop(key, [])


class Bidder:
    """One bidder's socket: replies are matched to requests by ``request_id``."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.pending: dict[str, asyncio.Future[tuple[float, dict[str, Any]]]] = {}
        self.deltas = 0

    def on_message(self, at: float, text: str) -> None:
        message = json.loads(text)
        rid = message.get("request_id")
        if rid is not None:
            future = self.pending.pop(str(rid), None)
            if future is not None and not future.done():
                future.set_result((at, message))
        elif message.get("event") == "delta":
            self.deltas += 1

    async def request(self, rid: str, message: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        future: asyncio.Future[tuple[float, dict[str, Any]]] = (
            asyncio.get_running_loop().create_future()
        )
        self.pending[rid] = future
        await self.ws.send_str(json.dumps({**message, "request_id": rid}))
        return await asyncio.wait_for(future, REPLY_TIMEOUT_S)


class Clients:
    """Every socket of this process, and the tasks reading them."""

    def __init__(self) -> None:
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, force_close=True)
        )
        self.sockets: list[aiohttp.ClientWebSocketResponse] = []
        self.readers: list[asyncio.Task[None]] = []
        self.arrivals = Arrivals()
        self.bidders: list[Bidder] = []
        self._ids = itertools.count(1)

    async def _connect(self, url: str) -> aiohttp.ClientWebSocketResponse:
        ws = await self.session.ws_connect(url, timeout=aiohttp.ClientWSTimeout(ws_close=5.0))
        self.sockets.append(ws)
        return ws

    async def _signed_in(
        self, url: str, token: str, channel: str
    ) -> aiohttp.ClientWebSocketResponse:
        """A socket past auth and subscribe, with its snapshot read."""
        ws = await self._connect(url)
        await ws.send_str(json.dumps({"type": "auth", "token": token}))
        _expect(await ws.receive_json(), "ready")
        await ws.send_str(
            json.dumps({"channel": channel, "action": "subscribe", "payload": {}, "request_id": 1})
        )
        _expect(await ws.receive_json(), "ack")
        _expect(await ws.receive_json(), "snapshot")
        return ws

    def _read(
        self, ws: aiohttp.ClientWebSocketResponse, on_text: Callable[[float, str], None]
    ) -> None:
        async def loop() -> None:
            async for msg in ws:
                at = time.time()
                if msg.type == aiohttp.WSMsgType.TEXT:
                    on_text(at, msg.data)

        self.readers.append(asyncio.create_task(loop()))

    def _ours(self, at: float, text: str) -> None:
        if DELTA in text:
            self.arrivals.record("ours", _round_of(text), at)

    def _bare(self, at: float, text: str) -> None:
        self.arrivals.record("bare", _round_of(text), at)

    async def fanout_connect(self, cmd: dict[str, Any]) -> dict[str, Any]:
        n = int(cmd["n"])
        started = time.perf_counter()

        async def ours() -> None:
            ws = await self._signed_in(cmd["url"], cmd["token"], cmd["channel"])
            self._read(ws, self._ours)

        async def bare() -> None:
            self._read(await self._connect(cmd["bare_url"]), self._bare)

        await _bounded([ours for _ in range(n)] + [bare for _ in range(n)])
        self.arrivals.expected = {"ours": n, "bare": n}
        gc.collect()
        gc.freeze()  # the sockets live to the end: keep them out of collections
        return {"connected": 2 * n, "seconds": round(time.perf_counter() - started, 2)}

    async def await_round(self, cmd: dict[str, Any]) -> dict[str, Any]:
        times = await self.arrivals.wait(cmd["kind"], int(cmd["round"]), float(cmd["timeout"]))
        return {"arrivals": times}

    async def bid_connect(self, cmd: dict[str, Any]) -> dict[str, Any]:
        started = time.perf_counter()

        def opener(token: str) -> Callable[[], Awaitable[None]]:
            async def open_one() -> None:
                bidder = Bidder(await self._signed_in(cmd["url"], token, cmd["channel"]))
                self.bidders.append(bidder)
                self._read(bidder.ws, bidder.on_message)

            return open_one

        await _bounded([opener(t) for t in cmd["tokens"]])
        return {"connected": len(self.bidders), "seconds": round(time.perf_counter() - started, 2)}

    async def bids(self, cmd: dict[str, Any]) -> dict[str, Any]:
        plan: list[list[int]] = cmd["plan"]
        wave = max(1, int(cmd["wave"]))
        results: list[dict[str, Any]] = []
        for start in range(0, len(plan), wave):
            chunk = plan[start : start + wave]
            results += await asyncio.gather(*(self._bid(cmd["channel"], i, d) for i, d in chunk))
        return {"results": results}

    async def _bid(self, channel: str, index: int, discount: int) -> dict[str, Any]:
        bidder = self.bidders[index]
        rid = f"b{next(self._ids)}"
        message = {"channel": channel, "action": "bid", "payload": {"discount": discount}}
        sent = time.perf_counter()
        try:
            _, reply = await bidder.request(rid, message)
        except TimeoutError:
            return {"rtt_ms": None, "event": "timeout", "code": None}
        rtt = (time.perf_counter() - sent) * 1000
        code = reply["payload"].get("code") if reply.get("event") == "error" else None
        return {"rtt_ms": rtt, "event": reply.get("event"), "code": code}

    async def close(self) -> dict[str, Any]:
        deltas = sum(b.deltas for b in self.bidders)
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)
        for task in self.readers:
            task.cancel()
        await asyncio.gather(*self.readers, return_exceptions=True)
        await self.session.close()
        return {"closed": len(self.sockets), "bid_deltas_seen": deltas}


def _round_of(text: str) -> int:
    """Both servers send the same delta envelope; its document carries the round. Read
    without a JSON parse, to keep this process's share of the latency small."""
    start = text.index(ROUND) + len(ROUND)
    end = start
    while text[end].isdigit():
        end += 1
    return int(text[start:end])


def _expect(message: Any, event: str) -> None:
    if not isinstance(message, dict) or message.get("event") != event:
        raise RuntimeError(f"expected {event!r}, got {message!r:.300}")


async def _bounded(openers: Sequence[Callable[[], Awaitable[None]]]) -> None:
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(opener: Callable[[], Awaitable[None]]) -> None:
        async with gate:
            await asyncio.wait_for(opener(), CONNECT_TIMEOUT_S)

    await asyncio.gather(*(one(o) for o in openers))


async def _stdin() -> asyncio.StreamReader:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


def _reply(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def serve() -> None:
    clients = Clients()
    commands: dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]] = {
        "fanout_connect": clients.fanout_connect,
        "await_round": clients.await_round,
        "bid_connect": clients.bid_connect,
        "bids": clients.bids,
    }
    reader = await _stdin()
    _reply({"ready": True, "fd_limit": raise_fd_limit()})
    while line := await reader.readline():
        cmd = json.loads(line)
        if cmd["cmd"] == "close":
            _reply(await clients.close())
            return
        try:
            _reply(await commands[cmd["cmd"]](cmd))
        except Exception as exc:  # reported to the driver, which stops the run
            _reply({"error": f"{type(exc).__name__}: {exc}"})
    await clients.close()


if __name__ == "__main__":
    asyncio.run(serve())
