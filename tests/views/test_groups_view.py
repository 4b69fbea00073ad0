"""The group overview: a model over groups and their health, with progress bars."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QModelIndex, Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from app.bootstrap import Runtime
from app.views.groups import PROGRESS_ROLE, GroupOverviewView, GroupsModel
from tests.builders import ADMIN2, EMPLOYEE, sanction


@pytest.fixture
def runtime(seeded_runtime: Runtime) -> Runtime:
    return seeded_runtime


@pytest.fixture
def view(qtbot: QtBot, runtime: Runtime) -> Iterator[GroupOverviewView]:
    v = GroupOverviewView(runtime.services, ADMIN2)
    qtbot.addWidget(v)
    v.resize(1280, 800)
    v.show()
    qtbot.waitUntil(lambda: v.model.rowCount() == 2)
    yield v
    v.shutdown()


def texts(model: GroupsModel, row: int, role: int = Qt.ItemDataRole.DisplayRole) -> list[object]:
    return [model.data(model.index(row, c), role) for c in range(model.columnCount())]


def test_rows_show_progress_health_and_next_auction(view: GroupOverviewView) -> None:
    model = view.model
    running = next(r for r in range(2) if model.row(r).group.status == "running")
    forming = 1 - running
    name, members, gross, cycle, health, _next = texts(model, running)
    assert (name, members, gross, cycle) == ("Shanti 4L", "4", "₹4,00,000.00", "1/4")
    assert health == "At risk"  # 3 of 4 members owe
    assert model.data(model.index(running, 3), PROGRESS_ROLE) == 2500
    tip = model.data(model.index(running, 4), Qt.ItemDataRole.ToolTipRole)
    assert "3 defaulting" in tip and "Period 1: 1/4 paid" in tip
    name_tip = model.data(model.index(running, 0), Qt.ItemDataRole.ToolTipRole)
    assert "Registration TN/CHIT/TEST/" in name_tip and "open the group's page" in name_tip
    assert texts(model, forming)[:2] == ["Lakshmi 10L", "2/10"]
    assert texts(model, forming)[4] == "–"
    assert model.data(model.index(forming, 3), PROGRESS_ROLE) == 0
    view.grab()  # paints the progress-bar delegate


def test_model_passes_the_model_tester(view: GroupOverviewView, qtmodeltester: ModelTester) -> None:
    qtmodeltester.check(view.model, force_py=True)
    assert view.model.data(QModelIndex()) is None
    assert view.model.data(view.model.index(0, 9)) is None
    assert view.model.rowCount(view.model.index(0, 0)) == 0


def test_an_empty_model_passes_too(qtmodeltester: ModelTester) -> None:
    qtmodeltester.check(GroupsModel(), force_py=True)


def test_a_new_group_shows_up_live(qtbot: QtBot, view: GroupOverviewView, runtime: Runtime) -> None:
    from datetime import date, timedelta

    runtime.services.groups.create_group(
        EMPLOYEE,
        "Ganesh 2L",
        gross_paise=2_00_000_00,
        members=5,
        start_date=date.today() + timedelta(days=30),
        registration_no=sanction(),
    )
    qtbot.waitUntil(lambda: view.model.rowCount() == 3)
