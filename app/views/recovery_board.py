"""The recovery board: a Kanban of recovery cases, one column per stage.

Drag a card to another column to move its case; every move asks for a note, and the
service decides whether the move is allowed (an illegal move is refused with its
reason and the card goes back). Dropping a *legal* case on *written off* asks for the
write-off in two steps: an admin's request first (shown on the card), then a different
person's approval. The board redraws itself when any case changes, from any process.
"""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import QMimeData, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QDrag, QDragEnterEvent, QDragMoveEvent, QDropEvent, QMouseEvent
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.kernel.errors import KnownError
from app.services.actors import Actor
from app.services.money import format_inr
from app.services.recovery import STAGES, Board, Card
from app.services.registry import Services
from app.views.formatting import day
from app.views.live import LiveReadModel
from app.views.worker import run, show_error

MIME_TYPE = "application/x-tfos-recovery-case"
STAGE_TITLES = {
    "missed": "Missed",
    "contacted": "Contacted",
    "notice": "Notice",
    "follow_up": "Follow-up",
    "legal": "Legal",
    "resolved": "Resolved",
    "written_off": "Written off",
}
STYLE = """
QFrame#stageColumn { background: #eef1f6; border-radius: 6px; }
QFrame#stageColumn[dropTarget="true"] { background: #d6e6fb; }
QLabel#columnTitle { font-weight: 600; padding: 4px 2px 0 2px; }
QLabel#columnTotal { color: #5a6578; font-size: 8pt; padding: 0 2px 4px 2px; }
QFrame#caseCard { background: white; border: 1px solid #d5dae3; border-radius: 5px; }
QFrame#caseCard[pending="true"] { border: 1px solid #d98b1f; }
QFrame#caseCard:hover { border-color: #2f7de1; }
QLabel#cardMember { font-weight: 600; }
QLabel#cardAmount { color: #b3261e; font-weight: 600; }
QLabel#cardCleared { color: #2e7d32; font-weight: 600; }
QLabel#cardLost { color: #5a6578; font-weight: 600; }
QLabel#cardMeta, QLabel#cardDue { color: #5a6578; font-size: 8pt; }
QLabel#cardPending { color: #9a5b00; font-size: 8pt; }
QLabel#boardMessage { background: #fdecea; color: #8c1d18; padding: 6px 10px;
                      border-radius: 4px; }
"""


def ask_note(parent: QWidget, title: str, label: str) -> str | None:
    """Ask for the note a move needs; None when the user cancels."""
    text, ok = QInputDialog.getMultiLineText(parent, title, label)
    return text if ok else None


def card_lines(card: Card) -> dict[str, str]:
    """What a card shows, by part (each part's label is named ``card<Part>``)."""
    source = f"loan\u00a0{card.subject or card.ref}" if card.source == "loan" else "chit dues"
    if card.closed is not None:
        return _closed_lines(card, source)
    days = "day" if card.days_late == 1 else "days"
    lines = {
        "member": card.member_name or card.member_id,
        "amount": format_inr(card.overdue),
        "meta": f"{card.days_late} {days} late · {card.bucket} · {source}",
        "due": f"{card.next_due[0]} {day(card.next_due[1])}" if card.next_due else "",
        "pending": "",
    }
    if card.awaiting_write_off:
        lines["pending"] = (
            f"Write-off requested by {card.write_off_requested_by}; awaiting approval"
        )
    return lines


def _closed_lines(card: Card, source: str) -> dict[str, str]:
    """A closed case says how it ended, not how late it was: a resolved one that
    nothing is overdue, a written-off one the amount lost."""
    assert card.closed is not None
    when, who = day(card.closed.at), card.closed.by
    if card.stage == "written_off":
        return {
            "member": card.member_name or card.member_id,
            "lost": f"{format_inr(card.overdue)} written off",
            "meta": f"Written off {when} by {who} · {source}",
        }
    return {
        "member": card.member_name or card.member_id,
        "cleared": "Nothing overdue",
        "meta": f"Resolved {when} · {source}",
    }


def card_tip(card: Card) -> str:
    tip = f"Case {card.case_id} · {card.source} {card.subject or card.ref}"
    if card.closed is None:
        return tip
    return f"{tip}\nClosed by {card.closed.by}: {card.closed.note}"


class CaseCard(QFrame):
    """One case; drag it to another column to move it."""

    def __init__(self, card: Card, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.card = card
        self._press: QPoint | None = None
        self.setObjectName("caseCard")
        self.setProperty("pending", card.awaiting_write_off)
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(2)
        for part, text in card_lines(card).items():
            if text:
                label = QLabel(text)
                label.setObjectName("card" + part.capitalize())
                label.setWordWrap(True)
                layout.addWidget(label)
        self.setToolTip(card_tip(card))

    @property
    def case_id(self) -> str:
        return self.card.case_id

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = event.position().toPoint()
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._press is None or not event.buttons() & Qt.MouseButton.LeftButton:
            return
        moved = (event.position().toPoint() - self._press).manhattanLength()
        if moved < QApplication.startDragDistance():
            return
        self._press = None
        drag = QDrag(self)
        drag.setMimeData(case_mime(self.case_id))
        drag.setPixmap(self.grab())
        drag.setHotSpot(event.position().toPoint())
        drag.exec(Qt.DropAction.MoveAction)


def case_mime(case_id: str) -> QMimeData:
    """The drag payload: the case id under :data:`MIME_TYPE`."""
    mime = QMimeData()
    mime.setData(MIME_TYPE, case_id.encode("utf-8"))
    return mime


class StageColumn(QFrame):
    """A stage's column; emits ``dropped(case_id, stage)`` when a card lands on it."""

    dropped = Signal(str, str)

    def __init__(self, stage: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.stage = stage
        self.setObjectName("stageColumn")
        self.setAcceptDrops(True)
        self.title = QLabel(STAGE_TITLES[stage])
        self.title.setObjectName("columnTitle")
        self.total = QLabel()
        self.total.setObjectName("columnTotal")
        self.body = QWidget()
        self.cards_layout = QVBoxLayout(self.body)
        self.cards_layout.setContentsMargins(4, 0, 4, 4)
        self.cards_layout.setSpacing(6)
        self.cards_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.body)
        scroll.viewport().setAutoFillBackground(False)
        self.body.setAutoFillBackground(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(0)
        layout.addWidget(self.title)
        layout.addWidget(self.total)
        layout.addWidget(scroll, 1)

    def cards(self) -> list[CaseCard]:
        items = (self.cards_layout.itemAt(i) for i in range(self.cards_layout.count()))
        return [w for item in items if item and isinstance(w := item.widget(), CaseCard)]

    def case_ids(self) -> list[str]:
        return [c.case_id for c in self.cards()]

    def set_cards(self, cards: list[Card]) -> None:
        for old in self.cards():
            old.setParent(None)
            old.deleteLater()
        for card in cards:
            self.add_card(CaseCard(card))
        self.show_totals()

    def add_card(self, widget: CaseCard) -> None:
        self.cards_layout.insertWidget(self.cards_layout.count() - 1, widget)
        self.show_totals()

    def take_card(self, case_id: str) -> CaseCard | None:
        for widget in self.cards():
            if widget.case_id == case_id:
                self.cards_layout.removeWidget(widget)
                self.show_totals()
                return widget
        return None

    def show_totals(self) -> None:
        cards = self.cards()
        total = sum(c.card.overdue for c in cards)
        if not cards:
            self.total.setText("empty")
        elif self.stage == "resolved":
            self.total.setText(f"{len(cards)} · nothing overdue")
        elif self.stage == "written_off":
            self.total.setText(f"{len(cards)} · {format_inr(total)} written off")
        else:
            self.total.setText(f"{len(cards)} · {format_inr(total)}")

    def _highlight(self, on: bool) -> None:
        self.setProperty("dropTarget", on)
        self.style().unpolish(self)
        self.style().polish(self)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasFormat(MIME_TYPE):
            self._highlight(True)
            event.acceptProposedAction()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if event.mimeData().hasFormat(MIME_TYPE):
            event.acceptProposedAction()

    def dragLeaveEvent(self, event: object) -> None:
        self._highlight(False)

    def dropEvent(self, event: QDropEvent) -> None:
        self._highlight(False)
        mime = event.mimeData()
        if not mime.hasFormat(MIME_TYPE):
            event.ignore()
            return
        case_id = bytes(mime.data(MIME_TYPE).data()).decode("utf-8")
        event.setDropAction(Qt.DropAction.MoveAction)
        event.accept()
        self.dropped.emit(case_id, self.stage)


class RecoveryBoardView(QWidget):
    """Recovery cases by stage, live; drag a card to move its case."""

    title = "Recovery"

    def __init__(self, services: Services, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.recovery = services.recovery
        self.actor = actor
        self.board: Board | None = None
        self.setStyleSheet(STYLE)
        heading = QLabel("Recovery board")
        heading.setObjectName("heading")
        self.summary = QLabel()
        self.message = QLabel()
        self.message.setObjectName("boardMessage")
        self.message.setWordWrap(True)
        self.message.hide()
        self.columns = {stage.value: StageColumn(stage.value) for stage in STAGES}
        row = QHBoxLayout()
        row.setSpacing(6)
        for column in self.columns.values():
            column.dropped.connect(self._on_dropped)
            row.addWidget(column, 1)
        top = QHBoxLayout()
        top.addWidget(heading)
        top.addStretch(1)
        top.addWidget(self.summary)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.message)
        layout.addLayout(row, 1)
        self.live = LiveReadModel(services.topics, self.recovery.board, self._show, self)

    def refresh(self) -> None:
        self.live.refresh()

    def _show(self, board: Board) -> None:
        self.board = board
        for stage, column in self.columns.items():
            column.set_cards(board.columns.get(stage, []))
        open_cases = sum(len(board.columns[s.value]) for s in STAGES[:5])
        self.summary.setText(f"{open_cases} open cases · as of {day(board.as_of)}")

    def column_of(self, case_id: str) -> str | None:
        for stage, column in self.columns.items():
            if case_id in column.case_ids():
                return stage
        return None

    def _on_dropped(self, case_id: str, stage: str) -> None:
        source = self.column_of(case_id)
        if source is None or source == stage:
            return
        QTimer.singleShot(0, partial(self.move_case, case_id, source, stage))

    def move_case(self, case_id: str, source: str, target: str) -> None:
        """Ask for the note, show the card in ``target`` and ask the service to move it."""
        card = self._card(case_id)
        if card is None:
            return
        request = card.requests_write_off(target)
        what = "request a write-off (a second person approves)" if request else STAGE_TITLES[target]
        note = ask_note(self, "Move recovery case", f"{card.member_name}: {what}.\nWhy?")
        if note is None:
            return
        self.message.hide()
        if not request:
            widget = self.columns[source].take_card(case_id)
            if widget is not None:
                self.columns[target].add_card(widget)
        run(
            partial(self.recovery.drop, self.actor, case_id, target, note),
            lambda _: self.refresh(),
            parent=self,
            on_error=self._refused,
        )

    def _card(self, case_id: str) -> Card | None:
        stage = self.column_of(case_id)
        if stage is None:
            return None
        return next(w.card for w in self.columns[stage].cards() if w.case_id == case_id)

    def _refused(self, exc: BaseException) -> None:
        self.refresh()
        if isinstance(exc, KnownError):
            self.message.setText(f"Not moved: {exc}")
            self.message.show()
        else:
            show_error(self, exc)

    def shutdown(self) -> None:
        self.live.close()
