"""The members' register: search by name, mobile or member number, pages from a cursor,
new members seen at once, and each row's figures against the services that own them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from app.services.collections import MEMBER_DIRECTORY, MEMBERS
from app.services.context import ServiceContext, close_context, make_context
from app.services.member_index import MemberIndex, entry_of, parse
from app.services.member_register import RegisterRow
from app.services.members import MemberService
from app.services.pipeline import ChangeSet
from app.services.registry import Services
from app.services.store import Query, Write
from tests.builders import EMPLOYEE, PDF, aadhaar, pan, services_of
from tests.reports.conftest import Demo, fresh_demo

NAMES = ["Asha Rao", "Lakshmi Devi", "Arun Kumar", "Devika Rao", "Ravi Shankar"]
FIRST = ("Kiran", "Lata", "Mohan", "Nisha", "Omkar")
LAST = ("Bhat", "Das", "Iyer", "Jain", "Nair", "Pai", "Rao", "Sen", "Shah")


@pytest.fixture
def services(ctx: ServiceContext) -> Iterator[Services]:
    made = services_of(ctx)
    yield made
    made.close()


def enrol(services: Services, names: list[str]) -> list[str]:
    return [
        services.members.enroll(EMPLOYEE, name, f"98765{i:05d}").id for i, name in enumerate(names)
    ]


def names(rows: list[RegisterRow]) -> list[str]:
    return [r.name for r in rows]


def test_search_by_words_of_a_name_in_any_order_and_case(services: Services) -> None:
    enrol(services, NAMES)
    page = services.member_register.page
    assert names(page("").rows) == sorted(NAMES)
    assert names(page("rao").rows) == ["Asha Rao", "Devika Rao"]
    assert names(page("RAO asha").rows) == ["Asha Rao"]
    assert names(page("  devi  ").rows) == ["Devika Rao", "Lakshmi Devi"]
    assert page("nobody").rows == [] and page("nobody").matches == 0
    assert (page("rao").matches, page("rao").total) == (2, 5)


def test_search_by_mobile_number_or_member_number(services: Services) -> None:
    ids = enrol(services, NAMES)
    page = services.member_register.page
    # the last digits a masked number shows, or the whole number in any usual form
    for typed in ("00003", "+91 98765 00003", "098765-00003", "919876500003"):
        assert names(page(typed).rows) == ["Devika Rao"], typed
    for typed in ("M-0002", "m2", "M 0002", "2"):
        assert names(page(typed).rows) == ["Lakshmi Devi"], typed
    assert names(page(ids[4]).rows) == ["Ravi Shankar"]
    assert page("M-0099").rows == []


def test_what_a_search_means() -> None:
    assert parse("M-0042").number == 42
    assert parse("3210").number == 3210 and parse("3210").phone == "3210"
    assert parse("42").phone == ""  # too few digits to mean a mobile number
    assert parse("0042").number is None and parse("M-0042").number == 42
    assert parse("९८७६५४३२१०").phone == "9876543210"  # Devanagari digits
    assert parse("Asha  RAO").words == ("asha", "rao")
    assert parse("").everyone and parse("   ").everyone


def test_pages_follow_each_other_from_a_cursor(services: Services) -> None:
    made = [f"{first} {last}" for first in FIRST for last in LAST]
    enrol(services, made)
    register = services.member_register
    seen: list[str] = []
    first = register.page("", limit=20)
    assert (len(first.rows), first.more, first.matches) == (20, True, 45)
    page = first
    while True:
        seen += names(page.rows)
        if not page.more:
            break
        page = register.page("", after_row=page.rows[-1].cursor, limit=20)
    assert seen == sorted(made)
    found = register.page("kiran", limit=3)
    assert names(found.rows) == ["Kiran Bhat", "Kiran Das", "Kiran Iyer"] and found.more
    rest = register.page("kiran", after_row=found.rows[-1].cursor, limit=50)
    assert names(rest.rows) == [f"Kiran {last}" for last in LAST[3:]] and not rest.more


def test_a_member_enrolled_after_the_index_was_built_is_found(
    ctx: ServiceContext, services: Services
) -> None:
    enrol(services, NAMES[:2])
    assert services.member_register.page("").total == 2
    # enrolled through another service (another index), as another process would
    elsewhere = MemberService(ctx)
    late = elsewhere.enroll(EMPLOYEE, "Zoya Khan", "9123456789")
    page = services.member_register.page("zoya")
    assert [(r.member_id, r.member_no) for r in page.rows] == [(late.id, "M-0003")]
    assert services.member_register.page("").total == 3


def test_rows_show_status_and_kyc_as_they_are_now(services: Services) -> None:
    [asha] = enrol(services, ["Asha Rao"])
    assert services.member_register.page("asha").rows[0].kyc_status == "none"
    services.kyc.submit(
        EMPLOYEE,
        asha,
        name="Asha Rao",
        phone="9876500000",
        pan=pan(1),
        aadhaar=aadhaar(1),
        account_number="000123456789",
        ifsc="SBIN0001234",
        documents=[("pan.pdf", PDF, "application/pdf")],
    )
    row = services.member_register.page("asha").rows[0]
    assert (row.kyc_status, row.status, row.phone_masked) == ("pending", "active", "+91 XXXXXX0000")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    made = fresh_demo(tmp_path_factory.mktemp("register") / "data")
    yield made
    made.services.close()
    close_context(made.ctx)


def _expected_late(services: Services, today: date) -> tuple[dict[str, int], dict[str, int]]:
    """What each member owes late on chits, from the ledger's overdue dues, and on loans,
    from each disbursed loan's schedule (read through the loan service)."""
    chits: defaultdict[str, int] = defaultdict(int)
    loans: defaultdict[str, int] = defaultdict(int)
    for due in services.ledger.overdue(today):
        chits[due.member_id] += due.outstanding
    for row in services.loans.inbox("disbursed"):
        for line in services.loans.detail(row.loan_id).schedule:
            if line.due_date and date.fromisoformat(line.due_date) < today and not line.paid:
                loans[row.member_id] += line.emi - line.paid_interest - line.paid_principal
    return dict(chits), dict(loans)


def test_each_row_agrees_with_the_ledger_the_loans_and_the_groups(demo: Demo) -> None:
    s = demo.services
    today = demo.ctx.clock.today()
    page = s.member_register.page("", limit=1000)
    assert page.total == s.members.count() == len(page.rows) > 0 and not page.more
    tickets: defaultdict[str, list[bool]] = defaultdict(list)
    for group in s.groups.list_groups():
        for t in s.groups.tickets(group.id):
            tickets[t.member_id].append(t.prized)
    chits, loans = _expected_late(s, today)
    assert any(chits.values()) and any(loans.values()), "the demo has both kinds late"
    for row in page.rows:
        member = s.members.get(row.member_id)
        assert (row.name, row.member_no, row.kyc_status) == (
            member.name,
            member.member_no,
            member.kyc_status,
        )
        assert (row.tickets, row.prized) == (
            len(tickets[row.member_id]),
            sum(tickets[row.member_id]),
        )
        assert row.overdue == chits.get(row.member_id, 0) + loans.get(row.member_id, 0), row
        assert (row.days_late > 0) == (row.overdue > 0)
    assert page.as_of == today


def test_the_register_holds_no_clear_mobile_number(demo: Demo, tmp_path: Path) -> None:
    rows = demo.services.member_register.page("", limit=1000).rows
    for row in rows:
        phone = demo.services.members.get(row.member_id).phone
        assert phone[-10:] not in repr(row)


def test_the_index_is_built_from_the_directory_unless_it_misses_a_member(
    ctx: ServiceContext, services: Services
) -> None:
    ids = enrol(services, NAMES)
    scanned = sorted(entry_of(d) for d in ctx.store.stream(Query(MEMBERS)))
    listed = MemberIndex(ctx.store).from_directory()
    assert listed is not None and sorted(listed) == scanned
    assert {d.id for d in ctx.store.stream(Query(MEMBER_DIRECTORY))} == {"000000"}
    # a member enrolled before numbering and the directory began
    old = {"name": "Old Member", "phone": "+917000000009", "kyc_status": "none"}
    change = ChangeSet(
        "member.enroll", "member", "mem-0ld", [Write("set", MEMBERS, "mem-0ld", old)]
    )
    ctx.pipeline.commit(EMPLOYEE, change)
    assert MemberIndex(ctx.store).from_directory() is None
    fresh = MemberService(ctx)
    assert [m.id for m in fresh.search("old member")] == ["mem-0ld"]
    assert [m.member_no for m in fresh.search("old member")] == ["mem-0ld"]
    assert len(fresh.search("")) == len(ids) + 1


def test_the_register_on_the_firestore_store(firestore_project: str, tmp_path: Path) -> None:
    from app.services.store.firestore import FirestoreStore

    store = FirestoreStore.open(firestore_project)
    ctx = make_context(tmp_path / "data", store=store)
    services = services_of(ctx)
    try:
        ids = enrol(services, NAMES)
        assert MemberIndex(ctx.store).from_directory() is not None
        page = services.member_register.page
        assert names(page("rao").rows) == ["Asha Rao", "Devika Rao"]
        assert [r.member_id for r in page("M-0005").rows] == [ids[4]]
        assert names(page("", limit=2).rows) == ["Arun Kumar", "Asha Rao"]
        late = services.members.enroll(EMPLOYEE, "Zoya Khan", "9123456789")
        assert [r.member_id for r in page("zoya").rows] == [late.id]
        assert page("").total == 6
    finally:
        services.close()
        close_context(ctx)
