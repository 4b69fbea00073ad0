"""The counter: receipts taken in person (cash, UPI, NEFT/IMPS, cheque), cheque
clearance and bounces, and the second person who checks what moves money."""

from __future__ import annotations

from app.services.counter.model import (
    APPROVAL_KINDS,
    CASH_RECEIPT,
    CHEQUE_BOUNCE,
    Approval,
    CounterQueue,
    CounterReceipt,
    MemberDesk,
    OpenDue,
    Slip,
    Taken,
)
from app.services.counter.rules import CASH_CHECK_ABOVE, CASH_DAY_LIMIT, COUNTER_MODES
from app.services.counter.service import CounterService

__all__ = [
    "APPROVAL_KINDS",
    "CASH_CHECK_ABOVE",
    "CASH_DAY_LIMIT",
    "CASH_RECEIPT",
    "CHEQUE_BOUNCE",
    "COUNTER_MODES",
    "Approval",
    "CounterQueue",
    "CounterReceipt",
    "CounterService",
    "MemberDesk",
    "OpenDue",
    "Slip",
    "Taken",
]
