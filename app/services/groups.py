"""Chit groups and their tickets.

A group is created *forming* with its agreement (:class:`~app.services.auctions.rules.
Agreement`), takes members' tickets until it has N of them, and is then *started*
(*running*). Each period's prize is settled by :mod:`app.services.auctions.service`, which
advances ``periods_done``; after the N-th period the group is *completed*.

The group document is the serialisation point of enrolment: every enrolment reads
and bumps ``tickets_issued``, so two concurrent enrolments can never both take the
last ticket or give one member two tickets (the pipeline retries the loser, which
then sees the first one's ticket).

When the group names a foreman member, that member holds ticket 1 from creation;
a group whose foreman takes period 1 must name one.

Maker-checker. A group's terms and its registration (sanction) number are master data
that bind every subscriber once they sign, and they never change: the staff member who
forms a group (the maker) cannot approve its terms; a second staff member does
(:meth:`GroupService.approve_terms`), and only then are members enrolled. Until then
the maker or the checker may withdraw it (a checker's withdrawal is a rejection), which
frees its registration number for the corrected group. Starting a full group needs no
second person: it changes no term and no money, and every condition of it (terms
approved, every ticket taken) is checked here. Groups stored before this rule carry no
approval and count as approved.

The registration number is unique across groups (by :func:`~app.services.group_terms.
registration_key`, through an index document created in the same commit).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from app.kernel.errors import Conflict, FieldErrors, NotFound, PermissionDenied, ValidationError
from app.services import topics
from app.services.actors import Actor
from app.services.auctions.rules import Agreement
from app.services.collections import GROUP_REGISTRATIONS, GROUPS, MEMBERS, TICKETS
from app.services.context import ServiceContext
from app.services.emi import add_months
from app.services.events import (
    GroupCreated,
    GroupStarted,
    GroupTermsApproved,
    GroupWithdrawn,
    TicketEnrolled,
)
from app.services.group_terms import (
    FormCheck,
    GroupForm,
    GroupTerms,
    check,
    checked_terms,
    parse,
    registration_key,
)
from app.services.money import ratio_bps
from app.services.pipeline import ChangeSet, Reader
from app.services.store import Document, Query, Write
from app.services.text import NOTE, clean
from app.services.topics import reads

if TYPE_CHECKING:
    from app.services.group_book import Candidate, GroupBook, GroupSources
    from app.services.kpis import GroupHealth

HealthSource = Callable[[], "list[GroupHealth]"]

FORMING, RUNNING, COMPLETED, WITHDRAWN = "forming", "running", "completed", "withdrawn"
YOUR_GROUPS = "Open your groups and their auctions from the dashboard."
STATUSES = (FORMING, RUNNING, COMPLETED, WITHDRAWN)
AWAITING_APPROVAL, APPROVED = "awaiting_approval", "approved"


def agreement_to_json(agreement: Agreement) -> dict[str, Any]:
    return {
        "gross_paise": agreement.gross_paise,
        "members": agreement.members,
        "period_months": agreement.period_months,
        "commission_bps": agreement.commission_bps,
        "discount_cap_bps": agreement.discount_cap_bps,
        "bid_step_paise": agreement.bid_step_paise,
        "foreman_takes_first": agreement.foreman_takes_first,
    }


def agreement_from_json(raw: dict[str, Any]) -> Agreement:
    return Agreement(**raw)


@dataclass(frozen=True)
class Group:
    """A chit group as stored, with its derived cycle progress."""

    id: str
    name: str
    agreement: Agreement
    start_date: date
    status: str
    foreman_member_id: str | None
    tickets_issued: int
    periods_done: int
    created_at: str
    registration_no: str | None = None
    """The Registrar's sanction (s.4); None only for groups stored before it was asked."""
    terms_status: str = APPROVED
    created_by: str = ""
    created_by_name: str = ""
    checked_by_name: str = ""
    """Who approved the terms, or withdrew the group."""
    withdrawn_reason: str = ""

    @classmethod
    def from_doc(cls, doc: Document) -> Group:
        d = doc.data
        checked = d.get("checked_by") or {}
        return cls(
            id=doc.id,
            name=d["name"],
            agreement=agreement_from_json(d["agreement"]),
            start_date=date.fromisoformat(d["start_date"]),
            status=d["status"],
            foreman_member_id=d.get("foreman_member_id"),
            tickets_issued=d.get("tickets_issued", 0),
            periods_done=d.get("periods_done", 0),
            created_at=d.get("created_at", ""),
            registration_no=d.get("registration_no"),
            terms_status=d.get("terms_status", APPROVED),
            created_by=d.get("created_by", ""),
            created_by_name=d.get("created_by_name", ""),
            checked_by_name=checked.get("name", ""),
            withdrawn_reason=d.get("withdrawn_reason", ""),
        )

    @property
    def awaiting_approval(self) -> bool:
        return self.status == FORMING and self.terms_status == AWAITING_APPROVAL

    @property
    def stage(self) -> str:
        """Where the group stands, in a sentence: what happens next and who does it."""
        if self.status == WITHDRAWN:
            return f"Withdrawn by {self.checked_by_name or 'staff'}: {self.withdrawn_reason}"
        if self.awaiting_approval:
            who = self.created_by_name or "its maker"
            return f"Formed by {who}; the terms await a second staff member's approval."
        if self.status == FORMING and not self.is_full:
            return f"Enrolling: {self.tickets_issued} of {self.members} tickets taken."
        if self.status == FORMING:
            return "Every ticket is taken: ready to start."
        if self.status == RUNNING:
            return f"Running: {self.periods_done} of {self.members} periods settled."
        return f"Completed: all {self.members} periods settled."

    @property
    def members(self) -> int:
        return self.agreement.members

    @property
    def is_full(self) -> bool:
        return self.tickets_issued >= self.members

    @property
    def progress_bps(self) -> int:
        """Cycle progress: periods settled / N, in basis points."""
        return ratio_bps(self.periods_done, self.members)

    @property
    def next_period(self) -> int | None:
        """The period whose prize is still to be settled, or None when all are."""
        return self.periods_done + 1 if self.periods_done < self.members else None

    def auction_date(self, period: int) -> date:
        """The scheduled draw date of ``period``: start + (period - 1) instalment periods."""
        if not 1 <= period <= self.members:
            raise ValidationError(f"Period must be 1 to {self.members}; got {period}.")
        return add_months(self.start_date, (period - 1) * self.agreement.period_months)

    @property
    def next_auction_date(self) -> date | None:
        period = self.next_period
        return None if period is None else self.auction_date(period)


@dataclass(frozen=True)
class Ticket:
    id: str
    group_id: str
    ticket_no: int
    member_id: str
    prized_period: int | None
    security: dict[str, Any] | None
    enrolled_at: str

    @classmethod
    def from_doc(cls, doc: Document) -> Ticket:
        d = doc.data
        return cls(
            id=doc.id,
            group_id=d["group_id"],
            ticket_no=d["ticket_no"],
            member_id=d["member_id"],
            prized_period=d.get("prized_period"),
            security=d.get("security"),
            enrolled_at=d.get("enrolled_at", ""),
        )

    @property
    def prized(self) -> bool:
        return self.prized_period is not None


@dataclass(frozen=True)
class GroupOverview:
    """One row of the group overview: the group and its health in a word, with why."""

    group: Group
    verdict: str
    reason: str

    @property
    def next_auction(self) -> date | None:
        """The next scheduled draw (none once the group has completed)."""
        return self.group.next_auction_date if self.group.status != COMPLETED else None


@dataclass(frozen=True)
class GroupDetail:
    """One group as its page shows it: terms, cycle progress, health, and its book
    (tickets, periods, defaulters, payouts; see :mod:`app.services.group_book`)."""

    group: Group
    progress: CycleProgress
    health: GroupHealth | None
    book: GroupBook | None = None

    @property
    def verdict(self) -> str:
        return health_words(self.group, self.health)[0]

    @property
    def reason(self) -> str:
        return health_words(self.group, self.health)[1]


def health_words(group: Group, health: GroupHealth | None) -> tuple[str, str]:
    """The group's health in a word ("–" while it is not running) and why: the figures
    behind the word, or where a group not running yet stands."""
    if group.status in (RUNNING, COMPLETED) and health is not None:
        return health.verdict, health.reason
    return "–", group.stage


@dataclass(frozen=True)
class CycleProgress:
    group_id: str
    periods_done: int
    members: int
    progress_bps: int
    next_period: int | None
    next_auction_date: date | None
    prized_tickets: int


def ticket_id(group_id: str, ticket_no: int) -> str:
    return f"{group_id}-{ticket_no}"


def tickets_query(group_id: str) -> Query:
    return Query(TICKETS).where("group_id", "==", group_id).order_by("ticket_no")


def read_group(reader: Reader, group_id: str) -> Group:
    return Group.from_doc(reader.require(GROUPS, group_id, "chit group"))


def visible_group(reader: Reader, actor: Actor, member_id: str, group_id: str) -> Group:
    """The group, if ``member_id`` holds a ticket in it (staff: any group): the one
    ticket-access rule of the member pages and their live channels. A member is told the
    same for a group that does not exist as for one they are not in."""
    if actor.role == "member" and not reader.query(_ticket_query(group_id, member_id)):
        raise NotFound("This is not one of your groups.", hint=YOUR_GROUPS)
    if not actor.is_staff and actor.role != "member":
        raise PermissionDenied(f"{actor.name} ({actor.role}) may not see chit groups.")
    return read_group(reader, group_id)


def _ticket_query(group_id: str, member_id: str) -> Query:
    return Query(TICKETS).where("group_id", "==", group_id).where("member_id", "==", member_id)


def read_tickets(reader: Reader, group_id: str) -> list[Ticket]:
    return [Ticket.from_doc(d) for d in reader.query(tickets_query(group_id))]


def require_active_member(reader: Reader, member_id: str) -> Document:
    member = reader.require(MEMBERS, member_id, "member")
    if member.data.get("status", "active") != "active":
        raise Conflict(
            f"Member {member_id} has been removed and cannot hold a ticket.",
            hint="Reinstate the member first.",
        )
    return member


def _ticket_write(group_id: str, ticket_no: int, member_id: str, at: str) -> Write:
    data = {
        "group_id": group_id,
        "ticket_no": ticket_no,
        "member_id": member_id,
        "prized_period": None,
        "security": None,
        "enrolled_at": at,
    }
    return Write("set", TICKETS, ticket_id(group_id, ticket_no), data, expect_version=0)


class GroupService:
    """Forms, approves, fills and starts chit groups; reads them for screens.

    ``health`` gives every group's health (the KPI service's, wired by the registry);
    :meth:`overview` and :meth:`detail` need it. ``sources`` (the other services a
    group's book reads: members, ledger, auctions, the Banker's gate) gives
    :meth:`detail` its book and :meth:`candidates` its search.
    """

    def __init__(
        self,
        ctx: ServiceContext,
        *,
        health: HealthSource | None = None,
        sources: GroupSources | None = None,
    ) -> None:
        self.ctx = ctx
        self._health = health
        self._sources = sources

    # -- forming ------------------------------------------------------------------

    def check_form(self, form: GroupForm) -> FormCheck:
        """What is wrong with a new group's form so far, and its first month's figures
        (for a form that shows them as the person types)."""
        return check(form, self.ctx.clock.today())

    def create_from_form(self, actor: Actor, form: GroupForm, reason: str = "") -> Group:
        """Form a group from what a person typed: every wrong field in one FieldErrors."""
        terms = parse(form, self.ctx.clock.today())
        return self.create_group(actor, terms.name, reason=reason, **terms.create_kwargs())

    def create_group(
        self,
        actor: Actor,
        name: str,
        *,
        gross_paise: int,
        members: int,
        start_date: date,
        registration_no: str,
        period_months: int = 1,
        commission_bps: int = 500,
        discount_cap_bps: int = 3000,
        bid_step_paise: int = 50_000,
        foreman_takes_first: bool = False,
        foreman_member_id: str | None = None,
        reason: str = "",
    ) -> Group:
        """Form a group, its terms awaiting a second staff member's approval. Every wrong
        term is listed in one FieldErrors (``field_errors`` by the form's field keys)."""
        actor.require("employee", "admin", doing="create a chit group")
        terms = dict(
            gross_paise=gross_paise,
            members=members,
            period_months=period_months,
            commission_bps=commission_bps,
            discount_cap_bps=discount_cap_bps,
            bid_step_paise=bid_step_paise,
            foreman_takes_first=foreman_takes_first,
        )
        why = clean(reason, "Reason", NOTE)
        checked = checked_terms(name, terms, start_date, foreman_member_id, registration_no)
        group_id = self.ctx.ids.new("grp")
        data = self._new_group_doc(actor, checked)

        def work(reader: Reader) -> ChangeSet:
            writes = [
                Write("set", GROUPS, group_id, data, expect_version=0),
                _registration_write(reader, group_id, checked),
            ]
            if checked.foreman_member_id:
                require_active_member(reader, checked.foreman_member_id)
                writes.append(
                    _ticket_write(group_id, 1, checked.foreman_member_id, data["created_at"])
                )
            return ChangeSet.of(GroupCreated(group_id, gross_paise), group_id, writes, why)

        self.ctx.pipeline.transact(actor, work)
        return self.get_group(group_id)

    def _new_group_doc(self, actor: Actor, terms: GroupTerms) -> dict[str, Any]:
        return {
            "name": terms.name,
            "agreement": agreement_to_json(terms.agreement),
            "start_date": terms.start_date.isoformat(),
            "registration_no": terms.registration_no,
            "status": FORMING,
            "terms_status": AWAITING_APPROVAL,
            "foreman_member_id": terms.foreman_member_id,
            "tickets_issued": 1 if terms.foreman_member_id else 0,
            "periods_done": 0,
            "created_at": self.ctx.clock.now().isoformat(),
            "created_by": actor.id,
            "created_by_name": actor.name,
        }

    def approve_terms(self, actor: Actor, group_id: str, note: str = "") -> Group:
        """Approve a formed group's terms as the second staff member (never its maker);
        members can be enrolled from now on."""
        actor.require("employee", "admin", doing="approve a chit group's terms")
        why = clean(note, "Note", NOTE)

        def work(reader: Reader) -> ChangeSet:
            group = _awaiting(reader, group_id, "approve its terms")
            if group.created_by == actor.id:
                raise PermissionDenied(
                    f"You formed group {group.name!r}, so you cannot approve its terms: "
                    "another staff member must check them (maker-checker).",
                    hint="Ask a colleague to open the group and approve it.",
                )
            change = {"terms_status": APPROVED, "checked_by": self._checker(actor)}
            write = Write("update", GROUPS, group_id, change)
            return ChangeSet.of(GroupTermsApproved(group_id), group_id, [write], why)

        self.ctx.pipeline.transact(actor, work)
        return self.get_group(group_id)

    def withdraw(self, actor: Actor, group_id: str, reason: str) -> Group:
        """Withdraw a group whose terms are not approved yet: its maker's second thought,
        or a checker's rejection. The reason is required; the registration number is
        freed for the corrected group."""
        actor.require("employee", "admin", doing="withdraw a chit group")
        why = clean(reason, "Reason", NOTE, required=True)

        def work(reader: Reader) -> ChangeSet:
            group = _awaiting(reader, group_id, "withdraw it")
            change = {
                "status": WITHDRAWN,
                "terms_status": WITHDRAWN,
                "checked_by": self._checker(actor),
                "withdrawn_reason": why,
            }
            writes = [Write("update", GROUPS, group_id, change)]
            if group.registration_no:
                key = registration_key(group.registration_no)
                writes.append(Write("delete", GROUP_REGISTRATIONS, key))
            return ChangeSet.of(GroupWithdrawn(group_id), group_id, writes, why)

        self.ctx.pipeline.transact(actor, work)
        return self.get_group(group_id)

    def _checker(self, actor: Actor) -> dict[str, str]:
        return {"id": actor.id, "name": actor.name, "at": self.ctx.clock.now().isoformat()}

    def enroll(self, actor: Actor, group_id: str, member_id: str, reason: str = "") -> Ticket:
        """Give ``member_id`` the next ticket of a forming group (one ticket per member)."""
        actor.require("employee", "admin", doing="enrol a member in a chit group")
        why = clean(reason, "Reason", NOTE)

        def work(reader: Reader) -> tuple[ChangeSet, str]:
            group = read_group(reader, group_id)
            _check_can_enroll(reader, group, member_id)
            number = group.tickets_issued + 1
            now = self.ctx.clock.now().isoformat()
            writes = [
                _ticket_write(group_id, number, member_id, now),
                Write("update", GROUPS, group_id, {"tickets_issued": number}),
            ]
            tid = ticket_id(group_id, number)
            return ChangeSet.of(TicketEnrolled(group_id, tid, member_id), tid, writes, why), tid

        committed = self.ctx.pipeline.transact(actor, work)
        return self._ticket(committed.value)

    def start(self, actor: Actor, group_id: str, reason: str = "") -> Group:
        """Start a full forming group whose terms are approved: from now on its periods
        are settled one by one."""
        actor.require("employee", "admin", doing="start a chit group")
        why = clean(reason, "Reason", NOTE)

        def work(reader: Reader) -> ChangeSet:
            group = read_group(reader, group_id)
            _check_can_start(group)
            now = self.ctx.clock.now().isoformat()
            change = {"status": RUNNING, "started_at": now, "started_by": actor.id}
            write = Write("update", GROUPS, group_id, change)
            return ChangeSet.of(GroupStarted(group_id), group_id, [write], why)

        self.ctx.pipeline.transact(actor, work)
        return self.get_group(group_id)

    # -- reads --------------------------------------------------------------------

    def get_group(self, group_id: str) -> Group:
        doc = self.ctx.store.get(GROUPS, group_id)
        if doc is None:
            raise NotFound(f"No chit group with id {group_id!r}.")
        return Group.from_doc(doc)

    @reads(topics.GROUPS)
    def list_groups(self, status: str | None = None) -> list[Group]:
        query = Query(GROUPS)
        if status is not None:
            if status not in STATUSES:
                raise ValidationError(f"Unknown group status {status!r}; use one of {STATUSES}.")
            query = query.where("status", "==", status)
        return sorted(
            (Group.from_doc(d) for d in self.ctx.store.query(query)), key=lambda g: g.created_at
        )

    def tickets(self, group_id: str) -> list[Ticket]:
        return [Ticket.from_doc(d) for d in self.ctx.store.query(tickets_query(group_id))]

    def ticket_of(self, group_id: str, member_id: str) -> Ticket | None:
        docs = self.ctx.store.query(_ticket_query(group_id, member_id))
        return Ticket.from_doc(docs[0]) if docs else None

    def member_tickets(self, member_id: str) -> list[Ticket]:
        docs = self.ctx.store.query(Query(TICKETS).where("member_id", "==", member_id))
        return [Ticket.from_doc(d) for d in docs]

    def progress(self, group_id: str) -> CycleProgress:
        group = self.get_group(group_id)
        prized = sum(1 for t in self.tickets(group_id) if t.prized)
        return CycleProgress(
            group_id=group.id,
            periods_done=group.periods_done,
            members=group.members,
            progress_bps=group.progress_bps,
            next_period=group.next_period,
            next_auction_date=group.next_auction_date,
            prized_tickets=prized,
        )

    def visible(self, actor: Actor, member_id: str, group_id: str) -> Group:
        """The group, as :func:`visible_group` allows ``actor`` to see it."""
        return visible_group(Reader(self.ctx.store), actor, member_id, group_id)

    @reads(topics.GROUPS, topics.DUES, topics.LEDGER, topics.AUCTIONS)
    def overview(self) -> list[GroupOverview]:
        """Every group, oldest first, with its health verdict and the figures behind it."""
        health = {h.group_id: h for h in self._group_health()}
        rows = []
        for group in self.list_groups():
            verdict, reason = health_words(group, health.get(group.id))
            rows.append(GroupOverview(group, verdict, reason))
        return rows

    @reads(topics.GROUPS, topics.MEMBERS, topics.DUES, topics.LEDGER, topics.AUCTIONS)
    def detail(self, group_id: str) -> GroupDetail:
        """One group: its terms, cycle progress, health and (with ``sources``) its book:
        tickets, the period table, defaulters and payouts."""
        group = self.get_group(group_id)
        progress = self.progress(group_id)
        health = next((h for h in self._group_health() if h.group_id == group_id), None)
        today, tickets = self.ctx.clock.today(), self.tickets(group_id)
        book = self._sources.book(group, tickets, today) if self._sources else None
        return GroupDetail(group, progress, health, book)

    @reads(topics.GROUPS, topics.MEMBERS)
    def candidates(self, group_id: str, text: str, limit: int = 30) -> list[Candidate]:
        """Members matching ``text`` (name, or the last digits of their mobile) as
        candidates for ``group_id``'s next ticket, each saying whether they can take it."""
        group, tickets = self.get_group(group_id), self.tickets(group_id)
        return self._require_sources().candidates(group, tickets, text, limit)

    def ticket_list_csv(self, group_id: str) -> str:
        """The group's ticket list as CSV (mobile numbers masked), for print or filing."""
        group, tickets = self.get_group(group_id), self.tickets(group_id)
        return self._require_sources().ticket_list_csv(group, tickets)

    def _require_sources(self) -> GroupSources:
        if self._sources is None:
            raise RuntimeError("GroupService was built without its sources")
        return self._sources

    def _group_health(self) -> list[GroupHealth]:
        if self._health is None:
            raise RuntimeError("GroupService was built without a health source")
        return self._health()

    def _ticket(self, tid: str) -> Ticket:
        doc = self.ctx.store.get(TICKETS, tid)
        if doc is None:
            raise NotFound(f"No ticket with id {tid!r}.")
        return Ticket.from_doc(doc)


def _registration_write(reader: Reader, group_id: str, terms: GroupTerms) -> Write:
    """The index document that keeps registration numbers unique; refused, naming the
    group that holds it, when the number is taken."""
    key = registration_key(terms.registration_no)
    held = reader.get(GROUP_REGISTRATIONS, key)
    if held is not None:
        raise FieldErrors(
            "The chit group",
            {
                "registration_no": (
                    f"Registration (sanction) number {terms.registration_no} is already "
                    f"group {held.data['name']!r}'s ({held.data['group_id']}): a sanction "
                    "is for one group. Check the number on the Registrar's order."
                )
            },
        )
    data = {"group_id": group_id, "name": terms.name, "number": terms.registration_no}
    return Write("set", GROUP_REGISTRATIONS, key, data, expect_version=0)


def _awaiting(reader: Reader, group_id: str, doing: str) -> Group:
    """The group, if its terms still await approval; else a Conflict saying why not."""
    group = read_group(reader, group_id)
    if group.status == WITHDRAWN:
        raise Conflict(f"Group {group.name!r} was withdrawn; nothing more can be done to it.")
    if not group.awaiting_approval:
        raise Conflict(
            f"Group {group.name!r}'s terms are already approved, so you cannot {doing} now."
        )
    return group


def _check_can_start(group: Group) -> None:
    if group.status != FORMING:
        raise Conflict(f"Group {group.name!r} is already {group.status}.")
    if group.awaiting_approval:
        raise Conflict(
            f"Group {group.name!r}'s terms await a second staff member's approval.",
            hint="A colleague approves them; then enrol the members and start it.",
        )
    if not group.is_full:
        raise Conflict(
            f"Group {group.name!r} has {group.tickets_issued} of its "
            f"{group.members} tickets taken; it can start only when full.",
            hint="Enrol more members first.",
        )


def _check_can_enroll(reader: Reader, group: Group, member_id: str) -> None:
    if group.awaiting_approval:
        raise Conflict(
            f"Group {group.name!r}'s terms await a second staff member's approval; "
            "members join once they are approved.",
            hint="Ask a colleague to approve the terms first.",
        )
    if group.status != FORMING:
        raise Conflict(
            f"Group {group.name!r} is {group.status}; members join only while it is forming."
        )
    if group.is_full:
        raise Conflict(
            f"Group {group.name!r} already has all {group.members} tickets taken.",
            hint="Enrol the member in another group.",
        )
    require_active_member(reader, member_id)
    held = reader.query(
        Query(TICKETS).where("group_id", "==", group.id).where("member_id", "==", member_id)
    )
    if held:
        raise Conflict(
            f"Member {member_id} already holds ticket {held[0].data['ticket_no']} "
            f"in group {group.name!r}; one ticket per member per group."
        )
