"""The JSON API the member pages load, and the static single-page app.

A member reads only their own data; staff read any member's with ``?member_id=``.
Amounts are integer paise, each with a ``*_fmt`` twin in Indian rupee format.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any

from aiohttp import web

from app.bootstrap import Runtime
from app.kernel.bundle import resource
from app.kernel.errors import PermissionDenied, ValidationError
from app.kernel.wal import verify_file
from app.services import auction_rules as rules
from app.services import loans as loan_rules
from app.services.actors import Actor
from app.services.agreements import AgreementService
from app.services.auctions import OPEN, Auction
from app.services.groups import Group
from app.services.money import format_bps, format_inr, rupees
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


def subject_id(actor: Actor, requested: str | None) -> str:
    """Whose data ``actor`` asks for: a member only their own; staff must name one."""
    if actor.role == "member":
        if requested and requested != actor.id:
            raise PermissionDenied(
                "You can see only your own records.", hint="Sign in as that member."
            )
        return actor.id
    if actor.is_staff:
        if not requested:
            raise ValidationError("Say which member with ?member_id=.")
        return requested
    raise PermissionDenied(f"{actor.name} ({actor.role}) may not read member pages.")


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


def preview_json(p: loan_rules.Preview) -> dict[str, Any]:
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


def checked_loan_terms(amount_text: Any, tenure_text: Any) -> tuple[int, int]:
    if not isinstance(amount_text, str | int) or str(amount_text).strip() == "":
        raise ValidationError("Enter the amount you need, in rupees.")
    amount = rupees(amount_text if isinstance(amount_text, int) else str(amount_text))
    try:
        tenure = int(str(tenure_text))
    except ValueError:
        raise ValidationError("Enter the tenure as a whole number of months.") from None
    low, high = loan_rules.MIN_AMOUNT, loan_rules.MAX_AMOUNT
    if not low <= amount <= high:
        raise ValidationError(f"The amount must be {format_inr(low)} to {format_inr(high)}.")
    if not 1 <= tenure <= loan_rules.MAX_TENURE_MONTHS:
        raise ValidationError(f"The tenure must be 1 to {loan_rules.MAX_TENURE_MONTHS} months.")
    return amount, tenure


class IntegrityCache:
    """The last verification of the WAL, redone only once the WAL head has moved.

    A full verification re-hashes the whole log, so requests share one report (with the
    time it was made) and at most one verification runs at a time, in a worker thread."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._lock = asyncio.Lock()
        self._head: tuple[int, str] | None = None
        self._body: dict[str, Any] | None = None

    async def report(self) -> dict[str, Any]:
        async with self._lock:
            wal = self.runtime.pipeline.wal
            head = wal.head()
            if self._body is None or head != self._head:
                report = await asyncio.to_thread(verify_file, wal.path)
                self._head, self._body = (
                    head,
                    {
                        "verified": report.ok,
                        "entries": report.entries,
                        "head_lsn": report.head_lsn,
                        "head_hash": report.head_hash,
                        "broken": len(report.broken),
                        "checked_at": self.runtime.ctx.clock.now().isoformat(),
                        "seconds": round(report.seconds, 4),
                        "proofs": None,
                    },
                )
            return self._body


class Pages:
    """Handlers over one runtime (bound methods are the aiohttp handlers)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.services = runtime.services
        self.agreements = AgreementService(runtime.ctx)
        self.integrity_cache = IntegrityCache(runtime)

    async def _subject(self, request: web.Request) -> tuple[Actor, str]:
        actor = await current_actor(request)
        return actor, subject_id(actor, request.query.get("member_id"))

    def _group_for(self, actor: Actor, member_id: str, group_id: str) -> Group:
        """The group, if ``member_id`` holds a ticket in it (staff: any group)."""
        group = self.services.groups.get_group(group_id)
        if actor.role == "member" and self.services.groups.ticket_of(group_id, member_id) is None:
            raise PermissionDenied("You hold no ticket in this group.")
        return group

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
            "today": self.runtime.ctx.clock.today().isoformat(),
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
                {k: v for k, v in asdict(r).items() if k not in ("score", "eligibility")},
                "amount",
                "emi",
            )
            for r in reversed(rows)
        ]
        return web.json_response({"loans": out})

    async def loan_preview(self, request: web.Request) -> web.Response:
        await current_actor(request)
        amount, tenure = checked_loan_terms(
            request.query.get("amount", ""), request.query.get("tenure", "")
        )
        return web.json_response(preview_json(loan_rules.preview(amount, tenure)))

    async def loan_apply(self, request: web.Request) -> web.Response:
        actor = await current_actor(request)
        body = await json_body(request, "purpose")
        member_id = subject_id(actor, body.get("member_id"))
        amount, tenure = checked_loan_terms(body.get("amount"), body.get("tenure"))
        loan_id = await asyncio.to_thread(
            self.services.loans.apply, actor, member_id, amount, tenure, body["purpose"]
        )
        doc = await asyncio.to_thread(self.services.loans.get, loan_id)
        return web.json_response({"loan_id": loan_id, "status": doc.data["status"]}, status=201)

    # -- groups ---------------------------------------------------------------------

    async def group_health(self, request: web.Request) -> web.Response:
        actor, member_id = await self._subject(request)
        group_id = request.match_info["group_id"]
        return web.json_response(
            await asyncio.to_thread(self._group_health, actor, member_id, group_id)
        )

    def _group_health(self, actor: Actor, member_id: str, group_id: str) -> dict[str, Any]:
        group = self._group_for(actor, member_id, group_id)
        health = next(g for g in self.services.kpis.kpis().groups if g.group_id == group_id)
        body = with_fmt(
            health.to_json(),
            "pool",
            "expected",
            "collected",
            "overdue",
            "commission_earned",
            "commission_collected",
        )
        progress = self.services.groups.progress(group_id)
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
        self._group_for(actor, member_id, group_id)
        text = self.agreements.text(group_id)
        signature = self.agreements.signature(group_id, member_id)
        return {**asdict(text), "signature": signature.to_json() if signature else None}

    async def agreement_sign(self, request: web.Request) -> web.Response:
        actor = await current_actor(request)
        actor.require("member", doing="sign a chit agreement")
        body = await json_body(request, "sha256")
        group_id = request.match_info["group_id"]
        signature = await asyncio.to_thread(
            self.agreements.sign, actor, group_id, actor.id, body["sha256"]
        )
        return web.json_response({"signature": signature.to_json()}, status=201)

    # -- integrity and auctions ------------------------------------------------------

    async def integrity(self, request: web.Request) -> web.Response:
        await current_actor(request)
        return web.json_response(await self.integrity_cache.report())

    async def auction(self, request: web.Request) -> web.Response:
        actor, member_id = await self._subject(request)
        auction_id = request.match_info["auction_id"]
        return web.json_response(
            await asyncio.to_thread(self._auction, actor, member_id, auction_id)
        )

    def _auction(self, actor: Actor, member_id: str, auction_id: str) -> dict[str, Any]:
        auction = self.services.auctions.get_auction(auction_id)
        group = self._group_for(actor, member_id, auction.group_id)
        a = group.agreement
        status = self.services.auctions.bidder_status(auction_id, member_id)
        bids = [
            {
                "n": b.n,
                "alias": b.alias,
                "discount": b.discount,
                "discount_fmt": format_inr(b.discount),
                "at": b.at,
            }
            for b in self.services.auctions.bids(auction_id)
        ]
        terms = {
            "floor": rules.discount_floor(a),
            "cap": rules.discount_cap(a),
            "max_bid": rules.max_bid(a),
            "step": a.bid_step_paise,
        }
        return {
            "auction": auction_json(auction),
            "group": {
                "id": group.id,
                "name": group.name,
                "chit_amount_fmt": format_inr(a.gross_paise),
            },
            "terms": with_fmt(terms, *terms),
            "extension_rule": EXTENSION_RULE,
            "server_now": self.runtime.ctx.clock.now().isoformat(),
            "bids": bids,
            "me": with_fmt(asdict(status), "min_bid", "max_bid"),
        }

    # -- static ---------------------------------------------------------------------

    async def index(self, request: web.Request) -> web.StreamResponse:
        response = web.FileResponse(STATIC_DIR / "index.html")
        response.headers["Content-Security-Policy"] = CSP
        response.headers["Cache-Control"] = "no-cache"
        return response


def add_routes(app: web.Application, runtime: Runtime) -> Pages:
    pages = Pages(runtime)
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
    return pages
