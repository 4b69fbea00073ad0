"""``collections-register``: every receipt in a date range, with totals by mode and group.

Instalments and loan repayments alike, by the date received; ``--group`` keeps the
instalments of one group. Built for long registers: one read of the receipts, one of
the members named, and rows drawn straight on the canvas.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from app.services.ledger import ReceiptEntry
from app.services.money import group_indian
from app.services.reports.base import Params, ReportKind, Sources, count, day, inr
from app.services.reports.blocks import Block, Column, Facts, Heading, Table

LOANS_LINE = "Loan repayments"


def _for(entry: ReceiptEntry, groups: dict[str, str]) -> str:
    if entry.loan_id:
        return f"Loan {entry.loan_no}"
    name = groups.get(entry.group_id or "", entry.group_id or "")
    return f"{name} · period {entry.period}"


def _totals(pairs: Iterable[tuple[str, int]]) -> list[tuple[str, str, str]]:
    """(name, receipts, amount) per name, from (name, amount) pairs."""
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for name, amount in pairs:
        sums[name][0] += 1
        sums[name][1] += amount
    ordered = sorted(sums.items(), key=lambda item: (item[0] == LOANS_LINE, item[0]))
    return [(name, group_indian(n), inr(total)) for name, (n, total) in ordered]


def _group_line(entry: ReceiptEntry, groups: dict[str, str]) -> str:
    return LOANS_LINE if entry.loan_id else groups.get(entry.group_id or "", "?")


def build(src: Sources, params: Params) -> Sequence[Block]:
    s = src.services
    group_id = params.group.id if params.group else None
    entries = s.ledger.receipt_register(params.start, params.end, group_id=group_id)
    groups = {g.id: g.name for g in s.groups.list_groups()}
    members = s.members.get_many(sorted({e.member_id for e in entries}))
    rows = [
        (
            day(e.received_on),
            e.number or "—",
            members[e.member_id].name if e.member_id in members else e.member_id,
            _for(e, groups),
            e.mode_label,
            e.bank_ref,
            inr(e.amount),
        )
        for e in entries
    ]
    total = sum(e.amount for e in entries)
    n = group_indian(len(entries))
    by_mode = _totals((e.mode_label, e.amount) for e in entries)
    by_group = _totals((_group_line(e, groups), e.amount) for e in entries)
    summary = [Column("", weight=3), Column("Receipts", "right"), Column("Amount", "right")]
    return [
        Facts(
            [
                ("Receipts", count(len(entries), "receipt")),
                ("Total received", inr(total)),
            ]
        ),
        Heading("Totals by mode"),
        Table(summary, by_mode, total=("Total", n, inr(total)), share=0.5),
        Heading("Totals by group"),
        Table(summary, by_group, total=("Total", n, inr(total)), share=0.5),
        Heading("Receipts"),
        Table(
            [
                Column("Received", "right"),
                Column("Receipt no.", mono=True, weight=1.4),
                Column("Member", weight=1.6),
                Column("For", weight=2),
                Column("Mode", weight=0.9),
                Column("Bank reference", mono=True, weight=1.6),
                Column("Amount", "right"),
            ],
            rows,
            total=("", "", "", "", "", "Total", inr(total)),
            empty="No receipts in this range.",
        ),
    ]


KIND = ReportKind(
    name="collections-register",
    title="Collections register",
    description="Every receipt in a date range, with totals by mode and by group.",
    build=build,
    takes=frozenset({"group", "start", "end"}),
    paper="a4-landscape",
)
