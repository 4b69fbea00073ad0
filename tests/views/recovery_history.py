"""A small real history for the view tests.

:func:`populate` builds it: a running group whose period 1 was auctioned 75 days ago,
three members who did not pay in full, and the recovery cases the sweep opened for them,
moved through the stages. It runs on a FixedClock context that is closed before the
runtime opens the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from app.services.actors import SYSTEM, Actor
from app.services.auctions import AuctionService
from app.services.auctions import rules as auction_rules
from app.services.context import FixedClock, ServiceContext, close_context, make_context
from app.services.groups import GroupService
from app.services.ledger import LedgerService
from app.services.members import MemberService
from app.services.recovery import RecoveryService
from tests.builders import ADMIN, CHECKER, EMPLOYEE, sanction

R = 100
NAMES = ["Lakshmi Devi", "Arun Kumar", "Devika Rao", "Zoya Khan", "Imran Sheikh", "Meera Nair"]


@dataclass(frozen=True)
class Seeded:
    group_id: str
    forming_group_id: str
    members: list[str]
    missed_case: str
    notice_case: str
    legal_case: str


def _at(ctx: ServiceContext, day: date) -> None:
    clock = ctx.clock
    assert isinstance(clock, FixedClock)
    clock.set(datetime.combine(day, time(5, 0), UTC))


def _settle_period_one(ctx: ServiceContext, group_id: str, members: list[str]) -> None:
    room = AuctionService(ctx)
    auction = room.open_auction(EMPLOYEE, group_id, 1)
    group = GroupService(ctx).get_group(group_id)
    bidder = Actor(members[0], NAMES[0], "member")
    room.bid(bidder, auction.id, members[0], auction_rules.discount_floor(group.agreement) * 2)
    clock = ctx.clock
    assert isinstance(clock, FixedClock)
    clock.advance(seconds=601)
    room.close_auction(EMPLOYEE, auction.id, present=[members[1]])


def _pay(ctx: ServiceContext, gid: str, member: str, amount: int, ref: str) -> None:
    LedgerService(ctx).record_receipt(
        EMPLOYEE,
        group_id=gid,
        period=1,
        member_id=member,
        amount=amount,
        bank_ref=ref,
        received_on=ctx.clock.today(),
    )


def _walk_cases(ctx: ServiceContext, base: date, m: list[str]) -> dict[str, str]:
    rec = RecoveryService(ctx, ledger=LedgerService(ctx))
    _at(ctx, base + timedelta(days=40))
    rec.sweep(SYSTEM)
    case = {c.member_id: c.id for c in rec.cases(open_only=True)}
    for stage in ("contacted", "notice", "follow_up", "legal"):
        rec.move(EMPLOYEE, case[m[1]], stage, f"Escalated to {stage}.")
    rec.request_write_off(ADMIN, case[m[1]], "Member left the city; no assets found.")
    rec.move(EMPLOYEE, case[m[3]], "contacted", "Called; promised to pay.")
    _at(ctx, base + timedelta(days=70))
    rec.move(EMPLOYEE, case[m[3]], "notice", "Promise not kept; written notice.")
    _at(ctx, base + timedelta(days=75))
    rec.sweep(SYSTEM)
    return {"missed": case[m[2]], "notice": case[m[3]], "legal": case[m[1]]}


def populate(data_dir: Path) -> Seeded:
    """A real history ending today (see the module docstring)."""
    base = date.today() - timedelta(days=75)
    ctx = make_context(data_dir, clock=FixedClock(datetime.combine(base, time(5, 0), UTC)))
    try:
        people = MemberService(ctx)
        m = [people.enroll(ADMIN, n, f"98765432{i:02d}").id for i, n in enumerate(NAMES)]
        groups = GroupService(ctx)
        terms = {"gross_paise": 4_00_000 * R, "members": 4, "bid_step_paise": 500 * R}
        gid = groups.create_group(
            EMPLOYEE,
            "Shanti 4L",
            start_date=base,
            registration_no=sanction(),
            **terms,  # type: ignore[arg-type]
        ).id
        groups.approve_terms(CHECKER, gid)
        for mid in m[:4]:
            groups.enroll(EMPLOYEE, gid, mid)
        groups.start(EMPLOYEE, gid)
        _settle_period_one(ctx, gid, m)
        net = LedgerService(ctx).period_collections(gid, 1).net
        _pay(ctx, gid, m[0], net, "UTR1001")
        _pay(ctx, gid, m[2], net // 2, "UTR1002")
        later = base + timedelta(days=90)
        forming = groups.create_group(
            EMPLOYEE,
            "Lakshmi 10L",
            gross_paise=10_00_000 * R,
            members=10,
            start_date=later,
            registration_no=sanction(),
        ).id
        groups.approve_terms(CHECKER, forming)
        for mid in m[4:]:
            groups.enroll(EMPLOYEE, forming, mid)
        cases = _walk_cases(ctx, base, m)
    finally:
        close_context(ctx)
    return Seeded(gid, forming, m, cases["missed"], cases["notice"], cases["legal"])
