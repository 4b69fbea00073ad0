"""Setup and sign-in dialogs, and the sign-in flow with the real Secret Service keyring.

The keyring tests need gnome-keyring on a D-Bus session: run pytest under
``dbus-run-session -- sh tests/with-keyring.sh`` (as ``make test`` does), which
unlocks a throwaway keyring and sets TFOS_REQUIRE_KEYRING=1.
"""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from app.kernel.errors import KeyringUnavailable
from app.kernel.sessions import KeyringSessions, MemoryVault, SessionVault
from app.services.actors import Actor
from app.services.context import FixedClock, ServiceContext
from app.services.desktop_signin import ACCOUNT, DesktopSignIn
from app.services.pipeline import ChangeSet
from app.services.staff import StaffService, hash_password
from app.services.store import Write
from app.views.signin import SetupDialog, SignInDialog, sign_in_flow, sign_out_action

if TYPE_CHECKING:
    from app.bootstrap import Runtime

PASSWORD = "Correct-horse-9"
W = TypeVar("W", bound=QWidget)
keyring_needed = pytest.mark.skipif(
    not os.environ.get("TFOS_REQUIRE_KEYRING"),
    reason="needs a real Secret Service: run pytest under "
    "`dbus-run-session -- sh tests/with-keyring.sh` (as `make test` does)",
)


@pytest.fixture
def vault() -> Iterator[KeyringSessions]:
    sessions = KeyringSessions()
    sessions.delete(ACCOUNT)
    yield sessions
    sessions.delete(ACCOUNT)


def test_setup_dialog_explains_the_password_rule_and_creates_the_admin(
    qtbot: QtBot, ctx: ServiceContext
) -> None:
    staff = StaffService(ctx)
    dialog = SetupDialog(staff)
    qtbot.addWidget(dialog)
    assert not dialog.go.isEnabled()
    dialog.name.setText("Asha Rao")
    dialog.username.setText("asha")
    dialog.password.setText("asha-secret-1")
    assert "username" in dialog.hints.text()
    dialog.password.setText("short")
    assert "at least 10 characters" in dialog.hints.text()
    dialog.password.setText(PASSWORD)
    assert "differ" in dialog.hints.text() and not dialog.go.isEnabled()
    dialog.confirm.setText(PASSWORD)
    assert dialog.hints.text() == "✓ Strong enough." and dialog.go.isEnabled()
    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        dialog.go.click()
    assert dialog.session is not None and dialog.session.actor.role == "admin"
    assert staff.has_admin()


def _signed_up(ctx: ServiceContext) -> StaffService:
    staff = StaffService(ctx)
    staff.create_first_admin("Asha Rao", "asha", PASSWORD)
    return staff


def _try(qtbot: QtBot, dialog: SignInDialog, username: str, password: str) -> None:
    dialog.username.setText(username)
    dialog.password.setText(password)
    dialog.go.click()
    qtbot.waitUntil(lambda: dialog.error.text() != "Checking…", timeout=10_000)


def test_sign_in_dialog_shows_errors_and_the_wait(qtbot: QtBot, ctx: ServiceContext) -> None:
    dialog = SignInDialog(_signed_up(ctx))
    qtbot.addWidget(dialog)
    _try(qtbot, dialog, "asha", "Wrong-password-1")
    assert "Wrong username or password" in dialog.error.text()
    assert dialog.go.isEnabled()
    _try(qtbot, dialog, "nobody", PASSWORD)
    assert "Wrong username or password" in dialog.error.text()
    _try(qtbot, dialog, "asha", "Wrong-password-1")
    _try(qtbot, dialog, "asha", "Wrong-password-1")
    assert "wait 2 seconds" in dialog.error.text()
    assert not dialog.go.isEnabled() and dialog.go.text() == "Wait 2 s"
    qtbot.waitUntil(lambda: dialog.go.isEnabled(), timeout=5_000)
    assert dialog.go.text() == "Sign in"
    dialog.go.click()
    qtbot.waitUntil(lambda: dialog.error.text() != "Checking…", timeout=10_000)
    assert "Too many failed sign-ins" in dialog.error.text()


def test_a_member_account_is_refused_in_the_dialog(qtbot: QtBot, ctx: ServiceContext) -> None:
    staff = _signed_up(ctx)
    member = {"name": "Meena", "username": "meena", "password": hash_password(PASSWORD)}
    change = ChangeSet("member.create", "member", "m-1", [Write("set", "members", "m-1", member)])
    ctx.pipeline.commit(Actor("system", "TransactFlowOS", "system"), change)
    dialog = SignInDialog(staff)
    qtbot.addWidget(dialog)
    _try(qtbot, dialog, "meena", PASSWORD)
    assert "not a staff account" in dialog.error.text()
    assert dialog.session is None and dialog.go.isEnabled()


# -- the keyboard: Enter signs in, Cancel only when chosen ---------------------------------


def _shown(qtbot: QtBot, dialog: W) -> W:
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def _finished(dialog: SignInDialog | SetupDialog) -> list[int]:
    codes: list[int] = []
    dialog.finished.connect(codes.append)
    return codes


def _type_and_enter(qtbot: QtBot, edit: QWidget, text: str) -> None:
    edit.setFocus()
    QTest.keyClicks(edit, text)
    QTest.keyClick(QApplication.focusWidget() or edit, Qt.Key.Key_Return)


def _cancel(dialog: QWidget) -> QPushButton:
    [button] = [b for b in dialog.findChildren(QPushButton) if b.text() == "Cancel"]
    return button


def test_enter_in_the_password_field_signs_in(qtbot: QtBot, ctx: ServiceContext) -> None:
    dialog = _shown(qtbot, SignInDialog(_signed_up(ctx)))
    codes = _finished(dialog)
    QTest.keyClicks(dialog.username, "asha")
    _type_and_enter(qtbot, dialog.password, PASSWORD)
    qtbot.waitUntil(lambda: bool(codes), timeout=10_000)
    assert codes == [1] and dialog.session is not None


def test_enter_after_the_throttle_wait_signs_in(
    qtbot: QtBot, ctx: ServiceContext, clock: FixedClock
) -> None:
    dialog = _shown(qtbot, SignInDialog(_signed_up(ctx)))
    codes = _finished(dialog)
    QTest.keyClicks(dialog.username, "asha")
    for _ in range(3):
        dialog.password.clear()
        _type_and_enter(qtbot, dialog.password, "Wrong-password-1")
        qtbot.waitUntil(lambda: dialog.error.text() not in ("", "Checking…"), timeout=10_000)
    assert dialog.go.text() == "Wait 2 s" and not dialog.go.isEnabled()
    QTest.keyClick(QApplication.focusWidget() or dialog, Qt.Key.Key_Return)
    assert codes == [], "Enter during the wait must do nothing"
    clock.advance(seconds=2)
    qtbot.waitUntil(dialog.go.isEnabled, timeout=5_000)
    assert QApplication.focusWidget() is dialog.password
    assert dialog.go.isDefault() and not _cancel(dialog).isDefault()
    dialog.password.clear()
    _type_and_enter(qtbot, dialog.password, PASSWORD)
    qtbot.waitUntil(lambda: bool(codes), timeout=10_000)
    assert codes == [1] and dialog.session is not None


def test_a_clicked_sign_in_then_refused_leaves_focus_off_cancel(
    qtbot: QtBot, ctx: ServiceContext
) -> None:
    dialog = _shown(qtbot, SignInDialog(_signed_up(ctx)))
    codes = _finished(dialog)
    QTest.keyClicks(dialog.username, "asha")
    QTest.keyClicks(dialog.password, "Wrong-password-1")
    QTest.mouseClick(dialog.go, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.error.text() not in ("", "Checking…"), timeout=10_000)
    assert QApplication.focusWidget() is dialog.password
    dialog.password.clear()
    _type_and_enter(qtbot, dialog.password, PASSWORD)
    qtbot.waitUntil(lambda: bool(codes), timeout=10_000)
    assert codes == [1]


def test_cancel_takes_effect_only_when_chosen(qtbot: QtBot, ctx: ServiceContext) -> None:
    dialog = _shown(qtbot, SignInDialog(_signed_up(ctx)))
    codes = _finished(dialog)
    QTest.keyClick(dialog.username, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.error.text() not in ("", "Checking…"), timeout=10_000)
    assert codes == [] and "username and password" in dialog.error.text()
    with qtbot.waitSignal(dialog.rejected, timeout=2_000):
        QTest.mouseClick(_cancel(dialog), Qt.MouseButton.LeftButton)
    assert codes == [0]
    again = _shown(qtbot, SignInDialog(dialog.staff))
    with qtbot.waitSignal(again.rejected, timeout=2_000):
        QTest.keyClick(again.username, Qt.Key.Key_Escape)


def test_setup_dialog_enter_creates_the_admin_and_never_cancels(
    qtbot: QtBot, ctx: ServiceContext
) -> None:
    staff = StaffService(ctx)
    dialog = _shown(qtbot, SetupDialog(staff))
    codes = _finished(dialog)
    QTest.keyClicks(dialog.name, "Asha Rao")
    QTest.keyClick(dialog.name, Qt.Key.Key_Return)
    QTest.keyClicks(dialog.username, "asha")
    _type_and_enter(qtbot, dialog.password, PASSWORD)
    assert codes == [] and not dialog.go.isEnabled(), "Enter before the form is complete"
    _type_and_enter(qtbot, dialog.confirm, PASSWORD)
    qtbot.waitUntil(lambda: bool(codes), timeout=10_000)
    assert codes == [1] and staff.has_admin()
    assert dialog.go.isDefault() and not _cancel(dialog).isDefault()


# -- the flow (async, on the qasync loop) ---------------------------------------------------


@pytest.fixture(autouse=True)
def keep_running(qapp: QApplication) -> Iterator[None]:
    """As in the desktop: closing the last dialog must not stop the event loop.

    Afterwards the garbage of the test's qasync loop (QObjects with timers, in reference
    cycles) is collected here, on the GUI thread: left to the cyclic collector it may be
    freed on some worker thread of a later test, which Qt reports as a warning.
    """
    before = qapp.quitOnLastWindowClosed()
    qapp.setQuitOnLastWindowClosed(False)
    yield
    qapp.setQuitOnLastWindowClosed(before)
    gc.collect()


def visible(kind: type[W]) -> W | None:
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, kind) and widget.isVisible():
            return widget
    return None


async def until(check: Callable[[], object], timeout: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)


async def dialog_of(kind: type[W]) -> W:
    await until(lambda: visible(kind))
    found = visible(kind)
    assert found is not None
    return found


def signin_of(runtime: Runtime, vault: SessionVault) -> DesktopSignIn:
    """The desktop's sign-in service over the runtime's staff and ``vault``."""
    return DesktopSignIn(runtime.services.staff, vault)


async def first_start(runtime: Runtime, vault: SessionVault) -> Actor | None:
    flow = asyncio.ensure_future(sign_in_flow(signin_of(runtime, vault)))
    setup = await dialog_of(SetupDialog)
    setup.name.setText("Asha Rao")
    setup.username.setText("asha")
    setup.password.setText(PASSWORD)
    setup.confirm.setText(PASSWORD)
    setup.go.click()
    return await asyncio.wait_for(flow, 20)


@keyring_needed
@pytest.mark.keyring
@pytest.mark.qasync
async def test_flow_keeps_the_session_in_the_real_keyring(
    qtbot: QtBot, runtime: Runtime, vault: KeyringSessions
) -> None:
    actor = await first_start(runtime, vault)
    assert actor is not None and (actor.name, actor.role) == ("Asha Rao", "admin")
    token = vault.load(ACCOUNT)
    assert token and token not in runtime.pipeline.wal.path.read_text()
    assert await asyncio.wait_for(sign_in_flow(signin_of(runtime, vault)), 10) == actor
    await asyncio.to_thread(signin_of(runtime, vault).sign_out)
    assert vault.load(ACCOUNT) is None
    assert runtime.services.staff.resume(token) is None
    flow = asyncio.ensure_future(sign_in_flow(signin_of(runtime, vault)))
    dialog = await dialog_of(SignInDialog)
    dialog.username.setText("asha")
    dialog.password.setText(PASSWORD)
    dialog.go.click()
    assert await asyncio.wait_for(flow, 20) == actor
    assert vault.load(ACCOUNT) not in (None, token)
    window = QWidget()
    qtbot.addWidget(window)
    closed: list[bool] = []
    action = sign_out_action(window, signin_of(runtime, vault), then=lambda: closed.append(True))
    assert action.shortcut().toString() == "Ctrl+Shift+Q"
    action.trigger()
    await until(lambda: closed)
    assert vault.load(ACCOUNT) is None


@keyring_needed
@pytest.mark.keyring
@pytest.mark.qasync
async def test_an_expired_keyring_session_asks_again_and_cancel_gives_none(
    qtbot: QtBot, runtime: Runtime, vault: KeyringSessions
) -> None:
    runtime.services.staff.create_first_admin("Asha Rao", "asha", PASSWORD)
    vault.save(ACCOUNT, "a-token-that-was-never-issued")
    flow = asyncio.ensure_future(sign_in_flow(signin_of(runtime, vault)))
    dialog = await dialog_of(SignInDialog)
    assert vault.load(ACCOUNT) is None
    dialog.reject()
    assert await asyncio.wait_for(flow, 10) is None


@pytest.mark.qasync
async def test_without_a_keyring_the_flow_signs_in_and_says_so(
    qtbot: QtBot, runtime: Runtime
) -> None:
    vault = MemoryVault()
    vault.unavailable = KeyringUnavailable("The OS keyring is locked.", hint="Unlock it.")
    runtime.services.staff.create_first_admin("Asha Rao", "asha", PASSWORD)
    flow = asyncio.ensure_future(sign_in_flow(signin_of(runtime, vault)))
    dialog = await dialog_of(SignInDialog)
    assert "will not be remembered" in dialog.note.text() and dialog.note.isVisibleTo(dialog)
    dialog.username.setText("asha")
    dialog.password.setText(PASSWORD)
    dialog.go.click()
    actor = await asyncio.wait_for(flow, 20)
    assert actor is not None and actor.role == "admin"
