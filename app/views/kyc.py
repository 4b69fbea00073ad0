"""The KYC desk: filter and search the queue, bulk approve, reject with a reason, and
look at each document with a check that its stored hash still matches.

Only masked numbers are ever shown (the service never returns a clear one here).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import (
    QItemSelection,
    QItemSelectionModel,
    Qt,
    QTimer,
    QUrl,
)
from PySide6.QtGui import QDesktopServices, QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.services.actors import Actor
from app.services.kyc import DocumentCheck, KycRecord, KycService, QueueRow, StoredDocument
from app.services.registry import Services
from app.views import worker
from app.views.formatting import (
    BAD,
    BUTTON_STYLE,
    CENTER,
    GOOD,
    ReasonDialog,
    Reloader,
    file_size,
    status_colour,
    status_text,
    when,
)
from app.views.live import LiveReadModel
from app.views.table import Column, RowsModel, row_table

PREVIEW_WIDTH = 380
STATUSES = (
    ("Pending", "pending"),
    ("Approved", "approved"),
    ("Rejected", "rejected"),
    ("Not submitted", "none"),
    ("All", None),
)
_CHECK_TEXT = {
    "match": ("✓ Hash matches what was submitted", GOOD),
    "mismatch": ("✗ Changed since it was submitted: the hash does not match", BAD),
    "missing": ("✗ The file is missing from the documents folder", BAD),
}


class KycQueueModel(RowsModel[QueueRow]):
    """The rows of :meth:`KycService.queue` (masked numbers only)."""

    columns = (
        Column[QueueRow]("Name", lambda r: r.name, tip=lambda r: f"Member {r.member_id}"),
        Column[QueueRow]("Mobile", lambda r: r.phone_masked),
        Column[QueueRow]("PAN", lambda r: r.pan_masked or "—"),
        Column[QueueRow](
            "Status", lambda r: status_text(r.status), colour=lambda r: status_colour(r.status)
        ),
        Column[QueueRow]("Submitted", lambda r: when(r.submitted_at) or "—"),
        Column[QueueRow]("Docs", lambda r: str(r.document_count), right=True),
    )

    def row_of(self, member_id: str) -> int | None:
        return next((i for i, r in enumerate(self._rows) if r.member_id == member_id), None)


@dataclass(frozen=True)
class DocumentView:
    """A stored document, its hash check and (for an image) a preview."""

    document: StoredDocument
    path: Path
    check: DocumentCheck | None
    image: QImage | None


def load_documents(kyc: KycService, member_id: str) -> tuple[KycRecord, list[DocumentView]]:
    """The record, each document re-hashed, and image previews (off the GUI thread)."""
    record = kyc.get(member_id)
    checks = {c.path: c for c in kyc.verify_documents(member_id)}
    views = []
    for doc in record.documents:
        path = kyc.document_path(member_id, doc.sha256)
        image = None
        if doc.content_type.startswith("image/"):
            loaded = QImage(str(path))
            if not loaded.isNull():
                image = loaded.scaledToWidth(
                    min(PREVIEW_WIDTH, loaded.width()), Qt.TransformationMode.SmoothTransformation
                )
        views.append(DocumentView(doc, path, checks.get(doc.path), image))
    return record, views


Loaded = tuple[str, KycRecord | None, list[DocumentView]]
"""(member id, its KYC record if submitted, its documents) as the viewer shows them."""


class DocumentCard(QFrame):
    """One document: name, size, hash check, and a preview or an Open button."""

    def __init__(self, item: DocumentView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("documentCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.path = item.path
        doc = item.document
        layout = QVBoxLayout(self)
        name = QLabel(
            f"<b>{html.escape(doc.name)}</b> · {file_size(doc.size)} · {doc.content_type}"
        )
        layout.addWidget(name)
        text, colour = _CHECK_TEXT.get(
            item.check.status if item.check else "", ("Not checked", BAD)
        )
        self.check = QLabel(text)
        self.check.setStyleSheet(f"color: {colour.name()};")
        self.check.setToolTip(f"SHA-256 recorded: {doc.sha256}")
        layout.addWidget(self.check)
        if item.image is not None:
            preview = QLabel()
            preview.setPixmap(QPixmap.fromImage(item.image))
            layout.addWidget(preview)
        else:
            self.open = QPushButton("Open")
            self.open.setToolTip(str(item.path))
            self.open.clicked.connect(self.open_document)
            layout.addWidget(self.open, 0, Qt.AlignmentFlag.AlignLeft)

    def open_document(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.path)))


class DocumentPane(QScrollArea):
    """The selected member's KYC details (masked) and documents."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMinimumWidth(PREVIEW_WIDTH + 60)
        self.cards: list[DocumentCard] = []
        self.show_message("Select a KYC record to see its documents.")

    def show_message(self, text: str) -> None:
        label = QLabel(text)
        label.setAlignment(CENTER)
        label.setWordWrap(True)
        label.setObjectName("emptyState")
        self.cards = []
        self.setWidget(label)

    def show_record(self, record: KycRecord, items: list[DocumentView]) -> None:
        body = QWidget()
        layout = QVBoxLayout(body)
        details = QLabel(_details(record))
        details.setWordWrap(True)
        layout.addWidget(details)
        self.cards = [DocumentCard(item) for item in items]
        for card in self.cards:
            layout.addWidget(card)
        if not items:
            layout.addWidget(QLabel("No documents were attached."))
        layout.addStretch(1)
        self.setWidget(body)


def _details(r: KycRecord) -> str:
    decided = ""
    if r.decided_at:
        decided = f"<br>{status_text(r.status)} {when(r.decided_at)}"
        if r.reason:
            decided += f": {html.escape(r.reason)}"
    return (
        f"<h3>{html.escape(r.name)}</h3>"
        f"Mobile {r.phone_masked} · PAN {r.pan_masked}<br>"
        f"Aadhaar {r.aadhaar_masked}<br>"
        f"Account {r.account_masked} · IFSC {r.ifsc}<br>"
        f"Submitted {when(r.submitted_at)}{decided}"
    )


class KycQueueView(QWidget):
    """The KYC queue with bulk decisions and a document viewer, refreshed live."""

    title = "KYC queue"

    def __init__(self, services: Services, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actor = actor
        self.kyc = services.kyc
        self.model = KycQueueModel(self)
        self._build()
        self.documents = Reloader(self._fetch_documents, self._show_documents, self)
        self._shown_member: str | None = None
        self.live = LiveReadModel(
            services.topics, self.kyc.queue, self._show_rows, self, args=self._filters
        )

    # -- layout -------------------------------------------------------------------

    def _build(self) -> None:
        self.status = QComboBox()
        for label, value in STATUSES:
            self.status.addItem(label, value)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search name, mobile or PAN (last digits)")
        self.search.setClearButtonEnabled(True)
        self.approve_button = QPushButton("Approve selected")
        self.approve_button.setProperty("accent", True)
        self.reject_button = QPushButton("Reject selected…")
        self.count = QLabel("")
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Status"))
        bar.addWidget(self.status)
        bar.addWidget(self.search, 1)
        bar.addWidget(self.count)
        bar.addWidget(self.approve_button)
        bar.addWidget(self.reject_button)
        self.table = self._table()
        self.empty = QLabel("")
        self.empty.setAlignment(CENTER)
        self.empty.setWordWrap(True)
        self.pane = DocumentPane()
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.table, 1)
        column.addWidget(self.empty)
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(self.pane)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([760, PREVIEW_WIDTH + 60])
        heading = QLabel(self.title)
        heading.setObjectName("heading")
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addLayout(bar)
        layout.addWidget(split, 1)
        self.setStyleSheet(BUTTON_STYLE)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(250)
        self._connect()

    def _table(self) -> QTableView:
        """The queue, its columns sized to their contents and the name taking the rest,
        so it fits the window without scrolling sideways."""
        table = row_table(self.model, stretch=0)
        table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        return table

    def _connect(self) -> None:
        self.status.currentIndexChanged.connect(self.refresh)
        self.search.textChanged.connect(self._debounce.start)
        self._debounce.timeout.connect(self.refresh)
        self.approve_button.clicked.connect(self.approve_selected)
        self.reject_button.clicked.connect(self.ask_reject)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)

    # -- loading ------------------------------------------------------------------

    def refresh(self) -> None:
        self.live.refresh()

    def shutdown(self) -> None:
        """Stop live updates (before the services close)."""
        self.live.close()
        self.documents.stop()

    def _filters(self) -> tuple[str | None, str]:
        return self.status.currentData(), self.search.text()

    def _show_rows(self, rows: list[QueueRow]) -> None:
        chosen = self.selected_ids()
        self.model.set_rows(rows)
        self._reselect(chosen)
        self.count.setText(f"{len(rows)} shown")
        self.empty.setVisible(not rows)
        self.empty.setText(self._empty_text())
        self._selection_changed()

    def _empty_text(self) -> str:
        if self.search.text().strip():
            return "No KYC record matches the search. Try the last digits of the mobile or PAN."
        label = self.status.currentText().lower()
        if not self.status.currentData():
            return "No members yet: enrol members and submit their KYC to see them here."
        return f"No {label} KYC records. New submissions appear here as they arrive."

    def _reselect(self, member_ids: list[str]) -> None:
        selection = QItemSelection()
        for member_id in member_ids:
            row = self.model.row_of(member_id)
            if row is not None:
                last = self.model.columnCount() - 1
                selection.select(self.model.index(row, 0), self.model.index(row, last))
        flags = (
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows
        )
        self.table.selectionModel().select(selection, flags)

    # -- selection and documents ----------------------------------------------------

    def selected_ids(self) -> list[str]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.model.row(r).member_id for r in rows]

    def select_members(self, member_ids: list[str]) -> None:
        self._reselect(member_ids)

    def _selection_changed(self) -> None:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        ids = [self.model.row(r).member_id for r in rows]
        decidable = bool(rows) and all(self.model.row(r).status == "pending" for r in rows)
        self.approve_button.setEnabled(decidable)
        self.reject_button.setEnabled(decidable)
        current = ids[0] if len(ids) == 1 else None
        if current is None:
            self._shown_member = None
            self.pane.show_message(
                f"{len(ids)} records selected. Select one to see its documents."
                if ids
                else "Select a KYC record to see its documents."
            )
        elif current != self._shown_member:
            self._shown_member = current
            self.pane.show_message("Checking the documents…")
            self.documents.request()

    def _fetch_documents(self) -> Callable[[], Loaded]:
        member, kyc = self._shown_member or "", self.kyc

        def fetch() -> Loaded:
            if not member or kyc.find(member) is None:
                return member, None, []
            return (member, *load_documents(kyc, member))

        return fetch

    def _show_documents(self, loaded: Loaded) -> None:
        member, record, items = loaded
        if member != self._shown_member:
            self.documents.request()
        elif record is None:
            self.pane.show_message("This member has not submitted KYC yet.")
        else:
            self.pane.show_record(record, items)

    # -- decisions -------------------------------------------------------------------

    def approve_selected(self) -> None:
        ids = self.selected_ids()
        worker.run(lambda: self.kyc.approve(self.actor, ids), self._decided, parent=self)

    def ask_reject(self) -> None:
        reason = ReasonDialog.ask(
            "Reject KYC",
            f"Reject {len(self.selected_ids())} KYC record(s)? The member sees the reason.",
            required=True,
            placeholder="e.g. PAN photo is blurred",
            parent=self,
        )
        if reason is not None:
            self.reject_selected(reason)

    def reject_selected(self, reason: str) -> None:
        ids = self.selected_ids()
        worker.run(lambda: self.kyc.reject(self.actor, ids, reason), self._decided, parent=self)

    def _decided(self, records: list[KycRecord]) -> None:
        self._shown_member = None
        self.refresh()
