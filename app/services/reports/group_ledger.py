"""``group-ledger``: one chit group's book.

Its agreement and pool; the tickets; each settled period (auction, winner, discount,
dividend per member, collections against what was due); the foreman's commission; the
prize payouts; and every instalment still outstanding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.kernel.errors import NotFound
from app.services.groups import Group
from app.services.ledger import PeriodCollections
from app.services.registry import Services
from app.services.reports.base import Params, ReportKind, Sources, day, inr, pct
from app.services.reports.pdf import Block, Column, Facts, Heading, Table, Text


def _periods(s: Services, group: Group) -> list[PeriodCollections]:
    found = []
    for period in range(1, group.periods_done + 1):
        try:
            found.append(s.ledger.period_collections(group.id, period))
        except NotFound:
            continue
    return found


def _terms(group: Group, pool: int, foreman: str) -> Facts:
    a = group.agreement
    return Facts(
        [
            ("Group", f"{group.name} ({group.id})"),
            ("Status", group.status.capitalize()),
            ("Chit value", inr(a.gross_paise)),
            ("Members and periods", str(a.members)),
            ("Gross instalment", inr(a.instalment_paise)),
            ("Foreman's commission", pct(a.commission_bps)),
            ("Discount cap", pct(a.discount_cap_bps)),
            ("Bid step", inr(a.bid_step_paise)),
            ("Starts", day(group.start_date)),
            ("Periods settled", f"{group.periods_done} of {a.members}"),
            ("Pool (cash held)", inr(pool)),
            ("Foreman", foreman),
        ]
    )


def build(src: Sources, params: Params) -> Sequence[Block]:
    s, group = src.services, params.group
    assert group is not None
    tickets = s.groups.tickets(group.id)
    people = {m: x.name for m, x in s.members.get_many([t.member_id for t in tickets]).items()}
    if group.foreman_member_id and group.foreman_member_id not in people:
        people.update({m: x.name for m, x in s.members.get_many([group.foreman_member_id]).items()})
    periods = _periods(s, group)
    minutes = {
        a.period: s.auctions.minutes(a.id)
        for a in s.auctions.list_auctions(group.id)
        if a.status == "closed"
    }
    payouts = {p.period: p for p in s.gate.payouts(group_id=group.id)}
    open_dues = s.ledger.open_dues(group.id)
    owed: dict[str, int] = {}
    for due in open_dues:
        owed[due.member_id] = owed.get(due.member_id, 0) + due.outstanding
    foreman = people.get(group.foreman_member_id or "", "—")
    return [
        _terms(group, s.ledger.pool(group.id), foreman),
        Heading("Tickets"),
        Table(
            [
                Column("Ticket", "right"),
                Column("Member", weight=2),
                Column("Member id", mono=True),
                Column("Prized in period", "right"),
                Column("Security held", "right"),
                Column("Outstanding", "right"),
            ],
            [
                (
                    str(t.ticket_no),
                    people.get(t.member_id, t.member_id),
                    t.member_id,
                    str(t.prized_period) if t.prized else "—",
                    inr(payouts[t.prized_period].security_held)
                    if t.prized_period in payouts
                    else "—",
                    inr(owed.get(t.member_id, 0)),
                )
                for t in tickets
            ],
            total=("", "Total", "", "", "", inr(sum(owed.values()))),
            empty="No tickets issued yet.",
        ),
        Heading("Periods"),
        Table(
            [
                Column("Period", "right"),
                Column("Draw", "right"),
                Column("Winner", weight=2),
                Column("Decided by", weight=1.2),
                Column("Discount", "right"),
                Column("Prize", "right"),
                Column("Dividend each", "right"),
                Column("Net instalment", "right"),
                Column("Due by", "right"),
                Column("Due", "right"),
                Column("Collected", "right"),
                Column("Paid in full", "right"),
            ],
            [_period_row(p, group, minutes.get(p.period, {}), people) for p in periods],
            total=(
                "",
                "",
                "Total",
                "",
                "",
                inr(sum(p.prize for p in periods)),
                "",
                "",
                "",
                inr(sum(p.expected for p in periods)),
                inr(sum(p.collected for p in periods)),
                "",
            ),
            empty="No period settled yet.",
        ),
        Heading("Foreman's commission"),
        Table(
            [
                Column("Period", "right"),
                Column("Commission", "right"),
                Column("Less rounding of dividends", "right"),
                Column("Foreman receives", "right"),
                Column("Moved to the company", weight=2),
            ],
            [
                (
                    str(p.period),
                    inr(p.commission),
                    inr(p.residue),
                    inr(p.foreman_receives),
                    _moved(p),
                )
                for p in periods
            ],
            total=(
                "Total",
                inr(sum(p.commission for p in periods)),
                inr(sum(p.residue for p in periods)),
                inr(sum(p.foreman_receives for p in periods)),
                "",
            ),
            empty="No commission yet.",
        ),
        Heading("Prize payouts"),
        Table(
            [
                Column("Period", "right"),
                Column("Winner", weight=2),
                Column("Prize", "right"),
                Column("Status"),
                Column("Pay by", "right"),
                Column("Security", "right"),
                Column("Paid", "right"),
                Column("Released", "right"),
            ],
            [
                (
                    str(p.period),
                    people.get(p.member_id, p.member_id),
                    inr(p.amount),
                    p.status.capitalize()
                    + (" (future instalments deducted)" if p.deduct_future else ""),
                    day(p.deadline),
                    inr(p.security_held),
                    inr(p.paid) if p.paid else "—",
                    day(p.released_at) or "—",
                )
                for p in payouts.values()
            ],
            empty="No prize payout yet.",
        ),
        Heading("Outstanding instalments"),
        Table(
            [
                Column("Member", weight=2),
                Column("Period", "right"),
                Column("Due on", "right"),
                Column("Net instalment", "right"),
                Column("Paid", "right"),
                Column("Outstanding", "right"),
                Column("Days late", "right"),
            ],
            [
                (
                    people.get(d.member_id, d.member_id),
                    str(d.period),
                    day(d.due_date),
                    inr(d.net),
                    inr(d.paid),
                    inr(d.outstanding),
                    str(d.days_late(params.today)) if d.days_late(params.today) else "—",
                )
                for d in open_dues
            ],
            total=("Total", "", "", "", "", inr(sum(owed.values())), ""),
            empty="Every instalment raised is paid.",
        ),
        Text(
            "Dividend each: (discount − commission) ÷ members, the share every subscriber's "
            "instalment is reduced by. Collections pay exactly the prize and the commission; "
            "the foreman absorbs the rounding of the dividends.",
            "muted",
        ),
    ]


def _moved(p: PeriodCollections) -> str:
    if p.foreman_receives <= 0:
        return "Nothing to move (no commission this period)"
    return "Yes" if p.commission_moved else "Not yet: collections are short of it"


def _period_row(
    p: PeriodCollections, group: Group, minutes: dict[str, Any], people: dict[str, str]
) -> tuple[str, ...]:
    winner = minutes.get("winner_member_id") or ""
    return (
        str(p.period),
        day(minutes.get("ended_at")) or "—",
        people.get(winner, winner or "—"),
        str(minutes.get("decided_by", "—")).capitalize(),
        inr(minutes.get("discount", 0)),
        inr(p.prize),
        inr(group.agreement.instalment_paise - p.net),
        inr(p.net),
        day(p.due_date),
        inr(p.expected),
        inr(p.collected),
        f"{p.paid_count} of {p.members}",
    )


KIND = ReportKind(
    name="group-ledger",
    title="Group ledger",
    description="A group's tickets, periods, dividends, collections, commission and arrears.",
    build=build,
    takes=frozenset({"group"}),
    needs=frozenset({"group"}),
    dated=True,
    paper="a4-landscape",
)
