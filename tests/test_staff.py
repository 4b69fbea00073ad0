"""Staff accounts and sign-in sessions on a real store and WAL, with a hand-set clock."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from app.kernel.errors import KnownError, PermissionDenied, ValidationError
from app.services.actors import Actor
from app.services.context import FixedClock, ServiceContext
from app.services.pipeline import ChangeSet
from app.services.staff import (
    WRONG,
    SignInThrottled,
    StaffService,
    hash_password,
    password_problems,
    token_id,
    verify_password,
)
from app.services.store import Write

PASSWORD = "Correct-horse-9"
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def staff(ctx: ServiceContext) -> StaffService:
    return StaffService(ctx, session_hours=12)


@pytest.fixture
def admin(staff: StaffService) -> Actor:
    return staff.create_first_admin("Asha Admin", "asha", PASSWORD).actor


def wal_text(ctx: ServiceContext) -> str:
    return ctx.pipeline.wal.path.read_text()


def actions(ctx: ServiceContext) -> list[str]:
    return [r.action for r in ctx.pipeline.wal.read()]


def test_password_hash_round_trip_and_format() -> None:
    stored = hash_password(PASSWORD)
    assert stored.startswith("$scrypt$ln=14,r=8,p=1$")
    assert verify_password(PASSWORD, stored)
    assert not verify_password(PASSWORD + "x", stored)
    assert hash_password(PASSWORD) != stored
    assert not verify_password(PASSWORD, "not a hash")


@pytest.mark.parametrize(
    ("password", "username", "fragment"),
    [
        ("Short-1", "", "at least 10 characters"),
        ("alllowercaseletters", "", "two kinds of character"),
        ("12345678901234", "", "two kinds of character"),
        ("xx-ravi.k-2024", "ravi.k", "username"),
    ],
)
def test_weak_passwords_are_explained(password: str, username: str, fragment: str) -> None:
    problems = password_problems(password, username)
    assert any(fragment in p for p in problems), problems


def test_a_good_password_has_no_problems() -> None:
    assert password_problems(PASSWORD, "asha") == []


def test_first_admin_only_on_an_empty_directory(staff: StaffService) -> None:
    assert staff.needs_setup() and not staff.has_admin()
    with pytest.raises(ValidationError, match="too weak"):
        staff.create_first_admin("Asha", "asha", "weak")
    account = staff.create_first_admin("Asha  Admin", "Asha", PASSWORD)
    assert (account.username, account.name, account.role) == ("asha", "Asha Admin", "admin")
    assert staff.has_admin() and not staff.needs_setup()
    with pytest.raises(PermissionDenied, match="already has staff"):
        staff.create_first_admin("Other", "other", PASSWORD)


def test_passwords_and_tokens_never_reach_the_wal_in_clear(
    ctx: ServiceContext, staff: StaffService, admin: Actor
) -> None:
    session = staff.sign_in("asha", PASSWORD)
    staff.sign_out(session.token)
    text = wal_text(ctx)
    assert PASSWORD not in text
    assert session.token not in text
    assert token_id(session.token) in text
    assert actions(ctx) == ["staff.setup", "staff.sign_in", "staff.sign_out"]


def test_sign_in_resume_expire_and_sign_out(
    ctx: ServiceContext, staff: StaffService, admin: Actor, clock: FixedClock
) -> None:
    session = staff.sign_in(" ASHA ", PASSWORD)
    assert session.actor == admin
    assert session.expires_at == START.replace(hour=21)
    resumed = staff.resume(session.token)
    assert resumed is not None and resumed.actor == admin
    assert staff.resume("forged-token") is None
    clock.advance(hours=12)
    assert staff.resume(session.token) is None
    second = staff.sign_in("asha", PASSWORD)
    staff.sign_out(second.token)
    assert staff.resume(second.token) is None
    staff.sign_out(second.token)


def test_wrong_password_and_unknown_user_get_the_same_message(
    staff: StaffService, admin: Actor
) -> None:
    with pytest.raises(ValidationError) as wrong_password:
        staff.sign_in("asha", "Not-the-password-1")
    with pytest.raises(ValidationError) as unknown_user:
        staff.sign_in("nobody", PASSWORD)
    assert wrong_password.value.message == unknown_user.value.message == WRONG
    with pytest.raises(ValidationError, match=WRONG):
        staff.sign_in("no/such user", PASSWORD)


def test_repeated_failures_slow_down(staff: StaffService, admin: Actor, clock: FixedClock) -> None:
    for _ in range(2):
        with pytest.raises(ValidationError) as err:
            staff.sign_in("asha", "Wrong-password-1")
        assert "wait" not in str(err.value)
    with pytest.raises(ValidationError, match="wait 2 seconds"):
        staff.sign_in("asha", "Wrong-password-1")
    with pytest.raises(SignInThrottled, match="Wait 2 seconds") as throttled:
        staff.sign_in("asha", PASSWORD)
    assert throttled.value.wait_seconds == 2
    clock.advance(seconds=1)
    with pytest.raises(SignInThrottled, match="Wait 1 second,"):
        staff.sign_in("asha", PASSWORD)
    clock.advance(seconds=1)
    with pytest.raises(ValidationError, match="wait 4 seconds"):
        staff.sign_in("asha", "Wrong-password-1")
    clock.advance(seconds=4)
    assert staff.sign_in("asha", PASSWORD).actor == admin
    with pytest.raises(ValidationError) as err:
        staff.sign_in("asha", "Wrong-password-1")
    assert "wait" not in str(err.value)


def test_parallel_guesses_cannot_skip_the_slowdown(staff: StaffService, admin: Actor) -> None:
    outcomes: list[type[BaseException]] = []
    mutex = threading.Lock()

    def guess() -> None:
        try:
            staff.sign_in("asha", "Wrong-password-1")
        except KnownError as exc:
            with mutex:
                outcomes.append(type(exc))

    threads = [threading.Thread(target=guess) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 8
    assert outcomes.count(ValidationError) <= 3
    assert SignInThrottled in outcomes


def test_a_member_account_is_refused(ctx: ServiceContext, staff: StaffService) -> None:
    member = {"name": "Meena", "username": "meena", "password": hash_password(PASSWORD)}
    write = Write("set", "members", "member-1", member)
    change = ChangeSet("member.create", "member", "member-1", [write])
    ctx.pipeline.commit(Actor("system", "TransactFlowOS", "system"), change)
    with pytest.raises(PermissionDenied, match="only employees, admins and auditors"):
        staff.sign_in("meena", PASSWORD)
    with pytest.raises(ValidationError, match=WRONG):
        staff.sign_in("meena", "Wrong-password-1")


def test_a_staff_record_with_a_member_role_is_refused(
    ctx: ServiceContext, staff: StaffService, admin: Actor
) -> None:
    account = staff.create_staff(admin, "Ravi", "ravi", PASSWORD)
    session = staff.sign_in("ravi", PASSWORD)
    write = Write("update", "staff", account.id, {"role": "member"})
    ctx.pipeline.commit(admin, ChangeSet("test.tamper", "staff", account.id, [write]))
    with pytest.raises(PermissionDenied, match="not a staff account"):
        staff.sign_in("ravi", PASSWORD)
    assert staff.resume(session.token) is None


def test_admins_manage_staff(staff: StaffService, admin: Actor) -> None:
    ravi = staff.create_staff(admin, "Ravi Kumar", "ravi", PASSWORD)
    assert (ravi.role, ravi.active) == ("employee", True)
    with pytest.raises(ValidationError, match="taken"):
        staff.create_staff(admin, "Another Ravi", "RAVI", PASSWORD)
    with pytest.raises(ValidationError, match="not a staff role"):
        staff.create_staff(admin, "Meena", "meena", PASSWORD, role="member")
    session = staff.sign_in("ravi", PASSWORD)
    with pytest.raises(PermissionDenied, match="only admin"):
        staff.create_staff(session.actor, "Meena", "meena", PASSWORD)
    staff.disable(admin, ravi.id, reason="left the firm")
    assert staff.resume(session.token) is None
    with pytest.raises(PermissionDenied, match="disabled"):
        staff.sign_in("ravi", PASSWORD)
    staff.enable(admin, ravi.id)
    assert staff.change_role(admin, ravi.id, "admin").role == "admin"
    assert [a.username for a in staff.list_staff()] == ["asha", "ravi"]


def test_the_last_admin_stays(staff: StaffService, admin: Actor) -> None:
    with pytest.raises(PermissionDenied, match="last active admin"):
        staff.disable(admin, admin.id)
    with pytest.raises(PermissionDenied, match="last active admin"):
        staff.change_role(admin, admin.id, "employee")
    other = staff.create_staff(admin, "Ravi", "ravi", PASSWORD, role="admin")
    staff.change_role(admin, admin.id, "employee", reason="handing over")
    with pytest.raises(PermissionDenied, match="no longer an active admin"):
        staff.disable(admin, other.id)
    ravi = staff.sign_in("ravi", PASSWORD).actor
    with pytest.raises(PermissionDenied, match="last active admin"):
        staff.disable(ravi, ravi.id)


def test_a_new_password_or_disabling_ends_every_session(staff: StaffService, admin: Actor) -> None:
    ravi = staff.create_staff(admin, "Ravi Kumar", "ravi", PASSWORD)
    desk, laptop = staff.sign_in("ravi", PASSWORD), staff.sign_in("ravi", PASSWORD)
    with pytest.raises(PermissionDenied, match="only admin"):
        staff.set_password(desk.actor, admin.id, "Another-horse-42")
    with pytest.raises(ValidationError, match="too weak"):
        staff.set_password(desk.actor, ravi.id, "short")
    staff.set_password(desk.actor, ravi.id, "Another-horse-42")
    assert staff.resume(desk.token) is None and staff.resume(laptop.token) is None
    with pytest.raises(KnownError, match="Wrong username"):
        staff.sign_in("ravi", PASSWORD)
    again = staff.sign_in("ravi", "Another-horse-42")
    staff.disable(admin, ravi.id)
    staff.enable(admin, ravi.id)
    assert staff.resume(again.token) is None


def events_of(ctx: ServiceContext, action: str) -> list[dict[str, object]]:
    return [r.change["event"] for r in ctx.pipeline.wal.read() if r.action == action]


def test_the_log_says_which_sign_ins_failed(
    ctx: ServiceContext, staff: StaffService, admin: Actor, clock: FixedClock
) -> None:
    """A failure is one staff.sign_in_failed record, a success one staff.sign_in."""
    with pytest.raises(ValidationError):
        staff.sign_in("asha", "Wrong-password-1")
    with pytest.raises(ValidationError):
        staff.sign_in("nobody", "Wrong-password-1")
    assert actions(ctx)[1:] == ["staff.sign_in_failed", "staff.sign_in_failed"]
    assert events_of(ctx, "staff.sign_in_failed")[0] == {
        "type": "staff.sign_in_failed",
        "failures": 1,
        "why": "wrong username or password",
    }
    assert staff.get(admin.id).last_sign_in_at is None
    clock.advance(minutes=5)
    staff.sign_in("asha", PASSWORD)
    assert actions(ctx)[-1] == "staff.sign_in"
    assert staff.get(admin.id).last_sign_in_at == clock.now().isoformat()
    with pytest.raises(ValidationError):
        staff.sign_in("asha", "Wrong-password-1")
    assert events_of(ctx, "staff.sign_in_failed")[-1]["failures"] == 1  # counted afresh


def test_a_disabled_account_with_the_right_password_is_a_failed_sign_in(
    ctx: ServiceContext, staff: StaffService, admin: Actor
) -> None:
    ravi = staff.create_staff(admin, "Ravi", "ravi", PASSWORD)
    staff.disable(admin, ravi.id, "left the firm")
    with pytest.raises(PermissionDenied, match="disabled"):
        staff.sign_in("ravi", PASSWORD)
    assert events_of(ctx, "staff.sign_in_failed") == [
        {"type": "staff.sign_in_failed", "failures": 1, "why": "This staff account is disabled."}
    ]


def test_a_person_changes_their_own_password_only_with_the_current_one(
    ctx: ServiceContext, staff: StaffService, admin: Actor
) -> None:
    session = staff.sign_in("asha", PASSWORD)
    with pytest.raises(ValidationError, match="current password is not right"):
        staff.change_password(admin, "Not-the-password-1", "Brand-new-pass-2")
    with pytest.raises(ValidationError, match="same as the current"):
        staff.change_password(admin, PASSWORD, PASSWORD)
    with pytest.raises(ValidationError, match="too weak"):
        staff.change_password(admin, PASSWORD, "weak")
    staff.change_password(admin, PASSWORD, "Brand-new-pass-2")
    assert staff.resume(session.token) is None
    assert staff.sign_in("asha", "Brand-new-pass-2").actor == admin
