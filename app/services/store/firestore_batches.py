"""Committing the log's batches to Firestore: one conditional commit per batch.

The kernel's group commit (:class:`~app.kernel.wal_writer.GroupCommit`) queues the
changes of this process's threads and hands them, a batch at a time, to
:class:`FirestoreBatches`, which for each batch:

1. takes the state of the documents the changes read or write, with their update times,
   from what this process last saw of them (:mod:`.firestore_cache`: the reads that built
   the changes, its own commits), the log's head from its own last commit or the head
   listener, and each lease's update time from its holder; whatever is not known is read
   in one request (and everything is, once a batch was refused);
2. checks each change in order against that state, as the local log does: the versions
   it read (``PreconditionFailed``: the pipeline runs the transaction again), updates of
   absent documents (``NotFound``), its leases (``LeaseLost``); the changes that pass are
   folded into the documents' new states and chained into records (one ``ts`` for the
   batch, never earlier than the head's);
3. sends one Firestore batch: each record created only if absent, each document written
   (or, if only read, rewritten unchanged) only if its update time is the one read (or
   only if absent), each lease rewritten unchanged only if it is the holder's, and the
   head advanced only if unchanged. Firestore applies all of it or nothing.

If another writer, on any machine, committed in between (or a state taken in step 1 was
stale), the batch is refused and steps 1 to 3 run again on what Firestore holds now: a
change and its record are one atomic write, and the chain cannot fork. A commit whose
outcome is unknown (the connection broke) is looked up by its first record before
anything is retried. Batches hold at most ``MAX_BATCH`` changes and about
``MAX_BATCH_BYTES``; a single change always goes whole.

After a commit its records are handed to the mirror (:mod:`.firestore_mirror`).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from hashlib import sha256
from typing import TYPE_CHECKING, Any

from google.api_core import exceptions as api

from app.kernel.errors import Conflict, KnownError, ValidationError
from app.kernel.leases import LeaseLost
from app.kernel.wal import Entry, Record
from app.kernel.wal_format import encode_body, format_ts, make_record, utc_stamp, utcnow
from app.kernel.wal_writer import Outcome
from app.services.commit_log import Pending, PreconditionFailed
from app.services.store import firestore_codec as codec
from app.services.store import firestore_records as layout
from app.services.store import limits
from app.services.store.firestore_cache import DocCache
from app.services.store.firestore_client import capitalized, errors
from app.services.store.firestore_leases import FirestoreLease
from app.services.store.writes import Slot, apply_write

if TYPE_CHECKING:
    from app.services.store.firestore_log import FirestoreLog

log = logging.getLogger(__name__)

Key = tuple[str, str]
MAX_ATTEMPTS = 50
MAX_BATCH = 100
MAX_BATCH_BYTES = 3 << 20  # the emulator takes requests of 4 MiB (Firestore: 10 MiB)
_RACED = (api.FailedPrecondition, api.AlreadyExists, api.Aborted)
_UNKNOWN = (api.DeadlineExceeded, api.ServiceUnavailable, api.InternalServerError)


@dataclass
class _State:
    """What step 1 found: the head, each document as a slot with its update time, each
    lease's snapshot (by path; None: its holder's token stands for it), and the keys read
    from Firestore just now (a check that fails on another key means a stale cache)."""

    head: layout.Head
    docs: dict[Key, tuple[Slot, Any]]
    leases: dict[str, Any]
    fresh: set[Key] = field(default_factory=set)


class _Stale(Exception):
    """A change's check failed on a document known from the cache: read it again."""


@dataclass
class _Plan:
    """Step 2's result for one batch: each change's record or refusal, and the batch."""

    results: list[Record | Exception]
    batch: Any = None
    lines: list[bytes] = field(default_factory=list)
    head: layout.Head | None = None
    fences: list[tuple[int, FirestoreLease, Any]] = field(default_factory=list)
    docs: list[tuple[int, Key, Slot]] = field(default_factory=list)
    head_index: int = -1
    bytes: int = 0
    stale: bool = False


class FirestoreBatches:
    """Commits the group's batches to Firestore (the kernel's ``Batches``)."""

    def __init__(self, log_: FirestoreLog, clock: Callable[[], datetime]) -> None:
        self.log = log_
        self.path = log_.wal.path
        self.head: layout.Head | None = None
        self.cache = DocCache()
        self.commits = 0
        self.attempts = 0
        self._client = log_.store.client
        self._stamp = utc_stamp if clock is utcnow else lambda: format_ts(clock())

    def saw_head(self, head: layout.Head) -> None:
        """A newer head, from a read or the head listener (never moves back)."""
        known = self.head
        if known is None or head.lsn > known.lsn:
            self.head = head

    # -- the kernel's Batches ------------------------------------------------------------

    def commit(self, batch: list[tuple[Entry, bytes, Any]]) -> Outcome:
        try:
            live = [item for item in batch if item[2].set_running_or_notify_cancel()]
        except BaseException as exc:
            return [(item[2], exc) for item in batch]
        outcome: Outcome = []
        while live:
            size = _chunk_size(live)
            chunk, live = live[:size], live[size:]
            try:
                results: list[Any] = self._commit([(entry, tail) for entry, tail, _ in chunk])
            except BaseException as exc:
                _log_unknown(exc)
                results = [exc] * len(chunk)
            outcome += [(item[2], r) for item, r in zip(chunk, results, strict=True)]
        return outcome

    def commit_one(self, entry: Entry, tail: bytes) -> Record:
        try:
            [result] = self._commit([(entry, tail)])
        except BaseException as exc:
            _log_unknown(exc)
            raise
        if isinstance(result, BaseException):
            raise result
        return result

    # -- one chunk: read, plan, send, until it goes through -----------------------------

    def _commit(self, items: list[tuple[Entry, bytes]]) -> list[Record | Exception]:
        pending = [self.log.pending(entry) for entry, _ in items]
        fresh = False
        for attempt in range(1, MAX_ATTEMPTS + 1):
            self.attempts += 1
            state = self._read(pending, fresh=fresh)
            plan = self._plan(items, pending, state)
            if plan.stale:
                fresh = True
                continue
            if plan.batch is None or self._send(plan):
                return plan.results
            self.head = None  # someone else moved it: read it again, and the rest too
            self.cache.forget(state.docs)
            fresh = True
            time.sleep(random.uniform(0, 0.002 * attempt))
        raise Conflict(
            f"Changes kept meeting concurrent commits on {self.log.store.where}"
            f" ({MAX_ATTEMPTS} attempts).",
            hint="Try again in a moment; nothing was saved.",
        )

    def _read(self, pending: list[Pending], *, fresh: bool) -> _State:
        """Step 1: what is known (unless ``fresh``), and one read of the rest."""
        keys = list(dict.fromkeys(k for p in pending for k in _keys(p)))
        blind = set(keys) - {k for p in pending for k in _read_keys(p)}
        docs: dict[Key, tuple[Slot, Any]] = {}
        for key in [] if fresh else keys:
            known = self.cache.get(key)
            if known is not None or key in blind:
                docs[key] = known or (Slot(None, 0), None)
        leases = {lease.ref.path: lease for p in pending for lease in _fenced(p)}
        wanted = [key for key in keys if key not in docs]
        refs = [self.log.store.ref(*key) for key in wanted]
        known_head = None if fresh else self.head
        if known_head is None:
            refs.append(self.log.refs.head)
        if fresh:
            refs += [lease.ref for lease in leases.values()]
        snaps = self._get_all(refs)
        for key, ref in zip(wanted, refs, strict=False):
            docs[key] = _seen(key, snaps.get(ref.path))
            self.cache.saw(key, *docs[key])
        head = known_head or layout.head_of(snaps[self.log.refs.head.path])
        fenced = {path: snaps.get(path) for path in leases} if fresh else dict.fromkeys(leases)
        return _State(head, docs, fenced, set(wanted))

    def _get_all(self, refs: list[Any]) -> dict[str, Any]:
        if not refs:
            return {}
        with errors(self.log.store.where):
            snaps = self._client.get_all(refs, timeout=self.log.store.timeout)
            return {snap.reference.path: snap for snap in snaps}

    def _plan(
        self, items: list[tuple[Entry, bytes]], pending: list[Pending], state: _State
    ) -> _Plan:
        plan = _Plan([])
        slots = {key: slot for key, (slot, _) in state.docs.items()}
        head = state.head
        ts = max(self._stamp(), head.ts)
        lsn, prev = head.lsn, head.hash.encode()
        accepted: list[tuple[Record, bytes]] = []
        fences: list[tuple[FirestoreLease, Any]] = []
        used: set[Key] = set()
        for (entry, tail), change in zip(items, pending, strict=True):
            refusal, after, tokens = _check(change, slots, state)
            if isinstance(refusal, _Stale):
                plan.stale = True
                self.cache.forget(state.docs)
                return plan
            if refusal is not None:
                plan.results.append(refusal)
                continue
            slots.update(after)
            fences += tokens
            used.update(_keys(change))
            lsn += 1
            body = encode_body(lsn, prev, ts.encode(), tail)
            digest = sha256(prev + body).hexdigest()
            record = make_record(lsn, ts, prev.decode(), digest, entry)
            plan.results.append(record)
            accepted.append((record, body))
            prev = digest.encode()
        if accepted:
            self._build(plan, state, {k: slots[k] for k in used}, accepted, fences)
        return plan

    def _build(
        self,
        plan: _Plan,
        state: _State,
        slots: dict[Key, Slot],
        accepted: list[tuple[Record, bytes]],
        fences: list[tuple[FirestoreLease, Any]],
    ) -> None:
        """Step 3's batch for the accepted changes (see the module docstring)."""
        client, batch = self._client, self._client.batch()
        writes = 0
        for record, body in accepted:
            batch.create(self.log.refs.record(record.lsn), layout.record_fields(record.hash, body))
            plan.lines.append(b"%s %s\n" % (record.hash.encode(), body))
            plan.bytes += len(body) + 200
            writes += 1
        for key, new in slots.items():
            old, update_time = state.docs[key]
            ref = self.log.store.ref(*key)
            plan.bytes += _add_write(client, batch, ref, old, new, update_time)
            plan.docs.append((writes, key, new))
            writes += 1
        for lease, token in dict(fences).items():
            unchanged = {"process": lease.process}
            option = client.write_option(last_update_time=token)
            batch.update(lease.ref, unchanged, option=option)
            plan.fences.append((writes, lease, token))
            writes += 1
        last = accepted[-1][0]
        fields = layout.head_fields(last.lsn, last.hash, last.ts)
        if state.head.update_time is None:
            batch.create(self.log.refs.head, fields)
        else:
            option = client.write_option(last_update_time=state.head.update_time)
            batch.update(self.log.refs.head, fields, option=option)
        plan.head_index = writes
        plan.head = layout.Head(last.lsn, last.hash, last.ts)
        plan.batch = batch

    def _send(self, plan: _Plan) -> bool:
        """Commit the plan's batch; False when another writer got there first."""
        where = self.log.store.where
        try:
            results = plan.batch.commit(retry=None, timeout=self.log.store.timeout)
        except _RACED as exc:
            log.debug("A log commit raced another writer: %s", exc)
            return False
        except _UNKNOWN:
            if not self._landed(plan):
                return False
            results = None
        except api.InvalidArgument as exc:
            refused = ValidationError(
                f"{capitalized(where)} refused the commit: {exc.message}",
                hint="Nothing was saved.",
            )
            plan.results = [refused if isinstance(r, Record) else r for r in plan.results]
            return True
        except Exception:
            with errors(where):
                raise
        self._committed(plan, results)
        return True

    def _landed(self, plan: _Plan) -> bool:
        """Whether a commit whose answer was lost went through (its first record is there,
        with its hash)."""
        first = next(r for r in plan.results if isinstance(r, Record))
        try:
            lines = self.log.refs.lines(first.lsn, first.lsn)
        except KnownError:
            lines = []
        return bool(lines) and lines[0].startswith(first.hash.encode())

    def _committed(self, plan: _Plan, results: list[Any] | None) -> None:
        assert plan.head is not None
        update_time = results[plan.head_index].update_time if results else None
        self.head = layout.Head(plan.head.lsn, plan.head.hash, plan.head.ts, update_time)
        if results is None:
            self.cache.forget(key for _, key, _ in plan.docs)
        else:
            for index, lease, token in plan.fences:
                lease.observed(token, results[index].update_time)
            for index, key, slot in plan.docs:
                written = results[index].update_time if slot.data is not None else None
                self.cache.saw(key, slot, written)
        self.commits += sum(isinstance(r, Record) for r in plan.results)
        self.log.mirror.offer(plan.lines)


def _keys(pending: Pending) -> Iterator[Key]:
    yield from pending.checks
    for write in pending.writes:
        yield (write.collection, write.id)


def _read_keys(pending: Pending) -> Iterator[Key]:
    """What a commit must know before it writes: the versions checked, and the documents
    a merge or update starts from (a set or delete needs nothing but a condition)."""
    yield from pending.checks
    for write in pending.writes:
        if write.kind in ("merge", "update"):
            yield (write.collection, write.id)


def _seen(key: Key, snap: Any) -> tuple[Slot, Any]:
    if snap is None or not snap.exists:
        return Slot(None, 0), None
    doc = codec.document(key[0], key[1], snap.to_dict())
    assert doc is not None
    return Slot(doc.data, doc.version), snap.update_time


def _fenced(pending: Pending) -> list[FirestoreLease]:
    return [lease for lease in pending.leases if isinstance(lease, FirestoreLease)]  # type: ignore[misc]


def _check(
    change: Pending, slots: dict[Key, Slot], state: _State
) -> tuple[Exception | None, dict[Key, Slot], list[tuple[FirestoreLease, Any]]]:
    """One change against the documents as the batch has left them so far: its refusal,
    or the documents it leaves behind and the lease tokens it commits under."""
    tokens = []
    for lease in _fenced(change):
        snap = state.leases.get(lease.ref.path)
        token = lease.token if snap is None else snap.update_time
        if token is None or (snap is not None and not lease.holds(snap)):
            return _lost(lease), {}, []
        tokens.append((lease, token))
    for key, expected in change.checks.items():
        found = slots[key].version
        if found != expected:
            if key not in state.fresh:
                return _Stale(), {}, []
            why = f"{key[0]}/{key[1]} changed (version {found}, read {expected})"
            return PreconditionFailed(why), {}, []
    after: dict[Key, Slot] = {}
    try:
        for write in change.writes:
            key = (write.collection, write.id)
            after[key] = apply_write(write, after.get(key, slots[key]))
    except Conflict as exc:
        return PreconditionFailed(exc.message), {}, []
    except KnownError as exc:
        return exc, {}, []
    return None, after, tokens


def _lost(lease: FirestoreLease) -> LeaseLost:
    return LeaseLost(
        f"This process no longer holds {lease.name!r} (its lease expired and was taken"
        " over); the change was not made.",
        hint="Start again from the beginning.",
    )


def _add_write(client: Any, batch: Any, ref: Any, old: Slot, new: Slot, update_time: Any) -> int:
    """One conditional write taking a document from ``old`` to ``new``; its bytes."""
    if old.data is None:
        if new.data is None:
            batch.delete(ref, option=client.write_option(exists=False))
            return 100
        batch.create(ref, codec.stored(new.data, new.version))
        return limits.loose_size(new.data) + 100
    unchanged = client.write_option(last_update_time=update_time)
    if new.data is None:
        batch.delete(ref, option=unchanged)
        return 100
    if new is old:
        batch.update(ref, {codec.VERSION: old.version}, option=unchanged)
        return 100
    batch.update(ref, codec.stored(new.data, new.version), option=unchanged)
    return limits.loose_size(new.data) + 100


def _chunk_size(items: list[tuple[Entry, bytes, Any]]) -> int:
    """How many of ``items`` go in the next Firestore batch (at least one)."""
    total = 0
    for count, (_, tail, _) in enumerate(items[:MAX_BATCH]):
        total += 2 * len(tail)  # the record, and about as much again for the documents
        if total > MAX_BATCH_BYTES and count:
            return count
    return min(len(items), MAX_BATCH)


def _log_unknown(exc: BaseException) -> None:
    if not isinstance(exc, KnownError):
        log.exception("A Firestore log batch failed", exc_info=exc)
