"""Which records of the log are a member's own, for the proofs their browser checks.

A member's integrity badge checks, in the browser, that the records that matter to
them are in the signed log: their receipts, their bids and their agreement
signatures (:data:`OWN_ACTIONS`). Records carry no index by member, so
:class:`OwnRecords` keeps one, per process: it reads the log once from the start,
then only what was appended since, and finds the member of a record with a few byte
searches (the JSON of records that are nobody's is never parsed). A log rewritten
under it (the last record it read is no longer there, or has another hash) is read
again from the start.

Like the rest of the audit log's reading side it only reads the file, without its
lock. Only the line numbers are kept (a few bytes a record); the lines themselves
are read again when asked for (:func:`read_lines`).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from app.kernel.errors import StorageError
from app.kernel.log_tree import log_lines
from app.kernel.wal_index import Fields, WalReader

OWN_ACTIONS = {
    "receipt.record": "event",
    "agreement.sign": "event",
    "auction.bid": "actor",
}
"""The actions whose records are a member's own, and where the member is named: the
event's ``member_id``, or the actor (a member's own bid; the bid staff place on a
member's behalf names no member and is left out)."""

_ACTIONS = {json.dumps(action).encode(): where for action, where in OWN_ACTIONS.items()}
_EVENT = b'"change":{"event":{'
_MEMBER = b'"member_id":"'


def member_of(line: bytes) -> str | None:
    """The member whose own record ``line`` is, if it is one of :data:`OWN_ACTIONS`."""
    fields = Fields.cut(line)
    where = _ACTIONS.get(fields.action) if fields is not None else None
    if fields is None or where is None:
        return None
    if where == "actor":
        actor = json.loads(fields.actor)
        return str(actor["id"]) if actor.get("role") == "member" else None
    event = line.find(_EVENT)
    start = line.find(_MEMBER, event) if event >= 0 else -1
    if start < 0:
        return None
    start += len(_MEMBER)
    return line[start : line.index(b'"', start)].decode("ascii", "replace")


def read_lines(path: Path, lsns: Iterable[int]) -> Iterator[tuple[int, bytes]]:
    """The exact lines (without newlines) of records ``lsns``, in the order given; a
    record the log does not have is skipped.

    Raises:
        StorageError: the log cannot be read.
    """
    stop = WalReader(path).end()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise StorageError(f"Cannot read the write-ahead log {path}: {exc.strerror}.") from exc
    try:
        for lsn in lsns:
            line = next(log_lines(fd, lsn, stop), None) if lsn >= 1 else None
            if line is not None:
                yield lsn, line
    finally:
        os.close(fd)


class OwnRecords:
    """The record numbers of each member's own records (see module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._by_member: dict[str, list[int]] = {}
        self._last: tuple[int, bytes] = (0, b"")

    def of(self, member_id: str) -> list[int]:
        """The record numbers of ``member_id``'s own records, oldest first."""
        with self._lock:
            self._catch_up()
            return list(self._by_member.get(member_id, ()))

    def _catch_up(self) -> None:
        stop = WalReader(self.path).end()
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            self._by_member, self._last = {}, (0, b"")
            return
        try:
            if not self._still_there(fd, stop):
                self._by_member, self._last = {}, (0, b"")
            self._read(fd, self._last[0] + 1, stop)
        finally:
            os.close(fd)

    def _still_there(self, fd: int, stop: int) -> bool:
        lsn, digest = self._last
        if lsn == 0:
            return True
        line = next(log_lines(fd, lsn, stop), None)
        return line is not None and line[:64] == digest

    def _read(self, fd: int, first: int, stop: int) -> None:
        lsn, line = first - 1, b""
        for lsn, line in enumerate(log_lines(fd, first, stop), start=first):
            member = member_of(line)
            if member is not None:
                self._by_member.setdefault(member, []).append(lsn)
        if line:
            self._last = (lsn, line[:64])
