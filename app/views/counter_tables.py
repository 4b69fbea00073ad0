"""The collections view's tables: a member's open dues and receipts, the cheques awaiting
clearance, and the requests awaiting a second person."""

from __future__ import annotations

from PySide6.QtGui import QColor

from app.services.counter import Approval, CounterReceipt, OpenDue
from app.services.ledger.records import CHEQUE_STATES, ReceiptEntry
from app.views.formatting import BAD, GOOD, MUTED, WARN, inr, when
from app.views.table import Column, RowsModel

_CHEQUE_COLOURS = {"pending": WARN, "bounce_requested": BAD, "cleared": GOOD, "bounced": BAD}


def cheque_state(entry: ReceiptEntry) -> str:
    """A counter cheque's state as a person reads it (``Bounced``); a dash otherwise."""
    state = entry.cheque_state
    return CHEQUE_STATES.get(state, state).capitalize() if state else "—"


def cheque_colour(entry: ReceiptEntry) -> QColor | None:
    return _CHEQUE_COLOURS.get(entry.cheque_state or "")


def _late(d: OpenDue) -> str:
    return f"{d.days_late} days" if d.days_late else "not yet due"


class DuesModel(RowsModel[OpenDue]):
    """A member's open dues, oldest first."""

    columns = (
        Column[OpenDue]("Group", lambda d: d.group_name, tip=lambda d: d.label()),
        Column[OpenDue](
            "Ticket", lambda d: "" if d.ticket_no is None else str(d.ticket_no), right=True
        ),
        Column[OpenDue]("Period", lambda d: str(d.due.period), lambda d: d.due.period, right=True),
        Column[OpenDue]("Due on", lambda d: when(d.due.due_date), lambda d: d.due.due_date),
        Column[OpenDue](
            "Owed",
            lambda d: inr(d.outstanding),
            lambda d: d.outstanding,
            right=True,
            bold=True,
            tip=lambda d: f"Instalment {inr(d.due.net)}, paid {inr(d.due.paid)}",
        ),
        Column[OpenDue](
            "Late", _late, lambda d: d.days_late, colour=lambda d: BAD if d.days_late else MUTED
        ),
    )


def _for(r: CounterReceipt) -> str:
    return f"{r.group_name} P{r.entry.period}" if r.entry.period else r.group_name


_RECEIVED = Column[CounterReceipt](
    "Received", lambda r: when(r.entry.received_on), lambda r: r.entry.received_on
)
_NUMBER = Column[CounterReceipt](
    "Receipt No.", lambda r: r.entry.number or r.entry.bank_ref, tip=lambda r: _for(r)
)
_AMOUNT = Column[CounterReceipt](
    "Amount", lambda r: inr(r.entry.amount), lambda r: r.entry.amount, right=True
)
_CHEQUE = Column[CounterReceipt](
    "Cheque", lambda r: cheque_state(r.entry), colour=lambda r: cheque_colour(r.entry), bold=True
)


class ReceiptsModel(RowsModel[CounterReceipt]):
    """One member's recent receipts, newest first."""

    columns = (
        _RECEIVED,
        _NUMBER,
        Column[CounterReceipt]("Mode", lambda r: r.entry.mode_label),
        _AMOUNT,
        _CHEQUE,
        Column[CounterReceipt](
            "Ref.",  # the column left over at 1280×720: "Reference" would be cut
            lambda r: r.entry.bank_ref,
            tip=lambda r: r.entry.bank_ref,
            header_tip="Reference: slip number, UPI reference, UTR or cheque number",
        ),
    )


class ChequesModel(RowsModel[CounterReceipt]):
    """Counter cheques not yet cleared, oldest first."""

    columns = (
        _RECEIVED,
        Column[CounterReceipt]("Member", lambda r: r.member_name),
        Column[CounterReceipt]("For", _for),
        Column[CounterReceipt]("Cheque", lambda r: r.entry.bank_ref),
        _AMOUNT,
        Column[CounterReceipt](
            "State",
            lambda r: cheque_state(r.entry),
            colour=lambda r: cheque_colour(r.entry),
            bold=True,
        ),
        _NUMBER,
    )


class ApprovalsModel(RowsModel[Approval]):
    """Requests waiting for a second person, oldest first."""

    columns = (
        Column[Approval]("Asked", lambda a: when(a.requested_at), lambda a: a.requested_at),
        Column[Approval]("What", lambda a: a.kind_text, bold=True),
        Column[Approval]("Member", lambda a: a.member_name),
        Column[Approval]("Amount", lambda a: inr(a.amount), lambda a: a.amount, right=True),
        Column[Approval]("Mode", lambda a: a.mode_text),
        Column[Approval]("Reference", lambda a: a.bank_ref),
        Column[Approval]("Asked by", lambda a: a.requested_by.get("name", "")),
        Column[Approval]("Why", lambda a: a.reason, tip=lambda a: a.reason),
    )
