"""The auditor against the web server: every route that changes something, and every
websocket channel and action, as a signed-in auditor (a real server in-process, real
WAL). Writes are refused with 403 and the log does not move; the auditor's own sign-out
is the one thing their token may do. The tables name every route and channel the
application registers, so a new one cannot be left out."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from app.bootstrap import Runtime
from app.services.staff import StaffService
from server.app import HUB
from tests.browser.world import World

PASSWORD = "Audit-the-books-1"
READS = frozenset({"GET", "HEAD"})

WRITE_ROUTES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/loans"): {"purpose": "Shop", "amount": 5_000_000, "tenure": 12},
    ("POST", "/api/groups/{group_id}/agreement/sign"): {"sha256": "0" * 64},
}
"""Routes that change the books, and a body that would do it."""
SIGN_IN = frozenset({("POST", "/api/otp/request"), ("POST", "/api/otp/verify")})
"""A member's sign-in by phone: no session acts, so no auditor either."""
OWN_SESSION = frozenset({("POST", "/api/signout")})
"""Ends the caller's own session (an auditor's sign-out is recorded in their name)."""


@pytest.fixture
def auditor(runtime: Runtime) -> dict[str, str]:
    staff = StaffService(runtime.ctx)
    admin = staff.create_first_admin("Asha Admin", "asha", "Admin-of-the-books-1").actor
    staff.create_staff(admin, "Anita Auditor", "anita", PASSWORD, role="auditor")
    return {"Authorization": f"Bearer {staff.sign_in('anita', PASSWORD).token}"}


def changing_routes(app: web.Application) -> set[tuple[str, str]]:
    return {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.method not in READS and route.resource is not None
    }


def by_auditor(runtime: Runtime) -> list[str]:
    return [r.action for r in runtime.ctx.pipeline.read() if r.actor["role"] == "auditor"]


def test_every_route_that_changes_something_is_in_the_matrix(app: web.Application) -> None:
    assert changing_routes(app) == set(WRITE_ROUTES) | SIGN_IN | OWN_SESSION


@pytest.mark.parametrize(("method", "path"), sorted(WRITE_ROUTES))
async def test_an_auditor_is_refused_every_write_route(
    client: TestClient[Any, Any],
    runtime: Runtime,
    world: World,
    auditor: dict[str, str],
    method: str,
    path: str,
) -> None:
    head = runtime.ctx.pipeline.head()
    body = {**WRITE_ROUTES[(method, path)], "member_id": world.members[0]}
    url = path.format(group_id=world.group_id)
    response = await client.request(method, url, json=body, headers=auditor)
    assert response.status == 403, await response.text()
    assert (await response.json())["error"]["code"] == "forbidden"
    assert runtime.ctx.pipeline.head() == head
    assert by_auditor(runtime) == ["staff.sign_in"]


async def test_an_auditor_signs_out_of_their_own_session(
    client: TestClient[Any, Any], runtime: Runtime, auditor: dict[str, str]
) -> None:
    me = await client.get("/api/me", headers=auditor)
    assert (await me.json())["actor"]["role"] == "auditor"
    response = await client.post("/api/signout", json={}, headers=auditor)
    assert response.status == 200
    assert (await client.get("/api/me", headers=auditor)).status == 401
    assert by_auditor(runtime) == ["staff.sign_in", "staff.sign_out"]


async def test_an_auditor_subscribes_to_no_member_channel_and_acts_on_none(
    client: TestClient[Any, Any],
    app: web.Application,
    runtime: Runtime,
    world: World,
    auditor: dict[str, str],
) -> None:
    registry = app[HUB].registry
    auction = runtime.services.auctions.open_auction(
        runtime.services.staff.first_admin().actor,  # type: ignore[union-attr]
        world.group_id,
        1,
    )
    head = runtime.ctx.pipeline.head()
    ws = await client.ws_connect("/ws")
    await ws.send_json({"type": "auth", "token": auditor["Authorization"].split()[1]})
    assert (await ws.receive_json(timeout=5))["event"] == "ready"
    asked = 0
    for name in registry.names():
        channel = name.replace("*", auction.id)
        spec = registry.resolve(channel)
        assert spec is not None
        for action in ["subscribe", *spec.actions]:
            asked += 1
            payload = {"member_id": world.members[0], "discount": 5_000_00}
            await ws.send_json(
                {"channel": channel, "action": action, "payload": payload, "request_id": asked}
            )
            reply = await ws.receive_json(timeout=5)
            assert reply["event"] == "error", (channel, action, reply)
            assert reply["payload"]["code"] == "forbidden", (channel, action, reply)
    assert asked >= len(registry.names()) + 1  # every channel, and the bid action
    await ws.close()
    assert runtime.ctx.pipeline.head() == head
    assert by_auditor(runtime) == ["staff.sign_in"]


async def test_no_route_writes_anything_but_an_export_in_an_auditors_name(
    client: TestClient[Any, Any],
    app: web.Application,
    runtime: Runtime,
    world: World,
    auditor: dict[str, str],
) -> None:
    """Reads included: whatever a route does for an auditor, the log gets at most the
    record of an export (sign-out last, as it ends the session)."""
    ids = {"group_id": world.group_id, "auction_id": f"{world.group_id}-1"}
    query = {"member_id": world.members[0], "lsn": "1", "size": "1", "from": "1", "to": "1"}
    routes = sorted(
        (r.method, r.resource.canonical) for r in app.router.routes() if r.resource is not None
    )
    for method, path in sorted(routes, key=lambda route: route in OWN_SESSION):
        if method == "HEAD" or "{filename" in path:
            continue
        url = path.format(**ids)
        body = {**WRITE_ROUTES.get((method, path), {}), "member_id": world.members[0]}
        kwargs = {"json": body} if method not in READS else {"params": query}
        response = await client.request(method, url, headers=auditor, **kwargs)
        assert response.status < 500, (method, path, await response.text())
    assert set(by_auditor(runtime)) <= {"staff.sign_in", "report.export", "staff.sign_out"}
