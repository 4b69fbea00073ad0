"""Print… and Save PDF… for a receipt: the same PDF as ``tfos report receipt``, exported
through the report service, so each one is recorded in the log as every report is.

The PDF is rendered off the GUI thread. *Print…* opens it in the computer's PDF viewer,
which prints it on any printer the system knows (the desktop carries no PDF renderer of
its own); *Save PDF…* writes it where the person chooses. :func:`open_in_viewer` and
:func:`ask_save_path` are the two places the desktop reaches outside itself.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QWidget

from app.services.actors import Actor
from app.services.registry import Services
from app.views import worker
from app.views.report_export import VIA


def open_in_viewer(path: Path) -> bool:
    """Open ``path`` in the computer's PDF viewer."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


def ask_save_path(parent: QWidget, suggested: str) -> str:
    """Where to save (empty when the person cancels)."""
    path, _ = QFileDialog.getSaveFileName(parent, "Save receipt as PDF", suggested, "PDF (*.pdf)")
    return path


def file_name(bank_ref: str) -> str:
    return f"receipt-{bank_ref}.pdf"


class ReceiptPrinter(QObject):
    """Renders receipts for a view and reports where they went (``done(text)``)."""

    done = Signal(str)

    def __init__(self, services: Services, actor: Actor, parent: QWidget) -> None:
        super().__init__(parent)
        self._reports = services.reports
        self._actor = actor
        self._parent = parent
        self._folder: Path | None = None

    def print(self, bank_ref: str) -> None:
        folder = self._temp_folder()
        target = folder / file_name(bank_ref)
        self._write(bank_ref, target, self._opened)

    def save(self, bank_ref: str) -> None:
        chosen = ask_save_path(self._parent, str(Path.home() / file_name(bank_ref)))
        if not chosen:
            return
        target = Path(chosen)
        if target.suffix.lower() != ".pdf":
            target = target.with_suffix(".pdf")
        self._write(bank_ref, target, lambda path: self.done.emit(f"Saved {path}"))

    def _write(self, bank_ref: str, target: Path, then: Callable[[Path], object]) -> None:
        from app.services.reports import Request

        reports, actor, request = self._reports, self._actor, Request("receipt", receipt=bank_ref)

        def render() -> Path:
            reports.export(actor, request, target, via=VIA)
            return target

        worker.run(render, then, parent=self._parent)

    def _opened(self, path: Path) -> None:
        if open_in_viewer(path):
            self.done.emit(f"Opened {path.name} in the PDF viewer: print it from there.")
        else:
            self.done.emit(f"No PDF viewer opened {path}; open it yourself to print it.")

    def _temp_folder(self) -> Path:
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="tfos-receipts-"))
        return self._folder
