"""Statement import: choose a bank's CSV export, see every line sorted, resolve what needs
a person, record the rest with a progress bar.

Reading and sorting the file, and recording it, run off the GUI thread (the commit
reports each chunk as it is written); resolving a line only changes the preview, which
is a value. After a commit the file is sorted again, so recorded lines show as such.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.kernel.errors import KnownError
from app.services.activity import counted
from app.services.actors import Actor
from app.services.members import Member
from app.services.money import rupees, to_rupees
from app.services.registry import Services
from app.services.statements import (
    NEEDS_A_PERSON,
    TO_RECORD,
    VERDICTS,
    Candidate,
    Imported,
    Preview,
    Sorted,
)
from app.views import worker
from app.views.counter_desk import table
from app.views.formatting import BAD, BUTTON_STYLE, GOOD, inr, when
from app.views.statement_tables import VERDICT_COLOURS, StatementModel
from app.views.table import fit_column

CANDIDATE_ROLE = Qt.ItemDataRole.UserRole
SHOW = (
    ("Every line", None),
    ("Needs a person", NEEDS_A_PERSON),
    ("To record", TO_RECORD),
    ("Already recorded", frozenset({"recorded"})),
    ("Left unrecorded", frozenset({"left"})),
    ("Not a receipt", frozenset({"not_receipt"})),
)


PROMPT = "Export the collection account's statement from net banking as CSV."
WHY = len(StatementModel.columns) - 1
"""The table's last column: why each line sorted as it did."""


def ask_statement_path(parent: QWidget) -> str:
    """The CSV file to import (empty when the person cancels)."""
    path, _ = QFileDialog.getOpenFileName(
        parent, "Choose a bank statement", str(Path.home()), "CSV files (*.csv);;All files (*)"
    )
    return path


class ResolvePane(QWidget):
    """What a line needing a person can pay: its candidates, or a member's dues."""

    def __init__(self, services: Services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.line: Sorted | None = None
        self.about = QLabel("Choose a line that needs a person.")
        self.about.setWordWrap(True)
        self.candidates = QListWidget()
        self.candidates.setWordWrap(True)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Or find the member: name, mobile or id")
        self.search.returnPressed.connect(self.look_up)
        self.members = QListWidget()
        self.members.setMaximumHeight(110)
        self.members.currentItemChanged.connect(self._member_picked)
        self.amount = QLineEdit()
        self.amount.setPlaceholderText("Amount it pays (less is a part payment)")
        self.pay = QPushButton("Pays this due")
        self.pay.setProperty("accent", True)
        self.leave = QPushButton("Leave unrecorded")
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {BAD.name()};")
        buttons = QHBoxLayout()
        buttons.addWidget(self.pay)
        buttons.addWidget(self.leave)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 0, 0, 0)
        layout.addWidget(QLabel("<b>Resolve</b>"))
        layout.addWidget(self.about)
        layout.addWidget(QLabel("Dues it may pay"))
        layout.addWidget(self.candidates, 1)
        layout.addWidget(self.search)
        layout.addWidget(self.members)
        layout.addWidget(self.amount)
        layout.addLayout(buttons)
        layout.addWidget(self.error)
        self.candidates.currentItemChanged.connect(lambda *_: self._update())
        self.show_line(None)

    def show_line(self, line: Sorted | None) -> None:
        self.line = line
        self.error.setText("")
        self.candidates.clear()
        self.members.clear()
        if line is None:
            self.about.setText("Choose a line that needs a person.")
        else:
            self.about.setText(_about(line))
            self.amount.setText(f"{to_rupees(line.line.credit):,.2f}")
            self.show_candidates(list(line.candidates))
        self._update()

    def show_candidates(self, candidates: list[Candidate]) -> None:
        self.candidates.clear()
        for c in candidates:
            item = QListWidgetItem(c.label())
            item.setData(CANDIDATE_ROLE, c)
            self.candidates.addItem(item)
        if candidates:
            self.candidates.setCurrentRow(0)
        self._update()

    def chosen(self) -> Candidate | None:
        item = self.candidates.currentItem()
        value = item.data(CANDIDATE_ROLE) if item is not None else None
        return value if isinstance(value, Candidate) else None

    def chosen_amount(self) -> int:
        return rupees(self.amount.text(), field="Amount")

    def _update(self) -> None:
        open_line = self.line is not None and self.line.verdict in NEEDS_A_PERSON | {
            "resolved",
            "left",
        }
        self.pay.setEnabled(open_line and self.chosen() is not None)
        self.leave.setEnabled(open_line and self.line is not None and self.line.verdict != "left")
        for widget in (self.search, self.amount):
            widget.setEnabled(open_line)

    def look_up(self) -> None:
        text, members = self.search.text(), self.services.members
        worker.run(lambda: members.search(text, limit=20), self._found, parent=self)

    def _found(self, found: list[Member]) -> None:
        self.members.clear()
        for m in found:
            item = QListWidgetItem(f"{m.name} · {m.member_no} · {m.phone_masked}")
            item.setData(CANDIDATE_ROLE, m.id)
            self.members.addItem(item)

    def _member_picked(self, item: QListWidgetItem | None) -> None:
        member_id = item.data(CANDIDATE_ROLE) if item is not None else None
        if member_id:
            statements = self.services.statements
            worker.run(
                lambda: statements.candidates(str(member_id)), self.show_candidates, parent=self
            )


class StatementImportView(QWidget):
    """A statement's preview, its resolution and its commit (see module docstring)."""

    name = "statement-import"
    title = "Statement import"

    def __init__(self, services: Services, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.actor = actor
        self.preview: Preview | None = None
        self.path: Path | None = None
        self.working = False
        self.model = StatementModel(self)
        self._build()
        self._connect()
        self._update()

    def _build(self) -> None:
        heading = QLabel("Statement import")
        heading.setObjectName("heading")
        self.choose = QPushButton("Choose CSV…")
        self.file = QLabel(PROMPT)
        self.file.setWordWrap(True)
        self.show_filter = QComboBox()
        for label, _ in SHOW:
            self.show_filter.addItem(label)
        top = QHBoxLayout()
        top.addWidget(self.choose)
        top.addWidget(self.file, 1)
        top.addWidget(QLabel("Show"))
        top.addWidget(self.show_filter)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.table = table(self.model)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in enumerate((45, 95, 105, 140, 230, 320, 150, 300)):
            self.table.setColumnWidth(column, width)
        self.resolve = ResolvePane(self.services, self)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(self.resolve)
        split.setStretchFactor(0, 1)
        split.setSizes([760, 320])
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.record = QPushButton("Record receipts")
        self.record.setProperty("accent", True)
        self.outcome = QLabel("")
        self.outcome.setWordWrap(True)
        bottom = QHBoxLayout()
        bottom.addWidget(self.outcome, 1)
        bottom.addWidget(self.progress)
        bottom.addWidget(self.record)
        self.setStyleSheet(BUTTON_STYLE)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(split, 1)
        layout.addLayout(bottom)

    def _connect(self) -> None:
        self.choose.clicked.connect(self.ask_file)
        self.show_filter.currentIndexChanged.connect(lambda _: self._show_rows())
        self.table.selectionModel().selectionChanged.connect(self._line_chosen)
        self.resolve.pay.clicked.connect(self.pay_chosen)
        self.resolve.leave.clicked.connect(self.leave_chosen)
        self.record.clicked.connect(self.commit)

    # -- the file -----------------------------------------------------------------------

    def ask_file(self) -> None:
        chosen = ask_statement_path(self)
        if chosen:
            self.open_file(Path(chosen))

    def open_file(self, path: Path) -> None:
        """Read and sort ``path`` off the GUI thread."""
        self.path = path
        self.file.setText(f"Reading {escape(path.name)}…")
        statements = self.services.statements
        self._start(lambda: statements.open(path), self.show_preview)

    def show_example(self) -> None:
        """For --screenshots: an example statement made from the books (not recorded)."""
        statements = self.services.statements
        self._start(statements.example_preview, self.show_preview)

    def show_preview(self, preview: Preview) -> None:
        self.working = False
        self.preview = preview
        st = preview.statement
        self.file.setText(
            f"<b>{escape(st.name)}</b> · {len(st.lines):,} transactions · "
            f"{len(st.set_aside):,} rows set aside · SHA-256 {st.sha256[:12]}…"
            + (f"<br>{escape(preview.earlier)}" if preview.earlier else "")
        )
        self._show_rows()
        first = next((s for s in preview.lines if s.verdict in NEEDS_A_PERSON), None)
        if first is not None:
            self.select_row(first.line.number)
        self._update()

    def _show_rows(self) -> None:
        if self.preview is None:
            return
        wanted = SHOW[self.show_filter.currentIndex()][1]
        lines = [s for s in self.preview.lines if wanted is None or s.verdict in wanted]
        self.model.set_rows(lines)
        fit_column(self.table, WHY, (s.note for s in lines))  # its dates are never shown cut
        self.summary.setText(_summary(self.preview))
        self._line_chosen()

    # -- resolving ------------------------------------------------------------------------

    def chosen_line(self) -> Sorted | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row_at(rows[0]) if rows else None

    def _line_chosen(self) -> None:
        self.resolve.show_line(self.chosen_line())

    def select_row(self, number: int) -> bool:
        """Select the line on file row ``number`` (if shown)."""
        for row in range(self.model.rowCount()):
            if self.model.row(row).line.number == number:
                self.table.selectRow(row)
                return True
        return False

    def pay_chosen(self) -> None:
        line, candidate = self.chosen_line(), self.resolve.chosen()
        if self.preview is None or line is None or candidate is None:
            return
        try:
            amount = self.resolve.chosen_amount()
            self._changed(self.preview.resolve(line.line.number, candidate, amount), line)
        except KnownError as exc:
            self.resolve.error.setText(str(exc))

    def leave_chosen(self) -> None:
        line = self.chosen_line()
        if self.preview is not None and line is not None:
            self._changed(self.preview.leave(line.line.number), line)

    def _changed(self, preview: Preview, line: Sorted) -> None:
        self.preview = preview
        self._show_rows()
        if not self.select_row(line.line.number):
            self.resolve.show_line(None)
        self._update()

    # -- recording ------------------------------------------------------------------------

    def commit(self) -> None:
        """Record the lines to record, chunk by chunk, off the GUI thread."""
        if self.preview is None or not self.preview.to_record() or self.working:
            return
        preview, statements, actor = self.preview, self.services.statements, self.actor
        self.progress.setRange(0, len(preview.to_record()))
        self.progress.setValue(0)
        self.progress.setVisible(True)

        def job(send: worker.Send) -> None:
            done = statements.commit(actor, preview, lambda n, total: send("progress", n))
            send("done", done)

        self.working = True
        self._update()
        worker.stream(job, self._committing, parent=self, on_error=self._failed)

    def _committing(self, what: str, value: int | Imported) -> None:
        if what == "progress" and isinstance(value, int):
            self.progress.setValue(value)
            return
        if isinstance(value, Imported):
            self.outcome.setStyleSheet(f"color: {(BAD if value.refused else GOOD).name()};")
            self.outcome.setText("\n".join(value.lines()[:6]))
            if self.preview is not None:
                statements, statement = self.services.statements, self.preview.statement
                self._start(lambda: statements.preview(statement), self._sorted_again)

    def _sorted_again(self, preview: Preview) -> None:
        self.progress.setVisible(False)
        self.show_preview(preview)

    def _failed(self, exc: BaseException) -> None:
        self.working = False
        if self.preview is None:
            self.file.setText(PROMPT)
        else:
            self.show_preview(self.preview)
        self.progress.setVisible(False)
        self.outcome.setStyleSheet(f"color: {BAD.name()};")
        self.outcome.setText(worker.error_text(exc))
        self._update()

    def _start(self, call: object, then: object) -> None:
        self.working = True
        self._update()
        worker.run(call, then, parent=self, on_error=self._failed)  # type: ignore[arg-type]

    def _update(self) -> None:
        count = len(self.preview.to_record()) if self.preview is not None else 0
        self.record.setText(f"Record {counted(count, 'receipt')}" if count else "Record receipts")
        self.record.setEnabled(bool(count) and not self.working)
        self.choose.setEnabled(not self.working)

    def busy(self) -> bool:
        return self.working

    def shutdown(self) -> None:
        """Nothing listens live here: a preview is a snapshot of the books."""


def _summary(preview: Preview) -> str:
    parts = []
    for t in preview.tallies():
        colour = VERDICT_COLOURS.get(t.verdict)
        style = f" style='color: {colour.name()}'" if colour is not None else ""
        parts.append(f"<b{style}>{VERDICTS[t.verdict]}</b> {t.lines:,} ({inr(t.amount)})")
    return " · ".join(parts)


def _about(line: Sorted) -> str:
    l = line.line  # noqa: E741
    return (
        f"Row {l.number}: {inr(l.credit)} on {when(l.date)}<br>{escape(l.narration)}<br>"
        f"<i>{escape(line.verdict_text)}: {escape(line.note)}</i>"
    )
