"""``member-list``: every member with KYC state, tickets, dues position and masked contact.

``--group`` lists that group's subscribers only. Overdue means due before the report's
date and not paid in full; outstanding counts every instalment raised and not paid.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from app.services.members import Member
from app.services.reports.base import KYC_TEXT, Params, ReportKind, Sources, count, inr
from app.services.reports.blocks import Block, Column, Facts, Table, Text


def build(src: Sources, params: Params) -> Sequence[Block]:
    s = src.services
    groups = [params.group] if params.group else s.groups.list_groups()
    tickets: dict[str, list[str]] = defaultdict(list)
    for group in groups:
        for t in s.groups.tickets(group.id):
            mark = "*" if t.prized else ""
            tickets[t.member_id].append(f"{group.name} #{t.ticket_no}{mark}")
    members: list[Member] = s.members.list_members()
    if params.group:
        members = [m for m in members if m.id in tickets]
    pans = {row.member_id: row.pan_masked for row in s.kyc.queue()}
    gid = params.group.id if params.group else None
    owed: defaultdict[str, int] = defaultdict(int)
    late: defaultdict[str, int] = defaultdict(int)
    for due in s.ledger.open_dues(gid):
        owed[due.member_id] += due.outstanding
        if due.days_late(params.today) > 0:
            late[due.member_id] += due.outstanding
    rows = [
        (
            m.name,
            m.id,
            m.phone_masked,
            KYC_TEXT.get(m.kyc_status, m.kyc_status),
            pans.get(m.id) or "—",
            "; ".join(tickets.get(m.id, [])) or "—",
            inr(owed[m.id]),
            inr(late[m.id]) if late[m.id] else "—",
            "Removed" if m.status == "removed" else "",
        )
        for m in members
    ]
    with_late = sum(1 for m in members if late[m.id])
    return [
        Facts(
            [
                ("Members", count(len(members), "member")),
                ("With overdue dues", count(with_late, "member")),
                ("Dues outstanding", inr(sum(owed[m.id] for m in members))),
                ("Of which overdue", inr(sum(late[m.id] for m in members))),
            ]
        ),
        Table(
            [
                Column("Name", weight=1.3),
                Column("Member id", mono=True, weight=0.9),
                Column("Mobile", "right"),
                Column("KYC", weight=0.7),
                Column("PAN", "right"),
                Column("Tickets (* prized)", weight=2.2),
                Column("Outstanding", "right"),
                Column("Overdue", "right"),
                Column("", weight=0.4),
            ],
            rows,
            total=(
                "Total",
                "",
                "",
                "",
                "",
                "",
                inr(sum(owed.values())),
                inr(sum(late.values())),
                "",
            ),
            empty="No members.",
        ),
        Text(
            "Mobile numbers and PANs are masked to their last digits; Aadhaar numbers are "
            "never kept in clear. Outstanding: instalments raised and not yet paid; overdue: "
            "those due before the report's date.",
            "muted",
        ),
    ]


KIND = ReportKind(
    name="member-list",
    title="Member list",
    description="Every member with KYC state, tickets, dues position and masked contact.",
    build=build,
    takes=frozenset({"group"}),
    dated=True,
    paper="a4-landscape",
)
