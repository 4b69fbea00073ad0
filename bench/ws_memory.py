"""Websocket server memory: does it come back after 1,000 clients leave?

Run from the repository root::

    PYTHONPATH=. python bench/ws_memory.py [--quick] [--clients N] [--cycles K]

The server (``create_app`` over a real runtime) runs in this process; the clients run in
another process (``bench/ws_clients.py``), so only the server's memory is measured.
Each client is a different member with their own session (real OTP sign-in) and
subscribes to ``loans.mine``, so each has its own topic and session watch (the most
store listeners per client).

A warm-up cycle of a few clients first pays for one-time allocations (imports, caches,
interned strings). Then ``cycles`` times: ``clients`` connect and subscribe, all leave,
and once the hub holds no connection, topic or watch, ``gc.collect()`` runs. After each
cycle the process's RSS is read as it is, then again after glibc's ``malloc_trim(0)``
(which hands free heap pages back to the system):

* the *retained* figure (RSS before trimming) is what ``ps`` shows;
* the *trimmed* figure tells our objects from the allocator's kept pages: memory we
  still reference cannot be trimmed away.

Beside them: ``sys.getallocatedblocks()`` (Python objects alive), the live instances of
the hub's classes, and the store's listener count. A last cycle runs under
``tracemalloc`` and lists the biggest differences between before and after it (by
line): a leak of ours shows up there; allocator retention does not.

The last line printed is one JSON object with every figure (ratios are against the
baseline measured after the warm-up, in the same run).
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import json
import os
import re
import shutil
import sys
import tempfile
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil
from ws import EMPLOYEE, CapturedSms, ClientProcess, letters, raise_fd_limit

from app import config
from app.bootstrap import Runtime, build
from server.app import HUB, bound_port, create_app, start
from server.ws import Connection, Hub, HubOptions, Topic
from server.ws_sessions import SessionWatch

MB = 1024 * 1024
CHANNEL = "loans.mine"
WARM_UP = 20
_LIBC = ctypes.CDLL("libc.so.6")
_SQLITE = ctypes.CDLL("libsqlite3.so.0")
_SQLITE.sqlite3_memory_used.restype = ctypes.c_int64


class MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


_LIBC.mallinfo2.restype = MallInfo2


def mb(n: float) -> float:
    return round(n / MB, 1)


def rss_mb() -> float:
    return mb(psutil.Process().memory_info().rss)


def trimmed_rss_mb() -> float:
    _LIBC.malloc_trim(0)
    return rss_mb()


def pymalloc_mb() -> tuple[float, float]:
    """(MiB held in pymalloc arenas, MiB of live objects in them), from CPython's own
    allocator statistics (``sys._debugmallocstats``, which writes to fd 2)."""
    with tempfile.TemporaryFile("w+") as out:
        saved = os.dup(2)
        sys.stderr.flush()
        os.dup2(out.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        text = out.read()
    arenas = re.search(r"(\d+) arenas \* (\d+) bytes/arena", text)
    used = re.search(r"# bytes in allocated blocks\s*=\s*([\d,]+)", text)
    assert arenas and used, "unexpected sys._debugmallocstats output"
    held = int(arenas.group(1)) * int(arenas.group(2))
    return mb(held), mb(int(used.group(1).replace(",", "")))


def native_mb() -> dict[str, float]:
    """glibc's heap (in use, free but kept) and SQLite's own allocations."""
    info = _LIBC.mallinfo2()
    return {
        "glibc_in_use_mb": mb(info.uordblks),
        "glibc_free_mb": mb(info.fordblks),
        "sqlite_mb": mb(_SQLITE.sqlite3_memory_used()),
    }


def sign_in_members(runtime: Runtime, count: int) -> list[str]:
    """``count`` enrolled members, each signed in by a real code: their session tokens."""
    services = runtime.services
    otp = services.otp
    sms = otp.sender
    assert isinstance(sms, CapturedSms)

    def one(index: int) -> str:
        phone = f"+91{9_100_000_000 + index}"
        services.members.enroll(EMPLOYEE, f"Member {letters(index)}", phone)
        address = f"10.8.{index // 200}.{index % 200}"
        otp.request_code(phone, address)
        return otp.verify(phone, sms.code(phone), address).token

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(count)))


def live(kind: type) -> int:
    return sum(1 for o in gc.get_objects() if type(o) is kind)


def listeners(runtime: Runtime) -> int:
    dispatcher = getattr(runtime.store, "_dispatcher", None)
    return len(getattr(dispatcher, "_subs", ()))


async def cycle(hub: Hub, url: str, tokens: list[str]) -> tuple[float, float]:
    """Connect ``tokens`` clients, subscribe, leave: the seconds it took to connect, and
    the RSS while all were connected and subscribed."""
    client = await ClientProcess.start()
    try:
        connected = await client.call("bid_connect", url=url, tokens=tokens, channel=CHANNEL)
        peak = rss_mb()
    finally:
        await client.stop()
    deadline = time.monotonic() + 30
    while hub.connections or hub.topics or hub.sessions.watches:
        if time.monotonic() > deadline:
            raise RuntimeError("the hub still holds connections 30 s after the clients left")
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # let closing handlers and the store dispatcher settle
    gc.collect()
    return float(connected["seconds"]), peak


def state(runtime: Runtime) -> dict[str, Any]:
    rss, native = rss_mb(), native_mb()
    arenas, objects = pymalloc_mb()
    return {
        "rss_mb": rss,
        "rss_trimmed_mb": trimmed_rss_mb(),
        "pymalloc_arenas_mb": arenas,
        "pymalloc_objects_mb": objects,
        **native,
        "allocated_blocks": sys.getallocatedblocks(),
        "connections": live(Connection),
        "topics": live(Topic),
        "session_watches": live(SessionWatch),
        "store_listeners": listeners(runtime),
    }


async def traced_cycle(hub: Hub, url: str, tokens: list[str]) -> dict[str, Any]:
    """One more cycle under tracemalloc: what it left allocated, by line."""
    tracemalloc.start(5)
    before = tracemalloc.take_snapshot()
    await cycle(hub, url, tokens)
    after = tracemalloc.take_snapshot()
    traced, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    diffs = after.compare_to(before, "lineno")
    grown = sum(d.size_diff for d in diffs if d.size_diff > 0)
    top = [
        {"where": str(d.traceback[0]), "kb": round(d.size_diff / 1024, 1), "blocks": d.count_diff}
        for d in diffs[:8]
    ]
    return {"traced_growth_kb": round(grown / 1024, 1), "traced_top": top, "traced_mb": mb(traced)}


async def run(clients: int, cycles: int, data_dir: Path) -> dict[str, Any]:
    runtime = build(config.load(environ={}, data_dir=data_dir), sender=CapturedSms())
    try:
        tokens = await asyncio.to_thread(sign_in_members, runtime, clients)
        options = HubOptions(rate=10_000.0, burst=10_000.0)
        app = create_app(runtime.services, runtime.settings, hub_options=options)
        runner = await start(app, "127.0.0.1", 0)
        try:
            hub, url = app[HUB], f"http://127.0.0.1:{bound_port(runner)}/ws"
            await cycle(hub, url, tokens[:WARM_UP])
            baseline = state(runtime)
            rounds, peaks = [], []
            for _ in range(cycles):
                seconds, peak = await cycle(hub, url, tokens)
                peaks.append(peak)
                rounds.append({**state(runtime), "connect_s": seconds})
            traced = await traced_cycle(hub, url, tokens)
        finally:
            await runner.cleanup()
    finally:
        runtime.close()
    return figures(clients, baseline, peaks, rounds, traced)


def figures(
    clients: int,
    baseline: dict[str, Any],
    peaks: list[float],
    rounds: list[dict[str, Any]],
    traced: dict[str, Any],
) -> dict[str, Any]:
    last = rounds[-1]
    base, base_trim = baseline["rss_mb"], baseline["rss_trimmed_mb"]
    return {
        "clients": clients,
        "cycles": len(rounds),
        "baseline": baseline,
        "peak_rss_mb": peaks,
        "after": rounds,
        "retained_mb_after_first": round(rounds[0]["rss_mb"] - base, 1),
        "retained_mb_after_last": round(last["rss_mb"] - base, 1),
        "trimmed_mb_after_last": round(last["rss_trimmed_mb"] - base_trim, 1),
        "retained_growth_mb_per_cycle_after_first": round(
            (last["rss_mb"] - rounds[0]["rss_mb"]) / max(1, len(rounds) - 1), 2
        ),
        "peak_ratio_vs_baseline": round(max(peaks) / base, 2),
        "trimmed_ratio_vs_baseline": round(last["rss_trimmed_mb"] / base_trim, 2),
        "blocks_growth_after_last": last["allocated_blocks"] - baseline["allocated_blocks"],
        "retained_breakdown_mb": {
            key: round(last[key] - baseline[key], 1)
            for key in (
                "pymalloc_arenas_mb",
                "pymalloc_objects_mb",
                "sqlite_mb",
                "glibc_in_use_mb",
                "glibc_free_mb",
            )
        },
        **traced,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 clients, 2 cycles")
    parser.add_argument("--clients", type=int, default=None)
    parser.add_argument("--cycles", type=int, default=None)
    args = parser.parse_args(argv)
    clients = args.clients or (300 if args.quick else 1000)
    cycles = args.cycles or (2 if args.quick else 3)
    raise_fd_limit()
    folder = Path(tempfile.mkdtemp(prefix="tfos-bench-wsmem-"))
    try:
        result = asyncio.run(run(clients, cycles, folder / "data"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    _print_summary(result)
    print(json.dumps(result))


def _print_summary(r: dict[str, Any]) -> None:
    b = r["baseline"]
    print(f"baseline after warm-up: RSS {b['rss_mb']} MB (trimmed {b['rss_trimmed_mb']} MB)")
    for n, (peak, after) in enumerate(zip(r["peak_rss_mb"], r["after"], strict=True), 1):
        print(
            f"cycle {n}: {r['clients']} clients: peak {peak} MB; after they left "
            f"{after['rss_mb']} MB, after malloc_trim {after['rss_trimmed_mb']} MB; "
            f"live connections {after['connections']}, topics {after['topics']}, "
            f"watches {after['session_watches']}, store listeners {after['store_listeners']}"
        )
    d = r["retained_breakdown_mb"]
    print(
        f"after the last cycle, against the baseline: pymalloc arenas {d['pymalloc_arenas_mb']:+} "
        f"MB holding {d['pymalloc_objects_mb']:+} MB more live objects; SQLite "
        f"{d['sqlite_mb']:+} MB; glibc in use {d['glibc_in_use_mb']:+} MB (SQLite's share "
        f"included), free but kept {d['glibc_free_mb']:+} MB (before malloc_trim)"
    )
    print(f"traced cycle: {r['traced_growth_kb']} KB still allocated; biggest by line:")
    for row in r["traced_top"]:
        print(f"  {row['kb']:>8} KB {row['blocks']:>6} blocks  {row['where']}")


if __name__ == "__main__":
    main()
