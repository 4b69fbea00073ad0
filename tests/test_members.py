"""Members: enrolment with a unique mobile number, look-up by phone, search."""

from __future__ import annotations

import threading

import pytest

from app.kernel.errors import Conflict, KnownError, PermissionDenied, ValidationError
from app.services.actors import Actor
from app.services.context import ServiceContext
from app.services.members import Member, MemberService
from tests.builders import ADMIN, EMPLOYEE


@pytest.fixture
def members(ctx: ServiceContext) -> MemberService:
    return MemberService(ctx)


def test_enroll_normalises_and_masks_the_phone(ctx: ServiceContext, members: MemberService) -> None:
    member = members.enroll(EMPLOYEE, "  Lakshmi   Devi ", "098765 43210")
    assert member.name == "Lakshmi Devi"
    assert member.phone == "+919876543210"
    assert member.phone_masked == "+91 XXXXXX3210"
    assert (member.kyc_status, member.status) == ("none", "active")
    assert member.joined_at.startswith("2026-11-24T05:00")
    assert members.get(member.id) == member
    assert "9876543210" not in repr(member)
    assert member.to_json()["phone_masked"] == "+91 XXXXXX3210"
    assert "phone" not in member.to_json()
    record = list(ctx.pipeline.wal.read())[-1]
    assert (record.action, record.entity["id"], record.actor["id"]) == (
        "member.enroll",
        member.id,
        EMPLOYEE.id,
    )


def test_second_member_with_the_same_phone_is_a_conflict(members: MemberService) -> None:
    first = members.enroll(EMPLOYEE, "Lakshmi Devi", "+91 98765 43210")
    with pytest.raises(Conflict) as err:
        members.enroll(ADMIN, "Someone Else", "919876543210")
    assert "+91 XXXXXX3210" in err.value.message
    assert first.id in err.value.message
    assert [m.id for m in members.list_members()] == [first.id]


def test_concurrent_enrolments_with_one_phone_admit_one(members: MemberService) -> None:
    outcomes: list[object] = []

    def enrol(name: str) -> None:
        try:
            outcomes.append(members.enroll(EMPLOYEE, name, "9123456789"))
        except KnownError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=enrol, args=(f"Person {c}",)) for c in "ABCD"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(isinstance(o, Member) for o in outcomes) == 1
    assert sum(isinstance(o, Conflict) for o in outcomes) == 3
    assert members.count() == 1


def test_bad_name_and_phone_are_both_reported(members: MemberService) -> None:
    with pytest.raises(ValidationError) as err:
        members.enroll(EMPLOYEE, "1", "12345")
    assert "Name must have at least 2 characters." in err.value.message
    assert "Mobile number must have 10 digits; got 5." in err.value.message
    assert members.count() == 0


def test_only_staff_enrol(members: MemberService) -> None:
    with pytest.raises(PermissionDenied):
        members.enroll(Actor("mem-1", "A Member", "member"), "New Person", "9123456789")


def test_find_by_phone_accepts_any_usual_format(members: MemberService) -> None:
    member = members.enroll(EMPLOYEE, "Lakshmi Devi", "9876543210")
    for typed in ("9876543210", "+91 98765-43210", "09876543210", "919876543210"):
        assert members.find_by_phone(typed) == member
    assert members.find_by_phone("9000000000") is None
    with pytest.raises(ValidationError):
        members.find_by_phone("hello")


def test_search_by_name_or_last_digits(members: MemberService) -> None:
    lakshmi = members.enroll(EMPLOYEE, "Lakshmi Devi", "9876543210")
    arun = members.enroll(EMPLOYEE, "Arun Kumar", "9123400001")
    devika = members.enroll(EMPLOYEE, "Devika Rao", "9123400002")
    assert members.search("devi") == [devika, lakshmi]
    assert members.search("3210") == [lakshmi]
    assert members.search("KUMAR") == [arun]
    assert members.search("") == [arun, devika, lakshmi]
    assert members.search("nobody") == []
    assert members.list_members(kyc_status="none", limit=2) == [arun, devika]
    assert members.list_members(status="removed") == []
    with pytest.raises(ValidationError):
        members.list_members(kyc_status="maybe")
