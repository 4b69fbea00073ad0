"""The capital view on real widgets: an admin pays capital in through the form, sees it
waiting for someone else, and a second person approves it from the list."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import QDate, Qt, QTimer
from PySide6.QtWidgets import QHeaderView
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from app.kernel import office_time
from app.services.actors import Actor
from app.services.collections import LEDGER
from app.services.ledger.postings import COMPANY_CASH, LENDING_CASH
from app.views.capital import CapitalView
from app.views.formatting import BAD, GOOD
from app.views.main_window import NAME_ROLE
from app.views.shell import section_of
from tests.builders import ADMIN, EMPLOYEE
from tests.views.builders import main_window, opener
from tests.views.drive import answer, click, retype, settle

if TYPE_CHECKING:
    from app.bootstrap import Runtime

Opener = Callable[[Actor, int], CapitalView]
UTR = "HDFC0000123456789"
AUDITOR = Actor("u-aud", "Anita Auditor", "auditor")


@pytest.fixture
def open_view(qtbot: QtBot, runtime: Runtime) -> Iterator[Opener]:
    """``open_view(actor, waiting)``: the view, shown once ``waiting`` pay-ins are listed."""

    def make(actor: Actor, waiting: int) -> CapitalView:
        view = CapitalView(runtime.services, actor)
        qtbot.addWidget(view)
        view.resize(1080, 660)
        view.show()
        qtbot.waitUntil(lambda: not view.busy() and view.waiting.rowCount() == waiting)
        return view

    yield from opener(make)


def fill(qtbot: QtBot, view: CapitalView, amount: str, ref: str, memo: str = "") -> None:
    retype(qtbot, view.amount, amount)
    view.into.setCurrentIndex(view.into.findData(COMPANY_CASH))
    retype(qtbot, view.bank_ref, ref)
    retype(qtbot, view.memo, memo)


def test_an_admin_pays_in_and_a_second_person_approves(
    qtbot: QtBot,
    qtmodeltester: ModelTester,
    runtime: Runtime,
    errors: list[BaseException],
    open_view: Opener,
) -> None:
    maker = open_view(ADMIN, 0)
    assert maker.company.value.text() == "₹0.00" and not maker.record.isEnabled()
    fill(qtbot, maker, "5,00,000", UTR.lower(), "Board resolution 12")
    click(qtbot, maker.record)
    qtbot.waitUntil(lambda: maker.form_note.text().startswith("Recorded"))
    today = office_time.day(runtime.services.clock.today())
    assert maker.form_note.text() == (
        f"Recorded ₹5,00,000.00 into company cash, credited on {today} ({UTR}): another staff "
        "member approves it before it is posted."
    )
    assert maker.amount.text() == "" and maker.bank_ref.text() == ""
    qtbot.waitUntil(lambda: maker.waiting.rowCount() == 1)
    maker.waiting_table.selectRow(0)
    cells = [maker.waiting.index(0, c).data() for c in range(maker.waiting.columnCount())]
    assert cells[:4] == ["₹5,00,000.00", "Company cash", UTR, today]
    assert cells[4].startswith("Asha Admin, ") and cells[4].endswith(" IST")
    assert cells[6] == "Yours: awaits another person"
    assert not maker.approve_button.isEnabled() and maker.decline_button.isEnabled()
    assert "another staff member approves it" in maker.approve_button.toolTip()
    assert runtime.services.ledger.balance(COMPANY_CASH) == 0

    checker = open_view(EMPLOYEE, 1)
    assert not checker.record.isEnabled() and not checker.amount.isEnabled()
    assert checker.form_note.text().startswith("Only an admin records capital")
    checker.waiting_table.selectRow(0)
    assert checker.waiting.index(0, 6).data() == "Awaits your check"
    QTimer.singleShot(0, answer("Seen on the bank statement"))
    click(qtbot, checker.approve_button)
    qtbot.waitUntil(lambda: checker.note.text().startswith("Posted"))
    assert checker.note.text() == f"Posted: ₹5,00,000.00 of capital into company cash ({UTR})."
    assert GOOD.name() in checker.note.styleSheet()
    for view in (checker, maker):
        qtbot.waitUntil(lambda v=view: v.waiting.rowCount() == 0 and v.decided.rowCount() == 1)
        assert view.company.value.text() == "₹5,00,000.00"
        assert view.lending.value.text() == "₹0.00"
    decided = [checker.decided.index(0, c).data() for c in range(checker.decided.columnCount())]
    assert decided[1:6] == [
        "Added by Ravi Employee", "₹5,00,000.00", "Company cash", UTR, today
    ]  # fmt: skip
    assert decided[6:] == ["Asha Admin", "Seen on the bank statement"]
    assert checker.decided.index(0, 6).data(Qt.ItemDataRole.ToolTipRole).startswith("Asha Admin, ")
    for table, free in ((checker.waiting_table, "Memo"), (checker.decided_table, "Note")):
        header, model = table.horizontalHeader(), table.model()
        [stretched] = [
            model.headerData(n, Qt.Orientation.Horizontal)
            for n in range(header.count())
            if header.sectionResizeMode(n) == QHeaderView.ResizeMode.Stretch
        ]
        assert stretched == free  # the free text takes the room left, not a date
    assert runtime.services.ledger.balance(COMPANY_CASH) == 5_00_000_00
    qtmodeltester.check(checker.decided)
    qtmodeltester.check(maker.waiting)
    assert errors == []
    for view in (maker, checker):
        settle(qtbot, view)


def test_the_form_sends_the_day_the_bank_credited_it(
    qtbot: QtBot, runtime: Runtime, errors: list[BaseException], open_view: Opener
) -> None:
    """The credit of four days ago, approved today, is posted dated four days ago; the
    field offers no day after today and shows its day as every date is shown."""
    today = runtime.services.clock.today()
    credited = today - timedelta(days=4)
    view = open_view(ADMIN, 0)
    field = view.credited_on
    assert field.text() == office_time.day(today) and field.calendarPopup()
    assert field.maximumDate() == QDate(today.year, today.month, today.day)
    fill(qtbot, view, "2,00,000", UTR)
    field.setDate(QDate(credited.year, credited.month, credited.day))
    assert field.text() == office_time.day(credited)
    click(qtbot, view.record)
    qtbot.waitUntil(lambda: view.form_note.text().startswith("Recorded"))
    assert f"credited on {office_time.day(credited)}" in view.form_note.text()
    assert field.date() == QDate(today.year, today.month, today.day)  # ready for the next
    qtbot.waitUntil(lambda: view.waiting.rowCount() == 1)
    assert view.waiting.index(0, 3).data() == office_time.day(credited)
    added = runtime.services.capital.approve_capital(EMPLOYEE, UTR)
    doc = runtime.ctx.store.get(LEDGER, added.txn_id)
    assert doc is not None and doc.data["date"] == credited.isoformat()
    qtbot.waitUntil(lambda: view.decided.rowCount() == 1)
    assert view.decided.index(0, 5).data() == office_time.day(credited)
    assert errors == []
    settle(qtbot, view)


def test_a_used_reference_and_a_bad_amount_are_refused_under_the_form(
    qtbot: QtBot, runtime: Runtime, errors: list[BaseException], open_view: Opener
) -> None:
    runtime.services.capital.propose_capital(ADMIN, 1_00_000_00, LENDING_CASH, UTR)
    view = open_view(ADMIN, 1)
    fill(qtbot, view, "1,00,000", UTR)
    click(qtbot, view.record)
    qtbot.waitUntil(lambda: view.form_note.text().startswith("Not done"))
    assert f"Bank reference: {UTR} was already used" in view.form_note.text()
    assert BAD.name() in view.form_note.styleSheet()
    assert view.bank_ref.text() == UTR  # kept, to correct
    retype(qtbot, view.amount, "lots")
    click(qtbot, view.record)
    qtbot.waitUntil(lambda: "Amount" in view.form_note.text())
    assert view.form_note.text().startswith("Not done: Amount")
    assert errors == []
    settle(qtbot, view)


def test_the_maker_withdraws_with_a_reason(
    qtbot: QtBot, runtime: Runtime, errors: list[BaseException], open_view: Opener
) -> None:
    runtime.services.capital.propose_capital(ADMIN, 1_00_000_00, LENDING_CASH, UTR)
    view = open_view(ADMIN, 1)
    view.waiting_table.selectRow(0)
    QTimer.singleShot(0, answer("Entered twice"))
    click(qtbot, view.decline_button)
    qtbot.waitUntil(lambda: view.note.text().startswith("Declined"))
    qtbot.waitUntil(lambda: view.decided.rowCount() == 1)
    assert view.decided.index(0, 1).data() == "Declined by Asha Admin"
    assert runtime.services.ledger.lending_pool() == 0
    assert errors == []
    settle(qtbot, view)


@pytest.mark.parametrize(("actor", "listed"), [(EMPLOYEE, True), (ADMIN, True), (AUDITOR, False)])
def test_staff_find_it_under_money_and_auditors_do_not_as_with_payouts(
    qtbot: QtBot, runtime: Runtime, actor: Actor, listed: bool
) -> None:
    window = next(main_window(qtbot, runtime, actor))
    names = [window.nav.item(i).data(NAME_ROLE) for i in range(window.nav.count())]
    assert ("capital" in names) is listed and ("payouts" in names) is listed
    if listed:
        assert section_of("capital") == "Money"
        assert isinstance(window.pages["capital"], CapitalView)
    window.close()
