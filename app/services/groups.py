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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from app.kernel.errors import Conflict, NotFound, PermissionDenied, ValidationError
from app.services import topics
from app.services.actors import Actor
from app.services.auctions.rules import Agreement
from app.services.collections import GROUPS, MEMBERS, TICKETS
from app.services.context import ServiceContext
from app.services.emi import add_months
from app.services.events import GroupCreated, GroupStarted, TicketEnrolled
from app.services.money import ratio_bps
from app.services.pipeline import ChangeSet, Reader
from app.services.store import Document, Query, Write
from app.services.text import NOTE, TITLE, clean
from app.services.topics import reads

if TYPE_CHECKING:
    from app.services.kpis import GroupHealth

HealthSource = Callable[[], "list[GroupHealth]"]

FORMING, RUNNING, COMPLETED = "forming", "running", "completed"
YOUR_GROUPS = "Open your groups and their auctions from the dashboard."
STATUSES = (FORMING, RUNNING, COMPLETED)


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

    @classmethod
    def from_doc(cls, doc: Document) -> Group:
        d = doc.data
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
        )

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
    """One group as its page shows it: terms, cycle progress and health."""

    group: Group
    progress: CycleProgress
    health: GroupHealth | None


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
    """Creates, fills and starts chit groups; reads them for screens.

    ``health`` gives every group's health (the KPI service's, wired by the registry);
    :meth:`overview` and :meth:`detail` need it.
    """

    def __init__(self, ctx: ServiceContext, *, health: HealthSource | None = None) -> None:
        self.ctx = ctx
        self._health = health

    # -- changes ------------------------------------------------------------------

    def create_group(
        self,
        actor: Actor,
        name: str,
        *,
        gross_paise: int,
        members: int,
        start_date: date,
        period_months: int = 1,
        commission_bps: int = 500,
        discount_cap_bps: int = 3000,
        bid_step_paise: int = 50_000,
        foreman_takes_first: bool = False,
        foreman_member_id: str | None = None,
        reason: str = "",
    ) -> Group:
        """Create a forming group. Every wrong term is listed in one ValidationError."""
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
        title = clean(name, "The group's name", TITLE)
        why = clean(reason, "Reason", NOTE)
        agreement = _checked_agreement(title, terms, start_date, foreman_member_id)
        group_id = self.ctx.ids.new("grp")
        now = self.ctx.clock.now().isoformat()
        data = {
            "name": title,
            "agreement": agreement_to_json(agreement),
            "start_date": start_date.isoformat(),
            "status": FORMING,
            "foreman_member_id": foreman_member_id,
            "tickets_issued": 1 if foreman_member_id else 0,
            "periods_done": 0,
            "created_at": now,
            "created_by": actor.id,
        }

        def work(reader: Reader) -> ChangeSet:
            writes = [Write("set", GROUPS, group_id, data, expect_version=0)]
            if foreman_member_id:
                require_active_member(reader, foreman_member_id)
                writes.append(_ticket_write(group_id, 1, foreman_member_id, now))
            return ChangeSet.of(GroupCreated(group_id, gross_paise), group_id, writes, why)

        self.ctx.pipeline.transact(actor, work)
        return self.get_group(group_id)

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
        """Start a full forming group: from now on its periods are settled one by one."""
        actor.require("employee", "admin", doing="start a chit group")
        why = clean(reason, "Reason", NOTE)

        def work(reader: Reader) -> ChangeSet:
            group = read_group(reader, group_id)
            if group.status != FORMING:
                raise Conflict(f"Group {group.name!r} is already {group.status}.")
            if not group.is_full:
                raise Conflict(
                    f"Group {group.name!r} has {group.tickets_issued} of its "
                    f"{group.members} tickets taken; it can start only when full.",
                    hint="Enrol more members first.",
                )
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
            h = health.get(group.id)
            verdict, reason = (h.verdict, h.reason) if h else ("–", "Not running yet.")
            rows.append(GroupOverview(group, verdict, reason))
        return rows

    @reads(topics.GROUPS, topics.DUES, topics.LEDGER, topics.AUCTIONS)
    def detail(self, group_id: str) -> GroupDetail:
        """One group: its terms, cycle progress and health."""
        progress = self.progress(group_id)
        health = next((h for h in self._group_health() if h.group_id == group_id), None)
        return GroupDetail(self.get_group(group_id), progress, health)

    def _group_health(self) -> list[GroupHealth]:
        if self._health is None:
            raise RuntimeError("GroupService was built without a health source")
        return self._health()

    def _ticket(self, tid: str) -> Ticket:
        doc = self.ctx.store.get(TICKETS, tid)
        if doc is None:
            raise NotFound(f"No ticket with id {tid!r}.")
        return Ticket.from_doc(doc)


def _checked_agreement(
    name: str, terms: dict[str, Any], start_date: date, foreman_member_id: str | None
) -> Agreement:
    problems = []
    if not name:
        problems.append("the group needs a name")
    if not isinstance(start_date, date):
        problems.append("the start date must be a date")
    if terms["foreman_takes_first"] and not foreman_member_id:
        problems.append("a group whose foreman takes period 1 must name the foreman's member id")
    agreement = None
    try:
        agreement = Agreement(**terms)
    except ValidationError as exc:
        problems.append(exc.message.removeprefix("The group agreement is not valid: ").rstrip("."))
    if problems or agreement is None:
        raise ValidationError(
            "The chit group cannot be created: " + "; ".join(problems) + ".",
            hint="Correct these terms and try again.",
        )
    return agreement


def _check_can_enroll(reader: Reader, group: Group, member_id: str) -> None:
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
