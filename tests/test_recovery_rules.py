"""Recovery pipeline: every (from, to) pair, roles, dues, write-off approval, clocks."""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from app.kernel.errors import KnownError, PermissionDenied, ValidationError
from app.services.recovery import Stage
from app.services.recovery.rules import (
    WriteOffRequest,
    check_move,
    check_write_off_request,
    next_stages,
    statutory_clocks,
)

NAMES = ["missed", "contacted", "notice", "follow_up", "legal", "resolved", "written_off"]
OPEN_NAMES = NAMES[:5]
# Written out by hand from DOMAIN.md, independently of the module's tables.
ALLOWED = {
    ("missed", "contacted"),
    ("contacted", "notice"),
    ("notice", "follow_up"),
    ("follow_up", "legal"),
    ("legal", "written_off"),
    *((stage, "resolved") for stage in OPEN_NAMES),
}
REQUEST = WriteOffRequest(requested_by="admin-a", requester_role="admin", reason="untraceable")


def _attempt(current: str, target: str) -> None:
    """Try the move in the most favourable circumstances the target allows."""
    check_move(
        current,
        target,
        "admin",
        dues_cleared=target == "resolved",
        reason="test",
        actor_id="admin-b",
        request=REQUEST,
    )


@pytest.mark.parametrize(("current", "target"), list(itertools.product(NAMES, NAMES)))
def test_every_pair(current: str, target: str) -> None:
    if (current, target) in ALLOWED:
        _attempt(current, target)
        assert Stage(target) in next_stages(current)
        return
    with pytest.raises(ValidationError) as info:
        _attempt(current, target)
    assert info.value.message.startswith(f"Cannot move from {current} to {target}: ")
    assert Stage(target) not in next_stages(current)


def test_next_stages_match_the_table() -> None:
    for current in NAMES:
        expected = {target for (source, target) in ALLOWED if source == current}
        assert {str(s) for s in next_stages(current)} == expected
    assert next_stages("legal") == (Stage.RESOLVED, Stage.WRITTEN_OFF)
    assert next_stages(Stage.MISSED) == (Stage.CONTACTED, Stage.RESOLVED)


@pytest.mark.parametrize(
    ("current", "target", "expected"),
    [
        (
            "contacted",
            "legal",
            "Cannot move from contacted to legal: cases move forward one stage at a time "
            "(next: notice).",
        ),
        ("notice", "contacted", "Cannot move from notice to contacted: cases never move back"),
        ("notice", "written_off", "a case is written off only from legal (next: follow_up)"),
        ("resolved", "missed", "the case is closed (resolved)"),
        ("written_off", "resolved", "the case is closed (written_off)"),
        ("legal", "legal", "the case is already there"),
    ],
)
def test_refusals_explain_themselves(current: str, target: str, expected: str) -> None:
    with pytest.raises(ValidationError) as info:
        _attempt(current, target)
    assert expected in info.value.message


@pytest.mark.parametrize("stage", OPEN_NAMES)
def test_resolve_needs_cleared_dues(stage: str) -> None:
    with pytest.raises(ValidationError, match="dues are not cleared"):
        check_move(stage, "resolved", "employee", dues_cleared=False, reason="paid?")
    check_move(stage, "resolved", "employee", dues_cleared=True, reason="paid in full")
    check_move(stage, "resolved", "system", dues_cleared=True, reason="payment received")


def test_cleared_dues_are_resolved_not_escalated() -> None:
    with pytest.raises(ValidationError, match="dues are cleared") as info:
        check_move("notice", "follow_up", "employee", dues_cleared=True, reason="x")
    assert info.value.hint == "Resolve the case instead."


@pytest.mark.parametrize("role", ["member", "system"])
def test_only_staff_escalate(role: str) -> None:
    with pytest.raises(PermissionDenied):
        check_move("missed", "contacted", role, dues_cleared=False, reason="called")
    check_move("missed", "contacted", "employee", dues_cleared=False, reason="called")


def test_members_cannot_resolve() -> None:
    with pytest.raises(PermissionDenied):
        check_move("missed", "resolved", "member", dues_cleared=True, reason="I paid")


def test_every_move_needs_a_reason() -> None:
    with pytest.raises(ValidationError, match="reason is required"):
        check_move("missed", "contacted", "admin", dues_cleared=False, reason="  ")


def test_write_off_request_only_by_an_admin_from_legal() -> None:
    check_write_off_request("legal", "admin", dues_cleared=False, reason="untraceable")
    with pytest.raises(PermissionDenied, match="Only an admin"):
        check_write_off_request("legal", "employee", dues_cleared=False, reason="untraceable")
    with pytest.raises(ValidationError, match="only from legal"):
        check_write_off_request("follow_up", "admin", dues_cleared=False, reason="untraceable")
    with pytest.raises(ValidationError, match="dues are cleared"):
        check_write_off_request("legal", "admin", dues_cleared=True, reason="untraceable")
    with pytest.raises(ValidationError, match="reason is required"):
        check_write_off_request("legal", "admin", dues_cleared=False, reason="")


@pytest.mark.parametrize(
    ("approver_role", "approver_id", "write_off", "expected"),
    [
        ("admin", "admin-b", None, "second person's approval"),
        ("admin", "admin-a", REQUEST, "cannot approve it"),
        ("admin", "", REQUEST, "cannot approve it"),
        ("member", "member-9", REQUEST, "may not approve"),
        ("admin", "admin-b", WriteOffRequest("emp-1", "employee", "x"), "only an admin may"),
    ],
)
def test_write_off_needs_a_second_person(
    approver_role: str, approver_id: str, write_off: WriteOffRequest | None, expected: str
) -> None:
    with pytest.raises(PermissionDenied, match=expected):
        check_move(
            "legal",
            "written_off",
            approver_role,
            dues_cleared=False,
            reason="approved",
            actor_id=approver_id,
            request=write_off,
        )


@pytest.mark.parametrize("approver_role", ["admin", "employee"])
def test_write_off_approved_by_another_staff_member(approver_role: str) -> None:
    check_move(
        "legal",
        "written_off",
        approver_role,
        dues_cleared=False,
        reason="approved",
        actor_id="staff-b",
        request=REQUEST,
    )
    with pytest.raises(ValidationError, match="dues are cleared"):
        check_move(
            "legal",
            "written_off",
            approver_role,
            dues_cleared=True,
            reason="approved",
            actor_id="staff-b",
            request=REQUEST,
        )


def test_unknown_stage_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="Unknown recovery stage 'closed'"):
        next_stages("closed")
    with pytest.raises(KnownError):
        check_move("missed", "closed", "admin", dues_cleared=False, reason="x")


def test_statutory_clocks() -> None:
    clocks = statutory_clocks(date(2026, 3, 1))
    assert clocks == {
        "notice_send_by": date(2026, 3, 15),
        "reinstate_by": date(2026, 3, 8),
        "removal_from": date(2026, 3, 9),
    }
    later = statutory_clocks(date(2026, 3, 1), sent_on=date(2026, 3, 10))
    assert later["notice_send_by"] == date(2026, 3, 15)
    assert later["reinstate_by"] == date(2026, 3, 17)
    with pytest.raises(ValidationError):
        statutory_clocks(date(2026, 3, 1), sent_on=date(2026, 2, 28))
