"""The counter's queue: cheques awaiting clearance, and what waits for a second person.

A cheque is marked cleared by one person; a bounce is reported with the bank's reason and
reversed only when someone else approves it. The person who asked can never approve
(the service refuses; the button says so first).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.services.actors import Actor
from app.services.counter import CHEQUE_BOUNCE, Approval, CounterQueue, CounterReceipt
from app.services.registry import Services
from app.views import worker
from app.views.counter_desk import table
from app.views.counter_tables import ApprovalsModel, ChequesModel
from app.views.formatting import DATE_FORMAT, ReasonDialog, inr
from app.views.receipt_print import ReceiptPrinter


class BounceDialog(QDialog):
    """The bank's return reason and the day it returned the cheque."""

    def __init__(
        self, receipt: CounterReceipt, today: QDate, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Report a bounced cheque")
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("As on the bank's return memo, e.g. Funds insufficient")
        self.returned_on = QDateEdit()
        self.returned_on.setCalendarPopup(True)
        self.returned_on.setDisplayFormat(DATE_FORMAT)
        self.returned_on.setMaximumDate(today)
        self.returned_on.setDate(today)
        e = receipt.entry
        intro = QLabel(
            f"Cheque {e.bank_ref} of {receipt.member_name} for {inr(e.amount)}. A second "
            "person approves the bounce; then the receipt is reversed and the instalment is "
            "due again."
        )
        intro.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Return reason", self.reason)
        form.addRow("Returned on", self.returned_on)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Report bounce")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self.reason.textChanged.connect(self._update)
        self.resize(460, 200)
        self._update()

    def _update(self) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(bool(self.reason.text().strip()))

    def accept(self) -> None:
        if self.reason.text().strip():
            super().accept()


class QueuePane(QWidget):
    """Cheques waiting to clear, and requests waiting for a second person."""

    def __init__(self, services: Services, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.actor = actor
        self.printer = ReceiptPrinter(services, actor, self)
        self.cheques = ChequesModel(self)
        self.cheques_table = table(self.cheques)
        self.approvals = ApprovalsModel(self)
        self.approvals_table = table(self.approvals)
        self.clear_button = QPushButton("Mark cleared")
        self.bounce_button = QPushButton("Report bounced…")
        self.print_button = QPushButton("Print receipt…")
        self.approve_button = QPushButton("Approve…")
        self.approve_button.setProperty("accent", True)
        self.reject_button = QPushButton("Reject…")
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self._build()
        self.cheques_table.selectionModel().selectionChanged.connect(self._update)
        self.approvals_table.selectionModel().selectionChanged.connect(self._update)
        self.clear_button.clicked.connect(self.clear_cheque)
        self.bounce_button.clicked.connect(self.ask_bounce)
        self.print_button.clicked.connect(self._print)
        self.approve_button.clicked.connect(self.ask_approve)
        self.reject_button.clicked.connect(self.ask_reject)
        self.printer.done.connect(self.note.setText)
        self._update()

    def _build(self) -> None:
        cheque_buttons = QHBoxLayout()
        for button in (self.clear_button, self.bounce_button, self.print_button):
            cheque_buttons.addWidget(button)
        cheque_buttons.addStretch(1)
        approval_buttons = QHBoxLayout()
        approval_buttons.addWidget(self.approve_button)
        approval_buttons.addWidget(self.reject_button)
        approval_buttons.addStretch(1)
        self.cheques_title = QLabel("<b>Cheques awaiting clearance</b>")
        self.approvals_title = QLabel("<b>Waiting for a second person</b>")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.cheques_title)
        layout.addWidget(self.cheques_table, 1)
        layout.addLayout(cheque_buttons)
        layout.addWidget(self.approvals_title)
        layout.addWidget(self.approvals_table, 1)
        layout.addLayout(approval_buttons)
        layout.addWidget(self.note)

    def show_queue(self, queue: CounterQueue) -> None:
        self.cheques.set_rows(queue.cheques)
        self.approvals.set_rows(queue.approvals)
        self.cheques_title.setText(f"<b>Cheques awaiting clearance</b> ({len(queue.cheques)})")
        self.approvals_title.setText(
            f"<b>Waiting for a second person</b> ({len(queue.approvals)}): large cash is "
            "counted, and a bounce confirmed, by someone other than who asked"
        )
        self._update()

    # -- what is chosen ---------------------------------------------------------------

    def chosen_cheque(self) -> CounterReceipt | None:
        rows = self.cheques_table.selectionModel().selectedRows()
        return self.cheques.row_at(rows[0]) if rows else None

    def chosen_approval(self) -> Approval | None:
        rows = self.approvals_table.selectionModel().selectedRows()
        return self.approvals.row_at(rows[0]) if rows else None

    def _update(self) -> None:
        cheque = self.chosen_cheque()
        pending = cheque is not None and cheque.entry.cheque_state == "pending"
        self.clear_button.setEnabled(pending)
        self.bounce_button.setEnabled(pending)
        self.print_button.setEnabled(cheque is not None)
        approval = self.chosen_approval()
        own = approval is not None and approval.requested_by.get("id") == self.actor.id
        self.approve_button.setEnabled(approval is not None and not own)
        self.reject_button.setEnabled(approval is not None)
        self.approve_button.setToolTip(
            "You asked for this check: another staff member approves it." if own else ""
        )

    # -- actions ------------------------------------------------------------------------

    def clear_cheque(self) -> None:
        cheque = self.chosen_cheque()
        if cheque is not None:
            ref, counter = cheque.entry.bank_ref, self.services.counter
            self._run(lambda: counter.clear_cheque(self.actor, ref), f"Cheque {ref} cleared.")

    def ask_bounce(self) -> None:
        cheque = self.chosen_cheque()
        if cheque is None:
            return
        today = QDate.fromString(self.services.clock.today().isoformat(), Qt.DateFormat.ISODate)
        dialog = BounceDialog(cheque, today, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.report_bounce(
                cheque.entry.bank_ref,
                dialog.reason.text(),
                dialog.returned_on.date().toString(Qt.DateFormat.ISODate),
            )

    def report_bounce(self, ref: str, reason: str, returned_on: str) -> None:
        counter, actor = self.services.counter, self.actor
        self._run(
            lambda: counter.report_bounce(actor, ref, reason, returned_on),
            f"Bounce of {ref} reported: a second person approves it under this list.",
        )

    def ask_approve(self) -> None:
        approval = self.chosen_approval()
        if approval is None:
            return
        what = (
            "Reverse the receipt and reopen the due?"
            if approval.kind == CHEQUE_BOUNCE
            else "You counted the cash: post the receipt?"
        )
        reason = ReasonDialog.ask(
            f"Approve: {approval.kind_text}",
            f"{approval.member_name}, {inr(approval.amount)} ({approval.bank_ref}). {what} "
            "Note (optional):",
            required=False,
            parent=self,
        )
        if reason is not None:
            self.approve(approval.id, reason)

    def approve(self, approval_id: str, note: str = "") -> None:
        counter, actor = self.services.counter, self.actor
        self._run(lambda: counter.approve(actor, approval_id, note), "Approved.")

    def ask_reject(self) -> None:
        approval = self.chosen_approval()
        if approval is None:
            return
        reason = ReasonDialog.ask(
            f"Reject: {approval.kind_text}",
            "Why is it turned down? Nothing is posted.",
            required=True,
            parent=self,
        )
        if reason is not None:
            self.reject(approval.id, reason)

    def reject(self, approval_id: str, reason: str) -> None:
        counter, actor = self.services.counter, self.actor
        self._run(lambda: counter.reject(actor, approval_id, reason), "Rejected.")

    def _run(self, call: Callable[[], Any], said: str) -> None:
        worker.run(call, lambda _: self.note.setText(said), parent=self)

    def _print(self) -> None:
        cheque = self.chosen_cheque()
        if cheque is not None:
            self.printer.print(cheque.entry.bank_ref)
