"""The reports view: the kinds of report the firm prints, and a live ledger preview.

PDF export arrives with the reports issue; until then the button is in place but
disabled, and the balance sheet and trial balance are shown as text, kept current.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.services.actors import Actor
from app.services.ledger import BalanceSheet, Statements
from app.services.ledger.reports import format_trial_balance
from app.services.money import format_inr
from app.services.registry import Services
from app.views.live import LiveReadModel


@dataclass(frozen=True)
class ReportKind:
    key: str
    name: str
    description: str


REPORTS = (
    ReportKind(
        "members",
        "Member list",
        "Every member with KYC status, groups and tickets; phone, PAN and Aadhaar masked.",
    ),
    ReportKind(
        "loans",
        "Loan portfolio",
        "Disbursed loans with outstanding principal, days past due, bucket and PAR30/PAR90.",
    ),
    ReportKind(
        "defaults",
        "Default summary",
        "Open recovery cases by stage and bucket, overdue amounts and statutory due dates.",
    ),
    ReportKind(
        "balance_sheet",
        "Balance sheet",
        "Assets, liabilities, equity and income from the double-entry ledger, with the "
        "trial balance behind them.",
    ),
)
EXPORT_TOOLTIP = "PDF export arrives with the reports issue."
SECTION_TITLES = {
    "asset": "Assets",
    "liability": "Liabilities",
    "equity": "Equity",
    "income": "Income",
}


def _section_rows(section: dict[str, int], names: Mapping[str, str]) -> list[tuple[str, int]]:
    """Rows of one section by account name, members' receivables added up per group."""
    merged: dict[str, list[int]] = {}
    for account, value in section.items():
        parts = account.split(":")
        key = (
            f"receivable:*:{parts[2]}" if parts[0] == "receivable" and len(parts) == 3 else account
        )
        total = merged.setdefault(key, [0, 0])
        total[0] += value
        total[1] += 1
    rows = []
    for key, (value, n) in merged.items():
        label = names.get(key, key)
        rows.append((f"{label} ({n} members)" if "*" in key else label, value))
    return rows


def format_balance_sheet(sheet: BalanceSheet, names: Mapping[str, str] | None = None) -> str:
    """The balance sheet as a text table in Indian rupees; ``names`` names the accounts
    (:attr:`Statements.account_names`)."""
    shown = names or {}
    sections = {key: _section_rows(sheet.sections.get(key, {}), shown) for key in SECTION_TITLES}
    rows = [row for section in sections.values() for row in section]
    width = max([32, *(len(a) + 4 for a, _ in rows)])
    amount = max([16, *(len(format_inr(v)) + 2 for _, v in rows)])
    out = ["BALANCE SHEET", ""]
    for key, title in SECTION_TITLES.items():
        out.append(title)
        for label, value in sections[key]:
            out.append(f"  {label:<{width - 2}}{format_inr(value):>{amount}}")
        out.append(f"{'Total ' + title.lower():<{width}}{format_inr(sheet.total(key)):>{amount}}")
        out.append("")
    claims = sheet.total("liability") + sheet.total("equity") + sheet.total("income")
    out.append(f"{'Liabilities + equity + income':<{width}}{format_inr(claims):>{amount}}")
    out.append("The balance sheet balances." if sheet.balanced else "It does NOT balance.")
    return "\n".join(out)


def ledger_preview(books: Statements) -> str:
    """The balance sheet and the trial balance, as text, accounts by name."""
    sheet = format_balance_sheet(books.balance_sheet, books.account_names)
    trial = format_trial_balance(books.trial_balance, names=books.account_names)
    return f"{sheet}\n\n\nTRIAL BALANCE\n\n{trial}\n"


class ReportsView(QWidget):
    """Report kinds (PDF export to come) and a live balance-sheet preview."""

    title = "Reports"

    def __init__(self, services: Services, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actor = actor
        heading = QLabel("Reports")
        heading.setObjectName("heading")
        self.kinds = QListWidget()
        self.kinds.setFixedWidth(320)
        self.kinds.setWordWrap(True)
        self.kinds.setSpacing(2)
        for kind in REPORTS:
            item = QListWidgetItem(f"{kind.name}\n{kind.description}")
            item.setToolTip(kind.description)
            self.kinds.addItem(item)
        self.kinds.setCurrentRow(len(REPORTS) - 1)
        self.export = QPushButton("Export PDF…")
        self.export.setEnabled(False)
        self.export.setToolTip(EXPORT_TOOLTIP)
        note = QLabel(EXPORT_TOOLTIP)
        note.setStyleSheet("color: #5a6578;")
        note.setWordWrap(True)
        self.preview = QPlainTextEdit()
        self.preview.setReadOnly(True)
        self.preview.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.preview.setFont(mono)
        left = QVBoxLayout()
        left.addWidget(self.kinds, 1)
        left.addWidget(self.export)
        left.addWidget(note)
        right = QVBoxLayout()
        right.addWidget(QLabel("Preview: balance sheet and trial balance (live)"))
        right.addWidget(self.preview, 1)
        body = QHBoxLayout()
        body.addLayout(left)
        body.addLayout(right, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addLayout(body, 1)
        self.live = LiveReadModel(
            services.topics, services.ledger.statements, self._show, self, debounce_ms=300
        )

    def refresh(self) -> None:
        self.live.refresh()

    def _show(self, books: Statements) -> None:
        scroll = self.preview.verticalScrollBar().value()
        self.preview.setPlainText(ledger_preview(books))
        self.preview.verticalScrollBar().setValue(scroll)

    def shutdown(self) -> None:
        self.live.close()
