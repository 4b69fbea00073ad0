"""The group overview (admin): every chit group with its cycle progress and health.

Rows are the groups service's overview (each group with its health verdict and the
figures behind it), read off the GUI thread and again when its topics change. A row
opens the group's page (``group-detail``); "New group" opens the form (``group-new``).
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.services.actors import Actor
from app.services.groups import FORMING, GroupOverview
from app.services.money import format_bps, format_inr
from app.services.registry import Services
from app.views import navigation
from app.views.formatting import day
from app.views.live import LiveReadModel
from app.views.table import Column, ModelIndex, RowsModel

PROGRESS_ROLE = Qt.ItemDataRole.UserRole + 2
TRACK, FILL = "#e3e7ee", "#8fb8ef"
HEALTH_COLOURS = {"Healthy": "#1e7d3a", "Watch": "#9a5b00", "At risk": "#b3261e", "–": "#5a6578"}
OPEN_TIP = "Double-click or press Enter to open the group's page."
Row = GroupOverview


def _members(r: Row) -> str:
    g = r.group
    return f"{g.tickets_issued}/{g.members}" if g.status == FORMING else str(g.members)


def _cycle_tip(r: Row) -> str:
    g = r.group
    return f"{g.periods_done} of {g.members} periods settled ({format_bps(g.progress_bps)})"


def _other_tip(r: Row) -> str:
    g = r.group
    registration = f"Registration {g.registration_no}\n" if g.registration_no else ""
    return f"{g.name} ({g.status}) · {g.id}\n{registration}{OPEN_TIP}"


class GroupsModel(RowsModel[Row]):
    columns = (
        Column[Row]("Group", lambda r: r.group.name, tip=_other_tip),
        Column[Row]("Members", _members, right=True, tip=_other_tip),
        Column[Row](
            "Gross", lambda r: format_inr(r.group.agreement.gross_paise), right=True, tip=_other_tip
        ),
        Column[Row](
            "Cycle",
            lambda r: f"{r.group.periods_done}/{r.group.members}",
            tip=_cycle_tip,
            roles={PROGRESS_ROLE: lambda r: r.group.progress_bps},
        ),
        Column[Row](
            "Health",
            lambda r: r.verdict,
            colour=lambda r: QColor(HEALTH_COLOURS.get(r.verdict, "#1d2433")),
            tip=lambda r: r.reason,
        ),
        Column[Row](
            "Next auction",
            lambda r: day(r.next_auction) or "–",
            tip=_other_tip,
        ),
    )
    PROGRESS_COLUMN = 3


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

    def __init__(self, services: Services, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actor = actor
        heading = QLabel("Chit groups")
        heading.setObjectName("heading")
        self.new = QPushButton("New group…")
        self.new.clicked.connect(lambda: navigation.go(self, "group-new", group_id=None))
        top = QHBoxLayout()
        top.addWidget(heading, 1)
        top.addWidget(self.new)
        self.new.setVisible(not actor.reads_only)  # auditors form nothing
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
        self.table.activated.connect(self.open_row)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        self.live = LiveReadModel(
            services.topics, services.groups.overview, self.model.set_rows, self
        )

    def open_row(self, index: ModelIndex) -> None:
        """Open the group's page (``group-detail``) for the row at ``index``."""
        row = self.model.row_at(index)
        if row is not None:
            navigation.go(self, "group-detail", group_id=row.group.id)

    def refresh(self) -> None:
        self.live.refresh()

    def shutdown(self) -> None:
        self.live.close()
