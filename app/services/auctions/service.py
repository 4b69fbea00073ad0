"""The auction room: one reverse auction per period of a chit group.

Session. ``open_auction`` takes the group's lock (``auction-<group_id>``: an OS lock
with the SQLite store, a lease every machine sees with Firestore) and keeps it until
``close_auction``: a second session for the group, from this process or any other, is
refused with who holds it and since when. The lock is freed when the holding process
dies (a lease once it expires); reopening the auction then resumes it (same seed,
same bids, same end time). Opening and closing commit under the lock, so a holder
that lost its lease cannot. Bids are taken only while some process holds the session.

Secrets. Opening draws a random seed for the lot and a key for bidder aliases.
Only ``sha256(seed)`` is published; the seed and the alias key are kept sealed
(:meth:`PiiVault.seal`) in the auction document, so neither the WAL nor the store
holds them in clear. Closing reveals the seed; the alias key is never revealed.

Aliases. Every non-prized ticket holder gets an alias (``auction_rules.aliases``,
keyed by the auction's secret key): stable within one auction, unrelated between
auctions, saying nothing of the member. Bid documents and events carry only the
alias; the winner's member id is published at close. Since tickets are issued only
while a group forms, the aliases are computed once per auction and kept
(:class:`~app.services.auctions.model.Roster`); a bid reads only the auction, the
group, the bidder's own ticket and the bidder's unpaid dues.

Bids. Only non-prized subscribers with no overdue instalment in the group may bid.
A bid respects the floor, cap and step and beats the best bid; once the best bid
is at the cap (nothing can beat it) other bidders may *join* at the cap, and the
lot decides among them. A bid in the last 30 seconds resets the countdown to 30
seconds (``ends_at = bid time + 30 s``); the end never moves earlier.

Closing. The highest discount wins. A tie at the cap is decided by lot among the
tied bidders; a period nobody bid for is decided by lot among all eligible
subscribers (non-prized and not defaulting; if none, all non-prized) at the floor
discount (the commission), as ``auction_rules.settle`` prescribes. Lot candidates
are aliases, so the published lot names nobody but the winner. One ChangeSet
then: closes the auction (revealing the seed), writes the minutes (s.17), creates
the pending prize payout (released only through the Banker's gate), marks the
winner's ticket prized, advances the group and raises the period's dues.

Dates. The period's instalments and the prize both fall due on
``auction_rules.payout_deadline`` (7 days after the draw, or the day before the
next scheduled draw if earlier; 7 days for the last period or a late draw).
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from app.kernel.errors import Conflict, NotFound, PermissionDenied, ValidationError
from app.services import topics
from app.services.actors import Actor
from app.services.auctions import rules
from app.services.auctions.close import AuctionClosing
from app.services.auctions.model import (
    CLOSED,
    LOT_RECIPE,
    MAX_DURATION_S,
    MIN_DURATION_S,
    OPEN,
    Auction,
    Bid,
    Roster,
    Terms,
    auction_id_for,
    check_period,
    is_defaulter,
    lock_name,
    tied_aliases,
)
from app.services.collections import AUCTIONS, BIDS, MEMBERS, MINUTES, TICKETS
from app.services.events import AuctionOpened, AuctionResumed, BidPlaced
from app.services.feeds import Feed
from app.services.groups import (
    YOUR_GROUPS,
    Group,
    Ticket,
    read_group,
    read_tickets,
    visible_group,
)
from app.services.money import format_inr
from app.services.pipeline import ChangeSet, Reader
from app.services.store import Document, Query, Write
from app.services.text import LINE, NOTE, clean
from app.services.topics import reads


@dataclass(frozen=True)
class BidResult:
    bid: Bid
    ends_at: datetime
    extended: bool
    event: BidPlaced


@dataclass(frozen=True)
class BidderStatus:
    """What one member sees in the room: their alias and whether they may bid."""

    alias: str | None
    may_bid: bool
    reason: str
    min_bid: int
    max_bid: int


@dataclass(frozen=True)
class LotCheck:
    """Anyone's recomputation of an auction's lot from its published minutes."""

    auction_id: str
    used_lot: bool
    seed_hash: str
    seed: str | None
    candidates: list[str]
    winner_alias: str | None
    recomputed_winner: str | None
    seed_matches: bool
    ok: bool
    recipe: str = LOT_RECIPE


@dataclass(frozen=True)
class Room:
    """A group's auction room, as the desktop's auction control and the members' page
    show it: the open auction (else the latest), its bids, the session holder and,
    once closed, the minutes and the lot's check."""

    group: Group
    terms: Terms
    auction: Auction | None
    bids: list[Bid] = field(default_factory=list)
    holder: str | None = None
    minutes: dict[str, Any] | None = None
    lot: LotCheck | None = None
    subscribers: list[tuple[str, str]] = field(default_factory=list)
    """(member id, name) of every ticket holder, by member id (for the minutes)."""

    @property
    def is_open(self) -> bool:
        return self.auction is not None and self.auction.status == OPEN


class AuctionService(AuctionClosing):
    """Opens, runs and closes auctions (see module docstring for the rules)."""

    # -- session ------------------------------------------------------------------

    def open_auction(
        self,
        actor: Actor,
        group_id: str,
        period: int,
        duration_s: int = 600,
        place: str = "Registered office (video link in the member app)",
        reason: str = "",
    ) -> Auction:
        """Open (or, after a crashed session, resume) ``period``'s auction; hold the lock."""
        actor.require("employee", "admin", doing="open an auction")
        place = clean(place, "Place", LINE, required=True)
        reason = clean(reason, "Reason", NOTE)
        if not MIN_DURATION_S <= duration_s <= MAX_DURATION_S:
            raise ValidationError(
                f"An auction lasts {MIN_DURATION_S} s to {MAX_DURATION_S} s; got {duration_s} s."
            )
        aid = auction_id_for(group_id, period)
        lock = self._take_lock(actor, group_id, f"auction {aid} (period {period})")
        try:
            with self.ctx.pipeline.under(lock):
                committed = self.ctx.pipeline.transact(
                    actor,
                    lambda r: self._open_change(
                        r, actor, group_id, period, duration_s, place, reason
                    ),
                )
        except BaseException:
            lock.release()
            raise
        return Auction.from_doc(committed.value)

    def can_open(self, group: Group) -> bool:
        """Whether ``group``'s next auction can be opened today (or, open already,
        resumed): the group runs, the period's draw date has come and the period is not
        the foreman's without an auction. The checks :meth:`open_auction` makes."""
        period = group.next_period
        if period is None:
            return False
        try:
            _check_can_open(group, period, self.ctx.clock.today())
        except Conflict:
            return False
        return True

    def _open_change(
        self,
        reader: Reader,
        actor: Actor,
        group_id: str,
        period: int,
        duration_s: int,
        place: str,
        reason: str,
    ) -> tuple[ChangeSet, Document]:
        aid = auction_id_for(group_id, period)
        group = read_group(reader, group_id)
        existing = reader.get(AUCTIONS, aid)
        if existing is not None:
            return self._resume_change(actor, existing, reason)
        _check_can_open(group, period, self.ctx.clock.today())
        now = self.ctx.clock.now()
        seed = rules.new_seed()
        event = AuctionOpened(
            aid,
            group_id,
            period,
            rules.commit_seed(seed),
            (now + timedelta(seconds=duration_s)).isoformat(),
        )
        data = {
            "group_id": group_id,
            "period": period,
            "kind": "auction",
            "status": OPEN,
            "opened_at": now.isoformat(),
            "ends_at": event.ends_at,
            "place": place,
            "seed_hash": event.seed_hash,
            "seed": None,
            "seed_sealed": self.ctx.pii.seal(seed.hex(), context=f"auction-seed:{aid}"),
            "alias_key_sealed": self.ctx.pii.seal(
                secrets.token_hex(32), context=f"auction-alias:{aid}"
            ),
            "best": None,
            "bids_count": 0,
            "opened_by": actor.id,
        }
        write = Write("set", AUCTIONS, aid, data, expect_version=0)
        return ChangeSet.of(event, aid, [write], reason), Document(AUCTIONS, aid, data, 1)

    def _resume_change(
        self, actor: Actor, doc: Document, reason: str
    ) -> tuple[ChangeSet, Document]:
        if doc.data["status"] != OPEN:
            raise Conflict(f"The auction {doc.id} is already closed.")
        write = Write("update", AUCTIONS, doc.id, {"resumed_by": actor.id})
        return ChangeSet.of(AuctionResumed(doc.id, actor.id), doc.id, [write], reason), doc

    def session_holder(self, group_id: str) -> str | None:
        """Who holds the group's auction session now (any process), or None."""
        holder = self.ctx.locks.lock(lock_name(group_id)).holder()
        return holder.describe() if holder else None

    # -- bidding ------------------------------------------------------------------

    def bid(
        self, actor: Actor, auction_id: str, member_id: str, discount: int, reason: str = ""
    ) -> BidResult:
        """Record a bid of ``discount`` paise by ``member_id`` (see module docstring)."""
        actor.require("member", "employee", "admin", doing="bid in an auction")
        if actor.role == "member" and actor.id != member_id:
            raise PermissionDenied("Members may bid only for themselves.")
        reason = clean(reason, "Reason", NOTE)
        if actor.is_staff and not reason:
            raise ValidationError(
                "A bid entered on a member's behalf needs a reason.",
                hint="Say how the member asked for it (e.g. 'by phone, 11:02').",
            )
        committed = self.ctx.pipeline.transact(
            actor, lambda r: self._bid_change(r, actor, auction_id, member_id, discount, reason)
        )
        result: BidResult = committed.value
        return result

    def _bid_change(
        self,
        reader: Reader,
        actor: Actor,
        auction_id: str,
        member_id: str,
        discount: int,
        reason: str,
    ) -> tuple[ChangeSet, BidResult]:
        auction, doc = self._open_auction_and_doc(reader, auction_id)
        now = self.ctx.clock.now()
        ends_at = rules.extend_deadline(auction.ends_at, now)
        self._require_session(auction.group_id)
        group = read_group(reader, auction.group_id)
        roster = self._roster(reader, doc)
        ticket = _ticket_of(reader, roster, member_id, group)
        overdue = is_defaulter(reader, group.id, member_id, self.ctx.clock.today())
        allowed, why = rules.may_bid(ticket.prized, overdue)
        if not allowed:
            raise PermissionDenied(why)
        alias = roster.aliases[member_id]
        joins_at_cap = self._check_bid(reader, group, auction, alias, discount)
        n = auction.bids_count + 1
        bid = Bid(
            f"{auction_id}-{n}", auction_id, n, alias, discount, now.isoformat(), actor.is_staff
        )
        best = {"alias": auction.best_alias if joins_at_cap else alias, "discount": discount}
        writes = [
            Write("set", BIDS, bid.id, _bid_json(bid), expect_version=0),
            Write(
                "update",
                AUCTIONS,
                auction_id,
                {"best": best, "bids_count": n, "ends_at": ends_at.isoformat()},
            ),
        ]
        extended = ends_at != auction.ends_at
        event = BidPlaced(auction_id, alias, discount, ends_at.isoformat(), extended)
        change = ChangeSet.of(event, auction_id, writes, reason)
        return change, BidResult(bid, ends_at, extended, event)

    def _check_bid(
        self, reader: Reader, group: Group, auction: Auction, alias: str, discount: int
    ) -> bool:
        """Validate ``discount``; True when it joins a best bid already at the cap."""
        agreement, best = group.agreement, auction.best_discount
        if best is None or best != rules.max_bid(agreement) or discount != best:
            rules.validate_bid(agreement, discount, best)
            return False
        if alias in tied_aliases(self._bids(reader, auction.id), best):
            raise Conflict(
                f"You have already bid the cap of {format_inr(best)}; the lot decides among "
                "those at the cap."
            )
        return True

    def _require_session(self, group_id: str) -> None:
        if self.session_holder(group_id) is None:
            raise Conflict(
                "This auction's session is not running (its program was closed or stopped).",
                hint="Staff must reopen the auction before bidding continues.",
            )

    # -- reads --------------------------------------------------------------------

    @reads(topics.AUCTIONS, topics.BIDS, topics.GROUPS)
    def room(self, group_id: str, auction_id: str | None = None) -> Room:
        """The room of ``group_id``: with ``auction_id`` that auction (it must be one of
        the group's), else the group's open auction, else its latest."""
        reader = Reader(self.ctx.store)
        group = read_group(reader, group_id)
        current = self._current(group_id, auction_id)
        holder = self.session_holder(group_id)
        subscribers = self._subscribers(reader, group_id)
        terms = Terms.of(group.agreement)
        if current is None:
            return Room(group, terms, None, holder=holder, subscribers=subscribers)
        minutes = lot = None
        if current.status != OPEN and current.kind == "auction":
            minutes, lot = self.minutes(current.id), self.verify_lot(current.id)
        bids = self.bids(current.id)
        return Room(group, terms, current, bids, holder, minutes, lot, subscribers)

    def _current(self, group_id: str, auction_id: str | None) -> Auction | None:
        auctions = self.list_auctions(group_id)
        if auction_id is not None:
            chosen = next((a for a in auctions if a.id == auction_id), None)
            if chosen is None:
                raise NotFound(f"Group {group_id} has no auction {auction_id!r}.")
            return chosen
        return next((a for a in auctions if a.status == OPEN), auctions[-1] if auctions else None)

    @staticmethod
    def _subscribers(reader: Reader, group_id: str) -> list[tuple[str, str]]:
        tickets = read_tickets(reader, group_id)
        people = reader.store.get_many(MEMBERS, [t.member_id for t in tickets])
        return sorted(
            (t.member_id, str(people[t.member_id].data.get("name", t.member_id)))
            if t.member_id in people
            else (t.member_id, t.member_id)
            for t in tickets
        )

    def visible(self, actor: Actor, member_id: str, auction_id: str) -> Auction:
        """The auction, if it is in one of ``member_id``'s groups (staff: any auction; see
        :func:`~app.services.groups.visible_group`); a member gets the same answer for an
        auction that does not exist as for one in another group."""
        try:
            auction = self.get_auction(auction_id)
            visible_group(Reader(self.ctx.store), actor, member_id, auction.group_id)
        except NotFound:
            if actor.role == "member":
                raise NotFound("This is not an auction of your groups.", hint=YOUR_GROUPS) from None
            raise
        return auction

    def bids_feed(self, auction_id: str) -> Feed:
        """The auction's bids (under aliases), live."""
        return Feed(Query(BIDS).where("auction_id", "==", auction_id))

    def status_feed(self, auction: Auction) -> Feed:
        """The auction itself (end time, best bid, result), live: its group's auction of
        its period, so a re-opened auction stays followed."""
        query = Query(AUCTIONS).where("group_id", "==", auction.group_id)
        return Feed(query.where("period", "==", auction.period))

    def list_auctions(self, group_id: str) -> list[Auction]:
        docs = self.ctx.store.query(Query(AUCTIONS).where("group_id", "==", group_id))
        return sorted((Auction.from_doc(d) for d in docs), key=lambda a: a.period)

    def bids(self, auction_id: str) -> list[Bid]:
        query = Query(BIDS).where("auction_id", "==", auction_id)
        return sorted((Bid.from_doc(d) for d in self.ctx.store.query(query)), key=lambda b: b.n)

    def minutes(self, auction_id: str) -> dict[str, Any]:
        doc = self.ctx.store.get(MINUTES, auction_id)
        if doc is None:
            raise NotFound(f"No minutes for auction {auction_id!r} (is it closed?).")
        return doc.data

    def alias_holders(self, auction_id: str) -> dict[str, str]:
        """Alias -> member id of every subscriber of a closed auction (for the
        Registrar's copy of the minutes). Refused while the auction is open: aliases
        keep bidders unknown to each other until the prize is given."""
        reader = Reader(self.ctx.store)
        doc = reader.require(AUCTIONS, auction_id, "auction")
        if doc.data["status"] != CLOSED:
            raise Conflict(
                f"Auction {auction_id} is still open; who holds which alias is shown "
                "only after it closes."
            )
        if doc.data.get("kind") == "foreman":
            return {}
        roster = self._roster(reader, doc)
        return {alias: member for member, alias in roster.aliases.items()}

    def bidder_status(self, auction_id: str, member_id: str) -> BidderStatus:
        """The member's own alias and whether they may bid now (for the member's screen)."""
        reader = Reader(self.ctx.store)
        doc = reader.require(AUCTIONS, auction_id, "auction")
        auction = Auction.from_doc(doc)
        group = read_group(reader, auction.group_id)
        roster = self._roster(reader, doc)
        ticket = _held_ticket(reader, roster, member_id)
        alias = roster.aliases.get(member_id)
        lo = rules.min_next_bid(group.agreement, auction.best_discount)
        hi = rules.max_bid(group.agreement)
        if ticket is None:
            return BidderStatus(None, False, "You hold no ticket in this group.", lo, hi)
        if auction.status != OPEN:
            return BidderStatus(alias, False, "The auction is closed.", lo, hi)
        overdue = is_defaulter(reader, group.id, member_id, self.ctx.clock.today())
        allowed, why = rules.may_bid(ticket.prized, overdue)
        return BidderStatus(alias, allowed, why, min(lo, hi), hi)

    def verify_lot(self, auction_id: str) -> LotCheck:
        """Recompute the lot from the published seed, commitment and candidates."""
        d = self.get_auction(auction_id)
        if d.status != CLOSED:
            raise Conflict("The seed is revealed only when the auction closes; verify it then.")
        seed, lot = d.seed or "", self.ctx.store.get(AUCTIONS, auction_id)
        published = lot.data.get("lot") if lot else None
        matches = _seed_matches(seed, d.seed_hash)
        if published is None:
            return LotCheck(
                auction_id, False, d.seed_hash, seed, [], d.winner_alias, None, matches, matches
            )
        candidates, winner = published["candidates"], published["winner"]
        recomputed = rules.draw(bytes.fromhex(seed), candidates) if matches else None
        ok = rules.verify_draw(seed, d.seed_hash, candidates, winner) and winner == d.winner_alias
        return LotCheck(
            auction_id, True, d.seed_hash, seed, candidates, winner, recomputed, matches, ok
        )


def _check_can_open(group: Group, period: int, today: date) -> None:
    check_period(group, period, today)
    if period == 1 and group.agreement.foreman_takes_first:
        raise Conflict(
            "Period 1 of this group goes to the foreman's ticket without an auction.",
            hint="Settle it with settle_foreman_period.",
        )


def _held_ticket(reader: Reader, roster: Roster, member_id: str) -> Ticket | None:
    """The member's ticket, read (so the transaction depends on it) by its id."""
    ticket_id = roster.ticket_ids.get(member_id)
    doc = reader.get(TICKETS, ticket_id) if ticket_id else None
    if doc is None or doc.data.get("member_id") != member_id:
        return None
    return Ticket.from_doc(doc)


def _ticket_of(reader: Reader, roster: Roster, member_id: str, group: Group) -> Ticket:
    ticket = _held_ticket(reader, roster, member_id)
    if ticket is None:
        raise PermissionDenied(f"Member {member_id} holds no ticket in group {group.name!r}.")
    return ticket


def _bid_json(bid: Bid) -> dict[str, Any]:
    return {k: v for k, v in asdict(bid).items() if k != "id"}


def _seed_matches(seed_hex: str, commitment: str) -> bool:
    try:
        return rules.commit_seed(bytes.fromhex(seed_hex)) == commitment
    except ValueError:
        return False
