"""The main window routes between views: listed ones, and pages reached by drilling down."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QSettings, QStandardPaths, Qt
from PySide6.QtWidgets import QLabel, QPushButton
from pytestqt.qtbot import QtBot

from app import bootstrap, config
from app.services.actors import SYSTEM, Actor
from app.views.main_window import HEADING_HEIGHT, HEADING_ROLE, NAME_ROLE, MainWindow
from app.views.navigation import go, view_name
from app.views.shell import SECTIONS, in_sections, section_of


class Profile(QLabel):
    name = "member-profile"
    title = "Member"
    in_nav = False

    def show_item(self, **params: Any) -> None:
        self.setText(f"member {params['member_id']}")


def test_a_view_opens_a_page_with_its_item_and_pages_stay_out_of_the_list(
    qtbot: QtBot, data_dir: Path
) -> None:
    runtime = bootstrap.build(config.load(environ={}, data_dir=data_dir))
    try:
        window = MainWindow(
            runtime.services, SYSTEM, sample=runtime.stats.sample, on_close=lambda: None
        )
        qtbot.addWidget(window)
        profile, opener = Profile(), QPushButton("open")
        opener.title = "Register"  # type: ignore[attr-defined]
        window.add_view(opener)
        window.add_view(profile)
        listed = [window.nav.item(i).text() for i in range(window.nav.count())]
        assert "Register" in listed and "Member" not in listed
        window.go("register")
        assert window.stack.currentWidget() is opener
        go(opener, "member-profile", member_id="m-7")
        assert window.stack.currentWidget() is profile
        assert profile.text() == "member m-7"
        assert view_name(profile) == "member-profile" and view_name(opener) == "register"
        window.nav.setCurrentRow(0)
        assert window.stack.currentWidget() is window.pages["dashboard"]
        window.close()
    finally:
        runtime.close()


@pytest.fixture
def settings_folder(tmp_path: Path) -> Iterator[Path]:
    """The desktop's QSettings in a folder of this test's own."""
    folder = tmp_path / "config"
    default = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericConfigLocation)
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(folder))
    yield folder
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, default)


def test_every_sign_in_starts_on_the_dashboard(
    qtbot: QtBot, data_dir: Path, settings_folder: Path
) -> None:
    """The previous person's last view (here the audit trail) is not where the next
    person starts; the window keeps its size."""
    runtime = bootstrap.build(config.load(environ={}, data_dir=data_dir))
    try:
        for expected in ("dashboard", "dashboard"):
            window = MainWindow(
                runtime.services, SYSTEM, sample=runtime.stats.sample, on_close=lambda: None
            )
            qtbot.addWidget(window)
            window.show()
            assert window.stack.currentWidget() is window.pages[expected]
            assert window.nav.currentRow() == 0
            window.go("audit")
            window.resize(1100, 700)
            window.close()
        assert any(settings_folder.rglob("*.conf"))
        assert window.size().width() == 1100
    finally:
        runtime.close()


def named(name: str, title: str = "", *, page: bool = False) -> QLabel:
    view = QLabel(name)
    view.name = name  # type: ignore[attr-defined]
    view.title = title or name  # type: ignore[attr-defined]
    view.in_nav = not page  # type: ignore[attr-defined]
    return view


def test_views_are_grouped_by_section_and_a_page_follows_its_list() -> None:
    views = [named(n) for n in ("staff", "dashboard", "recovery", "members", "kpis")]
    views.insert(4, named("member-profile", page=True))
    views.append(named("something-new"))
    order = [view_name(v) for v in in_sections(views)]
    assert order == [
        "dashboard",
        "members",
        "member-profile",
        "recovery",
        "kpis",
        "something-new",
        "staff",
    ]
    assert section_of("member-profile") == "Office" and section_of("unheard-of", "Money") == "Money"


def test_the_navigation_has_sections_and_ctrl_numbers_follow_its_rows(
    qtbot: QtBot, runtime: bootstrap.Runtime
) -> None:
    window = MainWindow(
        runtime.services, SYSTEM, sample=runtime.stats.sample, on_close=lambda: None
    )
    qtbot.addWidget(window)
    window.resize(1280, 720)
    window.show()
    nav, left = window.nav, Qt.MouseButton.LeftButton
    rows = [nav.item(i) for i in range(nav.count())]
    names = [r.data(NAME_ROLE) for r in rows]
    headings = {i: r.data(HEADING_ROLE) for i, r in enumerate(rows) if r.data(HEADING_ROLE)}
    firsts = {}
    for i, name in enumerate(names):
        firsts.setdefault(section_of(name), i)
    assert headings == {i: section for section, i in firsts.items()}
    assert list(headings.values()) == list(SECTIONS)
    money = firsts["Money"]
    plain, headed = (nav.visualRect(nav.model().index(row, 0)) for row in (money - 1, money))
    assert headed.height() == plain.height() + HEADING_HEIGHT
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    for row in (money, 8, 0):  # Ctrl+1…9: the first nine rows
        qtbot.keyClick(nav, getattr(Qt.Key, f"Key_{row + 1}"), Qt.KeyboardModifier.ControlModifier)
        assert window.stack.currentWidget() is window.pages[names[row]]
    oversight = nav.visualRect(nav.model().index(firsts["Oversight"], 0))
    qtbot.mouseClick(nav.viewport(), left, pos=oversight.topLeft() + QPoint(20, 5))
    assert window.stack.currentWidget() is window.pages[names[0]]  # a heading is no button
    qtbot.mouseClick(nav.viewport(), left, pos=oversight.bottomLeft() + QPoint(20, -5))
    assert window.stack.currentWidget() is window.pages[names[firsts["Oversight"]]]
    window.go("group-detail")  # a page keeps its list marked, and stays shown
    assert window.stack.currentWidget() is window.pages["group-detail"]
    assert nav.currentItem().data(NAME_ROLE) == "groups"
    window.close()


def test_an_admin_sees_each_section_in_the_order_sections_gives(
    qtbot: QtBot, runtime: bootstrap.Runtime
) -> None:
    """The views are built in another order (Recovery before Collections); the list
    follows SECTIONS, so Money starts at the counter."""
    admin = Actor("staff-1", "Asha Rao", "admin")
    window = MainWindow(runtime.services, admin, sample=runtime.stats.sample, on_close=lambda: None)
    qtbot.addWidget(window)
    listed = [window.nav.item(i).data(NAME_ROLE) for i in range(window.nav.count())]
    money = [name for name in listed if section_of(name) == "Money"]
    assert money == list(SECTIONS["Money"])
    for names in SECTIONS.values():
        assert [n for n in listed if n in names] == [n for n in names if n in listed]
    window.close()


def test_every_page_an_admin_can_open_has_a_heading(
    qtbot: QtBot, runtime: bootstrap.Runtime
) -> None:
    """Each view and page says what it is at its top, in the theme's heading style."""
    admin = Actor("staff-1", "Asha Rao", "admin")
    window = MainWindow(runtime.services, admin, sample=runtime.stats.sample, on_close=lambda: None)
    qtbot.addWidget(window)
    for name, page in window.pages.items():
        headings = [label.text() for label in page.findChildren(QLabel, "heading")]
        assert headings and headings[0].strip(), name
    window.close()
