"""``tickets``: a group's ticket list, to print, sign and file.

The group's terms and its registration (sanction) number, then every ticket in number
order with its holder, masked mobile, KYC state and when they joined (IST), and lines
for the foreman and a second staff member to sign. Works for a group being formed as
well as a running one.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.services.reports.base import KYC_TEXT, Params, ReportKind, Sources, count, day, inr, moment
from app.services.reports.blocks import Block, Column, Facts, Signatures, Table, Text


def build(src: Sources, params: Params) -> Sequence[Block]:
    assert params.group is not None
    detail = src.services.groups.detail(params.group.id)
    group, book = detail.group, detail.book
    assert book is not None  # the registry gives the groups service its sources
    a = group.agreement
    rows = [
        (
            str(t.ticket_no),
            t.name,
            t.member_id,
            t.phone_masked,
            KYC_TEXT.get(t.kyc_status, t.kyc_status),
            moment(t.enrolled_at),
        )
        for t in book.tickets
    ]
    return [
        Facts(
            [
                ("Group", f"{group.name} ({group.id})"),
                ("Registration (sanction) number", group.registration_no or "—"),
                ("Stage", group.stage),
            ],
            per_line=1,
        ),
        Facts(
            [
                ("Chit value", inr(a.gross_paise)),
                ("Members and periods", str(a.members)),
                ("Instalment", inr(a.instalment_paise)),
                ("First draw", day(group.start_date)),
                ("Tickets taken", f"{count(group.tickets_issued, 'ticket')} of {a.members}"),
            ]
        ),
        Table(
            [
                Column("Ticket", "right", weight=0.5),
                Column("Member", weight=2),
                Column("Member id", mono=True),
                Column("Mobile", "right"),
                Column("KYC", weight=0.8),
                Column("Enrolled", "right"),
            ],
            rows,
            empty="No tickets taken yet.",
        ),
        Text(
            "Tickets are numbered in the order members joined. Mobile numbers are masked to "
            "their last digits.",
            "muted",
        ),
        Signatures(["Foreman", "Checked by (second staff member)"]),
    ]


KIND = ReportKind(
    name="tickets",
    title="Ticket list",
    description="A group's tickets in number order with their holders, for print and filing.",
    build=build,
    takes=frozenset({"group"}),
    needs=frozenset({"group"}),
)
