"""The employee's desk: what needs attention today, in four figures.

Pending KYC decisions, new loan applications (and those recommended, waiting for a
second person's approval), open recovery cases with what they owe, and today's
collections: the money received from members (:data:`~app.services.ledger.
RECEIPT_KINDS`) dated today in the firm's calendar.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from app.services import topics
from app.services.context import Clock
from app.services.kyc import KycService
from app.services.ledger import LedgerService
from app.services.loans import RECOMMENDED, SCORED, SUBMITTED, LoanService
from app.services.recovery import RecoveryService
from app.services.topics import reads


@dataclass(frozen=True)
class DeskSummary:
    """The desk's figures (amounts in paise)."""

    as_of: date
    pending_kyc: int
    new_loans: int
    awaiting_approval: int
    overdue_cases: int
    overdue_amount: int
    collected_today: int
    receipts_today: int


class DeskService:
    """Reads the desk's figures from the other services."""

    def __init__(
        self,
        *,
        kyc: KycService,
        loans: LoanService,
        recovery: RecoveryService,
        ledger: LedgerService,
        clock: Clock,
    ) -> None:
        self.kyc = kyc
        self.loans = loans
        self.recovery = recovery
        self.ledger = ledger
        self.clock = clock

    @reads(topics.KYC, topics.LOANS, topics.RECOVERY, topics.LEDGER)
    def summary(self) -> DeskSummary:
        today = self.clock.today()
        loans = self.loans.inbox()
        cases = self.recovery.cases(open_only=True)
        receipts = self.ledger.receipts_on(today)
        return DeskSummary(
            as_of=today,
            pending_kyc=self.kyc.counts()["pending"],
            new_loans=sum(1 for r in loans if r.status in (SUBMITTED, SCORED)),
            awaiting_approval=sum(1 for r in loans if r.status == RECOMMENDED),
            overdue_cases=len(cases),
            overdue_amount=sum(c.overdue for c in cases),
            collected_today=sum(t.amount for t in receipts),
            receipts_today=len(receipts),
        )
