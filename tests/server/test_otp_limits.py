"""Member sign-in against strangers, through a real server (store, WAL, outbox, HTTP).

The test client connects from 127.0.0.1, which these tests name as a trusted proxy, so
each request says which network it comes from in ``X-Forwarded-For``.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from app import config
from app.bootstrap import Runtime, build
from app.services.context import FixedClock
from app.services.kyc.rules import mask_phone
from app.services.members import Member, MemberService
from app.services.otp import OtpLimits
from app.services.sms import OUTBOX_NAME, HttpGatewaySender, read_outbox
from app.services.store import Query
from server import api
from server.app import create_app
from tests.server.conftest import OTHER_PHONE, PHONE, STAFF, last_code
from tests.server.wsutil import same_origin

Client = TestClient[Any, Any]
STRANGER = "203.0.113.66"
HOME = "198.51.100.20"
LIMITS = OtpLimits()


def settings_in(folder: Path) -> config.Settings:
    return config.load(environ={}, data_dir=folder / "data", trusted_proxies="127.0.0.1")


@pytest.fixture
def runtime(tmp_path: Path, clock: FixedClock) -> Iterator[Runtime]:
    rt = build(settings_in(tmp_path), clock=clock)
    yield rt
    rt.close()


@pytest.fixture
async def client(aiohttp_client: Any, runtime: Runtime, member: Member) -> Client:
    return await aiohttp_client(create_app(runtime.services, runtime.settings))


def phones(n: int, start: int = 0) -> list[str]:
    return [f"+9197000{i:05d}" for i in range(start, start + n)]


def enroll(runtime: Runtime, numbers: list[str]) -> None:
    members = MemberService(runtime.ctx)
    for i, number in enumerate(numbers):
        members.enroll(STAFF, f"Member {_letters(i)}", number)


def _letters(n: int) -> str:
    """0 -> "a", 12 -> "bc": names take no digits."""
    return "".join(chr(ord("a") + int(d)) for d in str(n))


async def ask(client: Client, phone: str, network: str) -> Any:
    return await client.post(
        "/api/otp/request",
        json={"phone": phone},
        headers={"X-Forwarded-For": network, **same_origin(client)},
    )


async def enter(client: Client, phone: str, code: str, network: str) -> Any:
    return await client.post(
        "/api/otp/verify",
        json={"phone": phone, "code": code},
        headers={"X-Forwarded-For": network, **same_origin(client)},
    )


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def answer(resp: Any) -> tuple[int, dict[str, Any]]:
    return resp.status, await resp.json()


def outbox_to(runtime: Runtime, phone: str) -> list[dict[str, Any]]:
    return [m for m in read_outbox(runtime.settings.data_dir / OUTBOX_NAME) if m["to"] == phone]


# -- enumeration -----------------------------------------------------------------------------


async def test_known_and_unknown_numbers_get_the_same_answer(
    client: Client, runtime: Runtime
) -> None:
    known, unknown = await ask(client, PHONE, HOME), await ask(client, OTHER_PHONE, HOME)
    (k_status, k_body), (u_status, u_body) = await answer(known), await answer(unknown)
    assert k_status == u_status == 200
    assert k_body.pop("phone_masked") == mask_phone(PHONE)
    assert u_body.pop("phone_masked") == mask_phone(OTHER_PHONE)
    assert k_body == u_body
    await asyncio.to_thread(client.server.app[api.OTP].close)  # every queued text is out
    assert len(outbox_to(runtime, PHONE)) == 1 and outbox_to(runtime, OTHER_PHONE) == []
    code = last_code(runtime)
    k_wrong = await answer(await enter(client, PHONE, wrong(code), HOME))
    u_wrong = await answer(await enter(client, OTHER_PHONE, wrong(code), HOME))
    assert k_wrong == u_wrong and k_wrong[0] == 400


async def test_known_and_unknown_numbers_are_refused_alike(client: Client) -> None:
    for _ in range(LIMITS.per_phone_network.count):
        await ask(client, PHONE, STRANGER)
        await ask(client, OTHER_PHONE, STRANGER)
    known = await answer(await ask(client, PHONE, STRANGER))
    unknown = await answer(await ask(client, OTHER_PHONE, STRANGER))
    assert known == unknown and known[0] == 429


@pytest.fixture
async def slow_gateway(aiohttp_server: Any) -> AsyncIterator[str]:
    """A real SMS gateway over HTTP that takes a quarter of a second to accept a message."""

    async def accept(request: web.Request) -> web.Response:
        await request.json()
        await asyncio.sleep(0.25)
        return web.json_response({"queued": True})

    app = web.Application()
    app.router.add_post("/send", accept)
    server: TestServer = await aiohttp_server(app)
    yield str(server.make_url("/send"))


@pytest.fixture
async def slow_runtime(
    tmp_path: Path, clock: FixedClock, slow_gateway: str
) -> AsyncIterator[Runtime]:
    """A runtime whose texts go to the slow gateway; closed off the event loop, which
    keeps serving the gateway while the texts still queued are sent."""
    sender = HttpGatewaySender(slow_gateway)
    rt = build(settings_in(tmp_path / "slow"), clock=clock, sender=sender)
    yield rt
    await asyncio.to_thread(rt.close)


async def test_known_and_unknown_numbers_answer_in_similar_time(
    aiohttp_client: Any, slow_runtime: Runtime
) -> None:
    runtime = slow_runtime
    n = 15
    known, unknown = phones(n), phones(n, start=500)
    enroll(runtime, known)
    client = await aiohttp_client(create_app(runtime.services, runtime.settings))
    took: dict[str, list[float]] = {"known": [], "unknown": []}
    for i in range(n):
        for kind, number in (("known", known[i]), ("unknown", unknown[i])):
            start = time.perf_counter()
            resp = await ask(client, number, f"10.1.{i}.{len(took[kind])}")
            took[kind].append(time.perf_counter() - start)
            assert resp.status == 200, await resp.text()
    k, u = statistics.median(took["known"]), statistics.median(took["unknown"])
    assert max(k, u) <= 3 * min(k, u) + 0.02, f"median known {k:.4f}s, unknown {u:.4f}s"


# -- a stranger cannot keep a member out -------------------------------------------------


async def test_a_stranger_cannot_keep_a_member_out(client: Client, runtime: Runtime) -> None:
    for _ in range(LIMITS.per_phone_network.count):
        assert (await ask(client, PHONE, STRANGER)).status == 200
        for _ in range(3):
            await enter(client, PHONE, "000000", STRANGER)
    refused = await ask(client, PHONE, STRANGER)
    body = await refused.json()
    assert refused.status == 429 and "this network" in body["error"]["message"]
    assert "device" not in json.dumps(body)
    assert (await ask(client, PHONE, HOME)).status == 200
    code = last_code(runtime, count=LIMITS.per_phone_network.count + 1)
    signed_in = await enter(client, PHONE, code, HOME)
    assert signed_in.status == 200, await signed_in.text()


async def test_strangers_requests_and_guesses_leave_the_members_code_working(
    client: Client, runtime: Runtime
) -> None:
    assert (await ask(client, PHONE, HOME)).status == 200
    code = last_code(runtime)
    assert (await ask(client, PHONE, STRANGER)).status == 200
    guesses = [await enter(client, PHONE, wrong(code), STRANGER) for _ in range(8)]
    assert [g.status for g in guesses] == [400] * 8
    assert "this network" in (await guesses[-1].json())["error"]["message"]
    signed_in = await enter(client, PHONE, code, HOME)
    assert signed_in.status == 200, await signed_in.text()


async def test_strangers_on_many_networks_keep_a_member_out_only_minutes(
    client: Client, runtime: Runtime, clock: FixedClock
) -> None:
    strangers = [f"203.0.113.{i}" for i in range(1, 10)]
    for network in strangers:
        for _ in range(LIMITS.per_phone_network.count):
            await ask(client, PHONE, network)
    refused = await ask(client, PHONE, HOME)
    assert refused.status == 429
    wait = int(refused.headers["Retry-After"])
    assert 0 < wait <= 5 * 60
    clock.advance(seconds=wait)
    assert (await ask(client, PHONE, HOME)).status == 200


async def test_members_behind_one_office_network_do_not_share_one_budget(
    client: Client, runtime: Runtime
) -> None:
    office = phones(3 * LIMITS.per_network.count)
    enroll(runtime, office)
    for number in office:
        resp = await ask(client, number, HOME)
        assert resp.status == 200, await resp.text()
        assert (await enter(client, number, last_code(runtime, number), HOME)).status == 200
    strays = [
        (await ask(client, number, HOME)).status
        for number in phones(LIMITS.per_network.count + 1, 900)
    ]
    assert strays == [200] * LIMITS.per_network.count + [429]


# -- exact under concurrency ------------------------------------------------------------------


async def test_forty_parallel_wrong_guesses_count_exactly(client: Client, runtime: Runtime) -> None:
    numbers = phones(8)
    enroll(runtime, numbers)
    for i, number in enumerate(numbers):
        assert (await ask(client, number, f"10.2.0.{i}")).status == 200
    codes = {n: last_code(runtime, n) for n in numbers}
    guesses = [(n, wrong(codes[n])) for n in numbers for _ in range(5)]
    replies = await asyncio.gather(*(enter(client, n, c, STRANGER) for n, c in guesses))
    statuses = sorted(r.status for r in replies)
    limit = LIMITS.wrong_codes_per_network.count
    assert statuses == [400] * limit + [429] * (40 - limit)
    records = [r for r in runtime.pipeline.wal.read(1) if r.action == "otp.wrong_code"]
    assert len(records) == limit


async def test_forty_parallel_requests_for_one_number_count_exactly(
    client: Client, runtime: Runtime
) -> None:
    replies = await asyncio.gather(*(ask(client, PHONE, f"10.3.0.{i}") for i in range(40)))
    statuses = sorted(r.status for r in replies)
    assert statuses == [200] * LIMITS.per_phone.count + [429] * (40 - LIMITS.per_phone.count)
    [doc] = [d for d in runtime.store.query(Query("otp_codes"))]
    assert len(doc.data["codes"]) == LIMITS.per_phone.count


# -- the real client address -------------------------------------------------------------------


async def test_forwarded_for_is_believed_only_from_trusted_proxies(
    aiohttp_client: Any, tmp_path: Path, clock: FixedClock
) -> None:
    direct = build(config.load(environ={}, data_dir=tmp_path / "direct"), clock=clock)
    try:
        client = await aiohttp_client(create_app(direct.services, direct.settings))
        strays = phones(LIMITS.per_network.count + 1, 900)
        statuses = [(await ask(client, n, f"10.4.0.{i}")).status for i, n in enumerate(strays)]
        assert statuses == [200] * LIMITS.per_network.count + [429]
    finally:
        direct.close()


async def test_a_spoofed_forwarded_for_does_not_escape_the_limit(client: Client) -> None:
    strays = phones(LIMITS.per_network.count + 1, 900)
    statuses = []
    for i, number in enumerate(strays):
        resp = await ask(client, number, f"10.5.0.{i}, {STRANGER}")
        statuses.append(resp.status)
    assert statuses == [200] * LIMITS.per_network.count + [429]
