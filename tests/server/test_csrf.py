"""State-changing requests: JSON only, and from this server's own page when the session
cookie comes with them (see server/security.py for the rule)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.bootstrap import Runtime
from app.services.members import Member
from tests.server.conftest import PHONE, last_code
from tests.server.wsutil import JSON, Client, make_app, same_origin

LOAN = {"amount": "50000", "tenure": "12", "purpose": "shop stock"}


@pytest.fixture
async def client(aiohttp_client: Any, runtime: Runtime, member: Member) -> Client:
    """A client holding a member's session cookie (as a browser would)."""
    client: Client = await aiohttp_client(make_app(runtime))
    headers = same_origin(client)
    await client.post("/api/otp/request", json={"phone": PHONE}, headers=headers)
    code = last_code(runtime)
    resp = await client.post(
        "/api/otp/verify", json={"phone": PHONE, "code": code}, headers=headers
    )
    assert resp.status == 200, await resp.text()
    return client


async def apply(client: Client, headers: dict[str, str], body: Any = None) -> tuple[int, str]:
    data = json.dumps(LOAN) if body is None else body
    resp = await client.post("/api/loans", data=data, headers=headers)
    return resp.status, (await resp.json())["error"]["code"] if resp.status >= 400 else ""


async def test_with_the_cookie_only_the_own_origin_may_change_state(
    client: Client, runtime: Runtime
) -> None:
    own = same_origin(client)
    head = runtime.pipeline.wal.head()
    other_port = {"Origin": own["Origin"].rsplit(":", 1)[0] + ":1"}
    refused = {
        "text/plain": {**own, "Content-Type": "text/plain"},
        "form": {**own, "Content-Type": "application/x-www-form-urlencoded"},
        "no type": own,
        "another port": {**JSON, **other_port},
        "null origin": {**JSON, "Origin": "null"},
        "no origin": JSON,
        "same-site": {**JSON, "Sec-Fetch-Site": "same-site"},
        "cross-site": {**JSON, "Sec-Fetch-Site": "cross-site"},
    }
    for what, headers in refused.items():
        status, code = await apply(client, headers)
        assert (status, code) in ((415, "unsupported_media_type"), (403, "forbidden")), what
    assert runtime.pipeline.wal.head() == head
    assert (await apply(client, {**JSON, **own}))[0] == 201
    assert (await apply(client, {**JSON, "Sec-Fetch-Site": "same-origin"}))[0] == 201


async def test_a_bearer_token_without_the_cookie_is_not_a_browser(
    client: Client, runtime: Runtime, member: Member
) -> None:
    token = client.session.cookie_jar.filter_cookies(client.make_url("/"))["tfos_session"].value
    client.session.cookie_jar.clear()
    bearer = {"Authorization": f"Bearer {token}", **JSON}
    assert (await apply(client, bearer))[0] == 201
    assert (await apply(client, {**bearer, "Content-Type": "text/plain"}))[0] == 415
    assert (await apply(client, {**bearer, "Origin": "http://evil.example"}))[0] == 403
    assert len(runtime.services.loans.for_member(member.id)) == 1


async def test_reads_and_unknown_routes_are_not_checked(client: Client) -> None:
    assert (await client.get("/api/me")).status == 200
    resp = await client.delete("/api/loans")
    assert resp.status == 405 and (await resp.json())["error"]["code"] == "method_not_allowed"
