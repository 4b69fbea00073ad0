"""Capital paid in: the company's two pools of its own money, and the pay-ins that fill
them, made by two people.

At the top, the lending cash (what loans are paid out from) and the company cash (what
prize advances come from), as the ledger holds them. An admin records a credit the
company made to its bank account (amount, pool, the bank's reference, the day the bank
credited it, which the posting is dated, and a memo); it waits
below until another staff member, who sees the credit in the bank, approves it (it is
then posted) or either of them declines it. The person who recorded it sees it waiting
for someone else: the service refuses the maker's approval, and the button says so
first. The last decisions are listed under it. Everything runs in the service off the
GUI thread; a refusal is shown under the form or the list, in the service's words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.kernel.errors import KnownError
from app.services.actors import Actor
from app.services.ledger import CapitalBoard, PayIn
from app.services.ledger.capital import ADDED, POOLS
from app.services.money import rupees
from app.services.registry import Services
from app.views import worker
from app.views.dashboard import Card
from app.views.formatting import (
    BAD,
    BUTTON_STYLE,
    GOOD,
    MUTED,
    WARN,
    ReasonDialog,
    date_edit,
    inr,
    iso_day,
    qdate,
)
from app.views.live import LiveReadModel
from app.views.table import Column, RowsModel, row_table

MAKERS = ("admin", "system")
"""Who sees the form (the screenshot tool's platform actor sees what an admin sees)."""


@dataclass(frozen=True)
class Waiting:
    """A pay-in waiting, and whether the person at the screen recorded it."""

    payin: PayIn
    mine: bool

    @property
    def status(self) -> str:
        return "Yours: awaits another person" if self.mine else "Awaits your check"


def _recorded(p: PayIn) -> str:
    return f"{p.proposed_by}, {p.proposed_when}"


class PayInsWaitingModel(RowsModel[PayIn]):
    """Pay-ins waiting for a second person, oldest first."""

    columns = (
        Column[Waiting]("Amount", lambda w: inr(w.payin.amount), lambda w: w.payin.amount,
                        right=True, bold=True),
        Column[Waiting]("Into", lambda w: w.payin.pool),
        Column[Waiting]("Bank reference", lambda w: w.payin.id),
        Column[Waiting]("Credited on", lambda w: w.payin.credited_day,
                        lambda w: w.payin.credited_on),
        Column[Waiting]("Recorded", lambda w: _recorded(w.payin), lambda w: w.payin.proposed_at),
        Column[Waiting]("Memo", lambda w: w.payin.memo, tip=lambda w: w.payin.memo or None),
        Column[Waiting]("Status", lambda w: w.status, colour=lambda w: MUTED if w.mine else WARN),
    )  # fmt: skip

    def __init__(self, me: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.me = me

    def item(self, row: PayIn) -> Waiting:
        return Waiting(row, row.proposed_by_id == self.me)


class PayInsDecidedModel(RowsModel[PayIn]):
    """The last pay-ins decided, newest first; who recorded one is named, the time is in
    its tooltip (the note needs the room at 1280 pixels wide)."""

    columns = (
        Column[PayIn]("Decided", lambda p: p.decided_when, lambda p: p.decided_at),
        Column[PayIn](
            "Decision",
            lambda p: p.decision,
            colour=lambda p: GOOD if p.status == ADDED else BAD,
            tip=lambda p: p.note or None,
        ),
        Column[PayIn]("Amount", lambda p: inr(p.amount), lambda p: p.amount, right=True),
        Column[PayIn]("Into", lambda p: p.pool),
        Column[PayIn]("Bank reference", lambda p: p.id),
        Column[PayIn]("Credited on", lambda p: p.credited_day, lambda p: p.credited_on),
        Column[PayIn](
            "Recorded by", lambda p: p.proposed_by, lambda p: p.proposed_at, tip=_recorded
        ),
        Column[PayIn]("Note", lambda p: p.note or p.memo, tip=lambda p: p.note or p.memo or None),
    )


def _column(model: type[RowsModel[Any]], header: str) -> int:
    """Where the column ``header`` is (the one a table stretches, kept by name)."""
    return next(n for n, c in enumerate(model.columns) if c.header == header)


class CapitalView(QWidget):
    """The pools' balances, the form to pay capital in, and the pay-ins; live."""

    name = "capital"
    title = "Capital"

    def __init__(self, services: Services, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actor = actor
        self.capital = services.capital
        self.clock = services.clock
        self.waiting = PayInsWaitingModel(actor.id, self)
        self.decided = PayInsDecidedModel(self)
        self.setStyleSheet(BUTTON_STYLE)
        self._build()
        self.live = LiveReadModel(services.topics, self.capital.board, self.show_board, self)

    # -- layout -------------------------------------------------------------------------

    def _build(self) -> None:
        heading = QLabel("Capital paid in")
        heading.setObjectName("heading")
        self.lending = Card("Lending cash")
        self.lending.detail.setText("Loans are paid out from it.")
        self.company = Card("Company cash")
        self.company.detail.setText("Advances to pools short of a prize come from it.")
        pools = QVBoxLayout()
        pools.addWidget(self.lending)
        pools.addWidget(self.company)
        top = QHBoxLayout()
        top.addLayout(pools, 2)
        top.addWidget(self._form(), 3)
        self.waiting_title = QLabel("<b>Waiting for a second person</b>")
        self.waiting_table = row_table(self.waiting, stretch=_column(PayInsWaitingModel, "Memo"))
        self.approve_button = QPushButton("Approve…")
        self.approve_button.setProperty("accent", True)
        self.decline_button = QPushButton("Decline…")
        self.note = QLabel("")
        self.note.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.approve_button)
        buttons.addWidget(self.decline_button)
        buttons.addWidget(self.note, 1)
        self.decided_title = QLabel("<b>Decided</b>")
        self.decided_table = row_table(self.decided, stretch=_column(PayInsDecidedModel, "Note"))
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addLayout(top)
        layout.addWidget(self.waiting_title)
        layout.addWidget(self.waiting_table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.decided_title)
        layout.addWidget(self.decided_table, 1)
        self.waiting_table.selectionModel().selectionChanged.connect(self._update)
        self.approve_button.clicked.connect(self.ask_approve)
        self.decline_button.clicked.connect(self.ask_decline)
        self._update()

    def _form(self) -> QGroupBox:
        box = QGroupBox("Pay in capital")
        self.amount = QLineEdit()
        self.amount.setPlaceholderText("In rupees, e.g. 5,00,000")
        self.into = QComboBox()
        for account, label in POOLS.items():
            self.into.addItem(label, account)
        self.bank_ref = QLineEdit()
        self.bank_ref.setPlaceholderText("UTR or cheque number of the credit")
        today = self.clock.today()
        self.credited_on = date_edit(today, latest=today)
        self.credited_on.setToolTip(
            "The day the bank credited the money, as on the statement: the posting is dated it."
        )
        self.memo = QLineEdit()
        self.memo.setPlaceholderText("e.g. Board resolution 12 (optional)")
        self.record = QPushButton("Record pay-in")
        self.record.setProperty("accent", True)
        self.form_note = QLabel("")
        self.form_note.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Amount (₹)", self.amount)
        form.addRow("Into", self.into)
        form.addRow("Bank reference", self.bank_ref)
        form.addRow("Credited on", self.credited_on)
        form.addRow("Memo", self.memo)
        column = QVBoxLayout(box)
        column.addLayout(form)
        row = QHBoxLayout()
        row.addWidget(self.record)
        row.addWidget(self.form_note, 1)
        column.addLayout(row)
        maker = self.actor.role in MAKERS
        for field in (
            self.amount,
            self.into,
            self.bank_ref,
            self.credited_on,
            self.memo,
            self.record,
        ):
            field.setEnabled(maker)
        if not maker:
            self._say(
                self.form_note,
                "Only an admin records capital paid in; you approve or decline it below.",
            )
        for line in (self.amount, self.bank_ref, self.memo):
            line.textChanged.connect(self._update)
            line.returnPressed.connect(self.propose)
        self.record.clicked.connect(self.propose)
        return box

    # -- loading ------------------------------------------------------------------------

    def refresh(self) -> None:
        self.live.refresh()

    def busy(self) -> bool:
        return bool(self.live.busy)

    def shutdown(self) -> None:
        """Stop live updates (before the services close)."""
        self.live.close()

    def show_board(self, board: CapitalBoard) -> None:
        chosen = self.chosen()
        self.credited_on.setMaximumDate(qdate(self.clock.today()))  # open past midnight
        self.lending.value.setText(inr(board.lending_cash))
        self.company.value.setText(inr(board.company_cash))
        self.waiting.set_rows(board.waiting)
        self.decided.set_rows(board.decided)
        self.waiting_title.setText(
            f"<b>Waiting for a second person</b> ({len(board.waiting)}): posted once someone "
            "other than who recorded it sees the credit in the bank"
        )
        self.decided_title.setText(f"<b>Decided</b> (the last {len(board.decided)})")
        if chosen is not None:
            self.select(chosen.id)
        self._update()

    def select(self, capital_id: str) -> bool:
        """Select a waiting pay-in's row (if listed); returns whether it was found."""
        for number, row in enumerate(self.waiting.rows()):
            if row.id == capital_id:
                self.waiting_table.selectRow(number)
                return True
        return False

    def chosen(self) -> PayIn | None:
        rows = self.waiting_table.selectionModel().selectedRows()
        return self.waiting.row_at(rows[0]) if rows else None

    def _update(self) -> None:
        maker = self.actor.role in MAKERS
        filled = bool(self.amount.text().strip() and self.bank_ref.text().strip())
        self.record.setEnabled(maker and filled)
        payin = self.chosen()
        mine = payin is not None and payin.proposed_by_id == self.actor.id
        self.approve_button.setEnabled(payin is not None and not mine)
        self.decline_button.setEnabled(payin is not None)
        self.approve_button.setToolTip(
            "You recorded this pay-in: another staff member approves it." if mine else ""
        )
        self.decline_button.setToolTip("Withdraw it, with a reason." if mine else "")

    # -- actions ------------------------------------------------------------------------

    def propose(self) -> None:
        if not self.record.isEnabled():
            return
        try:
            amount = rupees(self.amount.text(), field="Amount")
        except KnownError as exc:
            self._say(self.form_note, f"Not done: {exc}", BAD)
            return
        into, ref, memo = str(self.into.currentData()), self.bank_ref.text(), self.memo.text()
        credited, actor, capital = iso_day(self.credited_on), self.actor, self.capital
        self._run(
            lambda: capital.propose_capital(actor, amount, into, ref, memo, credited),
            self._proposed,
            self.form_note,
        )

    def _proposed(self, payin: PayIn) -> None:
        for line in (self.amount, self.bank_ref, self.memo):
            line.clear()
        self.credited_on.setDate(qdate(self.clock.today()))
        self._say(
            self.form_note,
            f"Recorded {inr(payin.amount)} into {payin.pool.lower()}, credited on "
            f"{payin.credited_day} ({payin.id}): another staff member approves it before it "
            "is posted.",
            GOOD,
        )
        self.refresh()

    def ask_approve(self) -> None:
        payin = self.chosen()
        if payin is None:
            return
        seen = (
            f" on {payin.credited_day}: it is then posted, dated that day"
            if payin.credited_on
            else ": it is then posted, dated today"
        )
        reason = ReasonDialog.ask(
            "Approve the capital",
            f"{inr(payin.amount)} into {payin.pool.lower()}, bank reference {payin.id}, "
            f"recorded by {payin.proposed_by}. Approve only if you see this credit on the "
            f"company's bank statement{seen}. Note (optional):",
            required=False,
            parent=self,
        )
        if reason is not None:
            self.approve(payin.id, reason)

    def approve(self, capital_id: str, note: str = "") -> None:
        actor, capital = self.actor, self.capital
        self._run(
            lambda: capital.approve_capital(actor, capital_id, note),
            lambda p: self._decided(
                f"Posted: {inr(p.amount)} of capital into {p.pool.lower()} ({p.id})."
            ),
            self.note,
        )

    def ask_decline(self) -> None:
        payin = self.chosen()
        if payin is None:
            return
        reason = ReasonDialog.ask(
            "Decline the capital",
            f"{inr(payin.amount)}, bank reference {payin.id}. Why is it declined? Nothing "
            "is posted.",
            required=True,
            parent=self,
        )
        if reason is not None:
            self.decline(payin.id, reason)

    def decline(self, capital_id: str, reason: str) -> None:
        actor, capital = self.actor, self.capital
        self._run(
            lambda: capital.decline_capital(actor, capital_id, reason),
            lambda p: self._decided(f"Declined: {inr(p.amount)} ({p.id}); nothing is posted."),
            self.note,
        )

    def _decided(self, text: str) -> None:
        self._say(self.note, text, GOOD)
        self.refresh()

    def _run(self, call: Callable[[], Any], done: Callable[[Any], None], where: QLabel) -> None:
        """Run ``call`` in the service; ``done(result)``, or the refusal shown ``where``."""

        def refused(exc: BaseException) -> None:
            if not isinstance(exc, KnownError):
                worker.show_error(self, exc)
                return
            self._say(where, f"Not done: {exc}", BAD)

        worker.run(call, done, parent=self, on_error=refused)

    @staticmethod
    def _say(where: QLabel, text: str, colour: Any = None) -> None:
        where.setText(text)
        where.setStyleSheet(f"color: {colour.name()};" if colour is not None else "")
