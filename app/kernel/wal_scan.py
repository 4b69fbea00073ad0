"""Reading the write-ahead log file: following the hash chain, torn tails, ranged reads.

Nothing here parses JSON to check the chain: a line is good when its body starts
with ``{"lsn":N,"prev":"<previous hash>"`` and SHA-256(previous hash + body) equals
the hash in front of it. Only ``read_records`` parses bodies, to hand out records.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import NamedTuple

from app.kernel.errors import StorageError
from app.kernel.wal_format import GENESIS, Record

CHUNK = 16 << 20
LSN_AT = re.compile(rb'[0-9a-f]{64} \{"lsn":([0-9]+),')
_SEEK_WINDOW = 1 << 16


class Tip(NamedTuple):
    """The last good record: its lsn and hash, and the byte offset just after its line.

    A named tuple, not a frozen dataclass: the writer makes one per batch, and a
    frozen dataclass's ``__init__`` costs several times as much."""

    lsn: int
    hash: bytes
    end: int


START = Tip(0, GENESIS.encode(), 0)


def walk(data: bytes, pos: int, lsn: int, prev: bytes) -> tuple[int, int, bytes]:
    """Follow good, chained, complete lines of ``data`` from ``pos``.

    ``lsn`` and ``prev`` describe the record before ``pos``. Returns the offset where
    the walk stopped (end of data, an incomplete line, or a line that fails) and the
    lsn and hash of the last good line.
    """
    find = data.find
    starts = data.startswith
    view = memoryview(data)
    try:
        while True:
            nl = find(b"\n", pos)
            if nl < 0:
                break
            nxt = lsn + 1
            if not starts(b' {"lsn":%d,"prev":"%s"' % (nxt, prev), pos + 64):
                break
            digest = sha256(prev)
            digest.update(view[pos + 65 : nl])
            stored = data[pos : pos + 64]
            if digest.hexdigest().encode() != stored:
                break
            prev = stored
            lsn = nxt
            pos = nl + 1
    finally:
        view.release()
    return pos, lsn, prev


def follow(fd: int, tip: Tip, stop: int) -> tuple[Tip, bool]:
    """Follow the chain in the file from ``tip`` up to byte ``stop``.

    Returns the last good tip and whether the walk stopped at a complete line that
    fails (``False`` when it reached ``stop`` or an incomplete last line).
    """
    base, lsn, prev = tip.end, tip.lsn, tip.hash
    buf = b""
    offset = base
    while offset < stop:
        piece = os.pread(fd, min(CHUNK, stop - offset), offset)
        if not piece:
            break
        offset += len(piece)
        buf = buf + piece if buf else piece
        pos, lsn, prev = walk(buf, 0, lsn, prev)
        if buf.find(b"\n", pos) >= 0:
            return Tip(lsn, prev, base + pos), True
        base += pos
        buf = buf[pos:]
    return Tip(lsn, prev, base), False


@dataclass(frozen=True)
class TornTail:
    """What ``settle_tail`` cut from the end of the log."""

    offset: int
    size: int
    lsn: int
    detail: str


def settle_tail(fd: int, path: Path, tip: Tip) -> tuple[Tip, TornTail | None]:
    """Bring ``tip`` up to the end of the file and cut a torn last record, before a
    write. Call under the lock.

    Raises:
        StorageError: the file shrank below ``tip`` or holds damage before its last line.
    """
    tip, torn = find_tail(fd, path, tip)
    if torn is not None:
        os.ftruncate(fd, torn.offset)
        os.fsync(fd)
    return tip, torn


def find_tail(fd: int, path: Path, tip: Tip) -> tuple[Tip, TornTail | None]:
    """Bring ``tip`` up to the end of the file and describe a torn last record, changing
    nothing.

    A torn record is a last line without its newline, or a last line that fails its
    check: what a crash in the middle of a write leaves. Anything else that fails is
    damage, which is never repaired here.

    Raises:
        StorageError: the file shrank below ``tip`` or holds damage before its last line.
    """
    size = os.fstat(fd).st_size
    if size < tip.end:
        raise StorageError(
            f"The write-ahead log {path} is shorter than the records already read from it "
            f"({size} < {tip.end} bytes): something outside TransactFlowOS changed it.",
            hint=f"Nothing was written. Run `tfos wal verify {path}` and restore it from a backup.",
        )
    tip, failed = follow(fd, tip, size)
    if tip.end == size:
        return tip, None
    newline = _find_newline(fd, tip.end, size)
    if failed and newline != size - 1:
        raise StorageError(
            f"The write-ahead log {path} is damaged at record {tip.lsn + 1} (byte {tip.end}); "
            "records follow it, so this is not an interrupted write and it was left as it is.",
            hint=f"Run `tfos wal verify {path}` to list every damaged record, "
            "then restore the log from a backup.",
        )
    why = "fails its hash check" if failed else "has no final newline"
    detail = (
        f"The last {size - tip.end} bytes of {path.name}, from byte {tip.end}, are a torn "
        f"record {tip.lsn + 1} that {why} (a write interrupted by a crash); they are cut "
        f"before the next write. Records 1 to {tip.lsn} are intact."
    )
    return tip, TornTail(tip.end, size - tip.end, tip.lsn + 1, detail)


def last_lsn(path: Path) -> int:
    """The lsn of the log's last complete line (0 if it has none), read from its end;
    the chain is not checked."""
    with open(path, "rb", buffering=0) as file:
        fd = file.fileno()
        end = _last_newline(fd, os.fstat(fd).st_size)
        if end < 0:
            return 0
        found = LSN_AT.match(os.pread(fd, 96, _last_newline(fd, end) + 1))
    return int(found[1]) if found else 0


def _last_newline(fd: int, stop: int) -> int:
    """The offset of the last newline before byte ``stop``, or -1."""
    while stop > 0:
        start = max(0, stop - _SEEK_WINDOW)
        found = os.pread(fd, stop - start, start).rfind(b"\n")
        if found >= 0:
            return start + found
        stop = start
    return -1


def _find_newline(fd: int, start: int, stop: int) -> int:
    offset = start
    while offset < stop:
        piece = os.pread(fd, min(CHUNK, stop - offset), offset)
        if not piece:
            break
        found = piece.find(b"\n")
        if found >= 0:
            return offset + found
        offset += len(piece)
    return -1


def read_records(
    path: Path, from_lsn: int, to_lsn: int | None, stop: int | None
) -> Iterator[Record]:
    """Records ``from_lsn`` to ``to_lsn`` (inclusive) from complete lines before ``stop``.

    Raises:
        StorageError: a line in the range is damaged or out of sequence.
    """
    with open(path, "rb", buffering=0) as file:
        fd = file.fileno()
        end = os.fstat(fd).st_size if stop is None else stop
        start = seek_lsn(fd, from_lsn, end)
        expected, prev = 0, ""
        for line in _lines(fd, start, end):
            found = LSN_AT.match(line)
            if found is not None and int(found[1]) < from_lsn:
                continue
            record = Record.parse(line)
            if expected and (record.lsn != expected or record.prev != prev):
                raise StorageError(
                    f"The write-ahead log {path} is out of sequence at record {record.lsn}.",
                    hint=f"Run `tfos wal verify {path}` for a full report.",
                )
            if to_lsn is not None and record.lsn > to_lsn:
                return
            yield record
            expected, prev = record.lsn + 1, record.hash


def _lines(fd: int, start: int, stop: int) -> Iterator[bytes]:
    buf = b""
    offset = start
    while offset < stop:
        piece = os.pread(fd, min(1 << 20, stop - offset), offset)
        if not piece:
            return
        offset += len(piece)
        lines = (buf + piece).split(b"\n")
        buf = lines.pop()
        yield from lines


def seek_lsn(fd: int, lsn: int, stop: int) -> int:
    """The offset of a line start at or before record ``lsn`` (binary search on the file)."""
    lo, hi = 0, stop
    while hi - lo > 4 * _SEEK_WINDOW:
        mid = (lo + hi) // 2
        newline = os.pread(fd, _SEEK_WINDOW, mid - 1).find(b"\n")
        start = mid + newline
        if newline < 0 or start >= hi:
            hi = mid
            continue
        found = LSN_AT.match(os.pread(fd, 96, start))
        if found is None:
            break
        if int(found[1]) <= lsn:
            lo = start
        else:
            hi = mid
    return lo
