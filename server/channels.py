"""The websocket channels the member pages use (registered by ``create_app``).

* ``member.timeline``: the member's ledger transactions (receipts, prize, loan, EMI);
* ``member.dues``: the member's dues (raised at each draw, paid by receipts);
* ``loans.mine``: the member's loans and their status;
* ``auction.<id>``: the auction's bids under aliases; action ``bid`` {discount};
* ``auction.status.<id>``: the auction itself: end time, best discount, result, seed.

Members see their own records only; staff name a member with ``{"member_id": ...}`` in
the subscribe payload. Auction channels need a ticket in the auction's group.
"""

from __future__ import annotations

import asyncio
from typing import Any

from app.kernel.errors import ValidationError
from app.services.actors import STAFF, Actor, subject_id
from app.services.auctions import Auction
from app.services.feeds import Document, Feed
from app.services.ledger.postings import REF_FIELDS
from app.services.loans import loan_code
from app.services.money import format_inr
from app.services.registry import Services
from server.pages import auction_json
from server.ws import Action, ActionRequest, ChannelSpec

MEMBERS_AND_STAFF = frozenset({"member", *STAFF})
MEMBERS = frozenset({"member"})
STATUS_PREFIX = "auction.status."


def _member_of(actor: Actor, payload: dict[str, Any]) -> str:
    requested = payload.get("member_id")
    return subject_id(actor, requested if isinstance(requested, str) else None)


def _render_txn(doc: Document) -> dict[str, Any]:
    d = doc.data
    data = {k: d.get(k) for k in (*REF_FIELDS, "date")}
    return {"id": doc.id, "version": doc.version, "data": data}


def _render_due(doc: Document) -> dict[str, Any]:
    d = doc.data
    keep = ("group_id", "period", "net", "paid", "status", "due_date", "bank_refs")
    data = {k: d.get(k) for k in keep}
    data["net_fmt"] = format_inr(int(d.get("net", 0)))
    return {"id": doc.id, "version": doc.version, "data": data}


def _render_loan(doc: Document) -> dict[str, Any]:
    d = doc.data
    keep = ("member_id", "amount", "tenure_months", "rate_bps", "emi", "status", "applied_at")
    data = {k: d.get(k) for k in keep}
    data["amount_fmt"] = format_inr(int(d.get("amount", 0)))
    data["emi_fmt"] = format_inr(int(d.get("emi", 0)))
    data["loan_no"] = loan_code(doc)
    return {"id": doc.id, "version": doc.version, "data": data}


def _render_bid(doc: Document) -> dict[str, Any]:
    d = doc.data
    data = {k: d.get(k) for k in ("auction_id", "n", "alias", "discount", "at")}
    data["discount_fmt"] = format_inr(int(d.get("discount", 0)))
    return {"id": doc.id, "version": doc.version, "data": data}


def _render_auction(doc: Document) -> dict[str, Any]:
    return {"id": doc.id, "version": doc.version, "data": auction_json(Auction.from_doc(doc))}


class MemberChannels:
    """Builds the channel specs over the services (each channel follows a service's
    feed)."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def specs(self) -> list[ChannelSpec]:
        return [
            ChannelSpec("member.timeline", MEMBERS_AND_STAFF, self._timeline, _render_txn),
            ChannelSpec("member.dues", MEMBERS_AND_STAFF, self._dues, _render_due),
            ChannelSpec("loans.mine", MEMBERS_AND_STAFF, self._loans, _render_loan),
            ChannelSpec(
                "auction.*",
                MEMBERS_AND_STAFF,
                self._bids,
                _render_bid,
                actions={"bid": Action(self._bid, MEMBERS)},
            ),
            ChannelSpec(STATUS_PREFIX + "*", MEMBERS_AND_STAFF, self._status, _render_auction),
        ]

    def _timeline(self, actor: Actor, channel: str, payload: dict[str, Any]) -> Feed:
        return self.services.ledger.timeline_feed(_member_of(actor, payload))

    def _dues(self, actor: Actor, channel: str, payload: dict[str, Any]) -> Feed:
        return self.services.ledger.dues_feed(_member_of(actor, payload))

    def _loans(self, actor: Actor, channel: str, payload: dict[str, Any]) -> Feed:
        return self.services.loans.member_feed(_member_of(actor, payload))

    def _auction(self, actor: Actor, auction_id: str) -> Auction:
        return self.services.auctions.visible(actor, actor.id, auction_id)

    def _bids(self, actor: Actor, channel: str, payload: dict[str, Any]) -> Feed:
        auction = self._auction(actor, channel.removeprefix("auction."))
        return self.services.auctions.bids_feed(auction.id)

    def _status(self, actor: Actor, channel: str, payload: dict[str, Any]) -> Feed:
        auction = self._auction(actor, channel.removeprefix(STATUS_PREFIX))
        return self.services.auctions.status_feed(auction)

    async def _bid(self, request: ActionRequest) -> dict[str, Any]:
        discount = request.payload.get("discount")
        if isinstance(discount, bool) or not isinstance(discount, int):
            raise ValidationError(
                "The bid needs a discount in whole paise.", hint='Send {"discount": 150000}.'
            )
        auction_id = request.channel.removeprefix("auction.")
        actor = request.actor
        await asyncio.to_thread(self._auction, actor, auction_id)
        result = await asyncio.to_thread(
            self.services.auctions.bid, actor, auction_id, actor.id, discount
        )
        return {
            **result.event.to_json(),
            "n": result.bid.n,
            "discount_fmt": format_inr(result.bid.discount),
        }


def member_channels(services: Services) -> list[ChannelSpec]:
    """Every channel the member pages subscribe to."""
    return MemberChannels(services).specs()
