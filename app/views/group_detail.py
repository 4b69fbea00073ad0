"""A chit group's page (``group-detail``): its terms, its health with the reason, and its
book in tabs: the period table, the tickets, the defaulters and the prize payouts.

Reached from a row of the groups overview or from forming a group; it shows the groups
service's read model (:meth:`GroupService.detail`) and reads it again as its topics
change.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.services.actors import Actor
from app.services.groups import COMPLETED, FORMING, RUNNING, GroupDetail
from app.services.money import format_bps
from app.services.registry import Services
from app.views import navigation, worker
from app.views.formatting import inr, when
from app.views.group_tables import (
    DefaultersModel,
    GroupPayoutsModel,
    PeriodsModel,
    TicketsModel,
    ask_export,
    table,
)
from app.views.groups import HEALTH_COLOURS
from app.views.live import LiveReadModel

FACT_STYLE = 'QLabel[fact="name"] { color: #5b6475; } QLabel[fact="value"] { font-weight: 600; }'


class GroupDetailView(QWidget):
    """One group: what it is, how it is doing and why, and its book."""

    name = "group-detail"
    title = "Group"
    in_nav = False

    def __init__(self, services: Services, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.actor = actor
        self.group_id: str | None = None
        self.detail: GroupDetail | None = None
        self._picking = False
        self._build()
        self.live = LiveReadModel(
            services.topics,
            services.groups.detail,
            self._show,
            self,
            args=lambda: (self.group_id,) if self.group_id else None,
        )

    # -- layout -------------------------------------------------------------------------

    def _build(self) -> None:
        self.heading = QLabel("Group")
        self.heading.setObjectName("heading")
        self.stage = QLabel("Open a group from Chit groups to see it here.")
        self.stage.setWordWrap(True)
        self.verdict = QLabel("")
        self.verdict.setStyleSheet("font-size: 14pt; font-weight: 600;")
        self.reason = QLabel("")
        self.reason.setWordWrap(True)
        for label in (self.heading, self.stage, self.reason):
            label.setTextFormat(Qt.TextFormat.PlainText)
        self.reason.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.health = QLabel("Health:")
        self.health.hide()  # until a group is shown
        health = QHBoxLayout()
        health.addWidget(self.health)
        health.addWidget(self.verdict)
        health.addWidget(self.reason, 1)
        self.facts = QGridLayout()
        self.facts.setHorizontalSpacing(18)
        self._fact_labels: dict[str, QLabel] = {}
        self.periods, self.tickets = PeriodsModel(self), TicketsModel(self)
        self.defaulters, self.payouts = DefaultersModel(self), GroupPayoutsModel(self)
        self.tabs = QTabWidget()
        self.tabs.addTab(table(self.periods, 2), "Periods")
        self.tabs.addTab(table(self.tickets, 1), "Tickets")
        self.tabs.addTab(table(self.defaulters, 0), "Defaulters")
        self.tabs.addTab(table(self.payouts, 1), "Payouts")
        self.export = QPushButton("Export ticket list…")
        self.forming = QPushButton("Continue forming…")
        self.export.clicked.connect(self._ask_export)
        self.forming.clicked.connect(self._open_forming)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.export)
        buttons.addWidget(self.forming)
        buttons.addWidget(self.status, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.stage)
        layout.addLayout(health)
        layout.addLayout(self.facts)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(buttons)
        self.setStyleSheet(FACT_STYLE)
        self._enable()

    # -- the item shown -----------------------------------------------------------------

    def show_item(self, **params: Any) -> None:
        """Show the group ``group_id``."""
        self.group_id = str(params["group_id"])
        self.status.setText("")
        self.live.refresh()

    def show_example(self) -> None:
        """For --screenshots: the first running group (else the first group)."""
        self._picking = True
        worker.run(self.services.groups.list_groups, self._picked, parent=self)

    def _picked(self, groups: list[Any]) -> None:
        self._picking = False
        running = [g for g in groups if g.status == RUNNING] or groups
        if running:
            self.show_item(group_id=running[0].id)

    def busy(self) -> bool:
        return self._picking or self.live.busy

    def note(self, text: str) -> None:
        self.status.setText(text)

    # -- showing ------------------------------------------------------------------------

    def _show(self, detail: GroupDetail | None) -> None:
        if detail is None or detail.group.id != self.group_id:
            return
        self.detail = detail
        group, book = detail.group, detail.book
        self.heading.setText(group.name)
        registration = group.registration_no or "not recorded (formed before it was asked)"
        where = group.stage if group.status in (RUNNING, COMPLETED) else group.status.capitalize()
        self.stage.setText(f"{where}  ·  Registration (sanction) number: {registration}")
        self.health.show()
        self.verdict.setText(detail.verdict)
        colour = HEALTH_COLOURS.get(detail.verdict, "#1d2433")
        self.verdict.setStyleSheet(f"font-size: 14pt; font-weight: 600; color: {colour};")
        self.reason.setText(detail.reason)
        self._show_facts(detail)
        if book is not None:
            self.periods.set_rows(book.periods)
            self.tickets.set_rows(book.tickets)
            self.defaulters.set_rows(book.defaulters)
            self.payouts.set_rows(book.payout_lines)
            self.tabs.setTabText(2, f"Defaulters ({len(book.defaulters)})")
            self.tabs.setTabText(3, f"Payouts ({len(book.payouts)})")
        self._enable()

    def _show_facts(self, detail: GroupDetail) -> None:
        group, a, progress = detail.group, detail.group.agreement, detail.progress
        book = detail.book
        facts = [
            ("Chit value", inr(a.gross_paise)),
            ("Members and periods", str(a.members)),
            ("Instalment", inr(a.instalment_paise)),
            ("Commission", f"{format_bps(a.commission_bps)} ({inr(a.commission_paise)})"),
            ("Discount cap", format_bps(a.discount_cap_bps)),
            ("Bid step", inr(a.bid_step_paise)),
            ("Starts", when(group.start_date.isoformat())),
            ("Periods settled", f"{progress.periods_done} of {progress.members}"),
            (
                "Next auction",
                when(progress.next_auction_date.isoformat()) if progress.next_auction_date else "–",
            ),
            ("Pool (cash held)", inr(book.pool) if book else "–"),
            ("Foreman takes period 1", "Yes" if a.foreman_takes_first else "No"),
            ("Tickets taken", f"{group.tickets_issued} of {a.members}"),
        ]
        for index, (label, value) in enumerate(facts):
            self._fact(index, label, value)

    def _fact(self, index: int, label: str, value: str) -> None:
        shown = self._fact_labels.get(label)
        if shown is None:
            name = QLabel(label)
            name.setProperty("fact", "name")
            shown = QLabel(value)
            shown.setProperty("fact", "value")
            row, column = divmod(index, 6)
            self.facts.addWidget(name, row * 2, column)
            self.facts.addWidget(shown, row * 2 + 1, column)
            self._fact_labels[label] = shown
        shown.setText(value)

    def _enable(self) -> None:
        group = self.detail.group if self.detail else None
        self.export.setEnabled(group is not None)
        forming = group is not None and group.status == FORMING
        self.forming.setVisible(forming and not self.actor.reads_only)

    # -- actions ------------------------------------------------------------------------

    def _ask_export(self) -> None:
        if self.detail is not None:
            ask_export(self, self.services, self.detail.group)

    def _open_forming(self) -> None:
        if self.group_id:
            navigation.go(self, "group-new", group_id=self.group_id)

    def refresh(self) -> None:
        self.live.refresh()

    def shutdown(self) -> None:
        self.live.close()
