"""A member's profile: everything about one person, in one read model.

:meth:`MemberProfiles.profile` assembles what the desktop's member page shows, and what
a web page could show the same way: the member's details (number, masked mobile,
address, nominee), KYC state and documents, each ticket with its dues, the receipts
taken, prizes and payouts, loans, recovery cases, the agreements signed, and a timeline
of all of it, newest first. It reads through the services that own each part and names
the topics it depends on. Personal numbers appear masked only.

Sending the member a sign-in code for the web view goes through
:meth:`~app.services.otp.OtpService.issue_code` (see :meth:`MemberProfiles.send_sign_in_code`):
staff never see the member's number in clear.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import date
from typing import Any

from app.services import topics
from app.services.actors import Actor
from app.services.agreements import AgreementService, Signature
from app.services.collections import RECEIPTS
from app.services.context import ServiceContext
from app.services.gate import BankersGate, Payout
from app.services.groups import Group, GroupService, Ticket
from app.services.kyc import KycRecord, KycService
from app.services.ledger import Due, LedgerService, ReceiptEntry, TimelineItem
from app.services.ledger.records import receipt_entries
from app.services.loans import STATUSES, LoanRow, LoanService
from app.services.member_register import Late, late_by_member
from app.services.members import Member, MemberService
from app.services.otp import IssuedCode, OtpService
from app.services.recovery import Case, RecoveryService
from app.services.store import Query
from app.services.topics import reads

KYC_WORDS = {"pending": "submitted", "approved": "approved", "rejected": "rejected"}
LEDGER_WORDS = {
    "instalment_due": "Instalment due",
    "discount_share": "Dividend credited",
    "instalment_paid": "Instalment paid",
    "penalty_charged": "Penalty charged",
    "penalty_paid": "Penalty paid",
    "prize_paid": "Prize paid out",
    "loan_disbursed": "Loan disbursed",
    "emi_paid": "EMI paid",
}


@dataclass(frozen=True)
class TicketDues:
    """One of the member's tickets, with the member's dues in that group."""

    ticket: Ticket
    group: Group
    dues: list[Due]
    signed: Signature | None

    @property
    def owed(self) -> int:
        return sum(d.outstanding for d in self.dues)

    def overdue(self, today: date) -> int:
        return sum(d.outstanding for d in self.dues if d.days_late(today) > 0)


@dataclass(frozen=True)
class Happening:
    """One line of the timeline: when (an ISO date or time), what, and any amount."""

    at: str
    what: str
    amount: int | None = None


@dataclass(frozen=True)
class MemberProfile:
    """Everything about one member, as of ``as_of`` (see module docstring)."""

    member: Member
    as_of: date
    kyc: KycRecord | None
    tickets: list[TicketDues]
    receipts: list[ReceiptEntry]
    payouts: list[Payout]
    loans: list[LoanRow]
    cases: list[Case]
    late: Late
    timeline: list[Happening]
    group_names: dict[str, str]

    @property
    def owed(self) -> int:
        """Instalments raised and not yet paid, in every group."""
        return sum(t.owed for t in self.tickets)

    @property
    def late_instalments(self) -> int:
        """The part of ``late`` that is chit instalments (the rest is loan EMIs)."""
        return sum(t.overdue(self.as_of) for t in self.tickets)

    @property
    def late_what(self) -> str:
        """What is late, in words: "instalments", "EMIs", both, or "" when nothing is."""
        if not self.late.amount:
            return ""
        chits = self.late_instalments
        if chits == self.late.amount:
            return "instalments"
        return "EMIs" if chits == 0 else "instalments and EMIs"

    @property
    def loans_outstanding(self) -> int:
        return sum(loan.outstanding for loan in self.loans)

    @property
    def open_cases(self) -> int:
        return sum(case.is_open for case in self.cases)

    @property
    def agreements(self) -> list[TicketDues]:
        """The tickets whose group agreement the member has signed."""
        return [t for t in self.tickets if t.signed is not None]

    def group_name(self, group_id: str | None) -> str:
        return self.group_names.get(group_id or "", group_id or "")

    def loan_no(self, loan_id: str | None) -> str:
        """The member's loan ``loan_id`` as people name it (``L-0042``)."""
        row = next((loan for loan in self.loans if loan.loan_id == loan_id), None)
        return row.loan_no if row is not None else loan_id or ""


@dataclass(frozen=True)
class ProfileSources:
    """The services a profile reads."""

    members: MemberService
    kyc: KycService
    groups: GroupService
    ledger: LedgerService
    gate: BankersGate
    loans: LoanService
    recovery: RecoveryService
    agreements: AgreementService
    otp: OtpService

    @classmethod
    def of(cls, services: Any) -> ProfileSources:
        """The sources among ``services`` (a :class:`~app.services.registry.Services`)."""
        return cls(**{f.name: getattr(services, f.name) for f in fields(cls)})


class MemberProfiles:
    """Reads members' profiles; sends a member a sign-in code from their profile."""

    def __init__(self, ctx: ServiceContext, parts: ProfileSources) -> None:
        self.ctx = ctx
        self.parts = parts

    @reads(
        topics.MEMBERS,
        topics.KYC,
        topics.GROUPS,
        topics.AGREEMENTS,
        topics.AUCTIONS,
        topics.LEDGER,
        topics.DUES,
        topics.LOANS,
        topics.GATE,
        topics.RECOVERY,
    )
    def profile(self, member_id: str) -> MemberProfile:
        """Everything about the member ``member_id``.

        Raises:
            NotFound: no such member.
        """
        p, today = self.parts, self.ctx.clock.today()
        member = p.members.get(member_id)
        tickets = self._tickets(member_id)
        names = {t.group.id: t.group.name for t in tickets}
        cases = p.recovery.cases(member_id=member_id)
        names.update(self._names(c.ref for c in cases if c.source == "dues" and c.ref not in names))
        made = MemberProfile(
            member=member,
            as_of=today,
            kyc=p.kyc.find(member_id),
            tickets=tickets,
            receipts=self._receipts(member_id),
            payouts=p.gate.payouts(member_id=member_id),
            loans=p.loans.for_member(member_id),
            cases=cases,
            late=late_by_member(self.ctx.store, [member_id], today)[member_id],
            timeline=[],
            group_names=names,
        )
        return replace(made, timeline=timeline(made, p.ledger.member_timeline(member_id)))

    def _tickets(self, member_id: str) -> list[TicketDues]:
        p = self.parts
        dues = p.ledger.dues_for(member_id)
        found = []
        for ticket in p.groups.member_tickets(member_id):
            group = p.groups.get_group(ticket.group_id)
            mine = [d for d in dues if d.group_id == group.id]
            signed = p.agreements.signature(group.id, member_id)
            found.append(TicketDues(ticket, group, mine, signed))
        return sorted(found, key=lambda t: (t.group.name.casefold(), t.ticket.ticket_no))

    def _names(self, group_ids: Iterable[str]) -> dict[str, str]:
        return {gid: self.parts.groups.get_group(gid).name for gid in set(group_ids)}

    def _receipts(self, member_id: str) -> list[ReceiptEntry]:
        query = Query(RECEIPTS).where("member_id", "==", member_id)
        found = receipt_entries(self.ctx.store, self.ctx.store.stream(query))
        return sorted(found, key=lambda r: (r.received_on, r.recorded_at), reverse=True)

    def example(self) -> str | None:
        """The member whose profile shows the most (for screenshots): a prize, a loan,
        a recovery case, receipts, and the most tickets; None when there are no members."""
        p = self.parts
        score: defaultdict[str, int] = defaultdict(int)
        for member_id in {x.member_id for x in p.gate.payouts()}:
            score[member_id] += 12  # a prize weighs a little more: the rarest part
        for kind in (
            {row.member_id for row in p.loans.inbox(STATUSES)},
            {case.member_id for case in p.recovery.cases()},
            {doc.data["member_id"] for doc in self.ctx.store.stream(Query(RECEIPTS))},
        ):
            for member_id in kind:
                score[member_id] += 10
        for group in p.groups.list_groups():
            for ticket in p.groups.tickets(group.id):
                score[ticket.member_id] += 1
        if score:
            return max(sorted(score), key=lambda m: score[m])
        first = p.members.search("", limit=1)
        return first[0].id if first else None

    def send_sign_in_code(self, by: Actor, member_id: str, reason: str) -> IssuedCode:
        """Text the member a sign-in code for the web view, issued by staff ``by`` (no
        rate limit applies; audited with the reason). See :meth:`OtpService.issue_code`."""
        member = self.parts.members.get(member_id)
        return self.parts.otp.issue_code(by, member.phone, reason, send=True)


def timeline(profile: MemberProfile, items: list[TimelineItem]) -> list[Happening]:
    """Everything that happened to the member, newest first."""
    m = profile.member
    found = [Happening(m.joined_at, f"Enrolled as member {m.member_no}")]
    found += _kyc_events(profile.kyc)
    for t in profile.tickets:
        found.append(
            Happening(t.ticket.enrolled_at, f"Took ticket {t.ticket.ticket_no} in {t.group.name}")
        )
        if t.signed is not None:
            found.append(Happening(t.signed.signed_at, f"Signed the agreement of {t.group.name}"))
    found += _prizes(profile)
    found += [_ledger_event(profile, item) for item in items]
    for loan in profile.loans:
        found.append(Happening(loan.applied_at, f"Applied for loan {loan.loan_no}", loan.amount))
    for case in profile.cases:
        found += _case_events(profile, case)
    return sorted(found, key=lambda h: h.at, reverse=True)


def _kyc_events(kyc: KycRecord | None) -> list[Happening]:
    if kyc is None:
        return []
    count = len(kyc.documents)
    papers = f"{count} document{'' if count == 1 else 's'}"
    found = [Happening(kyc.submitted_at, f"KYC submitted with {papers}")]
    if kyc.decided_at:
        why = f": {kyc.reason}" if kyc.status == "rejected" and kyc.reason else ""
        found.append(Happening(kyc.decided_at, f"KYC {KYC_WORDS.get(kyc.status, kyc.status)}{why}"))
    return found


def _prizes(profile: MemberProfile) -> list[Happening]:
    drawn = {(d.group_id, d.period): d.raised_on for t in profile.tickets for d in t.dues}
    return [
        Happening(
            drawn.get((p.group_id, p.period), p.deadline),
            f"Won the prize of {profile.group_name(p.group_id)}, period {p.period}",
            p.amount,
        )
        for p in profile.payouts
    ]


def _ledger_event(profile: MemberProfile, item: TimelineItem) -> Happening:
    what = LEDGER_WORDS.get(item.kind, item.kind.replace("_", " ").capitalize())
    if item.group_id:
        what += f" — {profile.group_name(item.group_id)}, period {item.period}"
    elif item.loan_id:
        what += f" — loan {profile.loan_no(item.loan_id)}"
    if item.bank_ref:
        what += f" (ref {item.bank_ref})"
    return Happening(item.date, what, item.amount)


def _case_events(profile: MemberProfile, case: Case) -> list[Happening]:
    subject = (
        f"instalments of {profile.group_name(case.ref)}"
        if case.source == "dues"
        else f"loan {profile.loan_no(case.ref)}"
    )
    found = [Happening(case.opened_at, f"Recovery case opened for {subject}")]
    for step in case.history:
        if step.get("kind", "move") == "move" and step.get("to") and step.get("from"):
            note = f": {step['note']}" if step.get("note") else ""
            what = f"Recovery case ({subject}) moved to {str(step['to']).replace('_', ' ')}"
            found.append(Happening(str(step["at"]), f"{what} by {step.get('by_name', '')}{note}"))
    return found
