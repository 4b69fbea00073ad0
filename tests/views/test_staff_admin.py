"""Admins manage staff accounts from the desktop."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from app import bootstrap, config
from app.services.actors import Actor
from app.services.staff import StaffService
from app.views import staff_admin
from app.views.staff_admin import StaffAdminView
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
