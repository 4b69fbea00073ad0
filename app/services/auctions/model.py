"""Auction records, and what the room (:mod:`.service`) and its closing (:mod:`.close`)
share.

:class:`Auction`, :class:`Bid`, :class:`Terms` and :class:`Closed` are what the room
shows and returns; :class:`Roster` fixes who may bid in one auction and under which
alias; :class:`AuctionBase` holds the service context and the reads both need (the
group's session lock, the auction document, its bids, the bidder aliases and the sealed
seed). The rules themselves (floor, cap, steps, lots, settlement) are in :mod:`.rules`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType

from app.kernel import office_time
from app.kernel.errors import Conflict, LockHeld, NotFound
from app.kernel.leases import Lease
from app.services.actors import Actor
from app.services.auctions import rules
from app.services.collections import AUCTIONS, BIDS, DUES
from app.services.context import ServiceContext
from app.services.groups import RUNNING, Group, Ticket, read_tickets
from app.services.pipeline import Reader
from app.services.store import Document, Query

OPEN, CLOSED = "open", "closed"
ROSTERS_KEPT = 64
MIN_DURATION_S, MAX_DURATION_S = 60, 24 * 3600
LOT_RECIPE = (
    "names = sorted(set(candidates)); "
    'digest = sha256(seed + b"|" + ",".join(names).encode("utf-8")); '
    "winner = names[int(digest.hexdigest(), 16) % len(names)]"
)


def auction_id_for(group_id: str, period: int) -> str:
    return f"{group_id}-{period}"


def lock_name(group_id: str) -> str:
    return f"auction-{group_id}"


@dataclass(frozen=True)
class Auction:
    id: str
    group_id: str
    period: int
    kind: str
    status: str
    opened_at: datetime
    ends_at: datetime
    place: str
    seed_hash: str
    seed: str | None
    best_alias: str | None
    best_discount: int | None
    bids_count: int
    winner_member_id: str | None
    winner_alias: str | None
    discount: int | None

    @classmethod
    def from_doc(cls, doc: Document) -> Auction:
        d = doc.data
        best = d.get("best") or {}
        return cls(
            id=doc.id,
            group_id=d["group_id"],
            period=d["period"],
            kind=d.get("kind", "auction"),
            status=d["status"],
            opened_at=datetime.fromisoformat(d["opened_at"]),
            ends_at=datetime.fromisoformat(d["ends_at"]),
            place=d.get("place", ""),
            seed_hash=d["seed_hash"],
            seed=d.get("seed"),
            best_alias=best.get("alias"),
            best_discount=best.get("discount"),
            bids_count=d.get("bids_count", 0),
            winner_member_id=d.get("winner_member_id"),
            winner_alias=d.get("winner_alias"),
            discount=d.get("discount"),
        )

    def seconds_left(self, now: datetime) -> float:
        return max((self.ends_at - now).total_seconds(), 0.0)


@dataclass(frozen=True)
class Bid:
    id: str
    auction_id: str
    n: int
    alias: str
    discount: int
    at: str
    on_behalf: bool

    @classmethod
    def from_doc(cls, doc: Document) -> Bid:
        d = doc.data
        return cls(
            doc.id, d["auction_id"], d["n"], d["alias"], d["discount"], d["at"], d["on_behalf"]
        )


@dataclass(frozen=True)
class Terms:
    """A group's bidding terms (paise): the floor, the cap, the highest bid allowed
    (the cap, on a whole step from the floor) and the step."""

    floor: int
    cap: int
    max_bid: int
    step: int

    @classmethod
    def of(cls, agreement: rules.Agreement) -> Terms:
        return cls(
            rules.discount_floor(agreement),
            rules.discount_cap(agreement),
            rules.max_bid(agreement),
            agreement.bid_step_paise,
        )


@dataclass(frozen=True)
class Closed:
    auction: Auction
    settlement: rules.Settlement
    winner_member_id: str
    payout_id: str
    decided_by: str


@dataclass(frozen=True)
class Roster:
    """Who may appear in one auction, fixed for its whole life.

    Tickets are issued only while a group forms (auctions run only once it runs) and a
    prize, once given, stays with its period; so the member -> ticket map and the
    aliases (every ticket not prized before this period, keyed by the auction's sealed
    secret) cannot change after the auction opens. A ticket's *current* state (prized
    or not) is not here: bids read the bidder's ticket itself.
    """

    ticket_ids: Mapping[str, str]
    aliases: Mapping[str, str]

    @classmethod
    def build(cls, secret: bytes, period: int, tickets: list[Ticket]) -> Roster:
        bidders = [t.member_id for t in tickets if (t.prized_period or period) >= period]
        return cls(
            MappingProxyType({t.member_id: t.id for t in tickets}),
            MappingProxyType(rules.aliases(secret, bidders)),
        )


class RosterCache:
    """The rosters of the last ``size`` auctions used, by (auction id, sealed alias key):
    a new auction document under the same id brings a new key, so a new roster."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._rosters: OrderedDict[tuple[str, str], Roster] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> Roster | None:
        with self._lock:
            roster = self._rosters.get(key)
            if roster is not None:
                self._rosters.move_to_end(key)
            return roster

    def put(self, key: tuple[str, str], roster: Roster) -> None:
        with self._lock:
            self._rosters[key] = roster
            while len(self._rosters) > self.size:
                self._rosters.popitem(last=False)


class AuctionBase:
    """The service context and the reads shared by the auction room and its closing."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self._rosters = RosterCache(ROSTERS_KEPT)

    def _take_lock(self, actor: Actor, group_id: str, purpose: str) -> Lease:
        lock = self.ctx.locks.lock(lock_name(group_id))
        if lock.try_acquire(purpose, holder=f"{actor.name} ({actor.id})"):
            return lock
        holder = lock.holder()
        who = holder.describe() if holder else "a session that has just ended"
        raise LockHeld(
            f"An auction session for group {group_id} is already open: held by {who}.",
            hint="Wait for that session to close; it is freed at once if its program stops.",
        )

    def get_auction(self, auction_id: str) -> Auction:
        doc = self.ctx.store.get(AUCTIONS, auction_id)
        if doc is None:
            raise NotFound(f"No auction with id {auction_id!r}.")
        return Auction.from_doc(doc)

    def _open_auction_doc(self, reader: Reader, auction_id: str) -> Auction:
        return self._open_auction_and_doc(reader, auction_id)[0]

    def _open_auction_and_doc(self, reader: Reader, auction_id: str) -> tuple[Auction, Document]:
        doc = reader.require(AUCTIONS, auction_id, "auction")
        auction = Auction.from_doc(doc)
        if auction.status != OPEN:
            raise Conflict(f"The auction {auction_id} is closed.", hint="The bid was not recorded.")
        return auction, doc

    def _bids(self, reader: Reader, auction_id: str) -> list[Bid]:
        docs = reader.query(Query(BIDS).where("auction_id", "==", auction_id))
        return sorted((Bid.from_doc(d) for d in docs), key=lambda b: b.n)

    def _aliases(self, reader: Reader, auction_id: str, tickets: list[Ticket]) -> dict[str, str]:
        doc = reader.require(AUCTIONS, auction_id, "auction")
        return dict(self._roster(reader, doc, lambda: tickets).aliases)

    def _roster(
        self,
        reader: Reader,
        doc: Document,
        tickets: Callable[[], list[Ticket]] | None = None,
    ) -> Roster:
        """The auction's :class:`Roster`, built once per auction (from ``tickets()``, or
        the group's tickets read through ``reader``) and then kept."""
        key = (doc.id, str(doc.data["alias_key_sealed"]))
        roster = self._rosters.get(key)
        if roster is None:
            group_id = doc.data["group_id"]
            held = tickets() if tickets else read_tickets(reader, group_id)
            secret = self.ctx.pii.unseal(key[1], context=f"auction-alias:{doc.id}")
            roster = Roster.build(bytes.fromhex(secret), doc.data["period"], held)
            self._rosters.put(key, roster)
        return roster

    def _seed(self, reader: Reader, auction_id: str) -> str:
        doc = reader.require(AUCTIONS, auction_id, "auction")
        if doc.data.get("seed"):
            return str(doc.data["seed"])
        return self.ctx.pii.unseal(doc.data["seed_sealed"], context=f"auction-seed:{auction_id}")


def check_period(group: Group, period: int, today: date) -> None:
    if group.status != RUNNING:
        raise Conflict(f"Group {group.name!r} is {group.status}; auctions run only while it runs.")
    if period != group.next_period:
        raise Conflict(
            f"Period {period} cannot be settled now: the next period of group "
            f"{group.name!r} is {group.next_period}."
        )
    scheduled = group.auction_date(period)
    if today < scheduled:
        raise Conflict(
            f"Period {period} of group {group.name!r} is scheduled for "
            f"{office_time.day(scheduled)}.",
            hint="Open it on or after that date.",
        )


def defaulters(reader: Reader, group_id: str, today: date) -> set[str]:
    """Members of the group with an instalment due before today and still unpaid."""
    query = Query(DUES).where("group_id", "==", group_id).where("status", "==", "due")
    return {
        d.data["member_id"]
        for d in reader.query(query)
        if date.fromisoformat(d.data["due_date"]) < today
    }


def is_defaulter(reader: Reader, group_id: str, member_id: str, today: date) -> bool:
    """:func:`defaulters` for one member: reads only that member's unpaid dues."""
    query = (
        Query(DUES)
        .where("group_id", "==", group_id)
        .where("member_id", "==", member_id)
        .where("status", "==", "due")
    )
    return any(date.fromisoformat(d.data["due_date"]) < today for d in reader.query(query))


def tied_aliases(bids: list[Bid], discount: int) -> list[str]:
    return sorted({b.alias for b in bids if b.discount == discount})
