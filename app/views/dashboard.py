"""The employee dashboard: what needs attention today, refreshed live."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QVBoxLayout, QWidget

from app.services.actors import Actor
from app.services.ledger import LEDGER
from app.services.loans import LOANS, OPEN, RECOMMENDED, SCORED, SUBMITTED
from app.services.members import MEMBERS
from app.services.recovery import CASES
from app.services.store import Query
from app.views.formatting import Reloader, inr, when
from app.views.live import LiveCollection

if TYPE_CHECKING:
    from app.bootstrap import Runtime

CARD_STYLE = (
    "QFrame#card { background: white; border: 1px solid #d5dae3; border-radius: 6px; }"
    "QLabel#cardTitle { color: #5b6475; font-weight: 600; }"
    "QLabel#cardDetail { color: #5b6475; }"
)
COLLECTION_KINDS = ("instalment.received", "emi.received", "penalty.received")


@dataclass(frozen=True)
class Summary:
    """The dashboard's figures (amounts in paise)."""

    as_of: str
    pending_kyc: int
    new_loans: int
    awaiting_approval: int
    overdue_cases: int
    overdue_amount: int
    collected_today: int
    receipts_today: int


def summarise(runtime: Runtime) -> Summary:
    """Read the figures from the services (runs off the GUI thread)."""
    s = runtime.services
    today = runtime.ctx.clock.today().isoformat()
    loans = s.loans.inbox()
    cases = s.recovery.cases(open_only=True)
    receipts = [
        t for kind in COLLECTION_KINDS for t in s.ledger.transactions(kind=kind) if t.date == today
    ]
    return Summary(
        as_of=today,
        pending_kyc=s.kyc.counts()["pending"],
        new_loans=sum(1 for r in loans if r.status in (SUBMITTED, SCORED)),
        awaiting_approval=sum(1 for r in loans if r.status == RECOMMENDED),
        overdue_cases=len(cases),
        overdue_amount=sum(c.overdue for c in cases),
        collected_today=sum(t.amount for t in receipts),
        receipts_today=len(receipts),
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

    def __init__(self, runtime: Runtime, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runtime = runtime
        self.actor = actor
        self.summary: Summary | None = None
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
        self.reloader = Reloader(lambda: partial(summarise, runtime), self._show, self)
        self.live = LiveCollection(runtime.store, *self._targets(), parent=self)
        self.live.changed.connect(self.refresh)
        self.refresh()

    @staticmethod
    def _targets() -> list[Query]:
        """No date filter on the ledger: it would stay on the start day past midnight;
        ``summarise`` picks today's receipts."""
        return [
            Query(MEMBERS).where("kyc_status", "==", "pending"),
            Query(LOANS).where("status", "in", list(OPEN)),
            Query(CASES).where("open", "==", True),
            Query(LEDGER),
        ]

    def refresh(self) -> None:
        self.reloader.request()

    def shutdown(self) -> None:
        """Stop live updates (before the runtime closes)."""
        self.live.close()
        self.reloader.stop()

    def _show(self, s: Summary) -> None:
        self.summary = s
        self.as_of.setText(f"As of {when(s.as_of)}")
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
            inr(s.collected_today), f"{s.receipts_today} receipt(s) recorded today"
        )
