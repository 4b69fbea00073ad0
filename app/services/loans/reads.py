"""What the loan screens read: the inbox rows, a loan's detail and the book's risk."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from app.kernel.errors import NotFound, ValidationError
from app.services import credit, topics
from app.services.collections import LOANS, MEMBERS
from app.services.context import ServiceContext
from app.services.feeds import Feed
from app.services.loans.book import (
    CLOSED,
    DISBURSED,
    OPEN,
    STATUSES,
    loan_code,
    loan_dpd,
    loan_no,
    schedule_of,
)
from app.services.store import Document, Query
from app.services.topics import reads

LENT = (DISBURSED, CLOSED)


@dataclass(frozen=True)
class LoanRow:
    """One line of the desktop's loan inbox (no personal numbers in clear)."""

    loan_id: str
    member_id: str
    member_name: str
    phone_masked: str
    amount: int
    tenure_months: int
    rate_bps: int
    emi: int
    score: int | None
    eligibility: str | None
    status: str
    applied_at: str
    dpd: int
    bucket: str
    outstanding: int = 0
    """Principal still owed (0 before disbursement)."""
    number: int | None = None

    @property
    def loan_no(self) -> str:
        """``L-0042`` (the id of a loan applied for before numbering)."""
        return loan_no(self.number, self.loan_id)


@dataclass(frozen=True)
class ScheduleRow:
    number: int
    due_date: str | None
    emi: int
    interest: int
    principal: int
    balance: int
    paid_interest: int = 0
    paid_principal: int = 0
    paid_on: str | None = None

    @property
    def paid(self) -> bool:
        return self.paid_interest + self.paid_principal == self.emi


@dataclass(frozen=True)
class LoanDetail:
    """Everything the loan screen shows: the row, the score's factors, the schedule."""

    row: LoanRow
    purpose: str
    flat_quote: dict[str, Any] | None
    factors: list[dict[str, Any]]
    reasons: list[str]
    precheck: dict[str, Any] | None
    schedule: list[ScheduleRow]
    outstanding_principal: int
    paid_principal: int
    paid_interest: int
    history: list[dict[str, Any]]
    data: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class Portfolio:
    """Risk of the disbursed book as of ``as_of``."""

    as_of: date
    loans: int
    outstanding: int
    par30: credit.ParResult
    par90: credit.ParResult
    provisions: credit.ProvisionReport
    by_bucket: dict[str, int]


class LoanReads:
    """The loans' reads; :class:`app.services.loans.LoanService` adds the workflow."""

    ctx: ServiceContext

    def get(self, loan_id: str) -> Document:
        doc = self.ctx.store.get(LOANS, loan_id)
        if doc is None:
            raise NotFound(f"No loan with id {loan_id!r}.")
        return doc

    def loan_nos(self, loan_ids: Iterable[str]) -> dict[str, str]:
        """Each loan's number as people read it (``L-0042``, or the id of a loan stored
        before numbering), by id; ids of no loan are left out."""
        docs = self.ctx.store.get_many(LOANS, set(loan_ids))
        return {lid: loan_code(d) for lid, d in docs.items()}

    @reads(topics.LOANS, topics.MEMBERS)
    def inbox(self, status: str | Iterable[str] | None = None) -> list[LoanRow]:
        """Loans for the desk, oldest application first (open ones when no status)."""
        wanted = [status] if isinstance(status, str) else list(status or OPEN)
        unknown = [s for s in wanted if s not in STATUSES]
        if unknown:
            raise ValidationError(f"Unknown loan status {unknown[0]!r}; use one of {STATUSES}.")
        docs = self.ctx.store.query(Query(LOANS).where("status", "in", wanted))
        docs.sort(key=_applied_order)
        return self._rows(docs)

    def member_feed(self, member_id: str) -> Feed:
        """The member's loans and their status, live."""
        return Feed(Query(LOANS).where("member_id", "==", member_id))

    def for_member(self, member_id: str) -> list[LoanRow]:
        docs = self.ctx.store.query(Query(LOANS).where("member_id", "==", member_id))
        docs.sort(key=_applied_order)
        return self._rows(docs)

    def _rows(self, docs: list[Document]) -> list[LoanRow]:
        members = self.ctx.store.get_many(MEMBERS, {d.data["member_id"] for d in docs})
        today = self.ctx.clock.today()
        return [_loan_row(d, members.get(d.data["member_id"]), today) for d in docs]

    @reads(topics.LOANS, topics.MEMBERS)
    def detail(self, loan_id: str) -> LoanDetail:
        doc = self.get(loan_id)
        d = doc.data
        member = self.ctx.store.get(MEMBERS, d["member_id"])
        row = _loan_row(doc, member, self.ctx.clock.today())
        score = d.get("score") or {}
        return LoanDetail(
            row=row,
            purpose=d["purpose"],
            flat_quote=d.get("flat_quote"),
            factors=list(score.get("factors", [])),
            reasons=list(d.get("eligibility_reasons", [])),
            precheck=d.get("precheck"),
            schedule=[ScheduleRow(**r) for r in schedule_of(d)],
            outstanding_principal=d.get("outstanding_principal", d["amount"]),
            paid_principal=d.get("paid_principal", 0),
            paid_interest=d.get("paid_interest", 0),
            history=_history(d),
            data=d,
        )

    def portfolio(self) -> Portfolio:
        """PAR30, PAR90, provisions and buckets of the disbursed book, as of today."""
        today = self.ctx.clock.today()
        docs = self.ctx.store.query(Query(LOANS).where("status", "==", DISBURSED))
        book = [
            credit.LoanExposure(d.id, d.data["outstanding_principal"], loan_dpd(d.data, today))
            for d in docs
        ]
        by_bucket: dict[str, int] = {}
        for loan in book:
            name = credit.bucket(loan.dpd)
            by_bucket[name] = by_bucket.get(name, 0) + loan.outstanding_principal
        return Portfolio(
            as_of=today,
            loans=len(book),
            outstanding=sum(x.outstanding_principal for x in book),
            par30=credit.par(book, 30),
            par90=credit.par(book, 90),
            provisions=credit.provisions(book),
            by_bucket=by_bucket,
        )


def _applied_order(doc: Document) -> tuple[str, int, str]:
    """Oldest application first; one moment's applications by loan number."""
    return doc.data["applied_at"], doc.data.get("number") or 0, doc.id


def _loan_row(doc: Document, member: Document | None, today: date) -> LoanRow:
    d = doc.data
    score = d.get("score") or {}
    dpd = loan_dpd(d, today)
    return LoanRow(
        loan_id=doc.id,
        member_id=d["member_id"],
        member_name=member.data.get("name", "") if member else "(unknown member)",
        phone_masked=member.data.get("phone_masked", "") if member else "",
        amount=d["amount"],
        tenure_months=d["tenure_months"],
        rate_bps=d["rate_bps"],
        emi=d["emi"],
        score=score.get("total"),
        eligibility=d.get("eligibility"),
        status=d["status"],
        applied_at=d["applied_at"],
        dpd=dpd,
        bucket=credit.bucket(dpd),
        outstanding=d.get("outstanding_principal", 0) if d["status"] in LENT else 0,
        number=d.get("number"),
    )


def _history(d: dict[str, Any]) -> list[dict[str, Any]]:
    """Who did what to the loan, in order (from the loan's own fields)."""
    steps = (
        ("applied", "applied_by", "applied_at", "purpose"),
        ("scored", "scored_by", "scored_at", None),
        ("recommended", "recommended_by", "recommended_at", "recommend_note"),
        ("approved", "approved_by", "approved_at", "approve_note"),
        ("rejected", "rejected_by", "rejected_at", "reject_reason"),
        ("disbursed", "disbursed_by", "disbursed_at", None),
    )
    return [
        {"step": step, "by": d[by], "at": d[at], "note": d.get(note) if note else ""}
        for step, by, at, note in steps
        if d.get(at)
    ]
