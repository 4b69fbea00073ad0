"""The log's signing side as reports read it: the key, a checkpoint of any size, the
consistency proof between two, and the checkpoints witnesses cosigned.

A report reflects one log record, N. The checkpoint it prints is the one of exactly the
first N records, signed for it: Ed25519 signatures are deterministic, so the same log
gives the same checkpoint text, and a report printed again from the same log the same
bytes. Before any size is signed, the log must still extend the newest checkpoint it
saved (:meth:`app.kernel.tlog.TransparencyLog.checkpoint`): a rewritten log signs
nothing more, and says why (:class:`~app.kernel.tlog.LogForked`).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.kernel.checkpoints import Checkpoint, Cosignature, SignedCheckpoint
from app.kernel.errors import ValidationError
from app.kernel.tlog import CheckReport, TransparencyLog, check_consistency

__all__ = ["CheckReport", "LogSigning", "Witnessed"]


@dataclass(frozen=True)
class Witnessed:
    """A checkpoint witnesses cosigned, and what the log file says of it now."""

    size: int
    root: str
    note: str
    cosignatures: tuple[Cosignature, ...]
    check: CheckReport


class LogSigning:
    """Signed checkpoints of the log for reports (see module docstring)."""

    def __init__(self, tlog: TransparencyLog) -> None:
        self.tlog = tlog

    def public_key(self) -> str:
        """The log's verifier key in note form (``<name>+<hex key ID>+<base64 key>``)."""
        return self.tlog.verifier_key

    def checkpoint(self, size: int) -> str:
        """The signed checkpoint (note text) of the first ``size`` records."""
        return self.signed(size).text

    def signed(self, size: int) -> SignedCheckpoint:
        """The checkpoint of the first ``size`` records, signed.

        Raises:
            LogForked: the log no longer extends a checkpoint it signed.
            ValidationError: the log has fewer than ``size`` records.
        """
        latest = self.tlog.checkpoint()
        if size == latest.size:
            return latest
        if not 0 <= size <= latest.size:
            raise ValidationError(f"The log has {latest.size} records, not {size}.")
        root = self.tlog.tree.root(size)
        return SignedCheckpoint.sign(Checkpoint(self.tlog.origin, size, root), self.tlog.signer)

    def consistency(self, old: SignedCheckpoint, new: SignedCheckpoint) -> list[str]:
        """The proof that ``new`` extends ``old`` (hex hashes), checked before it is given.

        Raises:
            ProofFailed: it does not.
        """
        proof = self.tlog.consistency(old.size, new.size)
        check_consistency(proof, old.checkpoint, new.checkpoint)
        return list(proof["proof"])

    def check(self, note: str) -> CheckReport:
        """Whether the log file's first records still have the root ``note`` signs."""
        return self.tlog.check(note)

    def witnessed(self, upto: int) -> list[Witnessed]:
        """The cosigned checkpoints of at most ``upto`` records, oldest first, each
        checked against the log file."""
        found = []
        for kept in self.tlog.witnessed():
            signed = kept.signed
            if signed.size <= upto:
                check = self.tlog.check(signed.text)
                found.append(
                    Witnessed(signed.size, signed.root.hex(), signed.text, kept.cosignatures, check)
                )
        return found
