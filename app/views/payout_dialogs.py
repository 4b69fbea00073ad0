"""The payout screen's forms: the winner's security, checked as it is typed, and the
release (bank reference, and the reason a late prize needs)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.kernel.errors import KnownError
from app.services.money import rupees
from app.services.payouts import KINDS, PayoutDetail, check_security
from app.views.formatting import BAD, GOOD, inr


class SecurityDialog(QDialog):
    """Kind, value and description of the winner's security, with the 4/3 or 3/2 check
    shown as the value is typed. A short security may be recorded (it is what was
    given); the release then waits until it covers what is required."""

    def __init__(self, detail: PayoutDetail, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.detail = detail
        self.setWindowTitle("Record the winner's security")
        self.kind = QComboBox()
        for kind in KINDS.values():
            self.kind.addItem(kind.label, kind.name)
        if detail.security_kind in KINDS:
            self.kind.setCurrentIndex(list(KINDS).index(detail.security_kind))
        self.value = QLineEdit(str(detail.security_held // 100) if detail.security_held else "")
        self.value.setPlaceholderText("Value in rupees, e.g. 1,00,000")
        self.description = QLineEdit(detail.security_description)
        self.check = QLabel("")
        self.check.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Kind", self.kind)
        form.addRow("Value (₹)", self.value)
        form.addRow("Description", self.description)
        layout = QVBoxLayout(self)
        owed = QLabel(
            f"The winner still owes {detail.remaining} instalment(s): {inr(detail.future)}."
        )
        layout.addWidget(owed)
        layout.addLayout(form)
        layout.addWidget(self.check)
        layout.addWidget(self.buttons)
        for signal in (self.kind.currentIndexChanged, self.value.textChanged):
            signal.connect(self._update)
        self.description.textChanged.connect(self._update)
        self.resize(520, 240)
        self._update()

    def amount(self) -> int | None:
        """The value typed, in paise (None while it is not an amount)."""
        try:
            return rupees(self.value.text(), field="Value")
        except KnownError:
            return None

    def kind_name(self) -> str:
        return str(self.kind.currentData())

    def _update(self) -> None:
        kind = KINDS[self.kind_name()]
        self.description.setPlaceholderText(kind.hint.capitalize())
        amount = self.amount()
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(amount is not None and bool(self.description.text().strip()))
        if amount is None:
            self.check.setText("Type the security's value in rupees.")
            self.check.setStyleSheet("")
            return
        check = check_security(self.detail.agreement, self.detail.remaining, kind.name, amount)
        note = "" if check.enough else " It is recorded, but the prize waits for enough security."
        self.check.setText(check.text + note)
        colour = GOOD if check.enough else BAD
        self.check.setStyleSheet(f"color: {colour.name()}; font-weight: 600;")


class ReleaseDialog(QDialog):
    """The bank reference of the transfer and, for a late prize, why it is late."""

    def __init__(self, detail: PayoutDetail, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Release the prize")
        row, request = detail.row, detail.request or {}
        self.late = row.clock.days_left < 0
        self.bank_ref = QLineEdit(str(request.get("bank_ref") or ""))
        self.bank_ref.setPlaceholderText("UTR or cheque number (optional)")
        self.reason = QPlainTextEdit()
        self.reason.setTabChangesFocus(True)
        self.reason.setPlaceholderText(
            "Why is it late? (kept with the payout)" if self.late else "Note (optional)"
        )
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        text = (
            f"Pay {inr(row.to_pay)} to {row.winner} from the pool of {row.group_name}, "
            "if the Banker's check grants it."
        )
        if self.late:
            text += f" The prize is {row.clock.text}: say why."
        intro = QLabel(text)
        intro.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Bank reference", self.bank_ref)
        form.addRow("Reason" if self.late else "Note", self.reason)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self.reason.textChanged.connect(self._update)
        self.resize(480, 240)
        self._update()

    def text(self) -> str:
        return self.reason.toPlainText().strip()

    def _update(self) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(bool(self.text()) or not self.late)
