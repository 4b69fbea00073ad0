"""The main window routes between views: listed ones, and pages reached by drilling down."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
