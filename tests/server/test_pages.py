"""The pages' JSON API: own data only for members, any member for staff, 401 for nobody."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from app.bootstrap import Runtime
from app.services.agreements import AgreementService
from app.services.loans import preview
from tests.browser.world import STAFF, World, open_auction
from tests.server.wsutil import OUTSIDER_PHONE, token_for

Client = TestClient[Any, Any]


@pytest.fixture
def bala(app: web.Application, runtime: Runtime, world: World) -> dict[str, str]:
    return token_for(app, runtime, world.phones[1])


@pytest.fixture
def outsider(app: web.Application, runtime: Runtime) -> dict[str, str]:
    runtime.services.members.enroll(STAFF, "Dev Outsider", OUTSIDER_PHONE)
    return token_for(app, runtime, OUTSIDER_PHONE)


async def status_of(resp: Any) -> tuple[int, dict[str, Any]]:
    return resp.status, await resp.json()


async def test_anonymous_gets_401_everywhere(client: Client, world: World) -> None:
    gid = world.group_id
    for path in (
        "/api/dashboard",
        "/api/timeline",
        "/api/loans",
        "/api/loans/preview?amount=50000&tenure=12",
        f"/api/groups/{gid}/health",
        f"/api/groups/{gid}/agreement",
        "/api/integrity",
        f"/api/auctions/{gid}-1",
    ):
        status, body = await status_of(await client.get(path))
        assert status == 401 and body["error"]["code"] == "unauthenticated", path
    for path in ("/api/loans", f"/api/groups/{gid}/agreement/sign"):
        assert (await client.post(path, json={})).status == 401, path


async def test_member_reads_only_own_data_and_staff_any(
    client: Client, world: World, asha: dict[str, str], staff: dict[str, str]
) -> None:
    asha_id, bala_id = world.members[:2]
    status, body = await status_of(await client.get("/api/dashboard", headers=asha))
    assert status == 200 and body["member"]["id"] == asha_id
    assert body["member"]["phone_masked"].endswith("3210") and "phone" not in body["member"]
    assert [g["id"] for g in body["groups"]] == [world.group_id]
    assert body["next_auction"]["period"] == 1 and body["next_auction"]["open"] is False
    for path in ("/api/dashboard", "/api/timeline", "/api/loans"):
        status, body = await status_of(
            await client.get(f"{path}?member_id={bala_id}", headers=asha)
        )
        assert status == 403 and "only your own" in body["error"]["message"], path
        staff_view = await client.get(f"{path}?member_id={bala_id}", headers=staff)
        assert staff_view.status == 200, path
        assert (await client.get(path, headers=staff)).status == 400, path


async def test_loan_preview_uses_the_server_formula(client: Client, asha: dict[str, str]) -> None:
    resp = await client.get("/api/loans/preview?amount=50,000&tenure=12", headers=asha)
    body = await resp.json()
    expected = preview(50_000_00, 12)
    assert body["emi"] == expected.emi and body["amount"] == 50_000_00
    assert body["emi_fmt"].startswith("₹") and body["amount_fmt"] == "₹50,000.00"
    assert len(body["schedule"]) == 12 and body["schedule"][-1]["balance"] == 0
    bigger = await (
        await client.get("/api/loans/preview?amount=60000&tenure=12", headers=asha)
    ).json()
    assert bigger["emi"] > body["emi"]
    for query, words in (
        ("amount=abc&tenure=12", "amount"),
        ("amount=5&tenure=12", "must be"),
        ("amount=50000&tenure=99", "tenure"),
    ):
        status, err = await status_of(await client.get(f"/api/loans/preview?{query}", headers=asha))
        assert status == 400 and words in err["error"]["message"], query


async def test_loan_application_reaches_the_desk_inbox(
    client: Client, runtime: Runtime, world: World, asha: dict[str, str], bala: dict[str, str]
) -> None:
    resp = await client.post(
        "/api/loans",
        json={"amount": "75,000", "tenure": "18", "purpose": "shop stock"},
        headers=asha,
    )
    status, body = await status_of(resp)
    assert status == 201 and body["status"] == "submitted"
    inbox = runtime.services.loans.inbox()
    assert [(r.loan_id, r.member_id, r.amount) for r in inbox] == [
        (body["loan_id"], world.members[0], 75_000_00)
    ]
    mine = await (await client.get("/api/loans", headers=asha)).json()
    assert [loan["loan_id"] for loan in mine["loans"]] == [body["loan_id"]]
    assert mine["loans"][0]["amount_fmt"] == "₹75,000.00"
    assert body["loan_no"] == mine["loans"][0]["loan_no"] == "L-0001"
    assert (await (await client.get("/api/loans", headers=bala)).json())["loans"] == []
    other = await client.post(
        "/api/loans",
        json={"amount": "1000", "tenure": "6", "purpose": "x", "member_id": world.members[1]},
        headers=asha,
    )
    assert other.status == 403


async def test_group_health_needs_a_ticket(
    client: Client,
    world: World,
    asha: dict[str, str],
    outsider: dict[str, str],
    staff: dict[str, str],
) -> None:
    path = f"/api/groups/{world.group_id}/health"
    status, body = await status_of(await client.get(path, headers=asha))
    assert status == 200 and body["members"] == 3 and body["defaulters"] == 0
    assert body["pool_fmt"] == "₹0.00" and body["next_auction_date"]
    status, body = await status_of(await client.get(path, headers=outsider))
    assert status == 404 and body["error"]["message"] == "This is not one of your groups."
    staff_path = f"{path}?member_id={world.members[0]}"
    assert (await client.get(staff_path, headers=staff)).status == 200
    assert (await client.get("/api/groups/nope/health", headers=asha)).status == 404


async def test_agreement_signing_is_recorded_in_the_wal(
    client: Client,
    runtime: Runtime,
    world: World,
    asha: dict[str, str],
    outsider: dict[str, str],
    staff: dict[str, str],
) -> None:
    path = f"/api/groups/{world.group_id}/agreement"
    body = await (await client.get(path, headers=asha)).json()
    assert body["signature"] is None and "₹1,50,000.00" in body["text"]
    assert body["sha256"] == AgreementService(runtime.ctx).text(world.group_id).sha256
    assert any("last 30 seconds" in c for c in body["clauses"])
    wrong = await client.post(f"{path}/sign", json={"sha256": "0" * 64}, headers=asha)
    assert wrong.status == 409 and "changed" in (await wrong.json())["error"]["message"]
    signed = await client.post(f"{path}/sign", json={"sha256": body["sha256"]}, headers=asha)
    status, sig = await status_of(signed)
    assert status == 201 and sig["signature"]["text_sha256"] == body["sha256"]
    record = list(runtime.pipeline.wal.read())[-1]
    assert record.action == "agreement.sign" and record.actor["id"] == world.members[0]
    event = record.change["event"]
    assert event["text_sha256"] == body["sha256"]
    assert event["signed_at"] == runtime.ctx.clock.now().isoformat()
    again = await (await client.get(path, headers=asha)).json()
    assert again["signature"]["signed_at"] == event["signed_at"]
    twice = await client.post(f"{path}/sign", json={"sha256": body["sha256"]}, headers=asha)
    assert twice.status == 409
    assert (await client.get(path, headers=outsider)).status == 404
    assert (await client.post(f"{path}/sign", json={"sha256": "x"}, headers=outsider)).status == 404
    assert (await client.post(f"{path}/sign", json={"sha256": "x"}, headers=staff)).status == 403


async def test_integrity_badge(client: Client, runtime: Runtime, asha: dict[str, str]) -> None:
    status, body = await status_of(await client.get("/api/integrity", headers=asha))
    lsn, head = runtime.pipeline.wal.head()
    assert status == 200 and body["verified"] is True
    assert body["entries"] == lsn and body["head_hash"] == head


async def test_auction_state_for_members_of_the_group(
    client: Client,
    runtime: Runtime,
    world: World,
    asha: dict[str, str],
    outsider: dict[str, str],
) -> None:
    auction = open_auction(runtime, world)
    path = f"/api/auctions/{auction.id}"
    status, body = await status_of(await client.get(path, headers=asha))
    assert status == 200 and body["auction"]["status"] == "open"
    assert body["me"]["may_bid"] is True and body["me"]["alias"]
    assert body["terms"]["floor_fmt"] == "₹7,500.00" and "30 seconds" in body["extension_rule"]
    assert "seed_sealed" not in body["auction"] and body["auction"]["seed"] is None
    assert "winner_member_id" not in body["auction"]
    assert (await client.get(path, headers=outsider)).status == 404
    assert (await client.get("/api/auctions/nope-1", headers=asha)).status == 404
    dash = await (await client.get("/api/dashboard", headers=asha)).json()
    assert dash["next_auction"]["auction_id"] == auction.id and dash["next_auction"]["open"]


async def test_the_page_is_served_without_outside_requests(client: Client) -> None:
    index = await client.get("/")
    html = await index.text()
    assert index.status == 200 and "/static/app.js" in html
    assert "default-src 'self'" in index.headers["Content-Security-Policy"]
    assert "http" not in html.replace("http-equiv", "")
    for asset in ("/static/app.js", "/static/app.css"):
        resp = await client.get(asset)
        assert resp.status == 200 and "http://" not in await resp.text(), asset
