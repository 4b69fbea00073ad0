"""Exporting a report from the desktop: its parameters, where to save it, progress, and
a link to the folder it went to.

:class:`ExportPanel` shows the parameters the chosen kind takes (group, member, from,
to, period, the Registrar's copy, a receipt), asks where to save the PDF, and runs the
export off the GUI thread (:func:`app.views.worker.stream`): the service reads the
books, draws the pages (the bar counts them) and records the export in the log. A
refusal (a missing parameter, a folder that cannot be written) is shown under the
button; nothing is raised.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QDate, QSettings, QStandardPaths, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.services.actors import Actor
from app.services.groups import Group
from app.services.registry import Services
from app.services.report_exports import Exported, KindInfo
from app.views import worker
from app.views.formatting import DATE_FORMAT
from app.views.live import LiveReadModel

if TYPE_CHECKING:
    from app.services.reports import Request

VIA = "on the desktop"
FOLDER_KEY = "reports/folder"
ERROR_STYLE = "color: #b3261e;"
MUTED_STYLE = "color: #5a6578;"
PARAMS = ("group", "member", "start", "end", "period", "registrar", "receipt")
LABELS = {
    "group": "Group",
    "member": "Member",
    "start": "From",
    "end": "To",
    "period": "Period",
    "registrar": "Copy",
    "receipt": "Receipt",
}


class DateField(QWidget):
    """A date that may be left out: unticked, the report runs from the first record (or
    to the log head)."""

    def __init__(self, open_end: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.use = QCheckBox()
        self.date = QDateEdit(QDate.currentDate())
        self.date.setCalendarPopup(True)
        self.date.setDisplayFormat(DATE_FORMAT)
        self.date.setEnabled(False)
        hint = QLabel(f"unticked: {open_end}")
        hint.setStyleSheet(MUTED_STYLE)
        self.use.setToolTip(f"Tick to choose a date; unticked: {open_end}.")
        self.use.toggled.connect(self.date.setEnabled)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.use)
        row.addWidget(self.date)
        row.addWidget(hint)
        row.addStretch(1)

    def value(self) -> str | None:
        return self.date.date().toString("yyyy-MM-dd") if self.use.isChecked() else None


class ExportPanel(QWidget):
    """The chosen kind's parameters, "Export PDF…", a progress bar and the outcome."""

    finished = Signal(object)
    """Emitted with the :class:`Exported` report, or the error, when an export ends."""

    def __init__(self, services: Services, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services, self.actor = services, actor
        self.kind: KindInfo | None = None
        self.running = False
        self._fields()
        self.title = QLabel()
        self.title.setStyleSheet("font-size: 13pt; font-weight: 600;")
        self.about = QLabel()
        self.about.setWordWrap(True)
        self.about.setStyleSheet(MUTED_STYLE)
        self.export = QPushButton("Export PDF…")
        self.export.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.export.clicked.connect(self.start)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        self.status.linkActivated.connect(self.show_in_folder)
        actions = QHBoxLayout()
        actions.addWidget(self.export, 0, Qt.AlignmentFlag.AlignLeft)
        actions.addWidget(self.progress, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.about)
        layout.addLayout(self.form)
        layout.addLayout(actions)
        layout.addWidget(self.status)
        self.saved: Path | None = None
        self.live = LiveReadModel(services.topics, services.groups.list_groups, self._groups, self)

    def _fields(self) -> None:
        self.group = QComboBox()
        self.member = QLineEdit()
        self.member.setPlaceholderText("Member id or mobile number")
        self.start_date = DateField("from the first record")
        self.end_date = DateField("to the newest record")
        self.period = QSpinBox()
        self.period.setRange(1, 240)
        self.registrar = QCheckBox("The Registrar's copy (true names of the bidders)")
        self.receipt = QLineEdit()
        self.receipt.setPlaceholderText("The receipt's bank reference")
        self.widgets: dict[str, QWidget] = {
            "group": self.group,
            "member": self.member,
            "start": self.start_date,
            "end": self.end_date,
            "period": self.period,
            "registrar": self.registrar,
            "receipt": self.receipt,
        }
        self.form = QFormLayout()
        for name in PARAMS:
            self.form.addRow(LABELS[name], self.widgets[name])
            self.form.setRowVisible(self.widgets[name], False)  # until a kind is chosen

    def _groups(self, groups: list[Group]) -> None:
        chosen = self.group.currentData()
        self.group.clear()
        self.group.addItem("Every group", None)
        for g in groups:
            self.group.addItem(g.name, g.id)
        self.group.setCurrentIndex(max(0, self.group.findData(chosen)))

    def set_kind(self, kind: KindInfo) -> None:
        """Show the parameters ``kind`` takes (a needed one is marked "needed")."""
        self.kind = kind
        self.title.setText(kind.title)
        self.about.setText(kind.description)
        self.status.clear()
        for name in PARAMS:
            self.form.setRowVisible(self.widgets[name], name in kind.takes)
            label = self.form.labelForField(self.widgets[name])
            if isinstance(label, QLabel):
                needed = " (needed)" if name in kind.needs else ""
                label.setText(LABELS[name] + needed)
        self.group.setItemText(0, "Choose a group" if "group" in kind.needs else "Every group")

    def request(self) -> Request:
        """The chosen kind with the parameters filled in (those it takes)."""
        from app.services.reports import Request

        assert self.kind is not None
        values: dict[str, Any] = {
            "group": self.group.currentData(),
            "member": self.member.text().strip() or None,
            "start": self.start_date.value(),
            "end": self.end_date.value(),
            "period": self.period.value(),
            "registrar": self.registrar.isChecked(),
            "receipt": self.receipt.text().strip() or None,
        }
        return Request(self.kind.name, **{k: v for k, v in values.items() if k in self.kind.takes})

    # -- exporting ----------------------------------------------------------------------

    def choose_file(self, suggested: Path) -> Path | None:
        """Where to save the PDF (None: the person cancelled)."""
        chosen, _ = QFileDialog.getSaveFileName(
            self, "Export PDF", str(suggested), "PDF files (*.pdf)"
        )
        if not chosen:
            return None
        path = Path(chosen)
        return path if path.suffix.lower() == ".pdf" else path.with_suffix(".pdf")

    def _suggested(self) -> Path:
        """``<kind>-<today>.pdf`` in the folder of the last export (else Documents)."""
        documents = QStandardPaths.StandardLocation.DocumentsLocation
        last = QSettings("TransactFlowOS", "desktop").value(FOLDER_KEY)
        folder = str(last or QStandardPaths.writableLocation(documents))
        assert self.kind is not None
        return Path(folder) / f"{self.kind.name}-{self.services.clock.today().isoformat()}.pdf"

    def start(self) -> None:
        if self.kind is None or self.running:
            return
        request = self.request()
        missing = [
            LABELS[n].lower() for n in PARAMS if n in self.kind.needs and not _given(request, n)
        ]
        if missing:
            self._say(f"Choose the {missing[0]} first: the {self.kind.title.lower()} needs one.")
            return
        out = self.choose_file(self._suggested())
        if out is None:
            return
        QSettings("TransactFlowOS", "desktop").setValue(FOLDER_KEY, str(out.parent))
        self._running(True)
        self.status.setStyleSheet("")
        self.status.setText(html.escape(f"Exporting {self.kind.title} to {out.name}…"))
        worker.stream(self._job(request, out), self._event, parent=self, on_error=self._failed)

    def _job(self, request: Request, out: Path) -> Callable[[worker.Send], None]:
        export, actor = self.services.reports.export, self.actor

        def job(send: worker.Send) -> None:
            progress = lambda what, done, of: send("progress", what, done, of)  # noqa: E731
            send("done", export(actor, request, out, via=VIA, progress=progress))

        return job

    def _event(self, what: str, *args: Any) -> None:
        if what == "progress":
            text, done, of = args
            self.progress.setFormat(text)
            self.progress.setRange(0, of)
            self.progress.setValue(done)
        else:
            self._done(args[0])

    def _done(self, exported: Exported) -> None:
        self._running(False)
        self.saved = exported.path
        rendered = exported.rendered
        saved = (
            f"Saved {exported.path} ({rendered.pages} pages, as of log record "
            f"{rendered.head.lsn}; the export is record {exported.record_lsn})."
        )
        self.status.setText(f'{html.escape(saved)} <a href="folder">Show in folder</a>')
        self.finished.emit(exported)

    def _failed(self, exc: BaseException) -> None:
        self._running(False)
        self._say(f"Not exported: {worker.error_text(exc)}")
        self.finished.emit(exc)

    def _say(self, problem: str) -> None:
        self.status.setStyleSheet(ERROR_STYLE)
        self.status.setText(html.escape(problem))

    def _running(self, running: bool) -> None:
        self.running = running
        self.export.setEnabled(not running)
        self.progress.setVisible(running)
        self.progress.setRange(0, 0)

    def show_in_folder(self, _link: str = "") -> None:
        if self.saved is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.saved.parent)))

    def shutdown(self) -> None:
        self.live.close()


def _given(request: Request, name: str) -> bool:
    return getattr(request, name) not in (None, "", False)
