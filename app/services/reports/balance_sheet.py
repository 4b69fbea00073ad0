"""``balance-sheet``: assets against liabilities, equity and income, from the ledger."""

from __future__ import annotations

from collections.abc import Sequence

from app.services.reports.accounts import CLASS_ORDER, CLASS_TITLES, lines
from app.services.reports.base import Params, ReportKind, Sources, inr
from app.services.reports.blocks import Block, Column, Facts, Heading, Table, Text


def build(src: Sources, params: Params) -> Sequence[Block]:
    ledger = src.services.ledger
    sheet = ledger.balance_sheet()
    rows = [(a, (v,)) for section in sheet.sections.values() for a, v in section.items() if v]
    named = lines(ledger, rows)
    claims = sheet.total("liability") + sheet.total("equity") + sheet.total("income")
    blocks: list[Block] = [
        Facts(
            [
                ("Assets", inr(sheet.total("asset"))),
                ("Liabilities + equity + income", inr(claims)),
            ],
            per_line=2,
        ),
        Text(
            "The balance sheet balances: assets equal liabilities, equity and income."
            if sheet.balanced
            else f"The balance sheet does NOT balance: assets less claims = "
            f"{inr(sheet.total('asset') - claims)}.",
            "bold",
        ),
    ]
    for section in CLASS_ORDER:
        title = CLASS_TITLES[section]
        items = [x for x in named if x.section == section]
        blocks += [
            Heading(title),
            Table(
                [Column("Account", weight=3), Column("Amount", "right")],
                [(x.label, inr(x.amounts[0])) for x in items],
                total=(f"Total {title.lower()}", inr(sheet.total(section))),
                empty=f"No {title.lower()}.",
            ),
        ]
    blocks.append(
        Text(
            "Income is not yet closed to equity, so the sheet balances when assets equal "
            "liabilities plus equity plus income. Accounts with nothing on them are left "
            "out; members' dues are added up per group. "
            "A group's pool belongs to its members, not to the company.",
            "muted",
        )
    )
    return blocks


KIND = ReportKind(
    name="balance-sheet",
    title="Balance sheet",
    description="Assets, liabilities, equity and income from the double-entry ledger.",
    build=build,
)
