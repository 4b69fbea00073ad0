"""The employee dashboard: what needs attention today, refreshed live."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QVBoxLayout, QWidget

from app.services.activity import counted
from app.services.actors import Actor
from app.services.desk import DeskSummary
from app.services.registry import Services
from app.views.formatting import inr, when
from app.views.live import LiveReadModel

CARD_STYLE = (
    "QFrame#card { background: white; border: 1px solid #d5dae3; border-radius: 6px; }"
    "QLabel#cardTitle { color: #5b6475; font-weight: 600; }"
    "QLabel#cardDetail { color: #5b6475; }"
)


class Card(QFrame):
    """One figure: a title, a big value and a line of detail."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self.setStyleSheet(CARD_STYLE)
        self.setMinimumSize(260, 130)
        self.title = QLabel(title)
        self.title.setObjectName("cardTitle")
        self.value = QLabel("…")
        self.value.setObjectName("cardValue")
        self.value.setStyleSheet("font-size: 22pt; font-weight: 600;")
        self.detail = QLabel("")
        self.detail.setObjectName("cardDetail")
        self.detail.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.value)
        layout.addWidget(self.detail)
        layout.addStretch(1)

    def show_figure(self, value: str, detail: str) -> None:
        self.value.setText(value)
        self.detail.setText(detail)


class DashboardView(QWidget):
    """Pending KYC, new loan applications, overdue cases and today's collections."""

    title = "Dashboard"

    def __init__(self, services: Services, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actor = actor
        self.summary: DeskSummary | None = None
        heading = QLabel("Today")
        heading.setObjectName("heading")
        self.as_of = QLabel("")
        self.kyc = Card("Pending KYC")
        self.loans = Card("New loan applications")
        self.overdue = Card("Overdue cases")
        self.collections = Card("Today's collections")
        grid = QGridLayout()
        grid.setSpacing(16)
        for i, card in enumerate((self.kyc, self.loans, self.overdue, self.collections)):
            grid.addWidget(card, i // 2, i % 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 16, 24, 16)
        layout.addWidget(heading)
        layout.addWidget(self.as_of)
        layout.addLayout(grid)
        layout.addStretch(1)
        self.live = LiveReadModel(services.topics, services.desk.summary, self._show, self)

    def refresh(self) -> None:
        self.live.refresh()

    def shutdown(self) -> None:
        """Stop live updates (before the services close)."""
        self.live.close()

    def _show(self, s: DeskSummary) -> None:
        self.summary = s
        self.as_of.setText(f"As of {when(s.as_of.isoformat())}")
        self.kyc.show_figure(
            str(s.pending_kyc),
            "waiting for a decision in the KYC queue" if s.pending_kyc else "nothing waiting",
        )
        self.loans.show_figure(
            str(s.new_loans), f"{s.awaiting_approval} recommended, waiting for approval"
        )
        self.overdue.show_figure(
            str(s.overdue_cases),
            f"{inr(s.overdue_amount)} overdue" if s.overdue_cases else "no open recovery cases",
        )
        self.collections.show_figure(
            inr(s.collected_today), f"{counted(s.receipts_today, 'receipt')} recorded today"
        )
