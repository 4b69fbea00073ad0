"""The member profile: one page with everything about one member.

A page reached from the register (``in_nav = False``): details, key figures, and a tab
for each part of the member's dealings with the firm (tickets and dues, receipts,
prizes and payouts, loans, recovery cases, KYC and documents, agreements, the timeline).
It shows :meth:`MemberProfiles.profile` (one read model, read off the GUI thread and
again when its topics change). From here staff take a receipt (the collections view),
start KYC (the KYC capture view), or text the member a sign-in code for the web view.
"""

from __future__ import annotations

import html

from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.services.actors import Actor
from app.services.ledger import ReceiptEntry
from app.services.member_profile import MemberProfile
from app.services.otp import IssuedCode
from app.services.recovery import Case
from app.services.registry import Services
from app.views import navigation, worker
from app.views.formatting import (
    BAD,
    BUTTON_STYLE,
    MUTED,
    ReasonDialog,
    inr,
    status_colour,
    status_text,
    when,
)
from app.views.kpi_dashboard import CARD_STYLE, KpiCard
from app.views.live import LiveReadModel
from app.views.member_profile_tables import (
    AgreementRow,
    CaseRow,
    DueRow,
    PayoutRow,
    ProfileAgreementsModel,
    ProfileCasesModel,
    ProfileDocumentsModel,
    ProfileDuesModel,
    ProfileLoansModel,
    ProfilePayoutsModel,
    ProfileReceiptsModel,
    ProfileTicketsModel,
    ProfileTimelineModel,
    ReceiptRow,
    TicketRow,
    counted,
    day,
)
from app.views.table import RowsModel, row_table

KYC_OPEN = ("none", "rejected")
"""KYC states from which staff may start a (new) KYC capture."""


# -- the page ----------------------------------------------------------------------------


TAB_TITLES = {
    "tickets": "Tickets && dues",
    "receipts": "Receipts",
    "payouts": "Prizes && payouts",
    "loans": "Loans",
    "cases": "Recovery",
    "kyc": "KYC",
    "agreements": "Agreements",
    "timeline": "Timeline",
}
"""Each tab's title before a member is shown (the titles then add counts and states)."""


def _case_subject(profile: MemberProfile, case: Case) -> str:
    if case.source == "dues":
        return f"Instalments — {profile.group_name(case.ref)}"
    return f"Loan {profile.loan_no(case.ref)}"


def _receipt_for(profile: MemberProfile, r: ReceiptEntry) -> str:
    if r.loan_id:
        return f"Loan {r.loan_no}"
    return f"{profile.group_name(r.group_id)}, period {r.period}"


class MemberProfileView(QWidget):
    """One member: details, figures, actions and every part of their dealings."""

    name = "member-profile"
    title = "Member"
    in_nav = False

    def __init__(self, services: Services, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services, self.actor = services, actor
        self.member_id: str | None = None
        self.code_dialog: ReasonDialog | None = None
        self.profile: MemberProfile | None = None
        self._picking = False
        self.setStyleSheet(CARD_STYLE + BUTTON_STYLE)
        self.back = QPushButton("← Members")
        self.back.clicked.connect(lambda: navigation.go(self, "members"))
        self.heading = QLabel("Member")
        self.heading.setObjectName("heading")
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.contact = QLabel()
        self.contact.setWordWrap(True)
        self.receipt_button = QPushButton("Take a receipt")
        self.kyc_button = QPushButton("Start KYC")
        self.code_button = QPushButton("Send sign-in code…")
        self.receipt_button.clicked.connect(self.take_receipt)
        self.kyc_button.clicked.connect(self.start_kyc)
        self.code_button.clicked.connect(self.send_code)
        self.action_status = QLabel()
        self.action_status.setObjectName("hint")
        self.action_status.setWordWrap(True)
        self.cards = {
            key: KpiCard(caption, tip)
            for key, caption, tip in (
                ("owed", "Owes on chits", "Instalments raised and not yet paid, every group"),
                ("late", "Overdue", "Instalments and EMIs unpaid past their due date"),
                ("loans", "Loans outstanding", "Principal still owed on disbursed loans"),
                ("cases", "Recovery cases open", "Cases following this member's defaults"),
            )
        }
        self._models()
        self.tabs = self._tabs()
        self._lay_out()
        self.live = LiveReadModel(
            services.topics,
            services.member_profiles.profile,
            self._show,
            self,
            args=lambda: (self.member_id,) if self.member_id else None,
        )

    def _models(self) -> None:
        self.tickets = ProfileTicketsModel(self)
        self.dues = ProfileDuesModel(self)
        self.receipts = ProfileReceiptsModel(self)
        self.payouts = ProfilePayoutsModel(self)
        self.loans = ProfileLoansModel(self)
        self.cases = ProfileCasesModel(self)
        self.documents = ProfileDocumentsModel(self)
        self.agreements = ProfileAgreementsModel(self)
        self.timeline = ProfileTimelineModel(self)

    def _tabs(self) -> QTabWidget:
        tabs = QTabWidget()
        self.kyc_facts = QLabel()
        self.kyc_facts.setWordWrap(True)
        kyc = QWidget()
        column = QVBoxLayout(kyc)
        column.addWidget(self.kyc_facts)
        column.addWidget(row_table(self.documents, stretch=0), 1)
        dues = QWidget()
        column = QVBoxLayout(dues)
        column.setContentsMargins(0, 0, 0, 0)
        self.tickets_table = row_table(self.tickets, stretch=0)
        column.addWidget(self.tickets_table)
        column.addWidget(row_table(self.dues, stretch=0), 1)
        pages: tuple[tuple[str, QWidget], ...] = (
            ("tickets", dues),
            ("receipts", row_table(self.receipts, stretch=2)),
            ("payouts", row_table(self.payouts, stretch=0)),
            ("loans", row_table(self.loans, stretch=0)),
            ("cases", row_table(self.cases, stretch=0)),
            ("kyc", kyc),
            ("agreements", row_table(self.agreements, stretch=0)),
            ("timeline", row_table(self.timeline, stretch=1)),
        )
        self.tab_keys = [key for key, _ in pages]
        for key, widget in pages:
            tabs.addTab(widget, TAB_TITLES[key])
        return tabs

    def _lay_out(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.back)
        top.addStretch(1)
        for button in (self.receipt_button, self.kyc_button, self.code_button):
            top.addWidget(button)
        cards = QGridLayout()
        for i, card in enumerate(self.cards.values()):
            cards.addWidget(card, 0, i)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.heading)
        layout.addWidget(self.details)
        layout.addWidget(self.contact)
        layout.addWidget(self.action_status)
        layout.addLayout(cards)
        layout.addWidget(self.tabs, 1)

    # -- which member --------------------------------------------------------------------

    def show_item(self, *, member_id: str) -> None:
        """Show the member ``member_id`` (from the register, or after enrolling)."""
        if member_id != self.member_id:
            self.member_id = member_id
            self._show(None)
            self.action_status.clear()
        self.live.refresh()

    def show_example(self) -> None:
        """For --screenshots: a member who won a prize and has a loan, if any."""
        self._picking = True
        worker.run(
            self.services.member_profiles.example,
            self._example_picked,
            parent=self,
            on_error=self._example_failed,
        )

    def _example_picked(self, member_id: str | None) -> None:
        self._picking = False
        if member_id:
            self.show_item(member_id=member_id)

    def _example_failed(self, exc: BaseException) -> None:
        self._picking = False
        worker.show_error(self, exc)

    def busy(self) -> bool:
        return self._picking or self.live.busy

    # -- showing ---------------------------------------------------------------------------

    def _show(self, profile: MemberProfile | None) -> None:
        self.profile = profile
        if profile is None:
            self.heading.setText("Member" if self.member_id is None else "Loading…")
            for label in (self.details, self.contact, self.kyc_facts):
                label.clear()
            if self.member_id is None:
                self.details.setText("Open a member from the Members register to see them here.")
            for i, key in enumerate(self.tab_keys):
                self.tabs.setTabText(i, TAB_TITLES[key])
            for model in self._all_models():
                model.set_rows([])
            self._enable(None)
            return
        self._show_header(profile)
        self._show_cards(profile)
        self._fill(profile)
        self._enable(profile)

    def _all_models(self) -> tuple[RowsModel, ...]:  # type: ignore[type-arg]
        return (
            self.tickets,
            self.dues,
            self.receipts,
            self.payouts,
            self.loans,
            self.cases,
            self.documents,
            self.agreements,
            self.timeline,
        )

    def _show_header(self, p: MemberProfile) -> None:
        m = p.member
        self.heading.setText(m.name)
        status = "Active" if m.status == "active" else "<b style='color:#b3261e'>Removed</b>"
        kyc_colour = (status_colour(m.kyc_status) or MUTED).name()
        kyc = f"<span style='color:{kyc_colour}'>KYC {status_text(m.kyc_status).lower()}</span>"
        self.details.setText(
            f"<b>{m.member_no}</b> · {m.phone_masked} · {status} · {kyc} · "
            f"member since {day(m.joined_at)}"
        )
        address = html.escape(m.address).replace("\n", ", ") if m.address else "not given"
        nominee = (
            f"{html.escape(m.nominee.name)} ({html.escape(m.nominee.relationship)})"
            if m.nominee
            else "not named"
        )
        self.contact.setText(f"Address: {address} · Nominee: {nominee}")

    def _show_cards(self, p: MemberProfile) -> None:
        late_days = p.late.days(p.as_of)
        figures = {
            "owed": (inr(p.owed), counted(len(p.tickets), "ticket")),
            "late": (
                inr(p.late.amount),
                f"{p.late_what}, oldest {late_days} days late" if p.late_what else "nothing late",
            ),
            "loans": (inr(p.loans_outstanding), counted(len(p.loans), "loan") + " in all"),
            "cases": (str(p.open_cases), f"{len(p.cases)} in all"),
        }
        for key, (value, sub) in figures.items():
            self.cards[key].value.setText(value)
            self.cards[key].sub.setText(sub)
        colour = BAD.name() if p.late.amount else "#1d2433"
        self.cards["late"].value.setStyleSheet(f"color: {colour}")

    def _fill(self, p: MemberProfile) -> None:
        today = p.as_of
        self.tickets.set_rows(TicketRow(t, t.overdue(today)) for t in p.tickets)
        self._fit(self.tickets_table, len(p.tickets))
        dues = [DueRow(t.group.name, d, today) for t in p.tickets for d in t.dues]
        dues.sort(key=lambda r: r.due.due_date, reverse=True)
        dues.sort(key=lambda r: r.due.outstanding <= 0)  # what is still owed first
        self.dues.set_rows(dues)
        self.receipts.set_rows(ReceiptRow(r, _receipt_for(p, r)) for r in p.receipts)
        self.payouts.set_rows(PayoutRow(x, p.group_name(x.group_id)) for x in p.payouts)
        self.loans.set_rows(p.loans)
        self.cases.set_rows(CaseRow(c, _case_subject(p, c)) for c in reversed(p.cases))
        self.documents.set_rows(p.kyc.documents if p.kyc else [])
        self.agreements.set_rows(
            AgreementRow(t.group.name, t.signed) for t in p.tickets if t.signed is not None
        )
        self.timeline.set_rows(p.timeline)
        self.kyc_facts.setText(_kyc_text(p))
        t = TAB_TITLES
        titles = {
            "tickets": f"{t['tickets']} ({len(p.tickets)})",
            "receipts": f"{t['receipts']} ({len(p.receipts)})",
            "payouts": f"{t['payouts']} ({len(p.payouts)})",
            "loans": f"{t['loans']} ({len(p.loans)})",
            "cases": f"{t['cases']} ({p.open_cases} open)" if p.open_cases else t["cases"],
            "kyc": f"{t['kyc']}: {status_text(p.member.kyc_status).lower()}",
            "agreements": f"{t['agreements']} ({len(p.agreements)})",
            "timeline": t["timeline"],
        }
        for i, key in enumerate(self.tab_keys):
            self.tabs.setTabText(i, titles[key])

    @staticmethod
    def _fit(table: QTableView, rows: int) -> None:
        """Make ``table`` just tall enough for up to 4 rows."""
        header = table.horizontalHeader().sizeHint().height()
        body = table.verticalHeader().defaultSectionSize() * max(1, min(rows, 4))
        table.setFixedHeight(header + body + 2 * table.frameWidth() + 2)

    def _enable(self, p: MemberProfile | None) -> None:
        active = p is not None and p.member.status == "active"
        self.receipt_button.setEnabled(active)
        self.code_button.setEnabled(active)
        can_kyc = active and p is not None and p.member.kyc_status in KYC_OPEN
        self.kyc_button.setEnabled(can_kyc)
        self.kyc_button.setText(
            "Redo KYC" if p is not None and p.member.kyc_status == "rejected" else "Start KYC"
        )
        self.kyc_button.setToolTip(
            "" if can_kyc or p is None else f"KYC is {status_text(p.member.kyc_status).lower()}."
        )

    # -- actions ---------------------------------------------------------------------------

    def take_receipt(self) -> None:
        if self.member_id:
            navigation.go(self, "collections", member_id=self.member_id)

    def start_kyc(self) -> None:
        if self.member_id:
            navigation.go(self, "kyc-capture", member_id=self.member_id)

    def send_code(self) -> None:
        """Ask why, then text the member a sign-in code for the web view."""
        if self.profile is None:
            return
        member = self.profile.member
        dialog = ReasonDialog(
            "Send a sign-in code",
            f"Text {member.name} ({member.phone_masked}) a sign-in code for the web view. "
            "No request limit applies, so say why (the log keeps it).",
            required=True,
            placeholder="e.g. member locked out at the counter",
            parent=self,
        )
        dialog.accepted.connect(lambda: self._send_code(member.id, dialog.reason()))
        self.code_dialog = dialog
        dialog.open()

    def _send_code(self, member_id: str, reason: str) -> None:
        self.code_button.setEnabled(False)
        profiles, actor = self.services.member_profiles, self.actor
        worker.run(
            lambda: profiles.send_sign_in_code(actor, member_id, reason),
            self._code_sent,
            parent=self,
            on_error=self._code_failed,
        )

    def _code_sent(self, issued: IssuedCode) -> None:
        self.code_button.setEnabled(True)
        self.action_status.setText(
            f"Sign-in code texted to {issued.member.phone_masked}; it works until "
            f"{when(issued.expires_at.isoformat())}."
        )

    def _code_failed(self, exc: BaseException) -> None:
        self.code_button.setEnabled(True)
        self.action_status.setText(worker.error_text(exc))

    def shutdown(self) -> None:
        self.live.close()


def _kyc_text(p: MemberProfile) -> str:
    k = p.kyc
    if k is None:
        return "No KYC submitted yet. Start KYC to capture PAN, Aadhaar and bank details."
    lines = [
        f"<b>{status_text(k.status)}</b> · submitted {when(k.submitted_at)}",
        f"PAN {k.pan_masked} · Aadhaar {k.aadhaar_masked} · account {k.account_masked} "
        f"· IFSC {k.ifsc}",
    ]
    if k.decided_at:
        why = f": {html.escape(k.reason)}" if k.reason else ""
        lines.append(f"{status_text(k.status)} {when(k.decided_at)}{why}")
    return "<br>".join(lines)
