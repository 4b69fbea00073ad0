"""The desktop's sign-in: the staff service, and the OS keyring that remembers a session
between starts.

The desktop keeps one session token in a :class:`~app.kernel.sessions.SessionVault`
(the OS keyring; the composition root hands it in) under :data:`ACCOUNT`. A start
resumes that session while it is valid; signing in keeps the new token; signing out
ends the session and forgets the token. When the keyring cannot be used, sign-in still
works but is not remembered, and :meth:`DesktopSignIn.stored` says why.
"""

from __future__ import annotations

import logging

from app.kernel.errors import KnownError
from app.kernel.sessions import SessionVault
from app.services.actors import SYSTEM, Actor
from app.services.staff import Session, StaffService

log = logging.getLogger(__name__)

ACCOUNT = "staff-session"
"""The keyring account under which the desktop keeps its session token."""


class DesktopSignIn:
    """Who uses this desktop, remembered in the OS keyring (see module docstring)."""

    def __init__(self, staff: StaffService, vault: SessionVault) -> None:
        self.staff = staff
        self._vault = vault

    def keyring(self) -> str:
        """The keyring in use (for the About box); raises the vault's KnownError, saying
        what to do, when there is none usable."""
        return self._vault.check()

    def stored(self) -> tuple[str | None, str]:
        """The remembered token, and why a session cannot be remembered (if it cannot)."""
        try:
            return self._vault.load(ACCOUNT), ""
        except KnownError as exc:
            log.warning("Keyring unavailable: %s", exc)
            return None, f"Your sign-in will not be remembered: {exc}"

    def resume(self) -> tuple[Actor | None, str]:
        """The remembered staff member while their session is valid (an expired token is
        forgotten), and why sign-ins cannot be remembered (if they cannot)."""
        token, note = self.stored()
        if token:
            session = self.staff.resume(token)
            if session is not None:
                return session.actor, note
            self.forget()
        return None, note

    def remember(self, session: Session) -> None:
        """Keep ``session``'s token for the next start (a keyring failure is logged)."""
        try:
            self._vault.save(ACCOUNT, session.token)
        except KnownError as exc:
            log.warning("Could not keep the session in the keyring: %s", exc)

    def forget(self) -> None:
        try:
            self._vault.delete(ACCOUNT)
        except KnownError as exc:
            log.warning("Could not remove the session from the keyring: %s", exc)

    def sign_out(self) -> None:
        """End the remembered session and forget its token."""
        token, _ = self.stored()
        if token:
            self.staff.sign_out(token)
        self.forget()

    def local_tool_actor(self) -> Actor:
        """Who the screenshot tool acts as: the first admin, or the platform itself on a
        data folder with no staff yet (a local tool for whoever can read the folder)."""
        first = self.staff.first_admin()
        return first.actor if first is not None else SYSTEM
