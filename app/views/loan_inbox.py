"""The loan inbox: a sortable table of applications and a detail pane with the score's
factors, the EMI schedule and the maker-checker actions.

Approval and disbursement go through the Banker's gate (in the service); the pane shows
the outcome: granted with the safe sequence, or refused with the pool and commitment
that would make the state unsafe.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QItemSelectionModel, QSortFilterProxyModel, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.kernel.errors import Conflict
from app.services.actors import Actor
from app.services.gate import Verdict
from app.services.loans import (
    APPROVED,
    CLOSED,
    DISBURSED,
    OPEN,
    RECOMMENDED,
    REJECTED,
    SCORED,
    STATUSES,
    LoanDetail,
    LoanRow,
    ScheduleRow,
)
from app.services.registry import Services
from app.views import worker
from app.views.formatting import (
    BAD,
    BUTTON_STYLE,
    CENTER,
    GOOD,
    ReasonDialog,
    Reloader,
    eligibility_badge,
    inr,
    percent,
    safe_sequence,
    status_colour,
    status_text,
    time_width,
    when,
)
from app.views.live import LiveReadModel
from app.views.table import SORT_ROLE, Column, RowsModel

FILTERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Open applications", OPEN),
    ("Disbursed", (DISBURSED,)),
    ("Rejected", (REJECTED,)),
    ("Closed", (CLOSED,)),
    ("All", STATUSES),
)


def _score_text(row: LoanRow) -> str:
    return "—" if row.score is None else str(row.score)


MEMBER_COLUMN = 1
"""The inbox's filter matches the member's name."""


class LoanTableModel(RowsModel[LoanRow]):
    columns = (
        Column[LoanRow](
            "Loan",
            lambda r: r.loan_no,
            lambda r: r.number or 0,
            tip=lambda r: f"Loan id {r.loan_id}",
        ),
        Column[LoanRow]("Member", lambda r: r.member_name, lambda r: r.member_name.casefold()),
        Column[LoanRow]("Amount", lambda r: inr(r.amount), lambda r: r.amount, right=True),
        Column[LoanRow](
            "Tenure", lambda r: f"{r.tenure_months} mo", lambda r: r.tenure_months, right=True
        ),
        Column[LoanRow]("EMI", lambda r: inr(r.emi), lambda r: r.emi, right=True),
        Column[LoanRow](
            "Risk score",
            _score_text,
            lambda r: -1 if r.score is None else r.score,
            right=True,
        ),
        Column[LoanRow](
            "Eligibility",
            lambda r: "● " + eligibility_badge(r.eligibility)[0],
            lambda r: eligibility_badge(r.eligibility)[0],
            colour=lambda r: eligibility_badge(r.eligibility)[1],
            bold=True,
        ),
        Column[LoanRow](
            "Status",
            lambda r: status_text(r.status),
            colour=lambda r: status_colour(r.status),
            bold=True,
        ),
        Column[LoanRow]("Applied", lambda r: when(r.applied_at), lambda r: r.applied_at),
    )


class FactorModel(RowsModel[dict[str, Any]]):
    columns = (
        Column[dict[str, Any]]("Factor", lambda f: str(f.get("name", ""))),
        Column[dict[str, Any]]("Value", lambda f: str(f.get("value", ""))),
        Column[dict[str, Any]](
            "Points",
            lambda f: f"{f.get('points', 0):+d}",
            right=True,
            colour=lambda f: GOOD if f.get("points", 0) >= 0 else BAD,
            bold=True,
        ),
        Column[dict[str, Any]](
            "Explanation",
            lambda f: str(f.get("explanation", "")),
            tip=lambda f: str(f.get("explanation", "")),
        ),
    )


class ScheduleModel(RowsModel[ScheduleRow]):
    columns = (
        Column[ScheduleRow]("#", lambda s: str(s.number), right=True),
        Column[ScheduleRow](
            "Due date", lambda s: when(s.due_date) or f"month {s.number} after disbursal"
        ),
        Column[ScheduleRow]("EMI", lambda s: inr(s.emi), right=True),
        Column[ScheduleRow]("Interest", lambda s: inr(s.interest), right=True),
        Column[ScheduleRow]("Principal", lambda s: inr(s.principal), right=True),
        Column[ScheduleRow]("Balance", lambda s: inr(s.balance), right=True),
        Column[ScheduleRow]("Paid", lambda s: f"paid {when(s.paid_on)}" if s.paid else ""),
    )


@dataclass(frozen=True)
class Outcome:
    """What the Banker's check said about an approval or a disbursement."""

    granted: bool
    text: str


def granted_text(doing: str, sequence: list[str]) -> str:
    """``sequence``: the decision's safe sequence, named (``BankersGate.named``)."""
    return f"{doing}. Banker's check: the state stays safe. {safe_sequence(sequence)}"


def refused_text(record: dict[str, Any]) -> str:
    lines = [f"Refused by the Banker's check: {record.get('reason', '')}"]
    for s in record.get("blocked", []):
        lines.append(
            f"Pool {s['pool']}: commitment {s['commitment']} needs {inr(s['need'])}; "
            f"at most {inr(s['reachable'])} can become available."
        )
    available = record.get("available") or {}
    if available:
        pools = ", ".join(f"{pool} {inr(amount)}" for pool, amount in sorted(available.items()))
        lines.append(f"Available now: {pools}.")
    return "\n".join(lines)


def _table(model: QAbstractTableModel | QSortFilterProxyModel) -> QTableView:
    table = QTableView()
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setAlternatingRowColors(True)
    table.verticalHeader().hide()
    table.setWordWrap(False)
    return table


class LoanDetailPane(QWidget):
    """The selected loan: terms, score factors, schedule, actions and outcome."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.heading = QLabel("Select a loan to see its score and schedule.")
        self.heading.setWordWrap(True)
        self.heading.setTextFormat(Qt.TextFormat.RichText)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.outcome = QLabel("")
        self.outcome.setWordWrap(True)
        self.outcome.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.recommend = QPushButton("Recommend…")
        self.approve = QPushButton("Approve…")
        self.approve.setProperty("accent", True)
        self.reject = QPushButton("Reject…")
        self.disburse = QPushButton("Disburse…")
        buttons = QHBoxLayout()
        for button in (self.recommend, self.approve, self.reject, self.disburse):
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.factors = FactorModel(self)
        self.schedule = ScheduleModel(self)
        self.factor_table = _table(self.factors)
        self.factor_table.horizontalHeader().setStretchLastSection(True)
        self.schedule_table = _table(self.schedule)
        self.schedule_table.horizontalHeader().setStretchLastSection(True)
        self.setStyleSheet(BUTTON_STYLE)
        self.parts = QTabWidget()
        self.parts.addTab(self.factor_table, "Score factors")
        self.parts.addTab(self.schedule_table, "EMI schedule")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addWidget(self.note)
        layout.addLayout(buttons)
        layout.addWidget(self.outcome)
        layout.addWidget(self.parts, 1)
        self.show_detail(None, None)
        self.show_outcome(None)

    def show_part(self, table: QTableView) -> None:
        """Bring the score factors' or the schedule's tab to the front."""
        self.parts.setCurrentWidget(table)

    def show_outcome(self, outcome: Outcome | None) -> None:
        self.outcome.setVisible(outcome is not None)
        if outcome is None:
            self.outcome.setText("")
            return
        colour = GOOD if outcome.granted else BAD
        self.outcome.setStyleSheet(f"color: {colour.name()}; font-weight: 600;")
        self.outcome.setText(outcome.text)

    def show_detail(self, detail: LoanDetail | None, actor: Actor | None) -> None:
        self.detail = detail
        self.factors.set_rows(detail.factors if detail else [])
        self.schedule.set_rows(detail.schedule if detail else [])
        if detail is None or actor is None:
            self.heading.setText("Select a loan to see its score and schedule.")
            self.note.setText("")
            self._enable(set())
            return
        self.heading.setText(_heading(detail))
        self.note.setText(_note(detail, actor))
        self._enable(_actions(detail, actor))
        for table in (self.factor_table, self.schedule_table):
            table.resizeColumnsToContents()

    def _enable(self, actions: set[str]) -> None:
        for name in ("recommend", "approve", "reject", "disburse"):
            getattr(self, name).setEnabled(name in actions)


def _actions(detail: LoanDetail, actor: Actor) -> set[str]:
    """Which buttons apply to this loan's status for this person (the service decides)."""
    status, own = detail.row.status, detail.row.member_id == actor.id
    if not actor.is_staff or own:
        return set()
    actions = {"reject"} if status in OPEN else set()
    actions |= {SCORED: {"recommend"}, RECOMMENDED: {"approve"}, APPROVED: {"disburse"}}.get(
        status, set()
    )
    return actions


def _heading(d: LoanDetail) -> str:
    r = d.row
    badge, colour = eligibility_badge(r.eligibility)
    flat = ""
    if d.flat_quote:
        flat = f"<br>Quoted flat: {escape(str(d.flat_quote.get('label', '')))}"
    return (
        f"<h3>{escape(r.loan_no)} · {escape(r.member_name)} · "
        f"{inr(r.amount)} over {r.tenure_months} months</h3>"
        f"EMI {inr(r.emi)} at {percent(r.rate_bps)} a year (reducing){flat}<br>"
        f"Purpose: {escape(d.purpose)}<br>"
        f"Status <b>{status_text(r.status)}</b> · Score <b>{_score_text(r)}</b> · "
        f"<span style='color:{colour.name()}; font-weight:600'>● {badge}</span>"
    )


def _note(d: LoanDetail, actor: Actor) -> str:
    lines = [f"• {reason}" for reason in d.reasons]
    maker = (d.data.get("recommended_by") or {}).get("id")
    if d.row.status == RECOMMENDED and maker == actor.id:
        lines.append(
            "You recommended this loan: another employee or an admin must approve it "
            "(maker-checker)."
        )
    if d.row.member_id == actor.id:
        lines.append("This is your own loan: another employee must handle it.")
    precheck = d.precheck or {}
    if precheck and not precheck.get("safe", True):
        lines.append(f"Banker's pre-check: {precheck.get('reason', '')}")
    return "\n".join(lines)


class LoanInboxView(QWidget):
    """Applications by status, sortable, with a detail pane; refreshed live."""

    title = "Loan inbox"

    def __init__(self, services: Services, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actor = actor
        self.loans = services.loans
        self.gate = services.gate
        self.model = LoanTableModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterKeyColumn(MEMBER_COLUMN)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.current: str | None = None
        self._build()
        self.details = Reloader(self._fetch_detail, self._show_detail, self)
        self.live = LiveReadModel(
            services.topics,
            self.loans.inbox,
            self._show_rows,
            self,
            args=lambda: (self.status.currentData(),),
        )
        self.live.loaded.connect(self._refresh_detail)

    def _build(self) -> None:
        self.status = QComboBox()
        for label, statuses in FILTERS:
            self.status.addItem(label, statuses)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter by member name")
        self.search.setClearButtonEnabled(True)
        self.count = QLabel("")
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Show"))
        bar.addWidget(self.status)
        bar.addWidget(self.search, 1)
        bar.addWidget(self.count)
        self.table = _table(self.proxy)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(8, Qt.SortOrder.AscendingOrder)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(MEMBER_COLUMN, QHeaderView.ResizeMode.Stretch)
        applied = time_width(self.table)
        widths = ((0, 75), (2, 130), (3, 75), (4, 110), (5, 95), (6, 135), (7, 115), (8, applied))
        for column, width in widths:
            self.table.setColumnWidth(column, width)
        self.empty = QLabel("")
        self.empty.setAlignment(CENTER)
        self.empty.setWordWrap(True)
        self.pane = LoanDetailPane()
        left = QWidget()
        stack = QVBoxLayout(left)
        stack.setContentsMargins(0, 0, 0, 0)
        stack.addWidget(self.table, 1)
        stack.addWidget(self.empty)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(left)
        split.addWidget(self.pane)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setSizes([200, 540])  # five rows of the list; the rest for the detail
        heading = QLabel("Loan inbox")
        heading.setObjectName("heading")
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addLayout(bar)
        layout.addWidget(split, 1)
        self._connect()

    def _connect(self) -> None:
        self.status.currentIndexChanged.connect(self.refresh)
        self.search.textChanged.connect(self.proxy.setFilterFixedString)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.pane.recommend.clicked.connect(self.ask_recommend)
        self.pane.approve.clicked.connect(self.ask_approve)
        self.pane.reject.clicked.connect(self.ask_reject)
        self.pane.disburse.clicked.connect(self.ask_disburse)

    # -- loading ------------------------------------------------------------------

    def refresh(self) -> None:
        self.live.refresh()

    def _refresh_detail(self) -> None:
        if self.current is not None:
            self.details.request()

    def shutdown(self) -> None:
        """Stop live updates (before the services close)."""
        self.live.close()
        self.details.stop()

    def _show_rows(self, rows: list[LoanRow]) -> None:
        keep = self.current
        self.model.set_rows(rows)
        self.count.setText(f"{len(rows)} loan(s)")
        self.empty.setVisible(not rows)
        self.empty.setText(
            f"No loans in “{self.status.currentText()}”. "
            "New applications appear here as soon as they are submitted."
        )
        if keep is not None:
            self.select_loan(keep)

    def select_loan(self, loan_id: str) -> bool:
        """Select a loan's row (if shown); returns whether it was found."""
        for row in range(self.model.rowCount()):
            if self.model.row(row).loan_id == loan_id:
                index = self.proxy.mapFromSource(self.model.index(row, 0))
                flags = (
                    QItemSelectionModel.SelectionFlag.ClearAndSelect
                    | QItemSelectionModel.SelectionFlag.Rows
                )
                self.table.selectionModel().select(index, flags)
                self.table.scrollTo(index)
                return True
        return False

    def _selection_changed(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        loan_id = None
        if rows:
            loan_id = self.model.row(self.proxy.mapToSource(rows[0]).row()).loan_id
        if loan_id != self.current:
            self.current = loan_id
            self.pane.show_outcome(None)
            if loan_id is None:
                self.pane.show_detail(None, None)
            else:
                self.details.request()

    def _fetch_detail(self) -> Callable[[], LoanDetail | None]:
        loan_id, loans = self.current, self.loans
        return lambda: loans.detail(loan_id) if loan_id else None

    def _show_detail(self, detail: LoanDetail | None) -> None:
        if detail is not None and detail.row.loan_id != self.current:
            self.details.request()
            return
        self.pane.show_detail(detail, self.actor)

    # -- actions ------------------------------------------------------------------

    def _ask(self, title: str, prompt: str, *, required: bool) -> str | None:
        return ReasonDialog.ask(title, prompt, required=required, parent=self)

    def ask_recommend(self) -> None:
        detail = self.pane.detail
        needs = detail is not None and detail.row.eligibility == "needs_review"
        prompt = (
            "Why do you recommend it? (required: the loan needs review)"
            if needs
            else ("Recommend this loan for approval by a second person. Note (optional):")
        )
        note = self._ask("Recommend loan", prompt, required=needs)
        if note is not None:
            self.recommend(note)

    def ask_approve(self) -> None:
        note = self._ask("Approve loan", "Approve after the Banker's check. Note:", required=False)
        if note is not None:
            self.approve(note)

    def ask_reject(self) -> None:
        reason = self._ask("Reject loan", "Why is it rejected? The member sees it.", required=True)
        if reason is not None:
            self.reject(reason)

    def ask_disburse(self) -> None:
        ref = self._ask(
            "Disburse loan", "Bank reference of the transfer (optional):", required=False
        )
        if ref is not None:
            self.disburse(ref)

    def recommend(self, note: str) -> None:
        loan_id = self._loan_id()
        worker.run(lambda: self.loans.recommend(self.actor, loan_id, note), self._done, parent=self)

    def reject(self, reason: str) -> None:
        loan_id = self._loan_id()
        worker.run(lambda: self.loans.reject(self.actor, loan_id, reason), self._done, parent=self)

    def approve(self, note: str = "") -> None:
        loan_id = self._loan_id()
        self._gated(loan_id, "Approved", lambda: self.loans.approve(self.actor, loan_id, note))

    def disburse(self, bank_ref: str = "") -> None:
        loan_id = self._loan_id()
        self._gated(
            loan_id,
            "Disbursed",
            lambda: self.loans.disburse(self.actor, loan_id, bank_ref=bank_ref or None),
        )

    def _gated(self, loan_id: str, doing: str, call: Callable[[], Verdict]) -> None:
        gate = self.gate

        def attempt() -> Outcome:
            before = len(gate.decisions(loan_id))
            try:
                sequence = call().decision.sequence
                return Outcome(True, granted_text(doing, gate.named(sequence)))
            except Conflict:
                decisions = gate.decisions(loan_id)
                if len(decisions) > before and not decisions[0].get("granted"):
                    return Outcome(False, refused_text(decisions[0]))
                raise

        worker.run(attempt, self._decided, parent=self)

    def _decided(self, outcome: Outcome) -> None:
        self.pane.show_outcome(outcome)
        self.refresh()

    def _done(self, _: object) -> None:
        self.pane.show_outcome(None)
        self.refresh()

    def _loan_id(self) -> str:
        return self.current or ""
