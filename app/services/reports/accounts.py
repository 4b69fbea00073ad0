"""Ledger accounts as the accounting reports list them: named, members' dues per group.

A trial balance or balance sheet with one line per member and group would run to
pages of receivables; like ``tfos ledger check``, the reports add each group's
members' dues into one control line (``receivable:*:<g>``) and say how many members
it holds. Names come from :meth:`LedgerService.account_names`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from app.services.ledger import LedgerService
from app.services.ledger.postings import PENALTY_SUFFIX, account_class
from app.services.ledger.reports import MEMBERS_ALL

CLASS_ORDER = ("asset", "liability", "equity", "income")
CLASS_TITLES = {
    "asset": "Assets",
    "liability": "Liabilities",
    "equity": "Equity",
    "income": "Income",
}
CLASS_NAMES = {"asset": "Asset", "liability": "Liability", "equity": "Equity", "income": "Income"}


@dataclass(frozen=True)
class Line:
    account: str
    name: str
    amounts: tuple[int, ...]
    members: int = 0

    @property
    def label(self) -> str:
        if not self.members:
            return self.name
        return f"{self.name} ({self.members} member{'s' if self.members != 1 else ''})"

    @property
    def section(self) -> str:
        return account_class(self.account) or "asset"


def control_key(account: str) -> str:
    """``receivable:<m>:<g>`` -> ``receivable:*:<g>``; other accounts unchanged."""
    parts = account.split(":")
    if parts[0] == "receivable" and len(parts) == 3 and parts[2] != PENALTY_SUFFIX:
        return f"receivable:{MEMBERS_ALL}:{parts[2]}"
    return account


def lines(ledger: LedgerService, rows: Iterable[tuple[str, tuple[int, ...]]]) -> list[Line]:
    """``(account, amounts)`` merged per control account and named, ordered by class
    (assets, liabilities, equity, income) and name."""
    merged: dict[str, list[int]] = {}
    counts: dict[str, int] = {}
    for account, amounts in rows:
        key = control_key(account)
        total = merged.setdefault(key, [0] * len(amounts))
        for i, value in enumerate(amounts):
            total[i] += value
        counts[key] = counts.get(key, 0) + (key != account)
    names = ledger.account_names(merged)
    out = [Line(k, names[k], tuple(v), counts[k]) for k, v in merged.items()]
    out.sort(key=lambda x: (CLASS_ORDER.index(x.section), x.name.casefold(), x.account))
    return out
