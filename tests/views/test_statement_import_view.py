"""The statement import view on the real widgets: choose the shipped sample, resolve what
needs a person, record with the progress bar, and see the file sorted again."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from app.kernel.bundle import resource
from app.views import statement_import
from app.views.statement_import import StatementImportView
from tests.counter_books import LAKH, RAVI, Books, open_books
from tests.views.builders import opener

if TYPE_CHECKING:
    from app.bootstrap import Runtime

SAMPLE = resource("resources", "statements", "sample-statement.csv")


@pytest.fixture
def books(runtime: Runtime) -> Books:
    return open_books(runtime.ctx, gross=4 * LAKH, name="Kaveri 4L")


@pytest.fixture
def open_view(
    qtbot: QtBot, runtime: Runtime, errors: list[BaseException]
) -> Iterator[Callable[[], StatementImportView]]:
    """The view on screen at 1280×720; no error may reach a message box."""

    def make() -> StatementImportView:
        shown = StatementImportView(runtime.services, RAVI)
        qtbot.addWidget(shown)
        shown.resize(1280, 720)
        shown.show()
        return shown

    yield from opener(make)
    assert errors == []


@pytest.fixture
def view(open_view: Callable[[], StatementImportView]) -> StatementImportView:
    return open_view()


def chosen(
    qtbot: QtBot, view: StatementImportView, monkeypatch: pytest.MonkeyPatch, path: Path
) -> None:
    monkeypatch.setattr(statement_import, "ask_statement_path", lambda parent: str(path))
    qtbot.mouseClick(view.choose, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not view.busy())


def test_choose_resolve_and_record_the_sample(
    qtbot: QtBot, view: StatementImportView, books: Books, runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch, qtmodeltester: ModelTester,
) -> None:  # fmt: skip
    chosen(qtbot, view, monkeypatch, SAMPLE)
    assert view.model.rowCount() == 11
    qtmodeltester.check(view.model, force_py=True)
    assert "Needs a person" not in view.summary.text()  # verdicts, not the menu
    assert "Matched</b> 3" in view.summary.text() and "Ambiguous" in view.summary.text()
    assert view.record.text() == "Record 3 receipts"
    line = view.chosen_line()
    assert line is not None and line.line.number == 10  # the first line needing a person
    assert "owes ₹75,000.00, not ₹70,000.00" in view.resolve.about.text()
    assert view.resolve.candidates.count() == 1
    view.resolve.amount.setText("70,000")
    qtbot.mouseClick(view.resolve.pay, Qt.MouseButton.LeftButton)  # a part payment
    assert view.preview is not None and view.preview.line(10).verdict == "resolved"
    assert view.record.text() == "Record 4 receipts"
    assert view.select_row(14)
    assert view.resolve.candidates.count() == 1  # Meena's due, less row 10's part payment
    qtbot.mouseClick(view.resolve.pay, Qt.MouseButton.LeftButton)
    assert "at most ₹5,000.00" in view.resolve.error.text()  # refused, named
    view.resolve.amount.setText("5,000")
    qtbot.mouseClick(view.resolve.pay, Qt.MouseButton.LeftButton)
    assert view.preview.line(14).verdict == "resolved"
    assert view.select_row(13)
    qtbot.mouseClick(view.resolve.leave, Qt.MouseButton.LeftButton)
    view.show_filter.setCurrentIndex(1)  # needs a person
    assert [view.model.row(r).line.number for r in range(view.model.rowCount())] == [12]
    view.show_filter.setCurrentIndex(0)
    qtbot.mouseClick(view.record, Qt.MouseButton.LeftButton)
    assert view.progress.isVisible() and not view.record.isEnabled()
    qtbot.waitUntil(lambda: "Recorded 5 receipts" in view.outcome.text(), timeout=20_000)
    qtbot.waitUntil(lambda: not view.busy() and not view.progress.isVisible())
    assert view.preview is not None and view.preview.count("matched", "resolved") == 0
    assert "imported before: 5 receipts" in view.file.text()
    assert not view.record.isEnabled() and view.record.text() == "Record receipts"
    ledger = runtime.services.ledger
    owed = {m: sum(d.outstanding for d in ledger.dues_for(m)) for m in books.members}
    assert sorted(owed.values()) == [0, 0, 0, 0]
    assert ledger.check()[0]


def test_a_file_that_is_not_a_statement_is_said_so_in_the_view(
    qtbot: QtBot, view: StatementImportView, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "members.csv"
    bad.write_text("Name,Phone\nAsha,98123\n")
    chosen(qtbot, view, monkeypatch, bad)
    assert "has no statement table" in view.outcome.text()
    assert view.file.text() == statement_import.PROMPT
    assert view.preview is None and view.choose.isEnabled() and not view.record.isEnabled()


def test_cancelling_the_file_dialog_changes_nothing(
    qtbot: QtBot, view: StatementImportView, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(statement_import, "ask_statement_path", lambda parent: "")
    qtbot.mouseClick(view.choose, Qt.MouseButton.LeftButton)
    assert view.preview is None and not view.busy()
