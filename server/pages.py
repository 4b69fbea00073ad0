"""The JSON API the member pages load, and the static single-page app.

A member reads only their own data; staff read any member's with ``?member_id=``.
Amounts are integer paise, each with a ``*_fmt`` twin in Indian rupee format.
"""

from __future__ import annotations

import asyncio
import html
from dataclasses import asdict
from typing import Any

from aiohttp import web

from app.kernel import office_time
from app.kernel.bundle import resource
from app.kernel.errors import NotFound
from app.services.actors import Actor, subject_id
from app.services.auctions import OPEN, Auction, Room, rules
from app.services.loans import Preview, loan_code
from app.services.money import format_bps, format_inr
from app.services.registry import Services
from server.api import current_actor, json_body

STATIC_DIR = resource("server", "static")
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
EXTENSION_RULE = (
    "A bid in the last 30 seconds moves the end to 30 seconds after that bid; "
    "the end never moves earlier."
)


def money(paise: int | None) -> str | None:
    return None if paise is None else format_inr(paise)


def with_fmt(data: dict[str, Any], *fields: str) -> dict[str, Any]:
    """``data`` plus ``<field>_fmt`` for each amount field."""
    return {**data, **{f"{f}_fmt": money(data.get(f)) for f in fields}}


def auction_json(auction: Auction) -> dict[str, Any]:
    """An auction as members see it: no sealed secrets, no winner's member id."""
    return {
        "id": auction.id,
        "group_id": auction.group_id,
        "period": auction.period,
        "status": auction.status,
        "opened_at": auction.opened_at.isoformat(),
        "ends_at": auction.ends_at.isoformat(),
        "seed_hash": auction.seed_hash,
        "seed": auction.seed,
        "best_alias": auction.best_alias,
        "best_discount": auction.best_discount,
        "best_discount_fmt": money(auction.best_discount),
        "bids_count": auction.bids_count,
        "winner_alias": auction.winner_alias,
        "discount": auction.discount,
        "discount_fmt": money(auction.discount),
    }


def room_json(room: Room) -> dict[str, Any]:
    """An auction room as members see it: the auction, its group, the bidding terms and
    the bids under aliases (no session holder, no lot check, no subscribers' names)."""
    assert room.auction is not None
    group, terms = room.group, room.terms
    bids = [
        {
            "n": b.n,
            "alias": b.alias,
            "discount": b.discount,
            "discount_fmt": format_inr(b.discount),
            "at": b.at,
        }
        for b in room.bids
    ]
    amounts = {"floor": terms.floor, "cap": terms.cap, "max_bid": terms.max_bid, "step": terms.step}
    return {
        "auction": auction_json(room.auction),
        "group": {
            "id": group.id,
            "name": group.name,
            "chit_amount_fmt": format_inr(group.agreement.gross_paise),
        },
        "terms": with_fmt(amounts, *amounts),
        "extension_rule": EXTENSION_RULE,
        "bids": bids,
    }


def preview_json(p: Preview) -> dict[str, Any]:
    schedule = [
        with_fmt(
            {**asdict(row), "due_date": row.due_date.isoformat() if row.due_date else None},
            "emi",
            "interest",
            "principal",
            "balance",
        )
        for row in p.schedule
    ]
    body = {
        "amount": p.amount,
        "tenure_months": p.tenure_months,
        "rate_bps": p.rate_bps,
        "rate_fmt": format_bps(p.rate_bps),
        "emi": p.emi,
        "total_interest": p.total_interest,
        "total_payable": p.total_payable,
        "schedule": schedule,
    }
    return with_fmt(body, "amount", "emi", "total_interest", "total_payable")


def _page_for_zone(zone: str) -> str:
    page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    return page.replace("<html ", f'<html data-zone="{html.escape(zone, quote=True)}" ', 1)


class Pages:
    """Handlers over the services (bound methods are the aiohttp handlers)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.page = _page_for_zone(office_time.zone_name())

    async def _subject(self, request: web.Request) -> tuple[Actor, str]:
        actor = await current_actor(request)
        return actor, subject_id(actor, request.query.get("member_id"))

    # -- dashboard and money ---------------------------------------------------------

    async def dashboard(self, request: web.Request) -> web.Response:
        _, member_id = await self._subject(request)
        return web.json_response(await asyncio.to_thread(self._dashboard, member_id))

    def _dashboard(self, member_id: str) -> dict[str, Any]:
        member = self.services.members.get(member_id)
        groups = [
            self._group_card(t.group_id, t.ticket_no, t.prized_period)
            for t in self.services.groups.member_tickets(member_id)
        ]
        names = {g["id"]: g["name"] for g in groups}
        dues = [
            with_fmt(
                {
                    **asdict(d),
                    "outstanding": d.outstanding,
                    "group_name": names.get(d.group_id, d.group_id),
                },
                "net",
                "paid",
                "outstanding",
            )
            for d in self.services.ledger.dues_for(member_id)
            if d.outstanding > 0
        ]
        total = sum(d["outstanding"] for d in dues)
        upcoming = sorted(
            (g["next_auction"] for g in groups if g["next_auction"]), key=lambda a: a["when"]
        )
        return {
            "member": member.to_json(),
            "today": self.services.clock.today().isoformat(),
            "dues": dues,
            "total_due": total,
            "total_due_fmt": format_inr(total),
            "next_due": dues[0] if dues else None,
            "next_auction": upcoming[0] if upcoming else None,
            "groups": groups,
        }

    def _group_card(self, group_id: str, ticket_no: int, prized: int | None) -> dict[str, Any]:
        group = self.services.groups.get_group(group_id)
        live = [a for a in self.services.auctions.list_auctions(group_id) if a.status == OPEN]
        nxt: dict[str, Any] | None = None
        if live:
            a = live[0]
            nxt = {
                "auction_id": a.id,
                "period": a.period,
                "when": a.ends_at.isoformat(),
                "open": True,
                "group_id": group_id,
                "group_name": group.name,
            }
        elif group.next_period is not None and group.status == "running":
            nxt = {
                "auction_id": None,
                "period": group.next_period,
                "open": False,
                "when": group.auction_date(group.next_period).isoformat(),
                "group_id": group_id,
                "group_name": group.name,
            }
        return {
            "id": group.id,
            "name": group.name,
            "status": group.status,
            "ticket_no": ticket_no,
            "prized_period": prized,
            "members": group.members,
            "periods_done": group.periods_done,
            "progress_bps": group.progress_bps,
            "chit_amount_fmt": format_inr(group.agreement.gross_paise),
            "instalment_fmt": format_inr(rules.instalment(group.agreement)),
            "next_auction": nxt,
        }

    async def timeline(self, request: web.Request) -> web.Response:
        _, member_id = await self._subject(request)
        items = await asyncio.to_thread(self.services.ledger.member_timeline, member_id)
        return web.json_response({"items": [with_fmt(asdict(i), "amount") for i in items]})

    # -- loans ----------------------------------------------------------------------

    async def loans(self, request: web.Request) -> web.Response:
        _, member_id = await self._subject(request)
        rows = await asyncio.to_thread(self.services.loans.for_member, member_id)
        out = [
            with_fmt(
                {
                    **{k: v for k, v in asdict(r).items() if k not in ("score", "eligibility")},
                    "loan_no": r.loan_no,
                },
                "amount",
                "emi",
            )
            for r in reversed(rows)
        ]
        return web.json_response({"loans": out})

    async def loan_preview(self, request: web.Request) -> web.Response:
        await current_actor(request)
        quote = self.services.loans.quote(
            request.query.get("amount", ""), request.query.get("tenure", "")
        )
        return web.json_response(preview_json(quote))

    async def loan_apply(self, request: web.Request) -> web.Response:
        actor = await current_actor(request)
        body = await json_body(request, "purpose")
        member_id = subject_id(actor, body.get("member_id"))
        amount, tenure = self.services.loans.form_terms(body.get("amount"), body.get("tenure"))
        loan_id = await asyncio.to_thread(
            self.services.loans.apply, actor, member_id, amount, tenure, body["purpose"]
        )
        doc = await asyncio.to_thread(self.services.loans.get, loan_id)
        reply = {"loan_id": loan_id, "loan_no": loan_code(doc), "status": doc.data["status"]}
        return web.json_response(reply, status=201)

    # -- groups ---------------------------------------------------------------------

    async def group_health(self, request: web.Request) -> web.Response:
        actor, member_id = await self._subject(request)
        group_id = request.match_info["group_id"]
        return web.json_response(
            await asyncio.to_thread(self._group_health, actor, member_id, group_id)
        )

    def _group_health(self, actor: Actor, member_id: str, group_id: str) -> dict[str, Any]:
        self.services.groups.visible(actor, member_id, group_id)
        detail = self.services.groups.detail(group_id)
        group, health, progress = detail.group, detail.health, detail.progress
        if health is None:
            raise NotFound(f"No health figures for group {group_id!r} yet.")
        body = with_fmt(
            health.to_json(),
            "pool",
            "expected",
            "collected",
            "overdue",
            "commission_earned",
            "commission_collected",
        )
        body["progress_fmt"] = format_bps(health.progress_bps)
        body["next_auction_date"] = (
            progress.next_auction_date.isoformat() if progress.next_auction_date else None
        )
        body["chit_amount_fmt"] = format_inr(group.agreement.gross_paise)
        return body

    async def agreement(self, request: web.Request) -> web.Response:
        actor, member_id = await self._subject(request)
        group_id = request.match_info["group_id"]
        return web.json_response(
            await asyncio.to_thread(self._agreement, actor, member_id, group_id)
        )

    def _agreement(self, actor: Actor, member_id: str, group_id: str) -> dict[str, Any]:
        self.services.groups.visible(actor, member_id, group_id)
        text = self.services.agreements.text(group_id)
        signature = self.services.agreements.signature(group_id, member_id)
        return {**asdict(text), "signature": signature.to_json() if signature else None}

    async def agreement_sign(self, request: web.Request) -> web.Response:
        actor = await current_actor(request)
        actor.require("member", doing="sign a chit agreement")
        body = await json_body(request, "sha256")
        group_id = request.match_info["group_id"]
        await asyncio.to_thread(self.services.groups.visible, actor, actor.id, group_id)
        signature = await asyncio.to_thread(
            self.services.agreements.sign, actor, group_id, actor.id, body["sha256"]
        )
        return web.json_response({"signature": signature.to_json()}, status=201)

    # -- integrity and auctions ------------------------------------------------------

    async def integrity(self, request: web.Request) -> web.Response:
        await current_actor(request)
        report = await asyncio.to_thread(self.services.audit.integrity)
        return web.json_response(report.to_json())

    async def auction(self, request: web.Request) -> web.Response:
        actor, member_id = await self._subject(request)
        auction_id = request.match_info["auction_id"]
        return web.json_response(
            await asyncio.to_thread(self._auction, actor, member_id, auction_id)
        )

    def _auction(self, actor: Actor, member_id: str, auction_id: str) -> dict[str, Any]:
        auctions = self.services.auctions
        auction = auctions.visible(actor, member_id, auction_id)
        room = auctions.room(auction.group_id, auction_id)
        status = auctions.bidder_status(auction_id, member_id)
        return {
            **room_json(room),
            "server_now": self.services.clock.now().isoformat(),
            "me": with_fmt(asdict(status), "min_bid", "max_bid"),
        }

    async def statement(self, request: web.Request) -> web.Response:
        """The member's statement as a PDF (staff: any member's), recorded as an export."""
        from app.services.reports import Request  # reportlab loads on the first download

        actor, member_id = await self._subject(request)
        wanted = Request(
            "member-statement",
            member=member_id,
            start=request.query.get("from") or None,
            end=request.query.get("to") or None,
        )
        got = await asyncio.to_thread(
            self.services.reports.download, actor, wanted, via="the web view"
        )
        day = self.services.clock.today().isoformat()
        name = f"statement-{member_id}-{day}.pdf"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        return web.Response(body=got.rendered.pdf, content_type="application/pdf", headers=headers)

    # -- static ---------------------------------------------------------------------

    async def index(self, request: web.Request) -> web.StreamResponse:
        """The page, telling its script the office's zone (``<html data-zone=...>``), in
        which ``app.js`` shows every date and time as :mod:`app.kernel.office_time` does."""
        response = web.Response(text=self.page, content_type="text/html")
        response.headers["Content-Security-Policy"] = CSP
        response.headers["Cache-Control"] = "no-cache"
        return response


def add_routes(app: web.Application, services: Services) -> Pages:
    pages = Pages(services)
    r = app.router
    r.add_get("/", pages.index)
    r.add_static("/static/", STATIC_DIR, append_version=False)
    r.add_get("/api/dashboard", pages.dashboard)
    r.add_get("/api/timeline", pages.timeline)
    r.add_get("/api/loans", pages.loans)
    r.add_get("/api/loans/preview", pages.loan_preview)
    r.add_post("/api/loans", pages.loan_apply)
    r.add_get("/api/groups/{group_id}/health", pages.group_health)
    r.add_get("/api/groups/{group_id}/agreement", pages.agreement)
    r.add_post("/api/groups/{group_id}/agreement/sign", pages.agreement_sign)
    r.add_get("/api/integrity", pages.integrity)
    r.add_get("/api/auctions/{auction_id}", pages.auction)
    r.add_get("/api/statement", pages.statement)
    return pages
