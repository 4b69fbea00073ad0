"""Members: enrolment with a unique mobile number, look-up by phone, search."""

from __future__ import annotations

import threading

import pytest

from app.kernel.errors import Conflict, FieldErrors, KnownError, PermissionDenied, ValidationError
from app.services.actors import Actor
from app.services.context import ServiceContext
from app.services.members import Member, MemberService, MobileTaken, Nominee
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
    assert err.value.message == "+91 XXXXXX3210 already belongs to Lakshmi Devi (M-0001)."
    assert isinstance(err.value, MobileTaken)
    assert err.value.holder_id == first.id
    assert err.value.field_errors == {"phone": err.value.message}
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


def test_every_wrong_field_is_named_and_nothing_is_written(
    ctx: ServiceContext, members: MemberService
) -> None:
    before = len(list(ctx.pipeline.wal.read()))
    with pytest.raises(FieldErrors) as err:
        members.enroll(
            EMPLOYEE,
            "",
            "",
            address="x" * 301,
            nominee="R2-D2",
            relationship="",
        )
    assert err.value.field_errors == {
        "name": "Name is required.",
        "phone": "Mobile number is required.",
        "address": "Address is too long: at most 300 characters.",
        "nominee": "Nominee's name may contain only letters, spaces, dots, apostrophes and "
        "hyphens.",
    }
    with pytest.raises(FieldErrors) as err:
        members.enroll(EMPLOYEE, "Asha Rao", "9876543210", nominee="Ravi Rao")
    assert err.value.field_errors == {
        "relationship": "Say how the nominee is related to the member."
    }
    with pytest.raises(FieldErrors) as err:
        members.enroll(EMPLOYEE, "Asha Rao", "9876543210", relationship="Son")
    assert set(err.value.field_errors) == {"nominee"}
    assert members.count() == 0
    assert len(list(ctx.pipeline.wal.read())) == before


def test_address_and_nominee_are_cleaned_and_kept(members: MemberService) -> None:
    member = members.enroll(
        EMPLOYEE,
        "Asha Rao",
        "9876543210",
        address=" 12, Anna Salai\r\n\r\n\r\n Chennai\u200b 600002 \x00",
        nominee=" Ravi   Rao ",
        relationship=" Son ",
    )
    assert member.address == "12, Anna Salai\n\nChennai 600002"
    assert member.nominee == Nominee("Ravi Rao", "Son")
    assert members.get(member.id) == member
    plain = members.enroll(EMPLOYEE, "Arun Kumar", "9123456789")
    assert (plain.address, plain.nominee) == ("", None)


def test_members_are_numbered_in_order_of_enrolment(members: MemberService) -> None:
    made = [
        members.enroll(EMPLOYEE, f"Person {c}", f"91234567{i:02d}") for i, c in enumerate("ABC")
    ]
    assert [m.number for m in made] == [1, 2, 3]
    assert [m.member_no for m in made] == ["M-0001", "M-0002", "M-0003"]
    assert made[0].to_json()["member_no"] == "M-0001"


def test_concurrent_enrolments_get_different_numbers(members: MemberService) -> None:
    made: list[Member] = []

    def enrol(i: int) -> None:
        made.append(members.enroll(EMPLOYEE, f"Person {chr(65 + i)}", f"91234500{i:02d}"))

    threads = [threading.Thread(target=enrol, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(m.number or 0 for m in made) == list(range(1, 9))


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
