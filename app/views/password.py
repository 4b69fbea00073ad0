"""Setting a staff password: an admin's reset (typed, or generated) and a person's own
change from the menu with their name.

Either way the service ends every session of the account, so whoever held the old
password signs in again. The dialog checks the strength rule as the password is typed
(:func:`app.services.staff.password_problems`) and runs the change off the GUI thread;
a refusal (a wrong current password) is shown in the dialog, which stays open.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QWidget,
)

from app.services.actors import Actor
from app.services.staff import StaffService, generate_password, password_problems
from app.views import worker

Submit = Callable[[str, str], object]
"""``submit(current, new)``: the service call that sets the password."""
MESSAGE_MS = 15_000


class PasswordDialog(QDialog):
    """A new password typed twice (or generated), and the current one when a person
    changes their own."""

    def __init__(
        self,
        title: str,
        intro: str,
        username: str,
        submit: Submit,
        *,
        ask_current: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.username, self.submit, self.generated = username, submit, ""
        self.current = QLineEdit() if ask_current else None
        self.new, self.again = QLineEdit(), QLineEdit()
        for field in self._secret_fields():
            field.setEchoMode(QLineEdit.EchoMode.Password)
            field.textChanged.connect(self._update)
        self.show_text = QCheckBox("Show the passwords")
        self.show_text.toggled.connect(self._reveal)
        self.generate = QPushButton("Generate one")
        self.generate.setAutoDefault(False)
        self.generate.clicked.connect(self._generate)
        self.problems, self.error = QLabel(), QLabel()
        for label in (self.problems, self.error):
            label.setWordWrap(True)
        self.problems.setObjectName("hint")
        self.error.setStyleSheet("color: #b3261e")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.addButton("Set password", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self._lay_out(intro)
        for button in self.buttons.buttons():  # Enter sets the password; it never cancels
            if isinstance(button, QPushButton):
                button.setAutoDefault(False)
        self.ok.setDefault(True)
        self.resize(460, 0)
        self._update()

    def _lay_out(self, intro: str) -> None:
        form = QFormLayout(self)
        text = QLabel(intro)
        text.setWordWrap(True)
        form.addRow(text)
        if self.current is not None:
            form.addRow("Current password", self.current)
        form.addRow("New password", self.new)
        form.addRow("New password again", self.again)
        form.addRow(self.show_text, self.generate)
        form.addRow(self.problems)
        form.addRow(self.error)
        form.addRow(self.buttons)

    def _secret_fields(self) -> list[QLineEdit]:
        return [f for f in (self.current, self.new, self.again) if f is not None]

    def _reveal(self, shown: bool) -> None:
        mode = QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password
        for field in (self.new, self.again):
            field.setEchoMode(mode)

    def _generate(self) -> None:
        self.generated = generate_password()
        self.new.setText(self.generated)
        self.again.setText(self.generated)
        self.show_text.setChecked(True)

    def what_is_wrong(self) -> list[str]:
        """Why the password cannot be set yet (empty when it can)."""
        new = self.new.text()
        if not new:
            return ["Type the new password, or generate one."]
        wrong = password_problems(new, self.username)
        if self.again.text() != new:
            wrong.append("Type the same new password twice.")
        if self.current is not None and not self.current.text():
            wrong.append("Type your current password.")
        return wrong

    def _update(self) -> None:
        wrong = self.what_is_wrong()
        self.ok.setEnabled(not wrong)
        note = ""
        if self.generated and self.new.text() == self.generated:
            note = "Write this password down or tell it to its holder now: it is not shown again."
        self.problems.setText(" ".join(wrong) or note)
        self.error.setText("")

    def accept(self) -> None:
        if self.what_is_wrong() or not self.ok.isEnabled():
            return
        self.ok.setEnabled(False)
        current = self.current.text() if self.current is not None else ""
        new, submit = self.new.text(), self.submit
        worker.run(lambda: submit(current, new), self._done, parent=self, on_error=self._failed)

    def _done(self, _: object) -> None:
        super().accept()

    def _failed(self, exc: BaseException) -> None:
        self.error.setText(worker.error_text(exc))
        self.ok.setEnabled(not self.what_is_wrong())


def own_password_dialog(
    staff: StaffService, actor: Actor, username: str, parent: QWidget
) -> PasswordDialog:
    """A person's own change: the current password first."""
    return PasswordDialog(
        "Change my password",
        "Your other sign-ins end when the password changes; the next time you start "
        "TransactFlowOS, sign in with the new one.",
        username,
        lambda current, new: staff.change_password(actor, current, new),
        ask_current=True,
        parent=parent,
    )


def change_password_action(window: QMainWindow, staff: StaffService, actor: Actor) -> QAction:
    """The "Change my password…" entry of the menu with the person's name."""
    action = QAction("Change my password…", window)

    def ask(username: str) -> None:
        dialog = own_password_dialog(staff, actor, username, window)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            window.statusBar().showMessage(
                "Your password is changed; your other sign-ins have ended.", MESSAGE_MS
            )

    action.triggered.connect(
        lambda: worker.run(lambda: staff.get(actor.id).username, ask, parent=window)
    )
    return action
