"""Change topics: what a read model depends on, and who is told when that changes.

In the spirit of Anki's ``OpChanges``: each read model (``KpiService.dashboard``,
``AuctionService.room``, ``RecoveryService.board`` ...) names the topics it depends
on with :func:`reads`; whatever shows it (a desktop view, a web page) subscribes to
those topics with :meth:`Topics.subscribe` and reads the model again when told. A
screen never names a store collection.

Topics are coarse on purpose: a bid in any auction is a ``bids`` change. Subscribers
re-read; they do not patch. The mapping from store collections to topics lives here,
once (:data:`COLLECTION_TOPICS`).

Changes are seen through one store listener per collection, shared by every
subscriber of the process, so commits made by this process, by the web server or by
another process on the same data directory all arrive. Callbacks run on the store's
listener thread; a failing callback is logged and stays subscribed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from app.services import collections as c
from app.services.store import Change, DocumentStore, Listener

log = logging.getLogger(__name__)

MEMBERS = "members"
KYC = "kyc"
GROUPS = "groups"
AGREEMENTS = "agreements"
AUCTIONS = "auctions"
BIDS = "bids"
LEDGER = "ledger"
DUES = "dues"
LOANS = "loans"
GATE = "gate"
RECOVERY = "recovery"
STAFF = "staff"
ALL = frozenset(
    {MEMBERS, KYC, GROUPS, AGREEMENTS, AUCTIONS, BIDS, LEDGER, DUES, LOANS, GATE, RECOVERY, STAFF}
)

COLLECTION_TOPICS: dict[str, frozenset[str]] = {
    c.MEMBERS: frozenset({MEMBERS, KYC}),  # a member carries its KYC status
    c.KYC: frozenset({KYC}),
    c.GROUPS: frozenset({GROUPS}),
    c.TICKETS: frozenset({GROUPS}),
    c.AGREEMENT_SIGNATURES: frozenset({AGREEMENTS}),
    c.AUCTIONS: frozenset({AUCTIONS}),
    c.MINUTES: frozenset({AUCTIONS}),
    c.PAYOUTS: frozenset({AUCTIONS, GATE}),
    c.BIDS: frozenset({BIDS}),
    c.LEDGER: frozenset({LEDGER}),
    c.RECEIPTS: frozenset({LEDGER}),
    c.PERIODS: frozenset({LEDGER, DUES}),
    c.DUES: frozenset({DUES}),
    c.LOANS: frozenset({LOANS}),
    c.GATE_POOLS: frozenset({GATE}),
    c.GATE_DECISIONS: frozenset({GATE}),
    c.ADVANCES: frozenset({GATE}),
    c.ADVANCE_BOOKS: frozenset({GATE, LEDGER}),
    c.RECOVERY_CASES: frozenset({RECOVERY}),
    c.STAFF_ACCOUNTS: frozenset({STAFF}),
    c.COUNTER_APPROVALS: frozenset({LEDGER}),  # receipts waiting for their checker
    c.CAPITAL_PAYINS: frozenset({LEDGER}),  # capital waiting for its checker
    c.STATEMENT_IMPORTS: frozenset({LEDGER}),
}
"""Which topics a change to each collection touches; collections not named here
(sessions, sign-in codes, token indexes) touch none."""

Callback = Callable[[frozenset[str]], None]
F = TypeVar("F", bound=Callable[..., Any])


def checked(names: Iterable[str]) -> frozenset[str]:
    """``names`` as a set, refusing any that is not a topic (a typo would never fire)."""
    found = frozenset(names)
    unknown = found - ALL
    if unknown:
        raise ValueError(f"unknown topic(s) {sorted(unknown)}; the topics are {sorted(ALL)}")
    return found


def collections_of(names: Iterable[str]) -> set[str]:
    """The collections whose changes touch any of ``names``."""
    wanted = frozenset(names)
    return {coll for coll, topics in COLLECTION_TOPICS.items() if topics & wanted}


def reads(*names: str) -> Callable[[F], F]:
    """Mark a read model with the topics it depends on (see :func:`topics_of`)."""
    declared = checked(names)

    def mark(fn: F) -> F:
        setattr(fn, "topics", declared)  # noqa: B010 (a function attribute mypy cannot see)
        return fn

    return mark


def topics_of(read_model: Callable[..., Any]) -> frozenset[str]:
    """The topics a read model (a function or bound method marked with :func:`reads`)
    depends on."""
    declared = getattr(read_model, "topics", None)
    if not isinstance(declared, frozenset):
        raise TypeError(f"{read_model!r} does not name its topics (mark it with @reads)")
    return declared


class Subscription:
    """One subscriber's interest in some topics; :meth:`close` ends it."""

    def __init__(self, hub: Topics, names: frozenset[str], callback: Callback) -> None:
        self.names = names
        self.callback = callback
        self.active = True
        self._hub = hub

    def close(self) -> None:
        """Stop; no callback starts after this returns (one running may finish)."""
        if self.active:
            self.active = False
            self._hub._remove(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Watch:
    """The shared store listener of one collection, and how many subscribers need it."""

    def __init__(self) -> None:
        self.users = 0
        self.primed = False  # the listener's first delivery is the initial result
        self.since = 0  # the store's last applied record when the listener was made
        self.listener: Listener | None = None


class Topics:
    """Tells subscribers which of their topics changed (see module docstring)."""

    def __init__(self, store: DocumentStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._subs: list[Subscription] = []
        self._watches: dict[str, _Watch] = {}

    def subscribe(self, names: Iterable[str], callback: Callback) -> Subscription:
        """Call ``callback(changed topics among names)`` after each commit touching them."""
        sub = Subscription(self, checked(names), callback)
        with self._lock:
            self._subs.append(sub)
            for collection in sorted(collections_of(sub.names)):
                self._watch(collection).users += 1
        return sub

    def close(self) -> None:
        """End every subscription (the composition root does, before the store closes)."""
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            sub.close()

    def _watch(self, collection: str) -> _Watch:
        watch = self._watches.get(collection)
        if watch is None:
            watch = self._watches[collection] = _Watch()
            watch.since = self._store.last_applied_lsn()
            watch.listener = self._store.watch(collection, self._deliverer(collection, watch))
        return watch

    def _deliverer(self, collection: str, watch: _Watch) -> Callable[[list[Change]], None]:
        touched = COLLECTION_TOPICS[collection]

        def on_changes(changes: list[Change]) -> None:
            if not watch.primed:
                watch.primed = True
                # The initial result arrives on the listener's thread a moment later: a
                # commit in between is in it, and would otherwise never be told.
                if self._store.last_applied_lsn() == watch.since:
                    return
            with self._lock:
                subs = [s for s in self._subs if s.names & touched]
            for sub in subs:
                self._notify(sub, sub.names & touched)

        return on_changes

    @staticmethod
    def _notify(sub: Subscription, changed: frozenset[str]) -> None:
        if not sub.active:
            return
        try:
            sub.callback(changed)
        except Exception:
            log.exception("a subscriber to %s raised; it stays subscribed", sorted(changed))

    def _remove(self, sub: Subscription) -> None:
        with self._lock:
            if sub not in self._subs:
                return
            self._subs.remove(sub)
            for collection in collections_of(sub.names):
                watch = self._watches[collection]
                watch.users -= 1
                if watch.users == 0:
                    del self._watches[collection]
                    if watch.listener is not None:
                        watch.listener.unsubscribe()
