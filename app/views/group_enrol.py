"""A formed group on its way to starting: the second person's approval of its terms,
enrolment (search, tickets allotted in order), the ticket list and the start.

The panel of the ``group-new`` view for a group already formed. Every action is a
service call off the GUI thread; what may be done is the service's rule, shown here
(the maker's own terms wait for someone else; members join once the terms are approved;
the group starts when every ticket is taken).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.kernel.errors import KnownError
from app.services.actors import Actor
from app.services.auctions.rules import Agreement
from app.services.group_book import Candidate
from app.services.groups import FORMING, Group, GroupDetail
from app.services.money import format_bps
from app.services.registry import Services
from app.views import navigation, worker
from app.views.formatting import BAD, BUTTON_STYLE, GOOD, ReasonDialog, inr, when
from app.views.group_tables import CandidatesModel, TicketsModel, ask_export, table
from app.views.live import LiveReadModel

SEARCH_DELAY_MS = 250


def terms_line(group: Group) -> str:
    """The terms in one line: ``₹5,00,000.00 · 50 members · from 05 Dec 2026 · ...``."""
    a: Agreement = group.agreement
    parts = [
        inr(a.gross_paise),
        f"{a.members} members, instalment {inr(a.instalment_paise)}",
        f"first draw {when(group.start_date.isoformat())}",
        f"commission {format_bps(a.commission_bps)}",
        f"cap {format_bps(a.discount_cap_bps)}",
        f"step {inr(a.bid_step_paise)}",
    ]
    if a.foreman_takes_first:
        parts.append("foreman takes period 1")
    return " · ".join(parts)


class FormingPanel(QWidget):
    """One formed group: approve or withdraw its terms, enrol members, start it."""

    changed = Signal(str)
    """A group id whose state this panel changed (the list beside it re-reads)."""

    def __init__(self, services: Services, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.actor = actor
        self.group_id: str | None = None
        self.group: Group | None = None
        self._build()
        self.live = LiveReadModel(
            services.topics, services.groups.detail, self._show, self, args=self._args
        )
        self.found = LiveReadModel(
            services.topics, services.groups.candidates, self._show_found, self, args=self._query
        )
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.found.refresh)
        self.search.textChanged.connect(lambda _: self._search_timer.start())

    def _search_now(self) -> None:
        """Enter in the search box: search now and move to the results (Enter there, or
        a double click, enrols the member chosen)."""
        self._search_timer.stop()
        self.found.refresh()
        self.candidate_table.setFocus()

    def _args(self) -> tuple[str] | None:
        return (self.group_id,) if self.group_id else None

    def _query(self) -> tuple[str, str] | None:
        return (self.group_id, self.search.text()) if self.group_id else None

    # -- layout -------------------------------------------------------------------------

    def _build(self) -> None:
        self.heading = QLabel("")
        self.heading.setStyleSheet("font-size: 15pt; font-weight: 600;")
        self.terms = QLabel("")
        self.terms.setWordWrap(True)
        self.stage = QLabel("")
        self.stage.setWordWrap(True)
        for label in (self.heading, self.terms, self.stage):
            label.setTextFormat(Qt.TextFormat.PlainText)
        self.approval = self._approval_box()
        self.enrolment = self._enrolment_box()
        self.ticket_rows = TicketsModel(self)
        self.ticket_table = table(self.ticket_rows, 1)
        self.export = QPushButton("Export ticket list…")
        self.start = QPushButton("Start group")
        self.start.setProperty("accent", True)
        self.open_page = QPushButton("Open group page")
        self.export.clicked.connect(self._ask_export)
        self.start.clicked.connect(self.start_group)
        self.open_page.clicked.connect(self._open_page)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        actions = QHBoxLayout()
        for button in (self.export, self.open_page):
            actions.addWidget(button)
        actions.addStretch(1)
        actions.addWidget(self.start)
        tickets = QWidget()
        column = QVBoxLayout(tickets)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(QLabel("<b>Tickets</b> (numbers are given in the order members join)"))
        column.addWidget(self.ticket_table, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.enrolment)
        split.addWidget(tickets)
        split.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.heading, self.terms, self.stage, self.approval):
            layout.addWidget(widget)
        layout.addWidget(split, 1)
        layout.addLayout(actions)
        layout.addWidget(self.status)
        self.setStyleSheet(BUTTON_STYLE)
        self._enable()

    def _approval_box(self) -> QGroupBox:
        box = QGroupBox("Approval of the terms (maker-checker)")
        self.approval_note = QLabel("")
        self.approval_note.setWordWrap(True)
        self.approve = QPushButton("Approve terms…")
        self.approve.setProperty("accent", True)
        self.withdraw = QPushButton("Withdraw…")
        self.approve.clicked.connect(self.ask_approve)
        self.withdraw.clicked.connect(self.ask_withdraw)
        row = QHBoxLayout()
        row.addWidget(self.approve)
        row.addWidget(self.withdraw)
        row.addStretch(1)
        layout = QVBoxLayout(box)
        layout.addWidget(self.approval_note)
        layout.addLayout(row)
        return box

    def _enrolment_box(self) -> QGroupBox:
        box = QGroupBox("Enrol members")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Find a member by name or the last digits of their mobile")
        self.search.setClearButtonEnabled(True)
        self.enrol = QPushButton("Enrol")
        self.enrol.setProperty("accent", True)
        self.enrol.clicked.connect(self.enrol_selected)
        self.search.returnPressed.connect(self._search_now)
        self.candidates = CandidatesModel(self)
        self.candidate_table = table(self.candidates, 0)
        self.candidate_table.setMinimumHeight(110)
        self.candidate_table.activated.connect(lambda _: self.enrol_selected())
        self.candidate_table.selectionModel().selectionChanged.connect(lambda *_: self._enable())
        row = QHBoxLayout()
        row.addWidget(self.search, 1)
        row.addWidget(self.enrol)
        layout = QVBoxLayout(box)
        layout.addLayout(row)
        layout.addWidget(self.candidate_table)
        return box

    # -- showing ------------------------------------------------------------------------

    def show_group(self, group_id: str) -> None:
        """Show the formed group ``group_id`` (re-read now and as it changes)."""
        if group_id != self.group_id:
            self.group_id, self.group = group_id, None
            self.status.setText("")
            self.ticket_rows.set_rows([])
            self.candidates.set_rows([])
        self.live.refresh()
        self.found.refresh()

    @property
    def busy(self) -> bool:
        return self.live.busy or self.found.busy

    def _show(self, detail: GroupDetail | None) -> None:
        if detail is None or detail.group.id != self.group_id:
            return
        group = self.group = detail.group
        self.heading.setText(group.name)
        self.terms.setText(
            f"{terms_line(group)}\nRegistration (sanction) number: {group.registration_no or '–'}"
        )
        self.stage.setText(group.stage)
        self.approval_note.setText(self._approval_text(group))
        if detail.book is not None:
            self.ticket_rows.set_rows(detail.book.tickets)
        for column in TicketsModel.MONEY_COLUMNS:  # nothing is owed before the start
            self.ticket_table.setColumnHidden(column, group.status == FORMING)
        self._enable()

    def _approval_text(self, group: Group) -> str:
        if group.created_by == self.actor.id:
            return (
                "You formed this group, so a second staff member must check its terms and "
                "registration number against the Registrar's sanction order and approve them. "
                "Until then you may withdraw it (for example to correct a term)."
            )
        return (
            f"Formed by {group.created_by_name or 'a colleague'}. Check the terms and the "
            "registration number against the Registrar's sanction order: approve them, or "
            "withdraw the group with the reason, so that its maker forms it again."
        )

    def _show_found(self, found: list[Candidate] | None) -> None:
        self.candidates.set_rows(found or [])
        if found:
            self.candidate_table.selectRow(next((i for i, c in enumerate(found) if c.can_enrol), 0))
        self._enable()

    def _enable(self) -> None:
        g = self.group
        forming = g is not None and g.status == FORMING
        awaiting = g is not None and g.awaiting_approval
        self.approval.setVisible(awaiting)
        self.approve.setEnabled(awaiting and g is not None and g.created_by != self.actor.id)
        self.withdraw.setEnabled(awaiting)
        open_seats = forming and not awaiting and g is not None and not g.is_full
        self.enrolment.setVisible(open_seats)
        chosen = self.chosen()
        self.enrol.setEnabled(open_seats and chosen is not None and chosen.can_enrol)
        self.start.setEnabled(forming and not awaiting and g is not None and g.is_full)
        self.start.setToolTip(self._start_tip(g))
        self.export.setEnabled(g is not None)
        self.open_page.setEnabled(g is not None)

    @staticmethod
    def _start_tip(g: Group | None) -> str:
        if g is None or g.status != FORMING:
            return ""
        if g.awaiting_approval:
            return "The terms must be approved and every ticket taken first."
        if not g.is_full:
            return f"{g.members - g.tickets_issued} ticket(s) still to take."
        return "Start the group: its first auction can then be held."

    def chosen(self) -> Candidate | None:
        rows = self.candidate_table.selectionModel().selectedRows()
        index: QModelIndex = rows[0] if rows else QModelIndex()
        return self.candidates.row_at(index)

    # -- actions ------------------------------------------------------------------------

    def ask_approve(self) -> None:
        note = self._ask("Approve the terms", "Approve the terms as checked. Note (optional):")
        if note is not None:
            self.approve_terms(note)

    def ask_withdraw(self) -> None:
        reason = self._ask(
            "Withdraw the group",
            "Why is the group withdrawn? Its maker and the activity feed see it.",
            required=True,
        )
        if reason is not None:
            self.withdraw_group(reason)

    def _ask(self, title: str, prompt: str, *, required: bool = False) -> str | None:
        return ReasonDialog.ask(title, prompt, required=required, parent=self)

    # The calls below run off the GUI thread: they hold the service, the actor and ids,
    # never this widget (see app.views.worker).

    def approve_terms(self, note: str = "") -> None:
        gid, groups, actor = self.group_id or "", self.services.groups, self.actor
        self._call(lambda: groups.approve_terms(actor, gid, note), "Terms approved.")

    def withdraw_group(self, reason: str) -> None:
        gid, groups, actor = self.group_id or "", self.services.groups, self.actor
        self._call(lambda: groups.withdraw(actor, gid, reason), "Group withdrawn.")

    def enrol_selected(self) -> None:
        chosen = self.chosen()
        if chosen is None or not self.enrol.isEnabled():
            return
        gid, groups, actor = self.group_id or "", self.services.groups, self.actor
        member, name = chosen.member_id, chosen.name
        self._call(
            lambda: groups.enroll(actor, gid, member),
            lambda ticket: f"{name} holds ticket {ticket.ticket_no}.",
        )

    def start_group(self) -> None:
        gid, groups, actor = self.group_id or "", self.services.groups, self.actor
        self._call(
            lambda: groups.start(actor, gid),
            "Group started: its first auction can be opened from Auctions.",
        )

    def _call(self, call: Callable[[], Any], said: str | Callable[[Any], str]) -> None:
        gid = self.group_id or ""

        def done(result: Any) -> None:
            self.say(said(result) if callable(said) else said, ok=True)
            self.changed.emit(gid)
            self.show_group(gid)

        worker.run(call, done, parent=self, on_error=self._failed)

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, KnownError):
            self.say(str(exc), ok=False)
        else:
            worker.show_error(self, exc)

    def say(self, text: str, *, ok: bool) -> None:
        colour = GOOD if ok else BAD
        self.status.setStyleSheet(f"color: {colour.name()}; font-weight: 600;")
        self.status.setText(text)

    def note(self, text: str) -> None:
        self.say(text, ok=True)

    def _ask_export(self) -> None:
        if self.group is not None:
            ask_export(self, self.services, self.group)

    def _open_page(self) -> None:
        if self.group_id:
            navigation.go(self, "group-detail", group_id=self.group_id)

    def shutdown(self) -> None:
        self.live.close()
        self.found.close()
