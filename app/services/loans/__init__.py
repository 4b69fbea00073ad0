"""Loans from application to closure: terms, scoring, maker-checker, EMIs, DPD."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.services.lazy import lazy_exports

if TYPE_CHECKING:
    from app.services.loans.book import (
        APPROVED,
        CLOSED,
        DISBURSED,
        OPEN,
        RECOMMENDED,
        REJECTED,
        SCORED,
        STATUSES,
        SUBMITTED,
        Preview,
        loan_code,
        loan_no,
        preview,
    )
    from app.services.loans.queue import LoanQueue
    from app.services.loans.reads import LoanDetail, LoanRow, Portfolio, ScheduleRow
    from app.services.loans.service import LoanService

__all__ = [
    "APPROVED",
    "CLOSED",
    "DISBURSED",
    "OPEN",
    "RECOMMENDED",
    "REJECTED",
    "SCORED",
    "STATUSES",
    "SUBMITTED",
    "LoanDetail",
    "LoanQueue",
    "LoanRow",
    "LoanService",
    "Portfolio",
    "Preview",
    "ScheduleRow",
    "loan_code",
    "loan_no",
    "preview",
]
__getattr__ = lazy_exports(
    __name__,
    {
        "service": ["LoanService"],
        "queue": ["LoanQueue"],
        "reads": ["LoanDetail", "LoanRow", "Portfolio", "ScheduleRow"],
        "book": [
            "APPROVED",
            "CLOSED",
            "DISBURSED",
            "OPEN",
            "Preview",
            "RECOMMENDED",
            "REJECTED",
            "SCORED",
            "STATUSES",
            "SUBMITTED",
            "loan_code",
            "loan_no",
            "preview",
        ],
    },
)
