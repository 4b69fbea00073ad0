"""Reports derived from the ledger: trial balance, balance sheet, member timeline.

Pure functions over ledger documents, so that each report streams the ledger once
(no query per account) and can be tested without a store.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.services.ledger.postings import (
    CAPITAL,
    COMMISSION_INCOME,
    COMPANY_CASH,
    INTEREST_INCOME,
    LENDING_CASH,
    PENALTY_INCOME,
    PENALTY_SUFFIX,
    account_class,
    natural_balance,
)
from app.services.money import format_inr
from app.services.store import Document


@dataclass(frozen=True)
class TrialRow:
    """Totals of one account; ``balance`` is signed, debit positive."""

    account: str
    debit: int
    credit: int

    @property
    def balance(self) -> int:
        return self.debit - self.credit


@dataclass(frozen=True)
class TrialBalance:
    rows: list[TrialRow]
    total_debit: int
    total_credit: int
    txn_count: int
    unbalanced_txns: list[str] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return self.total_debit == self.total_credit and not self.unbalanced_txns

    def balances(self) -> dict[str, int]:
        """Signed (debit-positive) balance of every account that has a posting."""
        return {row.account: row.balance for row in self.rows}


def account_balance(docs: Iterable[Document], account: str) -> int:
    """Signed balance of one account over ``docs``."""
    total = 0
    for doc in docs:
        for line in doc.data.get("lines", ()):
            if line["account"] == account:
                total += line["debit"] - line["credit"]
    return total


SECTIONS = ("asset", "liability", "equity", "income")


@dataclass(frozen=True)
class BalanceSheet:
    """Balances grouped by class, each in its natural sign (assets as debits, the
    rest as credits). Income is not yet closed to equity, so the sheet balances when
    assets = liabilities + equity + income."""

    sections: dict[str, dict[str, int]]

    def total(self, section: str) -> int:
        return sum(self.sections.get(section, {}).values())

    @property
    def assets(self) -> dict[str, int]:
        return self.sections["asset"]

    @property
    def liabilities(self) -> dict[str, int]:
        return self.sections["liability"]

    @property
    def equity(self) -> dict[str, int]:
        return self.sections["equity"]

    @property
    def income(self) -> dict[str, int]:
        return self.sections["income"]

    @property
    def balanced(self) -> bool:
        claims = self.total("liability") + self.total("equity") + self.total("income")
        return self.total("asset") == claims


@dataclass(frozen=True)
class Statements:
    """The firm's books as the reports show them: the balance sheet, the trial balance
    behind it, the name of each group its accounts mention (by group id) and of each
    account it shows."""

    balance_sheet: BalanceSheet
    trial_balance: TrialBalance
    group_names: dict[str, str]
    account_names: dict[str, str] = field(default_factory=dict)
    """The name of every account the statements show (by account: members' dues by
    group, ``receivable:*:<g>``), from :meth:`LedgerService.account_names`."""


def balance_sheet(balances: dict[str, int]) -> BalanceSheet:
    sections: dict[str, dict[str, int]] = {name: {} for name in SECTIONS}
    for account, signed in sorted(balances.items()):
        section = account_class(account) or "asset"
        sections[section][account] = natural_balance(account, signed)
    return BalanceSheet(sections)


# -- account names ----------------------------------------------------------------------

MEMBERS_ALL = "*"
"""The member part of a control account that adds up every member's dues of a group
(``receivable:*:<g>``), as trial balances and balance sheets show them."""
FIXED_NAMES = {
    COMPANY_CASH: "Company cash",
    LENDING_CASH: "Lending cash",
    COMMISSION_INCOME: "Foreman's commission",
    INTEREST_INCOME: "Interest on loans",
    PENALTY_INCOME: "Penalties charged",
    CAPITAL: "Lending capital paid in",
}


@dataclass(frozen=True)
class AccountNames:
    """Names of the things accounts belong to: groups, members, loans (by the member,
    and by the loan number in ``loan_nos``)."""

    groups: Mapping[str, str]
    members: Mapping[str, str]
    loans: Mapping[str, str]
    loan_nos: Mapping[str, str] = field(default_factory=dict)


def account_name(account: str, names: AccountNames) -> str:
    """A ledger account as a person reads it: ``cash:group:g`` -> ``Pool — Group Alpha``,
    ``loans:loan-1837acd6fc`` -> ``Loan to Asha Rao (L-0042)``. An id with no name keeps
    the id, marked unknown; a loan with no number keeps its id."""
    if account in FIXED_NAMES:
        return FIXED_NAMES[account]
    parts = account.split(":")

    def group(gid: str) -> str:
        return names.groups.get(gid) or f"{gid} (unknown group)"

    def member(mid: str) -> str:
        return names.members.get(mid) or f"{mid} (unknown member)"

    if parts[:2] == ["cash", "group"] and len(parts) == 3:
        return f"Pool — {group(parts[2])}"
    if parts[0] == "chitfund" and len(parts) == 2:
        return f"Prize payable — {group(parts[1])}"
    if parts[0] == "advance" and len(parts) == 2:
        return f"Advanced to the pool — {group(parts[1])}"
    if parts[0] == "repayable" and len(parts) == 2:
        return f"Advance to repay to the company — {group(parts[1])}"
    if parts[0] == "loans" and len(parts) == 2:
        holder = names.loans.get(parts[1]) or "unknown member"
        return f"Loan to {holder} ({names.loan_nos.get(parts[1], parts[1])})"
    if parts[0] == "receivable" and len(parts) == 3:
        if parts[2] == PENALTY_SUFFIX:
            return f"Penalties due — {member(parts[1])}"
        if parts[1] == MEMBERS_ALL:
            return f"Members' dues — {group(parts[2])}"
        return f"Dues — {member(parts[1])}, {group(parts[2])}"
    return account


def summary_rows(rows: list[TrialRow]) -> list[tuple[str, int, int]]:
    """Rows with the members' accounts of each kind and group added up into one
    control row (``receivable:*:<g> (N members)``), as a trial balance shows them."""
    return [
        (f"{key} ({n} members)" if "*" in key else key, debit, credit)
        for key, (debit, credit, n) in sorted(_merged(rows).items())
    ]


def summary_accounts(rows: list[TrialRow]) -> list[str]:
    """The accounts of :func:`summary_rows` (``receivable:*:<g>`` for the control rows)."""
    return sorted(_merged(rows))


def _merged(rows: list[TrialRow]) -> dict[str, list[int]]:
    merged: dict[str, list[int]] = {}
    for r in rows:
        parts = r.account.split(":")
        key = r.account
        if parts[0] == "receivable" and len(parts) == 3:
            key = f"receivable:*:{parts[2]}"
        total = merged.setdefault(key, [0, 0, 0])
        total[0] += r.debit
        total[1] += r.credit
        total[2] += 1
    return merged


def format_trial_balance(
    tb: TrialBalance, *, detail: bool = False, names: Mapping[str, str] | None = None
) -> str:
    """The trial balance as a text table in Indian rupees; members' receivables are
    shown per group unless ``detail``; ``names`` (by account) replace the accounts' keys."""
    rows = [(r.account, r.debit, r.credit) for r in tb.rows] if detail else summary_rows(tb.rows)
    if names:
        rows = [(_named(label, names), debit, credit) for label, debit, credit in rows]
    width = max([len("Account"), *(len(a) for a, _, _ in rows)])
    amounts = [format_inr(v) for _, d, c in rows for v in (d, c)]
    col = max([len("Debit"), len(format_inr(tb.total_debit)), *map(len, amounts)])
    head = f"{'Account':<{width}}  {'Debit':>{col}}  {'Credit':>{col}}"
    out = [head, "-" * len(head)]
    out += [f"{a:<{width}}  {format_inr(d):>{col}}  {format_inr(c):>{col}}" for a, d, c in rows]
    out.append("-" * len(head))
    total_d, total_c = format_inr(tb.total_debit), format_inr(tb.total_credit)
    out.append(f"{'Total':<{width}}  {total_d:>{col}}  {total_c:>{col}}")
    out.append(f"{tb.txn_count} transactions, {len(tb.rows)} accounts.")
    if tb.unbalanced_txns:
        out.append("Unbalanced transactions: " + ", ".join(tb.unbalanced_txns[:20]))
    if tb.balanced:
        out.append("The ledger balances.")
    else:
        diff = format_inr(tb.total_debit - tb.total_credit)
        out.append(f"The ledger does NOT balance (debits - credits = {diff}).")
    return "\n".join(out)


def _named(label: str, names: Mapping[str, str]) -> str:
    """``receivable:*:g (20 members)`` -> ``Members' dues — Group Alpha (20 members)``."""
    account, _, rest = label.partition(" (")
    name = names.get(account, account)
    return f"{name} ({rest}" if rest else name


# -- member timeline ------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineItem:
    """One event in a member's money history. ``amount`` is in paise and always
    positive; ``kind`` says which way it went."""

    date: str
    kind: str
    amount: int
    description: str
    group_id: str | None = None
    period: int | None = None
    loan_id: str | None = None
    bank_ref: str | None = None
    ref: str = ""


KIND_ORDER = {
    "instalment_due": 0,
    "discount_share": 1,
    "penalty_charged": 2,
    "instalment_paid": 3,
    "penalty_paid": 4,
    "prize_paid": 5,
    "loan_disbursed": 6,
    "emi_paid": 7,
}
_TXN_KINDS = {
    "instalment.received": ("instalment_paid", "Instalment paid"),
    "dues.deducted": ("instalment_paid", "Instalment deducted from the prize"),
    "prize.paid": ("prize_paid", "Prize received"),
    "loan.disbursed": ("loan_disbursed", "Loan disbursed"),
    "emi.received": ("emi_paid", "EMI paid"),
    "penalty.charged": ("penalty_charged", "Penalty charged"),
    "penalty.received": ("penalty_paid", "Penalty paid"),
}


def dues_items(due: Document) -> list[TimelineItem]:
    d = due.data
    where = f"group {d['group_id']} period {d['period']}"
    refs: dict[str, Any] = {"group_id": d["group_id"], "period": d["period"], "ref": due.id}
    items = [
        TimelineItem(
            d["due_date"],
            "instalment_due",
            d["gross"],
            f"Instalment of {where} due; pay {format_inr(d['net'])} after the share of discount",
            **refs,
        )
    ]
    if d["share"]:
        text = f"Share of discount credited, {where}"
        items.append(TimelineItem(d["raised_on"], "discount_share", d["share"], text, **refs))
    return items


def txn_item(txn: Document, loan_nos: Mapping[str, str] | None = None) -> TimelineItem | None:
    """A member's transaction as their timeline shows it; ``loan_nos`` names loans by
    their numbers (``L-0042``), in the text only: the stored memo keeps the id."""
    d = txn.data
    known = _TXN_KINDS.get(d["kind"])
    if known is None:
        return None
    kind, label = known
    where = f" (group {d['group_id']} period {d['period']})" if d.get("period") else ""
    memo = d.get("memo") or ""
    if d.get("loan_id"):
        loan_id = d["loan_id"]
        shown = (loan_nos or {}).get(loan_id, loan_id)
        where, memo = f" (loan {shown})", memo.replace(loan_id, shown)
    return TimelineItem(
        d["date"],
        kind,
        d["amount"],
        f"{label}{where}: {memo}" if memo else label + where,
        group_id=d.get("group_id"),
        period=d.get("period"),
        loan_id=d.get("loan_id"),
        bank_ref=d.get("bank_ref"),
        ref=txn.id,
    )


def timeline(
    dues: Iterable[Document], txns: Iterable[Document], loan_nos: Mapping[str, str] | None = None
) -> list[TimelineItem]:
    """Every due, share, payment, prize, loan, EMI and penalty; newest first."""
    items = [item for due in dues for item in dues_items(due)]
    items += [item for txn in txns if (item := txn_item(txn, loan_nos)) is not None]
    items.sort(key=lambda i: (i.date, KIND_ORDER[i.kind], i.ref), reverse=True)
    return items
