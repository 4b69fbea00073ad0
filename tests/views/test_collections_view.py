"""The collections view on the real widgets: find the member, take receipts in each mode,
print them, and the cheques and second-person lists."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QApplication, QDialog
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from app.kernel.bundle import resource
from app.services.actors import Actor
from app.services.counter import Slip
from app.views import receipt_print
from app.views.collections import CollectionsView
from app.views.counter_queue import BounceDialog
from tests.counter_books import FARAH, IFSC, RAVI, Books, open_books
from tests.reports.pdfcheck import text
from tests.views.builders import main_window, opener

if TYPE_CHECKING:
    from app.bootstrap import Runtime
    from app.views.main_window import MainWindow

NET = 1_50_000_00
TIP = Qt.ItemDataRole.ToolTipRole
Opener = Callable[[Actor], CollectionsView]


@pytest.fixture
def books(runtime: Runtime) -> Books:
    return open_books(runtime.ctx)


@pytest.fixture
def open_view(qtbot: QtBot, runtime: Runtime, errors: list[BaseException]) -> Iterator[Opener]:
    """``open_view(actor)``: the view on screen; no error may reach a message box."""

    def make(actor: Actor) -> CollectionsView:
        view = CollectionsView(runtime.services, actor)
        qtbot.addWidget(view)
        view.resize(1280, 720)
        view.show()
        qtbot.waitUntil(lambda: not view.busy())
        return view

    yield from opener(make)
    assert errors == []


def at_counter(qtbot: QtBot, view: CollectionsView, member_id: str, dues: int = 1) -> None:
    view.show_item(member_id=member_id)
    qtbot.waitUntil(lambda: view.desk is not None and len(view.desk.dues) == dues)
    qtbot.waitUntil(lambda: view.counter.chosen_due() is not None)


def fill(
    view: CollectionsView, mode: str, reference: str, amount: str = "", ifsc: str = ""
) -> None:
    form = view.counter
    form.mode.setCurrentIndex(form.mode.findData(mode))
    if amount:
        form.amount.setText(amount)
    form.reference.setText(reference)
    form.ifsc.setText(ifsc)


def test_find_the_member_take_a_upi_receipt_and_print_it(
    qtbot: QtBot, open_view: Opener, books: Books, runtime: Runtime, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    view = open_view(RAVI)
    form = view.counter
    qtbot.keyClicks(form.search, "Vikram")
    qtbot.waitUntil(lambda: form.results.count() == 1)
    form.results.setCurrentRow(0)
    qtbot.waitUntil(lambda: view.desk is not None and form.chosen_due() is not None)
    assert "Vikram Singh" in form.card.text() and "₹1,50,000.00" in form.card.text()
    assert form.amount.text() == "150,000.00"
    assert form.reference.text().startswith("CASH-")  # a slip number for cash
    fill(view, "upi", "4123 5678 9012")
    assert not form.form.isRowVisible(form.ifsc)
    qtbot.mouseClick(form.record, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "recorded" in form.outcome.text())
    assert (
        f"Receipt No. {books.receipt_no(1, 1)} recorded: ₹1,50,000.00 by UPI."
        == form.outcome.text()
    )
    qtbot.waitUntil(lambda: view.desk is not None and view.desk.dues == [])
    assert form.receipts.rowCount() == 1 and form.print_button.isEnabled()
    number = form.receipts.index(0, form.receipts.COLUMNS.index("Receipt No."))
    assert form.receipts.data(number) == books.receipt_no(1, 1)  # the group as people know it
    saved = tmp_path / "asha.pdf"
    monkeypatch.setattr(receipt_print, "ask_save_path", lambda parent, suggested: str(saved))
    qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: saved.exists() and "Saved" in form.outcome.text())
    assert saved.read_bytes().startswith(b"%PDF")
    assert f"Receipt No. {books.receipt_no(1, 1)}" in text(saved.read_bytes())
    assert books.group_id not in text(saved.read_bytes())
    opened: list[Path] = []
    monkeypatch.setattr(receipt_print, "open_in_viewer", lambda path: opened.append(path) or True)
    qtbot.mouseClick(form.print_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(opened))
    assert opened[0].read_bytes().startswith(b"%PDF")
    exports = [r for r in runtime.ctx.pipeline.read(1) if r.action == "report.export"]
    assert [(r.actor["id"], r.change["event"]["kind"]) for r in exports] == [
        (RAVI.id, "receipt"),
        (RAVI.id, "receipt"),
    ]  # each copy handed out is in the log, as every report is


@pytest.fixture
def window(qtbot: QtBot, runtime: Runtime) -> Iterator[MainWindow]:
    yield from main_window(qtbot, runtime, RAVI)  # at 1280×720


def test_the_dues_and_receipts_fit_the_window_without_scrolling_sideways(
    qtbot: QtBot, runtime: Runtime, window: MainWindow
) -> None:
    books = open_books(runtime.ctx, name="Mylapore Thiruvanmiyur 8 Lakh Chit 07", periods=(1, 2))
    slip = Slip(books.members[0], books.group_id, 1, NET, "upi", "412356789012", "2026-11-24")
    runtime.services.counter.take(RAVI, slip)
    window.go("collections", member_id=books.members[0])
    view = window.pages["collections"]
    assert isinstance(view, CollectionsView)
    form = view.counter
    qtbot.waitUntil(lambda: form.dues.rowCount() == 1 and form.receipts.rowCount() == 1)
    qtbot.waitUntil(form.dues_table.isVisible)
    QApplication.processEvents()
    for table in (form.dues_table, form.receipts_table):
        assert table.horizontalScrollBar().maximum() == 0, type(table.model()).__name__
    number = form.receipts.COLUMNS.index("Receipt No.")
    shown = form.receipts_table.fontMetrics().horizontalAdvance(books.receipt_no(1, 1))
    assert form.receipts_table.columnWidth(number) > shown  # the number itself is never cut


def test_refusals_are_shown_under_the_form_naming_the_field(
    qtbot: QtBot, open_view: Opener, books: Books
) -> None:
    view = open_view(RAVI)
    at_counter(qtbot, view, books.members[0])
    form = view.counter
    fill(view, "upi", "12345")
    qtbot.keyClick(form.reference, Qt.Key.Key_Return)  # Enter in the form records
    qtbot.waitUntil(lambda: form.error.text() != "")
    assert form.error.text().startswith("UPI reference:")
    fill(view, "upi", "412356789012", amount="1.5 lakh")
    qtbot.keyClick(form.reference, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: form.error.text().startswith("Amount:"))
    fill(view, "upi", "412356789012", amount="2,00,000")
    qtbot.mouseClick(form.record, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "more than the ₹1,50,000.00 still owed" in form.error.text())
    assert form.outcome.text() == "" and form.record.isEnabled()


def test_large_cash_waits_for_a_second_person_who_is_not_the_maker(
    qtbot: QtBot, open_view: Opener, books: Books, runtime: Runtime, qtmodeltester: ModelTester
) -> None:
    maker = open_view(RAVI)
    at_counter(qtbot, maker, books.members[0])
    qtbot.mouseClick(maker.counter.record, Qt.MouseButton.LeftButton)  # cash, its slip number
    qtbot.waitUntil(lambda: "waits for a second person" in maker.counter.outcome.text())
    qtbot.waitUntil(lambda: maker.queue.approvals.rowCount() == 1)
    assert maker.tabs.tabText(1) == "Cheques and second person (1)"
    maker.queue.approvals_table.selectRow(0)
    assert not maker.queue.approve_button.isEnabled()
    assert "another staff member" in maker.queue.approve_button.toolTip()
    qtmodeltester.check(maker.queue.approvals, force_py=True)
    checker = open_view(FARAH)
    qtbot.waitUntil(lambda: checker.queue.approvals.rowCount() == 1)
    checker.queue.approvals_table.selectRow(0)
    assert checker.queue.approve_button.isEnabled()
    checker.queue.approve(checker.queue.chosen_approval().id, "Counted")  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: checker.queue.approvals.rowCount() == 0)
    qtbot.waitUntil(lambda: maker.desk is not None and maker.desk.dues == [])
    assert runtime.services.ledger.dues_for(books.members[0])[0].status == "paid"


def test_a_cheque_waits_then_bounces_once_a_second_person_approves(
    qtbot: QtBot, open_view: Opener, books: Books, runtime: Runtime, qtmodeltester: ModelTester
) -> None:
    view = open_view(RAVI)
    at_counter(qtbot, view, books.members[1])
    qtmodeltester.check(view.counter.dues, force_py=True)  # one due, before it is paid
    fill(view, "cheque", "004512", ifsc=IFSC)
    assert view.counter.form.isRowVisible(view.counter.ifsc)
    qtbot.mouseClick(view.counter.record, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "pending clearance" in view.counter.outcome.text())
    qtbot.waitUntil(lambda: view.queue.cheques.rowCount() == 1)
    qtbot.waitUntil(lambda: view.counter.receipts.rowCount() == 1)
    for model in (view.counter.receipts, view.queue.cheques):
        qtmodeltester.check(model, force_py=True)
    queue = view.queue
    queue.cheques_table.selectRow(0)
    assert queue.clear_button.isEnabled() and queue.bounce_button.isEnabled()
    ref = f"CHQ-{IFSC}-004512"
    today = runtime.services.clock.today().isoformat()
    queue.report_bounce(ref, "Funds insufficient", today)
    qtbot.waitUntil(lambda: queue.approvals.rowCount() == 1)
    checker = open_view(FARAH)
    qtbot.waitUntil(lambda: checker.queue.approvals.rowCount() == 1)
    checker.queue.approve(f"bounce-{ref}")
    qtbot.waitUntil(lambda: queue.cheques.rowCount() == 0 and queue.approvals.rowCount() == 0)
    due = runtime.services.ledger.dues_for(books.members[1])[0]
    assert (due.status, due.paid) == ("due", 0)
    assert runtime.services.ledger.receipt_entry(ref).cheque_state == "bounced"


def test_the_bounce_dialog_needs_a_reason_and_escape_cancels(
    qtbot: QtBot, open_view: Opener, books: Books, runtime: Runtime
) -> None:
    slip_view = open_view(RAVI)
    at_counter(qtbot, slip_view, books.members[3])
    fill(slip_view, "cheque", "000111", ifsc=IFSC)
    qtbot.mouseClick(slip_view.counter.record, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: slip_view.queue.cheques.rowCount() == 1)
    cheque = slip_view.queue.cheques.row(0)
    dialog = BounceDialog(cheque, QDate(2026, 12, 1), slip_view)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    dialog.reason.setFocus()
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)  # no reason: Enter does nothing
    assert dialog.result() == 0 and dialog.isVisible()
    qtbot.keyClicks(dialog.reason, "Funds insufficient")
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Tab)
    assert dialog.returned_on.hasFocus()
    qtbot.keyClick(dialog.returned_on, Qt.Key.Key_Escape)
    assert dialog.result() == QDialog.DialogCode.Rejected
    again = BounceDialog(cheque, QDate(2026, 12, 1), slip_view)
    qtbot.addWidget(again)
    again.show()
    qtbot.keyClicks(again.reason, "Funds insufficient")
    qtbot.keyClick(again.reason, Qt.Key.Key_Return)
    assert again.result() == QDialog.DialogCode.Accepted


def test_a_member_arrives_from_their_profile(qtbot: QtBot, open_view: Opener, books: Books) -> None:
    view = open_view(RAVI)
    view.tabs.setCurrentIndex(1)
    at_counter(qtbot, view, books.members[2])
    assert view.tabs.currentWidget() is view.counter
    assert "Meena Pillai" in view.counter.card.text()
    assert view.counter.results.count() == 1  # the member is listed where a search would


def test_the_receipts_headers_are_whole_at_1280_by_720_in_the_theme(
    qtbot: QtBot, runtime: Runtime, window: MainWindow
) -> None:
    """The reference column takes what the others leave: its header still reads whole
    (the reference itself is cut with "…" and whole in its tooltip)."""
    window.setStyleSheet(resource("resources", "theme.qss").read_text(encoding="utf-8"))
    books = open_books(runtime.ctx, name="Mylapore Thiruvanmiyur 8 Lakh Chit 07")
    ref = "KKBKR52026112400123456"
    runtime.services.counter.take(
        RAVI, Slip(books.members[0], books.group_id, 1, NET, "neft", ref, "2026-11-24")
    )
    window.go("collections", member_id=books.members[0])
    view = window.pages["collections"]
    assert isinstance(view, CollectionsView)
    form = view.counter
    qtbot.waitUntil(lambda: form.receipts.rowCount() == 1)
    qtbot.waitUntil(form.receipts_table.isVisible)
    QApplication.processEvents()
    header = form.receipts_table.horizontalHeader()
    for column, name in enumerate(form.receipts.COLUMNS):
        assert header.sectionSize(column) >= header.sectionSizeFromContents(column).width(), name
    last = form.receipts.index(0, len(form.receipts.COLUMNS) - 1)
    assert form.receipts.data(last, TIP) == ref
    tip = form.receipts.headerData(last.column(), Qt.Orientation.Horizontal, TIP)
    assert tip.startswith("Reference")  # the short header, spelt out
