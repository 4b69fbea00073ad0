"""Arbitrary Unicode in every text field of every service action: each input is refused
with a clear error or stored (clean); afterwards the data directory opens again, the log
verifies and the store equals a replay of the log.

One data directory per test (examples share it: each builds what its action needs, with
valid values, and puts the hostile text in one field)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.services.actors import SYSTEM, Actor
from app.services.agreements import AgreementService
from app.services.auctions.rules import discount_floor
from app.services.context import FixedClock, ServiceContext, close_context, make_context
from app.services.pipeline import ChangeSet
from app.services.registry import Services
from app.services.staff import StaffService
from app.services.store import Write
from tests.builders import ADMIN, EMPLOYEE, EMPLOYEE2, PDF, aadhaar, pan, services_of
from tests.fuzz import EVERY_FIELD, TEXT, assert_refused_clearly, check_data_dir
from tests.lending import paid_dues

NOW = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)
Fields = dict[str, str]


@dataclass
class World:
    """Services over one data directory, and builders of what an action needs."""

    ctx: ServiceContext
    services: Services
    staff: StaffService
    admin: Actor
    counter: Iterator[int]

    def n(self) -> int:
        return next(self.counter)

    def member(self, history: bool = False) -> str:
        k = self.n()
        member = self.services.members.enroll(EMPLOYEE, "Asha Verma", f"+9190{k:08d}")
        if history:
            paid_dues(self.ctx, member.id, [20_000_00] * 6)
            write = Write("update", "members", member.id, {"kyc_status": "approved"})
            self.ctx.pipeline.commit(ADMIN, ChangeSet("kyc.seed", "kyc", member.id, [write]))
        return member.id

    def pending_kyc(self) -> str:
        member_id = self.member()
        self.kyc(member_id, {})
        return member_id

    def kyc(self, member_id: str, t: Fields) -> Any:
        k = self.n()
        phone = self.services.members.get(member_id).phone
        return self.services.kyc.submit(
            EMPLOYEE,
            member_id,
            name=t.get("name", "Asha Verma"),
            phone=t.get("phone", phone),
            pan=t.get("pan", pan(k)),
            aadhaar=t.get("aadhaar", aadhaar(k)),
            account_number=t.get("account_number", f"0001{k:08d}"),
            ifsc=t.get("ifsc", "SBIN0001234"),
            address=t.get("address"),
            documents=[
                (t.get("file_name", "pan.pdf"), PDF, t.get("content_type", "application/pdf"))
            ],
            reason=t.get("reason", ""),
        )

    def formed(self, t: Fields | None = None, *, foreman: str | None = None) -> str:
        t = t or {}
        return self.services.groups.create_group(
            EMPLOYEE,
            t.get("name", "Lakshmi 1L"),
            gross_paise=1_00_000_00,
            members=2,
            start_date=self.ctx.clock.today(),
            foreman_member_id=foreman,
            foreman_takes_first=foreman is not None,
            registration_no=t.get("registration_no") or f"TN/CHIT/FUZZ/{self.n()}",
            reason=t.get("reason", ""),
        ).id

    def group(self, t: Fields | None = None, *, foreman: str | None = None) -> str:
        gid = self.formed(t, foreman=foreman)
        self.services.groups.approve_terms(EMPLOYEE2, gid)
        return gid

    def running(self) -> tuple[str, list[str]]:
        members = [self.member(), self.member()]
        gid = self.group()
        for m in members:
            self.services.groups.enroll(EMPLOYEE, gid, m)
        self.services.groups.start(EMPLOYEE, gid)
        return gid, members

    def auction(self) -> tuple[str, list[str]]:
        gid, members = self.running()
        return self.services.auctions.open_auction(EMPLOYEE, gid, 1).id, members

    def payout(self) -> tuple[str, str, list[str]]:
        aid, members = self.auction()
        auctions = self.services.auctions
        floor = discount_floor(self.services.groups.get_group(aid.rsplit("-", 1)[0]).agreement)
        auctions.bid(EMPLOYEE, aid, members[0], floor, reason="by phone")
        closed = auctions.close_auction(ADMIN, aid, present=members, force_reason="test")
        return closed.payout_id, aid.rsplit("-", 1)[0], members

    def loan(self, stage: str = "submitted") -> str:
        loans = self.services.loans
        member_id = self.member(history=True)
        loan_id = loans.apply(EMPLOYEE, member_id, 50_000_00, 12, "Shop stock")
        if stage == "submitted":
            return loan_id
        loans.score(SYSTEM, loan_id)
        if stage == "scored":
            return loan_id
        loans.recommend(EMPLOYEE, loan_id, "Known customer")
        if stage == "recommended":
            return loan_id
        loans.approve(EMPLOYEE2, loan_id, "Checked")
        if stage == "approved":
            return loan_id
        loans.disburse(EMPLOYEE, loan_id)
        return loan_id

    def case(self, stage: str = "missed") -> str:
        member_id = self.member()
        due = (self.ctx.clock.today() - timedelta(days=45)).isoformat()
        doc = {"group_id": "grp-fuzz", "period": 1, "member_id": member_id, "gross": 10_000_00,
               "share": 0, "net": 10_000_00, "paid": 0, "status": "due", "due_date": due,
               "raised_on": due, "bank_ref": None, "bank_refs": [], "paid_at": None}  # fmt: skip
        write = Write("set", "dues", f"grp-fuzz-1-{member_id}", doc)
        self.ctx.pipeline.commit(ADMIN, ChangeSet("dues.seed", "member", member_id, [write]))
        recovery = self.services.recovery
        recovery.sweep(SYSTEM)
        case = recovery.cases(member_id=member_id, open_only=True)[0]
        for goal in ("contacted", "notice", "follow_up", "legal"):
            if case.stage == stage:
                break
            case = recovery.move(EMPLOYEE, case.id, goal, "moving on")
        return case.id

    def staff_account(self) -> str:
        k = self.n()
        return self.staff.create_staff(self.admin, "Ravi Kumar", f"ravi{k}", "demo-desk-2026A").id


Run = Callable[[World, Fields], Any]
ACTIONS: dict[str, tuple[Fields, Run]] = {}
FREE_TEXT = {"name", "reason", "note", "memo", "purpose", "place", "description", "file_name",
             "force_reason"}  # fmt: skip
"""Fields where cleaned hostile text is expected to be stored, not only refused."""


def action(name: str, /, **defaults: str) -> Callable[[Run], Run]:
    """Register ``run`` as the action ``name``; ``defaults`` are valid values of its
    text fields (each example replaces one of them)."""

    def register(run: Run) -> Run:
        ACTIONS[name] = (defaults, run)
        return run

    return register


@action(
    "member.enroll",
    name="Asha Verma",
    phone="",
    address="12 Anna Salai\nChennai 600002",
    nominee="Ravi Verma",
    relationship="Son",
    reason="walk-in",
)
def _enroll(w: World, t: Fields) -> Any:
    phone = t["phone"] or f"+9191{w.n():08d}"
    return w.services.members.enroll(
        EMPLOYEE,
        t["name"],
        phone,
        address=t["address"],
        nominee=t["nominee"],
        relationship=t["relationship"],
        reason=t["reason"],
    )


@action("members.search", text="asha")
def _search(w: World, t: Fields) -> Any:
    s, text = w.services, t["text"]
    return s.members.search(text), s.kyc.queue(search=text), s.member_register.page(text)


@action("member.sign_in_code", reason="locked out at the counter")
def _sign_in_code(w: World, t: Fields) -> Any:
    return w.services.member_profiles.send_sign_in_code(EMPLOYEE, w.member(), t["reason"])


@action("lookup", id="mem-0000000001")
def _lookup(w: World, t: Fields) -> Any:
    s, key = w.services, t["id"]
    for read in (s.members.get, s.groups.get_group, s.loans.get, s.recovery.get, s.kyc.get):
        try:
            read(key)
        except Exception as exc:
            assert_refused_clearly(exc)
    return s.auctions.list_auctions(key)


@action("kyc.submit", name="Asha Verma", phone="", pan="", aadhaar="", account_number="",
        ifsc="SBIN0001234", address="12 Anna Salai\nChennai 600002", file_name="pan.pdf",
        content_type="application/pdf", reason="")  # fmt: skip
def _kyc_submit(w: World, t: Fields) -> Any:
    return w.kyc(w.member(), {k: v for k, v in t.items() if v})


@action("kyc.reject", reason="PAN photo is blurred")
def _kyc_reject(w: World, t: Fields) -> Any:
    return w.services.kyc.reject(EMPLOYEE2, [w.pending_kyc()], t["reason"])


@action("kyc.approve", reason="Checked against the originals")
def _kyc_approve(w: World, t: Fields) -> Any:
    return w.services.kyc.approve(EMPLOYEE2, [w.pending_kyc()], reason=t["reason"])


@action("kyc.reveal", field="pan", reason="Bank asked to confirm")
def _kyc_reveal(w: World, t: Fields) -> Any:
    return w.services.kyc.reveal(ADMIN, w.pending_kyc(), t["field"], t["reason"])


action("group.create", name="Lakshmi 1L", registration_no="", reason="")(lambda w, t: w.group(t))
action("group.approve_terms", note="Checked against the sanction order")(
    lambda w, t: w.services.groups.approve_terms(EMPLOYEE2, w.formed(), t["note"])
)
action("group.withdraw", reason="Chit value typed wrong")(
    lambda w, t: w.services.groups.withdraw(EMPLOYEE2, w.formed(), t["reason"])
)


@action("group.enroll", reason="")
def _group_enroll(w: World, t: Fields) -> Any:
    return w.services.groups.enroll(EMPLOYEE, w.group(), w.member(), t["reason"])


@action("group.start", reason="")
def _group_start(w: World, t: Fields) -> Any:
    gid = w.group()
    for _ in range(2):
        w.services.groups.enroll(EMPLOYEE, gid, w.member())
    return w.services.groups.start(EMPLOYEE, gid, t["reason"])


@action("group.settle_foreman", reason="")
def _settle_foreman(w: World, t: Fields) -> Any:
    foreman, other = w.member(), w.member()
    gid = w.group(foreman=foreman)
    w.services.groups.enroll(EMPLOYEE, gid, other)
    w.services.groups.start(EMPLOYEE, gid)
    auctions = w.services.auctions
    return auctions.settle_foreman_period(EMPLOYEE, gid, [foreman, other], t["reason"])


@action("auction.open", place="Registered office", reason="")
def _auction_open(w: World, t: Fields) -> Any:
    gid, _ = w.running()
    auctions = w.services.auctions
    return auctions.open_auction(EMPLOYEE, gid, 1, place=t["place"], reason=t["reason"])


@action("auction.bid", reason="by phone, 11:02")
def _auction_bid(w: World, t: Fields) -> Any:
    aid, members = w.auction()
    floor = discount_floor(w.services.groups.get_group(aid.rsplit("-", 1)[0]).agreement)
    return w.services.auctions.bid(EMPLOYEE, aid, members[1], floor, reason=t["reason"])


@action("auction.close", force_reason="hall closing")
def _auction_close(w: World, t: Fields) -> Any:
    aid, members = w.auction()
    auctions = w.services.auctions
    return auctions.close_auction(ADMIN, aid, present=members, force_reason=t["force_reason"])


@action("payout.security", description="FD 1234, SBI", reason="")
def _payout_security(w: World, t: Fields) -> Any:
    payout_id, _, _ = w.payout()
    return w.services.payouts.record_security(
        EMPLOYEE, payout_id, 1_00_000_00, description=t["description"], reason=t["reason"]
    )


@action("payout.deduct_future", reason="winner's written request")
def _payout_deduct(w: World, t: Fields) -> Any:
    payout_id, _, _ = w.payout()
    return w.services.payouts.deduct_future(EMPLOYEE, payout_id, t["reason"])


@action("payout.release", bank_ref="NEFT-778899", reason="")
def _payout_release(w: World, t: Fields) -> Any:
    payout_id, gid, members = w.payout()
    payouts = w.services.payouts
    payouts.deduct_future(EMPLOYEE, payout_id, "written request")
    payouts.request_release(EMPLOYEE, payout_id)
    for member_id in members:  # the period's collections fill the group's pool
        due = w.services.ledger.dues_for(member_id)[0]
        w.services.ledger.record_receipt(
            EMPLOYEE, group_id=gid, period=1, member_id=member_id, amount=due.outstanding,
            bank_ref=f"UTR{w.n():08d}", received_on=w.ctx.clock.today(),
        )  # fmt: skip
    return payouts.release_payout(ADMIN, payout_id, bank_ref=t["bank_ref"], reason=t["reason"])


@action("receipt.record", bank_ref="UTR-0001")
def _receipt(w: World, t: Fields) -> Any:
    _, gid, members = w.payout()
    due = w.services.ledger.dues_for(members[1])[0]
    ref = t["bank_ref"] if t["bank_ref"] != "UTR-0001" else f"UTR{w.n():08d}"
    return w.services.ledger.record_receipt(
        EMPLOYEE, group_id=gid, period=1, member_id=members[1], amount=due.outstanding,
        bank_ref=ref, received_on=w.ctx.clock.today(),
    )  # fmt: skip


action("capital.add", memo="Lending capital")(
    lambda w, t: w.services.ledger.add_capital(ADMIN, 1_000_00, t["memo"])
)


@action("loan.apply", purpose="Shop stock")
def _loan_apply(w: World, t: Fields) -> Any:
    member_id = w.member()
    me = Actor(member_id, "Asha Verma", "member")
    return w.services.loans.apply(me, member_id, 50_000_00, 12, t["purpose"])


action("loan.recommend", note="Known customer")(
    lambda w, t: w.services.loans.recommend(EMPLOYEE, w.loan("scored"), t["note"])
)
action("loan.approve", note="Checked")(
    lambda w, t: w.services.loans.approve(EMPLOYEE2, w.loan("recommended"), t["note"])
)
action("loan.reject", reason="Income not shown")(
    lambda w, t: w.services.loans.reject(EMPLOYEE2, w.loan(), t["reason"])
)


@action("loan.disburse", bank_ref="")
def _loan_disburse(w: World, t: Fields) -> Any:
    ref = t["bank_ref"] or None
    return w.services.loans.disburse(EMPLOYEE, w.loan("approved"), bank_ref=ref)


@action("loan.record_emi", bank_ref="")
def _loan_emi(w: World, t: Fields) -> Any:
    loan_id = w.loan("disbursed")
    emi = w.services.loans.get(loan_id).data["emi"]
    ref = t["bank_ref"] or f"EMI{w.n():08d}"
    return w.services.loans.record_emi(EMPLOYEE, loan_id, emi, ref, w.ctx.clock.today())


action("recovery.move", target="contacted", note="Called; promised to pay")(
    lambda w, t: w.services.recovery.move(EMPLOYEE, w.case(), t["target"], t["note"])
)


@action("recovery.notice_sent", note="")
def _notice(w: World, t: Fields) -> Any:
    case_id = w.case("notice")
    today = w.ctx.clock.today()
    return w.services.recovery.record_notice_sent(EMPLOYEE, case_id, today, t["note"])


@action("recovery.write_off", reason="No assets", note="Agreed")
def _write_off(w: World, t: Fields) -> Any:
    case_id = w.case("legal")
    w.services.recovery.request_write_off(ADMIN, case_id, t["reason"])
    return w.services.recovery.approve_write_off(EMPLOYEE, case_id, t["note"])


@action("staff.create", name="Meena Rao", username="", password="demo-verify-2026B")
def _staff_create(w: World, t: Fields) -> Any:
    username = t["username"] or f"meena{w.n()}"
    return w.staff.create_staff(w.admin, t["name"], username, t["password"])


@action("staff.modify", reason="")
def _staff_modify(w: World, t: Fields) -> Any:
    staff_id = w.staff_account()
    w.staff.change_role(w.admin, staff_id, "admin", t["reason"])
    w.staff.disable(w.admin, staff_id, t["reason"])
    return w.staff.enable(w.admin, staff_id, t["reason"])


@action("staff.sign_in", username="lakshmi", password="demo-office-2026A", token="")
def _staff_sign_in(w: World, t: Fields) -> Any:
    if t["token"]:
        w.staff.sign_out(t["token"])
        return w.staff.resume(t["token"])
    session = w.staff.sign_in(t["username"], t["password"])
    w.staff.sign_out(session.token)
    return session


@action("agreement.sign", sha256="")
def _sign(w: World, t: Fields) -> Any:
    gid, members = w.running()
    me = Actor(members[0], "Asha Verma", "member")
    agreements = AgreementService(w.ctx)
    sha = t["sha256"] or agreements.text(gid).sha256
    return agreements.sign(me, gid, members[0], sha)


COMBOS = [(name, field) for name, (fields, _) in sorted(ACTIONS.items()) for field in fields]


def attempt(world: World, name: str, field: str | None, text: str = "") -> bool:
    """Run one action with ``text`` in ``field`` (None: all valid values); True when it
    was done, False when it was refused clearly (anything else fails the test)."""
    defaults, run = ACTIONS[name]
    values = dict(defaults) if field is None else {**defaults, field: text}
    try:
        run(world, values)
    except Exception as exc:
        assert_refused_clearly(exc)
        return False
    return True


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    data_dir = tmp_path / "data"
    ctx = make_context(data_dir, clock=FixedClock(NOW))
    staff = StaffService(ctx)
    first = staff.create_first_admin("Lakshmi Iyer", "lakshmi", "demo-office-2026A")
    services = services_of(ctx)
    services.ledger.add_capital(ADMIN, 1_00_00_000_00, "Lending capital")
    admin = Actor(first.id, first.name, "admin")
    yield World(ctx, services, staff, admin, itertools.count(1))
    services.close()
    close_context(ctx)
    check_data_dir(data_dir)


def test_every_action_works_with_ordinary_text(world: World) -> None:
    """The harness itself: with valid values every action is done, not refused."""
    refused = [name for name in sorted(ACTIONS) if not attempt(world, name, None)]
    assert not refused


def test_every_field_meets_every_nasty_text(world: World) -> None:
    """The deterministic pass: each field of each action gets each hostile string; free
    text is stored (cleaned) at least once, not only refused."""
    stored: set[tuple[str, str]] = set()
    for (name, field), text in itertools.product(COMBOS, EVERY_FIELD):
        if attempt(world, name, field, text):
            stored.add((name, field))
    never = [combo for combo in COMBOS if combo[1] in FREE_TEXT and combo not in stored]
    assert not never


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(combo=st.sampled_from(COMBOS), text=TEXT)
def test_arbitrary_text_in_any_field_is_refused_clearly_or_stored(
    world: World, combo: tuple[str, str], text: str
) -> None:
    attempt(world, *combo, text)
