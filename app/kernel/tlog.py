"""The write-ahead log as a transparency log: signed checkpoints, proofs, witnesses.

A hash chain proves that a log is self-consistent, not that it is the log people
saw yesterday: whoever can write the file can change record k and recompute every
later hash. A signed checkpoint (c2sp.org/tlog-checkpoint) commits to the Merkle
root of the first N records; anyone who kept one can later ask for a consistency
proof (RFC 9162) and see whether today's log still extends it, and check that a
record is in it with an inclusion proof, without trusting the operator.

``TransparencyLog`` is what front ends call (the CLI, the HTTP API and the reports
come later; they need nothing else):

=====================================  =============================================
``verifier_key``                       the log's key in note form
                                       ``<origin>+<hex key ID>+<base64(0x01 || key)>``
``checkpoint()``                       the latest ``SignedCheckpoint`` (``.text`` is
                                       the signed note), signed now if the log grew
``prove(lsn, size=None)``              ``{"lsn", "size", "leaf_hash", "proof"}``
``consistency(first, second=None)``    ``{"from", "to", "proof"}``
``check(note)``                        a ``CheckReport``: does the log still have
                                       the root a saved checkpoint signed? if not,
                                       what no longer matches
``witness(cosigner)``                  cosign the latest checkpoint with a witness
                                       key, after checking it extends the last one
                                       that witness cosigned; kept on disk
``add_cosignature(note, vkey)``        keep a cosignature made elsewhere
``witnessed()``                        the cosigned checkpoints, with their witnesses
=====================================  =============================================

Hashes in the JSON are lowercase hex; ``check_inclusion`` and ``check_consistency``
verify those documents against checkpoints (what a member's browser does).

Signing
-------
The key is made on first use (``DATA_DIR/keys/checkpoint.key``, 32 random bytes,
mode 0600); the origin and key name are ``transactflowos/<16 hex of SHA-256 of the
public key>``, so they never change for a data directory. A checkpoint is signed
after each batch the log writes, but at most once per ``interval`` seconds (a
background thread; the batch itself only marks the tree as grown); ``checkpoint()``
signs at once, in memory, when the latest is behind. The background thread keeps the
newest in ``DATA_DIR/checkpoints/latest``.

A log must never sign two histories: before signing, the tree's root at the size
of the latest saved checkpoint must equal that checkpoint's root. When it does not
(the log was rewritten, or restored from an older backup) nothing more is signed and
``checkpoint()`` raises ``LogForked`` saying so.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from hashlib import sha256
from itertools import islice
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.kernel.checkpoints import (
    Checkpoint,
    CheckpointStore,
    SignedCheckpoint,
    WitnessedCheckpoint,
    cosign,
)
from app.kernel.errors import KnownError, StorageError
from app.kernel.files import load_or_create_key
from app.kernel.log_tree import LogTree, log_lines
from app.kernel.merkle import (
    Frontier,
    ProofFailed,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from app.kernel.signed_note import Signer, Verifier, parse
from app.kernel.wal import WriteAheadLog

log = logging.getLogger(__name__)

ORIGIN_PREFIX = "transactflowos/"
KEY_HINT = (
    "Restore DATA_DIR/keys/checkpoint.key from the backup of the data directory: "
    "with a new key, nobody can check the checkpoints signed so far."
)


class LogForked(KnownError):
    """The log no longer extends a checkpoint it signed; nothing more is signed."""

    code = "log_forked"


def origin_for(public: bytes) -> str:
    """The origin (and key name) of the log whose key is ``public``."""
    return ORIGIN_PREFIX + sha256(public).hexdigest()[:16]


@dataclass(frozen=True)
class CheckReport:
    """What ``check`` found for one saved checkpoint."""

    ok: bool
    problems: tuple[str, ...]
    size: int | None = None
    root: str | None = None
    log_records: int | None = None
    log_root: str | None = None

    @property
    def message(self) -> str:
        if self.ok:
            return (
                f"The log's first {self.size} records still have root {self.root}, "
                "as the checkpoint says."
            )
        return " ".join(self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "message": self.message,
            "problems": list(self.problems),
            "size": self.size,
            "root": self.root,
            "log_records": self.log_records,
            "log_root": self.log_root,
        }


class _Cadence:
    """Runs ``job`` soon after a ``poke``, at most once per ``interval`` seconds."""

    def __init__(self, job: Callable[[], None], interval: float) -> None:
        self._job = job
        self._interval = interval
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tlog-signer", daemon=True)
        self._last = float("-inf")

    def start(self) -> None:
        self._thread.start()

    def poke(self) -> None:
        if not self._wake.is_set():
            self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            # Cleared before looking at the stop flag: ``close`` sets the flag first,
            # so a wake-up from ``close`` is never cleared unseen.
            self._wake.clear()
            if self._stopping.is_set():
                return
            delay = self._last + self._interval - time.monotonic()
            if delay > 0 and self._stopping.wait(delay):
                return
            self._last = time.monotonic()
            self._job()

    def close(self) -> None:
        self._stopping.set()  # before the wake-up: see _run
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join()


class TransparencyLog:
    """Signed checkpoints and proofs over one write-ahead log (see module docstring)."""

    def __init__(
        self,
        wal: WriteAheadLog,
        *,
        key_path: Path,
        checkpoints_dir: Path,
        interval: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.wal = wal
        self.key_path = key_path
        self.store = CheckpointStore(checkpoints_dir)
        self._clock = clock
        self._signer: Signer | None = None
        self._latest: SignedCheckpoint | None = None
        self._saved: SignedCheckpoint | None = None
        self._signing = threading.Lock()
        self._cadence = _Cadence(self._sign_in_background, interval)
        self._started = False
        self._problem = ""

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Sign after each batch from now on (and once now, if the log is ahead)."""
        self.tree.on_grow = lambda _size: self._cadence.poke()
        self._cadence.start()
        self._started = True
        self._cadence.poke()

    def close(self) -> None:
        """Stop signing in the background; sign what the log holds now, if anything new."""
        tree = self.wal.tree
        if tree is not None:
            tree.on_grow = None
        self._cadence.close()
        self._started = False
        if tree is not None and tree.is_open:
            self._sign_in_background()

    def _sign_in_background(self) -> None:
        try:
            self.checkpoint()
            self._save()
            self._problem = ""
        except KnownError as exc:
            if str(exc) != self._problem:  # once per problem, not once a second
                self._problem = str(exc)
                log.error("No checkpoint signed: %s", exc)
        except Exception as exc:
            if repr(exc) != self._problem:
                self._problem = repr(exc)
                log.exception("Signing a checkpoint failed")

    # -- keys ----------------------------------------------------------------------------

    @property
    def signer(self) -> Signer:
        if self._signer is None:
            try:
                seed = load_or_create_key(
                    self.key_path, "checkpoint signing key", 32, damaged_hint=KEY_HINT
                )
            except OSError as exc:
                raise StorageError(
                    f"Cannot read or create the checkpoint signing key {self.key_path}: "
                    f"{exc.strerror or exc}.",
                    hint="Check that the data folder's keys folder exists and is writable.",
                ) from exc
            key = Ed25519PrivateKey.from_private_bytes(seed)
            self._signer = Signer(origin_for(key.public_key().public_bytes_raw()), key)
        return self._signer

    @property
    def verifier(self) -> Verifier:
        return self.signer.verifier

    @property
    def verifier_key(self) -> str:
        """The log's public key in note form, for verifiers to pin."""
        return self.verifier.vkey

    @property
    def origin(self) -> str:
        return self.verifier.name

    @property
    def tree(self) -> LogTree:
        tree = self.wal.tree
        if tree is None:
            raise StorageError(f"The write-ahead log {self.wal.path} keeps no Merkle tree.")
        return tree

    # -- checkpoints ---------------------------------------------------------------------

    def checkpoint(self) -> SignedCheckpoint:
        """The latest signed checkpoint, signed now if the log grew since the last one.

        Once ``start`` ran, a new one is saved by the background signer (within
        ``interval``), so this call does no disk write; before, it saves it itself.

        Raises:
            LogForked: the log no longer extends the latest checkpoint saved.
            StorageError: the key or the tree cannot be read.
        """
        tree = self.tree
        tree.refresh()
        size, root = tree.head()
        with self._signing:
            latest = self._latest
            if latest is None or latest.size != size or latest.root != root:
                latest = self._latest = self._sign(tree, size, root)
        if self._started:
            self._cadence.poke()
        else:
            self._save()
        return latest

    def _sign(self, tree: LogTree, size: int, root: bytes) -> SignedCheckpoint:
        saved = self.store.latest(self.verifier)
        if saved is not None and saved.size > size:
            return saved  # another process signed a larger tree than we have seen
        if saved is not None:
            self._guard(tree, saved)
        return SignedCheckpoint.sign(Checkpoint(self.origin, size, root), self.signer)

    def _save(self) -> None:
        """Write the latest checkpoint signed here, unless it was written already."""
        latest = self._latest
        if latest is not None and latest is not self._saved:
            self.store.save_latest(latest, self.verifier)
            self._saved = latest

    def _guard(self, tree: LogTree, saved: SignedCheckpoint) -> None:
        now = tree.root(saved.size)
        if now != saved.root:
            raise LogForked(
                f"The log no longer extends the checkpoint it signed at size {saved.size}: "
                f"its first {saved.size} records now have root {now.hex()}, the checkpoint "
                f"says {saved.root.hex()}. A log must never sign two histories, so no new "
                "checkpoint is signed.",
                hint="Run the check of saved checkpoints to see what changed. If the log "
                f"was restored from a backup on purpose, move {self.store.latest_path} "
                "aside and start again.",
            )

    # -- proofs --------------------------------------------------------------------------

    def _size(self, size: int | None) -> int:
        tree = self.tree
        tree.refresh()
        return tree.size if size is None else size

    def prove(self, lsn: int, size: int | None = None) -> dict[str, Any]:
        """The inclusion proof of record ``lsn`` in the tree of the first ``size`` records
        (default: all of them): ``{"lsn", "size", "leaf_hash", "proof"}``.

        Raises:
            ValidationError: there is no record ``lsn`` in a tree of ``size``.
        """
        size = self._size(size)
        path = self.tree.inclusion(lsn, size)
        return {
            "lsn": lsn,
            "size": size,
            "leaf_hash": self.tree.leaf(lsn).hex(),
            "proof": [h.hex() for h in path],
        }

    def consistency(self, first: int, second: int | None = None) -> dict[str, Any]:
        """The consistency proof from size ``first`` to ``second`` (default: the current
        size): ``{"from", "to", "proof"}``.

        Raises:
            ValidationError: the sizes are out of order or beyond the log.
        """
        second = self._size(second)
        path = self.tree.consistency(first, second)
        return {"from": first, "to": second, "proof": [h.hex() for h in path]}

    # -- checking a saved checkpoint -------------------------------------------------------

    def check(self, note: str) -> CheckReport:
        """Check a saved checkpoint against the log file itself (not the derived tree):
        its signature, and the root of the log's first ``size`` records."""
        try:
            signed = SignedCheckpoint.open(note, self.verifier)
        except ProofFailed as exc:
            return CheckReport(False, (f"The checkpoint does not verify: {exc}",))
        cp = signed.checkpoint
        records, root = self._log_root(cp.size)
        problems = self._problems(cp, records, root)
        log_root = root.hex() if records == cp.size else None
        return CheckReport(not problems, problems, cp.size, cp.root.hex(), records, log_root)

    def _problems(self, cp: Checkpoint, records: int, root: bytes) -> tuple[str, ...]:
        if records < cp.size:
            return (
                f"The checkpoint covers {cp.size} records, but the log has only {records}: "
                f"records {records + 1} to {cp.size} are gone.",
            )
        return self._mismatch(cp, root) if root != cp.root else ()

    def _mismatch(self, cp: Checkpoint, root: bytes) -> tuple[str, ...]:
        problems = [
            f"The log's first {cp.size} records have root {root.hex()}, the checkpoint "
            f"says {cp.root.hex()}: at least one of them was changed after the checkpoint "
            "was signed."
        ]
        report = self.wal.tree_report
        if report is not None and report.diverged_at is not None:
            problems.append(
                f"When the log was opened, its record {report.diverged_at} no longer matched "
                "the Merkle tree kept beside it."
            )
        return tuple(problems)

    def _log_root(self, size: int) -> tuple[int, bytes]:
        """How many of the first ``size`` records the log file has, and their root."""
        frontier = Frontier()
        try:
            with open(self.wal.path, "rb", buffering=0) as file:
                stop = file.seek(0, 2)
                lines = islice(log_lines(file.fileno(), 1, stop), size if stop else 0)
                while chunk := list(islice(lines, 20_000)):
                    frontier.extend(chunk)
        except OSError as exc:
            raise StorageError(
                f"Cannot read the write-ahead log {self.wal.path}: {exc.strerror or exc}."
            ) from exc
        return frontier.size, frontier.root()

    # -- witnesses -------------------------------------------------------------------------

    def witness(
        self,
        cosigner: Signer,
        *,
        previous: Checkpoint | None = None,
        timestamp: int | None = None,
    ) -> WitnessedCheckpoint:
        """Cosign the latest checkpoint with a witness's key and keep the cosignature.

        ``previous`` is the last checkpoint this witness cosigned (default: the newest
        one kept here with its cosignature); the latest must extend it.

        Raises:
            ProofFailed: the log does not extend ``previous``, or the key is not a
                cosignature key.
            LogForked: the log does not extend its own latest checkpoint.
        """
        signed = self.checkpoint()
        if previous is None:
            previous = self._last_cosigned_by(cosigner.verifier)
        proof = [] if previous is None else self._proof_from(previous, signed.size)
        stamp = int(self._clock()) if timestamp is None else timestamp
        line = cosign(signed, cosigner, timestamp=stamp, previous=previous, proof=proof)
        return self.store.add_cosignature(signed, line, cosigner.verifier, self.verifier)

    def _proof_from(self, previous: Checkpoint, size: int) -> list[bytes]:
        if previous.size > size:
            raise ProofFailed(
                f"The witness has cosigned a tree of {previous.size} records; the log now "
                f"has {size}: it lost records."
            )
        return self.tree.consistency(previous.size, size)

    def _last_cosigned_by(self, witness: Verifier) -> Checkpoint | None:
        mine = [
            w.signed.checkpoint
            for w in self.store.cosigned(self.verifier)
            if any(c.vkey == witness.vkey for c in w.cosignatures)
        ]
        return max(mine, key=lambda cp: cp.size, default=None)

    def add_cosignature(self, note: str, witness_vkey: str) -> WitnessedCheckpoint:
        """Keep a checkpoint cosigned elsewhere by the witness ``witness_vkey``.

        Raises:
            ProofFailed: the log's signature or the witness's cosignature does not verify.
        """
        witness = Verifier.parse(witness_vkey)
        signed = SignedCheckpoint.open(note, self.verifier)
        lines = [
            s.line
            for s in parse(note).signatures
            if (s.name, s.key_id) == (witness.name, witness.key_id)
        ]
        if not lines:
            raise ProofFailed(f"The note carries no cosignature by {witness.name}.")
        return self.store.add_cosignature(signed, lines[-1], witness, self.verifier)

    def witnessed(self) -> list[WitnessedCheckpoint]:
        """The checkpoints witnesses cosigned, oldest first, with who and when."""
        return self.store.cosigned(self.verifier)


# -- what a verifier does with the JSON ---------------------------------------------------


def _hashes(doc: Mapping[str, Any], key: str) -> list[bytes]:
    try:
        return [bytes.fromhex(h) for h in doc[key]]
    except (KeyError, TypeError, ValueError):
        raise ProofFailed(f"The proof's {key!r} is not a list of hex hashes.") from None


def check_inclusion(
    doc: Mapping[str, Any], checkpoint: Checkpoint, line: bytes | None = None
) -> None:
    """Check a ``prove`` document against ``checkpoint`` (and, if given, that the record's
    log ``line`` without its newline is the leaf it proves).

    Raises:
        ProofFailed: it does not verify.
    """
    try:
        lsn, size, leaf = int(doc["lsn"]), int(doc["size"]), bytes.fromhex(doc["leaf_hash"])
    except (KeyError, TypeError, ValueError):
        raise ProofFailed("The inclusion proof lacks lsn, size or leaf_hash.") from None
    if size != checkpoint.size:
        raise ProofFailed(f"The proof is for size {size}, the checkpoint for {checkpoint.size}.")
    if line is not None and leaf_hash(line) != leaf:
        raise ProofFailed(f"Record {lsn}'s line is not the leaf the proof is for.")
    verify_inclusion(lsn - 1, size, leaf, _hashes(doc, "proof"), checkpoint.root)


def check_consistency(doc: Mapping[str, Any], old: Checkpoint, new: Checkpoint) -> None:
    """Check a ``consistency`` document: does ``new`` extend ``old``?

    Raises:
        ProofFailed: it does not.
    """
    if (doc.get("from"), doc.get("to")) != (old.size, new.size):
        raise ProofFailed(
            f"The proof goes from {doc.get('from')} to {doc.get('to')}, the checkpoints "
            f"are of sizes {old.size} and {new.size}."
        )
    verify_consistency(old.size, new.size, _hashes(doc, "proof"), old.root, new.root)
