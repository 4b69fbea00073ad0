"""Sign-in session tokens kept in the OS keyring, never in a plain file.

``KeyringSessions`` stores one token per account under the service name
"TransactFlowOS" through the ``keyring`` library. It accepts only backends that
encrypt at rest (Secret Service / libsecret, KWallet, macOS Keychain, Windows
Credential Locker). A missing backend, the "fail" backend, or a plain-text one
(keyrings.alt) is refused with ``KeyringUnavailable`` saying what to install or
do; there is no fallback to plain text.

The rest of the app depends on the ``SessionVault`` protocol; ``MemoryVault`` is
a hand-written in-memory fake of it for tests of other modules.
"""

from __future__ import annotations

import threading
from typing import Protocol

import keyring
import keyring.backend
import keyring.errors
from keyring.backends import chainer, fail

from app.kernel.errors import KeyringUnavailable

try:
    from secretstorage.exceptions import LockedException, SecretStorageException
except ImportError:  # not on macOS/Windows builds
    SecretStorageException = LockedException = keyring.errors.KeyringError  # type: ignore[misc,assignment]

_BACKEND_ERRORS = (keyring.errors.KeyringError, SecretStorageException)

SERVICE = "TransactFlowOS"

_SECURE_BACKENDS = frozenset(
    {
        "keyring.backends.SecretService.Keyring",
        "keyring.backends.libsecret.Keyring",
        "keyring.backends.kwallet.DBusKeyring",
        "keyring.backends.kwallet.DBusKeyringKWallet4",
        "keyring.backends.macOS.Keyring",
        "keyring.backends.Windows.WinVaultKeyring",
    }
)

INSTALL_HINT = (
    "On Debian/Ubuntu: sudo apt-get install gnome-keyring dbus-x11 libsecret-tools, then start "
    "TransactFlowOS inside a desktop session (or under `dbus-run-session`) with the login "
    "keyring unlocked (e.g. `echo PASSWORD | gnome-keyring-daemon --unlock`). On KDE use "
    "KWallet; macOS and Windows use the system keychain. To pick a backend explicitly set "
    "PYTHON_KEYRING_BACKEND=keyring.backends.SecretService.Keyring."
)
UNLOCK_HINT = (
    "Unlock the login keyring (Passwords and Keys / Seahorse, or "
    "`echo PASSWORD | gnome-keyring-daemon --unlock`), accept the unlock prompt, and try again."
)


class SessionVault(Protocol):
    """Where the app keeps session tokens, one per account."""

    def save(self, account: str, token: str) -> None: ...

    def load(self, account: str) -> str | None: ...

    def delete(self, account: str) -> None: ...

    def check(self) -> str:
        """The backend's name, or the KnownError that says why there is none usable."""
        ...


def backend_name(backend: keyring.backend.KeyringBackend) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def _is_plaintext(backend: keyring.backend.KeyringBackend) -> bool:
    cls = type(backend)
    if cls.__module__.startswith("keyrings.alt"):
        return True
    names = " ".join(c.__name__.lower() for c in cls.__mro__)
    scheme = str(getattr(backend, "scheme", "")).lower()
    return "plaintext" in names or "no encr" in scheme or "no encyption" in scheme


def _refusal(backend: keyring.backend.KeyringBackend) -> KeyringUnavailable | None:
    """Why this backend must not hold session tokens, or None when it may."""
    name = backend_name(backend)
    if isinstance(backend, chainer.ChainerBackend):
        members = list(backend.backends)
        if not members:
            return _no_backend(name)
        return next((r for r in map(_refusal, members) if r is not None), None)
    if isinstance(backend, fail.Keyring) or name.startswith("keyring.backends.null."):
        return _no_backend(name)
    if _is_plaintext(backend):
        return KeyringUnavailable(
            f"The keyring backend {name} keeps secrets in plain text; TransactFlowOS will not "
            "store sign-in sessions there.",
            hint="Uninstall keyrings.alt (or stop selecting it) and use an encrypted keyring. "
            + INSTALL_HINT,
        )
    if name not in _SECURE_BACKENDS:
        return KeyringUnavailable(
            f"The keyring backend {name} is not one TransactFlowOS knows to encrypt secrets.",
            hint=INSTALL_HINT,
        )
    return None


def _no_backend(name: str) -> KeyringUnavailable:
    return KeyringUnavailable(
        f"No usable OS keyring was found (backend: {name}); sign-in sessions are kept only "
        "in an encrypted OS keyring.",
        hint=INSTALL_HINT,
    )


def _translate(e: Exception, action: str) -> KeyringUnavailable:
    locked = isinstance(e, keyring.errors.KeyringLocked | LockedException)
    if locked or "dismissed" in str(e).lower():
        return KeyringUnavailable(
            f"The OS keyring is locked, so the session could not be {action} ({e}).",
            hint=UNLOCK_HINT,
        )
    unreachable = (keyring.errors.NoKeyringError, keyring.errors.InitError, SecretStorageException)
    if isinstance(e, unreachable):
        return KeyringUnavailable(
            f"The OS keyring could not be reached, so the session could not be {action} ({e}).",
            hint=INSTALL_HINT,
        )
    return KeyringUnavailable(
        f"The OS keyring refused: the session could not be {action} ({e}).",
        hint="Check that the keyring is unlocked and working (try `secret-tool search "
        "service TransactFlowOS`), then try again.",
    )


class KeyringSessions:
    """Session tokens in the OS keyring (Secret Service on Linux desktops)."""

    def __init__(
        self,
        service: str = SERVICE,
        *,
        backend: keyring.backend.KeyringBackend | None = None,
    ) -> None:
        self.service = service
        self._backend = backend
        self._checked: str | None = None
        self._mutex = threading.Lock()

    def check(self) -> str:
        """The backend's name, after making sure it is present, encrypted and reachable.

        Raises:
            KeyringUnavailable: no backend, a plain-text one, or the keyring
                service cannot be reached; the message says what to do.
        """
        with self._mutex:
            if self._checked is None:
                self._checked = self._verify()
            return self._checked

    def save(self, account: str, token: str) -> None:
        backend = self._ready(account)
        try:
            backend.set_password(self.service, account, token)
        except _BACKEND_ERRORS as e:
            raise _translate(e, "saved") from e

    def load(self, account: str) -> str | None:
        backend = self._ready(account)
        try:
            return backend.get_password(self.service, account)
        except _BACKEND_ERRORS as e:
            raise _translate(e, "read") from e

    def delete(self, account: str) -> None:
        """Forget the account's token; nothing happens when there is none."""
        backend = self._ready(account)
        try:
            backend.delete_password(self.service, account)
        except keyring.errors.PasswordDeleteError as e:
            if self.load(account) is not None:
                raise _translate(e, "deleted") from e
        except _BACKEND_ERRORS as e:
            raise _translate(e, "deleted") from e

    def _verify(self) -> str:
        try:
            backend = self._backend or keyring.get_keyring()
        except _BACKEND_ERRORS as e:
            raise _translate(e, "used") from e
        refusal = _refusal(backend)
        if refusal is not None:
            raise refusal
        try:
            float(backend.priority)
        except RuntimeError as e:
            raise KeyringUnavailable(
                f"The keyring backend {backend_name(backend)} cannot run here: {e}.",
                hint=INSTALL_HINT,
            ) from e
        self._backend = backend
        return str(getattr(backend, "name", backend_name(backend)))

    def _ready(self, account: str) -> keyring.backend.KeyringBackend:
        if not account:
            raise ValueError("A session needs an account name.")
        self.check()
        assert self._backend is not None
        return self._backend


class MemoryVault:
    """An in-memory ``SessionVault`` for tests of other modules. Never use it in the app.

    Set ``unavailable`` to a ``KeyringUnavailable`` to make every call fail with it,
    as a missing or locked keyring would.
    """

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}
        self.unavailable: KeyringUnavailable | None = None

    def save(self, account: str, token: str) -> None:
        self._check()
        self.tokens[account] = token

    def load(self, account: str) -> str | None:
        self._check()
        return self.tokens.get(account)

    def delete(self, account: str) -> None:
        self._check()
        self.tokens.pop(account, None)

    def check(self) -> str:
        self._check()
        return "in-memory (tests)"

    def _check(self) -> None:
        if self.unavailable is not None:
            raise self.unavailable
