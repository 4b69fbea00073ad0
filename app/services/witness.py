"""An auditor as a witness: cosigning the log's checkpoints with their own key.

A witness (c2sp.org/tlog-cosignature) vouches that, as far as it has seen, the log
has one history: it cosigns a checkpoint only after checking that it extends the
last one it cosigned. Its state is two files it keeps itself, side by side:

* the key file: the witness's Ed25519 key in note form
  (``PRIVATE+KEY+<name>+<hex key ID>+<base64(0x04 || seed)>``), mode 0600, made by
  :func:`create_key`;
* ``<key file>.checkpoint``: the last checkpoint it cosigned, as a signed note (the
  log's signature and the witness's cosignature). It pins the log's key as well: a
  witness does not follow a log to a new key.

The last checkpoint is kept on the witness's side, not in the data directory: a log
rewritten together with its checkpoint files cannot make the witness forget what it
saw. The cosigned checkpoint is also kept with the log (``checkpoints/cosigned/``),
where the audit report lists it.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from app.kernel.checkpoints import Checkpoint, SignedCheckpoint
from app.kernel.errors import KnownError, StorageError, ValidationError
from app.kernel.files import PRIVATE_FILE, write_durably
from app.kernel.merkle import ProofFailed
from app.kernel.signed_note import COSIGNATURE_V1, Signer, check_name
from app.kernel.tlog import TransparencyLog

NEW_KEY_HINT = "Make one with --new-key (and --name)."


def state_path(key_path: Path) -> Path:
    """Where the witness with the key at ``key_path`` keeps the last checkpoint it cosigned."""
    return key_path.with_name(key_path.name + ".checkpoint")


@dataclass(frozen=True)
class Cosigned:
    """What one cosigning did: the checkpoint, the witness, the one it extends."""

    witness: str
    vkey: str
    size: int
    root: str
    previous_size: int | None
    note: str

    @property
    def message(self) -> str:
        if self.previous_size is None:
            before = "the first checkpoint this key cosigned for this log"
        elif self.previous_size == self.size:
            before = "the log has not grown since you cosigned it last"
        else:
            before = f"it extends the checkpoint you cosigned before (size {self.previous_size})"
        return (
            f"Cosigned the log's checkpoint of size {self.size} (root {self.root}) as "
            f"{self.witness}: {before}."
        )


def create_key(path: Path, name: str) -> Signer:
    """A new witness key named ``name``, written to ``path`` (which must not exist) at
    mode 0600.

    Raises:
        ValidationError: the name is not a valid key name.
        KnownError: the file exists or cannot be written.
    """
    try:
        signer = Signer.generate(check_name(name.strip()), COSIGNATURE_V1)
    except ProofFailed as exc:
        raise ValidationError(f"--name: {exc}") from None
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE_FILE)
    except FileExistsError:
        raise KnownError(
            f"{path} exists already; a new key is never written over a key.",
            hint="Leave out --new-key to cosign with it, or name another file.",
        ) from None
    except OSError as exc:
        raise StorageError(f"Cannot create the key file {path}: {exc.strerror}.") from exc
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(signer.skey + "\n")
        file.flush()
        os.fsync(file.fileno())
    return signer


def load_key(path: Path) -> Signer:
    """The witness key in ``path``: the owner's alone, a cosignature key.

    Raises:
        KnownError: it is missing, readable by others, or not a witness key.
    """
    try:
        mode = path.stat().st_mode
        text = path.read_text("ascii")
    except FileNotFoundError:
        raise KnownError(f"There is no witness key at {path}.", hint=NEW_KEY_HINT) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise StorageError(f"Cannot read the witness key {path}: {exc}.") from exc
    if os.name == "posix" and stat.S_IMODE(mode) & 0o077:
        raise KnownError(
            f"The witness key {path} can be read by other users "
            f"(mode {stat.S_IMODE(mode):04o}); it is not used.",
            hint=f"Make it yours alone (chmod 600 {path}) and check who may have copied it.",
        )
    try:
        signer = Signer.parse(text)
    except ProofFailed as exc:
        raise KnownError(f"{path} is not a witness key: {exc}", hint=NEW_KEY_HINT) from None
    if signer.verifier.kind != COSIGNATURE_V1:
        raise KnownError(
            f"{path} holds a signing key, not a witness (cosignature/v1) key.", hint=NEW_KEY_HINT
        )
    return signer


def last_cosigned(key_path: Path, tlog: TransparencyLog) -> Checkpoint | None:
    """The checkpoint this witness cosigned last for ``tlog``, checked with the log's key.

    Raises:
        ProofFailed: the kept checkpoint is not signed by the log's key now.
    """
    path = state_path(key_path)
    try:
        note = path.read_text("utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise StorageError(f"Cannot read {path}: {exc}.") from exc
    try:
        return SignedCheckpoint.open(note, tlog.verifier).checkpoint
    except ProofFailed as exc:
        raise ProofFailed(
            f"The checkpoint you cosigned last ({path}) is not signed by this log's key "
            f"{tlog.verifier_key}: {exc} A witness does not follow a log to another key "
            "or another log; nothing was cosigned."
        ) from None


def cosign(tlog: TransparencyLog, key_path: Path) -> Cosigned:
    """Cosign the log's latest checkpoint with the witness key at ``key_path``, after
    checking it extends the last one this witness cosigned; remember it.

    Raises:
        ProofFailed: the log does not extend what the witness cosigned before.
        KnownError: the key cannot be used.
    """
    signer = load_key(key_path)
    previous = last_cosigned(key_path, tlog)
    try:
        witnessed = tlog.witness(signer, previous=previous)
    except ProofFailed as exc:
        raise ProofFailed(
            f"The log does not extend the checkpoint you cosigned last (size "
            f"{previous.size if previous else 0}): {exc} Nothing was cosigned."
        ) from None
    signed = witnessed.signed
    write_durably(state_path(key_path), signed.text.encode("utf-8"))
    return Cosigned(
        signer.name,
        signer.verifier.vkey,
        signed.size,
        signed.root.hex(),
        previous.size if previous else None,
        signed.text,
    )
