"""The main window: a navigation list, the views, and the kernel footer. It only lays
out and routes (see :mod:`app.views.navigation`); each view lives in its own module.

The navigation lists the views under their sections' headings (:data:`app.views.shell.
SECTIONS`): a heading is painted above the first view of its section, as part of that
row, so row N is still the Nth view (Ctrl+1…9 go to the first nine)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QRect, QSettings, QSignalBlocker, QSize, Qt
from PySide6.QtGui import QCloseEvent, QColor, QFont, QKeySequence, QMouseEvent, QPainter, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QStackedWidget,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from app.kernel.stats import KernelStats
from app.services.actors import Actor
from app.services.registry import Services
from app.views.footer import KernelFooter
from app.views.navigation import view_name
from app.views.shell import lists_before, section_of, views_for
from app.views.table import ModelIndex

log = logging.getLogger(__name__)
NAME_ROLE = Qt.ItemDataRole.UserRole
HEADING_ROLE = Qt.ItemDataRole.UserRole + 1
"""A section's title on the first row of that section (None on the others)."""
HEADING_HEIGHT = 30
HEADING_COLOUR = QColor("#8a96ab")
SETTLE_S = 5.0  # --screenshots: longest wait for a view to finish loading


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
        self.nav = NavList()
        self.nav.setFixedWidth(200)
        self._sections: tuple[str | None, str | None] = (None, None)  # last view's, last listed
        self.stack = QStackedWidget()
        self.pages: dict[str, QWidget] = {}
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
        self.nav.currentItemChanged.connect(self._nav_changed)
        for view in views_for(services, actor):
            self.add_view(view)
        QShortcut(QKeySequence("Ctrl+Q"), self, self.close)
        self._restore_state()

    def add_view(self, view: QWidget) -> None:
        """Add ``view`` to the stack, and to the navigation unless it is a page."""
        name = view_name(view)
        self.pages[name] = view
        self.stack.addWidget(view)
        last, listed = self._sections
        section = section_of(name, last)
        self._sections = (section, listed)
        if not getattr(view, "in_nav", True):
            return
        item = QListWidgetItem(str(getattr(view, "title", name)))
        item.setData(NAME_ROLE, name)
        item.setData(HEADING_ROLE, section if section != listed else None)
        self._sections = (section, section)
        self.nav.addItem(item)
        row = self.nav.count()
        if row <= 9:
            QShortcut(QKeySequence(f"Ctrl+{row}"), self, partial(self.nav.setCurrentRow, row - 1))

    def go(self, name: str, **params: Any) -> None:
        """Show the view ``name``; a page is first told which item to show. A view this
        window does not hold (not built yet, or not for this role) is not shown."""
        view = self.pages.get(name)
        if view is None:
            log.warning("no view called %r here: staying on the current one", name)
            return
        if params:
            view.show_item(**params)  # type: ignore[attr-defined]
        self.stack.setCurrentWidget(view)
        rows = {self.nav.item(r).data(NAME_ROLE): r for r in range(self.nav.count())}
        if name in rows:
            self.nav.setCurrentRow(rows[name])
            return
        listed = next((rows[n] for n in lists_before(name) if n in rows), None)
        if listed is not None:  # a page: its list stays marked, without being shown
            blocker = QSignalBlocker(self.nav)
            self.nav.setCurrentRow(listed)
            blocker.unblock()

    def _nav_changed(self, item: QListWidgetItem | None) -> None:
        if item is not None:
            self.stack.setCurrentWidget(self.pages[str(item.data(NAME_ROLE))])

    def views(self) -> list[QWidget]:
        return [w for i in range(self.stack.count()) if (w := self.stack.widget(i)) is not None]

    async def save_screenshots(self, folder: Path) -> list[Path]:
        """Show every view in turn (a page with an example item), let it finish
        loading, and save a PNG of the window for each: ``NN-<name>.png``."""
        folder.mkdir(parents=True, exist_ok=True)
        saved = []
        for index, view in enumerate(self.views()):
            show_example = getattr(view, "show_example", None)
            if show_example is not None:
                show_example()
            self.go(view_name(view))  # the navigation shows where the picture is
            await _settled(view)
            path = folder / f"{index:02d}-{view_name(view)}.png"
            self.grab().save(str(path))
            saved.append(path)
        return saved

    def _restore_state(self) -> None:
        """The window's last size and place; every sign-in starts on the first view (the
        dashboard), not on whatever the previous person left open."""
        state = QSettings("TransactFlowOS", "desktop")
        geometry = state.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        self.nav.setCurrentRow(0)

    def closeEvent(self, event: QCloseEvent) -> None:
        state = QSettings("TransactFlowOS", "desktop")
        state.setValue("geometry", self.saveGeometry())
        state.remove("view")  # written by earlier versions
        self.footer.timer.stop()
        for view in self.views():
            shutdown = getattr(view, "shutdown", None)
            if shutdown is not None:
                shutdown()
        self._on_close()
        event.accept()


async def _settled(view: QWidget) -> None:
    """Wait until ``view`` says it is not busy (a view without ``busy()`` gets a moment)."""
    busy = getattr(view, "busy", None)
    deadline = time.monotonic() + SETTLE_S
    await asyncio.sleep(0.15)
    while busy is not None and busy() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


class NavList(QListWidget):
    """The navigation list: each section's heading above its first view (a click on a
    heading selects nothing)."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("nav")
        self.setItemDelegate(_NavDelegate(self))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        index = self.indexAt(event.position().toPoint())
        heading = index.isValid() and bool(index.data(HEADING_ROLE))
        if heading and event.position().y() < self.visualRect(index).top() + HEADING_HEIGHT:
            event.ignore()
            return
        super().mousePressEvent(event)


class _NavDelegate(QStyledItemDelegate):
    """Paints a section's heading in the top part of its first row."""

    def sizeHint(self, option: QStyleOptionViewItem, index: ModelIndex) -> QSize:
        size = super().sizeHint(option, index)
        if index.data(HEADING_ROLE):
            size.setHeight(size.height() + HEADING_HEIGHT)
        return size

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: ModelIndex) -> None:
        heading = index.data(HEADING_ROLE)
        if not heading:
            super().paint(painter, option, index)
            return
        top = QRect(option.rect)
        top.setHeight(HEADING_HEIGHT)
        painter.save()
        font = QFont(option.font)
        font.setPointSizeF(font.pointSizeF() * 0.8)
        font.setBold(True)
        font.setCapitalization(QFont.Capitalization.AllUppercase)
        font.setLetterSpacing(QFont.SpacingType.AbsoluteSpacing, 1.0)
        painter.setFont(font)
        painter.setPen(HEADING_COLOUR)
        align = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        painter.drawText(top.adjusted(14, 8, -8, 0), int(align), heading)
        painter.restore()
        rest = QStyleOptionViewItem(option)
        rest.rect = option.rect.adjusted(0, HEADING_HEIGHT, 0, 0)
        super().paint(painter, rest, index)
