"""The QSS theme from resources/."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QApplication

RESOURCES = Path(__file__).resolve().parents[2] / "resources"


def apply_theme(app: QApplication) -> None:
    path = RESOURCES / "theme.qss"
    if path.exists():
        app.setStyleSheet(path.read_text(encoding="utf-8"))
