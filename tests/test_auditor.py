"""The auditor role: signs in, reads, exports reports, and changes nothing.

The role matrix calls every service action that takes an actor as a signed-in auditor,
on a real demo history (SQLite store, WAL): each write is refused with PermissionDenied
and the log does not move. A test checks that the matrix names every such action, so a
new one cannot be left out. The same calls are made again with the services' own role
checks switched off: the pipeline refuses them all the same, before anything is logged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from app.kernel.errors import KnownError, PermissionDenied
from app.services import actors
from app.services.actors import SYSTEM, Actor
from app.services.context import FixedClock, ServiceContext, close_context, make_context
from app.services.counter import Slip
from app.services.demo import generate
from app.services.group_terms import GroupForm
from app.services.ledger import Payment
from app.services.pipeline import ChangeSet, Reader
from app.services.registry import Services
from app.services.reports import Request
from app.services.store import Write
from tests.builders import AADHAAR, ACCOUNT, PAN, PNG, sanction, services_of

NOW = datetime(2026, 11, 24, 6, 30, tzinfo=UTC)
PASSWORD = "Audit-the-books-1"
REFUSED = "auditors read the books and change nothing"


@dataclass
class World:
    ctx: ServiceContext
    s: Services
    admin: Actor
    auditor: Actor
    member: str
    phone: str
    group: str
    auction: str
    loan: str
    case: str
    payout: str
    forming: str

    def head(self) -> tuple[int, str]:
        return self.ctx.pipeline.head()

    def records_by_auditor(self) -> list[str]:
        return [r.action for r in self.ctx.pipeline.read() if r.actor["id"] == self.auditor.id]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    ctx = make_context(tmp_path_factory.mktemp("auditor") / "data", clock=FixedClock(NOW))
    generate(ctx, groups=1, members=6, months=3, seed=5, end=date(2026, 11, 24))
    s = services_of(ctx)
    first = s.staff.first_admin()
    assert first is not None
    admin = first.actor
    s.staff.create_staff(admin, "Anita Auditor", "anita", PASSWORD, role="auditor")
    auditor = s.staff.sign_in("anita", PASSWORD).actor
    member = s.members.list_members()[0]
    group = s.groups.list_groups()[0]
    forming = s.groups.create_group(
        admin,
        "Forming Chit",
        gross_paise=5_00_000_00,
        members=10,
        start_date=date(2027, 1, 1),
        registration_no=sanction(),
    )
    yield World(
        ctx,
        s,
        admin,
        auditor,
        member.id,
        member.phone,
        group.id,
        s.auctions.list_auctions(group.id)[0].id,
        s.loans.inbox()[0].loan_id,
        s.recovery.cases()[0].id,
        s.gate.payouts()[0].id,
        forming.id,
    )
    s.close()
    close_context(ctx)


Call = Callable[[World], Any]


def _decide(w: World) -> Any:
    """The Banker's gate decides inside a caller's transaction; commit it as the auditor."""

    def work(reader: Reader) -> ChangeSet:
        verdict = w.s.gate.decide(
            reader, w.auditor, w.s.gate.commitments()[0], None, action="t", subject=("t", "t")
        )
        return ChangeSet("gate.test", "loan", w.loan, verdict.writes)

    return w.ctx.pipeline.transact(w.auditor, work)


WRITES: dict[str, Call] = {
    "members.enroll": lambda w: w.s.members.enroll(w.auditor, "Audit Probe", "9000000999"),
    "kyc.approve": lambda w: w.s.kyc.approve(w.auditor, [w.member]),
    "kyc.reject": lambda w: w.s.kyc.reject(w.auditor, [w.member], "blurred photo"),
    "kyc.reveal": lambda w: w.s.kyc.reveal(w.auditor, w.member, "pan", "checking a loan"),
    "kyc.submit": lambda w: w.s.kyc.submit(
        w.auditor,
        w.member,
        name="Audit Probe",
        phone=w.phone,
        pan=PAN,
        aadhaar=AADHAAR,
        account_number=ACCOUNT,
        ifsc="SBIN0001234",
        documents=[("pan.png", PNG, "image/png")],
    ),
    "groups.create_group": lambda w: w.s.groups.create_group(
        w.auditor,
        "Audit Group",
        gross_paise=5_00_000_00,
        members=10,
        start_date=date(2027, 1, 1),
        registration_no=sanction(),
    ),
    "groups.create_from_form": lambda w: w.s.groups.create_from_form(
        w.auditor,
        GroupForm("Audit Form Group", "500000", "10", date(2027, 1, 1), registration_no=sanction()),
    ),
    "groups.approve_terms": lambda w: w.s.groups.approve_terms(w.auditor, w.forming),
    "groups.withdraw": lambda w: w.s.groups.withdraw(w.auditor, w.forming, "duplicate"),
    "groups.enroll": lambda w: w.s.groups.enroll(w.auditor, w.group, w.member),
    "groups.start": lambda w: w.s.groups.start(w.auditor, w.group),
    "auctions.bid": lambda w: w.s.auctions.bid(w.auditor, w.auction, w.member, 50_000_00, "call"),
    "auctions.close_auction": lambda w: w.s.auctions.close_auction(w.auditor, w.auction),
    "auctions.open_auction": lambda w: w.s.auctions.open_auction(w.auditor, w.group, 4),
    "auctions.settle_foreman_period": lambda w: w.s.auctions.settle_foreman_period(
        w.auditor, w.group
    ),
    "ledger.add_capital": lambda w: w.s.ledger.add_capital(w.auditor, 1_00_000_00, "capital"),
    "capital.propose_capital": lambda w: w.s.capital.propose_capital(
        w.auditor, 1_00_000_00, "cash:lending", "UTR-AUDIT-CAP", "capital"
    ),
    "capital.approve_capital": lambda w: w.s.capital.approve_capital(w.auditor, "UTR-NONE"),
    "capital.decline_capital": lambda w: w.s.capital.decline_capital(
        w.auditor, "UTR-NONE", "not credited"
    ),
    "ledger.record_receipt": lambda w: w.s.ledger.record_receipt(
        w.auditor,
        group_id=w.group,
        period=1,
        member_id=w.member,
        amount=100,
        bank_ref="UTR-AUDIT-1",
        received_on="2026-11-20",
    ),
    "ledger.record_receipts": lambda w: w.s.ledger.record_receipts(
        w.auditor, [Payment(w.group, 1, w.member, 100, "UTR-AUDIT-2", "2026-11-20")]
    ),
    "gate.decide": _decide,
    "payouts.deduct_future": lambda w: w.s.payouts.deduct_future(w.auditor, w.payout, "deduct"),
    "payouts.record_security": lambda w: w.s.payouts.record_security(w.auditor, w.payout, 100),
    "payouts.request_release": lambda w: w.s.payouts.request_release(w.auditor, w.payout),
    "payouts.release_payout": lambda w: w.s.payouts.release_payout(w.auditor, w.payout),
    "payouts.propose_advance": lambda w: w.s.payouts.propose_advance(
        w.auditor, w.payout, "the pool is short"
    ),
    "payouts.approve_advance": lambda w: w.s.payouts.approve_advance(w.auditor, "adv-none"),
    "payouts.decline_advance": lambda w: w.s.payouts.decline_advance(
        w.auditor, "adv-none", "not needed"
    ),
    "counter.take": lambda w: w.s.counter.take(
        w.auditor, Slip(w.member, w.group, 1, 100, "upi", "412356789012", "2026-11-20")
    ),
    "counter.clear_cheque": lambda w: w.s.counter.clear_cheque(w.auditor, "CHQ-X-000001"),
    "counter.report_bounce": lambda w: w.s.counter.report_bounce(
        w.auditor, "CHQ-X-000001", "return memo 01"
    ),
    "counter.approve": lambda w: w.s.counter.approve(w.auditor, "cash-none"),
    "counter.reject": lambda w: w.s.counter.reject(w.auditor, "cash-none", "not counted"),
    "statements.commit": lambda w: w.s.statements.commit(
        w.auditor, w.s.statements.example_preview()
    ),
    "member_profiles.send_sign_in_code": lambda w: w.s.member_profiles.send_sign_in_code(
        w.auditor, w.member, "lost phone"
    ),
    "loans.apply": lambda w: w.s.loans.apply(w.auditor, w.member, 50_000_00, 12, "shop"),
    "loans.approve": lambda w: w.s.loans.approve(w.auditor, w.loan),
    "loans.disburse": lambda w: w.s.loans.disburse(w.auditor, w.loan),
    "loans.recommend": lambda w: w.s.loans.recommend(w.auditor, w.loan, "fine"),
    "loans.record_emi": lambda w: w.s.loans.record_emi(
        w.auditor, w.loan, 100, "UTR-AUDIT-3", "2026-11-20"
    ),
    "loans.refresh_dpd": lambda w: w.s.loans.refresh_dpd(w.auditor),
    "loans.reject": lambda w: w.s.loans.reject(w.auditor, w.loan, "no"),
    "loans.score": lambda w: w.s.loans.score(w.auditor, w.loan),
    "loans.score_pending": lambda w: w.s.loans.score_pending(w.auditor, w.loan),
    "recovery.approve_write_off": lambda w: w.s.recovery.approve_write_off(w.auditor, w.case, "ok"),
    "recovery.drop": lambda w: w.s.recovery.drop(w.auditor, w.case, "missed", "back"),
    "recovery.move": lambda w: w.s.recovery.move(w.auditor, w.case, "contacted", "called"),
    "recovery.record_notice_sent": lambda w: w.s.recovery.record_notice_sent(
        w.auditor, w.case, date(2026, 11, 20)
    ),
    "recovery.request_write_off": lambda w: w.s.recovery.request_write_off(
        w.auditor, w.case, "untraceable"
    ),
    "recovery.resolve": lambda w: w.s.recovery.resolve(w.auditor, w.case, "paid"),
    "recovery.sweep": lambda w: w.s.recovery.sweep(w.auditor),
    "staff.change_role": lambda w: w.s.staff.change_role(w.auditor, w.admin.id, "employee"),
    "staff.create_staff": lambda w: w.s.staff.create_staff(w.auditor, "New", "newbie", PASSWORD),
    "staff.disable": lambda w: w.s.staff.disable(w.auditor, w.admin.id),
    "staff.enable": lambda w: w.s.staff.enable(w.auditor, w.admin.id),
    "staff.set_password": lambda w: w.s.staff.set_password(w.auditor, w.admin.id, PASSWORD),
    "otp.issue_code": lambda w: w.s.otp.issue_code(w.auditor, w.phone, "lost phone", send=False),
    "agreements.sign": lambda w: w.s.agreements.sign(w.auditor, w.group, w.member, "0" * 64),
}
"""Every write that names its actor, as the auditor (refused)."""

EXPORTS = frozenset({"reports.render", "reports.export", "reports.download", "reports.record"})
"""What an auditor may do: export reports (each export is itself a record)."""
READS = frozenset({"groups.visible", "auctions.visible", "proofs.prove_for"})
"""Reads that take the actor, to check what it may see."""
OWN = frozenset({"staff.change_password"})
"""What an auditor may change: their own account (tested below)."""


def actions_taking_an_actor() -> set[str]:
    import dataclasses
    import inspect
    import typing

    hints = typing.get_type_hints(Services)
    found = set()
    for f in dataclasses.fields(Services):
        for name, fn in inspect.getmembers(hints[f.name], inspect.isfunction):
            params = inspect.signature(fn).parameters.values()
            if not name.startswith("_") and any("Actor" in str(p.annotation) for p in params):
                found.add(f"{f.name}.{name}")
    return found


def test_the_matrix_names_every_action_that_takes_an_actor() -> None:
    assert actions_taking_an_actor() == set(WRITES) | EXPORTS | READS | OWN


@pytest.mark.parametrize("action", sorted(WRITES))
def test_an_auditor_may_not_write(world: World, action: str) -> None:
    head = world.head()
    with pytest.raises(PermissionDenied):
        WRITES[action](world)
    assert world.head() == head
    assert world.records_by_auditor() == ["staff.sign_in"]


@pytest.fixture
def no_role_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every service's own role check passes: only the pipeline is left to refuse."""
    monkeypatch.setattr(actors.Actor, "require", lambda self, *roles, doing: None)


@pytest.mark.parametrize("action", sorted(WRITES))
def test_without_the_services_checks_the_pipeline_refuses_every_write(
    world: World, action: str, no_role_checks: None
) -> None:
    """Refused (or, for a sweep with nothing to do, nothing written)."""
    head = world.head()
    with contextlib.suppress(KnownError):
        WRITES[action](world)
    assert world.head() == head
    assert world.records_by_auditor() == ["staff.sign_in"]


@pytest.mark.parametrize(
    "action",
    [
        "members.enroll",
        "kyc.reveal",
        "groups.create_group",
        "groups.create_from_form",
        "groups.approve_terms",
        "ledger.add_capital",
        "capital.propose_capital",
        "otp.issue_code",
        "gate.decide",
    ],
)
def test_the_pipeline_says_why(world: World, action: str, no_role_checks: None) -> None:
    """Calls that pass every other check: the pipeline's refusal is what stops them."""
    with pytest.raises(PermissionDenied, match=REFUSED):
        WRITES[action](world)


def test_no_change_in_an_auditors_name_reaches_the_log(world: World) -> None:
    write = Write("set", "members", "mem-forged", {"name": "Forged"})
    for action in ("member.enroll", "report.exported", "staff.sign_in"):
        with pytest.raises(PermissionDenied, match=REFUSED):
            world.ctx.pipeline.commit(world.auditor, ChangeSet(action, "member", "m", [write]))
    assert world.ctx.store.get("members", "mem-forged") is None


def test_an_auditors_own_sign_in_password_and_exports_are_recorded(
    world: World, tmp_path: Path
) -> None:
    s, auditor = world.s, world.auditor
    session = s.staff.sign_in("anita", PASSWORD)
    s.staff.sign_out(session.token)
    s.staff.change_password(auditor, PASSWORD, "Audit-the-books-2")
    exported = s.reports.export(auditor, Request("trial-balance"), tmp_path / "tb.pdf", via="test")
    actions = world.records_by_auditor()
    assert actions[-4:] == [
        "staff.sign_in",
        "staff.sign_out",
        "staff.set_password",
        "report.export",
    ]
    assert exported.record_lsn == world.head()[0]
    s.staff.set_password(auditor, auditor.id, PASSWORD)


def test_an_admin_makes_an_auditor_and_the_role_change_ends_their_sessions(
    world: World,
) -> None:
    s = world.s
    ravi = s.staff.create_staff(world.admin, "Ravi Rao", "ravi.rao", PASSWORD, role="employee")
    session = s.staff.sign_in("ravi.rao", PASSWORD)
    s.staff.change_role(world.admin, ravi.id, "auditor", reason="moved to internal audit")
    assert s.staff.resume(session.token) is None
    again = s.staff.sign_in("ravi.rao", PASSWORD)
    assert again.actor.role == "auditor" and again.actor.reads_only
    with pytest.raises(PermissionDenied):
        s.members.enroll(again.actor, "Late Entry", "9000000998")


def test_the_platform_and_staff_are_not_read_only(world: World) -> None:
    assert not SYSTEM.reads_only and not world.admin.reads_only
