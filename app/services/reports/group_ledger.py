"""``group-ledger``: one chit group's book.

Its agreement and pool; the tickets; each settled period (draw, winner, discount,
dividend per member, collections against what was due); the foreman's commission;
the prize payouts; and every instalment still outstanding. The figures are the groups
service's read model of the group (:mod:`app.services.group_book`), the same the
desktop's group page shows.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.services.gate import Payout
from app.services.group_book import GroupBook, PeriodLine
from app.services.groups import Group
from app.services.ledger import PeriodCollections
from app.services.registry import Services
from app.services.reports.base import Params, ReportKind, Sources, day, dues_table, inr, pct
from app.services.reports.blocks import Block, Column, Facts, Heading, Table, Text


def _read(s: Services, group: Group) -> GroupBook:
    book = s.groups.detail(group.id).book
    assert book is not None  # the registry gives the groups service its sources
    return book


def _registration(book: GroupBook) -> Facts:
    number = book.group.registration_no or "— (formed before it was recorded)"
    return Facts([("Registration (sanction) number", number)], per_line=1)


def _terms(book: GroupBook) -> Facts:
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


def _tickets(book: GroupBook) -> Table:
    rows = [
        (
            str(t.ticket_no),
            t.name,
            t.member_id,
            str(t.prized_period) if t.prized_period else "—",
            inr(t.security_held) if t.security_held is not None else "—",
            inr(t.outstanding),
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


def _period_row(p: PeriodLine) -> tuple[str, ...]:
    return (
        str(p.period),
        day(p.drawn_at) or "—",
        p.winner or "—",
        (p.decided_by or "—").capitalize(),
        inr(p.discount or 0),
        inr(p.prize),
        inr(p.dividend),
        inr(p.net_instalment),
        day(p.due_date),
        inr(p.expected),
        inr(p.collected),
        f"{p.paid_count} of {p.members}",
    )


def _periods_table(book: GroupBook) -> Table:
    ps = book.settled
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
        [_period_row(p) for p in ps],
        total=(
            "",
            "",
            "Total",
            "",
            "",
            inr(sum(p.prize or 0 for p in ps)),
            "",
            "",
            "",
            inr(sum(p.expected or 0 for p in ps)),
            inr(sum(p.collected or 0 for p in ps)),
            "",
        ),
        empty="No period settled yet.",
    )


def _moved(p: PeriodCollections) -> str:
    if p.foreman_receives <= 0:
        return "Nothing to move (no commission this period)"
    return "Yes" if p.commission_moved else "Not yet: collections are short of it"


def _commission(book: GroupBook) -> Table:
    ps = [p.collections for p in book.settled if p.collections is not None]
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


def _payouts(book: GroupBook) -> Table:
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
            for p in book.payouts
        ],
        empty="No prize payout yet.",
    )


def build(src: Sources, params: Params) -> Sequence[Block]:
    assert params.group is not None
    book = _read(src.services, params.group)
    return [
        _registration(book),
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
