"""The About box, reached from the Help menu: version, build commit, data folder, keyring."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMainWindow
from pytestqt.qtbot import QtBot

from app import config
from app.kernel.build_info import build_info
from app.kernel.errors import KeyringUnavailable
from app.kernel.sessions import KeyringSessions
from app.views.about import AboutDialog, add_help_menu


def _open_about(qtbot: QtBot, window: QMainWindow) -> AboutDialog:
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    about = next(a for a in help_menu.actions() if "About" in a.text())
    about.trigger()
    dialog = window.findChild(AboutDialog)
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: "Version" in dialog.build.text(), timeout=5_000)
    return dialog


@pytest.mark.skipif(
    not os.environ.get("TFOS_REQUIRE_KEYRING"),
    reason="needs a real Secret Service: run under tests/with-keyring.sh (as `make test` does)",
)
def test_help_about_shows_the_version_build_and_keyring(qtbot: QtBot, tmp_path: Path) -> None:
    settings = config.load(environ={}, data_dir=tmp_path)
    window = QMainWindow()
    qtbot.addWidget(window)
    add_help_menu(window, settings, KeyringSessions().check)
    dialog = _open_about(qtbot, window)
    info = build_info()
    assert dialog.build.text() == f"Version {info.version} · build {info.commit}"
    assert len(info.commit.removesuffix("+dirty")) == 12
    assert dialog.keyring.text() == "Sign-in kept in: SecretService Keyring"
    assert dialog.data.text() == f"Data folder: {tmp_path}"


def test_without_a_keyring_the_about_box_says_why(qtbot: QtBot, tmp_path: Path) -> None:
    def no_keyring() -> str:
        raise KeyringUnavailable("No usable OS keyring was found.", hint="Install one.")

    window = QMainWindow()
    qtbot.addWidget(window)
    add_help_menu(window, config.load(environ={}, data_dir=tmp_path), no_keyring)
    dialog = _open_about(qtbot, window)
    qtbot.waitUntil(lambda: "checking" not in dialog.keyring.text(), timeout=5_000)
    assert dialog.keyring.text() == "Sign-in kept in: none usable. No usable OS keyring was found."
