"""The desktop's sign-in service: a session remembered in a vault (here the in-memory
fake of the OS keyring; tests/views/test_signin.py drives the real one)."""

from __future__ import annotations

import pytest

from app.kernel.errors import KeyringUnavailable
from app.kernel.sessions import MemoryVault
from app.services.actors import SYSTEM
from app.services.context import ServiceContext
from app.services.desktop_signin import ACCOUNT, DesktopSignIn
from app.services.staff import StaffService

PASSWORD = "Correct-horse-9"


@pytest.fixture
def staff(ctx: ServiceContext) -> StaffService:
    return StaffService(ctx)


def test_a_remembered_session_resumes_until_signed_out(staff: StaffService) -> None:
    vault = MemoryVault()
    desk = DesktopSignIn(staff, vault)
    assert desk.resume() == (None, "")
    assert desk.local_tool_actor() == SYSTEM
    staff.create_first_admin("Asha Rao", "asha", PASSWORD)
    session = staff.sign_in("asha", PASSWORD)
    desk.remember(session)
    assert desk.resume() == (session.actor, "")
    assert desk.local_tool_actor() == session.actor
    desk.sign_out()
    assert vault.load(ACCOUNT) is None and staff.resume(session.token) is None
    assert desk.resume() == (None, "")


def test_an_expired_token_is_forgotten(staff: StaffService) -> None:
    vault = MemoryVault()
    vault.save(ACCOUNT, "a-token-that-was-never-issued")
    assert DesktopSignIn(staff, vault).resume() == (None, "")
    assert vault.load(ACCOUNT) is None


def test_without_a_keyring_sign_in_works_but_is_not_remembered(staff: StaffService) -> None:
    vault = MemoryVault()
    vault.unavailable = KeyringUnavailable("The OS keyring is locked.", hint="Unlock it.")
    desk = DesktopSignIn(staff, vault)
    actor, note = desk.resume()
    assert actor is None and note.startswith("Your sign-in will not be remembered:")
    assert "locked" in note
    staff.create_first_admin("Asha Rao", "asha", PASSWORD)
    desk.remember(staff.sign_in("asha", PASSWORD))  # logged, not raised
    desk.sign_out()
