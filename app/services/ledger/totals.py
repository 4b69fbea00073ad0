"""Account totals kept up to date from the WAL, so balances cost one ledger scan per
process rather than one per question.

The first question streams ``ledger_txns`` once. After that, the records the store
has applied since (``last_applied_lsn``) are read from the WAL and their new ledger
transactions added. Ledger transactions are append-only (created with
``expect_version=0``, never changed); anything else found in the WAL on
``ledger_txns``, a gap in the records, or a long way to catch up falls back to a
full scan, so the totals always equal a fresh scan of the store.

A scan runs while the pipeline keeps writing, so it is labelled with the sequence
number it saw only when ``last_applied_lsn`` reads the same before and after it (the
number moves in the same store transaction as the writes); see :func:`_scan_at_lsn`.
"""

from __future__ import annotations

import threading
import weakref
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from app.kernel.errors import KnownError
from app.kernel.wal_scan import read_records
from app.services.collections import LEDGER
from app.services.ledger.reports import TrialBalance, TrialRow
from app.services.pipeline import Pipeline
from app.services.store import DocumentStore, Query

MAX_CATCH_UP = 20_000
"""More WAL records than this since the last look: scan the store instead."""
PLAIN_SCANS = 2
"""Scans whose sequence number moved that are retried as they were; later scans
remember the ids they saw and add the missing records from the WAL instead."""


@dataclass
class Totals:
    """Debit and credit totals per account as of WAL record ``lsn``."""

    lsn: int = 0
    debits: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    credits: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    count: int = 0
    unbalanced: list[str] = field(default_factory=list)

    def add(self, txn_id: str, data: dict[str, Any]) -> None:
        self.count += 1
        debits, credits = self.debits, self.credits
        txn_debit = txn_credit = 0
        for line in data.get("lines", ()):
            if debit := line["debit"]:
                debits[line["account"]] += debit
                txn_debit += debit
            if credit := line["credit"]:
                credits[line["account"]] += credit
                txn_credit += credit
        if txn_debit != txn_credit:
            self.unbalanced.append(txn_id)

    def balance(self, account: str) -> int:
        return self.debits.get(account, 0) - self.credits.get(account, 0)

    def trial_balance(self) -> TrialBalance:
        accounts = sorted(self.debits.keys() | self.credits.keys())
        rows = [TrialRow(a, self.debits.get(a, 0), self.credits.get(a, 0)) for a in accounts]
        return TrialBalance(
            rows,
            sum(self.debits.values()),
            sum(self.credits.values()),
            self.count,
            sorted(self.unbalanced),
        )


def scan(store: DocumentStore, lsn: int, seen: set[str] | None = None) -> Totals:
    """Totals from one pass over every ledger transaction in ``store``, labelled
    ``lsn``; the id of each is added to ``seen`` if given."""
    totals = Totals(lsn)
    for doc in store.stream(Query(LEDGER)):
        totals.add(doc.id, doc.data)
        if seen is not None:
            seen.add(doc.id)
    return totals


def _scan_at_lsn(store: DocumentStore, pipeline: Pipeline) -> Totals:
    """A scan whose totals are exactly those as of the sequence number it carries.

    The scan's snapshot lies between two reads of ``last_applied_lsn``; when they
    agree it saw that number. When writers keep moving it, a scan that remembers the
    ids it saw is topped up with the WAL records between the two reads it missed.
    """
    attempt = 0
    while True:
        before = store.last_applied_lsn()
        seen: set[str] | None = set() if attempt >= PLAIN_SCANS else None
        totals = scan(store, before, seen)
        after = store.last_applied_lsn()
        if after == before:
            return totals
        if seen is not None and (new := _new_txns(pipeline, before, after)) is not None:
            totals.lsn = after
            for txn_id, data in new:
                if txn_id not in seen:
                    totals.add(txn_id, data)
            return totals
        attempt += 1


def _new_txns(pipeline: Pipeline, since: int, upto: int) -> Iterable[tuple[str, Any]] | None:
    """The ledger transactions created by WAL records ``since+1 .. upto``, or None when
    they cannot be read exactly from the WAL. Records appended by another process
    sharing the data folder are read from the file itself."""
    try:
        records = list(pipeline.wal.read(since + 1, upto))
        if len(records) < upto - since:
            records = list(read_records(pipeline.wal.path, since + 1, upto, None))
    except (KnownError, OSError):
        return None
    lsns = [r.lsn for r in records]
    if lsns != list(range(since + 1, upto + 1)):
        return None
    found: list[tuple[str, Any]] = []
    for record in records:
        for write in record.change.get("writes", ()):
            if write.get("collection") != LEDGER:
                continue
            if write.get("op") != "set" or "before" in write:
                return None
            found.append((write["id"], write["data"]))
    return found


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.totals: Totals | None = None
        self.tb: tuple[int, TrialBalance] | None = None


_CACHES: weakref.WeakKeyDictionary[Any, _Cache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def _cache(store: DocumentStore) -> _Cache:
    with _CACHES_LOCK:
        cache = _CACHES.get(store)
        if cache is None:
            cache = _CACHES[store] = _Cache()
        return cache


def current(store: DocumentStore, pipeline: Pipeline) -> Totals:
    """Totals as of the store's last applied WAL record. Callers must not mutate them."""
    cache = _cache(store)
    with cache.lock:
        lsn = store.last_applied_lsn()
        totals = cache.totals
        if totals is not None and totals.lsn == lsn:
            return totals
        new = None
        if totals is not None and 0 <= lsn - totals.lsn <= MAX_CATCH_UP:
            new = _new_txns(pipeline, totals.lsn, lsn)
        if totals is None or new is None:
            totals = _scan_at_lsn(store, pipeline)
        else:
            totals = _copy(totals, lsn)
            for txn_id, data in new:
                totals.add(txn_id, data)
        cache.totals = totals
        return totals


def is_warm(store: DocumentStore) -> bool:
    """True once this process has scanned the ledger of ``store``."""
    cache = _CACHES.get(store)
    return cache is not None and cache.totals is not None


def trial_balance(store: DocumentStore, pipeline: Pipeline) -> TrialBalance:
    totals = current(store, pipeline)
    cache = _cache(store)
    with cache.lock:
        if cache.tb is None or cache.tb[0] != totals.lsn or cache.totals is not totals:
            cache.tb = (totals.lsn, totals.trial_balance())
        return cache.tb[1]


def _copy(totals: Totals, lsn: int) -> Totals:
    return Totals(
        lsn,
        defaultdict(int, totals.debits),
        defaultdict(int, totals.credits),
        totals.count,
        list(totals.unbalanced),
    )
