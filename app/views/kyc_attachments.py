"""Documents attached on the KYC capture page: dropped or picked files, each shown with
its SHA-256 and a preview (the image, or a PDF's first page).

Reading, checking, hashing and rendering happen off the GUI thread, one file after
another on the panel's own lane; the service decides what is accepted
(:meth:`KycService.read_document`) and every refusal names the file and why. What is
shown is exactly what will be submitted: the bytes read are kept with their hash.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.services.kyc import Checked, DocumentRefused, KycService
from app.services.kyc import pdf as kyc_pdf
from app.services.kyc.documents import ACCEPTED, MAX_DOCUMENT_BYTES, MAX_DOCUMENTS
from app.views import worker
from app.views.formatting import BAD, MUTED, file_size

PREVIEW_WIDTH = 220
_TYPE_NAMES = {"application/pdf": "PDF", "image/jpeg": "JPEG image", "image/png": "PNG image"}
_LIMIT = f"{ACCEPTED}, at most {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB each"
_ZONE = "QFrame#dropZone {{ border: 2px dashed {}; border-radius: 6px; background: {}; }}"


@dataclass(frozen=True)
class Attached:
    """A document ready to submit: the checked bytes and their preview."""

    document: Checked
    preview: QImage | None


def preview(doc: Checked, width: int = PREVIEW_WIDTH) -> QImage | None:
    """A ``width``-pixel-wide picture of the image, or of the PDF's first page."""
    if doc.content_type == "application/pdf":
        page = kyc_pdf.first_page(doc.data, width)
        rgbx = QImage.Format.Format_RGBX8888
        image = QImage(page.pixels, page.width, page.height, page.stride, rgbx)
        return image.copy()  # own the pixels: the buffer above is borrowed
    image = QImage.fromData(doc.data)
    if image.isNull():
        return None
    smooth = Qt.TransformationMode.SmoothTransformation
    return image.scaledToWidth(min(width, image.width()), smooth)


def grouped(sha256: str) -> str:
    """``1a2b3c4d5e6f…`` in groups of eight, so the eye can compare it (and it wraps)."""
    return " ".join(sha256[i : i + 8] for i in range(0, len(sha256), 8))


def load(kyc: KycService, path: Path) -> Attached:
    """Read, check and preview one file (off the GUI thread)."""
    doc = kyc.read_document(path)
    return Attached(doc, preview(doc))


class DocumentCard(QFrame):
    """One attached document: preview, name, type and size, SHA-256, Remove."""

    def __init__(self, item: Attached, on_remove: Callable[[DocumentCard], None]) -> None:
        super().__init__()
        self.setObjectName("documentCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.item = item
        doc = item.document
        self.picture = QLabel()
        self.picture.setFixedWidth(PREVIEW_WIDTH)
        self.picture.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter)
        if item.preview is not None:
            self.picture.setPixmap(QPixmap.fromImage(item.preview))
        else:
            self.picture.setText("No preview")
        kind = _TYPE_NAMES.get(doc.content_type, doc.content_type)
        title = QLabel(f"<b>{html.escape(doc.name)}</b><br>{kind} · {file_size(doc.size)}")
        title.setWordWrap(True)
        self.sha = QLabel(f"SHA-256<br><tt>{grouped(doc.sha256)}</tt>")
        self.sha.setWordWrap(True)
        self.sha.setToolTip(doc.sha256)
        self.sha.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.remove = QPushButton("Remove")
        self.remove.setToolTip(f"Do not submit {doc.name}")
        self.remove.clicked.connect(lambda: on_remove(self))
        details = QVBoxLayout()
        for widget in (title, self.sha):
            details.addWidget(widget)
        details.addStretch(1)
        details.addWidget(self.remove, 0, Qt.AlignmentFlag.AlignLeft)
        row = QHBoxLayout(self)
        row.addWidget(self.picture)
        row.addLayout(details, 1)


class AttachmentsPanel(QWidget):
    """The drop zone, the Add files… button, the refusals and the attached documents."""

    changed = Signal()

    def __init__(self, kyc: KycService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kyc = kyc
        self.cards: list[DocumentCard] = []
        self.refusals: list[str] = []
        self._loading = 0
        self._lane = worker.lane("tfos-kyc-documents")
        self._build()

    def _build(self) -> None:
        self.zone = QFrame()
        self.zone.setObjectName("dropZone")
        self.add_button = QPushButton("Add files…")
        self.add_button.clicked.connect(self.choose_files)
        hint = QLabel(f"Drop documents here, or add them: {_LIMIT}.")
        hint.setWordWrap(True)
        zone_row = QHBoxLayout(self.zone)
        zone_row.addWidget(hint, 1)
        zone_row.addWidget(self.add_button)
        self.highlight(False)
        self.problems = QLabel()
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet(f"color: {BAD.name()};")
        self.problems.hide()
        self.status = QLabel()
        self.status.setStyleSheet(f"color: {MUTED.name()};")
        self.list = QVBoxLayout()
        body = QWidget()
        column = QVBoxLayout(body)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(self.list)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        scroll.setWidget(body)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.zone, self.problems, self.status):
            layout.addWidget(widget)
        layout.addWidget(scroll, 1)
        self._show_status()

    # -- what is attached ---------------------------------------------------------------

    def documents(self) -> list[Checked]:
        return [card.item.document for card in self.cards]

    @property
    def busy(self) -> bool:
        return self._loading > 0

    def clear(self) -> None:
        for card in self.cards:
            card.deleteLater()
        self.cards = []
        self.show_problems([])
        self._show_status()
        self.changed.emit()

    def shutdown(self) -> None:
        self._lane.shutdown(wait=False, cancel_futures=True)

    # -- adding ------------------------------------------------------------------------

    def choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(
            self,
            "Attach KYC documents",
            "",
            "Documents (*.pdf *.jpg *.jpeg *.png);;All files (*)",
        )
        self.attach_paths([Path(p) for p in paths])

    def attach_urls(self, urls: Sequence[QUrl]) -> None:
        local = [Path(u.toLocalFile()) for u in urls if u.isLocalFile()]
        others = [u.toDisplayString() for u in urls if not u.isLocalFile()]
        self.show_problems([f"{u} is not a file on this computer" for u in others])
        self.attach_paths(local, keep_problems=True)

    def attach_paths(self, paths: Sequence[Path], *, keep_problems: bool = False) -> None:
        """Read, check and preview ``paths`` off the GUI thread; each arrives in turn."""
        if not keep_problems:
            self.show_problems([])
        if not paths:
            return
        kyc = self.kyc

        def each(send: worker.Send) -> None:
            for path in paths:
                try:
                    send(load(kyc, path), "")
                except DocumentRefused as exc:  # its hint is the drop zone's own text
                    send(None, exc.message)

        self._load(each)

    def attach_stored(self, member_id: str) -> None:
        """Attach again the documents of ``member_id``'s last submission (off the GUI
        thread); those that cannot be are listed as not attached."""
        kyc = self.kyc

        def each(send: worker.Send) -> None:
            found, problems = kyc.previous_documents(member_id)
            for problem in problems:
                send(None, problem)
            for doc in found:
                send(Attached(doc, preview(doc)), "")

        self._load(each)

    def _load(self, each: Callable[[worker.Send], None]) -> None:
        """Run ``each`` on the lane: it sends ``(Attached, "")`` or ``(None, refusal)``
        for every document; ``(None, None)`` then says the batch is over."""
        self._loading += 1
        self._show_status()

        def job(send: worker.Send) -> None:
            each(send)
            send(None, None)

        worker.stream(job, self._arrived, parent=self, on_error=self._failed, executor=self._lane)

    def _arrived(self, item: Attached | None, refusal: str | None) -> None:
        if refusal is None:  # the batch is over
            self._loading -= 1
            self._show_status()
        elif item is None:
            self.show_problems([*self.refusals, refusal])
        else:
            self._add(item)

    def _failed(self, exc: BaseException) -> None:
        self._loading -= 1
        self._show_status()
        worker.show_error(self, exc)

    def _add(self, item: Attached) -> None:
        doc = item.document
        same = next((c for c in self.cards if c.item.document.sha256 == doc.sha256), None)
        if same is not None:
            name = same.item.document.name
            self.show_problems([*self.refusals, f"{doc.name} is already attached as {name}."])
            return
        if len(self.cards) >= MAX_DOCUMENTS:
            self.show_problems(
                [*self.refusals, f"{doc.name}: at most {MAX_DOCUMENTS} documents; remove one."]
            )
            return
        card = DocumentCard(item, self._remove)
        self.list.addWidget(card)
        QWidget.setTabOrder(self.cards[-1].remove if self.cards else self.add_button, card.remove)
        self.cards.append(card)
        self._show_status()
        self.changed.emit()

    def _remove(self, card: DocumentCard) -> None:
        self.cards.remove(card)
        card.deleteLater()
        self._show_status()
        self.changed.emit()

    # -- showing -----------------------------------------------------------------------

    def show_problems(self, problems: list[str]) -> None:
        self.refusals = problems
        lines = "<br>".join(html.escape(p) for p in problems)
        self.problems.setText(f"<b>Not attached</b><br>{lines}" if problems else "")
        self.problems.setVisible(bool(problems))

    def highlight(self, on: bool) -> None:
        colour, background = ("#2f7de1", "#eaf2fd") if on else ("#c3cad6", "#f8f9fb")
        self.zone.setStyleSheet(_ZONE.format(colour, background))

    def _show_status(self) -> None:
        count = len(self.cards)
        text = f"{count} document{'s' if count != 1 else ''} attached"
        if self._loading:
            text += " · checking and hashing…"
        self.status.setText(text if count or self._loading else "No documents attached yet.")

    # -- drag and drop (the page forwards its drag events here) ----------------------------

    def drag_enter(self, event: QDragEnterEvent) -> None:
        if self.isEnabled() and event.mimeData().hasUrls():
            event.acceptProposedAction()
            self.highlight(True)
        else:
            event.ignore()

    def drop(self, event: QDropEvent) -> None:
        self.highlight(False)
        if not self.isEnabled() or not event.mimeData().hasUrls():
            event.ignore()
            return
        event.acceptProposedAction()
        self.attach_urls(event.mimeData().urls())
