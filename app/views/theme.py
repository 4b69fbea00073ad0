"""The look: the QSS theme and the application icon, from resources/."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from app.kernel.bundle import resource

ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)


def app_icon() -> QIcon:
    """The product icon, each size drawn for it (resources/icons, see `make icons`)."""
    icon = QIcon()
    for size in ICON_SIZES:
        path = resource("resources", "icons", f"transactflowos-{size}.png")
        icon.addFile(str(path), QSize(size, size))
    return icon


def apply_theme(app: QApplication) -> None:
    path = resource("resources", "theme.qss")
    if path.exists():
        app.setStyleSheet(path.read_text(encoding="utf-8"))
    app.setWindowIcon(app_icon())
