"""The part every flat table model shares: its rows, its column headers and the index guard.

A model says what its columns are called (``COLUMNS``) and how a row shows in each
(``data``); :class:`RowTableModel` does the counting, the horizontal header and the
check that an index names a real cell. Models that load lazily or insert rows as they
arrive keep that logic and only inherit this part.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

ModelIndex = QModelIndex | QPersistentModelIndex
ROOT = QModelIndex()
R = TypeVar("R")


class RowTableModel(QAbstractTableModel, Generic[R]):
    """A table of ``rows`` (one per row) under the fixed header labels ``COLUMNS``."""

    COLUMNS: ClassVar[Sequence[str]] = ()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: Sequence[R] = []

    def set_rows(self, rows: Iterable[R]) -> None:
        """Show ``rows`` in place of the current ones (a model reset)."""
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row(self, number: int) -> R:
        return self._rows[number]

    def row_at(self, index: ModelIndex) -> R | None:
        """The row under ``index``, or None unless it names a cell of this table."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        if not 0 <= index.column() < len(self.COLUMNS):
            return None
        return self._rows[index.row()]

    def header(self, section: int, role: int) -> Any:
        """The horizontal header of ``section`` (a real column) for ``role``."""
        return self.COLUMNS[section] if role == Qt.ItemDataRole.DisplayRole else None

    def rowCount(self, parent: ModelIndex = ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: ModelIndex = ROOT) -> int:
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.COLUMNS):
            return None
        return self.header(section, role)
