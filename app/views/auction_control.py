"""Auction control: open and close a group's auction, watch its bids live.

Pick a running group; *Open* starts the auction for its next period (this desktop
then holds the group's auction session; a session held elsewhere is named). While it
runs the view shows the countdown, the published commitment (sha256 of the lot's
seed) and every bid as it arrives (alias, discount, time), from any process. *Close*
settles the period and shows the winner, discount, prize, the revealed seed and the
result of recomputing the lot from it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.kernel import office_time
from app.services.actors import Actor
from app.services.auctions import OPEN, Bid, Closed, LotCheck, Room
from app.services.groups import RUNNING, Group
from app.services.money import format_inr
from app.services.registry import Services
from app.views.live import LiveReadModel
from app.views.table import Column, RowsModel
from app.views.worker import run


def ask_reason(parent: QWidget, title: str, label: str) -> str | None:
    text, ok = QInputDialog.getText(parent, title, label)
    return text if ok else None


def ask_present(parent: QWidget, subscribers: list[tuple[str, str]]) -> list[str] | None:
    """Which subscribers attended (besides the bidders); None when cancelled."""
    dialog = QDialog(parent)
    dialog.setWindowTitle("Close the auction")
    choices = QListWidget()
    for member_id, name in subscribers:
        item = QListWidgetItem(name)
        item.setData(Qt.ItemDataRole.UserRole, member_id)
        item.setCheckState(Qt.CheckState.Unchecked)
        choices.addItem(item)
    buttons = QDialogButtonBox(
        QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
    )
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(QLabel("Subscribers present (bidders count as present):"))
    layout.addWidget(choices)
    layout.addWidget(buttons)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    items = [choices.item(i) for i in range(choices.count())]
    return [
        str(i.data(Qt.ItemDataRole.UserRole))
        for i in items
        if i.checkState() == Qt.CheckState.Checked
    ]


def countdown(seconds: float) -> str:
    whole = int(seconds + 0.999)
    hours, rest = divmod(whole, 3600)
    return (
        f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
        if hours
        else f"{rest // 60:02d}:{rest % 60:02d}"
    )


def _hash_field() -> QLineEdit:
    """A long hex value, read-only and selectable whole; it scrolls rather than making
    the window wider."""
    field = QLineEdit("–")
    field.setReadOnly(True)
    field.setFrame(False)
    field.setStyleSheet("font-family: monospace; background: transparent;")
    field.setMinimumWidth(120)
    return field


def _show_hash(field: QLineEdit, text: str) -> None:
    field.setText(text)
    field.setCursorPosition(0)  # show its start


def _bid_time(bid: Bid) -> str:
    return office_time.time_of_day(bid.at)


def _on_behalf(bid: Bid) -> str | None:
    return "Entered by staff on the member's behalf" if bid.on_behalf else None


class BidsModel(RowsModel[Bid]):
    """The bids of one auction, newest first."""

    columns = (
        Column[Bid]("#", lambda b: str(b.n), tip=_on_behalf),
        Column[Bid](
            "Bidder", lambda b: b.alias + (" (by staff)" if b.on_behalf else ""), tip=_on_behalf
        ),
        Column[Bid]("Discount", lambda b: format_inr(b.discount), right=True, tip=_on_behalf),
        Column[Bid]("Time", _bid_time, tip=_on_behalf),
    )

    def set_bids(self, bids: list[Bid]) -> None:
        self.set_rows(sorted(bids, key=lambda b: -b.n))


class AuctionControlView(QWidget):
    """Open, watch and close a group's auction."""

    title = "Auctions"

    def __init__(self, services: Services, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.actor = actor
        self.state: Room | None = None
        self.groups = QComboBox()
        self.groups.setMinimumWidth(260)
        self.duration = QSpinBox()
        self.duration.setRange(1, 24 * 60)
        self.duration.setValue(10)
        self.duration.setSuffix(" min")
        self.open_button = QPushButton("Open auction")
        self.open_button.setProperty("accent", True)
        self.close_button = QPushButton("Close auction")
        self.period = QLabel()
        self.session = QLabel()
        self.session.setWordWrap(True)
        self.clock = QLabel("–")
        self.clock.setStyleSheet("font-size: 28pt; font-weight: 600;")
        self.clock.setProperty("duration", True)  # a countdown, not a time of day
        self.best = QLabel()
        self.seed_hash = _hash_field()
        self.seed = _hash_field()
        self.result = QLabel("No auction closed yet.")
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result.setWordWrap(True)
        self.result.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.bids = BidsModel(self)
        self.table = QTableView()
        self.table.setModel(self.bids)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.resizeSection(0, 50)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setMinimumWidth(420)
        self._build_layout()
        self.open_button.clicked.connect(self.open_auction)
        self.close_button.clicked.connect(self.close_auction)
        self.timer = QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self._tick)
        self.timer.start()
        self._show_state()
        self.room = LiveReadModel(
            services.topics,
            services.auctions.room,
            self._on_loaded,
            self,
            args=self._room_args,
            debounce_ms=100,
        )
        self.running = LiveReadModel(
            services.topics,
            services.groups.list_groups,
            self._show_groups,
            self,
            args=lambda: (RUNNING,),
            debounce_ms=500,
        )
        self.groups.currentIndexChanged.connect(lambda _: self.refresh())

    def _build_layout(self) -> None:
        heading = QLabel("Auction control")
        heading.setObjectName("heading")
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Group"))
        controls.addWidget(self.groups)
        controls.addWidget(QLabel("Duration"))
        controls.addWidget(self.duration)
        controls.addWidget(self.open_button)
        controls.addWidget(self.close_button)
        controls.addStretch(1)
        room = QGroupBox("Auction")
        form = QFormLayout(room)
        form.addRow("Period", self.period)
        form.addRow("Session", self.session)
        form.addRow("Time left", self.clock)
        form.addRow("Best bid", self.best)
        form.addRow("Seed commitment (sha256)", self.seed_hash)
        outcome = QGroupBox("Result")
        result = QVBoxLayout(outcome)
        result.addWidget(self.result)
        seed = QFormLayout()
        seed.addRow("Seed (revealed)", self.seed)
        result.addLayout(seed)
        result.addStretch(1)
        left = QVBoxLayout()
        left.addWidget(room)
        left.addWidget(outcome, 1)
        body = QHBoxLayout()
        body.addLayout(left, 1)
        body.addWidget(self.table, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addLayout(controls)
        layout.addLayout(body, 1)

    # -- loading -------------------------------------------------------------------------

    def _show_groups(self, groups: list[Group]) -> None:
        """List the running groups, keeping the one chosen; at first the one whose
        auction can be opened today (else the first)."""
        current = self.groups.currentData() or next(
            (g.id for g in groups if self.services.auctions.can_open(g)), None
        )
        self.groups.blockSignals(True)
        self.groups.clear()
        for g in groups:
            self.groups.addItem(f"{g.name} ({format_inr(g.agreement.gross_paise)})", g.id)
        index = self.groups.findData(current) if current else 0
        self.groups.setCurrentIndex(max(index, 0))
        self.groups.blockSignals(False)
        self.refresh()

    def group_id(self) -> str | None:
        data = self.groups.currentData()
        return str(data) if data else None

    def refresh(self) -> None:
        self.room.refresh()

    def _room_args(self) -> tuple[str] | None:
        gid = self.group_id()
        return (gid,) if gid else None

    def _on_loaded(self, state: Room | None) -> None:
        if state is None and self.group_id() is None:
            self.state = None
            self._show_state()
        elif state is not None and state.group.id == self.group_id():
            self.state = state
            self._show_state()

    # -- showing -------------------------------------------------------------------------

    def _show_state(self) -> None:
        s = self.state
        self.open_button.setEnabled(
            s is not None and not s.is_open and s.group.next_period is not None
        )
        self.close_button.setEnabled(s is not None and s.is_open)
        if s is None:
            self.period.setText("No running group.")
            self.session.setText("–")
            self.bids.set_bids([])
            return
        nxt = s.group.next_period
        planned = ""
        if nxt and not s.is_open:
            planned = f"next: period {nxt}, scheduled {office_time.day(s.group.next_auction_date)}"
        shown = f"Period {s.auction.period} ({s.auction.status})" if s.auction else "No auction yet"
        self.period.setText(f"{shown}; {planned}" if planned else shown)
        self.session.setText(f"held by {s.holder}" if s.holder else "not running")
        _show_hash(self.seed_hash, s.auction.seed_hash if s.auction else "–")
        _show_hash(self.seed, (s.auction.seed or "–") if s.auction else "–")
        self.bids.set_bids(s.bids)
        a = s.auction
        if a is not None and a.best_discount is not None:
            self.best.setText(
                f"{format_inr(a.best_discount)} by {a.best_alias} ({a.bids_count} bids)"
            )
        else:
            self.best.setText("no bids yet")
        self.result.setText(self._result_text(s))
        self._tick()

    def _result_text(self, s: Room) -> str:
        a = s.auction
        if a is None or s.minutes is None:
            return "The result shows here when the auction closes."
        m = s.minutes
        lines = [
            f"<b>Winner:</b> {a.winner_alias or a.winner_member_id} ({m.get('decided_by', '')})",
            f"<b>Discount:</b> {format_inr(int(m['discount']))}",
            f"<b>Prize:</b> {format_inr(int(m['prize']))}",
        ]
        if s.lot is not None:
            lines.append(f"<b>Verify lot:</b> {self._lot_text(s.lot)}")
        return "<br>".join(lines)

    @staticmethod
    def _lot_text(lot: LotCheck) -> str:
        if not lot.seed_matches:
            return (
                "<span style='color:#b3261e'>FAILED: the seed does not match its commitment</span>"
            )
        if not lot.used_lot:
            return "seed matches its commitment; no lot was needed"
        if lot.ok:
            n = len(lot.candidates)
            who = lot.recomputed_winner
            return f"verified: the seed matches and the lot among {n} names gives {who}"
        return "<span style='color:#b3261e'>FAILED: the recomputed lot names someone else</span>"

    def _tick(self) -> None:
        a = self.state.auction if self.state else None
        if a is None or a.status != OPEN:
            self.clock.setText("–" if a is None else "closed")
            return
        left = a.seconds_left(self.services.clock.now())
        self.clock.setText(countdown(left) if left > 0 else "ended: close it")

    # -- actions -------------------------------------------------------------------------

    def open_auction(self) -> None:
        s = self.state
        if s is None or s.group.next_period is None:
            return
        gid, period, seconds = s.group.id, s.group.next_period, self.duration.value() * 60
        auctions = self.services.auctions
        run(
            lambda: auctions.open_auction(self.actor, gid, period, seconds),
            lambda _: self.refresh(),
            parent=self,
        )

    def close_auction(self) -> None:
        s = self.state
        if s is None or s.auction is None or not s.is_open:
            return
        force = ""
        if s.auction.seconds_left(self.services.clock.now()) > 0:
            answer = ask_reason(
                self, "Close early", "The auction is still running. Why close it now?"
            )
            if answer is None:
                return
            force = answer.strip() or "closed early"
        present = ask_present(self, s.subscribers)
        if present is None:
            return
        aid, auctions = s.auction.id, self.services.auctions
        run(
            lambda: auctions.close_auction(self.actor, aid, present, force),
            self._on_closed,
            parent=self,
        )

    def _on_closed(self, closed: Closed) -> None:
        self.refresh()

    def shutdown(self) -> None:
        self.timer.stop()
        self.room.close()
        self.running.close()
