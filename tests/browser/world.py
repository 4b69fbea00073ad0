"""A small populated world for page tests: three members in one running chit group."""

from __future__ import annotations

from dataclasses import dataclass

from app.bootstrap import Runtime
from app.services.actors import Actor
from app.services.auctions import Auction
from app.services.auctions import rules as auction_rules

STAFF = Actor("emp-1", "Esha (employee)", "employee")
CHECKER = Actor("emp-2", "Farid (employee)", "employee")
PHONES = ("+919876543210", "+919812345678", "+919800000003")
NAMES = ("Asha Verma", "Bala Rao", "Chitra Iyer")
RUPEE = 100


@dataclass(frozen=True)
class World:
    members: list[str]
    group_id: str
    phones: tuple[str, ...] = PHONES


def populate(
    runtime: Runtime,
    *,
    enroll: bool = True,
    people: tuple[tuple[str, str], ...] = tuple(zip(NAMES, PHONES, strict=True)),
    name: str = "Lakshmi 1.5L",
) -> World:
    """Enrol three members (``people``: name and phone each; unless ``enroll`` is False,
    when they exist already) and put them in a running ₹1,50,000 group whose first
    auction falls today."""
    services = runtime.services
    phones = tuple(p for _, p in people)
    if enroll:
        ids = [services.members.enroll(STAFF, n, p).id for n, p in people]
    else:
        found = [services.members.find_by_phone(p) for p in phones]
        ids = [m.id for m in found if m is not None]
    group = services.groups.create_group(
        STAFF,
        name,
        gross_paise=150_000 * RUPEE,
        members=3,
        start_date=runtime.ctx.clock.today(),
        registration_no=f"TN/CHIT/WEB/{name}",
    )
    services.groups.approve_terms(CHECKER, group.id)
    for member_id in ids:
        services.groups.enroll(STAFF, group.id, member_id)
    services.groups.start(STAFF, group.id)
    return World(ids, group.id, phones)


def open_auction(runtime: Runtime, world: World, duration_s: int = 600) -> Auction:
    """Open period 1's auction; this process holds the group's session lock."""
    return runtime.services.auctions.open_auction(STAFF, world.group_id, 1, duration_s)


ADMIN = Actor("adm-1", "Anil (admin)", "admin")


def own_history(runtime: Runtime, world: World) -> dict[str, int]:
    """Give the world's first member a record of each kind that is theirs in the log: a
    bid in period 1's auction (closed early by an admin, with them as winner), their
    instalment's receipt, and their agreement signature. The LSN of each, by action."""
    services, asha = runtime.services, world.members[0]
    me = Actor(asha, services.members.get(asha).name, "member")
    auction = open_auction(runtime, world)
    floor = auction_rules.discount_floor(services.groups.get_group(world.group_id).agreement)
    services.auctions.bid(me, auction.id, asha, floor)
    services.auctions.close_auction(
        ADMIN, auction.id, present=world.members[1:], force_reason="everyone is here"
    )
    due = next(d for d in services.ledger.dues_for(asha) if d.outstanding > 0)
    services.ledger.record_receipt(
        STAFF,
        group_id=world.group_id,
        period=due.period,
        member_id=asha,
        amount=due.outstanding,
        bank_ref="UTR-ASHA-P1",
        received_on=runtime.ctx.clock.today(),
    )
    text = services.agreements.text(world.group_id)
    services.agreements.sign(me, world.group_id, asha, text.sha256)
    return {r.action: r.lsn for r in runtime.pipeline.read() if r.action in OWN}


OWN = ("auction.bid", "receipt.record", "agreement.sign")
