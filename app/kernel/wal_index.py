"""Random access to a write-ahead log file for viewers: pages, searches, new lines.

A viewer of a log with a million records must not read it all before showing the
newest one. :class:`WalReader` works on byte offsets: it reads backwards from the
end in blocks and hands out ``Span`` (offset, length) of complete lines, newest
first, so a table model can keep an index of offsets for the rows it has loaded
and parse a line only when its row is shown.

Searches (:class:`WalFilter`) scan backwards too, a block at a time, so matches
stream in newest first and a search can be stopped between blocks. A text filter
is first looked for in the lower-cased block with ``bytes.find`` (C speed), and
only the lines it hits are cut into fields and checked exactly; a time range is
found by binary search on the ``ts`` field. Batches are stamped under the writer
lock, so ``ts`` never decreases in file order unless a writer's clock is set back;
then records near the jump may be missed by a time filter (never shown wrongly).

The reader never writes and never locks: it sees complete lines (up to the last
newline), which is what the single writer has made durable or is about to.
Nothing here checks the hash chain; ``verify_file`` does that.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from hashlib import sha256
from pathlib import Path
from typing import Any, NamedTuple

from app.kernel.errors import StorageError
from app.kernel.wal_format import format_ts

BLOCK = 64 << 10
SEARCH_BLOCK = 4 << 20
_TS_LEN = 27
_TS_KEY = b',"ts":"'


class Span(NamedTuple):
    """Where one line is: its first byte and its length without the newline."""

    offset: int
    length: int


@dataclass(frozen=True)
class LineSummary:
    """What a viewer shows of one line. ``intact`` is False when the line's own hash
    does not match its content, or when it could not be read at all (``damaged``)."""

    lsn: int
    ts: str
    actor: dict[str, str]
    action: str
    entity: dict[str, str]
    reason: str
    hash: str
    intact: bool
    damaged: str = ""

    @classmethod
    def parse(cls, line: bytes) -> LineSummary:
        stored, body = line[:64].decode("ascii", "replace"), line[65:]
        try:
            data = json.loads(body)
            intact = sha256(str(data["prev"]).encode() + body).hexdigest() == stored
            return cls(
                int(data["lsn"]),
                str(data["ts"]),
                _str_map(data["actor"]),
                str(data["action"]),
                _str_map(data["entity"]),
                str(data["reason"]),
                stored,
                intact,
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return cls(0, "", {}, "", {}, "", stored, False, f"unreadable line ({exc})")


def _str_map(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in dict(value).items()}


def parse_body(line: bytes) -> dict[str, Any]:
    """The full JSON body of a line (for a detail pane).

    Raises:
        StorageError: the line is not JSON.
    """
    try:
        data = json.loads(line[65:])
    except ValueError as exc:
        raise StorageError(f"This log line is damaged: {exc}.") from exc
    if not isinstance(data, dict):
        raise StorageError("This log line is damaged: its body is not a JSON object.")
    return data


@dataclass(frozen=True)
class Fields:
    """The raw JSON of a line's fields, cut out without parsing the whole body."""

    ts: bytes
    actor: bytes
    action: bytes
    entity: bytes

    @classmethod
    def cut(cls, line: bytes) -> Fields | None:
        t = line.find(_TS_KEY, 65)
        a = line.find(b',"actor":', t)
        b = line.find(b',"action":', a)
        e = line.find(b',"entity":', b)
        c = line.find(b',"change":', e)
        if min(t, a, b, e, c) < 0:
            return None
        ts = line[t + len(_TS_KEY) : t + len(_TS_KEY) + _TS_LEN]
        return cls(ts, line[a + 9 : b], line[b + 10 : e], line[e + 10 : c])


def _ts_key(moment: datetime | None) -> bytes:
    return format_ts(moment).encode() if moment is not None else b""


def _anchor(text: str) -> bytes | None:
    """A needle usable on the raw (escaped, lower-cased) line, if ``text`` has one."""
    if not text or not text.isascii() or any(c in text for c in '"\\') or not text.isprintable():
        return None
    return text.lower().encode()


@dataclass(frozen=True)
class WalFilter:
    """Which records to show. Text criteria are case-insensitive; empty ones match all.

    ``actor`` matches inside the actor's id or name, ``action`` and ``entity_id``
    inside those fields; ``entity_type`` must match exactly. ``since`` is inclusive,
    ``until`` exclusive.
    """

    actor: str = ""
    action: str = ""
    entity_type: str = ""
    entity_id: str = ""
    since: datetime | None = None
    until: datetime | None = None

    @cached_property
    def is_empty(self) -> bool:
        return self == WalFilter()

    @cached_property
    def _bounds(self) -> tuple[bytes, bytes]:
        return _ts_key(self.since), _ts_key(self.until)

    def anchor(self) -> bytes | None:
        """The longest text criterion that must appear in the raw line, if any."""
        texts = (self.actor, self.action, self.entity_type, self.entity_id)
        anchors = [a for a in map(_anchor, texts) if a]
        return max(anchors, key=len) if anchors else None

    def matches(self, line: bytes) -> bool:
        """Whether a complete line (no newline) passes every criterion."""
        if self.is_empty:
            return True
        fields = Fields.cut(line)
        if fields is None:
            return False
        since, until = self._bounds
        if (since and fields.ts < since) or (until and fields.ts >= until):
            return False
        try:
            return self._text_matches(fields)
        except (ValueError, AttributeError, TypeError):
            return False

    def _text_matches(self, fields: Fields) -> bool:
        if self.actor:
            actor = json.loads(fields.actor)
            needle = self.actor.casefold()
            if needle not in f"{actor.get('id', '')}\n{actor.get('name', '')}".casefold():
                return False
        if self.action and self.action.casefold() not in json.loads(fields.action).casefold():
            return False
        if self.entity_type or self.entity_id:
            entity = json.loads(fields.entity)
            kind, ident = str(entity.get("type", "")), str(entity.get("id", ""))
            if self.entity_type and self.entity_type.casefold() != kind.casefold():
                return False
            if self.entity_id and self.entity_id.casefold() not in ident.casefold():
                return False
        return True


def _spans_of(data: bytes, base: int) -> list[Span]:
    """Spans of the complete lines of ``data`` (which ends with a newline), oldest first."""
    spans: list[Span] = []
    pos = 0
    find = data.find
    while True:
        nl = find(b"\n", pos)
        if nl < 0:
            return spans
        spans.append(Span(base + pos, nl - pos))
        pos = nl + 1


class WalReader:
    """Reads complete lines of one log file by byte offset (see module docstring)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    # -- basics ----------------------------------------------------------------------

    def end(self) -> int:
        """The offset just after the last complete line (0 for a missing file)."""
        try:
            with open(self.path, "rb", buffering=0) as file:
                size = os.fstat(file.fileno()).st_size
                pos = size
                while pos > 0:
                    begin = max(0, pos - BLOCK)
                    found = os.pread(file.fileno(), pos - begin, begin).rfind(b"\n")
                    if found >= 0:
                        return begin + found + 1
                    pos = begin
        except FileNotFoundError:
            return 0
        except OSError as exc:
            raise self._unreadable(exc) from exc
        return 0

    def read(self, span: Span) -> bytes:
        """The bytes of one line (without its newline)."""
        try:
            with open(self.path, "rb", buffering=0) as file:
                return os.pread(file.fileno(), span.length, span.offset)
        except OSError as exc:
            raise self._unreadable(exc) from exc

    def read_many(self, spans: Sequence[Span]) -> list[bytes]:
        """The bytes of several lines (without their newlines), with one open file."""
        fd = self._open()
        try:
            return [os.pread(fd, span.length, span.offset) for span in spans]
        except OSError as exc:
            raise self._unreadable(exc) from exc
        finally:
            os.close(fd)

    def head_lsn(self, end: int | None = None) -> int:
        """The lsn of the last complete line before ``end`` (0 for an empty log)."""
        spans, _ = self.page(end if end is not None else self.end(), 1)
        return LineSummary.parse(self.read(spans[0])).lsn if spans else 0

    def _unreadable(self, exc: OSError) -> StorageError:
        return StorageError(
            f"Cannot read the write-ahead log {self.path}: {exc.strerror}.",
            hint="Check that the data folder is there and readable.",
        )

    def _open(self) -> int:
        try:
            return os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise self._unreadable(exc) from exc

    # -- newest first ----------------------------------------------------------------

    def page(self, end: int, count: int, stop: int = 0) -> tuple[list[Span], int]:
        """Up to ``count`` lines ending at ``end``, newest first, and where they start.

        ``end`` must be a line boundary (0, or just after a newline); lines starting
        before ``stop`` are not returned. The second value is where to continue.
        """
        spans: list[Span] = []
        if end > stop and count > 0:
            for batch, _ in self._blocks(end, stop, BLOCK, WalFilter(), lambda: False):
                spans.extend(batch[: count - len(spans)])
                if len(spans) >= count:
                    break
        return spans, (spans[-1].offset if spans else min(end, stop))

    def search(
        self,
        flt: WalFilter,
        end: int,
        stop: int = 0,
        *,
        block: int = SEARCH_BLOCK,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> Iterator[tuple[list[Span], int]]:
        """Matching lines between ``stop`` and ``end``, newest first, one batch per block.

        Each batch comes with the offset the scan has reached (all lines from there to
        ``end`` were looked at). A time range narrows ``stop``/``end`` first.
        """
        if flt.since is not None:
            stop = max(stop, self.seek_time(flt.since, stop, end))
        if flt.until is not None:
            end = min(end, self.seek_time(flt.until, stop, end))
        if end <= stop:
            return
        yield from self._blocks(end, stop, block, flt, cancelled)

    def _blocks(
        self, end: int, stop: int, block: int, flt: WalFilter, cancelled: Callable[[], bool]
    ) -> Iterator[tuple[list[Span], int]]:
        fd = self._open()
        try:
            pos = end
            while pos > stop and not cancelled():
                begin = max(stop, pos - block)
                data = os.pread(fd, pos - begin, begin)
                cut = 0
                if begin > stop:
                    cut = data.find(b"\n") + 1
                    if cut in (0, len(data)):
                        block *= 2
                        continue
                found = _matching(data, cut, begin, flt)
                found.reverse()
                pos = begin + cut
                yield found, pos
        finally:
            os.close(fd)

    # -- oldest first ----------------------------------------------------------------

    def after(self, start: int, end: int, flt: WalFilter | None = None) -> list[Span]:
        """Matching complete lines from ``start`` (a line boundary) to ``end``, oldest first."""
        if end <= start:
            return []
        fd = self._open()
        try:
            data = os.pread(fd, end - start, start)
        finally:
            os.close(fd)
        return _matching(data, 0, start, flt or WalFilter())

    # -- time ------------------------------------------------------------------------

    def seek_time(self, moment: datetime, stop: int, end: int) -> int:
        """The start of the first line in [stop, end) whose ts is at or after ``moment``
        (``end`` when there is none), by binary search on the non-decreasing ts."""
        target = _ts_key(moment)
        fd = self._open()
        try:
            lo, hi = stop, end
            while hi - lo > BLOCK:
                mid = (lo + hi) // 2
                start = _next_line(fd, mid, hi)
                if start is None:
                    hi = mid
                elif _ts_at(fd, start) < target:
                    lo = start
                else:
                    hi = start
            return _first_at_or_after(fd, lo, end, target)
        finally:
            os.close(fd)


def _matching(data: bytes, cut: int, base: int, flt: WalFilter) -> list[Span]:
    """Spans (oldest first) of the lines of ``data[cut:]`` that pass ``flt``."""
    if flt.is_empty:
        return _spans_of(data[cut:], base + cut) if cut else _spans_of(data, base)
    anchor = flt.anchor()
    if anchor is None:
        spans = _spans_of(data[cut:], base + cut)
        return [s for s in spans if flt.matches(data[s.offset - base : s.offset - base + s.length])]
    return _anchored(data, cut, base, flt, anchor)


def _anchored(data: bytes, cut: int, base: int, flt: WalFilter, anchor: bytes) -> list[Span]:
    lower = data.lower()
    spans: list[Span] = []
    pos = lower.find(anchor, cut)
    while pos >= 0:
        start = max(data.rfind(b"\n", cut, pos) + 1, cut)
        nl = data.find(b"\n", pos)
        if nl < 0:
            break
        if flt.matches(data[start:nl]):
            spans.append(Span(base + start, nl - start))
        pos = lower.find(anchor, nl + 1)
    return spans


def _next_line(fd: int, offset: int, limit: int) -> int | None:
    """The first line start at or after ``offset`` and before ``limit``."""
    pos = offset
    while pos < limit:
        piece = os.pread(fd, min(BLOCK, limit - pos + 1), pos - 1) if pos > 0 else b"\n"
        if not piece:
            return None
        found = piece.find(b"\n")
        if found >= 0:
            start = pos + found
            return start if start < limit else None
        pos += len(piece) - 1
    return None


def _ts_at(fd: int, start: int) -> bytes:
    return _ts_of(os.pread(fd, 256, start))


def _ts_of(line: bytes) -> bytes:
    at = line.find(_TS_KEY, 65)
    return line[at + len(_TS_KEY) : at + len(_TS_KEY) + _TS_LEN] if at >= 0 else b""


def _first_at_or_after(fd: int, start: int, end: int, target: bytes) -> int:
    pos = start
    while pos < end:
        data = os.pread(fd, min(BLOCK, end - pos), pos)
        last = data.rfind(b"\n")
        if last < 0:
            data = os.pread(fd, end - pos, pos)
            last = data.rfind(b"\n")
        for span in _spans_of(data[: last + 1], pos):
            if _ts_of(data[span.offset - pos : span.offset - pos + span.length]) >= target:
                return span.offset
        pos += last + 1
    return end
