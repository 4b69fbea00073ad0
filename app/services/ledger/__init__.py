"""The double-entry ledger: receipts, capital (paid in by two people), dues, balances
and reports."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.services.lazy import lazy_exports

if TYPE_CHECKING:
    from app.services.ledger.capital import CapitalBoard, CapitalDesk, PayIn
    from app.services.ledger.receipts import Payment
    from app.services.ledger.records import Due, PeriodCollections, Receipt, ReceiptEntry, Txn
    from app.services.ledger.reports import BalanceSheet, Statements, TimelineItem, TrialBalance
    from app.services.ledger.service import RECEIPT_KINDS, LedgerService, check_ledger

__all__ = [
    "RECEIPT_KINDS",
    "BalanceSheet",
    "CapitalBoard",
    "CapitalDesk",
    "Due",
    "LedgerService",
    "PayIn",
    "Payment",
    "PeriodCollections",
    "Receipt",
    "ReceiptEntry",
    "Statements",
    "TimelineItem",
    "TrialBalance",
    "Txn",
    "check_ledger",
]
__getattr__ = lazy_exports(
    __name__,
    {
        "service": ["LedgerService", "RECEIPT_KINDS", "check_ledger"],
        "capital": ["CapitalBoard", "CapitalDesk", "PayIn"],
        "records": ["Due", "PeriodCollections", "Receipt", "ReceiptEntry", "Txn"],
        "receipts": ["Payment"],
        "reports": ["BalanceSheet", "Statements", "TimelineItem", "TrialBalance"],
    },
)
