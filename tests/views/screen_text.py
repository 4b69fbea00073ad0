"""Every text a window shows (to check with :func:`tests.dates.misdated`).

A widget that shows a duration, not a time of day (a countdown), says so with the
property ``duration`` and is left out.
"""

from __future__ import annotations

from collections.abc import Iterator

from PySide6.QtCore import QAbstractItemModel, QAbstractListModel, QModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTabWidget,
    QTextEdit,
    QWidget,
)


def model_texts(model: QAbstractItemModel, parent: QModelIndex | None = None) -> Iterator[str]:
    parent = parent or QModelIndex()
    columns = 1 if isinstance(model, QAbstractListModel) else model.columnCount(parent)
    for row in range(model.rowCount(parent)):
        for column in range(columns):
            value = model.data(model.index(row, column, parent), Qt.ItemDataRole.DisplayRole)
            if value is not None:
                yield str(value)
    for column in range(columns):
        header = model.headerData(column, Qt.Orientation.Horizontal)
        if header is not None:
            yield str(header)


def widget_texts(widget: QWidget) -> Iterator[str]:
    """What ``widget`` shows as text (a view's whole model, a combo box's every item)."""
    if isinstance(widget, QLabel | QAbstractButton | QLineEdit | QAbstractSpinBox):
        yield widget.text()
    elif isinstance(widget, QComboBox):
        yield from (widget.itemText(i) for i in range(widget.count()))
    elif isinstance(widget, QGroupBox):
        yield widget.title()
    elif isinstance(widget, QPlainTextEdit | QTextEdit):
        yield widget.toPlainText()
    elif isinstance(widget, QTabWidget):
        yield from (widget.tabText(i) for i in range(widget.count()))
    elif isinstance(widget, QAbstractItemView) and widget.model() is not None:
        yield from model_texts(widget.model())


def screen_texts(root: QWidget) -> Iterator[tuple[str, str]]:
    """(where, text) for ``root`` and every widget in it, durations left out."""
    for widget in [root, *root.findChildren(QWidget)]:
        if widget.property("duration"):
            continue
        where = f"{type(widget).__name__} {widget.objectName()}".strip()
        for text in widget_texts(widget):
            if text:
                yield where, text
