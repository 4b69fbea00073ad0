"""A chit group's book, as its page and its ledger report show it: the tickets, the
period table, the defaulters and the prize payouts.

One read of the services that own the figures (members, ledger, auctions, the Banker's
gate), shared by :meth:`app.services.groups.GroupService.detail` (the desktop's group
page) and the ``group-ledger`` report, so both show the same numbers.

Definitions:

* **Period table**: every period 1..N with its scheduled draw date; a settled period
  adds the draw's date, the winner, the discount, the dividend per member
  ((discount − commission) ÷ N, rounded half-up), the net instalment, and what its dues
  collected against what they asked for.
* **Defaulters**: members with any instalment overdue (due before today and not paid
  in full), the Chit Funds Act's defaulting subscribers (they may not bid); the same
  set the group's health counts.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from app.kernel import office_time
from app.kernel.errors import NotFound
from app.services.groups import FORMING, Group, Ticket

if TYPE_CHECKING:
    from app.services.auctions import AuctionService
    from app.services.gate import BankersGate, Payout
    from app.services.ledger import Due, LedgerService, PeriodCollections
    from app.services.members import Member, MemberService


@dataclass(frozen=True)
class TicketLine:
    """One ticket of the group, with what its holder owes (paise)."""

    ticket_no: int
    member_id: str
    name: str
    phone_masked: str
    kyc_status: str
    enrolled_at: str
    prized_period: int | None
    security_held: int | None
    """Security recorded for the holder's prize (None before a prize)."""
    outstanding: int
    overdue: int


@dataclass(frozen=True)
class PeriodLine:
    """One period: its scheduled draw, and once settled its outcome and collections."""

    period: int
    auction_date: date
    drawn_at: str | None = None
    winner_id: str | None = None
    winner: str = ""
    decided_by: str = ""
    discount: int | None = None
    prize: int | None = None
    dividend: int | None = None
    net_instalment: int | None = None
    due_date: str | None = None
    expected: int | None = None
    collected: int | None = None
    paid_count: int | None = None
    members: int = 0
    collections: PeriodCollections | None = None
    """The ledger's summary of the period (commission, residue ...), once settled."""

    @property
    def settled(self) -> bool:
        return self.collections is not None

    @property
    def short(self) -> int:
        """What the period's dues still lack (0 before it is settled)."""
        return (self.expected or 0) - (self.collected or 0)


@dataclass(frozen=True)
class DefaulterLine:
    """A member with instalments overdue in the group."""

    member_id: str
    name: str
    ticket_no: int | None
    prized: bool
    periods: list[int]
    overdue: int
    oldest_due: str
    days_late: int


@dataclass(frozen=True)
class Candidate:
    """A member found for a group's next ticket, and whether they can take it."""

    member_id: str
    name: str
    phone_masked: str
    kyc_status: str
    ticket_no: int | None
    """Their ticket in this group, if they hold one already."""
    can_enrol: bool
    why_not: str


@dataclass(frozen=True)
class PayoutLine:
    """A prize payout with its winner's name."""

    payout: Payout
    winner: str


@dataclass(frozen=True)
class GroupBook:
    """Everything a group's page and its ledger report show beyond its terms."""

    group: Group
    tickets: list[TicketLine]
    periods: list[PeriodLine]
    defaulters: list[DefaulterLine]
    payouts: list[Payout]
    open_dues: list[Due]
    pool: int
    people: dict[str, str]
    """Member id -> name, for every ticket holder and the foreman."""

    def name(self, member_id: str | None) -> str:
        return self.people.get(member_id or "", member_id or "—")

    @property
    def settled(self) -> list[PeriodLine]:
        return [p for p in self.periods if p.settled]

    @property
    def overdue(self) -> int:
        return sum(d.overdue for d in self.defaulters)

    @property
    def payout_lines(self) -> list[PayoutLine]:
        return [PayoutLine(p, self.name(p.member_id)) for p in self.payouts]


@dataclass(frozen=True)
class GroupSources:
    """The services a group's book reads (wired once by the registry)."""

    members: MemberService
    ledger: LedgerService
    auctions: AuctionService
    gate: BankersGate

    def book(self, group: Group, tickets: list[Ticket], today: date) -> GroupBook:
        """``group``'s book as of ``today`` (``tickets``: its tickets, by number)."""
        people = self._people(group, tickets)
        payouts = self.gate.payouts(group_id=group.id)
        open_dues = self.ledger.open_dues(group.id)
        late = [d for d in open_dues if d.due_date < today.isoformat()]
        by_period = {p.period: p for p in payouts}
        names = {m: x.name for m, x in people.items()}
        return GroupBook(
            group=group,
            tickets=[_ticket_line(t, people, by_period, open_dues, late) for t in tickets],
            periods=self._periods(group, names),
            defaulters=_defaulters(late, tickets, names, today),
            payouts=payouts,
            open_dues=open_dues,
            pool=self.ledger.pool(group.id),
            people=names,
        )

    def _people(self, group: Group, tickets: list[Ticket]) -> dict[str, Member]:
        ids = [t.member_id for t in tickets] + [group.foreman_member_id or ""]
        return self.members.get_many([i for i in dict.fromkeys(ids) if i])

    def _periods(self, group: Group, names: dict[str, str]) -> list[PeriodLine]:
        minutes = {
            a.period: self.auctions.minutes(a.id)
            for a in self.auctions.list_auctions(group.id)
            if a.status == "closed"
        }
        lines = []
        for period in range(1, group.members + 1):
            scheduled = group.auction_date(period)
            summary = self._collections(group.id, period) if period <= group.periods_done else None
            if summary is None:
                lines.append(PeriodLine(period, scheduled, members=group.members))
                continue
            lines.append(_settled_line(group, summary, scheduled, minutes.get(period, {}), names))
        return lines

    def _collections(self, group_id: str, period: int) -> PeriodCollections | None:
        try:
            return self.ledger.period_collections(group_id, period)
        except NotFound:
            return None

    def candidates(
        self, group: Group, tickets: list[Ticket], text: str, limit: int
    ) -> list[Candidate]:
        """Members matching ``text`` for ``group``'s next ticket."""
        held = {t.member_id: t.ticket_no for t in tickets}
        closed = group.status != FORMING or group.is_full or group.awaiting_approval
        found = self.members.search(text, limit=limit)
        return [_candidate(m, held.get(m.id), closed, group) for m in found]

    def ticket_list_csv(self, group: Group, tickets: list[Ticket]) -> str:
        """The ticket list as CSV: a title line, the registration, then one row a ticket."""
        people = self._people(group, tickets)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([f"Ticket list of {group.name} ({group.id})"])
        writer.writerow(["Registration (sanction) number", group.registration_no or ""])
        writer.writerow(["Ticket", "Member id", "Name", "Mobile", "KYC", "Enrolled"])
        for t in tickets:
            m = people.get(t.member_id)
            row = [t.ticket_no, t.member_id, m.name if m else "", m.phone_masked if m else ""]
            writer.writerow([*row, m.kyc_status if m else "", office_time.shown(t.enrolled_at)])
        return out.getvalue()


def _candidate(member: Member, ticket_no: int | None, closed: bool, group: Group) -> Candidate:
    why = ""
    if ticket_no is not None:
        why = f"Holds ticket {ticket_no} already."
    elif member.status != "active":
        why = "Removed from the register."
    elif closed:
        why = group.stage
    return Candidate(
        member.id, member.name, member.phone_masked, member.kyc_status, ticket_no, not why, why
    )


def _ticket_line(
    ticket: Ticket,
    people: dict[str, Member],
    payouts: dict[int, Payout],
    open_dues: list[Due],
    late: list[Due],
) -> TicketLine:
    member = people.get(ticket.member_id)
    payout = payouts.get(ticket.prized_period or 0)
    return TicketLine(
        ticket_no=ticket.ticket_no,
        member_id=ticket.member_id,
        name=member.name if member else ticket.member_id,
        phone_masked=member.phone_masked if member else "",
        kyc_status=member.kyc_status if member else "",
        enrolled_at=ticket.enrolled_at,
        prized_period=ticket.prized_period,
        security_held=payout.security_held if payout else None,
        outstanding=sum(d.outstanding for d in open_dues if d.member_id == ticket.member_id),
        overdue=sum(d.outstanding for d in late if d.member_id == ticket.member_id),
    )


def _settled_line(
    group: Group,
    summary: PeriodCollections,
    scheduled: date,
    minutes: dict[str, Any],
    names: dict[str, str],
) -> PeriodLine:
    winner = minutes.get("winner_member_id")
    return PeriodLine(
        period=summary.period,
        auction_date=scheduled,
        drawn_at=minutes.get("ended_at"),
        winner_id=winner,
        winner=names.get(winner or "", winner or ""),
        decided_by=str(minutes.get("decided_by", "")),
        discount=minutes.get("discount", group.agreement.gross_paise - summary.prize),
        prize=summary.prize,
        dividend=group.agreement.instalment_paise - summary.net,
        net_instalment=summary.net,
        due_date=summary.due_date,
        expected=summary.expected,
        collected=summary.collected,
        paid_count=summary.paid_count,
        members=summary.members,
        collections=summary,
    )


def _defaulters(
    late: list[Due], tickets: list[Ticket], names: dict[str, str], today: date
) -> list[DefaulterLine]:
    by_member: dict[str, list[Due]] = defaultdict(list)
    for due in late:
        by_member[due.member_id].append(due)
    numbers = {t.member_id: t for t in tickets}
    lines = []
    for member_id, dues in by_member.items():
        ticket = numbers.get(member_id)
        oldest = min(d.due_date for d in dues)
        lines.append(
            DefaulterLine(
                member_id=member_id,
                name=names.get(member_id, member_id),
                ticket_no=ticket.ticket_no if ticket else None,
                prized=bool(ticket and ticket.prized),
                periods=sorted(d.period for d in dues),
                overdue=sum(d.outstanding for d in dues),
                oldest_due=oldest,
                days_late=(today - date.fromisoformat(oldest)).days,
            )
        )
    return sorted(lines, key=lambda d: (-d.overdue, d.name))
