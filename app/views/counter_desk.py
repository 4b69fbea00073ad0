"""The counter: find the member, see their open dues across groups, take the receipt.

A slot here only turns what the staff typed into a :class:`~app.services.counter.Slip`
and hands it to the counter service off the GUI thread; the service decides (references,
limits, the second person) and its refusals are shown under the form as they are.
"""

from __future__ import annotations

from html import escape
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.kernel.errors import KnownError
from app.services.activity import counted
from app.services.actors import Actor
from app.services.counter import COUNTER_MODES, MemberDesk, OpenDue, Slip, Taken
from app.services.ledger.records import CHEQUE, MODES
from app.services.members import Member
from app.services.money import rupees, to_rupees
from app.services.registry import Services
from app.views import worker
from app.views.counter_tables import DuesModel, ReceiptsModel
from app.views.formatting import BAD, GOOD, MUTED, date_edit, inr, iso_day, status_text
from app.views.receipt_print import ReceiptPrinter
from app.views.table import row_table

MEMBER_ROLE = Qt.ItemDataRole.UserRole
REFERENCE = {
    "cash": ("Slip number", "the counter slip's number"),
    "upi": ("UPI reference", "12 digits, from the member's UPI app"),
    "neft": ("UTR", "NEFT: SBIN126054012345 · IMPS: 12 digits"),
    "cheque": ("Cheque number", "6 digits, bottom left of the cheque"),
}


def table(model: Any, *, stretch: int | None = None) -> QTableView:
    """A single-selection table of whole rows. With ``stretch`` it fits its pane
    (:func:`~app.views.table.row_table`: that column takes the room the others leave,
    cut with “…”); without, the last column stretches and a wide table scrolls."""
    if stretch is not None:
        fitted = row_table(model, stretch=stretch)
        fitted.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        return fitted
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.verticalHeader().setVisible(False)
    view.setWordWrap(False)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    view.horizontalHeader().setStretchLastSection(True)
    return view


class CounterDesk(QWidget):
    """Search, the member's dues and receipts, and the receipt form."""

    member_changed = Signal(object)  # the member id (None: nobody)

    def __init__(self, services: Services, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.actor = actor
        self.member_id: str | None = None
        self.desk: MemberDesk | None = None
        self.current_receipt: str | None = None
        self.printer = ReceiptPrinter(services, actor, self)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(250)
        self._build()
        self._connect()
        self._mode_changed()

    # -- layout -------------------------------------------------------------------------

    def _build(self) -> None:
        self.search = QLineEdit()
        self.search.setPlaceholderText("Name, mobile or member number")
        self.search.setClearButtonEnabled(True)
        self.results = QListWidget()
        self.results.setWordWrap(True)
        find = QVBoxLayout()
        find.addWidget(QLabel("<b>Find the member</b>"))
        find.addWidget(self.search)
        find.addWidget(self.results, 1)
        left = QWidget()
        left.setLayout(find)
        left.setMinimumWidth(160)
        self.card = QLabel("Find a member to see their open dues.")
        self.card.setWordWrap(True)
        self.card.setTextFormat(Qt.TextFormat.RichText)
        self.dues = DuesModel(self)
        self.dues_table = table(self.dues, stretch=0)  # the group's name
        self.receipts = ReceiptsModel(self)
        self.receipts_table = table(self.receipts, stretch=len(self.receipts.columns) - 1)
        middle = QSplitter(Qt.Orientation.Vertical)
        middle.addWidget(_titled("Open dues across groups", self.dues_table))
        middle.addWidget(_titled("Recent receipts", self.receipts_table))
        middle.setSizes([220, 260])
        centre = QWidget()
        column = QVBoxLayout(centre)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.card)
        column.addWidget(middle, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(centre)
        split.addWidget(self._form())
        split.setStretchFactor(1, 1)
        split.setSizes([180, 640, 270])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)

    def _form(self) -> QWidget:
        self.due_label = QLabel("Choose a due on the left.")
        self.due_label.setWordWrap(True)
        self.amount = QLineEdit()
        self.amount.setPlaceholderText("₹ in rupees, e.g. 7,500.00")
        self.mode = QComboBox()
        for mode in COUNTER_MODES:
            self.mode.addItem(MODES[mode], mode)
        self.reference = QLineEdit()
        self.ifsc = QLineEdit()
        self.ifsc.setPlaceholderText("IFSC printed on the cheque")
        today = self.services.clock.today()
        self.received_on = date_edit(today, latest=today)
        self.form = QFormLayout()
        self.form.addRow("For", self.due_label)
        self.form.addRow("Amount", self.amount)
        self.form.addRow("Mode", self.mode)
        self.form.addRow("Slip number", self.reference)
        self.form.addRow("Drawee IFSC", self.ifsc)
        self.form.addRow("Received on", self.received_on)
        self.record = QPushButton("Record receipt")
        self.record.setProperty("accent", True)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {BAD.name()};")
        self.outcome = QLabel("")
        self.outcome.setWordWrap(True)
        self.print_button = QPushButton("Print…")
        self.print_button.setToolTip("Opens the receipt in your PDF viewer to print it.")
        self.save_button = QPushButton("Save PDF…")
        buttons = QHBoxLayout()
        buttons.addWidget(self.print_button)
        buttons.addWidget(self.save_button)
        buttons.addStretch(1)
        box = QGroupBox("Take a receipt")
        column = QVBoxLayout(box)
        column.addLayout(self.form)
        column.addWidget(self.record)
        column.addWidget(self.error)
        column.addWidget(self.outcome)
        column.addLayout(buttons)
        column.addStretch(1)
        box.setMinimumWidth(260)
        return box

    def _connect(self) -> None:
        self.search.textChanged.connect(lambda _: self._search_timer.start())
        self._search_timer.timeout.connect(self.look_up)
        self.results.currentItemChanged.connect(self._picked)
        self.dues_table.selectionModel().selectionChanged.connect(self._due_chosen)
        self.receipts_table.selectionModel().selectionChanged.connect(self._receipt_chosen)
        self.mode.currentIndexChanged.connect(self._mode_changed)
        for field in (self.amount, self.reference, self.ifsc):
            field.textChanged.connect(self._update)
            field.returnPressed.connect(self.take)
        self.record.clicked.connect(self.take)
        self.print_button.clicked.connect(lambda: self._print(self.printer.print))
        self.save_button.clicked.connect(lambda: self._print(self.printer.save))
        self.printer.done.connect(self.outcome.setText)

    # -- the member ---------------------------------------------------------------------

    def look_up(self) -> None:
        """Search the members for the search field's text (off the GUI thread)."""
        text, members = self.search.text(), self.services.members
        worker.run(lambda: members.search(text, limit=50), self._found, parent=self)

    def _found(self, found: list[Member]) -> None:
        self.results.clear()
        for m in found:
            item = QListWidgetItem(f"{m.name}\n{m.member_no} · {m.phone_masked}")
            item.setData(MEMBER_ROLE, m.id)
            self.results.addItem(item)
        if not found:
            self.results.addItem(QListWidgetItem("No member matches."))
        elif len(found) == 1:
            self.results.setCurrentRow(0)

    def _picked(self, item: QListWidgetItem | None) -> None:
        member_id = item.data(MEMBER_ROLE) if item is not None else None
        if member_id:
            self.set_member(str(member_id))

    def set_member(self, member_id: str | None) -> None:
        """Show ``member_id`` at the counter (the view reads their desk live)."""
        if member_id == self.member_id:
            return
        if member_id is not None and not self._listed(member_id):
            self.results.clear()
        self.member_id = member_id
        self.desk = None
        self.current_receipt = None
        self.dues.set_rows([])
        self.receipts.set_rows([])
        self.outcome.setText("")
        self.error.setText("")
        self.card.setText("Loading…" if member_id else "Find a member to see their open dues.")
        self._new_slip()
        self._update()
        self.member_changed.emit(member_id)

    def show_desk(self, desk: MemberDesk | None) -> None:
        """The member's desk as the service read it."""
        if desk is None or desk.member.id != self.member_id:
            return
        chosen = self.chosen_due()
        self.desk = desk
        self.card.setText(_card(desk))
        if not self._listed(desk.member.id):
            self._found([desk.member])
        self.dues.set_rows(desk.dues)
        self.receipts.set_rows(desk.receipts)
        if desk.dues:
            keep = next(
                (i for i, d in enumerate(desk.dues) if chosen and d.due.id == chosen.due.id), 0
            )
            self.dues_table.selectRow(keep)
        else:
            self.due_label.setText("Nothing is due from this member.")
        self._update()

    def chosen_due(self) -> OpenDue | None:
        rows = self.dues_table.selectionModel().selectedRows() if self.dues_table.model() else []
        return self.dues.row_at(rows[0]) if rows else None

    def _listed(self, member_id: str) -> bool:
        return any(
            self.results.item(i).data(MEMBER_ROLE) == member_id for i in range(self.results.count())
        )

    def _due_chosen(self) -> None:
        due = self.chosen_due()
        if due is not None:
            self.due_label.setText(due.label())
            self.amount.setText(f"{to_rupees(due.outstanding):,.2f}")
        self._update()

    def _receipt_chosen(self) -> None:
        rows = self.receipts_table.selectionModel().selectedRows()
        receipt = self.receipts.row_at(rows[0]) if rows else None
        if receipt is not None:
            self.current_receipt = receipt.entry.bank_ref
        self._update()

    # -- the form -----------------------------------------------------------------------

    def _mode_changed(self) -> None:
        mode = str(self.mode.currentData())
        label, hint = REFERENCE[mode]
        self.form.labelForField(self.reference).setText(label)  # type: ignore[attr-defined]
        self.reference.setPlaceholderText(hint)
        self.form.setRowVisible(self.ifsc, mode == CHEQUE)
        self._new_slip()
        self._update()

    def _new_slip(self) -> None:
        if self.mode.currentData() == "cash":
            self.reference.setText(self.services.counter.new_slip_number())
        elif self.reference.text().startswith("CASH-"):
            self.reference.clear()

    def _update(self) -> None:
        ready = (
            self.chosen_due() is not None
            and bool(self.amount.text().strip())
            and bool(self.reference.text().strip())
        )
        self.record.setEnabled(ready)
        self.print_button.setEnabled(self.current_receipt is not None)
        self.save_button.setEnabled(self.current_receipt is not None)

    def slip(self) -> Slip:
        """What the form says (the amount parsed here: it names its field when wrong)."""
        due = self.chosen_due()
        if due is None or self.member_id is None:
            raise KnownError("Choose the due this payment is for.")
        return Slip(
            self.member_id,
            due.due.group_id,
            due.due.period,
            rupees(self.amount.text(), field="Amount"),
            str(self.mode.currentData()),
            self.reference.text(),
            iso_day(self.received_on),
            self.ifsc.text(),
        )

    def take(self) -> None:
        """Record the receipt (or file it for a second person) off the GUI thread."""
        if not self.record.isEnabled():
            return
        self.error.setText("")
        try:
            slip = self.slip()
        except KnownError as exc:
            self.error.setText(str(exc))
            return
        counter, actor = self.services.counter, self.actor
        self.record.setEnabled(False)
        worker.run(
            lambda: counter.take(actor, slip), self._taken, parent=self, on_error=self._refused
        )

    def _taken(self, taken: Taken) -> None:
        if taken.receipt is not None:
            r = taken.receipt
            again = " (already recorded: the same reference again)" if taken.duplicate else ""
            self.current_receipt = r.bank_ref
            self.outcome.setStyleSheet(f"color: {GOOD.name()};")
            self.outcome.setText(
                f"Receipt No. {r.number or r.bank_ref} recorded{again}: {inr(r.amount)} by "
                f"{r.mode_label}" + (", pending clearance." if r.cheque_state == "pending" else ".")
            )
        elif taken.approval is not None:
            a = taken.approval
            self.outcome.setStyleSheet(f"color: {MUTED.name()};")
            self.outcome.setText(
                f"{inr(a.amount)} in cash waits for a second person to count it ({a.reason}). "
                "It is posted, and its receipt numbered, when they approve it under "
                "“Second person”."
            )
        self._new_slip()
        self._update()

    def _refused(self, exc: BaseException) -> None:
        self.error.setText(worker.error_text(exc))
        self._update()

    def _print(self, action: Any) -> None:
        if self.current_receipt is not None:
            action(self.current_receipt)


def _titled(title: str, widget: QWidget) -> QWidget:
    box = QWidget()
    column = QVBoxLayout(box)
    column.setContentsMargins(0, 4, 0, 0)
    column.addWidget(QLabel(f"<b>{escape(title)}</b>"))
    column.addWidget(widget, 1)
    return box


def _card(desk: MemberDesk) -> str:
    m = desk.member
    owed = (
        f"owes <b>{inr(desk.total_due)}</b> in {counted(desk.dues, 'due')}"
        if desk.dues
        else "owes nothing"
    )
    waiting = f" · {len(desk.waiting)} waiting for a second person" if desk.waiting else ""
    kyc = escape(status_text(m.kyc_status).lower())
    return (
        f"<span style='font-size: 13pt; font-weight: 600'>{escape(m.name)}</span><br>"
        f"{escape(m.member_no)} · {escape(m.phone_masked)} · KYC {kyc} · {owed}{waiting}"
    )
