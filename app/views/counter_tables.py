"""The collections view's tables: a member's open dues and receipts, the cheques awaiting
clearance, and the requests awaiting a second person."""

from __future__ import annotations

from app.services.counter import Approval, CounterReceipt, OpenDue
from app.views.formatting import BAD, GOOD, MUTED, WARN, inr, when
from app.views.table import Column, RowsModel

_CHEQUE_COLOURS = {"pending": WARN, "bounce_requested": BAD, "cleared": GOOD, "bounced": BAD}


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


def _cheque_state(r: CounterReceipt) -> str:
    return r.cheque_text.capitalize() if r.cheque_text else "—"


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
    "Cheque",
    _cheque_state,
    colour=lambda r: _CHEQUE_COLOURS.get(r.entry.cheque_state or ""),
    bold=True,
)


class ReceiptsModel(RowsModel[CounterReceipt]):
    """One member's recent receipts, newest first."""

    columns = (
        _RECEIVED,
        _NUMBER,
        Column[CounterReceipt]("Mode", lambda r: r.entry.mode_label),
        _AMOUNT,
        _CHEQUE,
        Column[CounterReceipt]("Reference", lambda r: r.entry.bank_ref),
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
            _cheque_state,
            colour=lambda r: _CHEQUE_COLOURS.get(r.entry.cheque_state or ""),
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
