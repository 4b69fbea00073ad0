"""The reports view: every kind of report the firm prints, exported as a PDF, and a
live preview of the balance sheet and trial balance.

Choosing a kind shows the parameters it takes; "Export PDF…" saves it where the person
chooses, off the GUI thread with a progress bar, and the log records who exported what
(:mod:`app.views.report_export`). Auditors export like everyone else: the export is
the one thing the log takes in their name.
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.services.actors import Actor
from app.services.ledger import BalanceSheet, Statements
from app.services.ledger.reports import format_trial_balance
from app.services.money import format_inr
from app.services.registry import Services
from app.services.report_exports import KindInfo
from app.views import worker
from app.views.live import LiveReadModel
from app.views.report_export import ExportPanel

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
    """Report kinds with their export, and a live balance-sheet preview."""

    title = "Reports"

    def __init__(self, services: Services, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actor = actor
        heading = QLabel("Reports")
        heading.setObjectName("heading")
        self.kinds = QListWidget()
        self.kinds.setFixedWidth(340)
        self.kinds.setWordWrap(True)
        self.kinds.setSpacing(2)
        self.panel = ExportPanel(services, actor, self)
        self.panel.setEnabled(False)
        self.infos: list[KindInfo] = []
        self.kinds.currentRowChanged.connect(self._chosen)
        # the reports (reportlab) load off the GUI thread: start-up does not wait for them
        worker.run(services.reports.kinds, self._show_kinds, parent=self)
        self.preview = QPlainTextEdit()
        self.preview.setReadOnly(True)
        self.preview.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.preview.setFont(mono)
        right = QVBoxLayout()
        right.addWidget(self.panel)
        right.addSpacing(12)
        right.addWidget(QLabel("Preview: balance sheet and trial balance (live)"))
        right.addWidget(self.preview, 1)
        body = QHBoxLayout()
        body.addWidget(self.kinds)
        body.addLayout(right, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addLayout(body, 1)
        self.live = LiveReadModel(
            services.topics, services.ledger.statements, self._show, self, debounce_ms=300
        )

    def _show_kinds(self, infos: list[KindInfo]) -> None:
        self.infos = infos
        for kind in infos:
            item = QListWidgetItem(f"{kind.title}\n{kind.description}")
            item.setToolTip(kind.description)
            self.kinds.addItem(item)
        self.panel.setEnabled(True)
        self.kinds.setCurrentRow(0)

    def _chosen(self, row: int) -> None:
        if 0 <= row < len(self.infos):
            self.panel.set_kind(self.infos[row])

    def select(self, kind: str) -> None:
        """Choose the report ``kind`` (its name, ``audit``), once the kinds are listed."""
        names = [info.name for info in self.infos]
        self.kinds.setCurrentRow(names.index(kind))

    def busy(self) -> bool:
        return not self.infos or self.live.busy or self.panel.running

    def refresh(self) -> None:
        self.live.refresh()

    def _show(self, books: Statements) -> None:
        scroll = self.preview.verticalScrollBar().value()
        self.preview.setPlainText(ledger_preview(books))
        self.preview.verticalScrollBar().setValue(scroll)

    def shutdown(self) -> None:
        self.live.close()
        self.panel.shutdown()
