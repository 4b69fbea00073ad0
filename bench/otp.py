"""Member sign-in benchmark: does a member's number answer in the same time as a stranger's?

Run from the repository root::

    PYTHONPATH=. python bench/otp.py [--quick] [--gateway-delay-ms 250]

The server (``create_app`` over a real runtime: SQLite store, WAL, fsync) and an SMS
gateway over HTTP that takes ``--gateway-delay-ms`` to accept a text run in this process
on 127.0.0.1; the client is aiohttp in the same process, naming a new network for every
request in ``X-Forwarded-For`` (127.0.0.1 is a trusted proxy), so no limit is reached.

(1) Requests. ``n`` requests for member numbers and ``n`` for numbers nobody has,
    interleaved. ratio = median(member) / median(unknown): 1.0 means no timing signal.
    Beside it, the gateway's own delay, which a member's request would carry if the text
    were sent on the request path.
(2) A burst. 40 wrong codes from one network, sent at once across 8 numbers (5 each);
    the wrong-code limit (20) must count exactly. Its wall time is given against the
    same 40 sent one after another.

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from app import config
from app.bootstrap import Runtime, build
from app.services.actors import Actor
from app.services.sms import HttpGatewaySender
from server.app import bound_port, create_app, start

STAFF = Actor("emp-1", "Bench (employee)", "employee")


def _numbers(n: int, start: int) -> list[str]:
    return [f"+9197000{i:05d}" for i in range(start, start + n)]


def _name(i: int) -> str:
    return "Member " + "".join(chr(ord("a") + int(d)) for d in str(i))


async def _gateway(delay: float) -> tuple[web.AppRunner, str]:
    async def accept(request: web.Request) -> web.Response:
        await request.read()
        await asyncio.sleep(delay)
        return web.json_response({"queued": True})

    app = web.Application()
    app.router.add_post("/send", accept)
    runner = await start(app, "127.0.0.1", 0)
    return runner, f"http://127.0.0.1:{bound_port(runner)}/send"


async def _ask(http: aiohttp.ClientSession, base: str, phone: str, network: str) -> float:
    start = time.perf_counter()
    async with http.post(
        f"{base}/api/otp/request", json={"phone": phone}, headers={"X-Forwarded-For": network}
    ) as resp:
        assert resp.status == 200, await resp.text()
    return time.perf_counter() - start


async def _guess(http: aiohttp.ClientSession, base: str, phone: str) -> int:
    body = {"phone": phone, "code": "000000"}
    headers = {"X-Forwarded-For": "203.0.113.66"}
    async with http.post(f"{base}/api/otp/verify", json=body, headers=headers) as resp:
        return resp.status


async def _requests(http: aiohttp.ClientSession, base: str, n: int) -> dict[str, Any]:
    members, unknown = _numbers(n, 0), _numbers(n, 50_000)
    took: dict[str, list[float]] = {"member": [], "unknown": []}
    for i in range(n):
        took["member"].append(await _ask(http, base, members[i], f"10.1.{i // 250}.{i % 250}"))
        took["unknown"].append(await _ask(http, base, unknown[i], f"10.2.{i // 250}.{i % 250}"))
    med = {k: statistics.median(v) * 1000 for k, v in took.items()}
    p90 = {k: statistics.quantiles(v, n=10)[-1] * 1000 for k, v in took.items()}
    return {
        "requests_each": n,
        "member_median_ms": round(med["member"], 2),
        "unknown_median_ms": round(med["unknown"], 2),
        "member_p90_ms": round(p90["member"], 2),
        "unknown_p90_ms": round(p90["unknown"], 2),
        "ratio_member_vs_unknown": round(med["member"] / med["unknown"], 3),
    }


async def _burst(http: aiohttp.ClientSession, base: str, runtime: Runtime) -> dict[str, Any]:
    phones = _numbers(16, 90_000)
    _enroll(runtime, phones, 90_000)
    for i, phone in enumerate(phones):
        await _ask(http, base, phone, f"10.3.0.{i}")
    start = time.perf_counter()
    statuses = await asyncio.gather(*(_guess(http, base, p) for p in phones[:8] for _ in range(5)))
    burst = time.perf_counter() - start
    counted = sorted(statuses).count(400)
    await _clear_wrong_limit(runtime)
    start = time.perf_counter()
    for phone in phones[8:]:
        for _ in range(5):
            await _guess(http, base, phone)
    serial = time.perf_counter() - start
    return {
        "burst_wrong_codes_counted": counted,
        "burst_refused_429": statuses.count(429),
        "burst_40_ms": round(burst * 1000, 1),
        "serial_40_ms": round(serial * 1000, 1),
        "ratio_burst_vs_serial": round(burst / serial, 3),
    }


async def _clear_wrong_limit(runtime: Runtime) -> None:
    """Let the same network guess again (the limit is an hour; this is a benchmark)."""
    from app.services.actors import SYSTEM
    from app.services.otp_limits import LIMITS
    from app.services.pipeline import ChangeSet
    from app.services.store import Query, Write

    docs = runtime.store.query(Query(LIMITS).where("kind", "==", "wrong"))
    writes = [Write("delete", LIMITS, d.id) for d in docs]
    runtime.pipeline.commit(SYSTEM, ChangeSet("bench.reset", "bench", "limits", writes))


def _enroll(runtime: Runtime, phones: list[str], start: int) -> None:
    for i, phone in enumerate(phones):
        runtime.services.members.enroll(STAFF, _name(start + i), phone)


async def run(n: int, delay: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = config.load(environ={}, data_dir=Path(tmp), trusted_proxies="127.0.0.1")
        gateway, url = await _gateway(delay)
        runtime = build(settings, sender=HttpGatewaySender(url))
        _enroll(runtime, _numbers(n, 0), 0)
        app = create_app(runtime.services, settings)
        runner = await start(app, "127.0.0.1", 0)
        base = f"http://127.0.0.1:{bound_port(runner)}"
        try:
            async with aiohttp.ClientSession() as http:
                result = await _requests(http, base, n)
                result |= await _burst(http, base, runtime)
        finally:
            await runner.cleanup()
            await gateway.cleanup()
            runtime.close()
    return result | {"gateway_delay_ms": round(delay * 1000)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 requests of each kind")
    parser.add_argument("--gateway-delay-ms", type=float, default=250.0)
    args = parser.parse_args()
    n = 30 if args.quick else 200
    result = asyncio.run(run(n, args.gateway_delay_ms / 1000)) | {"quick": args.quick}
    print(
        f"{n} requests each: member median {result['member_median_ms']} ms "
        f"(p90 {result['member_p90_ms']}), unknown median {result['unknown_median_ms']} ms "
        f"(p90 {result['unknown_p90_ms']}); ratio {result['ratio_member_vs_unknown']} "
        f"(SMS gateway delay {result['gateway_delay_ms']} ms, off the request path)"
    )
    print(
        f"40 wrong codes at once from one network: {result['burst_wrong_codes_counted']} "
        f"counted (limit 20), {result['burst_refused_429']} refused, "
        f"{result['burst_40_ms']} ms; one after another {result['serial_40_ms']} ms"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
