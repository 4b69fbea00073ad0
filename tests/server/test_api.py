"""The JSON HTTP API: phone sign-in, the session cookie, /api/me and sign out."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from app.bootstrap import Runtime
from app.services.members import Member
from tests.server.conftest import OTHER_PHONE, PHONE, last_code
from tests.server.wsutil import JSON, make_app, same_origin, staff_token


@pytest.fixture
async def client(aiohttp_client: Any, runtime: Runtime, member: Member) -> TestClient[Any, Any]:
    return await aiohttp_client(make_app(runtime))


async def sign_in(client: TestClient[Any, Any], runtime: Runtime) -> Any:
    sent = await client.post("/api/otp/request", json={"phone": PHONE})
    assert sent.status == 200, await sent.text()
    return await client.post("/api/otp/verify", json={"phone": PHONE, "code": last_code(runtime)})


async def test_sign_in_sets_a_strict_httponly_cookie(
    client: TestClient[Any, Any], runtime: Runtime, member: Member
) -> None:
    resp = await sign_in(client, runtime)
    assert resp.status == 200
    assert (await resp.json())["member"]["id"] == member.id
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # served over plain http in the test
    me = await client.get("/api/me")
    body = await me.json()
    assert body["actor"] == {"id": member.id, "name": member.name, "role": "member"}
    assert body["member"]["phone_masked"] == member.phone_masked and "phone" not in body["member"]


async def test_me_requires_sign_in_and_sign_out_ends_it(
    client: TestClient[Any, Any], runtime: Runtime
) -> None:
    resp = await client.get("/api/me")
    assert resp.status == 401 and (await resp.json())["error"]["code"] == "unauthenticated"
    await sign_in(client, runtime)
    assert (await client.get("/api/me")).status == 200
    token = client.session.cookie_jar.filter_cookies(client.make_url("/"))["tfos_session"].value
    out = await client.post("/api/signout", json={}, headers=same_origin(client))
    assert out.status == 200
    assert (await client.get("/api/me")).status == 401
    again = await client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert again.status == 401


async def test_staff_bearer_token(client: TestClient[Any, Any], runtime: Runtime) -> None:
    token = staff_token(runtime)
    resp = await client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert (await resp.json())["actor"]["role"] == "admin"


async def test_refusals_are_clear(client: TestClient[Any, Any], runtime: Runtime) -> None:
    unknown = await client.post("/api/otp/request", json={"phone": OTHER_PHONE})
    assert unknown.status == 200, "an unknown number is answered like a member's"
    assert (await unknown.json())["phone_masked"] == "+91 XXXXXX5678"
    missing = await client.post("/api/otp/request", json={})
    assert missing.status == 400 and "phone" in (await missing.json())["error"]["message"]
    garbage = await client.post("/api/otp/request", data=b"{oops", headers=JSON)
    assert garbage.status == 400
    await client.post("/api/otp/request", json={"phone": PHONE})
    bad = await client.post("/api/otp/verify", json={"phone": PHONE, "code": "000000x"})
    assert bad.status == 400 and "6 digits" in (await bad.json())["error"]["message"]


async def test_rate_limited_requests_get_429(client: TestClient[Any, Any]) -> None:
    for _ in range(3):
        assert (await client.post("/api/otp/request", json={"phone": PHONE})).status == 200
    resp = await client.post("/api/otp/request", json={"phone": PHONE})
    assert resp.status == 429 and int(resp.headers["Retry-After"]) > 0
    assert (await resp.json())["error"]["code"] == "rate_limited"
