"""The activity feed: the newest WAL records in plain words, newest first, live.

"Asha (admin) approved loan loan-3f9a…  ·  2 min ago". Records are read off the
GUI thread by the same ``WalReader`` the audit viewer uses; a worker polls the end
of the log once a second, so changes from the web server, the scheduler or another
desktop on the same data folder show up without a refresh.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.kernel.wal_index import LineSummary, WalReader
from app.views.audit import Send, Worker, local_time
from app.views.table import ROOT, ModelIndex, RowTableModel

if TYPE_CHECKING:
    from app.bootstrap import Runtime


PAST = {
    "approve": "approved",
    "reject": "rejected",
    "create": "created",
    "open": "opened",
    "close": "closed",
    "submit": "submitted",
    "reveal": "revealed the PAN/Aadhaar of",
    "enroll": "enrolled",
    "start": "started",
    "record": "recorded",
    "move": "moved",
    "add": "added",
    "resume": "resumed",
    "disable": "disabled",
    "enable": "enabled",
    "change_role": "changed the role of",
    "bid": "placed a bid in",
    "sign_in": "signed in",
    "sign_out": "signed out",
    "disburse": "disbursed",
    "pay": "paid",
    "verify": "verified",
    "write_off": "wrote off",
}


WHOLE = {
    "staff.setup": "set up this data folder as its first admin",
    "staff.sign_in_attempt": "counted a sign-in attempt for {id}",
}


def shorten(text: str, keep: int = 9) -> str:
    """``loan-3f9a1c2b77`` -> ``loan-3f9a…``."""
    return text if len(text) <= keep + 1 else text[:keep] + "…"


def describe(s: LineSummary) -> str:
    """One record in plain words: who did what to which thing."""
    if s.damaged:
        return f"A damaged log line ({s.damaged})"
    who = f"{s.actor.get('name', '?')} ({s.actor.get('role', '?')})"
    kind, ident = s.entity.get("type", ""), s.entity.get("id", "")
    if s.action in WHOLE:
        return f"{who} {WHOLE[s.action].format(id=ident)}"
    verb = s.action.rsplit(".", 1)[-1]
    did = PAST.get(verb, f"did {s.action.replace('_', ' ')} on")
    if ident == s.actor.get("id"):
        return f"{who} {did}"
    return f"{who} {did} {kind.replace('_', ' ')} {shorten(ident)}".rstrip()


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
    return local_time(ts)[:10]


@dataclass(frozen=True)
class Activity:
    summary: LineSummary
    text: str


def _read(reader: WalReader, since: int | None, limit: int) -> tuple[list[Activity], int, bool]:
    """Worker thread: new activities (oldest first), the new end, and whether to reset."""
    end = reader.end()
    if since is not None and end == since:
        return [], end, False
    reset = since is None or end < since
    if since is None or reset:
        spans, _ = reader.page(end, limit)
        spans.reverse()
    else:
        spans = reader.after(since, end)[-limit:]
    summaries = [LineSummary.parse(reader.read(s)) for s in spans]
    return [Activity(s, describe(s)) for s in summaries], end, reset


class ActivityModel(RowTableModel[Activity]):
    """The newest ``limit`` records, newest first; two columns: when, and what."""

    COLUMNS = ("When", "Activity")
    _rows: list[Activity]
    failed = Signal(str)
    """Why reading the log failed; ``""`` once a later read works again."""

    def __init__(
        self,
        wal_path: Path,
        parent: QObject | None = None,
        *,
        limit: int = 200,
        poll_ms: int = 1000,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(parent)
        self._reader = WalReader(wal_path)
        self._worker = Worker("activity-wal", self)
        self._worker.failed.connect(self._on_failed)
        self._failing = False
        self._limit = limit
        self._now = now
        self._end: int | None = None
        self._polling = False
        self._timer = QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self.poll)
        self._ticks = 0
        self.poll()
        if poll_ms > 0:
            self._timer.start()

    def close(self) -> None:
        self._timer.stop()
        self._worker.close()

    def poll(self) -> None:
        """Read records written since the last look; refresh the relative times."""
        self._ticks += 1
        if self._ticks % 15 == 0 and self._rows:
            last = self.index(len(self._rows) - 1, 0)
            self.dataChanged.emit(self.index(0, 0), last, [Qt.ItemDataRole.DisplayRole])
        if self._polling:
            return
        self._polling = True
        reader, since, limit = self._reader, self._end, self._limit

        def job(send: Send) -> None:
            try:
                send(*_read(reader, since, limit))
            finally:
                send()

        self._worker.submit(job, self._on_event)

    def _on_event(self, *args: Any) -> None:
        if args:
            self._on_read(*args)
        else:
            self._polling = False

    def _on_failed(self, message: str) -> None:
        self._failing = True
        self.failed.emit(message)

    def _on_read(self, new: list[Activity], end: int, reset: bool) -> None:
        self._end = end
        if self._failing:
            self._failing = False
            self.failed.emit("")
        if reset:
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

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        item = self.row_at(index)
        if item is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return ago(item.summary.ts, self._now()) if index.column() == 0 else item.text
        if role == Qt.ItemDataRole.ToolTipRole:
            s = item.summary
            return f"{local_time(s.ts)} · LSN {s.lsn} · {s.action}" + (
                f"\nReason: {s.reason}" if s.reason else ""
            )
        return None

    def activity(self, row: int) -> Activity:
        return self._rows[row]


class ActivityView(QWidget):
    """The activity feed for employees: what just happened, live."""

    title = "Activity"

    def __init__(self, runtime: Runtime, parent: QWidget | None = None, *, poll_ms: int = 1000):
        super().__init__(parent)
        self.model = ActivityModel(runtime.pipeline.wal.path, self, poll_ms=poll_ms)
        heading = QLabel("Recent activity")
        heading.setObjectName("heading")
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.verticalHeader().hide()
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
