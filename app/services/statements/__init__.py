"""Bank statement import: a CSV export read by the shipped column mapping, each line
sorted against the books, and the receipts recorded in atomic chunks (see
:mod:`.service`)."""

from __future__ import annotations

from app.services.statements.csvfile import Line, Statement, parse_statement
from app.services.statements.model import (
    AMBIGUOUS,
    LEFT,
    MATCHED,
    NEEDS_A_PERSON,
    NOT_RECEIPT,
    RECORDED,
    RESOLVED,
    TO_RECORD,
    UNMATCHED,
    VERDICTS,
    WRONG_AMOUNT,
    Candidate,
    Imported,
    Preview,
    Sorted,
    Tally,
)
from app.services.statements.service import CHUNK, StatementService

__all__ = [
    "AMBIGUOUS",
    "CHUNK",
    "LEFT",
    "MATCHED",
    "NEEDS_A_PERSON",
    "NOT_RECEIPT",
    "RECORDED",
    "RESOLVED",
    "TO_RECORD",
    "UNMATCHED",
    "VERDICTS",
    "WRONG_AMOUNT",
    "Candidate",
    "Imported",
    "Line",
    "Preview",
    "Sorted",
    "Statement",
    "StatementService",
    "Tally",
    "parse_statement",
]
