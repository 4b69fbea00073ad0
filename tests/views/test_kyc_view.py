"""The KYC desk view: model, search, bulk approve, required reject reason, documents, live."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QApplication, QDialog, QDialogButtonBox, QLabel
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from app.kernel.errors import PermissionDenied, ValidationError
from app.services.actors import Actor
from app.views.formatting import ReasonDialog
from app.views.kyc import KycQueueView
from tests.builders import ADMIN, EMPLOYEE, EMPLOYEE2, pan
from tests.views.builders import main_window, opener, png_bytes, shown_with_rows, submit_kyc

if TYPE_CHECKING:
    from app.bootstrap import Runtime
    from app.views.main_window import MainWindow

Opener = Callable[[Actor, int], KycQueueView]

MAKER = EMPLOYEE
CHECKER = EMPLOYEE2
PEOPLE = (
    ("Lakshmi Devi", "9876543210"),
    ("Arun Kumar", "9123456789"),
    ("Devika Rao", "8123456789"),
)


def seeded(runtime: Runtime) -> list[str]:
    return [submit_kyc(runtime, name, phone, i) for i, (name, phone) in enumerate(PEOPLE)]


@pytest.fixture
def open_view(qtbot: QtBot, runtime: Runtime) -> Iterator[Callable[[Actor, int], KycQueueView]]:
    """``open_view(actor, rows)``: the queue, shown once it has ``rows`` rows."""

    def make(actor: Actor, rows: int) -> KycQueueView:
        return shown_with_rows(qtbot, KycQueueView(runtime.services, actor), (1100, 700), rows)

    yield from opener(make)


@pytest.fixture
def window(qtbot: QtBot, runtime: Runtime) -> Iterator[MainWindow]:
    yield from main_window(qtbot, runtime, CHECKER)


def test_the_queue_has_a_heading_and_fits_the_window_without_scrolling_sideways(
    qtbot: QtBot, runtime: Runtime, window: MainWindow
) -> None:
    seeded(runtime)
    window.go("kyc-queue")
    view = window.pages["kyc-queue"]
    assert isinstance(view, KycQueueView)
    qtbot.waitUntil(lambda: view.model.rowCount() == 3 and view.table.isVisible())
    QApplication.processEvents()
    heading = view.findChild(QLabel, "heading")
    assert heading is not None and heading.text() == "KYC queue"  # as every page is headed
    assert view.table.horizontalScrollBar().maximum() == 0  # at 1280×720, all columns show
    widest = max(view.table.fontMetrics().horizontalAdvance(name) for name, _ in PEOPLE)
    assert view.table.columnWidth(0) > widest  # and the names are not cut
    settle(qtbot, view)


def settle(qtbot: QtBot, view: KycQueueView) -> None:
    qtbot.waitUntil(lambda: not view.live.busy and not view.documents.busy)


def texts(view: KycQueueView) -> list[list[str]]:
    model = view.model
    return [
        [model.data(model.index(r, c)) for c in range(model.columnCount())]
        for r in range(model.rowCount())
    ]


def test_model_passes_the_tester_and_shows_only_masked_numbers(
    qtbot: QtBot, qtmodeltester: ModelTester, runtime: Runtime, open_view: Opener
) -> None:
    seeded(runtime)
    view = open_view(CHECKER, 3)
    qtmodeltester.check(view.model, force_py=True)
    assert view.model.data(QModelIndex()) is None
    rows = texts(view)
    assert [r[0] for r in rows] == [name for name, _ in PEOPLE]
    assert rows[0][1:4] == ["+91 XXXXXX3210", "XXXXXX" + pan(0)[-4:], "Pending"]
    flat = " ".join(" ".join(r) for r in rows)
    assert "9876543210" not in flat
    assert not any(pan(i) in flat or pan(i)[:6] in flat for i in range(len(PEOPLE)))
    settle(qtbot, view)


def test_status_filter_and_search(qtbot: QtBot, runtime: Runtime, open_view: Opener) -> None:
    seeded(runtime)
    runtime.services.members.enroll(ADMIN, "Not Yet Submitted", "9000000001")
    view = open_view(CHECKER, 3)
    view.search.setText("6789")
    qtbot.waitUntil(lambda: [r[0] for r in texts(view)] == ["Arun Kumar", "Devika Rao"])
    view.search.setText("lakshmi")
    qtbot.waitUntil(lambda: [r[0] for r in texts(view)] == ["Lakshmi Devi"])
    view.search.setText("")
    view.status.setCurrentIndex(view.status.findData("none"))
    qtbot.waitUntil(lambda: [r[0] for r in texts(view)] == ["Not Yet Submitted"])
    assert not view.approve_button.isEnabled()
    settle(qtbot, view)


def test_bulk_approve_of_two_selected_rows(
    qtbot: QtBot, runtime: Runtime, errors: list[BaseException], open_view: Opener
) -> None:
    first, second, third = seeded(runtime)
    view = open_view(CHECKER, 3)
    view.select_members([first, third])
    assert view.selected_ids() == [first, third]
    assert view.approve_button.isEnabled()
    qtbot.mouseClick(view.approve_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: [r[0] for r in texts(view)] == ["Arun Kumar"])
    kyc = runtime.services.kyc
    assert [kyc.get(m).status for m in (first, second, third)] == [
        "approved",
        "pending",
        "approved",
    ]
    assert kyc.get(first).decided_by == CHECKER.id
    assert errors == []
    settle(qtbot, view)


def test_reject_dialog_refuses_an_empty_reason(qtbot: QtBot) -> None:
    dialog = ReasonDialog("Reject KYC", "Why?", required=True)
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert not ok.isEnabled()
    dialog.text.setPlainText("   ")
    assert not ok.isEnabled()
    dialog.accept()
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert "cannot be empty" in dialog.hint.text()
    dialog.text.setPlainText("PAN photo is blurred")
    assert ok.isEnabled()
    dialog.accept()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.reason() == "PAN photo is blurred"


def test_reject_without_a_reason_is_refused_by_the_service_too(
    qtbot: QtBot, runtime: Runtime, errors: list[BaseException], open_view: Opener
) -> None:
    first = seeded(runtime)[0]
    view = open_view(CHECKER, 3)
    view.select_members([first])
    view.reject_selected("  ")
    qtbot.waitUntil(lambda: len(errors) == 1)
    assert isinstance(errors[0], ValidationError)
    assert "reason is required" in str(errors[0])
    assert runtime.services.kyc.get(first).status == "pending"
    view.reject_selected("PAN photo is blurred")
    qtbot.waitUntil(lambda: "Lakshmi Devi" not in [r[0] for r in texts(view)])
    assert runtime.services.kyc.get(first).reason == "PAN photo is blurred"
    settle(qtbot, view)


def test_the_maker_cannot_decide_and_is_told_why(
    qtbot: QtBot, runtime: Runtime, errors: list[BaseException], open_view: Opener
) -> None:
    first = seeded(runtime)[0]
    view = open_view(MAKER, 3)
    view.select_members([first])
    view.approve_selected()
    qtbot.waitUntil(lambda: len(errors) == 1)
    assert isinstance(errors[0], PermissionDenied)
    assert "maker-checker" in str(errors[0])
    assert runtime.services.kyc.get(first).status == "pending"
    settle(qtbot, view)


def test_document_viewer_shows_each_document_and_its_hash_check(
    qtbot: QtBot, runtime: Runtime, open_view: Opener
) -> None:
    first, second, _ = seeded(runtime)
    kyc = runtime.services.kyc
    png = next(d for d in kyc.get(second).documents if d.name == "pan.png")
    kyc.document_path(second, png.sha256).write_bytes(png_bytes("#ff0000"))
    view = open_view(CHECKER, 3)
    view.select_members([first])
    qtbot.waitUntil(lambda: len(view.pane.cards) == 2)
    image, pdf = view.pane.cards
    assert "Hash matches" in image.check.text()
    assert "Hash matches" in pdf.check.text()
    assert pdf.open.text() == "Open"
    assert not hasattr(image, "open")
    view.select_members([second])
    qtbot.waitUntil(lambda: len(view.pane.cards) == 2 and view._shown_member == second)
    qtbot.waitUntil(lambda: "does not match" in view.pane.cards[0].check.text())
    view.select_members([first, second])
    assert view.pane.cards == []
    settle(qtbot, view)


def test_a_change_from_another_thread_shows_up_without_a_refresh(
    qtbot: QtBot, runtime: Runtime, open_view: Opener
) -> None:
    first = seeded(runtime)[0]
    view = open_view(CHECKER, 3)
    done = threading.Event()

    def elsewhere() -> None:
        runtime.services.kyc.approve(CHECKER, [first])
        submit_kyc(runtime, "Farah Khan", "9000000002", 7)
        done.set()

    threading.Thread(target=elsewhere).start()
    assert done.wait(10)
    qtbot.waitUntil(
        lambda: [r[0] for r in texts(view)] == ["Arun Kumar", "Devika Rao", "Farah Khan"]
    )
    settle(qtbot, view)
