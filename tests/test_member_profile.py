"""A member's profile: one read model whose every part agrees with the service that owns
it, a timeline of all of it, and the sign-in code sent from the profile."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.kernel.errors import NotFound, PermissionDenied, ValidationError
from app.services.actors import Actor
from app.services.context import close_context
from app.services.member_profile import MemberProfile
from app.services.sms import OUTBOX_NAME, read_outbox
from app.services.topics import topics_of
from tests.builders import EMPLOYEE
from tests.reports.conftest import Demo, fresh_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    made = fresh_demo(tmp_path_factory.mktemp("profile") / "data")
    yield made
    made.services.close()
    close_context(made.ctx)


@pytest.fixture
def own_demo(tmp_path: Path) -> Iterator[Demo]:
    """A demo this test may write to."""
    made = fresh_demo(tmp_path / "data")
    yield made
    made.services.close()
    close_context(made.ctx)


def profiles(demo: Demo) -> list[MemberProfile]:
    s = demo.services
    return [s.member_profiles.profile(m.id) for m in s.members.list_members()]


def test_every_part_agrees_with_the_service_that_owns_it(demo: Demo) -> None:
    s = demo.services
    register = {r.member_id: r for r in s.member_register.page("", limit=1000).rows}
    receipts = s.ledger.receipt_register()
    for p in profiles(demo):
        mid = p.member.id
        assert p.member == s.members.get(mid)
        assert p.kyc == s.kyc.find(mid)
        assert [t.ticket for t in p.tickets] == sorted(
            s.groups.member_tickets(mid), key=lambda t: (p.group_name(t.group_id), t.ticket_no)
        )
        dues = s.ledger.dues_for(mid)
        assert sorted(d.id for t in p.tickets for d in t.dues) == sorted(d.id for d in dues)
        assert p.owed == sum(d.outstanding for d in dues)
        assert p.late.amount == register[mid].overdue
        assert {r.bank_ref for r in p.receipts} == {
            r.bank_ref for r in receipts if r.member_id == mid
        }
        assert p.payouts == s.gate.payouts(member_id=mid)
        assert p.loans == s.loans.for_member(mid)
        assert p.cases == s.recovery.cases(member_id=mid)
        assert p.loans_outstanding == sum(x.outstanding for x in s.loans.for_member(mid))
        assert p.open_cases == sum(c.is_open for c in s.recovery.cases(member_id=mid))


def test_the_demo_gives_profiles_with_every_part(demo: Demo) -> None:
    made = profiles(demo)
    for part in ("kyc", "tickets", "receipts", "payouts", "loans", "cases"):
        assert any(getattr(p, part) for p in made), part
    assert any(p.late.amount for p in made)
    example = demo.services.member_profiles.example()
    chosen = demo.services.member_profiles.profile(example or "")
    assert chosen.payouts and chosen.tickets and (chosen.loans or chosen.cases)


def test_the_timeline_tells_everything_newest_first(demo: Demo) -> None:
    for p in profiles(demo):
        lines = [h.what for h in p.timeline]
        assert [h.at for h in p.timeline] == sorted((h.at for h in p.timeline), reverse=True)
        assert f"Enrolled as member {p.member.member_no}" in lines
        if p.kyc is not None:
            assert any(line.startswith("KYC submitted") for line in lines)
        for t in p.tickets:
            assert f"Took ticket {t.ticket.ticket_no} in {t.group.name}" in lines
        for r in p.receipts:
            assert any(f"(ref {r.bank_ref})" in line for line in lines), r.bank_ref
        for x in p.payouts:
            assert f"Won the prize of {p.group_name(x.group_id)}, period {x.period}" in lines
        for loan in p.loans:
            assert f"Applied for loan {loan.loan_no}" in lines
        assert sum(line.startswith("Recovery case opened") for line in lines) == len(p.cases)
        assert not any("grp-" in line for line in lines), "groups are named, not ids"
        assert not any("loan-" in line for line in lines), "loans are numbered, not ids"


def test_agreements_signed_appear_with_their_group(own_demo: Demo) -> None:
    s = own_demo.services
    p = next(p for p in profiles(own_demo) if p.tickets)
    group = p.tickets[0].group
    me = Actor(p.member.id, p.member.name, "member")
    signed = s.agreements.sign(me, group.id, p.member.id, s.agreements.text(group.id).sha256)
    again = s.member_profiles.profile(p.member.id)
    assert [t.signed for t in again.agreements] == [signed]
    assert f"Signed the agreement of {group.name}" in [h.what for h in again.timeline]


def test_no_personal_number_is_shown_in_clear(demo: Demo) -> None:
    vault = demo.ctx.pii
    for p in profiles(demo):
        text = repr(p)
        assert p.member.phone[-10:] not in text
        assert "+91 XXXXXX" in text
        if p.kyc is not None:
            doc = demo.ctx.store.get("kyc", p.member.id)
            assert doc is not None
            pan = vault.unseal(doc.data["pan_sealed"], context=f"pan:{p.member.id}")
            assert pan not in text


def test_an_unknown_member_is_not_found(demo: Demo) -> None:
    with pytest.raises(NotFound):
        demo.services.member_profiles.profile("mem-nobody")


def test_the_profile_names_its_topics(demo: Demo) -> None:
    names = topics_of(demo.services.member_profiles.profile)
    assert {"members", "kyc", "groups", "ledger", "dues", "loans", "gate", "recovery"} <= names


def test_staff_text_a_sign_in_code_through_the_outbox(own_demo: Demo) -> None:
    s = own_demo.services
    member = s.members.list_members()[0]
    issued = s.member_profiles.send_sign_in_code(EMPLOYEE, member.id, "locked out, at the desk")
    assert issued.sent and issued.member.id == member.id
    sent = read_outbox(own_demo.ctx.data_dir / OUTBOX_NAME)
    assert sent[-1]["to"] == member.phone and issued.code in sent[-1]["text"]
    record = list(own_demo.ctx.pipeline.wal.read())[-1]
    assert (record.action, record.entity["id"], record.actor["id"]) == (
        "otp.issue",
        member.id,
        EMPLOYEE.id,
    )
    assert record.reason == "locked out, at the desk"
    with pytest.raises(ValidationError):
        s.member_profiles.send_sign_in_code(EMPLOYEE, member.id, "  ")
    with pytest.raises(PermissionDenied):
        s.member_profiles.send_sign_in_code(Actor(member.id, member.name, "member"), member.id, "x")
    assert len(read_outbox(own_demo.ctx.data_dir / OUTBOX_NAME)) == len(sent)
