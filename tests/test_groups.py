"""Chit groups: agreement validation, enrolment, start and derived cycle progress."""

from __future__ import annotations

import threading
from datetime import date

import pytest

from app.kernel.errors import Conflict, FieldErrors, NotFound, PermissionDenied, ValidationError
from app.services.actors import SYSTEM, Actor
from app.services.context import ServiceContext
from app.services.groups import AWAITING_APPROVAL, FORMING, RUNNING, GroupService
from app.services.pipeline import ChangeSet
from app.services.store import Query, Write
from tests.builders import ADMIN, CHECKER, EMPLOYEE, sanction

START = date(2026, 12, 5)
LAKH = 100_000 * 100


def add_members(
    ctx: ServiceContext, count: int, prefix: str = "m", status: str = "active"
) -> list[str]:
    ids = [f"{prefix}{i:02d}" for i in range(1, count + 1)]
    writes = [
        Write(
            "set", "members", m, {"name": f"Member {m}", "status": status, "kyc_status": "approved"}
        )
        for m in ids
    ]
    ctx.pipeline.commit(SYSTEM, ChangeSet("member.seed", "member", prefix, writes))
    return ids


def small_group(
    service: GroupService, members: int = 4, *, approved: bool = True, **terms: object
) -> str:
    """A forming group of ``members``, its terms approved by a second person unless told."""
    group = service.create_group(
        EMPLOYEE,
        "Diwali Savers",
        gross_paise=members * 10_000 * 100,
        members=members,
        start_date=START,
        registration_no=sanction(),
        **terms,  # type: ignore[arg-type]
    )
    if approved:
        service.approve_terms(CHECKER, group.id)
    return group.id


def test_create_stores_the_agreement_forming(ctx: ServiceContext) -> None:
    service = GroupService(ctx)
    group = service.create_group(
        ADMIN,
        "  Lakh Club ",
        gross_paise=5 * LAKH,
        members=50,
        start_date=START,
        registration_no=" tn/chit/2026/0142 ",
    )
    assert group.status == FORMING and group.terms_status == AWAITING_APPROVAL
    assert group.registration_no == "TN/CHIT/2026/0142"
    assert group.name == "Lakh Club"
    assert group.agreement.instalment_paise == 1_000_000
    assert group.agreement.commission_bps == 500
    assert group.agreement.discount_cap_bps == 3000
    assert group.agreement.bid_step_paise == 50_000
    assert service.list_groups(FORMING) == [group]
    assert service.list_groups(RUNNING) == []
    record = list(ctx.pipeline.wal.read())[-1]
    assert record.action == "group.create"
    assert record.actor["id"] == ADMIN.id


def test_every_wrong_term_is_listed_in_one_error_naming_its_field(ctx: ServiceContext) -> None:
    with pytest.raises(FieldErrors) as err:
        GroupService(ctx).create_group(
            EMPLOYEE,
            " ",
            gross_paise=1_000_001,
            members=3,
            start_date=START,
            commission_bps=800,
            bid_step_paise=0,
            registration_no="",
        )
    fields = err.value.field_errors
    assert set(fields) == {"name", "chit_value", "commission", "bid_step", "registration_no"}
    assert fields["name"].startswith("Group name is required")
    assert "Chit value: " in fields["chit_value"]
    assert "must divide evenly among 3 members" in fields["chit_value"]
    assert "above the legal maximum of 7.00%" in fields["commission"]
    assert fields["bid_step"].startswith("Bid step: ")
    assert fields["registration_no"].startswith("Registration (sanction) number is required")
    assert "has 5 problems" in err.value.message
    assert ctx.store.query(Query("groups")) == []


@pytest.mark.parametrize(
    ("terms", "expected"),
    [
        ({"members": 1, "gross_paise": 100_000}, "at least 2 members"),
        ({"members": 4, "gross_paise": 100_000, "commission_bps": 701}, "legal maximum"),
        ({"members": 4, "gross_paise": 100_000, "discount_cap_bps": 400}, "discount cap"),
        (
            {"members": 4, "gross_paise": 100_000, "foreman_takes_first": True},
            "name the member who holds the foreman's ticket",
        ),
    ],
)
def test_invalid_terms_refused(
    ctx: ServiceContext, terms: dict[str, object], expected: str
) -> None:
    with pytest.raises(ValidationError, match=expected):
        GroupService(ctx).create_group(
            EMPLOYEE,
            "G",
            start_date=START,
            registration_no=sanction(),
            **terms,  # type: ignore[arg-type]
        )


def test_seven_percent_commission_is_allowed(ctx: ServiceContext) -> None:
    group = GroupService(ctx).create_group(
        EMPLOYEE,
        "G",
        gross_paise=LAKH,
        members=10,
        start_date=START,
        commission_bps=700,
        registration_no=sanction(),
    )
    assert group.agreement.commission_paise == 700_000


def test_members_cannot_create_or_enrol(ctx: ServiceContext) -> None:
    service = GroupService(ctx)
    member = Actor("m01", "Member", "member")
    with pytest.raises(PermissionDenied, match="may not create a chit group"):
        service.create_group(
            member, "G", gross_paise=LAKH, members=10, start_date=START, registration_no=sanction()
        )
    gid = small_group(service)
    add_members(ctx, 1)
    with pytest.raises(PermissionDenied, match="may not enrol"):
        service.enroll(member, gid, "m01")


def test_enrol_fill_and_start(ctx: ServiceContext) -> None:
    service = GroupService(ctx)
    gid = small_group(service)
    members = add_members(ctx, 4)
    with pytest.raises(Conflict, match="0 of its 4 tickets"):
        service.start(EMPLOYEE, gid)
    tickets = [service.enroll(EMPLOYEE, gid, m) for m in members]
    assert [t.ticket_no for t in tickets] == [1, 2, 3, 4]
    assert [t.id for t in service.tickets(gid)] == [f"{gid}-{n}" for n in (1, 2, 3, 4)]
    assert service.ticket_of(gid, "m03") == tickets[2]
    assert service.member_tickets("m02") == [tickets[1]]
    assert not tickets[0].prized
    group = service.start(ADMIN, gid, reason="full")
    assert group.status == RUNNING
    with pytest.raises(Conflict, match="already running"):
        service.start(ADMIN, gid)


def test_enrolment_refusals(ctx: ServiceContext) -> None:
    service = GroupService(ctx)
    gid = small_group(service, members=2)
    add_members(ctx, 3)
    add_members(ctx, 1, prefix="gone", status="removed")
    with pytest.raises(NotFound, match="No member with id 'nobody'"):
        service.enroll(EMPLOYEE, gid, "nobody")
    with pytest.raises(Conflict, match="removed"):
        service.enroll(EMPLOYEE, gid, "gone01")
    service.enroll(EMPLOYEE, gid, "m01")
    with pytest.raises(Conflict, match="already holds ticket 1"):
        service.enroll(EMPLOYEE, gid, "m01")
    service.enroll(EMPLOYEE, gid, "m02")
    with pytest.raises(Conflict, match="already has all 2 tickets"):
        service.enroll(EMPLOYEE, gid, "m03")
    service.start(EMPLOYEE, gid)
    with pytest.raises(Conflict, match="members join only while it is forming"):
        service.enroll(EMPLOYEE, gid, "m03")
    with pytest.raises(NotFound, match="chit group"):
        service.enroll(EMPLOYEE, "grp-missing", "m03")


def test_concurrent_enrolments_never_overfill(ctx: ServiceContext) -> None:
    service = GroupService(ctx)
    gid = small_group(service, members=3)
    members = add_members(ctx, 8)
    outcomes: list[str] = []
    barrier = threading.Barrier(len(members))

    def enrol(member_id: str) -> None:
        barrier.wait()
        try:
            service.enroll(EMPLOYEE, gid, member_id)
            outcomes.append("ok")
        except Conflict as exc:
            outcomes.append(exc.message)

    threads = [threading.Thread(target=enrol, args=(m,)) for m in members]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 3
    assert len(outcomes) == 8
    tickets = service.tickets(gid)
    assert sorted(t.ticket_no for t in tickets) == [1, 2, 3]
    assert len({t.member_id for t in tickets}) == 3
    assert service.get_group(gid).tickets_issued == 3


def test_concurrent_double_enrolment_of_one_member(ctx: ServiceContext) -> None:
    service = GroupService(ctx)
    gid = small_group(service, members=4)
    add_members(ctx, 1)
    barrier = threading.Barrier(4)
    errors: list[str] = []

    def enrol() -> None:
        barrier.wait()
        try:
            service.enroll(EMPLOYEE, gid, "m01")
        except Conflict as exc:
            errors.append(exc.message)

    threads = [threading.Thread(target=enrol) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(service.tickets(gid)) == 1
    assert len(errors) == 3


def test_foreman_holds_ticket_one(ctx: ServiceContext) -> None:
    service = GroupService(ctx)
    add_members(ctx, 1, prefix="fm")
    gid = small_group(service, foreman_takes_first=True, foreman_member_id="fm01")
    group = service.get_group(gid)
    assert group.foreman_member_id == "fm01"
    assert group.tickets_issued == 1
    assert [(t.ticket_no, t.member_id) for t in service.tickets(gid)] == [(1, "fm01")]
    with pytest.raises(NotFound, match="member"):
        small_group(service, foreman_member_id="ghost")


def test_cycle_progress_and_schedule(ctx: ServiceContext) -> None:
    service = GroupService(ctx)
    gid = service.create_group(
        EMPLOYEE,
        "Quarterly",
        gross_paise=4 * LAKH,
        members=4,
        start_date=date(2027, 1, 31),
        period_months=3,
        registration_no=sanction(),
    ).id
    group = service.get_group(gid)
    assert group.next_period == 1
    assert group.next_auction_date == date(2027, 1, 31)
    assert group.auction_date(2) == date(2027, 4, 30)
    assert group.auction_date(4) == date(2027, 10, 31)
    with pytest.raises(ValidationError, match="Period must be 1 to 4"):
        group.auction_date(5)
    progress = service.progress(gid)
    assert (progress.periods_done, progress.members, progress.progress_bps) == (0, 4, 0)
    assert progress.prized_tickets == 0


def test_unknown_status_filter(ctx: ServiceContext) -> None:
    with pytest.raises(ValidationError, match="Unknown group status"):
        GroupService(ctx).list_groups("sleeping")
    with pytest.raises(NotFound):
        GroupService(ctx).get_group("grp-none")


# -- maker-checker on the terms ---------------------------------------------------------------


def test_the_maker_cannot_approve_and_nobody_joins_before_a_checker_does(
    ctx: ServiceContext,
) -> None:
    service = GroupService(ctx)
    gid = small_group(service, approved=False)
    add_members(ctx, 4)
    assert service.get_group(gid).stage.endswith("await a second staff member's approval.")
    with pytest.raises(PermissionDenied, match="You formed group 'Diwali Savers'"):
        service.approve_terms(EMPLOYEE, gid)
    with pytest.raises(Conflict, match="terms await a second staff member's approval"):
        service.enroll(EMPLOYEE, gid, "m01")
    with pytest.raises(Conflict, match="terms await a second staff member's approval"):
        service.start(ADMIN, gid)
    group = service.approve_terms(CHECKER, gid, "Checked against the sanction order")
    assert group.terms_status == "approved" and group.checked_by_name == CHECKER.name
    record = list(ctx.pipeline.wal.read())[-1]
    assert (record.action, record.actor["id"]) == ("group.approve_terms", CHECKER.id)
    assert record.reason == "Checked against the sanction order"
    assert service.enroll(EMPLOYEE, gid, "m01").ticket_no == 1
    with pytest.raises(Conflict, match="already approved"):
        service.approve_terms(ADMIN, gid)


def test_withdrawing_needs_a_reason_and_frees_the_registration(ctx: ServiceContext) -> None:
    service = GroupService(ctx)
    terms = {"gross_paise": LAKH, "members": 10, "start_date": START}
    first = service.create_group(EMPLOYEE, "Typo Chit", registration_no="TN/CHIT/26/7", **terms)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="Reason is required"):
        service.withdraw(CHECKER, first.id, "  ")
    gone = service.withdraw(CHECKER, first.id, "Chit value should be ₹2,00,000")
    assert gone.status == "withdrawn"
    assert gone.stage == f"Withdrawn by {CHECKER.name}: Chit value should be ₹2,00,000"
    for attempt in (
        lambda: service.approve_terms(ADMIN, first.id),
        lambda: service.withdraw(EMPLOYEE, first.id, "again"),
        lambda: service.start(ADMIN, first.id),
    ):
        with pytest.raises(Conflict):
            attempt()
    again = service.create_group(EMPLOYEE, "Right Chit", registration_no="tn/chit/26/7", **terms)  # type: ignore[arg-type]
    assert again.registration_no == "TN/CHIT/26/7"
    service.withdraw(EMPLOYEE, again.id, "Formed in the wrong branch")  # the maker's own
    assert {g.id for g in service.list_groups("withdrawn")} == {first.id, again.id}


def test_a_registration_number_is_one_groups(ctx: ServiceContext) -> None:
    service = GroupService(ctx)
    terms = {"gross_paise": LAKH, "members": 10, "start_date": START}
    held = service.create_group(EMPLOYEE, "First", registration_no="TN/CHIT/2026/0142", **terms)  # type: ignore[arg-type]
    for spelling in ("TN/CHIT/2026/0142", "tn-chit 2026 0142"):
        with pytest.raises(FieldErrors) as err:
            service.create_group(EMPLOYEE, "Second", registration_no=spelling, **terms)  # type: ignore[arg-type]
        assert list(err.value.field_errors) == ["registration_no"]
        assert f"already group 'First''s ({held.id})" in err.value.message
    assert [g.name for g in service.list_groups()] == ["First"]


def test_two_clerks_with_one_sanction_make_one_group(ctx: ServiceContext) -> None:
    service = GroupService(ctx)
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def create(n: int) -> None:
        barrier.wait()
        try:
            service.create_group(
                EMPLOYEE, f"G{n}", gross_paise=LAKH, members=10, start_date=START,
                registration_no="TN/CHIT/2026/0999",
            )  # fmt: skip
            outcomes.append("ok")
        except FieldErrors as exc:
            outcomes.append(exc.field_errors["registration_no"])

    threads = [threading.Thread(target=create, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 1 and len(outcomes) == 4
    assert len(service.list_groups()) == 1


def test_the_agreement_names_the_registration_and_old_groups_keep_their_text(
    ctx: ServiceContext,
) -> None:
    from app.services.agreements import AgreementService
    from app.services.auctions.rules import Agreement
    from app.services.groups import agreement_to_json

    service, texts = GroupService(ctx), AgreementService(ctx)
    gid = small_group(service)
    clauses = texts.text(gid).clauses
    number = service.get_group(gid).registration_no
    assert clauses[0] == (
        "1. The chit is sanctioned by the Registrar under section 4 of the Chit Funds Act, "
        f"1982, by registration number {number}."
    )
    old = {
        "name": "Old Chit",
        "agreement": agreement_to_json(Agreement(4 * 10_000 * 100, 4)),
        "start_date": START.isoformat(),
        "status": RUNNING,
        "tickets_issued": 4,
        "periods_done": 0,
        "created_at": "2025-01-01T00:00:00+00:00",
    }
    ctx.pipeline.commit(
        SYSTEM, ChangeSet("group.seed", "group", "g-old", [Write("set", "groups", "g-old", old)])
    )
    legacy = texts.text("g-old")
    assert legacy.clauses[0].startswith("1. The chit amount is ₹40,000.00")
    assert "registration" not in legacy.text
    assert service.get_group("g-old").terms_status == "approved"  # before the rule: approved


def test_a_withdrawn_groups_foreman_is_not_an_active_member(ctx: ServiceContext) -> None:
    from app.services.kpis import KpiService
    from app.services.ledger import LedgerService

    service = GroupService(ctx)
    add_members(ctx, 1, prefix="fm")
    gid = small_group(service, approved=False, foreman_takes_first=True, foreman_member_id="fm01")
    kpis = KpiService(ctx, ledger=LedgerService(ctx))
    assert kpis.kpis().active_members == 1
    service.withdraw(CHECKER, gid, "Wrong commission")
    assert kpis.kpis().active_members == 0
    assert [h.verdict for h in kpis.group_health()] == ["–"]
