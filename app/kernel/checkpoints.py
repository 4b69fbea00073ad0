"""Checkpoints (c2sp.org/tlog-checkpoint), witness cosignatures, and where they are kept.

A checkpoint is the text of a signed note::

    <origin>\\n
    <tree size, decimal>\\n
    <base64 of the RFC 6962 root hash>\\n

signed by the log's Ed25519 key (note type 0x01, key name = origin). A witness
cosigns one (c2sp.org/tlog-cosignature v1, type 0x04) after checking that it extends
the last checkpoint it cosigned for that log: a cosignature says "as of this time,
this is the largest consistent tree I have seen for this log".

On disk (``CheckpointStore``, in ``DATA_DIR/checkpoints``)::

    latest                     the newest checkpoint signed (a signed note)
    cosigned/<size>-<root>.note  every checkpoint a witness cosigned, with all
                               its signature lines (one per witness: the newest)
    witnesses                  the verifier keys of the witnesses, one per line

``latest`` is replaced atomically, and only by a larger checkpoint: processes that
sign at the same time never move it backwards. Cosigned notes are written durably
(they cannot be made again), ``latest`` is not (it is signed again from the log).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.kernel import flock
from app.kernel.files import PRIVATE_DIR, PRIVATE_FILE, write_durably
from app.kernel.merkle import HASH_SIZE, ProofFailed, verify_consistency
from app.kernel.signed_note import (
    COSIGNATURE_V1,
    Note,
    Signer,
    Verifier,
    b64,
    check_name,
    open_note,
    parse,
    unb64,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head: its origin, its size (records) and its root hash."""

    origin: str
    size: int
    root: bytes

    @property
    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{b64(self.root)}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Read the text of a checkpoint (extension lines are refused: we never write any).

        Raises:
            ProofFailed: it is not a checkpoint.
        """
        lines = text.split("\n")
        if len(lines) != 4 or lines[3] != "":
            raise ProofFailed("A checkpoint is three lines: origin, tree size, root hash.")
        origin, size, root64 = lines[:3]
        if not size.isascii() or not size.isdigit() or (size != "0" and size.startswith("0")):
            raise ProofFailed(f"The checkpoint's tree size {size!r} is not a plain number.")
        root = unb64(root64, "checkpoint's root hash")
        if len(root) != HASH_SIZE:
            raise ProofFailed("The checkpoint's root hash is not 32 bytes.")
        return cls(check_name(origin), int(size), root)


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint and the signed note that carries it (log signature first)."""

    checkpoint: Checkpoint
    note: Note

    @property
    def size(self) -> int:
        return self.checkpoint.size

    @property
    def root(self) -> bytes:
        return self.checkpoint.root

    @property
    def text(self) -> str:
        """The whole signed note, as served and saved."""
        return str(self.note)

    @classmethod
    def sign(cls, checkpoint: Checkpoint, signer: Signer) -> SignedCheckpoint:
        text = checkpoint.text
        return cls(checkpoint, parse(text + "\n" + signer.sign(text)))

    @classmethod
    def open(cls, note: str | Note, log_key: Verifier) -> SignedCheckpoint:
        """Check the log's signature on ``note`` and read its checkpoint.

        Raises:
            ProofFailed: it is not a checkpoint signed by ``log_key``.
        """
        parsed, _ = open_note(note, [log_key])
        checkpoint = Checkpoint.parse(parsed.text)
        if checkpoint.origin != log_key.name:
            raise ProofFailed(
                f"The checkpoint is for the log {checkpoint.origin!r}, not {log_key.name!r}."
            )
        return cls(checkpoint, parsed)


@dataclass(frozen=True)
class Cosignature:
    """A witness's cosignature: who, with which key, and when (POSIX seconds)."""

    witness: str
    vkey: str
    timestamp: int

    def to_dict(self) -> dict[str, str | int]:
        return {"witness": self.witness, "vkey": self.vkey, "timestamp": self.timestamp}


@dataclass(frozen=True)
class WitnessedCheckpoint:
    """A cosigned checkpoint and the cosignatures that verified."""

    signed: SignedCheckpoint
    cosignatures: tuple[Cosignature, ...]


def cosign(
    signed: SignedCheckpoint,
    witness: Signer,
    *,
    timestamp: int,
    previous: Checkpoint | None = None,
    proof: Sequence[bytes] = (),
) -> str:
    """The witness's cosignature line for ``signed`` (already opened with the log's key).

    ``previous`` is the last checkpoint this witness cosigned for the log; ``proof``
    the consistency proof from it to ``signed``. A witness never cosigns a checkpoint
    that does not extend what it cosigned before.

    Raises:
        ProofFailed: the witness key is not a cosignature key, or the checkpoint does
            not extend ``previous``.
    """
    if witness.verifier.kind != COSIGNATURE_V1:
        raise ProofFailed("A witness cosigns with a cosignature/v1 key (type 0x04).")
    if previous is not None:
        if previous.origin != signed.checkpoint.origin:
            raise ProofFailed(f"{previous.origin} is another log than {signed.checkpoint.origin}.")
        verify_consistency(previous.size, signed.size, proof, previous.root, signed.root)
    return witness.sign(signed.note.text, timestamp)


def witnesses_of(signed: SignedCheckpoint, keys: Sequence[Verifier]) -> tuple[Cosignature, ...]:
    """The cosignatures on ``signed`` by the witness ``keys`` that verify.

    Raises:
        ProofFailed: a known witness's cosignature does not verify.
    """
    ours = [k for k in keys if k.kind == COSIGNATURE_V1]
    found = []
    for sig in signed.note.signatures:
        for key in ours:
            if (sig.name, sig.key_id) == (key.name, key.key_id):
                stamp = key.verify(signed.note.text, sig.signature)
                found.append(Cosignature(key.name, key.vkey, stamp or 0))
    return tuple(found)


class CheckpointStore:
    """The checkpoint files of one log (see module docstring)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.latest_path = folder / "latest"
        self.cosigned_dir = folder / "cosigned"
        self.witnesses_path = folder / "witnesses"
        self._seen: tuple[str, str, SignedCheckpoint | None] = ("", "", None)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Exclusive use of the folder, between threads and processes alike."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
        self.cosigned_dir.mkdir(exist_ok=True, mode=PRIVATE_DIR)
        fd = os.open(self.folder / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE)
        try:
            flock.lock(fd)
            yield
        finally:
            os.close(fd)

    # -- latest ------------------------------------------------------------------------

    def latest(self, log_key: Verifier) -> SignedCheckpoint | None:
        """The newest checkpoint saved, or ``None`` (also when the file is damaged)."""
        try:
            text = self.latest_path.read_text("utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("Ignoring the unreadable checkpoint %s: %s", self.latest_path, exc)
            return None
        seen_text, seen_key, seen = self._seen
        if seen is not None and (text, log_key.vkey) == (seen_text, seen_key):
            return seen  # read and verified before (the signer reads it before each signing)
        try:
            signed = SignedCheckpoint.open(text, log_key)
        except ProofFailed as exc:
            log.warning("Ignoring the checkpoint %s: %s", self.latest_path, exc)
            return None
        self._seen = (text, log_key.vkey, signed)
        return signed

    def save_latest(self, signed: SignedCheckpoint, log_key: Verifier) -> SignedCheckpoint:
        """Make ``signed`` the latest, unless a larger one is there; the one kept."""
        with self._locked():
            current = self.latest(log_key)
            if current is not None and current.size >= signed.size:
                return current
            tmp = self.folder / f".latest.{secrets.token_hex(6)}.tmp"
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE_FILE)
                with os.fdopen(fd, "w", encoding="utf-8") as file:
                    file.write(signed.text)
                os.replace(tmp, self.latest_path)
            finally:
                tmp.unlink(missing_ok=True)
            self._seen = (signed.text, log_key.vkey, signed)
        return signed

    # -- cosigned ----------------------------------------------------------------------

    def _cosigned_path(self, checkpoint: Checkpoint) -> Path:
        return self.cosigned_dir / f"{checkpoint.size:012d}-{checkpoint.root.hex()[:16]}.note"

    def add_cosignature(
        self, signed: SignedCheckpoint, line: str, witness: Verifier, log_key: Verifier
    ) -> WitnessedCheckpoint:
        """Keep ``signed`` with the witness's cosignature ``line`` (checked first)."""
        cosigned = SignedCheckpoint(signed.checkpoint, signed.note.with_lines([line]))
        if not witnesses_of(cosigned, [witness]):
            raise ProofFailed(f"The cosignature is not by the witness key {witness.vkey}.")
        with self._locked():
            path = self._cosigned_path(signed.checkpoint)
            kept = self._read_cosigned(path, log_key)
            note = (kept or signed).note.with_lines([line])
            write_durably(path, str(note).encode("utf-8"))
            self._remember(witness)
        return self._witnessed(SignedCheckpoint(signed.checkpoint, note), self.witness_keys())

    def _remember(self, witness: Verifier) -> None:
        known = {key.vkey for key in self.witness_keys()}
        if witness.vkey not in known:
            text = "".join(f"{vkey}\n" for vkey in sorted(known | {witness.vkey}))
            write_durably(self.witnesses_path, text.encode("utf-8"))

    def witness_keys(self) -> list[Verifier]:
        try:
            lines = self.witnesses_path.read_text("utf-8").split()
        except FileNotFoundError:
            return []
        return [Verifier.parse(line) for line in lines]

    def _read_cosigned(self, path: Path, log_key: Verifier) -> SignedCheckpoint | None:
        try:
            return SignedCheckpoint.open(path.read_text("utf-8"), log_key)
        except FileNotFoundError:
            return None

    def cosigned(self, log_key: Verifier) -> list[WitnessedCheckpoint]:
        """Every cosigned checkpoint kept, oldest first, with the cosignatures that verify.

        Raises:
            ProofFailed: a kept file no longer verifies (it was changed on disk).
        """
        keys = self.witness_keys()
        out = []
        for path in sorted(self.cosigned_dir.glob("*.note")):
            signed = self._read_cosigned(path, log_key)
            if signed is not None:
                out.append(self._witnessed(signed, keys))
        return out

    @staticmethod
    def _witnessed(signed: SignedCheckpoint, keys: Sequence[Verifier]) -> WitnessedCheckpoint:
        return WitnessedCheckpoint(signed, witnesses_of(signed, keys))
