"""``group-ledger``: one chit group's book.

Its agreement and pool; the tickets; each settled period (draw, winner, discount,
dividend per member, collections against what was due); the foreman's commission;
the prize payouts; and every instalment still outstanding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.kernel.errors import NotFound
from app.services.gate import Payout
from app.services.groups import Group, Ticket
from app.services.ledger import Due, PeriodCollections
from app.services.registry import Services
from app.services.reports.base import Params, ReportKind, Sources, day, dues_table, inr, pct
from app.services.reports.blocks import Block, Column, Facts, Heading, Table, Text


@dataclass(frozen=True)
class _Book:
    """Everything the report reads about one group, once."""

    group: Group
    tickets: list[Ticket]
    people: dict[str, str]
    periods: list[PeriodCollections]
    minutes: dict[int, dict[str, Any]]
    payouts: dict[int, Payout]
    open_dues: list[Due]
    pool: int

    def name(self, member_id: str | None) -> str:
        return self.people.get(member_id or "", member_id or "—")

    def owed(self, member_id: str) -> int:
        return sum(d.outstanding for d in self.open_dues if d.member_id == member_id)


def _periods(s: Services, group: Group) -> list[PeriodCollections]:
    found = []
    for period in range(1, group.periods_done + 1):
        try:
            found.append(s.ledger.period_collections(group.id, period))
        except NotFound:
            continue
    return found


def _read(s: Services, group: Group) -> _Book:
    tickets = s.groups.tickets(group.id)
    ids = [t.member_id for t in tickets] + [group.foreman_member_id or ""]
    people = {m: x.name for m, x in s.members.get_many([i for i in ids if i]).items()}
    auctions = [a for a in s.auctions.list_auctions(group.id) if a.status == "closed"]
    return _Book(
        group=group,
        tickets=tickets,
        people=people,
        periods=_periods(s, group),
        minutes={a.period: s.auctions.minutes(a.id) for a in auctions},
        payouts={p.period: p for p in s.gate.payouts(group_id=group.id)},
        open_dues=s.ledger.open_dues(group.id),
        pool=s.ledger.pool(group.id),
    )


def _terms(book: _Book) -> Facts:
    group, a = book.group, book.group.agreement
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
            ("Pool (cash held)", inr(book.pool)),
            ("Foreman", book.name(group.foreman_member_id)),
        ]
    )


def _tickets(book: _Book) -> Table:
    def security(t: Ticket) -> str:
        payout = book.payouts.get(t.prized_period or 0)
        return inr(payout.security_held) if payout else "—"

    rows = [
        (
            str(t.ticket_no),
            book.name(t.member_id),
            t.member_id,
            str(t.prized_period) if t.prized else "—",
            security(t),
            inr(book.owed(t.member_id)),
        )
        for t in book.tickets
    ]
    return Table(
        [
            Column("Ticket", "right"),
            Column("Member", weight=2),
            Column("Member id", mono=True),
            Column("Prized in period", "right"),
            Column("Security held", "right"),
            Column("Outstanding", "right"),
        ],
        rows,
        total=("", "Total", "", "", "", inr(sum(d.outstanding for d in book.open_dues))),
        empty="No tickets issued yet.",
    )


def _period_row(book: _Book, p: PeriodCollections) -> tuple[str, ...]:
    minutes = book.minutes.get(p.period, {})
    return (
        str(p.period),
        day(minutes.get("ended_at")) or "—",
        book.name(minutes.get("winner_member_id")),
        str(minutes.get("decided_by", "—")).capitalize(),
        inr(minutes.get("discount", 0)),
        inr(p.prize),
        inr(book.group.agreement.instalment_paise - p.net),
        inr(p.net),
        day(p.due_date),
        inr(p.expected),
        inr(p.collected),
        f"{p.paid_count} of {p.members}",
    )


def _periods_table(book: _Book) -> Table:
    ps = book.periods
    return Table(
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
        [_period_row(book, p) for p in ps],
        total=(
            "",
            "",
            "Total",
            "",
            "",
            inr(sum(p.prize for p in ps)),
            "",
            "",
            "",
            inr(sum(p.expected for p in ps)),
            inr(sum(p.collected for p in ps)),
            "",
        ),
        empty="No period settled yet.",
    )


def _moved(p: PeriodCollections) -> str:
    if p.foreman_receives <= 0:
        return "Nothing to move (no commission this period)"
    return "Yes" if p.commission_moved else "Not yet: collections are short of it"


def _commission(book: _Book) -> Table:
    ps = book.periods
    return Table(
        [
            Column("Period", "right"),
            Column("Commission", "right"),
            Column("Less rounding of dividends", "right"),
            Column("Foreman receives", "right"),
            Column("Moved to the company", weight=2),
        ],
        [
            (str(p.period), inr(p.commission), inr(p.residue), inr(p.foreman_receives), _moved(p))
            for p in ps
        ],
        total=(
            "Total",
            inr(sum(p.commission for p in ps)),
            inr(sum(p.residue for p in ps)),
            inr(sum(p.foreman_receives for p in ps)),
            "",
        ),
        empty="No commission yet.",
    )


def _payouts(book: _Book) -> Table:
    def status(p: Payout) -> str:
        return p.status.capitalize() + (" (future instalments deducted)" if p.deduct_future else "")

    return Table(
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
                book.name(p.member_id),
                inr(p.amount),
                status(p),
                day(p.deadline),
                inr(p.security_held),
                inr(p.paid) if p.paid else "—",
                day(p.released_at) or "—",
            )
            for p in book.payouts.values()
        ],
        empty="No prize payout yet.",
    )


def build(src: Sources, params: Params) -> Sequence[Block]:
    assert params.group is not None
    book = _read(src.services, params.group)
    return [
        _terms(book),
        Heading("Tickets"),
        _tickets(book),
        Heading("Periods"),
        _periods_table(book),
        Heading("Foreman's commission"),
        _commission(book),
        Heading("Prize payouts"),
        _payouts(book),
        Heading("Outstanding instalments"),
        dues_table(book.open_dues, "Member", lambda d: book.name(d.member_id), params.today),
        Text(
            "Dividend each: (discount − commission) ÷ members, the share every subscriber's "
            "instalment is reduced by. Collections pay exactly the prize and the commission; "
            "the foreman absorbs the rounding of the dividends.",
            "muted",
        ),
    ]


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
