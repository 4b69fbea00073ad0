"""``trial-balance``: every ledger account's balance on its debit or credit side, by name."""

from __future__ import annotations

from collections.abc import Sequence

from app.services.reports.accounts import CLASS_NAMES, lines
from app.services.reports.base import Params, ReportKind, Sources, count, inr
from app.services.reports.blocks import Block, Column, Facts, Table, Text


def build(src: Sources, params: Params) -> Sequence[Block]:
    ledger = src.services.ledger
    tb = ledger.trial_balance()
    named = lines(ledger, ((r.account, (r.debit, r.credit)) for r in tb.rows))
    rows = []
    debits = credits = 0
    for x in named:
        net = x.amounts[0] - x.amounts[1]
        debits, credits = debits + max(net, 0), credits + max(-net, 0)
        rows.append(
            (
                x.label,
                CLASS_NAMES[x.section],
                inr(x.amounts[0]),
                inr(x.amounts[1]),
                inr(net) if net > 0 else "",
                inr(-net) if net < 0 else "",
            )
        )
    table = Table(
        [
            Column("Account", weight=3),
            Column("Type"),
            Column("Debits", "right"),
            Column("Credits", "right"),
            Column("Debit balance", "right"),
            Column("Credit balance", "right"),
        ],
        rows,
        total=("Total", "", inr(tb.total_debit), inr(tb.total_credit), inr(debits), inr(credits)),
    )
    balanced = tb.balanced and debits == credits
    verdict = (
        "The ledger balances: debits equal credits, and debit balances equal credit balances."
        if balanced
        else f"The ledger does NOT balance: debits less credits = "
        f"{inr(tb.total_debit - tb.total_credit)}."
    )
    blocks: list[Block] = [
        Facts(
            [
                ("Transactions", count(tb.txn_count, "transaction")),
                ("Accounts", count(len(tb.rows), "account")),
                ("Debit balances", inr(debits)),
                ("Credit balances", inr(credits)),
            ]
        ),
        Text(verdict, "bold"),
        table,
        Text(
            "Debits and credits are everything posted to each account; its balance is their "
            "difference, on the side it falls. Members' dues are added up per group (each "
            "member's are in their member statement).",
            "muted",
        ),
    ]
    if tb.unbalanced_txns:
        blocks.append(Text("Unbalanced transactions: " + ", ".join(tb.unbalanced_txns[:50])))
    return blocks


KIND = ReportKind(
    name="trial-balance",
    title="Trial balance",
    description="Every ledger account's debits, credits and balance, with account names.",
    build=build,
    paper="a4-landscape",
)
