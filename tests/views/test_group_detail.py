"""A group's page: terms, the health verdict with its reason, and its book in tabs;
reached from the groups overview (a row opens it) and from forming a group."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from app.bootstrap import Runtime
from app.views.group_detail import GroupDetailView
from app.views.group_new import GroupNewView
from app.views.groups import GroupOverviewView
from app.views.main_window import MainWindow
from app.views.navigation import view_name
from app.views.shell import views_for
from tests.builders import ADMIN2, EMPLOYEE
from tests.views.recovery_history import Seeded


@pytest.fixture
def page(qtbot: QtBot, seeded_runtime: Runtime) -> Iterator[GroupDetailView]:
    view = GroupDetailView(seeded_runtime.services, ADMIN2)
    qtbot.addWidget(view)
    view.resize(1280, 760)
    view.show()
    yield view
    view.shutdown()


def shown(qtbot: QtBot, view: GroupDetailView, group_id: str) -> None:
    view.show_item(group_id=group_id)
    qtbot.waitUntil(lambda: view.detail is not None and view.detail.group.id == group_id)


def texts(model: object, row: int) -> list[str]:
    m = model  # a RowsModel
    return [m.data(m.index(row, c)) for c in range(m.columnCount())]  # type: ignore[attr-defined]


def test_the_page_shows_the_health_with_its_reason_and_the_book(
    qtbot: QtBot, page: GroupDetailView, seeded: Seeded, qtmodeltester: ModelTester
) -> None:
    assert page.stage.text() == "Open a group from Chit groups to see it here."
    assert not page.health.isVisibleTo(page)  # no "Health:" with nothing after it
    shown(qtbot, page, seeded.group_id)
    assert page.health.isVisibleTo(page)
    assert page.heading.text() == "Shanti 4L"
    assert page.verdict.text() == "At risk" and "#b3261e" in page.verdict.styleSheet()
    reason = page.reason.text()
    assert "Period 1: 1/4 paid" in reason and "3 defaulting (₹2,37,500.00 overdue)" in reason
    assert page.stage.text().startswith("Running: 1 of 4 periods settled.")
    assert "Registration (sanction) number: TN/CHIT/TEST/" in page.stage.text()
    assert page.periods.rowCount() == 4
    period, _day, winner, discount, prize, dividend, net, collected = texts(page.periods, 0)
    assert (period, winner, discount, prize) == ("1", "Lakshmi Devi", "₹40,000.00", "₹3,60,000.00")
    assert (dividend, net) == ("₹5,000.00", "₹95,000.00")  # (40,000 − 20,000) ÷ 4
    assert collected == "₹1,42,500.00 of ₹3,80,000.00"
    assert texts(page.periods, 1)[2:4] == ["Not drawn yet", "–"]
    assert [page.defaulters.row(r).name for r in range(3)] == [
        "Arun Kumar", "Zoya Khan", "Devika Rao"
    ]  # fmt: skip
    assert page.tabs.tabText(2) == "Defaulters (3)" and page.tabs.tabText(3) == "Payouts (1)"
    assert texts(page.payouts, 0)[1:4] == ["Lakshmi Devi", "₹3,60,000.00", "Pending"]
    assert [page.tickets.row(r).ticket_no for r in range(4)] == [1, 2, 3, 4]
    assert page.export.isEnabled() and not page.forming.isVisibleTo(page)
    for model in (page.periods, page.tickets, page.defaulters, page.payouts):
        qtmodeltester.check(model, force_py=True)
    page.grab()


def test_a_forming_groups_page_says_where_it_stands(
    qtbot: QtBot, page: GroupDetailView, seeded: Seeded
) -> None:
    shown(qtbot, page, seeded.forming_group_id)
    assert page.verdict.text() == "–"
    assert page.reason.text() == "Enrolling: 2 of 10 tickets taken."
    assert page.stage.text().startswith("Forming  ·  Registration (sanction) number: ")
    assert page.defaulters.rowCount() == 0 and page.periods.rowCount() == 10
    assert page.forming.isVisibleTo(page)


def test_the_screenshot_example_is_a_running_group(
    qtbot: QtBot, page: GroupDetailView, seeded: Seeded
) -> None:
    page.show_example()
    qtbot.waitUntil(lambda: not page.busy() and page.detail is not None)
    assert page.detail is not None and page.detail.group.id == seeded.group_id


@pytest.fixture
def window(qtbot: QtBot, seeded_runtime: Runtime) -> Iterator[MainWindow]:
    w = MainWindow(
        seeded_runtime.services, ADMIN2, sample=seeded_runtime.stats.sample, on_close=lambda: None
    )
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()


def test_a_group_row_opens_its_page_by_enter(
    qtbot: QtBot, window: MainWindow, seeded: Seeded
) -> None:
    overview = window.pages["groups"]
    assert isinstance(overview, GroupOverviewView)
    window.go("groups")
    qtbot.waitUntil(lambda: overview.model.rowCount() == 2)
    row = next(r for r in range(2) if overview.model.row(r).group.id == seeded.group_id)
    overview.table.setCurrentIndex(overview.model.index(row, 0))
    qtbot.keyClick(overview.table, Qt.Key.Key_Return)
    page = window.pages["group-detail"]
    assert isinstance(page, GroupDetailView) and window.stack.currentWidget() is page
    qtbot.waitUntil(lambda: page.heading.text() == "Shanti 4L")


def test_new_group_and_continue_forming_lead_to_the_forming_view(
    qtbot: QtBot, window: MainWindow, seeded: Seeded
) -> None:
    overview, forming = window.pages["groups"], window.pages["group-new"]
    assert isinstance(overview, GroupOverviewView) and isinstance(forming, GroupNewView)
    qtbot.mouseClick(overview.new, Qt.MouseButton.LeftButton)
    assert window.stack.currentWidget() is forming
    assert forming.pages.currentWidget() is forming.terms and forming.terms.name.text() == ""
    window.go("group-detail", group_id=seeded.forming_group_id)
    page = window.pages["group-detail"]
    assert isinstance(page, GroupDetailView)
    qtbot.waitUntil(lambda: page.forming.isVisibleTo(page))
    qtbot.mouseClick(page.forming, Qt.MouseButton.LeftButton)
    assert window.stack.currentWidget() is forming
    qtbot.waitUntil(lambda: forming.panel.group is not None)
    assert forming.panel.group is not None and forming.panel.group.name == "Lakshmi 10L"


def test_every_staff_member_can_form_a_group_and_open_a_groups_page(runtime: Runtime) -> None:
    views = views_for(runtime.services, EMPLOYEE)
    try:
        names = [view_name(v) for v in views]
        assert "group-new" in names and names[-1] == "group-detail"
        assert not getattr(views[-1], "in_nav", True)
    finally:
        for v in views:
            getattr(v, "shutdown", lambda: None)()
