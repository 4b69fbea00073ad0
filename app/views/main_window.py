"""The main window: a navigation list, the views, and the kernel footer. It only lays
out and routes; each view lives in its own module."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QListWidget,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.kernel.stats import KernelStats
from app.services.actors import Actor
from app.services.registry import Services
from app.views.footer import KernelFooter
from app.views.shell import views_for


class MainWindow(QMainWindow):
    """Navigation on the left, the current view on the right, the footer below."""

    def __init__(
        self,
        services: Services,
        actor: Actor,
        *,
        sample: Callable[[], KernelStats],
        on_close: Callable[[], None],
    ) -> None:
        super().__init__()
        self.services = services
        self.actor = actor
        self._on_close = on_close
        self.setWindowTitle("TransactFlowOS")
        self.resize(1280, 800)
        self.nav = QListWidget()
        self.nav.setObjectName("nav")
        self.nav.setFixedWidth(200)
        self.stack = QStackedWidget()
        body = QWidget()
        row = QHBoxLayout(body)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.nav)
        row.addWidget(self.stack, 1)
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(body, 1)
        self.footer = KernelFooter(sample)
        column.addWidget(self.footer)
        self.setCentralWidget(central)
        self.nav.currentRowChanged.connect(self.stack.setCurrentIndex)
        for view in views_for(services, actor):
            self.add_view(view)
        QShortcut(QKeySequence("Ctrl+Q"), self, self.close)
        self._restore_state()

    def add_view(self, view: QWidget) -> None:
        self.nav.addItem(str(getattr(view, "title", view.objectName())))
        self.stack.addWidget(view)
        index = self.stack.count()
        if index <= 9:
            QShortcut(
                QKeySequence(f"Ctrl+{index}"), self, partial(self.nav.setCurrentRow, index - 1)
            )

    def views(self) -> list[QWidget]:
        return [w for i in range(self.stack.count()) if (w := self.stack.widget(i)) is not None]

    def save_screenshots(self, folder: Path) -> list[Path]:
        """Show every view in turn and save a PNG of the window for each."""
        folder.mkdir(parents=True, exist_ok=True)
        saved = []
        for index, view in enumerate(self.views()):
            self.nav.setCurrentRow(index)
            name = str(getattr(view, "title", f"view{index}")).lower().replace(" ", "-")
            path = folder / f"{index:02d}-{name}.png"
            self.grab().save(str(path))
            saved.append(path)
        return saved

    def _restore_state(self) -> None:
        state = QSettings("TransactFlowOS", "desktop")
        geometry = state.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        self.nav.setCurrentRow(int(str(state.value("view", 0) or 0)))

    def closeEvent(self, event: QCloseEvent) -> None:
        state = QSettings("TransactFlowOS", "desktop")
        state.setValue("geometry", self.saveGeometry())
        state.setValue("view", self.nav.currentRow())
        self.footer.timer.stop()
        for view in self.views():
            shutdown = getattr(view, "shutdown", None)
            if shutdown is not None:
                shutdown()
        self._on_close()
        event.accept()
