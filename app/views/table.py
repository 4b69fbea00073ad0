"""Tables are declared, not hand-written: a model lists its :class:`Column` s, each
saying how a row shows in it (text, sort key, alignment, colour, tooltip).

:class:`RowsModel` does the rest: counting, the header, the roles and the check that
an index names a real cell. Models that load lazily or insert rows as they arrive
(the audit trail, the activity feed) keep their loading logic and declare their
columns the same way; they override :meth:`RowsModel.item` to say what a row's
columns read (e.g. a parsed record for a row that is only a byte offset).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QStyle, QTableView

ModelIndex = QModelIndex | QPersistentModelIndex
ROOT = QModelIndex()
R = TypeVar("R")
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
"""The raw value a column sorts by (paise, months, score) rather than its text."""

_BOLD = QFont()
_BOLD.setBold(True)
Role = Qt.ItemDataRole


@dataclass(frozen=True)
class Column(Generic[R]):
    """How one column shows a row: text, sort key, alignment, colour, tooltip, and any
    other role (``roles``, e.g. a progress value a delegate paints). ``header_tip``
    spells out a header shortened to fit a narrow column."""

    header: str
    text: Callable[[R], str]
    sort: Callable[[R], Any] | None = None
    right: bool = False
    colour: Callable[[R], QColor | QBrush | None] | None = None
    bold: bool = False
    tip: Callable[[R], str | None] | None = None
    roles: Mapping[int, Callable[[R], Any]] = field(default_factory=dict)
    header_tip: str | None = None

    def value(self, row: R, role: int) -> Any:
        """What this column shows of ``row`` for ``role`` (None when nothing)."""
        if role == Role.DisplayRole:
            return self.text(row)
        if role == SORT_ROLE:
            return self.sort(row) if self.sort else self.text(row)
        if role == Role.TextAlignmentRole:
            return int(RIGHT) if self.right else None
        if role == Role.ForegroundRole:
            return self.colour(row) if self.colour else None
        if role == Role.FontRole:
            return _BOLD if self.bold else None
        if role == Role.ToolTipRole:
            return self.tip(row) if self.tip else None
        extra = self.roles.get(role)
        return extra(row) if extra else None


class RowsModel(QAbstractTableModel, Generic[R]):
    """A read-only table over a sequence of rows, one :class:`Column` per column."""

    columns: ClassVar[Sequence[Column[Any]]] = ()
    COLUMNS: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.COLUMNS = tuple(column.header for column in cls.columns)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: Sequence[R] = []

    def set_rows(self, rows: Iterable[R]) -> None:
        """Show ``rows`` in place of the current ones (a model reset)."""
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rows(self) -> list[R]:
        return list(self._rows)

    def row(self, number: int) -> R:
        return self._rows[number]

    def row_at(self, index: ModelIndex) -> R | None:
        """The row under ``index``, or None unless it names a cell of this table."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        if not 0 <= index.column() < len(self.columns):
            return None
        return self._rows[index.row()]

    def item(self, row: R) -> Any:
        """What the columns read for ``row`` (the row itself, unless overridden)."""
        return row

    def data(self, index: ModelIndex, role: int = Role.DisplayRole) -> Any:
        row = self.row_at(index)
        if row is None:
            return None
        return self.columns[index.column()].value(self.item(row), role)

    def rowCount(self, parent: ModelIndex = ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: ModelIndex = ROOT) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Role.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.columns):
            return None
        if role == Role.DisplayRole:
            return self.columns[section].header
        if role == Role.TextAlignmentRole and self.columns[section].right:
            return int(RIGHT)
        if role == Role.ToolTipRole:
            return self.columns[section].header_tip
        return None


def row_table(model: QAbstractTableModel, *, stretch: int, row_height: int = 26) -> QTableView:
    """A read-only table of whole rows over ``model``: no grid, alternating rows, columns
    sized to their contents but ``stretch``, which takes the room left."""
    table = QTableView()
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setAlternatingRowColors(True)
    table.setShowGrid(False)
    table.setWordWrap(False)  # one line a row: too long is cut with "…", never half-wrapped
    table.verticalHeader().hide()
    table.verticalHeader().setDefaultSectionSize(row_height)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    return table


def fit_column(table: QTableView, column: int, texts: Iterable[str], *, longest: int = 40) -> None:
    """Make ``column`` as wide as the widest of ``texts`` (its cells' text), measuring only
    the ``longest`` by length. ``resizeColumnToContents`` asks the model for up to 1,000
    rows' size hints on the GUI thread, which a statement of 10,000 lines feels."""
    metrics = table.fontMetrics()
    widest = max((metrics.horizontalAdvance(t) for t in heapq.nlargest(longest, texts, key=len)),
                 default=0)  # fmt: skip
    # the item delegate keeps this margin each side of a cell's text before it elides
    margin = table.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, table)
    title = table.horizontalHeader().sectionSizeFromContents(column).width()
    table.setColumnWidth(column, max(widest + 2 * (margin + 1) + 4, title))
