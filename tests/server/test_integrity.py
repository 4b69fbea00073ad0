"""/api/integrity verifies the WAL once per head and serves that report until it moves."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from app.bootstrap import Runtime
from app.services.context import FixedClock
from tests.browser.world import World
from tests.server.wsutil import add_note, token_for

Client = TestClient[Any, Any]


class TickingClock(FixedClock):
    """A clock that moves one second on every reading, so two readings never agree."""

    def now(self) -> datetime:
        self.advance(seconds=1)
        return super().now()


@pytest.fixture
def clock() -> FixedClock:
    """The runtime's clock here (tests/server/conftest.py builds the runtime with it)."""
    return TickingClock(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))


async def _report(client: Client, headers: dict[str, str]) -> dict[str, Any]:
    resp = await client.get("/api/integrity", headers=headers)
    assert resp.status == 200
    body: dict[str, Any] = await resp.json()
    return body


async def test_report_is_reused_until_the_wal_head_moves(
    client: Client, app: web.Application, runtime: Runtime, world: World
) -> None:
    asha = token_for(app, runtime, world.phones[0])
    first = await _report(client, asha)
    assert first["verified"] is True and (first["entries"], first["head_hash"]) == (
        runtime.pipeline.wal.head()
    )
    assert await _report(client, asha) == first
    await asyncio.to_thread(add_note, runtime, "n1", "moves the head")
    moved = await _report(client, asha)
    assert moved["verified"] is True and moved["entries"] > first["entries"]
    assert moved["checked_at"] > first["checked_at"]
    assert (moved["entries"], moved["head_hash"]) == runtime.pipeline.wal.head()


async def test_concurrent_requests_share_one_verification(
    client: Client, app: web.Application, runtime: Runtime, world: World
) -> None:
    asha = token_for(app, runtime, world.phones[0])
    reports = await asyncio.gather(*(_report(client, asha) for _ in range(6)))
    assert len({r["checked_at"] for r in reports}) == 1
