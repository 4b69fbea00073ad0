"""The tables of a chit group's pages: groups being formed, enrolment candidates, its
tickets, its period table, its defaulters and its payouts; and exporting the ticket list.

Each is declared with :mod:`app.views.table` over a row of the groups service's read
models (:mod:`app.services.group_book`); the figures come from the services as they are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QFileDialog, QHeaderView, QTableView, QWidget

from app.kernel import office_time
from app.kernel.files import write_durably
from app.services.group_book import Candidate, DefaulterLine, PayoutLine, PeriodLine, TicketLine
from app.services.groups import Group
from app.services.registry import Services
from app.views import worker
from app.views.formatting import BAD, GOOD, MUTED, WARN, inr, status_text, when
from app.views.table import Column, RowsModel

KYC_WORDS = {"none": "Not submitted", "pending": "Pending", "approved": "Approved"}


def _kyc(status: str) -> str:
    return KYC_WORDS.get(status, status_text(status))


def _money(paise: int | None) -> str:
    return "–" if paise is None else inr(paise)


def _forming_stage(g: Group) -> str:
    if g.awaiting_approval:
        return "Needs approval"
    return "Full: start it" if g.is_full else f"{g.tickets_issued} of {g.members} taken"


class FormingModel(RowsModel[Group]):
    """Groups being formed: what each waits for."""

    columns = (
        Column[Group](
            "Group", lambda g: g.name, tip=lambda g: f"{g.name}\n{g.registration_no} · {g.id}"
        ),
        Column[Group](
            "Stage",
            _forming_stage,
            lambda g: (not g.awaiting_approval, g.tickets_issued),
            colour=lambda g: WARN if g.awaiting_approval else (GOOD if g.is_full else None),
            tip=lambda g: g.stage,
        ),
    )


def _can_join(c: Candidate) -> str:
    if not c.can_enrol:
        return c.why_not
    return "Yes" if c.kyc_status == "approved" else "Yes; collect KYC before the agreement"


def _can_join_colour(c: Candidate) -> QColor:
    if not c.can_enrol:
        return MUTED
    return GOOD if c.kyc_status == "approved" else WARN


class CandidatesModel(RowsModel[Candidate]):
    """Members found for the next ticket."""

    columns = (
        Column[Candidate]("Member", lambda c: c.name, tip=lambda c: c.member_id),
        Column[Candidate]("Mobile", lambda c: c.phone_masked),
        Column[Candidate]("KYC", lambda c: _kyc(c.kyc_status)),
        Column[Candidate](
            "Can join", _can_join, colour=_can_join_colour, tip=lambda c: c.why_not or None
        ),
    )


class TicketsModel(RowsModel[TicketLine]):
    """The group's tickets in number order."""

    MONEY_COLUMNS = (5, 6, 7)

    columns = (
        Column[TicketLine]("Ticket", lambda t: str(t.ticket_no), lambda t: t.ticket_no, right=True),
        Column[TicketLine]("Member", lambda t: t.name, tip=lambda t: t.member_id),
        Column[TicketLine]("Mobile", lambda t: t.phone_masked),
        Column[TicketLine]("KYC", lambda t: _kyc(t.kyc_status)),
        Column[TicketLine]("Enrolled", lambda t: when(t.enrolled_at), lambda t: t.enrolled_at),
        Column[TicketLine](
            "Prized in",
            lambda t: f"Period {t.prized_period}" if t.prized_period else "–",
            lambda t: t.prized_period or 0,
        ),
        Column[TicketLine](
            "Outstanding", lambda t: inr(t.outstanding), lambda t: t.outstanding, right=True
        ),
        Column[TicketLine](
            "Overdue",
            lambda t: inr(t.overdue) if t.overdue else "–",
            lambda t: t.overdue,
            right=True,
            colour=lambda t: BAD if t.overdue else None,
        ),
    )


def _payout_status(p: PayoutLine) -> str:
    deducted = " (future instalments deducted)" if p.payout.deduct_future else ""
    return status_text(p.payout.status) + deducted


def _payout_colour(p: PayoutLine) -> QColor | None:
    return GOOD if p.payout.status == "released" else WARN


def _draw_day(p: PeriodLine) -> str:
    """The day of the draw in the office's zone (the scheduled day until it is drawn)."""
    return office_time.day(p.drawn_at) if p.drawn_at else when(p.auction_date.isoformat())


def _collected(p: PeriodLine) -> str:
    if not p.settled:
        return "–"
    return f"{_money(p.collected)} of {_money(p.expected)}"


def _collected_colour(p: PeriodLine) -> QColor | None:
    if not p.settled:
        return None
    return GOOD if p.short <= 0 else BAD


class PeriodsModel(RowsModel[PeriodLine]):
    """Every period: its draw, winner, discount, dividend and collections against dues."""

    columns = (
        Column[PeriodLine]("Period", lambda p: str(p.period), lambda p: p.period, right=True),
        Column[PeriodLine](
            "Auction date",
            _draw_day,
            lambda p: p.auction_date,
            tip=lambda p: (
                f"Drawn {when(p.drawn_at)}; scheduled for {when(p.auction_date.isoformat())}"
                if p.drawn_at
                else f"Scheduled for {when(p.auction_date.isoformat())}"
            ),
        ),
        Column[PeriodLine](
            "Winner",
            lambda p: p.winner or ("Not drawn yet" if not p.settled else "–"),
            colour=lambda p: None if p.settled else MUTED,
            tip=lambda p: f"Decided by {p.decided_by}" if p.decided_by else None,
        ),
        Column[PeriodLine]("Discount", lambda p: _money(p.discount), right=True),
        Column[PeriodLine]("Prize", lambda p: _money(p.prize), right=True),
        Column[PeriodLine]("Dividend / member", lambda p: _money(p.dividend), right=True),
        Column[PeriodLine]("Net instalment", lambda p: _money(p.net_instalment), right=True),
        Column[PeriodLine](
            "Collected of due",
            _collected,
            lambda p: p.short,
            right=True,
            colour=_collected_colour,
            tip=lambda p: (
                f"{p.paid_count} of {p.members} paid in full; due by {when(p.due_date)}"
                if p.settled
                else None
            ),
        ),
    )


class DefaultersModel(RowsModel[DefaulterLine]):
    """Members with instalments overdue, the largest sum first."""

    columns = (
        Column[DefaulterLine]("Member", lambda d: d.name, tip=lambda d: d.member_id),
        Column[DefaulterLine](
            "Ticket", lambda d: str(d.ticket_no or "–"), lambda d: d.ticket_no or 0, right=True
        ),
        Column[DefaulterLine](
            "Periods", lambda d: ", ".join(map(str, d.periods)), lambda d: len(d.periods)
        ),
        Column[DefaulterLine](
            "Overdue",
            lambda d: inr(d.overdue),
            lambda d: d.overdue,
            right=True,
            colour=lambda d: BAD,
        ),
        Column[DefaulterLine]("Oldest due", lambda d: when(d.oldest_due), lambda d: d.oldest_due),
        Column[DefaulterLine](
            "Days late", lambda d: str(d.days_late), lambda d: d.days_late, right=True
        ),
        Column[DefaulterLine]("Prized", lambda d: "Yes" if d.prized else "No"),
    )


class GroupPayoutsModel(RowsModel[PayoutLine]):
    """The group's prize payouts by period."""

    columns = (
        Column[PayoutLine](
            "Period", lambda p: str(p.payout.period), lambda p: p.payout.period, right=True
        ),
        Column[PayoutLine]("Winner", lambda p: p.winner, tip=lambda p: p.payout.member_id),
        Column[PayoutLine](
            "Prize", lambda p: inr(p.payout.amount), lambda p: p.payout.amount, right=True
        ),
        Column[PayoutLine]("Status", _payout_status, colour=_payout_colour),
        Column[PayoutLine](
            "Pay by", lambda p: when(p.payout.deadline), lambda p: p.payout.deadline
        ),
        Column[PayoutLine](
            "Security",
            lambda p: inr(p.payout.security_held),
            lambda p: p.payout.security_held,
            right=True,
        ),
        Column[PayoutLine]("Released", lambda p: when(p.payout.released_at) or "–"),
    )


def table(model: RowsModel[Any], stretch: int = 1) -> QTableView:
    """A read-only table of ``model`` the way the group pages show them."""
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setShowGrid(False)
    view.setWordWrap(False)
    view.verticalHeader().hide()
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    return view


def ask_export(parent: QWidget, services: Services, group: Group) -> None:
    """Ask where to save ``group``'s ticket list (CSV), then write it off the GUI thread."""
    slug = "".join(ch if ch.isalnum() else "-" for ch in group.name.lower()).strip("-")
    path, _ = QFileDialog.getSaveFileName(
        parent, "Export the ticket list", f"tickets-{slug}.csv", "CSV files (*.csv)"
    )
    if path:
        export(parent, services, group.id, Path(path))


def export(parent: QWidget, services: Services, group_id: str, path: Path) -> None:
    """Write the ticket list of ``group_id`` to ``path`` (CSV) off the GUI thread."""
    groups = services.groups

    def write() -> Path:
        write_durably(path, groups.ticket_list_csv(group_id).encode("utf-8"))
        return path

    worker.run(write, lambda done: _exported(parent, done), parent=parent)


def _exported(parent: QWidget, path: Path) -> None:
    note = getattr(parent, "note", None)
    if callable(note):
        note(f"Ticket list saved to {path}.")
