"""What the counter shows: a member's open dues and receipts, the cheques awaiting
clearance and the receipts awaiting a second person."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date as Date
from typing import Any

from app.services.ledger.records import CHEQUE_STATES, MODES, Due, ReceiptEntry
from app.services.members import Member
from app.services.store import Document

CASH_RECEIPT, CHEQUE_BOUNCE = "cash_receipt", "cheque_bounce"
APPROVAL_KINDS = {CASH_RECEIPT: "Cash receipt", CHEQUE_BOUNCE: "Cheque bounce"}
WAITING, APPROVED, REJECTED = "pending", "approved", "rejected"


@dataclass(frozen=True)
class Slip:
    """What the staff enter at the counter for one receipt: the member's due (group and
    period), the amount in paise, the mode, its reference as typed, and for a cheque the
    drawee branch's IFSC."""

    member_id: str
    group_id: str
    period: int
    amount: int
    mode: str
    reference: str
    received_on: Date | str
    ifsc: str = ""


@dataclass(frozen=True)
class OpenDue:
    """A due not yet paid in full, with its group's name and the member's ticket."""

    due: Due
    group_name: str
    ticket_no: int | None
    days_late: int = 0
    """Days past its due date, as of the services' today."""

    @property
    def outstanding(self) -> int:
        return self.due.outstanding

    def label(self) -> str:
        ticket = f", ticket {self.ticket_no}" if self.ticket_no is not None else ""
        return f"{self.group_name}{ticket}, period {self.due.period}"


@dataclass(frozen=True)
class CounterReceipt:
    """A receipt as the counter lists it, with the names people read."""

    entry: ReceiptEntry
    member_name: str
    group_name: str

    @property
    def cheque_text(self) -> str:
        state = self.entry.cheque_state
        return "" if state is None else CHEQUE_STATES.get(state, state)


@dataclass(frozen=True)
class Approval:
    """A counter action waiting for (or decided by) a second person."""

    id: str
    kind: str
    bank_ref: str
    member_id: str
    member_name: str
    amount: int
    mode: str
    reason: str
    requested_by: dict[str, str]
    requested_at: str
    status: str
    decided_by: dict[str, str] | None
    note: str
    payment: dict[str, Any]

    @property
    def kind_text(self) -> str:
        return APPROVAL_KINDS.get(self.kind, self.kind)

    @property
    def mode_text(self) -> str:
        return MODES.get(self.mode, self.mode)

    @classmethod
    def from_doc(cls, doc: Document, member_name: str = "") -> Approval:
        d = doc.data
        return cls(
            id=doc.id,
            kind=d["kind"],
            bank_ref=d["bank_ref"],
            member_id=d["member_id"],
            member_name=member_name or d["member_id"],
            amount=d["amount"],
            mode=d.get("mode", ""),
            reason=d.get("reason", ""),
            requested_by=d["requested_by"],
            requested_at=d["requested_at"],
            status=d["status"],
            decided_by=d.get("decided_by"),
            note=d.get("note", ""),
            payment=d.get("payment") or {},
        )


@dataclass(frozen=True)
class MemberDesk:
    """One member at the counter: open dues across groups (oldest first), recent
    receipts (newest first) and what waits for a second person."""

    member: Member
    dues: list[OpenDue]
    receipts: list[CounterReceipt]
    waiting: list[Approval]

    @property
    def total_due(self) -> int:
        return sum(d.outstanding for d in self.dues)


@dataclass(frozen=True)
class CounterQueue:
    """The office's counter work: cheques not yet cleared, and approvals waiting."""

    cheques: list[CounterReceipt]
    approvals: list[Approval]


@dataclass(frozen=True)
class Taken:
    """The outcome of :meth:`CounterService.take`: the receipt posted, or the approval it
    waits for (cash above the limit one person may take)."""

    receipt: ReceiptEntry | None = None
    approval: Approval | None = None
    duplicate: bool = False
