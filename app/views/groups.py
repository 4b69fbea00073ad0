"""The group overview (admin): every chit group with its cycle progress and health.

Rows come from the groups service and the KPI service's per-group health, read off
the GUI thread; the table redraws when groups, dues or the ledger change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.services.actors import Actor
from app.services.kpis import GroupHealth
from app.services.money import format_bps, format_inr
from app.services.registry import Services
from app.views.formatting import Reloader
from app.views.live import LiveCollection
from app.views.table import ModelIndex, RowTableModel

if TYPE_CHECKING:
    from app.bootstrap import Runtime

PROGRESS_ROLE = Qt.ItemDataRole.UserRole + 1
TRACK, FILL = "#e3e7ee", "#8fb8ef"
HEALTH_COLOURS = {"Healthy": "#1e7d3a", "Watch": "#9a5b00", "At risk": "#b3261e", "–": "#5a6578"}


@dataclass(frozen=True)
class GroupRow:
    group_id: str
    name: str
    status: str
    members: int
    tickets: int
    gross: int
    periods_done: int
    progress_bps: int
    health: str
    health_detail: str
    next_auction: date | None


def health_of(h: GroupHealth | None) -> tuple[str, str]:
    """A one-word health and the figures behind it."""
    if h is None or h.status == "forming":
        return "–", "Not running yet."
    share = h.defaulters / h.members if h.members else 0.0
    word = "Healthy" if h.defaulters == 0 else "Watch" if share <= 0.1 else "At risk"
    period = f"Period {h.period}: {h.paid_count}/{h.members} paid, " if h.period else ""
    detail = (
        f"{period}{format_inr(h.collected)} of {format_inr(h.expected)} collected.\n"
        f"{h.defaulters} defaulting ({format_inr(h.overdue)} overdue). "
        f"Pool {format_inr(h.pool)}; uncovered exposure {format_inr(h.exposure.uncovered)}."
    )
    return word, detail


def load_rows(services: Services) -> list[GroupRow]:
    """Worker thread: one row per group."""
    health = {h.group_id: h for h in services.kpis.kpis().groups}
    rows = []
    for g in services.groups.list_groups():
        word, detail = health_of(health.get(g.id))
        rows.append(
            GroupRow(
                g.id,
                g.name,
                g.status,
                g.members,
                g.tickets_issued,
                g.agreement.gross_paise,
                g.periods_done,
                g.progress_bps,
                word,
                detail,
                g.next_auction_date if g.status != "completed" else None,
            )
        )
    return rows


class GroupsModel(RowTableModel[GroupRow]):
    COLUMNS = ("Group", "Members", "Gross", "Cycle", "Health", "Next auction")
    PROGRESS_COLUMN = 3

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        r = self.row_at(index)
        if r is None:
            return None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(r, column)
        if role == PROGRESS_ROLE and column == self.PROGRESS_COLUMN:
            return r.progress_bps
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(r, column)
        if role == Qt.ItemDataRole.ForegroundRole and column == 4:
            return QColor(HEALTH_COLOURS.get(r.health, "#1d2433"))
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (1, 2):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    @staticmethod
    def _display(r: GroupRow, column: int) -> str:
        if column == 0:
            return r.name
        if column == 1:
            return f"{r.tickets}/{r.members}" if r.status == "forming" else str(r.members)
        if column == 2:
            return format_inr(r.gross)
        if column == 3:
            return f"{r.periods_done}/{r.members}"
        if column == 4:
            return r.health
        return r.next_auction.strftime("%d %b %Y") if r.next_auction else "–"

    @staticmethod
    def _tooltip(r: GroupRow, column: int) -> str:
        if column == 3:
            return f"{r.periods_done} of {r.members} periods settled ({format_bps(r.progress_bps)})"
        if column == 4:
            return r.health_detail
        return f"{r.name} ({r.status}) · {r.group_id}"


class ProgressDelegate(QStyledItemDelegate):
    """Draws the cycle column as a progress bar with "done/N" on it."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: ModelIndex) -> None:
        bps = index.data(PROGRESS_ROLE)
        if bps is None:
            super().paint(painter, option, index)
            return
        rect = option.rect.adjusted(6, 7, -6, -7)  # type: ignore[attr-defined]
        done = QRectF(rect)
        done.setWidth(rect.width() * min(max(int(bps), 0), 10_000) / 10_000)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(TRACK))
        painter.drawRoundedRect(QRectF(rect), 4, 4)
        if done.width() > 0:
            painter.setBrush(QColor(FILL))
            painter.drawRoundedRect(done, 4, 4)
        painter.setPen(QColor("#1d2433"))
        text = str(index.data(Qt.ItemDataRole.DisplayRole))
        painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), text)
        painter.restore()


class GroupOverviewView(QWidget):
    """Every chit group: members, gross, cycle progress, health, next auction."""

    title = "Groups"

    def __init__(self, runtime: Runtime, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runtime = runtime
        self.actor = actor
        heading = QLabel("Chit groups")
        heading.setObjectName("heading")
        self.model = GroupsModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setItemDelegateForColumn(GroupsModel.PROGRESS_COLUMN, ProgressDelegate(self))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(30)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column, width in ((1, 90), (2, 150), (3, 200), (4, 100), (5, 130)):
            header.resizeSection(column, width)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.table, 1)
        services = runtime.services
        self.reloader = Reloader(lambda: lambda: load_rows(services), self.model.set_rows, self)
        self.live = LiveCollection(runtime.store, "groups", "tickets", "dues", parent=self)
        self.live.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        self.reloader.request()

    def shutdown(self) -> None:
        self.reloader.stop()
        self.live.close()
