"""Signed checkpoints and proofs of the audit log, for whoever checks it.

The kernel's :class:`~app.kernel.tlog.TransparencyLog` signs checkpoints and makes
proofs; this service is how the command line (``tfos audit``), the HTTP API and the
members' integrity badge reach it, and it decides who sees what:

* the verifier key, the latest checkpoint and consistency proofs are the log's public
  face: any signed-in person may have them;
* an inclusion proof tells a record's position and leaf hash, not its content: staff
  get one for any record, a member only for their own records
  (:mod:`app.services.own_records`: receipts, bids, agreement signatures);
* the record's line itself (the leaf) comes with the proof only to someone allowed to
  read that record: the member whose own record it is, and the roles that read the
  audit trail (:data:`READS_EVERY_RECORD`).

The command line, run by whoever can open the data directory, gets everything.
Parameters arrive as text (a query string, a flag) and are checked here, each
refusal naming the parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.kernel.errors import PermissionDenied, StorageError, ValidationError
from app.kernel.tlog import CheckReport, TransparencyLog
from app.kernel.wal_index import parse_body
from app.services.actors import Actor
from app.services.context import ServiceContext
from app.services.money import format_inr
from app.services.own_records import OwnRecords, read_lines
from app.services.witness import Cosigned, cosign

READS_EVERY_RECORD = frozenset({"admin", "auditor", "system"})
"""Roles that read the audit trail itself, so any record's line comes with its proof."""

MAX_NUMBER = 2**53 - 1  # what a browser's JSON number holds exactly


def whole_number(value: object, name: str, *, least: int) -> int:
    """``value`` (text from a query string or a flag, or an int) as a whole number of
    at least ``least``.

    Raises:
        ValidationError: it is missing or not such a number; the message names ``name``.
    """
    text = str(value).strip() if isinstance(value, str | int) else ""
    if not text:
        raise ValidationError(f"Give {name}, a whole number.")
    if not text.isascii() or not text.isdigit() or len(text) > 16 or int(text) > MAX_NUMBER:
        raise ValidationError(f"{name} must be a whole number, not {text[:40]!r}.")
    number = int(text)
    if number < least:
        raise ValidationError(f"{name} must be {least} or more, not {number}.")
    return number


def _optional(value: object, name: str, *, least: int) -> int | None:
    return None if value is None or value == "" else whole_number(value, name, least=least)


@dataclass(frozen=True)
class OwnRecord:
    """One of a member's own records, as their integrity page lists it."""

    lsn: int
    action: str
    ts: str
    what: str

    def to_json(self) -> dict[str, Any]:
        return {"lsn": self.lsn, "action": self.action, "ts": self.ts, "what": self.what}


def _what(body: dict[str, Any]) -> str:
    """A record of :data:`~app.services.own_records.OWN_ACTIONS` in a few words."""
    event = body.get("change", {}).get("event", {})
    action = body.get("action")
    if action == "receipt.record":
        return (
            f"Receipt {event.get('bank_ref')}: {format_inr(int(event.get('amount', 0)))} "
            f"for period {event.get('period')}"
        )
    if action == "auction.bid":
        return (
            f"Bid of {format_inr(int(event.get('discount', 0)))} in auction "
            f"{event.get('auction_id')} as {event.get('alias')}"
        )
    if action == "agreement.sign":
        return f"Signed the chit agreement of group {event.get('group_id')}"
    return str(action)


class ProofService:
    """Checkpoints, proofs and checks of the audit log (see module docstring)."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.own = OwnRecords(ctx.pipeline.wal.path)

    @property
    def tlog(self) -> TransparencyLog:
        if self.ctx.transparency is None:
            raise StorageError("This log signs no checkpoints.")
        return self.ctx.transparency

    # -- the log's public face --------------------------------------------------------

    def verifier_key(self) -> str:
        """The log's verifier key in note form: ``<name>+<hex key ID>+<base64 key>``."""
        return self.tlog.verifier_key

    def checkpoint_text(self) -> str:
        """The latest signed checkpoint, as the signed note it is.

        Raises:
            LogForked: the log no longer extends a checkpoint it signed.
        """
        return self.tlog.checkpoint().text

    def checkpoint(self) -> dict[str, Any]:
        """The latest checkpoint for the web: the signed note (what a browser checks)
        and, for reading, its size and root and the key it is signed with."""
        signed = self.tlog.checkpoint()
        return {
            "checkpoint": signed.text,
            "origin": signed.checkpoint.origin,
            "size": signed.size,
            "root": signed.root.hex(),
            "verifier_key": self.tlog.verifier_key,
        }

    def consistency(self, first: object, second: object = None) -> dict[str, Any]:
        """``{"from", "to", "proof"}`` from size ``first`` to ``second`` (default: now)."""
        start = whole_number(first, "from", least=0)
        return self.tlog.consistency(start, _optional(second, "to", least=0))

    def prove(self, lsn: object, size: object = None) -> dict[str, Any]:
        """``{"lsn", "size", "leaf_hash", "proof"}`` for record ``lsn`` in the tree of
        the first ``size`` records (default: all)."""
        number = whole_number(lsn, "lsn", least=1)
        return self.tlog.prove(number, _optional(size, "size", least=1))

    def check(self, note: str) -> CheckReport:
        """Does the log still have the root a saved checkpoint signed?"""
        return self.tlog.check(note)

    def witness(self, key_path: Path) -> Cosigned:
        """Cosign the latest checkpoint as the witness whose key is at ``key_path``, if
        it extends the last one that witness cosigned (:mod:`app.services.witness`)."""
        return cosign(self.tlog, key_path)

    # -- what each person may see -----------------------------------------------------

    def prove_for(self, actor: Actor, lsn: object, size: object = None) -> dict[str, Any]:
        """:meth:`prove`, as ``actor`` may have it: with ``"line"`` (the record's line,
        the leaf) when they may read the record.

        Raises:
            PermissionDenied: a member asked about a record that is not their own.
        """
        number = whole_number(lsn, "lsn", least=1)
        own = actor.role == "member" and number in self.own.of(actor.id)
        if actor.role == "member" and not own:
            raise PermissionDenied(
                f"Record {number} is not one of your own records; you can check only yours.",
                hint="Your records are listed on the Integrity page.",
            )
        if not actor.is_staff and actor.role not in READS_EVERY_RECORD and not own:
            raise PermissionDenied(f"{actor.name} ({actor.role}) may not ask for proofs.")
        doc = self.prove(number, size)
        if own or actor.role in READS_EVERY_RECORD:
            doc["line"] = self._line(number)
        return doc

    def _line(self, lsn: int) -> str:
        for _, line in read_lines(self.ctx.pipeline.wal.path, [lsn]):
            return line.decode("ascii")
        raise StorageError(f"The log has no line for record {lsn}.")

    def own_records(self, member_id: str) -> list[OwnRecord]:
        """``member_id``'s own records (receipts, bids, agreement signatures), oldest first."""
        lsns = self.own.of(member_id)
        records = []
        for lsn, line in read_lines(self.ctx.pipeline.wal.path, lsns):
            body = parse_body(line)
            records.append(OwnRecord(lsn, str(body["action"]), str(body["ts"]), _what(body)))
        return records
