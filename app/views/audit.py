"""The audit viewer: every WAL record, newest first, with filters and an integrity check.

``AuditModel`` keeps an index of byte offsets for the rows it has loaded and the
parsed records of recent ones in a bounded cache. Everything that touches the file
runs off the GUI thread, through the audit-log service: pages are found on one
worker lane, which parses the page's records as it goes, so a log of a million
records opens at once and a filter's matches stream in. A row whose record has left
the cache shows "…" while a second lane reads it again; the detail pane is filled
the same way. New records appear within a second: the first lane polls the end of
the file (which also sees other processes).
"""

from __future__ import annotations

import json
from array import array
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, overload

from PySide6.QtCore import (
    QDate,
    QDateTime,
    QLocale,
    QModelIndex,
    QObject,
    Qt,
    QTime,
    QTimer,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDateTimeEdit,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.kernel import office_time
from app.kernel.errors import KnownError
from app.services.audit_log import AuditLog, LineSummary, Span, VerifyReport, WalFilter
from app.services.registry import Services
from app.views import worker
from app.views.formatting import local_time, time_width
from app.views.table import ROOT, Column, ModelIndex, RowsModel
from app.views.worker import Send

_DAMAGED = QBrush(QColor("#c62828"))
_LOADING = LineSummary(0, "", {}, "", {}, "", "", True)
"""Stands in for a record being read in the background (shown as "…")."""
MISMATCH = "This record's hash does not match its content. Run “Verify integrity”."


class _Generation:
    """Which filter the model shows now; read by jobs to notice they are stale."""

    def __init__(self) -> None:
        self.value = 0

    def stale(self, gen: int) -> Callable[[], bool]:
        return lambda: self.value != gen


class _Rows(Sequence[Span]):
    """Row number -> line: newer lines found live (kept oldest first), then older ones."""

    def __init__(self) -> None:
        self.top = (array("q"), array("q"))
        self.old = (array("q"), array("q"))

    def __len__(self) -> int:
        return len(self.top[0]) + len(self.old[0])

    @overload
    def __getitem__(self, row: int) -> Span: ...

    @overload
    def __getitem__(self, row: slice) -> list[Span]: ...

    def __getitem__(self, row: int | slice) -> Span | list[Span]:
        if isinstance(row, slice):
            return [self[i] for i in range(*row.indices(len(self)))]
        newer = len(self.top[0])
        if row < newer:
            i = newer - 1 - row
            return Span(self.top[0][i], self.top[1][i])
        i = row - newer
        return Span(self.old[0][i], self.old[1][i])

    @staticmethod
    def _add(into: tuple[array[int], array[int]], spans: list[Span]) -> None:
        into[0].extend(s.offset for s in spans)
        into[1].extend(s.length for s in spans)

    def add_newer(self, oldest_first: list[Span]) -> None:
        self._add(self.top, oldest_first)

    def add_older(self, newest_first: list[Span]) -> None:
        self._add(self.old, newest_first)


Text = Callable[[LineSummary], str]


def _text(shown: Text, damaged: Text | str) -> Text:
    """A column's text: ``shown(record)``, or ``damaged`` for a line that could not be read."""
    if isinstance(damaged, str):
        return lambda s: damaged if s.damaged else shown(s)
    return lambda s: damaged(s) if s.damaged else shown(s)


def _tip(shown: Callable[[LineSummary], str | None] | None = None) -> Callable[[LineSummary], Any]:
    """A column's tooltip: why a record is damaged, else ``shown(record)``."""

    def tip(s: LineSummary) -> str | None:
        if s.damaged:
            return s.damaged
        if not s.intact:
            return MISMATCH
        return shown(s) if shown else None

    return tip


def _colour(s: LineSummary) -> QBrush | None:
    return None if s.intact else _DAMAGED


def _column(
    header: str,
    shown: Text,
    damaged: Text | str = "",
    tip: Callable[[LineSummary], str | None] | None = None,
    *,
    right: bool = False,
) -> Column[LineSummary]:
    return Column[LineSummary](
        header, _text(shown, damaged), right=right, colour=_colour, tip=_tip(tip)
    )


def _entity(s: LineSummary) -> str:
    return f"{s.entity.get('type', '')} {s.entity.get('id', '')}".strip()


class AuditModel(RowsModel[Span]):
    """The WAL as a lazy table, newest record first (see module docstring)."""

    columns = (
        _column("LSN", lambda s: str(s.lsn), "?", right=True),
        _column("Time", lambda s: local_time(s.ts), tip=lambda s: f"{s.ts} (UTC)"),
        _column(
            "Actor", lambda s: s.actor.get("name", ""), tip=lambda s: f"id {s.actor.get('id', '')}"
        ),
        _column("Role", lambda s: s.actor.get("role", "")),
        _column("Action", lambda s: s.action, "(damaged line)"),
        _column("Entity", _entity),
        _column("Reason", lambda s: s.reason, lambda s: s.damaged, lambda s: s.reason or None),
        _column("Hash", lambda s: s.hash[:12], lambda s: s.hash[:12], lambda s: s.hash),
    )
    _rows: _Rows
    PAGE = 200
    CACHE = 8192

    changed = Signal()
    failed = Signal(str)

    def __init__(
        self, log: AuditLog, parent: QObject | None = None, *, poll_ms: int = 1000
    ) -> None:
        super().__init__(parent)
        self._log = log
        self._scans = worker.lane("audit-wal")
        self._reads = worker.lane("audit-rows")  # never waits behind a long search
        self._rows = _Rows()
        self._cache: OrderedDict[int, LineSummary] = OrderedDict()
        self._wanted: dict[int, Span] = {}
        self._asked: set[int] = set()
        self._filter = WalFilter()
        self._gen = _Generation()
        self._busy = self._polling = self._exhausted = False
        self._opened = self._closed = False
        self._cursor = self._head_end = self.total = 0
        self._timer = QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self.poll)
        self.set_filter(WalFilter())
        if poll_ms > 0:
            self._timer.start()

    # -- state for the view ------------------------------------------------------------

    @property
    def filter(self) -> WalFilter:
        return self._filter

    @property
    def loading(self) -> bool:
        return self._busy

    @property
    def complete(self) -> bool:
        """Every matching record is loaded (until new ones arrive)."""
        return self._exhausted and not self._busy

    def status_text(self) -> str:
        rows = len(self._rows)
        total = f"{self.total:,} {'entry' if self.total == 1 else 'entries'}"
        if not self._opened:
            return "Opening the log…"
        if self._filter.is_empty:
            more = "" if self._exhausted else " — scroll for older ones"
            return f"{total}; showing the newest {rows:,}{more}"
        if self._busy:
            return f"Searching {total}… {rows:,} matches so far"
        more = "" if self._exhausted else " so far — scroll for more"
        return f"{rows:,} matching entries{more} (of {total})"

    def close(self) -> None:
        """Stop polling and cancel any scan."""
        self._closed = True
        self._timer.stop()
        self._gen.value += 1
        for lane in (self._scans, self._reads):
            lane.shutdown(wait=False, cancel_futures=True)

    # -- filters -------------------------------------------------------------------

    def set_filter(self, flt: WalFilter) -> None:
        """Show only matching records; the scan restarts from the newest record."""
        self._gen.value += 1
        self.beginResetModel()
        self._rows = _Rows()
        self._filter = flt
        self._busy, self._exhausted, self._opened = True, False, False
        self.endResetModel()
        self.changed.emit()
        log, gen, stale, page = self._log, self._gen.value, self._gen.stale, self.PAGE

        def job(send: Send) -> None:
            end = log.end()
            send("opened", gen, end, log.head_lsn(end))
            _scan(log, flt, end, page, gen, stale(gen), send)

        self._scan(job)

    # -- Qt model API --------------------------------------------------------------

    def canFetchMore(self, parent: ModelIndex) -> bool:
        return not parent.isValid() and self._opened and not self._busy and not self._exhausted

    def fetchMore(self, parent: ModelIndex) -> None:
        if not self.canFetchMore(parent):
            return
        self._busy = True
        log, flt, cursor, page = self._log, self._filter, self._cursor, self.PAGE
        gen, stale = self._gen.value, self._gen.stale(self._gen.value)
        self._scan(lambda send: _scan(log, flt, cursor, page, gen, stale, send))

    def item(self, row: Span) -> LineSummary:
        return self._summary(row)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        span = self.row_at(index)
        if span is None:
            return None
        summary = self._summary(span)
        if summary is _LOADING:
            return "…" if role == Qt.ItemDataRole.DisplayRole else None
        return self.columns[index.column()].value(summary, role)

    # -- rows ------------------------------------------------------------------------

    def summary(self, row: int) -> LineSummary:
        """The parsed record of ``row``, read at once if it is not cached (for tools and
        tests: the table itself never reads on the GUI thread)."""
        span = self._rows[row]
        return self._cache.get(span.offset) or self._log.summaries([span])[span.offset]

    def _summary(self, span: Span) -> LineSummary:
        cached = self._cache.get(span.offset)
        if cached is not None:
            self._cache.move_to_end(span.offset)
            return cached
        if span.offset not in self._asked:
            self._asked.add(span.offset)
            self._wanted[span.offset] = span
            if len(self._wanted) == 1:
                QTimer.singleShot(0, self._read_wanted)  # one read for a whole repaint
        return _LOADING

    def _read_wanted(self) -> None:
        spans, self._wanted = list(self._wanted.values()), {}
        log = self._log
        self._read(lambda: log.summaries(spans), self._on_read)

    def _on_read(self, found: dict[int, LineSummary]) -> None:
        self._keep(found)
        self._asked.difference_update(found)
        if self._rows:
            last = self.index(len(self._rows) - 1, len(self.columns) - 1)
            self.dataChanged.emit(self.index(0, 0), last)

    def _keep(self, found: dict[int, LineSummary]) -> None:
        self._cache.update(found)
        while len(self._cache) > self.CACHE:
            self._cache.popitem(last=False)

    def offset(self, row: int) -> int:
        """Where ``row``'s record starts in the log (it identifies the record)."""
        return self._rows[row].offset

    def record(self, row: int) -> dict[str, Any]:
        """The full record of ``row``, change included, read at once (tools and tests)."""
        return self._log.record(self._rows[row])

    def fetch_record(self, row: int, handler: Callable[[int, dict[str, Any] | str], None]) -> None:
        """Read ``row``'s full record in the background; ``handler(offset, record or
        the reason it could not be read)`` runs on the GUI thread."""
        log, span = self._log, self._rows[row]

        def read() -> tuple[int, dict[str, Any] | str]:
            try:
                return span.offset, log.record(span)
            except KnownError as exc:
                return span.offset, str(exc)

        self._read(read, lambda found: handler(*found))

    # -- background work -----------------------------------------------------------

    def _scan(self, job: Callable[[Send], None]) -> None:
        if not self._closed:
            worker.stream(
                job, self._on_event, parent=self, on_error=self._on_error, executor=self._scans
            )

    def _read(self, fn: Callable[[], Any], on_done: Callable[[Any], None]) -> None:
        if not self._closed:
            worker.run(fn, on_done, parent=self, on_error=self._on_error, executor=self._reads)

    def poll(self) -> None:
        """Look for records written since the last look (by anyone)."""
        if self._polling or not self._opened or self._closed:
            return
        self._polling = True
        log, gen, flt, since = self._log, self._gen.value, self._filter, self._head_end

        def job(send: Send) -> None:
            try:
                end = log.end()
                if end != since:
                    spans = log.after(since, end, flt) if end > since else []
                    found = log.summaries(spans)
                    send("grew", gen, spans, end, log.head_lsn(end), found)
            finally:
                send("polled")

        self._scan(job)

    def _on_event(self, kind: str, *args: Any) -> None:
        handlers: dict[str, Callable[..., None]] = {
            "opened": self._on_opened,
            "found": self._on_found,
            "scanned": self._on_scanned,
            "grew": self._on_grew,
            "polled": self._on_polled,
        }
        handlers[kind](*args)

    def _on_opened(self, gen: int, end: int, total: int) -> None:
        if gen == self._gen.value:
            self._opened, self._cursor, self._head_end, self.total = True, end, end, total
            self.changed.emit()

    def _on_found(
        self, gen: int, spans: list[Span], reached: int, found: dict[int, LineSummary]
    ) -> None:
        if gen != self._gen.value or not spans:
            return
        self._keep(found)
        first = len(self._rows)
        self.beginInsertRows(ROOT, first, first + len(spans) - 1)
        self._rows.add_older(spans)
        self.endInsertRows()
        self._cursor = reached
        self.changed.emit()

    def _on_scanned(self, gen: int, reached: int, exhausted: bool) -> None:
        if gen == self._gen.value:
            self._busy, self._cursor, self._exhausted = False, reached, exhausted
            self.changed.emit()

    def _on_grew(
        self, gen: int, spans: list[Span], end: int, total: int, found: dict[int, LineSummary]
    ) -> None:
        if gen != self._gen.value:
            return
        if end < self._head_end:  # the log was cut back: offsets may now hold other records
            self._cache.clear()
            self.set_filter(self._filter)
            return
        self._keep(found)
        if spans:
            self.beginInsertRows(ROOT, 0, len(spans) - 1)
            self._rows.add_newer(spans)
            self.endInsertRows()
        self._head_end, self.total = end, total
        self.changed.emit()

    def _on_polled(self) -> None:
        self._polling = False

    def _on_error(self, exc: BaseException) -> None:
        self._busy = self._polling = False
        self._asked.clear()  # rows still wanted are asked for again when next painted
        self.failed.emit(worker.error_text(exc))


def _scan(
    log: AuditLog,
    flt: WalFilter,
    end: int,
    page: int,
    gen: int,
    stale: Callable[[], bool],
    send: Send,
) -> None:
    """Worker thread: send up to ``page`` more rows before ``end`` as they are found."""
    if flt.is_empty:
        spans, reached = log.page(end, page)
        send("found", gen, spans, reached, log.summaries(spans))
        send("scanned", gen, reached, reached <= 0 or not spans)
        return
    found, reached = 0, end
    for spans, reached in log.search(flt, end, cancelled=stale):
        if spans:
            send("found", gen, spans, reached, log.summaries(spans))
            found += len(spans)
        if found >= page:
            send("scanned", gen, reached, False)
            return
    send("scanned", gen, reached, True)


# -- widgets ---------------------------------------------------------------------------


class VerifyPanel(QWidget):
    """“Verify integrity”: checks the whole log off the GUI thread and lists damage."""

    finished = Signal(object)

    def __init__(self, log: AuditLog, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.log = log
        self._lane = worker.lane("wal-verify")
        self.button = QPushButton("Verify integrity")
        self.button.setToolTip("Check every record's hash chain (Ctrl+Shift+V)")
        self.button.clicked.connect(self.start)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.broken = QTableWidget(0, 3)
        self.broken.setMaximumHeight(150)
        self.broken.verticalHeader().hide()
        self.broken.setHorizontalHeaderLabels(["LSN", "Line", "Problem"])
        self.broken.horizontalHeader().setStretchLastSection(True)
        self.broken.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.broken.hide()
        row = QHBoxLayout()
        row.addWidget(self.button)
        row.addWidget(self.progress, 1)
        row.addWidget(self.result, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.broken)

    def start(self) -> None:
        if not self.button.isEnabled():
            return
        self.button.setEnabled(False)
        self.progress.setValue(0)
        self.progress.show()
        self.result.setText("Checking every record…")
        self.broken.hide()
        log = self.log

        def job(send: Send) -> None:
            send("done", log.verify(lambda done, total: send("progress", done, total)))

        worker.stream(
            job, self._on_event, parent=self, on_error=self._on_failed, executor=self._lane
        )

    def close_worker(self) -> None:
        self._lane.shutdown(wait=False, cancel_futures=True)

    def _on_event(self, kind: str, *args: Any) -> None:
        if kind == "progress":
            self._on_progress(*args)
        else:
            self._on_done(*args)

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setValue(int(1000 * done / total) if total else 1000)

    def _on_done(self, report: VerifyReport) -> None:
        self.button.setEnabled(True)
        self.progress.setValue(1000)
        self.progress.hide()
        self.result.setText(_verdict(report))
        self.broken.setRowCount(0)
        for item in report.broken:
            self._add_broken(str(item.get("lsn") or "?"), str(item["line_no"]), item["problem"])
        if report.torn_tail is not None:
            tail = report.torn_tail
            problem = f"an unfinished last record ({tail['bytes']} bytes at byte {tail['offset']})"
            self._add_broken(str(tail["lsn"]), "end", problem)
        self.broken.setVisible(self.broken.rowCount() > 0)
        self.broken.resizeColumnsToContents()
        self.finished.emit(report)

    def _add_broken(self, lsn: str, line: str, problem: str) -> None:
        row = self.broken.rowCount()
        self.broken.insertRow(row)
        for column, text in enumerate((lsn, line, problem)):
            self.broken.setItem(row, column, QTableWidgetItem(text))

    def _on_failed(self, exc: BaseException) -> None:
        self.button.setEnabled(True)
        self.progress.hide()
        self.result.setText(worker.error_text(exc))


def _verdict(report: VerifyReport) -> str:
    if report.ok:
        return (
            f"All {report.entries:,} records are intact (head {report.head_hash[:16]}…, "
            f"checked in {report.seconds:.1f} s)."
        )
    count = len(report.broken) + (report.torn_tail is not None)
    return (
        f"{count:,} damaged record(s) in {report.entries:,}. The log has been changed outside "
        "TransactFlowOS: restore it from a backup and report it (`tfos wal verify` prints "
        "the same list)."
    )


class FilterBar(QWidget):
    """Actor, action, entity and date range; Enter or “Apply” applies them."""

    applied = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actor = self._field("Actor name or id (Ctrl+F)")
        self.action = self._field("Action, e.g. loan.approve")
        self.entity_type = self._field("Entity type, e.g. loan")
        self.entity_id = self._field("Entity id")
        now = _office_now()
        self.use_since, self.since = QCheckBox("From"), self._date(now.addDays(-7))
        self.use_until, self.until = QCheckBox("To"), self._date(now.addDays(1))
        self.use_since.toggled.connect(self.since.setEnabled)
        self.use_until.toggled.connect(self.until.setEnabled)
        apply, clear = QPushButton("Apply"), QPushButton("Clear")
        apply.setProperty("accent", True)
        apply.clicked.connect(self.apply)
        clear.clicked.connect(self.clear)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        texts: list[QWidget] = [self.actor, self.action, self.entity_type, self.entity_id]
        dates: list[QWidget] = [self.use_since, self.since, self.use_until, self.until]
        for line, widgets in enumerate((texts, dates)):
            for column, widget in enumerate(widgets):
                grid.addWidget(widget, line, column)
        grid.addWidget(apply, 0, 4)
        grid.addWidget(clear, 1, 4)

    def _field(self, placeholder: str) -> QLineEdit:
        edit = QLineEdit()
        edit.setPlaceholderText(placeholder)
        edit.setClearButtonEnabled(True)
        edit.returnPressed.connect(self.apply)
        return edit

    @staticmethod
    def _date(value: QDateTime) -> QDateTimeEdit:
        edit = QDateTimeEdit(value)
        edit.setCalendarPopup(True)
        edit.setLocale(QLocale(QLocale.Language.English, QLocale.Country.India))
        edit.setDisplayFormat(f"dd MMM yyyy, HH:mm '{office_time.label()}'")
        edit.setEnabled(False)
        return edit

    def value(self) -> WalFilter:
        return WalFilter(
            actor=self.actor.text().strip(),
            action=self.action.text().strip(),
            entity_type=self.entity_type.text().strip(),
            entity_id=self.entity_id.text().strip(),
            since=_aware(self.since.dateTime()) if self.use_since.isChecked() else None,
            until=_aware(self.until.dateTime()) if self.use_until.isChecked() else None,
        )

    def apply(self) -> None:
        self.applied.emit(self.value())

    def clear(self) -> None:
        for edit in (self.actor, self.action, self.entity_type, self.entity_id):
            edit.clear()
        self.use_since.setChecked(False)
        self.use_until.setChecked(False)
        self.apply()


def _office_now() -> QDateTime:
    """Now on the office's clock (the edits hold the office's wall time)."""
    now = office_time.office(datetime.now(UTC))
    return QDateTime(QDate(now.year, now.month, now.day), QTime(now.hour, now.minute))


def _aware(value: QDateTime) -> datetime:
    """An edit's wall time, read in the office's zone."""
    d, t = value.date(), value.time()
    return datetime(d.year(), d.month(), d.day(), t.hour(), t.minute(), tzinfo=office_time.zone())


class AuditView(QWidget):
    """The audit viewer: filters, the lazy table, a detail pane, and the integrity check."""

    title = "Audit"

    def __init__(
        self, services: Services, parent: QWidget | None = None, *, poll_ms: int = 1000
    ) -> None:
        super().__init__(parent)
        self.model = AuditModel(services.audit, self, poll_ms=poll_ms)
        self.filters = FilterBar()
        self.filters.applied.connect(self.model.set_filter)
        self.status = QLabel()
        self.table = self._table()
        self.detail = QPlainTextEdit()
        self._detail_of: int | None = None
        self.detail.setReadOnly(True)
        self.detail.setPlaceholderText("Select a record to see everything it changed.")
        self.verify = VerifyPanel(services.audit)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 1)
        heading = QLabel("Audit trail")
        heading.setObjectName("heading")
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.filters)
        layout.addWidget(self.status)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.verify)
        self.model.changed.connect(self._show_status)
        self.model.failed.connect(self.status.setText)
        self.table.selectionModel().currentRowChanged.connect(self._show_detail)
        find = QShortcut(QKeySequence(QKeySequence.StandardKey.Find), self)
        find.activated.connect(self.filters.actor.setFocus)
        QShortcut(QKeySequence("Ctrl+Shift+V"), self).activated.connect(self.verify.start)
        self._show_status()

    def _table(self) -> QTableView:
        table = QTableView()
        table.setModel(self.model)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setAlternatingRowColors(True)
        table.verticalHeader().hide()
        table.verticalHeader().setDefaultSectionSize(24)
        header = table.horizontalHeader()
        when = time_width(table, seconds=True)
        for column, width in enumerate((80, when, 140, 80, 150, 200, 240, 110)):
            header.resizeSection(column, width)
        header.setSectionResizeMode(6, QHeaderView.ResizeMode.Stretch)
        return table

    def _show_status(self) -> None:
        self.status.setText(self.model.status_text())

    def _show_detail(self, current: QModelIndex) -> None:
        if not current.isValid():
            self._detail_of = None
            self.detail.clear()
            return
        self._detail_of = self.model.offset(current.row())
        self.detail.setPlainText("Reading the record…")
        self.model.fetch_record(current.row(), self._on_record)

    def _on_record(self, offset: int, record: dict[str, Any] | str) -> None:
        if offset != self._detail_of:
            return  # another row was selected meanwhile
        if isinstance(record, str):
            self.detail.setPlainText(record)
        else:
            self.detail.setPlainText(json.dumps(record, indent=2, ensure_ascii=False))

    def shutdown(self) -> None:
        """Stop background work (the window calls this when it closes)."""
        self.model.close()
        self.verify.close_worker()
