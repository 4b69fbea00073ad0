"""Prize payouts: each prize with its statutory clock, the winner's security, the
maker-checker release through the Banker's gate and advances of company cash.

The table lists the prizes (awaiting payout first, soonest deadline first) with the
days left in amber and overdue days in red, as the payouts service works them out.
The pane below shows one prize: its clock and the rule that set it, the security
against what the future instalments require, what the Banker's gate would say about
releasing it now (or about advancing the pool's shortfall from company cash), with the
pool and commitment named, and what was decided already. Every action runs in the
service off the GUI thread; a refusal is shown in the pane, in the service's words.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.kernel.errors import KnownError
from app.services.actors import Actor
from app.services.payouts import SHOWS, PayoutBoard, PayoutDetail, PayoutRow
from app.services.registry import Services
from app.views import worker
from app.views.formatting import BAD, ReasonDialog, Reloader, inr, safe_sequence
from app.views.live import LiveReadModel
from app.views.payout_dialogs import ReleaseDialog, SecurityDialog
from app.views.payout_pane import PayoutPane, clock_colour, pool_cell, pool_text
from app.views.table import Column, RowsModel


class PayoutsModel(RowsModel[PayoutRow]):
    columns = (
        Column[PayoutRow](
            "Due by", lambda r: f"{r.clock.deadline:%d %b %Y}", lambda r: r.clock.deadline
        ),
        Column[PayoutRow](
            "Clock",
            lambda r: r.clock.text,
            lambda r: r.clock.days_left,
            colour=clock_colour,
            bold=True,
            tip=lambda r: f"Deadline: {r.clock.rule}",
        ),
        Column[PayoutRow]("Group", lambda r: r.group_name, tip=lambda r: r.group_name),
        Column[PayoutRow]("Period", lambda r: str(r.period), lambda r: r.period, right=True),
        Column[PayoutRow]("Winner", lambda r: r.winner, tip=lambda r: r.winner),
        Column[PayoutRow]("To pay", lambda r: inr(r.to_pay), lambda r: r.to_pay, right=True),
        Column[PayoutRow](
            "Pool",
            pool_cell,
            lambda r: r.shortfall or 0,
            right=True,
            colour=lambda r: BAD if r.shortfall else None,
            tip=pool_text,
        ),
        Column[PayoutRow](
            "Next step", lambda r: r.next_step, tip=lambda r: f"{r.security}. {r.next_step}"
        ),
    )


class PayoutsView(QWidget):
    """Prizes awaiting payout (or released), with their clocks; refreshed live."""

    name = "payouts"
    title = "Prize payouts"

    def __init__(self, services: Services, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actor = actor
        self.payouts = services.payouts
        self.gate = services.gate
        self.current: str | None = None
        self.model = PayoutsModel(self)
        self._build()
        self.details = Reloader(self._fetch_detail, self._show_detail, self)
        self.live = LiveReadModel(
            services.topics, self.payouts.board, self._show_board, self,
            args=lambda: (self.which.currentData(),),
        )  # fmt: skip
        self.live.loaded.connect(self._refresh_detail)

    def _build(self) -> None:
        heading = QLabel("Prize payouts")
        heading.setObjectName("heading")
        self.which = QComboBox()
        for key, label in SHOWS.items():
            self.which.addItem(label, key)
        self.summary = QLabel("")
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Show"))
        bar.addWidget(self.which)
        bar.addWidget(self.summary, 1)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        widths = (95, 125, 185, 60, 140, 115, 165)
        for column, width in enumerate(widths):
            self.table.setColumnWidth(column, width)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        self.empty = QLabel("")
        self.empty.setWordWrap(True)
        self.pane = PayoutPane()
        top = QWidget()
        stack = QVBoxLayout(top)
        stack.setContentsMargins(0, 0, 0, 0)
        stack.addWidget(self.table, 1)
        stack.addWidget(self.empty)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(self.pane)
        split.setSizes([300, 380])
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addLayout(bar)
        layout.addWidget(split, 1)
        self.which.currentIndexChanged.connect(self.refresh)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        for name, button in self.pane.buttons.items():
            button.clicked.connect(getattr(self, f"ask_{name}"))

    # -- loading ------------------------------------------------------------------------

    def refresh(self) -> None:
        self.live.refresh()

    def busy(self) -> bool:
        return self.live.busy or self.details.busy

    def shutdown(self) -> None:
        """Stop live updates (before the services close)."""
        self.live.close()
        self.details.stop()

    def _show_board(self, board: PayoutBoard) -> None:
        keep = self.current
        self.model.set_rows(board.rows)
        waiting = sum(1 for r in board.rows if r.status == "pending")
        overdue = f", {board.overdue} overdue" if board.overdue else ""
        self.summary.setText(
            f"{len(board.rows)} shown · {waiting} awaiting payout{overdue} · "
            f"company cash for advances {inr(board.company_cash)}"
        )
        self.empty.setVisible(not board.rows)
        self.empty.setText("No prizes here. A prize appears when its auction is closed.")
        if (keep is None or not self.select(keep)) and board.rows:
            self.select(board.rows[0].id)

    def select(self, payout_id: str) -> bool:
        """Select a prize's row (if shown); returns whether it was found."""
        for number, row in enumerate(self.model.rows()):
            if row.id == payout_id:
                flags = (
                    QItemSelectionModel.SelectionFlag.ClearAndSelect
                    | QItemSelectionModel.SelectionFlag.Rows
                )
                index = self.model.index(number, 0)
                self.table.selectionModel().select(index, flags)
                self.table.scrollTo(index)
                return True
        return False

    def _selection_changed(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        chosen = self.model.row(rows[0].row()).id if rows else None
        if chosen != self.current:
            self.current = chosen
            self.pane.show_outcome(None)
            self.details.request()

    def _refresh_detail(self) -> None:
        if self.current is not None:
            self.details.request()

    def _fetch_detail(self) -> Callable[[], PayoutDetail | None]:
        payout_id, payouts = self.current, self.payouts
        return lambda: payouts.detail(payout_id) if payout_id else None

    def _show_detail(self, detail: PayoutDetail | None) -> None:
        if detail is not None and detail.row.id != self.current:
            self.details.request()
            return
        self.pane.show_detail(detail, self.actor)

    # -- actions ------------------------------------------------------------------------

    def _do(self, call: Callable[[], Any], done: Callable[[Any], str]) -> None:
        """Run ``call`` in the service; show ``done(result)`` or the refusal."""
        worker.run(
            call,
            lambda result: self._finished(True, done(result)),
            parent=self,
            on_error=self._refused,
        )

    def _finished(self, granted: bool, text: str) -> None:
        self.pane.show_outcome(granted, text)
        self.refresh()

    def _refused(self, exc: BaseException) -> None:
        if not isinstance(exc, KnownError):
            worker.show_error(self, exc)
            return
        self._finished(False, f"Not done: {exc}")

    def _ask(self, title: str, prompt: str, *, required: bool) -> str | None:
        return ReasonDialog.ask(title, prompt, required=required, parent=self)

    def _target(self) -> str:
        return self.current or ""

    def ask_secure(self) -> None:
        detail = self.pane.detail
        if detail is None:
            return
        dialog = SecurityDialog(detail, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        amount = dialog.amount()
        if amount is not None:
            self.record_security(dialog.kind_name(), amount, dialog.description.text())

    def record_security(self, kind: str, amount: int, description: str) -> None:
        pid, actor = self._target(), self.actor
        self._do(
            lambda: self.payouts.record_security(
                actor, pid, amount, kind=kind, description=description
            ),
            lambda p: (
                f"Security recorded: {inr(p['security_held'])} of "
                f"{inr(p['security_required'])} required."
            ),
        )

    def ask_deduct(self) -> None:
        reason = self._ask(
            "Deduct future instalments",
            "The winner asks in writing to have the future instalments deducted from the "
            "prize. Reason:",
            required=True,
        )
        if reason is not None:
            self.deduct(reason)

    def deduct(self, reason: str) -> None:
        pid, actor = self._target(), self.actor
        self._do(
            lambda: self.payouts.deduct_future(actor, pid, reason),
            lambda p: f"Future instalments ({inr(p['future_instalments'])}) deducted.",
        )

    def ask_request(self) -> None:
        note = self._ask(
            "Ask for the release",
            "A second person releases the prize through the Banker's check. Note (optional):",
            required=False,
        )
        if note is not None:
            self.request_release(note)

    def request_release(self, note: str = "") -> None:
        pid, actor = self._target(), self.actor
        self._do(
            lambda: self.payouts.request_release(actor, pid, note=note),
            lambda _: "Release asked for: a second person releases it now.",
        )

    def ask_release(self) -> None:
        detail = self.pane.detail
        if detail is None:
            return
        dialog = ReleaseDialog(detail, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.release(dialog.bank_ref.text().strip(), dialog.text())

    def release(self, bank_ref: str = "", reason: str = "") -> None:
        pid, actor, payouts, gate = self._target(), self.actor, self.payouts, self.gate

        def release() -> str:
            r = payouts.release_payout(actor, pid, bank_ref=bank_ref or None, reason=reason)
            return (
                f"Released {inr(r.paid)}. Banker's check: granted, the pool stays safe. "
                f"{safe_sequence(gate.named(r.sequence))}."
            )

        self._do(release, str)

    def ask_propose(self) -> None:
        reason = self._ask(
            "Propose an advance",
            "Advance the pool's shortfall from company cash, so the prize is paid on time; "
            "the members' late dues repay it. Why is it needed?",
            required=True,
        )
        if reason is not None:
            self.propose_advance(reason)

    def propose_advance(self, reason: str) -> None:
        pid, actor = self._target(), self.actor
        self._do(
            lambda: self.payouts.propose_advance(actor, pid, reason),
            lambda a: f"Advance of {inr(a['amount'])} proposed: a second person approves it.",
        )

    def _advance_id(self) -> str:
        detail = self.pane.detail
        advance = detail.row.advance if detail else None
        return advance.id if advance else ""

    def ask_approve(self) -> None:
        note = self._ask("Approve the advance", "Note (optional):", required=False)
        if note is not None:
            self.approve_advance(note)

    def approve_advance(self, note: str = "") -> None:
        aid, actor, payouts, gate = self._advance_id(), self.actor, self.payouts, self.gate

        def approve() -> str:
            verdict = payouts.approve_advance(actor, aid, note)
            return (
                "Advance granted by the Banker's check and posted. "
                f"{safe_sequence(gate.named(verdict.decision.sequence))}."
            )

        self._do(approve, str)

    def ask_decline(self) -> None:
        reason = self._ask("Decline the advance", "Why is it declined?", required=True)
        if reason is not None:
            self.decline_advance(reason)

    def decline_advance(self, reason: str) -> None:
        aid, actor = self._advance_id(), self.actor
        self._do(
            lambda: self.payouts.decline_advance(actor, aid, reason),
            lambda _: "Advance declined.",
        )
