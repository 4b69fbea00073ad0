"""Session tokens in the OS keyring: the real Secret Service, and the refusals.

The real-keyring tests need gnome-keyring on a D-Bus session; ``make test`` runs
pytest under ``dbus-run-session -- sh tests/with-keyring.sh`` which unlocks a
throwaway keyring and sets TFOS_REQUIRE_KEYRING=1. With that variable set, a
missing Secret Service is a failure, not a skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import SecretService, chainer, fail

from app.kernel.errors import KeyringUnavailable
from app.kernel.sessions import KeyringSessions, MemoryVault, SessionVault

ROOT = Path(__file__).resolve().parents[1]
REQUIRED = bool(os.environ.get("TFOS_REQUIRE_KEYRING"))
SKIP_REASON = (
    "needs a real Secret Service: run pytest under "
    "`dbus-run-session -- sh tests/with-keyring.sh` (as `make test` does)"
)


class DictBackend(KeyringBackend):
    """A backend that keeps secrets in a dict: the kind of store that must be refused."""

    # keyring registers every subclass; below "fail" (0) it is never picked as the default.
    priority = -1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


class PlaintextKeyring(DictBackend):
    """Named like keyrings.alt's file backend, which only base64-encodes."""


class AltFileKeyring(DictBackend):
    """Claims to live in keyrings.alt, as every backend there does."""


AltFileKeyring.__module__ = "keyrings.alt.file"


class NoEncryptionScheme(DictBackend):
    scheme = "no encyption"  # keyrings.alt's own spelling


class EmptyChainer(chainer.ChainerBackend):
    backends = ()  # type: ignore[assignment]


class PlaintextChainer(chainer.ChainerBackend):
    backends = (PlaintextKeyring(),)  # type: ignore[assignment]


def refused(backend: KeyringBackend) -> KeyringUnavailable:
    sessions = KeyringSessions(backend=backend)
    with pytest.raises(KeyringUnavailable) as caught:
        sessions.check()
    for call in (
        lambda: sessions.save("asha", "t0ken"),
        lambda: sessions.load("asha"),
        lambda: sessions.delete("asha"),
    ):
        with pytest.raises(KeyringUnavailable):
            call()
    return caught.value


@pytest.mark.parametrize("backend", [fail.Keyring(), EmptyChainer()], ids=["fail", "empty-chain"])
def test_no_backend_says_what_to_install(backend: KeyringBackend) -> None:
    error = refused(backend)
    text = str(error)
    assert "No usable OS keyring" in text
    assert "apt-get install gnome-keyring dbus-x11 libsecret-tools" in text
    assert "dbus-run-session" in text and "unlock" in text
    assert error.code == "keyring"


@pytest.mark.parametrize(
    "backend",
    [PlaintextKeyring(), AltFileKeyring(), NoEncryptionScheme(), PlaintextChainer()],
    ids=["plaintext-name", "keyrings.alt", "no-encryption-scheme", "chain-with-plaintext"],
)
def test_plaintext_backends_are_refused_and_never_written(backend: DictBackend) -> None:
    error = refused(backend)
    assert "plain text" in str(error)
    assert "gnome-keyring" in str(error)
    stores = [b.store for b in getattr(backend, "backends", [backend])]
    assert stores == [{}] * len(stores)


def test_unknown_backend_is_refused() -> None:
    backend = DictBackend()
    error = refused(backend)
    assert "not one TransactFlowOS knows to encrypt" in str(error)
    assert backend.store == {}


def test_memory_vault_is_a_session_vault() -> None:
    vault: SessionVault = MemoryVault()
    assert vault.load("asha") is None
    vault.save("asha", "t1")
    vault.save("asha", "t2")
    assert vault.load("asha") == "t2"
    vault.delete("asha")
    vault.delete("asha")
    assert vault.load("asha") is None


def test_memory_vault_can_play_a_missing_keyring() -> None:
    vault = MemoryVault()
    vault.unavailable = KeyringUnavailable("No usable OS keyring.")
    with pytest.raises(KeyringUnavailable):
        vault.save("asha", "t")


# --- the real Secret Service -------------------------------------------------


@pytest.fixture
def real_sessions() -> Iterator[KeyringSessions]:
    if not REQUIRED:
        pytest.skip(SKIP_REASON)
    backend = keyring.get_keyring()
    assert isinstance(backend, SecretService.Keyring), (
        f"TFOS_REQUIRE_KEYRING is set but the keyring backend is {backend!r}; "
        "gnome-keyring must be running and unlocked on this D-Bus session"
    )
    sessions = KeyringSessions()
    yield sessions
    for account in ("asha-test", "ravi-test", "ghost-test"):
        sessions.delete(account)


@pytest.mark.keyring
def test_real_keyring_round_trip(real_sessions: KeyringSessions) -> None:
    assert "SecretService" in real_sessions.check()
    assert real_sessions.load("asha-test") is None
    real_sessions.save("asha-test", "tok-1 ₹ ünïcode")
    real_sessions.save("ravi-test", "tok-ravi")
    real_sessions.save("asha-test", "tok-2")
    assert real_sessions.load("asha-test") == "tok-2"
    assert real_sessions.load("ravi-test") == "tok-ravi"
    real_sessions.delete("asha-test")
    real_sessions.delete("ghost-test")
    assert real_sessions.load("asha-test") is None
    assert real_sessions.load("ravi-test") == "tok-ravi"


@pytest.mark.keyring
def test_real_keyring_stores_under_the_service_name_encrypted(
    real_sessions: KeyringSessions,
) -> None:
    keyrings = Path(os.environ["XDG_DATA_HOME"]) / "keyrings"
    before = {p: p.read_bytes() for p in keyrings.glob("*.keyring")}
    token = "tok-" + uuid.uuid4().hex
    real_sessions.save("asha-test", token)
    found = subprocess.run(
        ["secret-tool", "lookup", "service", "TransactFlowOS", "username", "asha-test"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert found.stdout == token
    after = {p: p.read_bytes() for p in keyrings.glob("*.keyring")}
    assert after != before  # the item reached the keyring file ...
    assert not any(token.encode() in data for data in after.values())  # ... encrypted


@pytest.mark.keyring
def test_services_are_kept_apart(real_sessions: KeyringSessions) -> None:
    other = KeyringSessions("TransactFlowOS-test-" + uuid.uuid4().hex[:8])
    real_sessions.save("asha-test", "main")
    assert other.load("asha-test") is None
    other.save("asha-test", "other")
    assert real_sessions.load("asha-test") == "main"
    other.delete("asha-test")


LOCK_THEN_LOAD = r"""
import json, secretstorage
from app.kernel.errors import KeyringUnavailable
from app.kernel.sessions import KeyringSessions
sessions = KeyringSessions()
if LOCK:
    sessions.save("asha", "t0ken")
    secretstorage.get_default_collection(secretstorage.dbus_init()).lock()
try:
    sessions.load("asha")
    print(json.dumps({"error": None}))
except KeyringUnavailable as e:
    print(json.dumps({"error": str(e)}))
"""


def run_in_own_keyring(home: Path, unlock: bool) -> str | None:
    """Load a session on a fresh D-Bus session with its own gnome-keyring in ``home``."""
    if not REQUIRED:
        pytest.skip(SKIP_REASON)
    assert shutil.which("dbus-run-session") and shutil.which("gnome-keyring-daemon")
    python = [sys.executable, "-c", f"LOCK = {unlock}\n" + LOCK_THEN_LOAD]
    if unlock:
        command = ["dbus-run-session", "--", "sh", str(ROOT / "tests/with-keyring.sh"), *python]
    else:
        start = 'eval "$(gnome-keyring-daemon --start --components=secrets)"; exec "$@"'
        command = ["dbus-run-session", "--", "sh", "-c", start, "sh", *python]
    env = {k: v for k, v in os.environ.items() if "KEYRING" not in k and "DBUS" not in k}
    env.pop("SSH_AUTH_SOCK", None)
    env.update(PYTHONPATH=str(ROOT), XDG_DATA_HOME=str(home), TFOS_TEST_KEYRING_HOME=str(home))
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    error: str | None = json.loads(done.stdout.strip().splitlines()[-1])["error"]
    return error


@pytest.mark.keyring
def test_locked_keyring_says_unlock_it(tmp_path: Path) -> None:
    error = run_in_own_keyring(tmp_path, unlock=True)
    assert error is not None and "locked" in error and "Unlock the login keyring" in error


@pytest.mark.keyring
def test_dismissed_prompt_says_unlock_it(tmp_path: Path) -> None:
    error = run_in_own_keyring(tmp_path, unlock=False)
    assert error is not None and "Prompt dismissed" in error
    assert "Unlock the login keyring" in error
