"""The "New member" form: name, mobile, address and nominee.

The member service cleans and checks every field and names each wrong one
(:class:`~app.kernel.errors.FieldErrors`); the form shows each message under its field.
A mobile number that already belongs to a member is refused with the holder named, and
the form offers to open that member instead. Enter enrols (from any one-line field),
Escape cancels; the address takes several lines, and Tab leaves it.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.kernel.errors import KnownError
from app.services.actors import Actor
from app.services.members import Member, MemberService, MobileTaken
from app.views import worker
from app.views.formatting import BUTTON_STYLE

RELATIONSHIPS = ("", "Spouse", "Son", "Daughter", "Father", "Mother", "Brother", "Sister")
ERROR_STYLE = "color: #b3261e; font-size: 9pt;"


class NewMemberDialog(QDialog):
    """Enrols a member through the member service, off the GUI thread."""

    enrolled = Signal(object)  # the Member
    holder_chosen = Signal(str)  # the id of the member who holds the number typed

    def __init__(self, members: MemberService, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New member")
        self.setStyleSheet(BUTTON_STYLE)
        self.members, self.actor = members, actor
        self.name, self.phone, self.nominee = QLineEdit(), QLineEdit(), QLineEdit()
        self.phone.setPlaceholderText("98765 43210")
        self.address = QPlainTextEdit()
        self.address.setTabChangesFocus(True)
        self.address.setFixedHeight(72)
        self.address.setPlaceholderText("House, street\nTown, PIN code")
        self.relationship = QComboBox()
        self.relationship.setEditable(True)
        self.relationship.addItems(RELATIONSHIPS)
        self.errors = {key: self._error_label() for key in self.FIELDS}
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet(ERROR_STYLE)
        self.message.hide()
        self.holder_button = QPushButton("Open that member")
        self.holder_button.setAutoDefault(False)
        self.holder_button.hide()
        self.holder_button.clicked.connect(self._open_holder)
        self._holder = ""
        self.buttons = QDialogButtonBox()
        self.enrol_button = self.buttons.addButton("Enrol", QDialogButtonBox.ButtonRole.AcceptRole)
        self.enrol_button.setProperty("accent", True)
        self.enrol_button.setDefault(True)
        cancel = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        cancel.setAutoDefault(False)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        self._lay_out()
        self.setMinimumWidth(540)

    FIELDS = ("name", "phone", "address", "nominee", "relationship")

    def _lay_out(self) -> None:
        form = QFormLayout()
        inputs: tuple[QWidget, ...] = (
            self.name,
            self.phone,
            self.address,
            self.nominee,
            self.relationship,
        )
        labels = ("Name", "Mobile number", "Address", "Nominee", "Relationship")
        for key, label, widget in zip(self.FIELDS, labels, inputs, strict=True):
            cell = QVBoxLayout()
            cell.setSpacing(2)
            cell.addWidget(widget)
            cell.addWidget(self.errors[key])
            form.addRow(label, cell)
        note = QLabel(
            "Address and nominee may be left for later. The mobile number is how the "
            "member signs in to the web view."
        )
        note.setWordWrap(True)
        note.setObjectName("hint")
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.message)
        holder = QHBoxLayout()
        holder.addWidget(self.holder_button)
        holder.addStretch(1)
        layout.addLayout(holder)
        layout.addWidget(self.buttons)

    @staticmethod
    def _error_label() -> QLabel:
        label = QLabel()
        label.setWordWrap(True)
        label.setStyleSheet(ERROR_STYLE)
        label.hide()
        return label

    # -- enrolling --------------------------------------------------------------------------

    def submit(self) -> None:
        """Ask the member service to enrol what is typed."""
        self._clear()
        self.enrol_button.setEnabled(False)
        members, actor = self.members, self.actor
        values = (self.name.text(), self.phone.text())
        details = {
            "address": self.address.toPlainText(),
            "nominee": self.nominee.text(),
            "relationship": self.relationship.currentText(),
        }
        worker.run(
            lambda: members.enroll(actor, *values, **details),
            self._enrolled,
            parent=self,
            on_error=self._refused,
        )

    def _enrolled(self, member: Member) -> None:
        self.enrol_button.setEnabled(True)
        self.enrolled.emit(member)
        self.accept()

    def _refused(self, exc: BaseException) -> None:
        self.enrol_button.setEnabled(True)
        if not isinstance(exc, KnownError):
            worker.show_error(self, exc)
            return
        field_errors: dict[str, str] = dict(getattr(exc, "field_errors", {}))
        for key, text in field_errors.items():
            self._show(self.errors[key], text)
        if not field_errors or exc.hint:
            self._show(self.message, exc.hint if field_errors else str(exc))
        if isinstance(exc, MobileTaken):
            self._holder = exc.holder_id
            self.holder_button.setText(f"Open {exc.holder}")
            self.holder_button.show()
        wrong = [key for key in self.FIELDS if key in field_errors]
        if wrong:
            self._input(wrong[0]).setFocus()
        self.adjustSize()

    def _input(self, key: str) -> QWidget:
        return {
            "name": self.name,
            "phone": self.phone,
            "address": self.address,
            "nominee": self.nominee,
            "relationship": self.relationship,
        }[key]

    @staticmethod
    def _show(label: QLabel, text: str) -> None:
        label.setText(text)
        label.setVisible(bool(text))

    def _clear(self) -> None:
        for label in (*self.errors.values(), self.message):
            self._show(label, "")
        self.holder_button.hide()
        self.adjustSize()

    def _open_holder(self) -> None:
        self.holder_chosen.emit(self._holder)
        self.reject()
