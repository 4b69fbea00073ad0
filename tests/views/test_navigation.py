"""The main window routes between views: listed ones, and pages reached by drilling down."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, QStandardPaths
from PySide6.QtWidgets import QLabel, QPushButton
from pytestqt.qtbot import QtBot

from app import bootstrap, config
from app.services.actors import SYSTEM
from app.views.main_window import MainWindow
from app.views.navigation import go, view_name


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
