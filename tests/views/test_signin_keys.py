"""The setup and sign-in dialogs answer the keyboard: Enter in the last field submits.

Found while driving the installed desktop with real key presses (packaging/smoke.sh):
Enter used to press Cancel, which on a first start quits the app.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.services.context import ServiceContext
from app.services.staff import StaffService
from app.views.signin import SetupDialog, SignInDialog

PASSWORD = "Correct-horse-9"


def test_enter_in_the_setup_dialog_creates_the_admin(qtbot: QtBot, ctx: ServiceContext) -> None:
    staff = StaffService(ctx)
    dialog = SetupDialog(staff)
    qtbot.addWidget(dialog)
    dialog.show()
    for field, text in (
        (dialog.name, "Asha Rao"),
        (dialog.username, "asha"),
        (dialog.password, PASSWORD),
        (dialog.confirm, PASSWORD),
    ):
        field.setText(text)
    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        qtbot.keyClick(dialog.confirm, Qt.Key.Key_Return)
    assert staff.has_admin()


def test_enter_in_the_sign_in_dialog_signs_in(qtbot: QtBot, ctx: ServiceContext) -> None:
    staff = StaffService(ctx)
    staff.create_first_admin("Asha Rao", "asha", PASSWORD)
    dialog = SignInDialog(staff)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.username.setText("asha")
    dialog.password.setText(PASSWORD)
    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    assert dialog.session is not None and dialog.session.actor.name == "Asha Rao"
