"""What the audit report counts, from records written through a real pipeline: makers
paired with checkers (also a maker who checked their own action, which no service
allows), failed sign-ins, the period's bounds, and a line that cannot be read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.services.actors import SYSTEM, Actor
from app.services.audit_log import AuditLog
from app.services.context import FixedClock, ServiceContext, close_context, make_context
from app.services.events import KycRevealed, LoanRecommended, SignInAttemptCounted
from app.services.pipeline import ChangeSet
from app.services.staff import StaffService, WrongPassword
from app.services.store import Write
from tests.builders import ADMIN, EMPLOYEE, EMPLOYEE2

ON_1ST = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)


def commit(ctx: ServiceContext, actor: Actor, change: ChangeSet) -> int:
    return ctx.pipeline.commit(actor, change).lsn


def history(data_dir: object, stamp: FixedClock) -> ServiceContext:
    ctx = make_context(data_dir, clock=FixedClock(ON_1ST), log_clock=stamp.now)  # type: ignore[arg-type]
    commit(ctx, EMPLOYEE, ChangeSet.of(LoanRecommended("loan-1", EMPLOYEE.id), "loan-1", []))
    commit(ctx, EMPLOYEE, ChangeSet.of(LoanRecommended("loan-2", EMPLOYEE.id), "loan-2", []))
    stamp.advance(days=9)
    commit(ctx, EMPLOYEE2, ChangeSet("loan.approve", "loan", "loan-1", []))
    commit(ctx, EMPLOYEE, ChangeSet("loan.approve", "loan", "loan-2", []))  # own action
    commit(ctx, EMPLOYEE2, ChangeSet("loan.approve", "loan", "loan-3", []))  # no maker
    commit(ctx, ADMIN, ChangeSet.of(KycRevealed("mem-1", "account"), "mem-1", [], "bank query"))
    for failures in (1, 2, 3):
        merge = Write("merge", "staff_signin", "ravi", {"failures": failures})
        commit(ctx, SYSTEM, ChangeSet.of(SignInAttemptCounted(), "ravi", [merge]))
    stamp.advance(days=10)
    cleared = Write("delete", "staff_signin", "ravi")
    commit(ctx, EMPLOYEE, ChangeSet("staff.sign_in", "staff", EMPLOYEE.id, [cleared]))
    return ctx


def test_pairs_failed_sign_ins_and_the_period(data_dir: object) -> None:
    stamp = FixedClock(ON_1ST)
    ctx = history(data_dir, stamp)
    try:
        audit = AuditLog(ctx.pipeline.wal.path, ctx.clock)
        head = ctx.pipeline.head()[0]
        found = audit.digest(head, datetime(2026, 11, 5, tzinfo=UTC), datetime(2026, 11, 15))
    finally:
        close_context(ctx)
    assert (found.records, found.first.lsn, found.last.lsn) == (7, 3, 9)  # type: ignore[union-attr]
    assert found.by_action == {"loan.approve": 3, "kyc.reveal": 1, "staff.sign_in_attempt": 3}
    pairs = [(p.item, p.maker.lsn if p.maker else None, p.same_person) for p in found.pairs]
    assert pairs == [("loan-1", 1, False), ("loan-2", 2, True), ("loan-3", None, False)]
    assert [(r.member_id, r.field, r.record.reason) for r in found.reveals] == [
        ("mem-1", "account", "bank query")
    ]
    # The third attempt was the sign-in that followed (on the 20th, after the period).
    assert [(f.username, f.failures) for f in found.failed_signins] == [("ravi", 1), ("ravi", 2)]


def test_a_line_that_cannot_be_read_is_counted_not_fatal(data_dir: object) -> None:
    ctx = history(data_dir, FixedClock(ON_1ST))
    path = ctx.pipeline.wal.path
    head = ctx.pipeline.head()[0]
    close_context(ctx)
    lines = path.read_bytes().split(b"\n")
    lines[3] = lines[3][:80]
    path.write_bytes(b"\n".join(lines))
    found = AuditLog(path, FixedClock(ON_1ST)).digest(head)
    assert (found.unreadable, found.records) == (1, head - 1)


def test_failed_sign_ins_made_through_the_staff_service_are_listed(ctx: ServiceContext) -> None:
    staff = StaffService(ctx, session_hours=1)
    staff.create_first_admin("Lakshmi Iyer", "lakshmi", "demo-office-2026")
    for _ in range(2):
        with pytest.raises(WrongPassword):
            staff.sign_in("lakshmi", "not the password")
    staff.sign_in("lakshmi", "demo-office-2026")
    with pytest.raises(WrongPassword):
        staff.sign_in("nobody", "whatever")
    found = AuditLog(ctx.pipeline.wal.path, ctx.clock).digest(ctx.pipeline.head()[0], None, None)
    assert [(f.username, f.failures) for f in found.failed_signins] == [
        ("lakshmi", 1),
        ("lakshmi", 2),
        ("nobody", 1),
    ]
