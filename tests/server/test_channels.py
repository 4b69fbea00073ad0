"""The member channels over real websockets: own data only, live deltas, the bid action."""

from __future__ import annotations

import pytest
from aiohttp import web

from app.bootstrap import Runtime
from app.services.actors import Actor
from app.services.context import FixedClock
from tests.browser.world import STAFF, World, open_auction
from tests.server.wsutil import (
    OUTSIDER_PHONE,
    Client,
    bare,
    call,
    connect,
    staff_token,
    subscribe,
    token_for,
    until,
)


@pytest.fixture
def tokens(app: web.Application, runtime: Runtime, world: World) -> dict[str, str]:
    runtime.services.members.enroll(STAFF, "Dev Outsider", OUTSIDER_PHONE)
    return {
        "asha": bare(token_for(app, runtime, world.phones[0])),
        "bala": bare(token_for(app, runtime, world.phones[1])),
        "dev": bare(token_for(app, runtime, OUTSIDER_PHONE)),
        "staff": staff_token(runtime),
    }


async def test_member_channels_show_only_own_records(
    client: Client, world: World, tokens: dict[str, str]
) -> None:
    asha = await connect(client, tokens["asha"])
    for channel in ("member.timeline", "member.dues", "loans.mine"):
        assert await subscribe(asha, channel) == []
        refused = await call(asha, f"x-{channel}", channel + "x", "subscribe")
        assert refused["payload"]["code"] == "bad_message"
    other = await call(asha, "o", "loans.mine", "unsubscribe")
    assert other["event"] == "ack"
    peek = await call(asha, "p", "loans.mine", "subscribe", member_id=world.members[1])
    assert peek["event"] == "error" and peek["payload"]["code"] == "forbidden"
    staff = await connect(client, tokens["staff"])
    assert await subscribe(staff, "loans.mine", member_id=world.members[1]) == []


async def test_loan_status_changes_arrive_live(
    client: Client, runtime: Runtime, world: World, tokens: dict[str, str]
) -> None:
    asha, bala = await connect(client, tokens["asha"]), await connect(client, tokens["bala"])
    await subscribe(asha, "loans.mine")
    await subscribe(bala, "loans.mine")
    loans = runtime.services.loans
    member = runtime.services.members.get(world.members[0])
    loan_id = loans.apply(member_actor(member.id, member.name), member.id, 80_000_00, 12, "roof")
    added = await until(asha, lambda m: m["event"] == "delta")
    assert added["payload"][0]["kind"] == "added" and added["payload"][0]["id"] == loan_id
    data = added["payload"][0]["data"]
    assert data["status"] == "submitted" and data["amount_fmt"] == "₹80,000.00"
    assert data["loan_no"] == "L-0001"
    assert "score" not in data and "applied_by" not in data
    loans.reject(STAFF, loan_id, "income not shown")
    changed = await until(asha, lambda m: m["event"] == "delta")
    assert changed["payload"][0]["kind"] == "modified"
    assert changed["payload"][0]["data"]["status"] == "rejected"
    await bala.send_json({"channel": "loans.mine", "action": "unsubscribe", "request_id": "m"})
    reply = await bala.receive_json(timeout=5)
    assert reply["request_id"] == "m"  # no delta of asha's loan reached bala first


def member_actor(member_id: str, name: str) -> Actor:
    return Actor(member_id, name, "member")


async def test_bids_arrive_live_under_aliases_and_refusals_are_clear(
    client: Client, runtime: Runtime, world: World, tokens: dict[str, str], clock: FixedClock
) -> None:
    auction = open_auction(runtime, world)
    channel, status = f"auction.{auction.id}", f"auction.status.{auction.id}"
    asha, bala = await connect(client, tokens["asha"]), await connect(client, tokens["bala"])
    assert await subscribe(bala, channel) == []
    [room] = await subscribe(bala, status)
    assert room["data"]["status"] == "open" and room["data"]["best_discount"] is None
    assert "seed_sealed" not in room["data"] and "alias_key_sealed" not in room["data"]

    ack = await call(asha, "b1", channel, "bid", discount=7_500_00)
    assert ack["event"] == "ack" and ack["payload"]["discount_fmt"] == "₹7,500.00"
    seen = await until(bala, lambda m: m["channel"] == channel and m["event"] == "delta")
    bid = seen["payload"][0]["data"]
    assert bid["alias"] == ack["payload"]["alias"] and bid["discount"] == 7_500_00
    assert "member_id" not in bid and world.members[0] not in str(seen)
    best = await until(bala, lambda m: m["channel"] == status and m["event"] == "delta")
    assert best["payload"][0]["data"]["best_discount"] == 7_500_00

    refusals = {
        "b2": (7_500_00, "does not beat"),
        "b3": (1_000_00, "below the floor"),
        "b4": (50_000_00, "above this group's cap"),
        "b5": (8_123_00, "not on a ₹500.00 step"),
    }
    for request_id, (discount, words) in refusals.items():
        reply = await call(bala, request_id, channel, "bid", discount=discount)
        assert reply["event"] == "error" and words in reply["payload"]["message"], reply
    typed = await call(bala, "b6", channel, "bid", discount="8000")
    assert "whole paise" in typed["payload"]["message"]

    staff, dev = await connect(client, tokens["staff"]), await connect(client, tokens["dev"])
    staff_bid = await call(staff, "s1", channel, "bid", discount=8_000_00)
    assert staff_bid["payload"]["code"] == "forbidden"
    dev_watch = await call(dev, "d1", channel, "subscribe")
    assert dev_watch["payload"]["code"] == "not_found"  # as for an auction that is not there
    assert dev_watch["payload"]["message"] == "This is not an auction of your groups."
    assert (await call(dev, "d2", channel, "bid", discount=8_000_00))["payload"]["code"] == (
        "not_found"
    )
    missing = await call(dev, "d3", "auction.status.nope-1", "subscribe")
    assert missing["payload"]["code"] == "not_found"

    clock.advance(seconds=601)
    late = await call(bala, "b7", channel, "bid", discount=8_000_00)
    assert late["event"] == "error" and "closed" in late["payload"]["message"]
