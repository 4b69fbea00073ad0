"""Closing an auction: the outcome, the minutes, the prize payout and the period's dues.

Also period 1 of a group whose foreman takes it (no auction). The rules are in
:mod:`app.services.auctions.service`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from app.kernel import office_time
from app.kernel.errors import Conflict, ValidationError
from app.services.actors import Actor
from app.services.auctions import rules
from app.services.auctions.model import (
    CLOSED,
    LOT_RECIPE,
    Auction,
    AuctionBase,
    Bid,
    Closed,
    auction_id_for,
    check_period,
    defaulters,
    lock_name,
    tied_aliases,
)
from app.services.collections import AUCTIONS, GROUPS, MINUTES, PAYOUTS, TICKETS
from app.services.events import AuctionClosed, ForemanPeriodSettled
from app.services.groups import COMPLETED, Group, Ticket, read_group, read_tickets
from app.services.ledger.postings import dues_writes
from app.services.pipeline import ChangeSet, Reader
from app.services.store import Document, Query, Write
from app.services.text import NOTE, clean


@dataclass
class _Outcome:
    winner_alias: str
    winner_member_id: str
    discount: int
    decided_by: str
    lot: dict[str, Any] | None


class AuctionClosing(AuctionBase):
    """Closes auctions and settles the foreman's period (rules: :mod:`.service`)."""

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
        force_reason = clean(force_reason, "Reason", NOTE)
        if force_reason:
            actor.require("admin", doing="close an auction before its end time")
        auction = self.get_auction(auction_id)
        lock = self.ctx.locks.lock(lock_name(auction.group_id))
        took_over = not lock.locked
        if took_over:
            self._take_lock(actor, auction.group_id, f"closing auction {auction_id}")
        try:
            with self.ctx.pipeline.under(lock):
                committed = self.ctx.pipeline.transact(
                    actor,
                    lambda r: self._close_change(r, actor, auction_id, present, force_reason),
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
                f"The auction runs until {office_time.moment(auction.ends_at, seconds=True)}.",
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
        writes = [Write("update", AUCTIONS, auction_id, closing)]
        writes += self._settlement_writes(
            group,
            tickets,
            outcome.winner_member_id,
            settlement,
            minutes,
            _deducted_payouts(reader, group.id),
        )
        event = _settled(AuctionClosed, group, auction_id, outcome, settlement)
        change = ChangeSet.of(event, auction_id, writes, force_reason)
        doc = reader.require(AUCTIONS, auction_id, "auction")
        closed = Auction.from_doc(Document(AUCTIONS, auction_id, {**doc.data, **closing}, 0))
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
            candidates = tied_aliases(bids, discount)
            how = "highest bid" if len(candidates) == 1 else "lot among tied bids"
        else:
            discount = rules.discount_floor(group.agreement)
            pool = _no_bid_candidates(tickets, defaulters(reader, group.id, self.ctx.clock.today()))
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
        deducted: Mapping[str, str] | None = None,
    ) -> list[Write]:
        """Minutes, payout, prized ticket, group progress and dues: one period settled."""
        period, aid = settlement.period, auction_id_for(group.id, settlement.period)
        today, now = self.ctx.clock.today(), self.ctx.clock.now().isoformat()
        deadline = prize_deadline(group, period, today)
        winner_ticket = next(t for t in tickets if t.member_id == winner_member_id)
        done = {"periods_done": period}
        if period == group.members:
            done["status"] = COMPLETED  # type: ignore[assignment]
        return [
            Write("set", MINUTES, aid, minutes, expect_version=0),
            Write(
                "set",
                PAYOUTS,
                aid,
                _payout(group, winner_ticket, settlement, today, deadline, now),
                expect_version=0,
            ),
            Write("update", TICKETS, winner_ticket.id, {"prized_period": period, "prized_at": now}),
            Write("update", GROUPS, group.id, done),
            *dues_writes(
                group.id,
                period,
                settlement,
                [t.member_id for t in tickets],
                deadline,
                self.ctx.ids,
                raised_on=today,
                deducted=deducted,
            ),
        ]

    # -- period 1 to the foreman -----------------------------------------------------

    def settle_foreman_period(
        self, actor: Actor, group_id: str, present: Sequence[str] = (), reason: str = ""
    ) -> Closed:
        """Period 1 of a group whose foreman takes it: G to the foreman's ticket, no auction."""
        actor.require("employee", "admin", doing="settle the foreman's period")
        reason = clean(reason, "Reason", NOTE)
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
        check_period(group, 1, self.ctx.clock.today())
        aid = auction_id_for(group_id, 1)
        if reader.get(AUCTIONS, aid) is not None:
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
        auction = Auction.from_doc(Document(AUCTIONS, aid, data, 1))
        outcome = _Outcome("", foreman, 0, "foreman's ticket", None)
        known = {t.member_id for t in tickets}
        attending = sorted({foreman, *(m for m in present if m in known)})
        minutes = _minutes(group, auction, outcome, settlement, attending, now, actor)
        writes = [Write("set", AUCTIONS, aid, data, expect_version=0)]
        writes += self._settlement_writes(group, tickets, foreman, settlement, minutes)
        event = _settled(ForemanPeriodSettled, group, aid, outcome, settlement)
        change = ChangeSet.of(event, aid, writes, reason)
        return change, Closed(auction, settlement, foreman, aid, outcome.decided_by)


def _deducted_payouts(reader: Reader, group_id: str) -> dict[str, str]:
    """Members of the group whose released prize kept their future instalments in the
    pool, each with that payout's id (their later dues are settled from it)."""
    payouts = reader.query(Query(PAYOUTS).where("group_id", "==", group_id))
    return {
        p.data["member_id"]: p.id
        for p in payouts
        if p.data.get("status") == "released" and p.data.get("deduct_future")
    }


def _no_bid_candidates(tickets: list[Ticket], defaulters: set[str]) -> list[str]:
    open_tickets = [t.member_id for t in tickets if not t.prized]
    eligible = [m for m in open_tickets if m not in defaulters]
    return eligible or open_tickets


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


def next_instalment_date(group: Group, period: int) -> date | None:
    """When the instalment after ``period``'s falls due: the next scheduled draw (None
    after the last period)."""
    return group.auction_date(period + 1) if period < group.members else None


def prize_deadline(group: Group, period: int, draw: date) -> date:
    """The statutory deadline of ``period``'s prize drawn on ``draw``: 7 days, or the day
    before the next instalment if that is earlier (7 days for the last period or a draw
    held on or after the next one's date)."""
    following = next_instalment_date(group, period)
    if following is None or following <= draw:
        following = draw + timedelta(days=rules.PAYOUT_DAYS + 1)
    return rules.payout_deadline(draw, following)


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


def _settled(
    kind: type[AuctionClosed],
    group: Group,
    auction_id: str,
    outcome: _Outcome,
    settlement: rules.Settlement,
) -> AuctionClosed:
    return kind(
        auction_id,
        group.id,
        settlement.period,
        outcome.winner_member_id,
        outcome.winner_alias or None,
        settlement.discount_paise,
        settlement.prize_paise,
        outcome.decided_by,
    )
