"""The About box (Help → About TransactFlowOS): which build this is, where its data
lives, which OS keyring keeps the sign-in, for whoever supports an office, and the
log's public key, which every report and checkpoint can be checked with."""

from __future__ import annotations

import platform
from collections.abc import Callable

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QFontMetrics, QTextOption
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMainWindow,
    QMenu,
    QPlainTextEdit,
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
LogKey = Callable[[], str | None]
"""The log's verifier key (None: the log signs no checkpoints)."""


def _key_line(log_key: LogKey) -> tuple[str, str]:
    """What to say of the log's key, and the key itself (to select and copy)."""
    try:
        key = log_key()
    except KnownError as exc:
        return f"Log key: cannot be read. {exc}", ""
    if key is None:
        return "Log key: this log signs no checkpoints.", ""
    return "Log key (checks every report and signed checkpoint):", key


def _key_box() -> QPlainTextEdit:
    """The key, whole, in a monospaced box that wraps it anywhere (it has no spaces)."""
    box = QPlainTextEdit()
    box.setReadOnly(True)
    box.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
    box.setWordWrapMode(QTextOption.WrapMode.WrapAnywhere)
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    box.setFont(font)
    box.setFixedHeight(QFontMetrics(font).lineSpacing() * 3 + 12)
    box.setVisible(False)
    return box


def _keyring_line(check: KeyringCheck) -> str:
    try:
        return check()
    except KnownError as exc:
        return f"none usable. {exc.message}"


class AboutDialog(QDialog):
    """Version and build, data folder, keyring; what support asks for first."""

    def __init__(
        self,
        settings: Settings,
        keyring: KeyringCheck,
        parent: QWidget | None = None,
        log_key: LogKey = lambda: None,
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
        self.log_key = QLabel("Log key: reading…")
        self.log_key.setWordWrap(True)
        self.key = _key_box()
        for label in (self.build, self.data, self.keyring, self.log_key, runtime):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 16, 24, 16)
        shown = (
            icon,
            title,
            blurb,
            self.build,
            self.data,
            self.keyring,
            self.log_key,
            self.key,
            runtime,
        )
        for widget in (*shown, buttons):
            layout.addWidget(widget)
        worker.run(
            lambda: (build_info(), _keyring_line(keyring), _key_line(log_key)),
            self._show,
            parent=self,
        )

    def _show(self, found: tuple[BuildInfo, str, tuple[str, str]]) -> None:
        info, keyring, (line, key) = found
        self.build.setText(f"Version {info.version} · build {info.commit}")
        self.keyring.setText(f"Sign-in kept in: {keyring}")
        self.log_key.setText(line)
        self.key.setPlainText(key)
        self.key.setVisible(bool(key))


def add_help_menu(
    window: QMainWindow, settings: Settings, keyring: KeyringCheck, log_key: LogKey = lambda: None
) -> QMenu:
    """A Help menu on ``window`` whose "About TransactFlowOS" opens the About box."""
    menu = window.menuBar().addMenu("&Help")
    about = menu.addAction("&About TransactFlowOS")
    about.setMenuRole(about.MenuRole.AboutRole)

    def show() -> None:
        dialog = AboutDialog(settings, keyring, window, log_key)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    about.triggered.connect(show)
    return menu
