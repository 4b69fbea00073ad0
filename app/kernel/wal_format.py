"""The write-ahead log's record format: entries, records, canonical encoding, parsing.

See ``app.kernel.wal`` for the format as auditors read it. This module only turns
entries into bytes and bytes back into records; it knows nothing of files.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha256
from typing import Any

from app.kernel.errors import StorageError, ValidationError

GENESIS = "0" * 64
"""The ``prev`` of record 1: no record comes before it."""

TOP_LEVEL_KEYS = ("lsn", "prev", "ts", "actor", "action", "entity", "change", "reason")
BODY_PREFIX_MAX = len(f'{{"lsn":{2**64},"prev":"{GENESIS}","ts":"2026-01-01T00:00:00.000000Z"')
"""The most a body takes before its tail (a 20-digit lsn)."""

_HEX64 = re.compile(rb"[0-9a-f]{64}")
_VERIFY_HINT = "Run `tfos wal verify` for a full report; do not edit the log by hand."


def _make_encoder() -> Callable[[Any], str]:
    """The canonical JSON encoder: ASCII, no spaces, keys sorted at every level, no NaN."""
    py = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), sort_keys=True, allow_nan=False)
    c_make = getattr(json.encoder, "c_make_encoder", None)
    if c_make is None:
        return py.encode
    fast = c_make(
        None, py.default, json.encoder.encode_basestring_ascii, None, ":", ",", True, False, False
    )

    def encode(value: Any) -> str:
        return "".join(fast(value, 0))

    return encode


canonical_json = _make_encoder()
_encode_str: Callable[[str], str] = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]


def utcnow() -> datetime:
    """The default clock: now, in UTC."""
    return datetime.now(UTC)


def format_ts(moment: datetime) -> str:
    """UTC ISO-8601 with microseconds and 'Z'; a naive datetime is taken as UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")[:26] + "Z"


_last_second: tuple[int, str] = (-1, "")


def utc_stamp() -> str:
    """``format_ts(utcnow())``, built from ``time.time_ns`` with the date and time of
    day worked out once per second (the writer stamps every batch)."""
    global _last_second
    seconds, nanos = divmod(time.time_ns(), 1_000_000_000)
    second, prefix = _last_second
    if seconds != second:
        year, month, day, hour, minute, sec = time.gmtime(seconds)[:6]
        prefix = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{sec:02d}"
        _last_second = (seconds, prefix)
    return f"{prefix}.{nanos // 1000:06d}Z"


@dataclass(frozen=True)
class Entry:
    """What a caller asks the log to record; the log adds lsn, prev, ts and hash."""

    actor: dict[str, str]
    action: str
    entity: dict[str, str]
    change: dict[str, Any]
    reason: str = ""


@dataclass(frozen=True)
class Record:
    """One durable line of the log."""

    lsn: int
    ts: str
    prev: str
    hash: str
    actor: dict[str, str]
    action: str
    entity: dict[str, str]
    change: dict[str, Any]
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The body's fields in their fixed order, then the hash."""
        return {
            "lsn": self.lsn,
            "prev": self.prev,
            "ts": self.ts,
            "actor": self.actor,
            "action": self.action,
            "entity": self.entity,
            "change": self.change,
            "reason": self.reason,
            "hash": self.hash,
        }

    @property
    def body(self) -> bytes:
        tail = encode_tail(self.actor, self.action, self.entity, self.change, self.reason)
        return encode_body(self.lsn, self.prev.encode(), self.ts.encode(), tail)

    @property
    def line(self) -> bytes:
        """The exact bytes of this record in the log, newline included."""
        return b"%s %s\n" % (self.hash.encode(), self.body)

    @classmethod
    def parse(cls, line: bytes) -> Record:
        """Read one log line (with or without its newline); checks its own hash.

        Raises:
            StorageError: the line is not a well-formed, self-consistent record.
        """
        if line.endswith(b"\n"):
            line = line[:-1]
        stored, body = line[:64], line[65:]
        if line[64:65] != b" " or not _HEX64.fullmatch(stored):
            raise _damaged("it does not start with a 64-character hex hash and a space")
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise _damaged(f"its body is not JSON ({exc})") from exc
        if not isinstance(data, dict) or tuple(data) != TOP_LEVEL_KEYS:
            raise _damaged("its body does not have the fields " + ", ".join(TOP_LEVEL_KEYS))
        if sha256(str(data["prev"]).encode() + body).hexdigest().encode() != stored:
            raise _damaged(f"the hash of record {data['lsn']} does not match its content")
        return cls(
            data["lsn"],
            data["ts"],
            data["prev"],
            stored.decode(),
            data["actor"],
            data["action"],
            data["entity"],
            data["change"],
            data["reason"],
        )


_new = object.__new__
_set = object.__setattr__


def make_record(lsn: int, ts: str, prev: str, digest: str, entry: Entry) -> Record:
    """``Record(lsn, ts, prev, digest, *entry's fields)``, built without the frozen
    dataclass's field-by-field ``__init__`` (the writer makes one per record)."""
    record = _new(Record)
    _set(
        record,
        "__dict__",
        {
            "lsn": lsn,
            "ts": ts,
            "prev": prev,
            "hash": digest,
            "actor": entry.actor,
            "action": entry.action,
            "entity": entry.entity,
            "change": entry.change,
            "reason": entry.reason,
        },
    )
    return record


def _damaged(why: str) -> StorageError:
    return StorageError(f"A write-ahead log line is damaged: {why}.", hint=_VERIFY_HINT)


def encode_tail(
    actor: dict[str, str], action: str, entity: dict[str, str], change: Any, reason: str
) -> bytes:
    """The body after ``ts``: actor, action, entity, change, reason and the closing brace."""
    text = (
        f',"actor":{canonical_json(actor)},"action":{_encode_str(action)}'
        f',"entity":{canonical_json(entity)},"change":{canonical_json(change)}'
        f',"reason":{_encode_str(reason)}}}'
    )
    return text.encode("ascii")


def check_record_size(tail: bytes, max_body: int | None) -> None:
    """Refuse an entry whose record body would be longer than ``max_body`` bytes.

    Raises:
        ValidationError: it would (nothing is written).
    """
    if max_body is not None and len(tail) + BODY_PREFIX_MAX > max_body:
        raise ValidationError(
            f"This change is too large to record: its log record would take about "
            f"{len(tail) + BODY_PREFIX_MAX:,} bytes, and a record holds at most {max_body:,}.",
            hint="Split it into smaller changes; nothing was saved.",
        )


def encode_body(lsn: int, prev: bytes, ts: bytes, tail: bytes) -> bytes:
    return b'{"lsn":%d,"prev":"%s","ts":"%s"%s' % (lsn, prev, ts, tail)


def record_hash(prev: bytes, body: bytes) -> str:
    """SHA-256 of the previous record's hash (64 ASCII hex bytes) followed by the body."""
    return sha256(prev + body).hexdigest()


def encode_entry(entry: Entry) -> bytes:
    """Check an entry and encode its tail (what ``encode_tail`` gives, built faster).

    Raises:
        ValidationError: a field has the wrong shape or ``change`` is not plain JSON.
    """
    enc = _encode_str
    try:
        actor, entity, action = entry.actor, entry.entity, entry.action
        if not (isinstance(actor, dict) and isinstance(entity, dict) and action):
            raise ValueError
        if len(actor) != 3 or len(entity) != 2 or not isinstance(entry.change, dict):
            raise ValueError
        head = _TAIL_HEAD % (
            enc(actor["id"]),
            enc(actor["name"]),
            enc(actor["role"]),
            enc(action),
            enc(entity["id"]),
            enc(entity["type"]),
        )
        reason = enc(entry.reason)
    except (AttributeError, KeyError, TypeError, ValueError):
        raise _shape_error(entry) from None
    try:
        change = canonical_json(entry.change)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValidationError(
            f"The change for {entry.action!r} cannot be written as plain JSON: {exc}.",
            hint="Use only dicts with text keys, lists, text, integers, finite floats, "
            "booleans and None.",
        ) from exc
    return f'{head}{change},"reason":{reason}}}'.encode("ascii")


_TAIL_HEAD = (
    ',"actor":{"id":%s,"name":%s,"role":%s},"action":%s,"entity":{"id":%s,"type":%s},"change":'
)


def _shape_error(entry: object) -> ValidationError:
    if not isinstance(entry, Entry):
        return ValidationError(f"Expected a WAL Entry, got {type(entry).__name__}.")
    if not _texts(entry.actor, "id", "name", "role"):
        return ValidationError("A WAL entry's actor must map exactly id, name and role to text.")
    if not _texts(entry.entity, "id", "type"):
        return ValidationError("A WAL entry's entity must map exactly type and id to text.")
    if not isinstance(entry.action, str) or not entry.action:
        return ValidationError("A WAL entry needs a non-empty action name.")
    if not isinstance(entry.reason, str):
        return ValidationError("A WAL entry's reason must be text.")
    return ValidationError("A WAL entry's change must be a JSON object (a dict).")


def _texts(mapping: object, *keys: str) -> bool:
    return (
        isinstance(mapping, dict)
        and len(mapping) == len(keys)
        and all(isinstance(mapping.get(key), str) for key in keys)
    )
