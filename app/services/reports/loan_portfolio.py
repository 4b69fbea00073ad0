"""``loan-portfolio``: every loan with principal, outstanding, EMI, days past due and
bucket; the book's PAR30/PAR90 and provisioning (RBI), with totals."""

from __future__ import annotations

from collections.abc import Sequence

from app.services.credit import DEFAULT_POLICY, Provision
from app.services.loans import STATUSES, LoanRow, Portfolio
from app.services.money import ratio_bps
from app.services.reports.base import Params, ReportKind, Sources, count, day, inr, pct
from app.services.reports.blocks import Block, Column, Facts, Heading, Table, Text

LENT = ("disbursed", "closed")
BUCKETS = ("standard", "SMA-0", "SMA-1", "SMA-2", "NPA")
BUCKET_DAYS = {
    "standard": "0",
    "SMA-0": "1–30",
    "SMA-1": "31–60",
    "SMA-2": "61–90",
    "NPA": "over 90",
}


def _row(loan: LoanRow, provision: Provision | None) -> tuple[str, ...]:
    lent = loan.status in LENT
    return (
        loan.loan_no,
        loan.member_name,
        loan.status.capitalize(),
        day(loan.applied_at),
        inr(loan.amount),
        f"{loan.tenure_months} × {inr(loan.emi)}",
        pct(loan.rate_bps),
        inr(loan.outstanding) if lent else "—",
        str(loan.dpd) if loan.status == "disbursed" else "—",
        bucket_text(loan.bucket) if loan.status == "disbursed" else "—",
        inr(provision.amount) if provision else "—",
    )


def build(src: Sources, params: Params) -> Sequence[Block]:
    loans = src.services.loans
    rows = loans.inbox(STATUSES)
    book = loans.portfolio()
    provisions = {p.loan_id: p for p in book.provisions.items}
    return [
        Facts(
            [
                ("Loans", count(len(rows), "loan")),
                ("Disbursed and running", count(book.loans, "loan")),
                *par_facts(book),
            ]
        ),
        Heading("Days past due"),
        bucket_table(rows, book),
        Heading("Loans"),
        Table(
            [
                Column("Loan", mono=True),
                Column("Member", weight=1.5),
                Column("Status", weight=0.8),
                Column("Applied", "right"),
                Column("Principal", "right"),
                Column("EMI", "right"),
                Column("Rate", "right"),
                Column("Outstanding", "right"),
                Column("DPD", "right"),
                Column("Bucket", "right"),
                Column("Provision", "right"),
            ],
            [_row(r, provisions.get(r.loan_id)) for r in rows],
            total=(
                "Lent",
                "",
                "",
                "",
                inr(sum(r.amount for r in rows if r.status in LENT)),
                "",
                "",
                inr(sum(r.outstanding for r in rows)),
                "",
                "",
                inr(book.provisions.total),
            ),
            empty="No loans.",
        ),
        Text(
            "Lent: the principal of loans disbursed (running or repaid). "
            "DPD: days since the oldest instalment not paid in full fell due. PAR30 / PAR90: "
            "outstanding principal of loans more than 30 / 90 days past due over all "
            "outstanding principal. " + provisioning_note(),
            "muted",
        ),
    ]


def bucket_text(name: str) -> str:
    """``standard`` -> ``Standard``; ``SMA-1`` and ``NPA`` as they are."""
    return name.capitalize() if name.islower() else name


def provisioning_note() -> str:
    p = DEFAULT_POLICY
    doubtful = " / ".join(pct(b) for b in p.doubtful_bps)
    return (
        f"Provisions follow the RBI bands: standard {pct(p.standard_bps)}, substandard "
        f"{pct(p.substandard_bps)} ({pct(p.substandard_unsecured_bps)} unsecured), doubtful "
        f"{doubtful} by age, loss {pct(p.loss_bps)}."
    )


def bucket_table(rows: Sequence[LoanRow], book: Portfolio) -> Table:
    """Loans and outstanding principal per days-past-due bucket (disbursed loans)."""
    running = [r for r in rows if r.status == "disbursed"]
    lines = [
        (
            bucket_text(name),
            BUCKET_DAYS[name],
            str(sum(1 for r in running if r.bucket == name)),
            inr(book.by_bucket.get(name, 0)),
            pct(ratio_bps(book.by_bucket.get(name, 0), book.outstanding)),
        )
        for name in BUCKETS
    ]
    whole = pct(10_000 if book.outstanding else 0)
    return Table(
        [
            Column("Bucket"),
            Column("Days past due", "right"),
            Column("Loans", "right"),
            Column("Outstanding", "right"),
            Column("Share", "right"),
        ],
        lines,
        total=("Total", "", str(len(running)), inr(book.outstanding), whole),
        share=0.6,
    )


def par_facts(book: Portfolio) -> list[tuple[str, str]]:
    return [
        ("Outstanding principal", inr(book.outstanding)),
        ("Provisions", inr(book.provisions.total)),
        ("PAR30", f"{pct(book.par30.bps)} ({inr(book.par30.at_risk)} at risk)"),
        ("PAR90", f"{pct(book.par90.bps)} ({inr(book.par90.at_risk)} at risk)"),
    ]


KIND = ReportKind(
    name="loan-portfolio",
    title="Loan portfolio",
    description="Every loan with principal, outstanding, EMI, DPD bucket, PAR and provisions.",
    build=build,
    dated=True,
    paper="a4-landscape",
)
