"""A running chit group with open dues, for the counter and statement tests.

Four members (enrolled through the member service) hold tickets in one started group of
₹8,00,000; periods are raised as an auction's close would raise them (the ledger's
``dues_writes``), so each member owes ₹1,50,000 for period 1 (won at 30 %: share
₹50,000, commission ₹40,000).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from app.services.actors import Actor
from app.services.auctions.rules import Settlement
from app.services.context import ServiceContext
from app.services.group_terms import registration_key
from app.services.groups import GroupService
from app.services.ledger import check_ledger
from app.services.members import MemberService
from tests.builders import CHECKER, sanction
from tests.test_ledger import raise_dues

RAVI = Actor("emp-1", "Ravi Kumar", "employee")
FARAH = Actor("emp-2", "Farah Khan", "employee")
ADMIN = Actor("adm-1", "Lakshmi Iyer", "admin")
LAKH = 1_00_000_00
NAMES = ("Asha Rao", "Vikram Singh", "Meena Pillai", "Arjun Das")
PHONES = ("+919812345670", "+919812345671", "+919812345672", "+919812345673")
IFSC = "SBIN0001234"


@dataclass(frozen=True)
class Books:
    group_id: str
    group_name: str
    members: list[str]
    periods: dict[int, Settlement]
    registration_no: str

    def receipt_no(self, period: int, serial: int) -> str:
        """A receipt's number: the group by its registration number, not its id."""
        return f"{registration_key(self.registration_no)}/P{period}/{serial:03d}"


def open_books(
    ctx: ServiceContext,
    *,
    gross: int = 8 * LAKH,
    periods: tuple[int, ...] = (1,),
    name: str = "Kaveri 8L",
    names: tuple[str, ...] = NAMES,
    phones: tuple[str, ...] = PHONES,
) -> Books:
    """A started group of len(names) members with the dues of ``periods`` raised (each
    won at 30 %, drawn on 20 Nov 2026, due 30 Nov 2026)."""
    people = MemberService(ctx)
    members = [people.enroll(RAVI, n, p).id for n, p in zip(names, phones, strict=True)]
    groups = GroupService(ctx)
    registration_no = sanction()
    group = groups.create_group(
        RAVI, name, gross_paise=gross, members=len(members), start_date=date(2026, 10, 20),
        registration_no=registration_no,
    )  # fmt: skip
    groups.approve_terms(CHECKER, group.id)
    for member_id in members:
        groups.enroll(RAVI, group.id, member_id)
    groups.start(RAVI, group.id)
    raised = {
        period: raise_dues(ctx, group.id, group.agreement, period, gross * 30 // 100, members)
        for period in periods
    }
    return Books(group.id, name, members, raised, registration_no)


def sound(ctx: ServiceContext) -> bool:
    """The ledger balances and the dues agree with the members' receivables."""
    ok, report = check_ledger(ctx)
    assert ok, report
    return ok
