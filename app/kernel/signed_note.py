"""C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys.

A note is UTF-8 text ending in a newline, a blank line, then one or more signature
lines ``— <key name> <base64(4-byte key ID || signature)>``. Two signature types:

* ``0x01`` Ed25519 over the note text (a log signing its checkpoints);
* ``0x04`` a timestamped Ed25519 cosignature (c2sp.org/tlog-cosignature, v1): the
  signature is ``u64 timestamp (big-endian) || Ed25519 signature`` over
  ``"cosignature/v1\\ntime <timestamp>\\n" || note text``.

``key ID = SHA-256(key name || 0x0A || type || 32-byte public key)[:4]``. A verifier
key is written ``<name>+<8 hex of the key ID>+<base64(type || public key)>``, a
signer key ``PRIVATE+KEY+<name>+<8 hex>+<base64(type || 32-byte seed)>`` (the forms
of golang.org/x/mod/sumdb/note and the Go transparency-log tools).

``open_note`` follows the spec: signatures from unknown keys are ignored, one that
fails from a known key rejects the note, and a note no known key verifies is rejected.
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from hashlib import sha256

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from app.kernel.merkle import ProofFailed

ED25519 = 0x01
COSIGNATURE_V1 = 0x04
DASH = "\u2014 "
MAX_SIGNATURES = 100
_MAX_TIMESTAMP = (1 << 63) - 1
_KINDS = {ED25519: "Ed25519", COSIGNATURE_V1: "Ed25519 cosignature/v1"}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ProofFailed(f"The {what} is not valid base64.") from None


def check_name(name: str) -> str:
    """A key name (and checkpoint origin): non-empty, no spaces, no ``+``.

    Raises:
        ProofFailed: it is not a valid key name.
    """
    if not name or "+" in name or any(c.isspace() for c in name) or not name.isprintable():
        raise ProofFailed(f"{name!r} is not a valid key name (no spaces, no '+', not empty).")
    return name


def key_id(name: str, kind: int, public: bytes) -> bytes:
    return sha256(name.encode() + b"\n" + bytes([kind]) + public).digest()[:4]


def _message(kind: int, text: str, timestamp: int) -> bytes:
    if kind == COSIGNATURE_V1:
        return b"cosignature/v1\ntime %d\n" % timestamp + text.encode()
    return text.encode()


@dataclass(frozen=True)
class Verifier:
    """A public key that checks one kind of signature, under one key name."""

    name: str
    kind: int
    public: bytes

    def __post_init__(self) -> None:
        check_name(self.name)
        if self.kind not in _KINDS or len(self.public) != 32:
            raise ProofFailed("Only 32-byte Ed25519 keys of type 0x01 or 0x04 are supported.")

    @cached_property
    def key_id(self) -> bytes:
        return key_id(self.name, self.kind, self.public)

    @property
    def vkey(self) -> str:
        """The verifier key in note form: ``<name>+<hex key ID>+<base64(type || key)>``."""
        return f"{self.name}+{self.key_id.hex()}+{b64(bytes([self.kind]) + self.public)}"

    @classmethod
    def parse(cls, vkey: str) -> Verifier:
        """Read a verifier key in note form.

        Raises:
            ProofFailed: it is malformed, or its key ID does not match its key.
        """
        name, _, rest = vkey.strip().partition("+")
        hex_id, _, key64 = rest.partition("+")
        if len(hex_id) != 8 or not key64:
            raise ProofFailed(f"{vkey!r} is not a verifier key (<name>+<8 hex>+<base64 key>).")
        key = unb64(key64, "verifier key")
        if not key:
            raise ProofFailed(f"The verifier key {vkey!r} holds no key.")
        verifier = cls(name, key[0], key[1:])
        if verifier.key_id.hex() != hex_id.lower():
            raise ProofFailed(f"The verifier key {vkey!r} has the wrong key ID for its key.")
        return verifier

    @cached_property
    def _key(self) -> Ed25519PublicKey:
        return Ed25519PublicKey.from_public_bytes(self.public)

    def verify(self, text: str, signature: bytes) -> int | None:
        """Check ``signature`` (without its key ID) over ``text``; the cosignature's
        timestamp for type 0x04.

        Raises:
            ProofFailed: the signature does not verify.
        """
        timestamp = None
        if self.kind == COSIGNATURE_V1:
            if len(signature) != 72:
                raise ProofFailed(f"{self.name}'s cosignature is not 72 bytes long.")
            (timestamp,) = struct.unpack(">Q", signature[:8])
            signature = signature[8:]
        try:
            self._key.verify(signature, _message(self.kind, text, timestamp or 0))
        except InvalidSignature:
            raise ProofFailed(
                f"{self.name}'s signature does not verify: the signed text was changed."
            ) from None
        return timestamp


class Signer:
    """A private Ed25519 key that signs notes under a key name."""

    def __init__(self, name: str, key: Ed25519PrivateKey, kind: int = ED25519) -> None:
        public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.verifier = Verifier(name, kind, public)
        self._key = key

    @property
    def name(self) -> str:
        return self.verifier.name

    @classmethod
    def from_seed(cls, name: str, seed: bytes, kind: int = ED25519) -> Signer:
        return cls(name, Ed25519PrivateKey.from_private_bytes(seed), kind)

    @classmethod
    def generate(cls, name: str, kind: int = ED25519) -> Signer:
        return cls(name, Ed25519PrivateKey.generate(), kind)

    @classmethod
    def parse(cls, skey: str) -> Signer:
        """Read a signer key ``PRIVATE+KEY+<name>+<hex key ID>+<base64(type || seed)>``.

        Raises:
            ProofFailed: it is malformed or its key ID does not match.
        """
        parts = skey.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise ProofFailed("This is not a signer key (PRIVATE+KEY+<name>+<hex>+<key>).")
        data = unb64(parts[4], "signer key")
        if len(data) != 33:
            raise ProofFailed("The signer key does not hold a 32-byte Ed25519 seed.")
        signer = cls.from_seed(parts[2], data[1:], data[0])
        if signer.verifier.key_id.hex() != parts[3].lower():
            raise ProofFailed("The signer key has the wrong key ID for its key.")
        return signer

    @property
    def skey(self) -> str:
        seed = self._key.private_bytes_raw()
        v = self.verifier
        return f"PRIVATE+KEY+{v.name}+{v.key_id.hex()}+{b64(bytes([v.kind]) + seed)}"

    def sign(self, text: str, timestamp: int = 0) -> str:
        """The signature line for ``text`` (a cosignature carries ``timestamp``)."""
        _check_text(text)
        if not 0 <= timestamp <= _MAX_TIMESTAMP:
            raise ProofFailed(f"A cosignature's time must be 0 to 2^63-1, not {timestamp}.")
        signature = self._key.sign(_message(self.verifier.kind, text, timestamp))
        if self.verifier.kind == COSIGNATURE_V1:
            signature = struct.pack(">Q", timestamp) + signature
        return f"{DASH}{self.name} {b64(self.verifier.key_id + signature)}\n"


@dataclass(frozen=True)
class Signature:
    """One signature line of a note."""

    name: str
    key_id: bytes
    signature: bytes
    line: str


@dataclass(frozen=True)
class Note:
    """A note's text and signature lines, as written (nothing verified yet)."""

    text: str
    signatures: tuple[Signature, ...] = field(default=())

    def __str__(self) -> str:
        return self.text + "\n" + "".join(s.line for s in self.signatures)

    def with_lines(self, lines: Sequence[str]) -> Note:
        """This note with more signature lines (one per key: a new line replaces an
        older one from the same key)."""
        extra = parse(self.text + "\n" + "".join(lines)).signatures
        keys = {(s.name, s.key_id) for s in extra}
        kept = tuple(s for s in self.signatures if (s.name, s.key_id) not in keys)
        return Note(self.text, kept + extra)


@dataclass(frozen=True)
class Verified:
    """A signature that checked out: who made it, and a cosignature's timestamp."""

    verifier: Verifier
    timestamp: int | None


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise ProofFailed("A note's text must end with a newline.")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise ProofFailed("A note must not hold control characters other than newlines.")


def parse(note: str) -> Note:
    """Split a signed note into its text and signature lines.

    Raises:
        ProofFailed: it is not a well-formed signed note.
    """
    _check_text(note)
    cut = note.rfind("\n\n")
    if cut < 0:
        raise ProofFailed("This is not a signed note: no blank line before the signatures.")
    text, lines = note[: cut + 1], note[cut + 2 :].splitlines()
    if not lines or len(lines) > MAX_SIGNATURES:
        raise ProofFailed(f"A signed note needs 1 to {MAX_SIGNATURES} signature lines.")
    return Note(text, tuple(_signature(line) for line in lines))


def _signature(line: str) -> Signature:
    name, _, sig64 = line.removeprefix(DASH).partition(" ")
    if not line.startswith(DASH) or not sig64 or " " in sig64:
        raise ProofFailed(f"{line!r} is not a signature line ('— <name> <base64>').")
    data = unb64(sig64, f"signature of {name}")
    if len(data) < 5:
        raise ProofFailed(f"The signature of {name} is too short.")
    return Signature(check_name(name), data[:4], data[4:], line + "\n")


def open_note(note: str | Note, verifiers: Sequence[Verifier]) -> tuple[Note, list[Verified]]:
    """Parse ``note`` and check the signatures of the known ``verifiers``.

    Returns the note and what verified (unknown keys are ignored, as the spec says).

    Raises:
        ProofFailed: it is malformed, a known key's signature fails, or none verifies.
    """
    parsed = note if isinstance(note, Note) else parse(note)
    known = {(v.name, v.key_id): v for v in verifiers}
    verified: dict[tuple[str, bytes], Verified] = {}
    for sig in parsed.signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is not None and (sig.name, sig.key_id) not in verified:
            verified[(sig.name, sig.key_id)] = Verified(
                verifier, verifier.verify(parsed.text, sig.signature)
            )
    if not verified:
        names = ", ".join(sorted({f"{s.name} ({s.key_id.hex()})" for s in parsed.signatures}))
        wanted = ", ".join(v.vkey for v in verifiers) or "none"
        raise ProofFailed(
            f"The note is signed by {names}, none of them a key asked for ({wanted})."
        )
    return parsed, list(verified.values())
