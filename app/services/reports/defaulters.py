"""``defaulters``: who is late and by how much; the recovery pipeline and its clocks.

Chit instalments overdue per member and group, loans by days-past-due bucket with
PAR30/PAR90 and provisions, and the recovery cases by stage with the statutory clocks
of the Chit Funds Act (s.28: notice within 14 days, reinstatement within 7 days of it).
``--group`` keeps that group's instalments and cases (loans belong to no group).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from app.services.credit import bucket
from app.services.ledger import Due
from app.services.recovery import STAGES, Case
from app.services.reports.base import Params, ReportKind, Sources, count, day, inr
from app.services.reports.blocks import Block, Column, Facts, Heading, Table, Text
from app.services.reports.loan_portfolio import (
    bucket_table,
    bucket_text,
    par_facts,
    provisioning_note,
)

STAGE_TEXT = {"follow_up": "Follow up", "written_off": "Written off"}


def stage_text(stage: str) -> str:
    return STAGE_TEXT.get(stage, stage.capitalize())


def _late_rows(
    overdue: Sequence[Due], names: dict[str, str], groups: dict[str, str], today: object
) -> list[tuple[str, ...]]:
    grouped: dict[tuple[str, str], list[Due]] = defaultdict(list)
    for due in overdue:
        grouped[(due.member_id, due.group_id)].append(due)
    rows = []
    for (member, group), dues in grouped.items():
        oldest = min(dues, key=lambda d: d.due_date)
        late = oldest.days_late(today)  # type: ignore[arg-type]
        rows.append(
            (
                late,
                sum(d.outstanding for d in dues),
                (
                    names.get(member, member),
                    groups.get(group, group),
                    str(len(dues)),
                    day(oldest.due_date),
                    str(late),
                    bucket_text(bucket(late)),
                    inr(sum(d.outstanding for d in dues)),
                ),
            )
        )
    rows.sort(key=lambda r: (-r[0], -r[1], r[2]))
    return [r[2] for r in rows]


def _where(case: Case, groups: dict[str, str], loan_nos: dict[str, str]) -> str:
    if case.source == "loan":
        return f"Loan {loan_nos.get(case.ref, case.ref)}"
    return groups.get(case.ref, case.ref)


def _case_rows(
    cases: Sequence[Case], names: dict[str, str], groups: dict[str, str], loan_nos: dict[str, str]
) -> list:
    order = {stage.value: i for i, stage in enumerate(STAGES)}
    ranked = sorted(cases, key=lambda c: (order.get(c.stage, 99), -c.days_late, c.id))
    return [
        (
            names.get(c.member_id, c.member_id),
            _where(c, groups, loan_nos),
            stage_text(c.stage),
            str(c.days_late),
            inr(c.overdue),
            day(c.notice_date) or "—",
            day(c.clocks.get("notice_send_by")) or "—",
            day(c.clocks.get("reinstate_by")) or "—",
            day(c.clocks.get("removal_from")) or "—",
        )
        for c in ranked
    ]


def build(src: Sources, params: Params) -> Sequence[Block]:
    s = src.services
    gid = params.group.id if params.group else None
    groups = {g.id: g.name for g in s.groups.list_groups()}
    overdue = [d for d in s.ledger.overdue(params.today) if gid in (None, d.group_id)]
    cases = [c for c in s.recovery.cases() if gid is None or (c.source == "dues" and c.ref == gid)]
    loans = [] if gid else [r for r in s.loans.inbox("disbursed") if r.dpd > 0]
    ids = {d.member_id for d in overdue} | {c.member_id for c in cases}
    names = {m: x.name for m, x in s.members.get_many(sorted(ids)).items()}
    loan_nos = s.loans.loan_nos(c.ref for c in cases if c.source == "loan")
    open_cases = [c for c in cases if c.is_open]
    late_members = {d.member_id for d in overdue}
    by_stage = [
        (
            stage_text(st.value),
            str(sum(1 for c in cases if c.stage == st.value)),
            inr(sum(c.overdue for c in cases if c.stage == st.value)),
        )
        for st in STAGES
    ]
    blocks: list[Block] = [
        Facts(
            [
                (
                    "Members late on instalments",
                    count(len(late_members), "member"),
                ),
                ("Instalments overdue", inr(sum(d.outstanding for d in overdue))),
                ("Open recovery cases", count(len(open_cases), "case")),
                ("Overdue in open cases", inr(sum(c.overdue for c in open_cases))),
            ]
        ),
        Heading("Chit instalments overdue"),
        Table(
            [
                Column("Member", weight=1.5),
                Column("Group", weight=1.5),
                Column("Instalments", "right"),
                Column("Oldest due", "right"),
                Column("Days late", "right"),
                Column("Bucket", "right"),
                Column("Overdue", "right"),
            ],
            _late_rows(overdue, names, groups, params.today),
            total=(
                "Total",
                "",
                str(len(overdue)),
                "",
                "",
                "",
                inr(sum(d.outstanding for d in overdue)),
            ),
            empty="No instalment is overdue.",
        ),
    ]
    if gid is None:
        book = s.loans.portfolio()
        blocks += [
            Heading("Loans by days past due"),
            Facts(par_facts(book)),
            bucket_table(s.loans.inbox("disbursed"), book),
            Text("Loans past due", "bold"),
            Table(
                [
                    Column("Loan", mono=True),
                    Column("Member", weight=2),
                    Column("Days past due", "right"),
                    Column("Bucket", "right"),
                    Column("Outstanding", "right"),
                    Column("EMI", "right"),
                ],
                [
                    (
                        r.loan_no,
                        r.member_name,
                        str(r.dpd),
                        bucket_text(r.bucket),
                        inr(r.outstanding),
                        inr(r.emi),
                    )
                    for r in sorted(loans, key=lambda r: (-r.dpd, r.number or 0, r.loan_id))
                ],
                empty="No loan is past due.",
            ),
            Text(provisioning_note(), "muted"),
        ]
    blocks += [
        Heading("Recovery cases by stage"),
        Table(
            [Column("Stage", weight=2), Column("Cases", "right"), Column("Overdue", "right")],
            by_stage,
            total=("Total", str(len(cases)), inr(sum(c.overdue for c in cases))),
            share=0.5,
        ),
        Heading("Open recovery cases and their clocks (s.28)"),
        Table(
            [
                Column("Member", weight=1.4),
                Column("For", weight=1.4),
                Column("Stage"),
                Column("Days late", "right"),
                Column("Overdue", "right"),
                Column("Notice sent", "right"),
                Column("Notice by", "right"),
                Column("Reinstate by", "right"),
                Column("Removal from", "right"),
            ],
            _case_rows(open_cases, names, groups, loan_nos),
            empty="No open recovery case.",
        ),
        Text(
            "A defaulting subscriber gets written notice within 14 days; paying with interest "
            "within 7 days of the notice reinstates them; after that they may be removed. "
            "Days late and overdue amounts of a case are as of its last sweep.",
            "muted",
        ),
    ]
    return blocks


KIND = ReportKind(
    name="defaulters",
    title="Defaulters",
    description="Overdue instalments, loans by DPD bucket, PAR, provisions and recovery cases.",
    build=build,
    takes=frozenset({"group"}),
    dated=True,
    paper="a4-landscape",
)
