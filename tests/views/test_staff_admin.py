"""Admins manage staff accounts from the desktop."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QMainWindow,
    QWidget,
)
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from app import bootstrap, config
from app.services.actors import Actor
from app.services.staff import StaffService, password_problems
from app.views import password, staff_admin
from app.views.password import own_password_dialog
from app.views.staff_admin import StaffAdminView
from tests.dates import misdated
from tests.views.builders import opener


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[bootstrap.Runtime]:
    rt = bootstrap.build(config.load(environ={}, data_dir=tmp_path))
    yield rt
    rt.close()


@pytest.fixture
def open_view(
    qtbot: QtBot, runtime: bootstrap.Runtime
) -> Iterator[Callable[[Actor], StaffAdminView]]:
    def make(actor: Actor) -> StaffAdminView:
        view = StaffAdminView(runtime.services, actor)
        qtbot.addWidget(view)
        return view

    yield from opener(make)


def test_admin_creates_and_disables_staff(
    runtime: bootstrap.Runtime,
    qtbot: QtBot,
    qtmodeltester: ModelTester,
    monkeypatch: pytest.MonkeyPatch,
    open_view: Callable[[Actor], StaffAdminView],
) -> None:
    staff = StaffService(runtime.ctx)
    admin = staff.create_first_admin("Asha Admin", "asha", "long-enough-pass-1").actor
    view = open_view(admin)
    qtbot.waitUntil(lambda: len(view.model.rows()) == 1)
    qtmodeltester.check(view.model, force_py=True)

    def fill(dialog: staff_admin.NewStaffDialog) -> int:
        dialog.name.setText("Ravi Employee")
        dialog.username.setText("ravi")
        dialog.password.setText("another-long-pass-2")
        dialog.again.setText("another-long-pass-2")
        return staff_admin.QDialog.DialogCode.Accepted.value

    monkeypatch.setattr(staff_admin.NewStaffDialog, "exec", fill)
    view.create_account()
    qtbot.waitUntil(lambda: len(view.model.rows()) == 2)
    ravi = next(r for r in view.model.rows() if r.username == "ravi")
    assert (ravi.role, ravi.active) == ("employee", True)

    view.table.selectRow(view.model.rows().index(ravi))
    view.toggle()
    qtbot.waitUntil(lambda: not next(r for r in view.model.rows() if r.username == "ravi").active)


def test_an_employee_is_refused(
    qtbot: QtBot,
    runtime: bootstrap.Runtime,
    monkeypatch: pytest.MonkeyPatch,
    open_view: Callable[[Actor], StaffAdminView],
) -> None:
    staff = StaffService(runtime.ctx)
    admin = staff.create_first_admin("Asha Admin", "asha", "long-enough-pass-1").actor
    employee = staff.create_staff(admin, "Ravi", "ravi", "another-long-pass-2").actor
    errors: list[BaseException] = []
    monkeypatch.setattr(staff_admin.worker, "show_error", lambda parent, exc: errors.append(exc))
    view = open_view(employee)
    qtbot.waitUntil(lambda: len(view.model.rows()) == 2)
    view.table.selectRow(0)
    view.toggle()
    qtbot.waitUntil(lambda: bool(errors))
    assert "may not" in str(errors[0])


ASHA_PASS, RAVI_PASS = "long-enough-pass-1", "another-long-pass-2"


def two_people(runtime: bootstrap.Runtime) -> tuple[Actor, Actor]:
    staff = runtime.services.staff
    admin = staff.create_first_admin("Asha Admin", "asha", ASHA_PASS).actor
    return admin, staff.create_staff(admin, "Ravi Kumar", "ravi", RAVI_PASS).actor


def select(view: StaffAdminView, username: str) -> None:
    rows = view.model.rows()
    view.table.selectRow(next(i for i, r in enumerate(rows) if r.username == username))


def test_the_staff_view_has_a_heading_and_each_persons_last_sign_in(
    qtbot: QtBot, runtime: bootstrap.Runtime, open_view: Callable[[Actor], StaffAdminView]
) -> None:
    admin, _ = two_people(runtime)
    runtime.services.staff.sign_in("asha", ASHA_PASS)
    view = open_view(admin)
    qtbot.waitUntil(lambda: len(view.model.rows()) == 2)
    headings = [w.text() for w in view.findChildren(QLabel) if w.objectName() == "heading"]
    assert headings == ["Staff accounts"]
    column = staff_admin.StaffModel.COLUMNS.index("Last sign-in")
    shown = {
        r.username: view.model.data(view.model.index(i, column))
        for i, r in enumerate(view.model.rows())
    }
    assert shown["ravi"] == "never"
    assert shown["asha"].endswith(" IST") and not misdated(shown["asha"])


def test_an_admin_sets_a_typed_password_and_the_persons_sessions_end(
    qtbot: QtBot, runtime: bootstrap.Runtime, open_view: Callable[[Actor], StaffAdminView]
) -> None:
    admin, ravi = two_people(runtime)
    staff = runtime.services.staff
    session = staff.sign_in("ravi", RAVI_PASS)
    view = open_view(admin)
    qtbot.waitUntil(lambda: len(view.model.rows()) == 2)
    select(view, "ravi")
    dialog = view.password_dialog(view.selected())  # type: ignore[arg-type]
    qtbot.addWidget(dialog)
    dialog.new.setText("short1")
    assert not dialog.ok.isEnabled() and "at least 10 characters" in dialog.problems.text()
    dialog.new.setText("Blue-river-77x")
    dialog.again.setText("Blue-river-77")
    assert not dialog.ok.isEnabled() and "same new password twice" in dialog.problems.text()
    dialog.again.setText("Blue-river-77x")
    assert dialog.ok.isEnabled() and dialog.problems.text() == ""
    dialog.show()
    cancel = dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel)
    assert dialog.ok.isDefault() and not cancel.isDefault() and not cancel.autoDefault()
    qtbot.keyClick(dialog.again, Qt.Key.Key_Return)  # Enter sets it (the default button)
    qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted)
    assert staff.resume(session.token) is None
    assert staff.sign_in("ravi", "Blue-river-77x").actor == ravi
    record = list(runtime.pipeline.wal.read())[-2]
    assert record.action == "staff.set_password" and "Blue-river-77x" not in str(record.change)


def test_a_generated_password_meets_the_rule_and_escape_cancels(
    qtbot: QtBot, runtime: bootstrap.Runtime, open_view: Callable[[Actor], StaffAdminView]
) -> None:
    admin, _ = two_people(runtime)
    view = open_view(admin)
    qtbot.waitUntil(lambda: len(view.model.rows()) == 2)
    select(view, "ravi")
    dialog = view.password_dialog(view.selected())  # type: ignore[arg-type]
    qtbot.addWidget(dialog)
    assert not dialog.generate.autoDefault() and dialog.ok.isDefault()
    dialog.generate.click()
    generated = dialog.new.text()
    assert generated == dialog.again.text() and not password_problems(generated, "ravi")
    assert dialog.new.echoMode() == QLineEdit.EchoMode.Normal
    assert "not shown again" in dialog.problems.text() and dialog.ok.isEnabled()
    dialog.show()
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert dialog.result() == QDialog.DialogCode.Rejected
    assert runtime.services.staff.sign_in("ravi", RAVI_PASS).actor.name == "Ravi Kumar"


def test_a_person_changes_their_own_password_after_proving_the_current_one(
    qtbot: QtBot, runtime: bootstrap.Runtime
) -> None:
    _, ravi = two_people(runtime)
    staff = runtime.services.staff
    holder = QWidget()
    qtbot.addWidget(holder)
    dialog = own_password_dialog(staff, ravi, "ravi", holder)
    dialog.new.setText("Green-hills-42")
    dialog.again.setText("Green-hills-42")
    assert not dialog.ok.isEnabled() and "current password" in dialog.problems.text()
    dialog.current.setText("not-my-password-9")  # type: ignore[union-attr]
    dialog.ok.click()
    qtbot.waitUntil(lambda: "current password is not right" in dialog.error.text())
    assert dialog.result() != QDialog.DialogCode.Accepted
    dialog.current.setText(RAVI_PASS)  # type: ignore[union-attr]
    dialog.ok.click()
    qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted)
    assert staff.sign_in("ravi", "Green-hills-42").actor == ravi


def test_the_menu_with_a_persons_name_offers_to_change_their_password(
    qtbot: QtBot, runtime: bootstrap.Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, ravi = two_people(runtime)
    window = QMainWindow()
    qtbot.addWidget(window)
    asked: list[str] = []

    def answer(dialog: password.PasswordDialog) -> int:
        asked.append(dialog.username)
        return QDialog.DialogCode.Accepted.value

    monkeypatch.setattr(password.PasswordDialog, "exec", answer)
    action = password.change_password_action(window, runtime.services.staff, ravi)
    assert action.text() == "Change my password…"
    action.trigger()
    qtbot.waitUntil(lambda: asked == ["ravi"])
    assert "password is changed" in window.statusBar().currentMessage()
