"""The About box (Help → About TransactFlowOS): which build this is, where its data
lives and which OS keyring keeps the sign-in, for whoever supports an office."""

from __future__ import annotations

import platform
from collections.abc import Callable

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMainWindow,
    QMenu,
    QVBoxLayout,
    QWidget,
)

from app.config import Settings
from app.kernel.build_info import BuildInfo, build_info
from app.kernel.errors import KnownError
from app.views import worker
from app.views.theme import app_icon

KeyringCheck = Callable[[], str]
"""Names the OS keyring in use, or raises KnownError saying why there is none."""


def _keyring_line(check: KeyringCheck) -> str:
    try:
        return check()
    except KnownError as exc:
        return f"none usable. {exc.message}"


class AboutDialog(QDialog):
    """Version and build, data folder, keyring; what support asks for first."""

    def __init__(
        self, settings: Settings, keyring: KeyringCheck, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("About TransactFlowOS")
        self.setMinimumWidth(440)
        icon = QLabel()
        icon.setPixmap(app_icon().pixmap(64, 64))
        title = QLabel("TransactFlowOS")
        title.setObjectName("heading")
        blurb = QLabel(
            "Chit funds run by a kernel in place of a trusted foreman: fair auctions, "
            "a double-entry ledger, the Banker's gate and a tamper-evident audit log."
        )
        blurb.setWordWrap(True)
        self.build = QLabel("Reading the build…")
        self.keyring = QLabel("Sign-in kept in: checking…")
        self.keyring.setWordWrap(True)
        self.data = QLabel(f"Data folder: {settings.data_dir}")
        self.data.setWordWrap(True)
        runtime = QLabel(f"Python {platform.python_version()} · Qt for Python {pyside_version}")
        for label in (self.build, self.data, self.keyring, runtime):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 16, 24, 16)
        for widget in (icon, title, blurb, self.build, self.data, self.keyring, runtime, buttons):
            layout.addWidget(widget)
        worker.run(lambda: (build_info(), _keyring_line(keyring)), self._show, parent=self)

    def _show(self, found: tuple[BuildInfo, str]) -> None:
        info, keyring = found
        self.build.setText(f"Version {info.version} · build {info.commit}")
        self.keyring.setText(f"Sign-in kept in: {keyring}")


def add_help_menu(window: QMainWindow, settings: Settings, keyring: KeyringCheck) -> QMenu:
    """A Help menu on ``window`` whose "About TransactFlowOS" opens the About box."""
    menu = window.menuBar().addMenu("&Help")
    about = menu.addAction("&About TransactFlowOS")
    about.setMenuRole(about.MenuRole.AboutRole)

    def show() -> None:
        dialog = AboutDialog(settings, keyring, window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    about.triggered.connect(show)
    return menu
