"""The member profile's tables: one model per section (tickets, dues, receipts, prizes
and payouts, loans, recovery cases, KYC documents, agreements, the timeline), each
declared with :class:`~app.views.table.Column`; rows are the profile read model's parts,
with what a column needs beside them (the group's name, today's date)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from PySide6.QtGui import QColor

from app.services.agreements import Signature
from app.services.gate import Payout
from app.services.kyc import StoredDocument
from app.services.ledger import Due, ReceiptEntry
from app.services.ledger.records import BOUNCED
from app.services.loans import LoanRow
from app.services.member_profile import Happening, TicketDues
from app.services.recovery import Case
from app.views import formatting
from app.views.counter_tables import cheque_colour, cheque_state
from app.views.formatting import (
    BAD,
    GOOD,
    MUTED,
    WARN,
    file_size,
    inr,
    status_colour,
    status_text,
    when,
)
from app.views.table import Column, RowsModel


def day(value: str | None) -> str:
    """The day of a date or a timestamp in the office (``03 Dec 2026``); a dash for none.
    A timestamp's own date is UTC's, a day early in India after 18:30 UTC."""
    return formatting.day(value) or "—"


def money(paise: int | None) -> str:
    return inr(paise) if paise else "—"


def counted(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


# -- tickets and dues --------------------------------------------------------------------


@dataclass(frozen=True)
class TicketRow:
    ticket: TicketDues
    overdue: int


def _agreement(s: Signature | None) -> str:
    if s is None:
        return "Not signed"
    return f"Signed {day(s.signed_at)}" + ("" if s.current else " (terms changed since)")


class ProfileTicketsModel(RowsModel[TicketRow]):
    columns = (
        Column[TicketRow]("Group", lambda r: r.ticket.group.name, tip=lambda r: r.ticket.group.id),
        Column[TicketRow]("Ticket", lambda r: str(r.ticket.ticket.ticket_no), right=True),
        Column[TicketRow](
            "Prized",
            lambda r: f"Period {r.ticket.ticket.prized_period}" if r.ticket.ticket.prized else "—",
        ),
        Column[TicketRow]("Owes", lambda r: money(r.ticket.owed), right=True),
        Column[TicketRow](
            "Overdue",
            lambda r: money(r.overdue),
            right=True,
            colour=lambda r: BAD if r.overdue else MUTED,
        ),
        Column[TicketRow](
            "Agreement",
            lambda r: _agreement(r.ticket.signed),
            colour=lambda r: GOOD if r.ticket.signed else WARN,
        ),
    )


@dataclass(frozen=True)
class DueRow:
    group: str
    due: Due
    today: date

    @property
    def state(self) -> tuple[str, QColor | None]:
        d = self.due
        if d.outstanding <= 0:
            return f"Paid {day(d.paid_at)}" if d.paid_at else "Paid", GOOD
        late = d.days_late(self.today)
        if late:
            return f"{late} days late", BAD
        return ("Part paid", WARN) if d.paid else ("Due", None)


class ProfileDuesModel(RowsModel[DueRow]):
    columns = (
        Column[DueRow]("Group", lambda r: r.group),
        Column[DueRow]("Period", lambda r: str(r.due.period), right=True),
        Column[DueRow]("Due by", lambda r: day(r.due.due_date)),
        Column[DueRow]("Instalment", lambda r: inr(r.due.net), right=True),
        Column[DueRow]("Paid", lambda r: money(r.due.paid), right=True),
        Column[DueRow]("Outstanding", lambda r: money(r.due.outstanding), right=True),
        Column[DueRow](
            "Status",
            lambda r: r.state[0],
            colour=lambda r: r.state[1],
            tip=lambda r: ", ".join(r.due.bank_refs) or None,
        ),
    )


# -- money in and out ------------------------------------------------------------------


@dataclass(frozen=True)
class ReceiptRow:
    receipt: ReceiptEntry
    what: str


_BOUNCED = "The bank returned it: its posting was reversed and the instalment is due again."


class ProfileReceiptsModel(RowsModel[ReceiptRow]):
    columns = (
        Column[ReceiptRow]("Received", lambda r: day(r.receipt.received_on)),
        Column[ReceiptRow]("Receipt no.", lambda r: r.receipt.number or "—"),
        Column[ReceiptRow]("For", lambda r: r.what),
        Column[ReceiptRow]("Mode", lambda r: r.receipt.mode_label),
        Column[ReceiptRow]("Reference", lambda r: r.receipt.bank_ref),
        Column[ReceiptRow]("Amount", lambda r: inr(r.receipt.amount), right=True),
        Column[ReceiptRow](
            "Cheque",
            lambda r: cheque_state(r.receipt),
            colour=lambda r: cheque_colour(r.receipt),
            tip=lambda r: _BOUNCED if r.receipt.cheque_state == BOUNCED else None,
        ),
    )


@dataclass(frozen=True)
class PayoutRow:
    payout: Payout
    group: str


class ProfilePayoutsModel(RowsModel[PayoutRow]):
    columns = (
        Column[PayoutRow]("Group", lambda r: r.group),
        Column[PayoutRow]("Period", lambda r: str(r.payout.period), right=True),
        Column[PayoutRow]("Prize", lambda r: inr(r.payout.amount), right=True),
        Column[PayoutRow](
            "Status",
            lambda r: r.payout.status.capitalize(),
            colour=lambda r: GOOD if r.payout.status == "released" else WARN,
        ),
        Column[PayoutRow]("Pay by", lambda r: day(r.payout.deadline)),
        Column[PayoutRow]("Paid", lambda r: money(r.payout.paid), right=True),
        Column[PayoutRow]("Released", lambda r: day(r.payout.released_at)),
        Column[PayoutRow]("Reference", lambda r: r.payout.bank_ref or "—"),
    )


class ProfileLoansModel(RowsModel[LoanRow]):
    columns = (
        Column[LoanRow]("Loan", lambda r: r.loan_no, tip=lambda r: f"Loan id {r.loan_id}"),
        Column[LoanRow]("Applied", lambda r: day(r.applied_at)),
        Column[LoanRow](
            "Status", lambda r: status_text(r.status), colour=lambda r: status_colour(r.status)
        ),
        Column[LoanRow]("Principal", lambda r: inr(r.amount), right=True),
        Column[LoanRow]("EMI", lambda r: f"{r.tenure_months} × {inr(r.emi)}", right=True),
        Column[LoanRow]("Outstanding", lambda r: money(r.outstanding), right=True),
        Column[LoanRow](
            "Days past due",
            lambda r: f"{r.dpd} · {r.bucket}" if r.dpd else "—",
            right=True,
            colour=lambda r: BAD if r.dpd else None,
        ),
    )


@dataclass(frozen=True)
class CaseRow:
    case: Case
    subject: str


class ProfileCasesModel(RowsModel[CaseRow]):
    columns = (
        Column[CaseRow]("For", lambda r: r.subject),
        Column[CaseRow]("Stage", lambda r: r.case.stage.replace("_", " ").capitalize()),
        Column[CaseRow](
            "Overdue",
            lambda r: money(r.case.overdue) if r.case.is_open else "—",
            right=True,
            colour=lambda r: BAD if r.case.is_open and r.case.overdue else MUTED,
        ),
        Column[CaseRow](
            "Days late",
            lambda r: str(r.case.days_late) if r.case.is_open else "—",
            right=True,
        ),
        Column[CaseRow]("Opened", lambda r: day(r.case.opened_at)),
        Column[CaseRow]("Closed", lambda r: day(r.case.closed_at)),
    )


# -- KYC, agreements, timeline ------------------------------------------------------------


class ProfileDocumentsModel(RowsModel[StoredDocument]):
    columns = (
        Column[StoredDocument]("Document", lambda d: d.name),
        Column[StoredDocument]("Type", lambda d: d.content_type),
        Column[StoredDocument]("Size", lambda d: file_size(d.size), right=True),
        Column[StoredDocument]("SHA-256", lambda d: d.sha256[:16] + "…", tip=lambda d: d.sha256),
    )


@dataclass(frozen=True)
class AgreementRow:
    group: str
    signature: Signature


class ProfileAgreementsModel(RowsModel[AgreementRow]):
    columns = (
        Column[AgreementRow]("Group", lambda r: r.group),
        Column[AgreementRow]("Signed", lambda r: when(r.signature.signed_at)),
        Column[AgreementRow](
            "Terms",
            lambda r: "As signed" if r.signature.current else "Changed since signing",
            colour=lambda r: GOOD if r.signature.current else WARN,
        ),
        Column[AgreementRow](
            "Text SHA-256",
            lambda r: r.signature.text_sha256[:16] + "…",
            tip=lambda r: r.signature.text_sha256,
        ),
    )


class ProfileTimelineModel(RowsModel[Happening]):
    columns = (
        Column[Happening]("When", lambda h: when(h.at)),
        Column[Happening]("What", lambda h: h.what, tip=lambda h: h.what),
        Column[Happening]("Amount", lambda h: money(h.amount), right=True),
    )
