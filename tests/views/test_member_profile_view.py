"""The member profile page: every section shows what the services say, the actions go to
the views that do them, and the sign-in code button texts the member."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QDialogButtonBox, QLabel
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from app import config
from app.bootstrap import build
from app.services.actors import Actor
from app.services.context import FixedClock, close_context, make_context
from app.services.counter import Slip
from app.services.demo import generate
from app.services.sms import OUTBOX_NAME, read_outbox
from app.views.formatting import inr
from app.views.main_window import MainWindow
from app.views.member_profile import MemberProfileView
from tests.builders import EMPLOYEE
from tests.counter_books import FARAH, IFSC, RAVI, open_books
from tests.views.builders import main_window
from tests.views.conftest import open_runtime

if TYPE_CHECKING:
    from app.bootstrap import Runtime


@pytest.fixture
def demo_runtime(data_dir: Path) -> Iterator[Runtime]:
    """A runtime over a small demo history (2 groups of 6 members, 4 months) in which
    a member has every part of a profile."""
    ctx = make_context(data_dir, clock=FixedClock(datetime(2026, 11, 24, 6, 30, tzinfo=UTC)))
    generate(ctx, groups=2, members=6, months=4, seed=2, end=date(2026, 11, 24))
    close_context(ctx)
    runtime = open_runtime(data_dir)
    yield runtime
    runtime.close()


@pytest.fixture
def window(qtbot: QtBot, demo_runtime: Runtime) -> Iterator[MainWindow]:
    yield from main_window(qtbot, demo_runtime, EMPLOYEE)


def profile_page(qtbot: QtBot, window: MainWindow, member_id: str) -> MemberProfileView:
    page = window.pages["member-profile"]
    assert isinstance(page, MemberProfileView)
    window.go("member-profile", member_id=member_id)
    qtbot.waitUntil(lambda: page.profile is not None and page.profile.member.id == member_id)
    qtbot.waitUntil(lambda: not page.busy())
    return page


class Collections(QLabel):
    """Stands in for the collections view (another engineer's), to see what it is told."""

    name = "collections"

    def show_item(self, **params: Any) -> None:
        self.setText(str(params))


def test_every_section_shows_the_services_figures(
    qtbot: QtBot, qtmodeltester: ModelTester, demo_runtime: Runtime, window: MainWindow
) -> None:
    s = demo_runtime.services
    example = s.member_profiles.example()
    assert example is not None
    holder = s.members.get(example)
    group = s.groups.member_tickets(example)[0].group_id
    me = Actor(example, holder.name, "member")
    s.agreements.sign(me, group, example, s.agreements.text(group).sha256)
    page = profile_page(qtbot, window, example)
    p = s.member_profiles.profile(example)
    assert page.heading.text() == p.member.name
    assert p.member.member_no in page.details.text()
    assert p.member.phone_masked in page.details.text()
    assert p.member.phone[-10:] not in page.details.text() + page.contact.text()
    shown = {key: card.value.text() for key, card in page.cards.items()}
    assert shown == {
        "owed": inr(p.owed),
        "late": inr(p.late.amount),
        "loans": inr(p.loans_outstanding),
        "cases": str(p.open_cases),
    }
    counts = {
        page.tickets: len(p.tickets),
        page.dues: sum(len(t.dues) for t in p.tickets),
        page.receipts: len(p.receipts),
        page.payouts: len(p.payouts),
        page.loans: len(p.loans),
        page.cases: len(p.cases),
        page.documents: len(p.kyc.documents) if p.kyc else 0,
        page.agreements: len(p.agreements),
        page.timeline: len(p.timeline),
    }
    for model, rows in counts.items():
        assert model.rowCount() == rows > 0, type(model).__name__
        qtmodeltester.check(model, force_py=True)
        assert model.data(QModelIndex()) is None
    assert p.payouts and p.receipts and p.tickets
    receipt = page.receipts.row(0).receipt
    assert page.receipts.data(page.receipts.index(0, 4)) == receipt.bank_ref
    assert page.receipts.data(page.receipts.index(0, 5)) == inr(receipt.amount)
    assert page.payouts.data(page.payouts.index(0, 2)) == inr(p.payouts[0].amount)
    loan_nos = [page.loans.data(page.loans.index(r, 0)) for r in range(len(p.loans))]
    assert loan_nos == [x.loan_no for x in p.loans] and all(n.startswith("L-") for n in loan_nos)
    titles = [page.tabs.tabText(i) for i in range(page.tabs.count())]
    assert titles[0] == f"Tickets && dues ({len(p.tickets)})"
    assert f"Receipts ({len(p.receipts)})" in titles
    first_event = page.timeline.data(page.timeline.index(0, 1))
    assert first_event == p.timeline[0].what


def test_dates_are_days_in_the_office_not_in_utc(qtbot: QtBot, data_dir: Path) -> None:
    """A member enrolled at 01:30 in India on 25 Nov (20:00 UTC on the 24th) joined
    on 25 Nov, as the office saw it."""
    clock = FixedClock(datetime(2026, 11, 24, 20, 0, tzinfo=UTC))
    runtime = build(config.load(environ={}, data_dir=data_dir, port=0), clock=clock)
    try:
        member = runtime.services.members.enroll(EMPLOYEE, "Asha Rao", "9876543210").id
        view = MemberProfileView(runtime.services, EMPLOYEE)
        qtbot.addWidget(view)
        view.show_item(member_id=member)
        qtbot.waitUntil(lambda: view.profile is not None and not view.busy())
        assert "member since 25 Nov 2026" in view.details.text()
        view.shutdown()
    finally:
        runtime.close()


def test_a_bounced_cheque_is_marked_among_the_receipts(qtbot: QtBot, runtime: Runtime) -> None:
    """The cheque was taken, so it stays among the receipts, marked as the bank returned
    it: the instalment it paid is owed again, and the page says why."""
    books = open_books(runtime.ctx)
    counter = runtime.services.counter
    slip = Slip(books.members[1], books.group_id, 1, 1_50_000_00, "cheque", "004512",
                "2026-11-24", IFSC)  # fmt: skip
    taken = counter.take(RAVI, slip).receipt
    assert taken is not None
    counter.approve(FARAH, counter.report_bounce(RAVI, taken.bank_ref, "Funds insufficient").id)
    view = MemberProfileView(runtime.services, EMPLOYEE)
    qtbot.addWidget(view)
    view.show_item(member_id=books.members[1])
    qtbot.waitUntil(lambda: view.profile is not None and not view.busy())
    model = view.receipts
    shown = {model.headerData(c, Qt.Orientation.Horizontal): model.index(0, c)
             for c in range(model.columnCount())}  # fmt: skip
    assert model.data(shown["Amount"]) == "₹1,50,000.00"
    assert model.data(shown["Cheque"]) == "Bounced"
    assert model.data(shown["Receipt no."]) == books.receipt_no(1, 1)
    assert "due again" in model.data(shown["Cheque"], Qt.ItemDataRole.ToolTipRole)
    assert view.cards["owed"].value.text() == "₹1,50,000.00"
    view.shutdown()


def test_every_profile_of_the_demo_opens(
    qtbot: QtBot, demo_runtime: Runtime, window: MainWindow
) -> None:
    s = demo_runtime.services
    said = set()
    for member in s.members.list_members():
        page = profile_page(qtbot, window, member.id)
        assert page.heading.text() == member.name
        assert page.kyc_button.isEnabled() == (member.kyc_status in ("none", "rejected"))
        said.add(late_words(page))
    assert {"EMIs", "instalments", "nothing late"} <= said, said


def late_words(page: MemberProfileView) -> str:
    """What the Overdue card says is late, checked against the profile's dues and loans
    (a member with every chit instalment paid can still be late on a loan's EMIs)."""
    assert page.profile is not None
    p = page.profile
    chits = sum(t.overdue(p.as_of) for t in p.tickets)
    caption = page.cards["late"].sub.text()
    if p.late.amount == 0:
        assert caption == "nothing late"
        return caption
    what = "instalments" if chits == p.late.amount else "EMIs" if chits == 0 else "both"
    expected = {"both": "instalments and EMIs"}.get(what, what)
    assert caption == f"{expected}, oldest {p.late.days(p.as_of)} days late"
    return what


def test_the_sign_in_code_button_texts_the_member(
    qtbot: QtBot, demo_runtime: Runtime, window: MainWindow
) -> None:
    s = demo_runtime.services
    member = s.members.list_members()[0]
    page = profile_page(qtbot, window, member.id)
    outbox = demo_runtime.settings.data_dir / OUTBOX_NAME
    before = len(read_outbox(outbox))
    page.code_button.click()
    dialog = page.code_dialog
    assert dialog is not None and dialog.isVisible()
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert not ok.isEnabled()  # a reason is required
    dialog.text.setPlainText("Locked out by a stranger's guesses; identity checked")
    ok.click()
    qtbot.waitUntil(lambda: "texted" in page.action_status.text())
    assert page.action_status.text().startswith(f"Sign-in code texted to {member.phone_masked}")
    sent = read_outbox(outbox)
    assert len(sent) == before + 1 and sent[-1]["to"] == member.phone
    assert "code" in sent[-1]["text"].lower()
    record = s.audit.tail(1)[0]
    assert (record["action"], record["entity"]["id"], record["actor"]["id"]) == (
        "otp.issue",
        member.id,
        EMPLOYEE.id,
    )
    assert record["reason"] == "Locked out by a stranger's guesses; identity checked"
    assert page.code_button.isEnabled()


def test_take_a_receipt_and_start_kyc_go_to_their_views_with_the_member(
    qtbot: QtBot, demo_runtime: Runtime, window: MainWindow
) -> None:
    s = demo_runtime.services
    member = s.members.enroll(EMPLOYEE, "Zoya Khan", "7000000001")
    collections = Collections()
    window.add_view(collections)
    page = profile_page(qtbot, window, member.id)
    page.receipt_button.click()
    assert window.stack.currentWidget() is collections
    assert collections.text() == str({"member_id": member.id})
    window.go("member-profile", member_id=member.id)
    assert page.kyc_button.isEnabled() and page.kyc_button.text() == "Start KYC"
    kyc = Collections()
    kyc.name = "kyc-capture"  # type: ignore[misc]
    window.add_view(kyc)
    page.kyc_button.click()
    assert window.stack.currentWidget() is kyc
    assert kyc.text() == str({"member_id": member.id})


def test_a_view_the_window_lacks_is_not_shown(
    qtbot: QtBot, demo_runtime: Runtime, window: MainWindow
) -> None:
    member = demo_runtime.services.members.list_members()[0]
    page = profile_page(qtbot, window, member.id)
    window.go("no-such-view", member_id=member.id)
    assert window.stack.currentWidget() is page


def test_before_a_member_is_opened_the_page_says_how_to_open_one(
    qtbot: QtBot, window: MainWindow
) -> None:
    page = window.pages["member-profile"]
    assert isinstance(page, MemberProfileView)
    assert page.member_id is None
    titles = [page.tabs.tabText(i) for i in range(page.tabs.count())]
    assert titles == [
        "Tickets && dues", "Receipts", "Prizes && payouts", "Loans", "Recovery", "KYC",
        "Agreements", "Timeline",
    ]  # fmt: skip
    assert page.details.text() == "Open a member from the Members register to see them here."
