"""A small populated world for page tests: three members in one running chit group."""

from __future__ import annotations

from dataclasses import dataclass

from app.bootstrap import Runtime
from app.services.actors import Actor
from app.services.auctions import Auction

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
