"""The activity feed: the newest WAL records in plain words, newest first, live.

"Asha Rao (admin) approved the loan of Neha Naidu (loan-3f9a1c2b77) for ₹50,000.00"
(failures, such as a wrong password, in red). The audit-log service reads
the records (off the GUI thread, on a lane of their own) and words them; the model
asks it once a second for what was written since, so changes from the web server,
the scheduler or another desktop on the same data folder show up without a refresh.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import NamedTuple

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.services.audit_log import Activity, ActivityRead, AuditLog
from app.services.registry import Services
from app.views import worker
from app.views.formatting import BAD, day, local_time
from app.views.table import ROOT, Column, RowsModel


def ago(ts: str, now: datetime) -> str:
    """How long before ``now`` a WAL timestamp is, in words."""
    try:
        seconds = (now - datetime.fromisoformat(ts)).total_seconds()
    except ValueError:
        return ""
    if seconds < 45:
        return "just now"
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))} min ago"
    if seconds < 86400:
        return f"{round(seconds / 3600)} h ago"
    if seconds < 2 * 86400:
        return "yesterday"
    return day(ts)


class Seen(NamedTuple):
    """An activity as shown now ("2 min ago" depends on when you look)."""

    activity: Activity
    now: datetime


def _tip(seen: Seen) -> str:
    s = seen.activity.summary
    reason = f"\nReason: {s.reason}" if s.reason else ""
    return f"{local_time(s.ts)} · LSN {s.lsn} · {s.action}{reason}"


def _alarm(seen: Seen) -> QColor | None:
    """Failures (a wrong password) stand out in red."""
    return BAD if seen.activity.failed else None


class ActivityModel(RowsModel[Activity]):
    """The newest ``limit`` records, newest first; two columns: when, and what."""

    columns = (
        Column[Seen]("When", lambda v: ago(v.activity.summary.ts, v.now), tip=_tip, colour=_alarm),
        Column[Seen]("Activity", lambda v: v.activity.text, tip=_tip, colour=_alarm),
    )
    _rows: list[Activity]
    failed = Signal(str)
    """Why reading the log failed; ``""`` once a later read works again."""

    def __init__(
        self,
        log: AuditLog,
        parent: QObject | None = None,
        *,
        limit: int = 200,
        poll_ms: int = 1000,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(parent)
        self._log = log
        self._lane = worker.lane("activity-wal")
        self._failing = False
        self._limit = limit
        self._now = now
        self._end: int | None = None
        self._polling = self._closed = False
        self._timer = QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self.poll)
        self._ticks = 0
        self.poll()
        if poll_ms > 0:
            self._timer.start()

    def close(self) -> None:
        self._closed = True
        self._timer.stop()
        self._lane.shutdown(wait=False, cancel_futures=True)

    def item(self, row: Activity) -> Seen:
        return Seen(row, self._now())

    def poll(self) -> None:
        """Read records written since the last look; refresh the relative times."""
        self._ticks += 1
        if self._ticks % 15 == 0 and self._rows:
            last = self.index(len(self._rows) - 1, 0)
            self.dataChanged.emit(self.index(0, 0), last, [Qt.ItemDataRole.DisplayRole])
        if self._polling or self._closed:
            return
        self._polling = True
        log, since, limit = self._log, self._end, self._limit
        worker.run(
            lambda: log.activity(since, limit),
            self._on_read,
            parent=self,
            on_error=self._on_failed,
            executor=self._lane,
        )

    def _on_failed(self, exc: BaseException) -> None:
        self._polling = False
        self._failing = True
        self.failed.emit(worker.error_text(exc))

    def _on_read(self, read: ActivityRead) -> None:
        self._polling = False
        self._end = read.end
        if self._failing:
            self._failing = False
            self.failed.emit("")
        new = read.items
        if read.reset:
            self.beginResetModel()
            self._rows = new[::-1]
            self.endResetModel()
            return
        if not new:
            return
        self.beginInsertRows(ROOT, 0, len(new) - 1)
        self._rows[:0] = new[::-1]
        self.endInsertRows()
        extra = len(self._rows) - self._limit
        if extra > 0:
            self.beginRemoveRows(ROOT, self._limit, len(self._rows) - 1)
            del self._rows[self._limit :]
            self.endRemoveRows()

    def activity(self, row: int) -> Activity:
        return self._rows[row]


class ActivityView(QWidget):
    """The activity feed for employees: what just happened, live."""

    title = "Activity"

    def __init__(
        self, services: Services, parent: QWidget | None = None, *, poll_ms: int = 1000
    ) -> None:
        super().__init__(parent)
        self.model = ActivityModel(services.audit, self, poll_ms=poll_ms)
        heading = QLabel("Recent activity")
        heading.setObjectName("heading")
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(True)  # a long sentence takes more lines, it is not cut
        rows = self.table.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header = self.table.horizontalHeader()
        header.resizeSection(0, 110)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.hide()
        self.model.failed.connect(self._show_failure)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)

    def _show_failure(self, message: str) -> None:
        self.status.setText(f"Could not read the activity log: {message}" if message else "")
        self.status.setVisible(bool(message))

    def shutdown(self) -> None:
        self.model.close()
