"""The auction room: one reverse auction per period of a chit group.

Session. ``open_auction`` takes the group's OS lock (``auction-<group_id>``) and
keeps it until ``close_auction``: a second session for the group, from this
process or any other, is refused with who holds it and since when. The kernel
frees the lock when the holding process dies; reopening the auction then resumes
it (same seed, same bids, same end time). Bids are taken only while some process
holds the session.

Secrets. Opening draws a random seed for the lot and a key for bidder aliases.
Only ``sha256(seed)`` is published; the seed and the alias key are kept sealed
(:meth:`PiiVault.seal`) in the auction document, so neither the WAL nor the store
holds them in clear. Closing reveals the seed; the alias key is never revealed.

Aliases. Every non-prized ticket holder gets an alias (``auction_rules.aliases``,
keyed by the auction's secret key): stable within one auction, unrelated between
auctions, saying nothing of the member. Bid documents and events carry only the
alias; the winner's member id is published at close.

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
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

from app.kernel.errors import Conflict, LockHeld, NotFound, PermissionDenied, ValidationError
from app.kernel.locks import NamedLock
from app.services import auction_rules as rules
from app.services.actors import Actor
from app.services.context import ServiceContext
from app.services.groups import COMPLETED, RUNNING, Group, Ticket, read_group, read_tickets
from app.services.ledger import dues_writes
from app.services.money import format_inr
from app.services.pipeline import ChangeSet, Reader
from app.services.store import Document, Query, Write

OPEN, CLOSED = "open", "closed"
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
class BidResult:
    bid: Bid
    ends_at: datetime
    extended: bool


@dataclass(frozen=True)
class BidderStatus:
    """What one member sees in the room: their alias and whether they may bid."""

    alias: str | None
    may_bid: bool
    reason: str
    min_bid: int
    max_bid: int


@dataclass(frozen=True)
class Closed:
    auction: Auction
    settlement: rules.Settlement
    winner_member_id: str
    payout_id: str
    decided_by: str


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


@dataclass
class _Outcome:
    winner_alias: str
    winner_member_id: str
    discount: int
    decided_by: str
    lot: dict[str, Any] | None


class AuctionService:
    """Opens, runs and closes auctions (see module docstring for the rules)."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

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
        if not MIN_DURATION_S <= duration_s <= MAX_DURATION_S:
            raise ValidationError(
                f"An auction lasts {MIN_DURATION_S} s to {MAX_DURATION_S} s; got {duration_s} s."
            )
        aid = auction_id_for(group_id, period)
        lock = self._take_lock(actor, group_id, f"auction {aid} (period {period})")
        try:
            committed = self.ctx.pipeline.transact(
                actor,
                lambda r: self._open_change(r, actor, group_id, period, duration_s, place, reason),
            )
        except BaseException:
            lock.release()
            raise
        return Auction.from_doc(committed.value)

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
        existing = reader.get("auctions", aid)
        if existing is not None:
            return self._resume_change(actor, existing, reason)
        _check_can_open(group, period, self.ctx.clock.today())
        now = self.ctx.clock.now()
        seed = rules.new_seed()
        data = {
            "group_id": group_id,
            "period": period,
            "kind": "auction",
            "status": OPEN,
            "opened_at": now.isoformat(),
            "ends_at": (now + timedelta(seconds=duration_s)).isoformat(),
            "place": place,
            "seed_hash": rules.commit_seed(seed),
            "seed": None,
            "seed_sealed": self.ctx.pii.seal(seed.hex(), context=f"auction-seed:{aid}"),
            "alias_key_sealed": self.ctx.pii.seal(
                secrets.token_hex(32), context=f"auction-alias:{aid}"
            ),
            "best": None,
            "bids_count": 0,
            "opened_by": actor.id,
        }
        event = {
            "type": "auction.opened",
            "auction_id": aid,
            "group_id": group_id,
            "period": period,
            "seed_hash": data["seed_hash"],
            "ends_at": data["ends_at"],
        }
        write = Write("set", "auctions", aid, data, expect_version=0)
        change = ChangeSet("auction.open", "auction", aid, [write], reason, event)
        return change, Document("auctions", aid, data, 1)

    def _resume_change(
        self, actor: Actor, doc: Document, reason: str
    ) -> tuple[ChangeSet, Document]:
        if doc.data["status"] != OPEN:
            raise Conflict(f"The auction {doc.id} is already closed.")
        event = {"type": "auction.resumed", "auction_id": doc.id, "by": actor.id}
        write = Write("update", "auctions", doc.id, {"resumed_by": actor.id})
        change = ChangeSet("auction.resume", "auction", doc.id, [write], reason, event)
        return change, doc

    def _take_lock(self, actor: Actor, group_id: str, purpose: str) -> NamedLock:
        lock = self.ctx.locks.lock(lock_name(group_id))
        if lock.try_acquire(purpose, holder=f"{actor.name} ({actor.id})"):
            return lock
        holder = lock.holder()
        who = holder.describe() if holder else "a session that has just ended"
        raise LockHeld(
            f"An auction session for group {group_id} is already open: held by {who}.",
            hint="Wait for that session to close; it is freed at once if its program stops.",
        )

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
        if actor.is_staff and not reason.strip():
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
        auction = self._open_auction_doc(reader, auction_id)
        now = self.ctx.clock.now()
        ends_at = rules.extend_deadline(auction.ends_at, now)
        self._require_session(auction.group_id)
        group = read_group(reader, auction.group_id)
        tickets = read_tickets(reader, group.id)
        ticket = _ticket_of(tickets, member_id, group)
        overdue = _defaulters(reader, group.id, self.ctx.clock.today())
        allowed, why = rules.may_bid(ticket.prized, member_id in overdue)
        if not allowed:
            raise PermissionDenied(why)
        alias = self._aliases(reader, auction_id, tickets)[member_id]
        joins_at_cap = self._check_bid(reader, group, auction, alias, discount)
        n = auction.bids_count + 1
        bid = Bid(
            f"{auction_id}-{n}", auction_id, n, alias, discount, now.isoformat(), actor.is_staff
        )
        best = {"alias": auction.best_alias if joins_at_cap else alias, "discount": discount}
        writes = [
            Write("set", "bids", bid.id, _bid_json(bid), expect_version=0),
            Write(
                "update",
                "auctions",
                auction_id,
                {"best": best, "bids_count": n, "ends_at": ends_at.isoformat()},
            ),
        ]
        extended = ends_at != auction.ends_at
        event = {
            "type": "auction.bid",
            "auction_id": auction_id,
            "alias": alias,
            "discount": discount,
            "ends_at": ends_at.isoformat(),
            "extended": extended,
        }
        change = ChangeSet("auction.bid", "auction", auction_id, writes, reason, event)
        return change, BidResult(bid, ends_at, extended)

    def _check_bid(
        self, reader: Reader, group: Group, auction: Auction, alias: str, discount: int
    ) -> bool:
        """Validate ``discount``; True when it joins a best bid already at the cap."""
        agreement, best = group.agreement, auction.best_discount
        if best is None or best != rules.max_bid(agreement) or discount != best:
            rules.validate_bid(agreement, discount, best)
            return False
        if alias in _tied_aliases(self._bids(reader, auction.id), best):
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

    # -- closing ------------------------------------------------------------------

    def close_auction(
        self,
        actor: Actor,
        auction_id: str,
        present: Sequence[str] = (),
        force_reason: str = "",
    ) -> Closed:
        """Settle the period after its end (an admin may force it earlier, with a reason).

        ``present`` names subscribers attending besides the bidders (who count as
        present); the minutes need at least 2.
        """
        actor.require("employee", "admin", doing="close an auction")
        if force_reason:
            actor.require("admin", doing="close an auction before its end time")
        auction = self.get_auction(auction_id)
        lock = self.ctx.locks.lock(lock_name(auction.group_id))
        took_over = not lock.locked
        if took_over:
            self._take_lock(actor, auction.group_id, f"closing auction {auction_id}")
        try:
            committed = self.ctx.pipeline.transact(
                actor, lambda r: self._close_change(r, actor, auction_id, present, force_reason)
            )
        except BaseException:
            if took_over:
                lock.release()
            raise
        lock.release()
        result: Closed = committed.value
        return result

    def _close_change(
        self,
        reader: Reader,
        actor: Actor,
        auction_id: str,
        present: Sequence[str],
        force_reason: str,
    ) -> tuple[ChangeSet, Closed]:
        auction = self._open_auction_doc(reader, auction_id)
        now = self.ctx.clock.now()
        if now < auction.ends_at and not force_reason:
            raise Conflict(
                f"The auction runs until {auction.ends_at.isoformat(timespec='seconds')}.",
                hint="Close it after that, or an admin may force it with a reason.",
            )
        group = read_group(reader, auction.group_id)
        tickets = read_tickets(reader, group.id)
        bids = self._bids(reader, auction_id)
        aliases = self._aliases(reader, auction_id, tickets)
        outcome = self._outcome(reader, auction, group, tickets, bids)
        settlement = rules.settle(group.agreement, auction.period, outcome.discount)
        attending = _present(tickets, bids, present, aliases)
        closing = {
            "status": CLOSED,
            "closed_at": now.isoformat(),
            "closed_by": actor.id,
            "seed": self._seed(reader, auction_id),
            "seed_sealed": None,
            "winner_member_id": outcome.winner_member_id,
            "winner_alias": outcome.winner_alias,
            "discount": outcome.discount,
            "prize": settlement.prize_paise,
            "decided_by": outcome.decided_by,
            "lot": outcome.lot,
            "forced": force_reason or None,
        }
        minutes = _minutes(group, auction, outcome, settlement, attending, now, actor)
        writes = [Write("update", "auctions", auction_id, closing)]
        writes += self._settlement_writes(
            group, tickets, outcome.winner_member_id, settlement, minutes
        )
        event = _settled_event(group, auction_id, outcome, settlement)
        change = ChangeSet("auction.close", "auction", auction_id, writes, force_reason, event)
        doc = reader.require("auctions", auction_id, "auction")
        closed = Auction.from_doc(Document("auctions", auction_id, {**doc.data, **closing}, 0))
        return change, Closed(
            closed, settlement, outcome.winner_member_id, auction_id, outcome.decided_by
        )

    def _outcome(
        self,
        reader: Reader,
        auction: Auction,
        group: Group,
        tickets: list[Ticket],
        bids: list[Bid],
    ) -> _Outcome:
        aliases = self._aliases(reader, auction.id, tickets)
        by_alias = {a: m for m, a in aliases.items()}
        if bids:
            discount = max(b.discount for b in bids)
            candidates = _tied_aliases(bids, discount)
            how = "highest bid" if len(candidates) == 1 else "lot among tied bids"
        else:
            discount = rules.discount_floor(group.agreement)
            pool = _no_bid_candidates(
                tickets, _defaulters(reader, group.id, self.ctx.clock.today())
            )
            candidates = sorted(aliases[m] for m in pool)
            how = "lot (no bids)" if len(candidates) > 1 else "sole eligible subscriber (no bids)"
        lot = None
        winner = candidates[0]
        if len(candidates) > 1:
            seed = self._seed(reader, auction.id)
            winner = rules.draw(bytes.fromhex(seed), candidates)
            lot = {"candidates": candidates, "winner": winner, "seed_hash": auction.seed_hash}
        return _Outcome(winner, by_alias[winner], discount, how, lot)

    def _settlement_writes(
        self,
        group: Group,
        tickets: list[Ticket],
        winner_member_id: str,
        settlement: rules.Settlement,
        minutes: dict[str, Any],
    ) -> list[Write]:
        """Minutes, payout, prized ticket, group progress and dues: one period settled."""
        period, aid = settlement.period, auction_id_for(group.id, settlement.period)
        today, now = self.ctx.clock.today(), self.ctx.clock.now().isoformat()
        deadline = _deadline(group, period, today)
        winner_ticket = next(t for t in tickets if t.member_id == winner_member_id)
        done = {"periods_done": period}
        if period == group.members:
            done["status"] = COMPLETED  # type: ignore[assignment]
        return [
            Write("set", "minutes", aid, minutes, expect_version=0),
            Write(
                "set",
                "payouts",
                aid,
                _payout(group, winner_ticket, settlement, today, deadline, now),
                expect_version=0,
            ),
            Write(
                "update", "tickets", winner_ticket.id, {"prized_period": period, "prized_at": now}
            ),
            Write("update", "groups", group.id, done),
            *dues_writes(
                group.id,
                period,
                settlement,
                [t.member_id for t in tickets],
                deadline,
                self.ctx.ids,
                raised_on=today,
            ),
        ]

    # -- period 1 to the foreman -----------------------------------------------------

    def settle_foreman_period(
        self, actor: Actor, group_id: str, present: Sequence[str] = (), reason: str = ""
    ) -> Closed:
        """Period 1 of a group whose foreman takes it: G to the foreman's ticket, no auction."""
        actor.require("employee", "admin", doing="settle the foreman's period")
        committed = self.ctx.pipeline.transact(
            actor, lambda r: self._foreman_change(r, actor, group_id, present, reason)
        )
        result: Closed = committed.value
        return result

    def _foreman_change(
        self, reader: Reader, actor: Actor, group_id: str, present: Sequence[str], reason: str
    ) -> tuple[ChangeSet, Closed]:
        group = read_group(reader, group_id)
        if not group.agreement.foreman_takes_first or group.foreman_member_id is None:
            raise Conflict(f"Group {group.name!r}'s foreman does not take period 1; auction it.")
        _check_period(group, 1, self.ctx.clock.today())
        aid = auction_id_for(group_id, 1)
        if reader.get("auctions", aid) is not None:
            raise Conflict(f"Period 1 of group {group.name!r} is already settled.")
        tickets = read_tickets(reader, group_id)
        foreman = group.foreman_member_id
        settlement = rules.settle(group.agreement, 1, 0)
        now = self.ctx.clock.now()
        seed = rules.new_seed()
        data = {
            "group_id": group_id,
            "period": 1,
            "kind": "foreman",
            "status": CLOSED,
            "opened_at": now.isoformat(),
            "ends_at": now.isoformat(),
            "closed_at": now.isoformat(),
            "closed_by": actor.id,
            "place": "",
            "seed_hash": rules.commit_seed(seed),
            "seed": seed.hex(),
            "best": None,
            "bids_count": 0,
            "winner_member_id": foreman,
            "winner_alias": None,
            "discount": 0,
            "prize": settlement.prize_paise,
            "decided_by": "foreman's ticket",
            "lot": None,
        }
        auction = Auction.from_doc(Document("auctions", aid, data, 1))
        outcome = _Outcome("", foreman, 0, "foreman's ticket", None)
        known = {t.member_id for t in tickets}
        attending = sorted({foreman, *(m for m in present if m in known)})
        minutes = _minutes(group, auction, outcome, settlement, attending, now, actor)
        writes = [Write("set", "auctions", aid, data, expect_version=0)]
        writes += self._settlement_writes(group, tickets, foreman, settlement, minutes)
        event = _settled_event(group, aid, outcome, settlement)
        change = ChangeSet("auction.foreman_period", "auction", aid, writes, reason, event)
        return change, Closed(auction, settlement, foreman, aid, outcome.decided_by)

    # -- reads --------------------------------------------------------------------

    def get_auction(self, auction_id: str) -> Auction:
        doc = self.ctx.store.get("auctions", auction_id)
        if doc is None:
            raise NotFound(f"No auction with id {auction_id!r}.")
        return Auction.from_doc(doc)

    def list_auctions(self, group_id: str) -> list[Auction]:
        docs = self.ctx.store.query(Query("auctions").where("group_id", "==", group_id))
        return sorted((Auction.from_doc(d) for d in docs), key=lambda a: a.period)

    def bids(self, auction_id: str) -> list[Bid]:
        query = Query("bids").where("auction_id", "==", auction_id)
        return sorted((Bid.from_doc(d) for d in self.ctx.store.query(query)), key=lambda b: b.n)

    def minutes(self, auction_id: str) -> dict[str, Any]:
        doc = self.ctx.store.get("minutes", auction_id)
        if doc is None:
            raise NotFound(f"No minutes for auction {auction_id!r} (is it closed?).")
        return doc.data

    def bidder_status(self, auction_id: str, member_id: str) -> BidderStatus:
        """The member's own alias and whether they may bid now (for the member's screen)."""
        reader = Reader(self.ctx.store)
        auction = Auction.from_doc(reader.require("auctions", auction_id, "auction"))
        group = read_group(reader, auction.group_id)
        tickets = read_tickets(reader, group.id)
        ticket = next((t for t in tickets if t.member_id == member_id), None)
        alias = self._aliases(reader, auction_id, tickets).get(member_id)
        lo = rules.min_next_bid(group.agreement, auction.best_discount)
        hi = rules.max_bid(group.agreement)
        if ticket is None:
            return BidderStatus(None, False, "You hold no ticket in this group.", lo, hi)
        if auction.status != OPEN:
            return BidderStatus(alias, False, "The auction is closed.", lo, hi)
        overdue = member_id in _defaulters(reader, group.id, self.ctx.clock.today())
        allowed, why = rules.may_bid(ticket.prized, overdue)
        return BidderStatus(alias, allowed, why, min(lo, hi), hi)

    def verify_lot(self, auction_id: str) -> LotCheck:
        """Recompute the lot from the published seed, commitment and candidates."""
        d = self.get_auction(auction_id)
        if d.status != CLOSED:
            raise Conflict("The seed is revealed only when the auction closes; verify it then.")
        seed, lot = d.seed or "", self.ctx.store.get("auctions", auction_id)
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

    # -- helpers ------------------------------------------------------------------

    def _open_auction_doc(self, reader: Reader, auction_id: str) -> Auction:
        auction = Auction.from_doc(reader.require("auctions", auction_id, "auction"))
        if auction.status != OPEN:
            raise Conflict(f"The auction {auction_id} is closed.", hint="The bid was not recorded.")
        return auction

    def _bids(self, reader: Reader, auction_id: str) -> list[Bid]:
        docs = reader.query(Query("bids").where("auction_id", "==", auction_id))
        return sorted((Bid.from_doc(d) for d in docs), key=lambda b: b.n)

    def _aliases(self, reader: Reader, auction_id: str, tickets: list[Ticket]) -> dict[str, str]:
        doc = reader.require("auctions", auction_id, "auction")
        key = self.ctx.pii.unseal(
            doc.data["alias_key_sealed"], context=f"auction-alias:{auction_id}"
        )
        period = doc.data["period"]
        bidders = [t.member_id for t in tickets if (t.prized_period or period) >= period]
        return rules.aliases(bytes.fromhex(key), bidders)

    def _seed(self, reader: Reader, auction_id: str) -> str:
        doc = reader.require("auctions", auction_id, "auction")
        if doc.data.get("seed"):
            return str(doc.data["seed"])
        return self.ctx.pii.unseal(doc.data["seed_sealed"], context=f"auction-seed:{auction_id}")


def _check_period(group: Group, period: int, today: date) -> None:
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
            f"Period {period} of group {group.name!r} is scheduled for {scheduled.isoformat()}.",
            hint="Open it on or after that date.",
        )


def _check_can_open(group: Group, period: int, today: date) -> None:
    _check_period(group, period, today)
    if period == 1 and group.agreement.foreman_takes_first:
        raise Conflict(
            "Period 1 of this group goes to the foreman's ticket without an auction.",
            hint="Settle it with settle_foreman_period.",
        )


def _ticket_of(tickets: list[Ticket], member_id: str, group: Group) -> Ticket:
    for ticket in tickets:
        if ticket.member_id == member_id:
            return ticket
    raise PermissionDenied(f"Member {member_id} holds no ticket in group {group.name!r}.")


def _defaulters(reader: Reader, group_id: str, today: date) -> set[str]:
    """Members of the group with an instalment due before today and still unpaid."""
    query = Query("dues").where("group_id", "==", group_id).where("status", "==", "due")
    return {
        d.data["member_id"]
        for d in reader.query(query)
        if date.fromisoformat(d.data["due_date"]) < today
    }


def _no_bid_candidates(tickets: list[Ticket], defaulters: set[str]) -> list[str]:
    open_tickets = [t.member_id for t in tickets if not t.prized]
    eligible = [m for m in open_tickets if m not in defaulters]
    return eligible or open_tickets


def _tied_aliases(bids: list[Bid], discount: int) -> list[str]:
    return sorted({b.alias for b in bids if b.discount == discount})


def _present(
    tickets: list[Ticket], bids: list[Bid], present: Sequence[str], aliases: dict[str, str]
) -> list[str]:
    holders = {t.member_id for t in tickets}
    unknown = sorted(set(present) - holders)
    if unknown:
        raise ValidationError(f"Not subscribers of this group: {', '.join(unknown)}.")
    by_alias = {a: m for m, a in aliases.items()}
    attending = {by_alias[b.alias] for b in bids} | set(present)
    if len(attending) < 2:
        raise ValidationError(
            f"The minutes need at least 2 subscribers present; {len(attending)} recorded.",
            hint="Name the subscribers who attended in 'present'.",
        )
    return sorted(attending)


def _minutes(
    group: Group,
    auction: Auction,
    outcome: _Outcome,
    settlement: rules.Settlement,
    present: list[str],
    now: datetime,
    actor: Actor,
) -> dict[str, Any]:
    """The minutes of the draw with the s.17 fields; signatures start pending."""
    others = [m for m in present if m not in (outcome.winner_member_id, group.foreman_member_id)]
    witnesses = [*others, None, None][:2]
    signatures = [
        {"role": "foreman", "member_id": group.foreman_member_id, "signed_at": None},
        {"role": "winner", "member_id": outcome.winner_member_id, "signed_at": None},
        *({"role": "subscriber", "member_id": m, "signed_at": None} for m in witnesses),
    ]
    return {
        "auction_id": auction.id,
        "group_id": group.id,
        "group_name": group.name,
        "period": auction.period,
        "started_at": auction.opened_at.isoformat(),
        "ended_at": now.isoformat(),
        "place": auction.place,
        "present": present,
        "present_count": len(present),
        "winner_member_id": outcome.winner_member_id,
        "winner_alias": outcome.winner_alias or None,
        "discount": settlement.discount_paise,
        "prize": settlement.prize_paise,
        "commission": settlement.commission_paise,
        "share": settlement.share_paise,
        "net_instalment": settlement.net_instalment_paise,
        "decided_by": outcome.decided_by,
        "bids_count": auction.bids_count,
        "lot": outcome.lot,
        "seed_hash": auction.seed_hash,
        "lot_recipe": LOT_RECIPE,
        "signatures": signatures,
        "status": "pending signatures",
        "recorded_by": actor.id,
    }


def _deadline(group: Group, period: int, today: date) -> date:
    following = group.auction_date(period + 1) if period < group.members else None
    if following is None or following <= today:
        following = today + timedelta(days=rules.PAYOUT_DAYS + 1)
    return rules.payout_deadline(today, following)


def _payout(
    group: Group,
    ticket: Ticket,
    settlement: rules.Settlement,
    draw_date: date,
    deadline: date,
    now: str,
) -> dict[str, Any]:
    remaining = group.members - settlement.period
    return {
        "group_id": group.id,
        "member_id": ticket.member_id,
        "ticket_id": ticket.id,
        "period": settlement.period,
        "auction_id": auction_id_for(group.id, settlement.period),
        "amount": settlement.prize_paise,
        "status": "pending",
        "future_instalments": remaining * group.agreement.instalment_paise,
        "security_required": rules.security_required(group.agreement, remaining, False),
        "security_held": 0,
        "deduct_future": False,
        "deadline": deadline.isoformat(),
        "redraw_from": rules.redraw_allowed_from(draw_date).isoformat(),
        "created_at": now,
        "released_at": None,
    }


def _settled_event(
    group: Group, auction_id: str, outcome: _Outcome, settlement: rules.Settlement
) -> dict[str, Any]:
    return {
        "type": "auction.closed",
        "auction_id": auction_id,
        "group_id": group.id,
        "period": settlement.period,
        "winner_member_id": outcome.winner_member_id,
        "winner_alias": outcome.winner_alias or None,
        "discount": settlement.discount_paise,
        "prize": settlement.prize_paise,
        "decided_by": outcome.decided_by,
    }


def _bid_json(bid: Bid) -> dict[str, Any]:
    return {k: v for k, v in asdict(bid).items() if k != "id"}


def _seed_matches(seed_hex: str, commitment: str) -> bool:
    try:
        return rules.commit_seed(bytes.fromhex(seed_hex)) == commitment
    except ValueError:
        return False
