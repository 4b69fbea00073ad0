"""Driving the real widgets as a person at the desk does: typing into fields, dropping
files from a file manager, answering a dialog, waiting for a view to finish.

Shared by the view tests and the day at the office (tests/views/test_day_at_the_office.py),
so that both press the same buttons in the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import shiboken6
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLineEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from app.views.formatting import ReasonDialog
from app.views.group_new import GroupNewView
from app.views.kyc_capture import KycCaptureView
from app.views.member_form import NewMemberDialog
from app.views.members import MembersView
from app.views.payouts import PayoutsView
from tests.builders import AADHAAR, ACCOUNT, PAN

ADDRESS = "12 Anna Salai\nChennai 600 002"


class Busy(Protocol):
    def busy(self) -> bool: ...


def settle(qtbot: QtBot, view: Busy) -> None:
    """Wait until ``view`` has finished what it was reading or doing."""
    qtbot.waitUntil(lambda: not view.busy(), timeout=10_000)


def click(qtbot: QtBot, button: QAbstractButton) -> None:
    """Click ``button`` once a person could: shown, enabled and laid out (a button just
    shown has no size until its layout runs, and a click there lands elsewhere)."""
    qtbot.waitUntil(lambda: button.isEnabled() and not button.visibleRegion().isEmpty())
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def retype(qtbot: QtBot, edit: QLineEdit, text: str) -> None:
    """Replace what ``edit`` holds by typing ``text``."""
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Delete)
    qtbot.keyClicks(edit, text)


def answer(dialog_text: str | None) -> Callable[[], None]:
    """Answer the next ReasonDialog: type ``dialog_text`` and press Tab then Enter (OK),
    or press Escape when None. A failed check leaves the dialog open: reject it then.
    Schedule it before the click that opens the dialog: ``QTimer.singleShot(0, ...)``."""

    def respond() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, ReasonDialog)
        QTimer.singleShot(2000, dialog.reject)
        dialog.text.setFocus()  # where a window system puts it (offscreen activates nothing)
        if dialog_text is None:
            QTest.keyClick(dialog.text, Qt.Key.Key_Escape)
            return
        QTest.keyClicks(dialog.text, dialog_text)
        QTest.keyClick(dialog.text, Qt.Key.Key_Return)  # a new line, not OK
        QTest.keyClick(dialog.text, Qt.Key.Key_Tab)
        ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
        assert dialog.focusWidget() is ok  # Tab leaves the text for OK
        QTest.keyClick(ok, Qt.Key.Key_Return)

    return respond


def reason(text: str) -> Callable[[QDialog], None]:
    """Type ``text`` as the reason a ReasonDialog asks for, and press OK."""
    return lambda _dialog: answer(text)()


def when_shown(title: str, act: Callable[[QDialog], None], within_ms: int = 5000) -> None:
    """Once a modal dialog titled ``title`` shows, ``act`` on it as its user would. Set
    up before the click that opens it (the click returns when the dialog has closed).
    Should it not show in time, whatever dialog is open is cancelled and the test fails
    (rather than hanging in that dialog)."""

    def poll(left: int) -> None:
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, QDialog) and dialog.windowTitle() == title:
            QTimer.singleShot(within_ms, lambda: _closed(dialog, title))
            act(dialog)
        elif left:
            QTimer.singleShot(20, lambda: poll(left - 1))
        else:
            shown = dialog.windowTitle() if dialog is not None else None
            if isinstance(dialog, QDialog):
                dialog.reject()
            raise AssertionError(f"no dialog titled {title!r} in {within_ms} ms; shown: {shown!r}")

    QTimer.singleShot(0, lambda: poll(within_ms // 20))


def _closed(dialog: QDialog, title: str) -> None:
    """Fail (closing it) if ``dialog`` is still open well after it was answered: an
    answer that went wrong must not leave the test waiting in the dialog for ever."""
    if shiboken6.isValid(dialog) and dialog.isVisible():
        dialog.reject()
        raise AssertionError(f"the dialog {title!r} stayed open after it was answered")


def press_ok(dialog: QDialog) -> None:
    """Click the dialog's OK button (it must be enabled)."""
    buttons = dialog.findChild(QDialogButtonBox)
    assert buttons is not None
    ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert ok.isEnabled(), "OK is not enabled"
    QTest.mouseClick(ok, Qt.MouseButton.LeftButton)


# -- members ------------------------------------------------------------------------------


def new_member_dialog(qtbot: QtBot, view: MembersView) -> NewMemberDialog:
    """Press "New member" and return the form it opens."""
    view.new_button.click()
    found = [w for w in QApplication.topLevelWidgets() if isinstance(w, NewMemberDialog)]
    dialog = next(d for d in found if d.isVisible())
    qtbot.addWidget(dialog)
    return dialog


# -- KYC capture --------------------------------------------------------------------------


def drop(view: QWidget, paths: list[Path]) -> bool:
    """Drag ``paths`` onto ``view`` and drop them, as a file manager does."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    actions = Qt.DropAction.CopyAction
    button, keys = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(QPoint(600, 400), actions, mime, button, keys)
    QApplication.sendEvent(view, enter)
    if not enter.isAccepted():
        return False
    dropped = QDropEvent(QPointF(600, 400), actions, mime, button, keys)
    QApplication.sendEvent(view, dropped)
    return dropped.isAccepted()


def kyc_type(qtbot: QtBot, view: KycCaptureView, field: str, text: str) -> None:
    """Type ``text`` into a KYC field (Enter between the lines of the address)."""
    editor = view.rows[field].editor
    editor.setFocus()
    for number, line in enumerate(text.split("\n")):
        if number:
            qtbot.keyClick(editor, Qt.Key.Key_Return)
        qtbot.keyClicks(editor, line)


def kyc_fill(qtbot: QtBot, view: KycCaptureView, *, pan: str = PAN, aadhaar: str = AADHAAR) -> None:
    """Type a whole, valid KYC (``pan`` and ``aadhaar`` as given)."""
    for field, text in (("pan", pan), ("aadhaar", aadhaar), ("ifsc", "SBIN0001234"),
                        ("account_number", ACCOUNT), ("address", ADDRESS)):  # fmt: skip
        kyc_type(qtbot, view, field, text)


# -- forming a group ----------------------------------------------------------------------


def terms_fill(qtbot: QtBot, view: GroupNewView, *, members: int = 3, **text: str) -> None:
    """Type a small group's terms (``text`` replaces a field's text) as a person would."""
    form = view.terms
    values = {
        "name": "Kaveri 3 Lakh Chit",
        "chit_value": "3,00,000",
        "commission": "5",
        "discount_cap": "30",
        "bid_step": "500",
        "registration_no": "TN/CHIT/2026/0301",
        **text,
    }
    form.members.setValue(members)
    for key, value in values.items():
        retype(qtbot, getattr(form, key), value)


def form_group(qtbot: QtBot, view: GroupNewView) -> str:
    """Press "Form group"; the id of the group formed."""
    click(qtbot, view.terms.submit)
    qtbot.waitUntil(
        lambda: view.pages.currentWidget() is view.panel and view.panel.group is not None
    )
    assert view.panel.group is not None
    return view.panel.group.id


def take_ticket(qtbot: QtBot, view: GroupNewView, name: str) -> None:
    """Find the member called ``name`` in the enrolment search and enrol them."""
    panel = view.panel
    retype(qtbot, panel.search, name)
    qtbot.keyClick(panel.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: (c := panel.chosen()) is not None and c.name == name and c.can_enrol)
    before = len(panel.ticket_rows.rows())
    click(qtbot, panel.enrol)
    qtbot.waitUntil(lambda: len(panel.ticket_rows.rows()) == before + 1)


# -- prize payouts ------------------------------------------------------------------------


def pane_shows(qtbot: QtBot, view: PayoutsView, payout_id: str, text: str = "") -> None:
    """Select the prize ``payout_id`` and wait until its pane shows (with ``text``)."""

    def ready() -> bool:
        detail = view.pane.detail
        return detail is not None and detail.row.id == payout_id and text in view.pane.text.text()

    assert view.select(payout_id)
    qtbot.waitUntil(ready)


def outcome(qtbot: QtBot, view: PayoutsView) -> str:
    """The outcome line of the last action on the payouts view, once there is one."""
    qtbot.waitUntil(lambda: view.pane.outcome.text() != "")
    return view.pane.outcome.text()
