"""Sign-in before the main window: first-start setup, the sign-in dialog, the keyring.

``sign_in_flow`` resumes the session whose token the OS keyring holds (service
"TransactFlowOS", account "staff-session"); otherwise it shows the setup dialog
(a data folder with no staff yet) or the sign-in dialog, and keeps the new token
in the keyring. It is a coroutine on the qasync loop: dialogs are opened, not
``exec``-ed, and password hashing and keyring calls run off the GUI thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.kernel.errors import KnownError
from app.kernel.sessions import SessionVault
from app.services.actors import SYSTEM, Actor
from app.services.staff import Session, StaffService, password_problems
from app.views.audit import Send, Worker

if TYPE_CHECKING:
    from app.bootstrap import Runtime

log = logging.getLogger(__name__)
T = TypeVar("T")

ACCOUNT = "staff-session"
"""The keyring account under which the desktop keeps its session token."""


def staff_service(runtime: Runtime) -> StaffService:
    return StaffService(runtime.ctx, session_hours=runtime.settings.session_hours)


class _CallDialog(QDialog):
    """A dialog whose main button runs one service call off the GUI thread."""

    def __init__(self, title: str, action: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(420)
        self.session: Session | None = None
        self._worker = Worker("sign-in", self)
        self._worker.failed.connect(self._show_error)
        self.heading = QLabel(title)
        self.heading.setObjectName("heading")
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.intro.hide()
        self.form = QFormLayout()
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.hide()
        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setStyleSheet("color: #c62828;")
        self.error.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.go = QPushButton(action)
        self.go.setProperty("accent", True)
        self.buttons.addButton(self.go, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 12, 20, 16)
        layout.addWidget(self.heading)
        layout.addWidget(self.intro)
        layout.addLayout(self.form)
        layout.addWidget(self.note)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.go.setDefault(True)  # only once inside the dialog, or Enter would cancel it

    def show_note(self, text: str) -> None:
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def _field(self, label: str, *, secret: bool = False) -> QLineEdit:
        edit = QLineEdit()
        if secret:
            edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.form.addRow(label, edit)
        return edit

    def submit(self) -> None:
        raise NotImplementedError

    def _run(self, call: Callable[[], Session]) -> None:
        """Run ``call`` on the worker; accept with its session, or show its error."""
        self.go.setEnabled(False)
        self.error.setText("Checking…")

        def job(send: Send) -> None:
            try:
                session = call()
            except KnownError as exc:
                send(None, exc)
                return
            send(session, None)

        self._worker.submit(job, self._answered)

    def _answered(self, session: Session | None, error: KnownError | None) -> None:
        if session is not None:
            self._signed_in(session)
        elif error is not None:
            self._refused(error)

    def _signed_in(self, session: Session) -> None:
        self.session = session
        self.error.clear()
        self.accept()

    def _refused(self, exc: KnownError) -> None:
        self._show_error(str(exc))

    def _show_error(self, message: str) -> None:
        self.error.setText(message)
        self.go.setEnabled(True)

    def done(self, result: int) -> None:
        self._worker.close()
        super().done(result)


class SetupDialog(_CallDialog):
    """First start on an empty data folder: create the first admin, then sign in."""

    def __init__(self, staff: StaffService, parent: QWidget | None = None) -> None:
        super().__init__("Set up TransactFlowOS", "Create admin and sign in", parent)
        self.staff = staff
        self.intro.setText(
            "This data folder has no accounts yet. Create the first admin account; "
            "admins then create accounts for everyone else."
        )
        self.intro.show()
        self.name = self._field("Full name")
        self.username = self._field("Username")
        self.password = self._field("Password", secret=True)
        self.confirm = self._field("Password again", secret=True)
        self.hints = QLabel()
        self.hints.setWordWrap(True)
        self.hints.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.hints.setMinimumHeight(5 * self.hints.fontMetrics().lineSpacing())
        self.form.addRow(self.hints)
        for edit in (self.name, self.username, self.password, self.confirm):
            edit.textChanged.connect(self._check)
        self._check()

    def problems(self) -> list[str]:
        found = password_problems(self.password.text(), self.username.text())
        if self.confirm.text() != self.password.text():
            found.append("The two passwords differ.")
        if not self.name.text().strip() or not self.username.text().strip():
            found.insert(0, "Enter a name and a username.")
        return found

    def _check(self) -> None:
        found = self.problems()
        self.hints.setText("\n".join(f"• {p}" for p in found) or "✓ Strong enough.")
        self.go.setEnabled(not found)

    def submit(self) -> None:
        if self.problems():
            return
        name, user, password = self.name.text(), self.username.text(), self.password.text()
        staff = self.staff

        def call() -> Session:
            staff.create_first_admin(name, user, password)
            return staff.sign_in(user, password)

        self._run(call)


class SignInDialog(_CallDialog):
    """Username and password. After repeated failures the button waits, counting down."""

    def __init__(self, staff: StaffService, parent: QWidget | None = None) -> None:
        super().__init__("Sign in to TransactFlowOS", "Sign in", parent)
        self.staff = staff
        self.username = self._field("Username")
        self.password = self._field("Password", secret=True)
        self.username.setFocus()
        self._wait = 0
        self._countdown = QTimer(self)
        self._countdown.setInterval(1000)
        self._countdown.timeout.connect(self._tick)

    def submit(self) -> None:
        if self._wait:
            return
        user, password = self.username.text(), self.password.text()
        staff = self.staff
        self._run(lambda: staff.sign_in(user, password))

    def _refused(self, exc: KnownError) -> None:
        super()._refused(exc)
        self.password.selectAll()
        self.password.setFocus()
        wait = int(getattr(exc, "wait_seconds", 0))
        if wait > 0:
            self._wait = wait
            self.go.setEnabled(False)
            self._show_wait()
            self._countdown.start()

    def _tick(self) -> None:
        self._wait = max(0, self._wait - 1)
        self._show_wait()
        if not self._wait:
            self._countdown.stop()
            self.go.setEnabled(True)

    def _show_wait(self) -> None:
        self.go.setText(f"Wait {self._wait} s" if self._wait else "Sign in")


async def _off(call: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(None, call, *args)


async def _answer(dialog: QDialog) -> bool:
    """Show ``dialog`` without a nested event loop; True when it was accepted."""
    answer: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def finished(code: int) -> None:
        if not answer.done():
            answer.set_result(code)

    dialog.finished.connect(finished)
    dialog.setWindowModality(Qt.WindowModality.ApplicationModal)
    dialog.show()
    return await answer == QDialog.DialogCode.Accepted.value


async def _stored_token(vault: SessionVault) -> tuple[str | None, str]:
    """The keyring's token, and why the session cannot be remembered (if it cannot)."""
    try:
        return await _off(vault.load, ACCOUNT), ""
    except KnownError as exc:
        log.warning("Keyring unavailable: %s", exc)
        return None, f"Your sign-in will not be remembered: {exc}"


async def sign_in_flow(
    runtime: Runtime, vault: SessionVault, *, parent: QWidget | None = None
) -> Actor | None:
    """The staff member at the keyboard, or None if they cancelled."""
    staff = staff_service(runtime)
    token, note = await _stored_token(vault)
    if token:
        session = await _off(staff.resume, token)
        if session is not None:
            return session.actor
        await _off(_forget, vault)
    first = await _off(staff.needs_setup)
    dialog: _CallDialog = SetupDialog(staff, parent) if first else SignInDialog(staff, parent)
    dialog.show_note(note)
    try:
        session = dialog.session if await _answer(dialog) else None
    finally:
        dialog.deleteLater()
    if session is None:
        return None
    if not note:
        try:
            await _off(vault.save, ACCOUNT, session.token)
        except KnownError as exc:
            log.warning("Could not keep the session in the keyring: %s", exc)
    return session.actor


async def desktop_actor(
    runtime: Runtime, vault: SessionVault, *, screenshots: bool = False
) -> Actor | None:
    """Who uses this desktop. ``--screenshots`` is a local tool for whoever can read the
    data folder: it acts as the first admin (the platform itself before there is one)
    and never prompts. Otherwise :func:`sign_in_flow`."""
    if screenshots:
        first = await _off(staff_service(runtime).first_admin)
        return first.actor if first is not None else SYSTEM
    return await sign_in_flow(runtime, vault)


def _forget(vault: SessionVault) -> None:
    try:
        vault.delete(ACCOUNT)
    except KnownError as exc:
        log.warning("Could not remove the session from the keyring: %s", exc)


async def sign_out(runtime: Runtime, vault: SessionVault) -> None:
    """End the stored session and remove its token from the keyring."""
    token, _ = await _stored_token(vault)
    if token:
        await _off(staff_service(runtime).sign_out, token)
    await _off(_forget, vault)


def sign_out_action(
    parent: QWidget, runtime: Runtime, vault: SessionVault, then: Callable[[], object]
) -> QAction:
    """A "Sign out" action (Ctrl+Shift+Q): ends the session, then calls ``then``."""
    action = QAction("Sign out", parent)
    action.setShortcut(QKeySequence("Ctrl+Shift+Q"))
    tasks: set[asyncio.Task[None]] = set()

    async def run() -> None:
        try:
            await sign_out(runtime, vault)
        except KnownError as exc:
            log.warning("Sign-out could not end the session: %s", exc)
        then()

    def trigger() -> None:
        task = asyncio.ensure_future(run())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    action.triggered.connect(trigger)
    return action
