"""Sealing personal numbers so the store and the WAL never hold them in clear.

What is kept, and how:

* **Aadhaar** is never sealed and stored (UIDAI: no Aadhaar in clear beside
  other data). Keep only :meth:`PiiVault.aadhaar_token` -- a keyed
  HMAC-SHA256, stable, so a second registration with the same number is
  detected without storing it -- and the last 4 digits for display
  (``XXXX-XXXX-1234``). It cannot be revealed, by anyone.
* **PAN and bank account** are sealed with AES-256-GCM (:meth:`PiiVault.seal`)
  and shown masked everywhere. A person with the right role may reveal one
  with :meth:`PiiVault.unseal`; the service layer audits each reveal. The PAN
  also gets a keyed token (:meth:`PiiVault.pan_token`), so one PAN on two
  members is caught without comparing sealed values (each seal is different).

The vault key is 32 random bytes in a file created on first use with mode
0600 under the data directory. Two sub-keys are derived from it (one for
sealing, one for tokens), so the same bytes never serve two algorithms. Losing
the key file makes sealed values unreadable and changes every token: back it
up with the data directory, never beside a copy of the store alone.

A sealed value reads ``v1.<key id>.<base64url(nonce || ciphertext || tag)>``;
the key id (8 hex digits derived from the key) tells a wrong key from a
damaged value. The optional ``context`` (e.g. ``"pan"``) is authenticated but
not stored, so a sealed PAN cannot be passed off as a sealed account number.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.kernel.errors import StorageError, ValidationError
from app.kernel.files import load_or_create_key
from app.services.kyc.rules import validate_aadhaar, validate_pan

KEY_BYTES = 32
NONCE_BYTES = 12
TOKEN_VERSION = "v1"


def _derive(master: bytes, label: bytes) -> bytes:
    return hmac.new(master, b"tfos-pii/" + label, hashlib.sha256).digest()


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PiiVault:
    """Seals and unseals personal numbers with a key kept in ``key_path``."""

    def __init__(self, key_path: Path) -> None:
        self.key_path = Path(key_path)
        self._lock = threading.Lock()
        self._keys: tuple[AESGCM, bytes, str] | None = None

    # --- key file ------------------------------------------------------------

    def _load(self) -> tuple[AESGCM, bytes, str]:
        with self._lock:
            if self._keys is None:
                master = load_or_create_key(self.key_path, "personal-data key", KEY_BYTES)
                key_id = _derive(master, b"key-id").hex()[:8]
                self._keys = (AESGCM(_derive(master, b"seal")), _derive(master, b"token"), key_id)
            return self._keys

    @property
    def key_id(self) -> str:
        """8 hex digits naming this vault's key (safe to show or log)."""
        return self._load()[2]

    # --- sealing -------------------------------------------------------------

    def seal(self, value: str, *, context: str = "") -> str:
        """Encrypt ``value``; a fresh nonce each time, so equal values seal differently."""
        aead, _, key_id = self._load()
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = aead.encrypt(nonce, value.encode("utf-8"), context.encode("utf-8"))
        return f"{TOKEN_VERSION}.{key_id}.{_b64encode(nonce + sealed)}"

    def unseal(self, token: str, *, context: str = "") -> str:
        """Decrypt a value from :meth:`seal` with the same ``context``."""
        aead, _, key_id = self._load()
        token_key_id, raw = self._split(token)
        if token_key_id != key_id:
            raise StorageError(
                f"This value was sealed with another key (key id {token_key_id}); "
                f"this installation's key id is {key_id}.",
                hint="Restore the personal-data key file that belongs to this data.",
            )
        try:
            plain = aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode("utf-8"))
        except InvalidTag:
            raise StorageError(
                "A sealed personal value is damaged or was altered, or belongs to "
                "another field; it cannot be opened.",
                hint="Ask the member to submit the number again.",
            ) from None
        return plain.decode("utf-8")

    @staticmethod
    def _split(token: str) -> tuple[str, bytes]:
        parts = token.split(".")
        bad = ValidationError("This is not a sealed personal value (malformed token).")
        if len(parts) != 3 or parts[0] != TOKEN_VERSION:
            raise bad
        try:
            raw = _b64decode(parts[2])
        except (binascii.Error, ValueError):
            raise bad from None
        if len(raw) < NONCE_BYTES + 16:
            raise bad
        return parts[1], raw

    # --- tokens: equal numbers, equal tokens; the number cannot be read back ----------

    def aadhaar_token(self, aadhaar: str) -> str:
        """Keyed HMAC-SHA256 of the normalised Aadhaar (hex)."""
        return self._token(validate_aadhaar(aadhaar).encode("ascii"))

    def pan_token(self, pan: str) -> str:
        """Keyed HMAC-SHA256 of ``pan:`` and the normalised PAN (hex); the prefix keeps
        it apart from every Aadhaar token made with the same key."""
        return self._token(b"pan:" + validate_pan(pan).encode("ascii"))

    def _token(self, message: bytes) -> str:
        _, token_key, _ = self._load()
        return hmac.new(token_key, message, hashlib.sha256).hexdigest()
