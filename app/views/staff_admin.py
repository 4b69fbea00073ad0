"""Staff accounts (admins only): create, disable or enable, change role (employee, admin
or auditor: an auditor reads the books and exports reports, and changes nothing), set a
new password (typed or generated; the person's sessions end), and when each last signed in."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.services.actors import ACCOUNT_ROLES, Actor
from app.services.registry import Services
from app.services.staff import StaffAccount
from app.views import worker
from app.views.formatting import time_width, when
from app.views.live import LiveReadModel
from app.views.password import PasswordDialog
from app.views.table import Column, RowsModel

ROLES = ACCOUNT_ROLES
Account = StaffAccount


class StaffModel(RowsModel[Account]):
    columns = (
        Column[Account]("Name", lambda a: a.name),
        Column[Account]("Username", lambda a: a.username),
        Column[Account]("Role", lambda a: a.role),
        Column[Account]("Status", lambda a: "active" if a.active else "disabled"),
        Column[Account](
            "Last sign-in",
            lambda a: when(a.last_sign_in_at) or "never",
            lambda a: a.last_sign_in_at or "",
        ),
        Column[Account]("Created", lambda a: when(a.created_at)),
    )


class NewStaffDialog(QDialog):
    """Name, username, role and the first password (typed twice)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New staff account")
        self.name, self.username = QLineEdit(), QLineEdit()
        self.password, self.again = QLineEdit(), QLineEdit()
        for field in (self.password, self.again):
            field.setEchoMode(QLineEdit.EchoMode.Password)
        self.role = QComboBox()
        self.role.addItems(ROLES)
        self.error = QLabel()
        self.error.setStyleSheet("color: #b3261e")
        form = QFormLayout(self)
        form.addRow("Name", self.name)
        form.addRow("Username", self.username)
        form.addRow("Role", self.role)
        form.addRow("Password", self.password)
        form.addRow("Password again", self.again)
        form.addRow(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _accept(self) -> None:
        if self.password.text() != self.again.text():
            self.error.setText("The two passwords differ.")
            return
        self.accept()


class StaffAdminView(QWidget):
    title = "Staff"

    def __init__(self, services: Services, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actor = actor
        self.staff = services.staff
        self.model = StaffModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        for column in (
            StaffModel.COLUMNS.index("Last sign-in"),
            StaffModel.COLUMNS.index("Created"),
        ):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Fixed)
            header.resizeSection(column, time_width(self.table))
        self.table.verticalHeader().hide()
        heading = QLabel("Staff accounts")
        heading.setObjectName("heading")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.hide()
        buttons = QHBoxLayout()
        for label, slot in (
            ("New account…", self.create_account),
            ("Disable / enable", self.toggle),
            ("Change role…", self.change_role),
            ("Set password…", self.reset_password),
        ):
            button = QPushButton(label)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.table)
        self.live = LiveReadModel(services.topics, self.staff.list_staff, self.model.set_rows, self)

    def refresh(self) -> None:
        self.live.refresh()

    def selected(self) -> StaffAccount | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row(rows[0].row()) if rows else None

    def create_account(self) -> None:
        dialog = NewStaffDialog(self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        args = (dialog.name.text(), dialog.username.text(), dialog.password.text())
        role = dialog.role.currentText()
        worker.run(
            lambda: self.staff.create_staff(self.actor, *args, role=role),
            lambda _: self.refresh(),
            parent=self,
        )

    def toggle(self) -> None:
        account = self.selected()
        if account is None:
            return
        change = self.staff.disable if account.active else self.staff.enable
        worker.run(lambda: change(self.actor, account.id), lambda _: self.refresh(), parent=self)

    def change_role(self) -> None:
        account = self.selected()
        if account is None:
            return
        role, ok = QInputDialog.getItem(
            self, "Change role", f"Role for {account.name}", ROLES, ROLES.index(account.role)
        )
        if ok:
            worker.run(
                lambda: self.staff.change_role(self.actor, account.id, role),
                lambda _: self.refresh(),
                parent=self,
            )

    def password_dialog(self, account: StaffAccount) -> PasswordDialog:
        staff, actor = self.staff, self.actor
        return PasswordDialog(
            f"New password for {account.name}",
            f"Set a new password for {account.name} ({account.username}). Every sign-in of "
            "theirs ends now; they sign in again with this password and can change it "
            "from the menu with their name.",
            account.username,
            lambda _, new: staff.set_password(actor, account.id, new, "password reset by admin"),
            parent=self,
        )

    def reset_password(self) -> None:
        account = self.selected()
        if account is None:
            self.say("Select the person whose password to set.")
            return
        if self.password_dialog(account).exec() == QDialog.DialogCode.Accepted:
            self.say(f"New password set for {account.name}; their sign-ins have ended.")

    def say(self, text: str) -> None:
        self.status.setText(text)
        self.status.setVisible(bool(text))

    def shutdown(self) -> None:
        self.live.close()
