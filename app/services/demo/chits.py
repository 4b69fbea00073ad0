"""Demo chit groups: agreements, tickets, monthly auctions, receipts and prize payouts.

Each group is one lane of the demo engine (its period summary and its pool's guard
serialise its work anyway). Subscribers have habits fixed at the start: most pay
each instalment between the draw and its due date; *late* payers are often a week
to five weeks late (sometimes in two parts), so recovery cases open and are resolved
by the sweep once they pay; *defaulters* stop paying from some period on and never
pay again, so their cases stay open and move through the recovery pipeline.

Auctions run the real room: the group's OS lock is taken when the auction opens,
several eligible members bid (now and then an employee enters a bid phoned in by a
member, with that reason), and the auction is closed after its end time with a few
other subscribers present. Bids climb on the group's step grid to a winning
discount that is high early in the cycle and lower later. Nobody ties at the cap
and every period has a bidder, so no lot is drawn: lots use fresh random seeds and
would make the history differ from run to run.

Prize payouts: the winner gives security (a deposit or a guarantor, or immovable
property) a few days after the draw, or, when the future instalments are at most half
the prize, often asks to have them deducted instead; the desk then asks for the
release. A few winners bring their security only after the deadline. On the due date
a second person releases the prize through the Banker's gate. When late payers and
defaulters leave the pool short, the desk proposes advancing the shortfall from the
company's cash and the second person approves it (the gate decides it against the
company's cash), so the prize is still paid on time; the members' late instalments
repay the advance. The first time a group's pool is short, the release is put to the
gate before the advance, so each such group shows one refusal in the WAL. A prize paid
late (security late, or company cash short) says why.

The first group's next auction falls due on the last day, so a fresh demo has an
auction to open; bids come in at their own minutes of the auction's ten.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from typing import Any

from app.kernel.errors import Conflict
from app.services.actors import Actor
from app.services.auctions import Closed, rules
from app.services.collections import DUES, PAYOUTS
from app.services.demo.engine import Lane
from app.services.demo.model import DemoConfig, MemberPlan, Story
from app.services.emi import add_months
from app.services.ledger import Payment
from app.services.ledger.postings import COMPANY_CASH
from app.services.money import format_inr
from app.services.payouts.security import check_security
from app.services.store import Query

RUPEE = 100
LAKH = 1_00_000 * RUPEE
CITIES = ("Chennai", "Coimbatore", "Madurai", "Bengaluru", "Mysuru", "Kochi", "Hyderabad", "Pune")
PLACE = "Registered office, T. Nagar, Chennai (video link in the member app)"
SECURITY_KINDS = (
    ("deposit", "Fixed deposit receipt, pledged"),
    ("deposit", "Gold ornaments, pledged with valuation certificate"),
    ("guarantor", "Salary assignment letter from the employer"),
    ("guarantor", "Guarantee by two salaried guarantors"),
    ("property", "Equitable mortgage of a residential flat (title deeds deposited)"),
)
"""(kind, description) of the securities winners give; the last is immovable property."""
SLOW_WINNERS = 0.08
"""The share of winners who bring their security only after the prize's deadline."""
PAYOUTS_LANE = "payouts"
"""Every payout runs in one lane: advances draw on the one company cash pool."""
AUCTION_SECONDS = 600
LIVE_GROUP = 0
"""The group whose next auction falls due on the last day, so it can be opened live."""
AWAITING_GROUP = 2
"""The group whose last prize, drawn 3 days before the end, still awaits payout."""


@dataclass
class TicketPlan:
    member: MemberPlan
    number: int
    habit: str = "punctual"
    stop_period: int = 0
    first_late: int = 1


@dataclass
class GroupPlan:
    index: int
    name: str
    gross: int
    commission_bps: int
    cap_bps: int
    step: int
    start: date
    foreman: bool
    tickets: list[TicketPlan] = field(default_factory=list)
    id: str = ""
    present: list[str] = field(default_factory=list)
    auction_id: str = ""

    @property
    def size(self) -> int:
        return len(self.tickets)

    @property
    def lane(self) -> str:
        return f"group:{self.index:02d}"

    @property
    def agreement(self) -> rules.Agreement:
        return rules.Agreement(
            gross_paise=self.gross,
            members=self.size,
            commission_bps=self.commission_bps,
            discount_cap_bps=self.cap_bps,
            bid_step_paise=self.step,
            foreman_takes_first=self.foreman,
        )

    def ticket(self, member_id: str) -> TicketPlan:
        return next(t for t in self.tickets if t.member.id == member_id)

    @property
    def registration_no(self) -> str:
        """The Registrar's sanction (s.4), one per group; the office is in Chennai."""
        return f"TN/CHIT/{self.start.year}/{self.index + 1:04d}"


def last_auction_day(config: DemoConfig, index: int) -> date:
    """Each group's latest draw falls 15 to 26 days before the end of the history, so
    its dues have fallen due by then; late payers pay that one after the end, so they
    show as missed. The :data:`LIVE_GROUP`'s falls a month before the end, so its next
    auction is due on the last day (or a day or three before): ``make run`` can open
    it live (unless the group has settled every period). The :data:`AWAITING_GROUP`'s
    was drawn 3 days before the end: its prize is still awaiting payout."""
    if index == LIVE_GROUP:
        return add_months(config.end, -1)
    if index == AWAITING_GROUP:
        return config.end - timedelta(days=3)
    return config.end - timedelta(days=15 + (index * 5) % 12)


def group_start(config: DemoConfig, index: int) -> date:
    start = add_months(last_auction_day(config, index), -(config.months - 1))
    return start.replace(day=min(start.day, 28))


class Chits:
    """Plans the groups and schedules their whole life on the engine."""

    def __init__(self, story: Story) -> None:
        self.story = story
        self.engine = story.engine
        self.groups: list[GroupPlan] = []
        self._receipts: dict[tuple[date, int], list[Payment]] = {}
        self._refused: set[int] = set()

    # -- planning ---------------------------------------------------------------------

    def plan(self, seats: Sequence[Sequence[MemberPlan]]) -> None:
        """One group per list of members (its tickets in order; the first member is
        the foreman's nominee where the foreman takes period 1)."""
        rng = self.story.rng
        for index, members in enumerate(seats):
            n = len(members)
            target = rng.choice((1, 2, 3, 5, 10) if n < 50 else (5, 10)) * LAKH
            instalment = -(-target // n // (100 * RUPEE)) * 100 * RUPEE
            gross = instalment * n
            group = GroupPlan(
                index=index,
                name=f"{CITIES[index % len(CITIES)]} {_lakhs(gross)} Chit {index + 1:02d}",
                gross=gross,
                commission_bps=rng.choice((500, 500, 500, 400, 600, 700)),
                cap_bps=rng.choice((3000, 3000, 3500, 4000, 2500)),
                step=500 * RUPEE if gross <= 3 * LAKH else 1_000 * RUPEE,
                start=group_start(self.story.config, index),
                foreman=index % 3 == 2,
            )
            group.tickets = [TicketPlan(m, i) for i, m in enumerate(members, start=1)]
            self._habits(group)
            self.groups.append(group)

    def _habits(self, group: GroupPlan) -> None:
        rng, periods = self.story.rng, self.story.config.periods
        candidates = group.tickets[1:] if group.foreman else list(group.tickets)
        defaulters = max(1, round(group.size * 0.03))
        late = max(1, round(group.size * 0.08))
        chosen = rng.sample(candidates, min(len(candidates), defaulters + late))
        for k, ticket in enumerate(chosen[:defaulters]):
            ticket.habit = "defaulter"
            early = 1 + (group.index + k) % 2
            ticket.stop_period = min(early if k == 0 else rng.randint(2, max(2, periods)), periods)
        for ticket in chosen[defaulters:]:
            ticket.habit = "late"
            ticket.first_late = rng.randint(1, min(2, periods))

    def defaulter(self, member_id: str, group_id: str) -> bool:
        for group in self.groups:
            if group.id == group_id:
                tickets = [t for t in group.tickets if t.member.id == member_id]
                return bool(tickets) and tickets[0].habit == "defaulter"
        return False

    # -- setting up ---------------------------------------------------------------------

    def schedule(self, create_day: date) -> None:
        for group in self.groups:
            self.engine.at(
                create_day,
                "setup",
                group.lane,
                partial(self._create, group=group),
                partial(self._created, group, day=create_day),
            )

    def _create(self, lane: Lane, group: GroupPlan) -> str:
        ag = group.agreement
        foreman = group.tickets[0].member.id if group.foreman else None
        created = lane.groups.create_group(
            self.story.cast.employee,
            group.name,
            gross_paise=ag.gross_paise,
            members=ag.members,
            start_date=group.start,
            commission_bps=ag.commission_bps,
            discount_cap_bps=ag.discount_cap_bps,
            bid_step_paise=ag.bid_step_paise,
            foreman_takes_first=ag.foreman_takes_first,
            foreman_member_id=foreman,
            registration_no=group.registration_no,
            reason="New group approved by the board",
        )
        return created.id

    def _created(self, group: GroupPlan, group_id: str, day: date) -> None:
        group.id = group_id
        checker, next_day = self.story.cast.checker, day + timedelta(days=1)
        note = "Terms checked against the Registrar's sanction order"
        self.engine.at(
            next_day,
            "setup",
            group.lane,
            lambda lane: lane.groups.approve_terms(checker, group.id, note),
        )
        self.engine.at(next_day, "setup", group.lane, self._enrol(group))
        start_day = max(group.start - timedelta(days=2), day + timedelta(days=2))
        self.engine.at(
            start_day,
            "setup",
            group.lane,
            lambda lane: lane.groups.start(self.story.cast.employee, group.id, "Group is full"),
            lambda _: self._schedule_period(group, 1),
        )

    def _enrol(self, group: GroupPlan) -> Any:
        def run(lane: Lane) -> None:
            first = 1 if group.foreman else 0
            for ticket in group.tickets[first:]:
                lane.groups.enroll(self.story.cast.employee, group.id, ticket.member.id)

        return run

    # -- periods ------------------------------------------------------------------------

    def _schedule_period(self, group: GroupPlan, period: int) -> None:
        if period > self.story.config.periods:
            return
        day = add_months(group.start, period - 1)
        if day > self.story.end:
            return
        then = lambda result: self._closed(group, period, day, result)  # noqa: E731
        if period == 1 and group.foreman:
            self.engine.at(day, "close", group.lane, lambda lane: self._foreman(lane, group), then)
            return
        self.engine.at(day, "open", group.lane, lambda lane: self._auction(lane, group, period))
        self.engine.at(day, "close", group.lane, lambda lane: self._close(lane, group), then)

    def _foreman(self, lane: Lane, group: GroupPlan) -> tuple[Closed, str]:
        present = [t.member.id for t in lane.rng.sample(group.tickets[1:], 2)]
        closed = lane.auctions.settle_foreman_period(
            self.story.cast.employee,
            group.id,
            present=present,
            reason="Period 1 goes to the foreman's ticket under the agreement",
        )
        return closed, lane.ledger.period_collections(group.id, 1).due_date

    def _auction(self, lane: Lane, group: GroupPlan, period: int) -> None:
        cast = self.story.cast
        auction = lane.auctions.open_auction(
            cast.employee, group.id, period, duration_s=AUCTION_SECONDS, place=PLACE
        )
        group.auction_id = auction.id
        eligible = self._eligible(lane, group)
        bidders = lane.rng.sample(eligible, min(len(eligible), lane.rng.randint(2, 6)))
        bids = _bids(lane, group, period, bidders)
        moments = sorted(lane.rng.sample(range(25, AUCTION_SECONDS - 40), len(bids)))
        try:
            for (member_id, discount), second in zip(bids, moments, strict=True):
                lane.clock.into_phase = timedelta(seconds=second)
                self._bid(lane, group, auction.id, member_id, discount)
        finally:
            lane.clock.into_phase = timedelta(0)
        others = [t.member.id for t in group.tickets if t.member.id not in bidders]
        group.present = lane.rng.sample(others, min(2, len(others)))

    def _bid(
        self, lane: Lane, group: GroupPlan, auction_id: str, member_id: str, discount: int
    ) -> None:
        if lane.rng.random() < 0.15:
            reason = "Bid phoned in by the member"  # the record keeps its own time
            lane.auctions.bid(self.story.cast.employee, auction_id, member_id, discount, reason)
        else:
            actor = Actor(member_id, group.ticket(member_id).member.person.name, "member")
            lane.auctions.bid(actor, auction_id, member_id, discount)

    def _eligible(self, lane: Lane, group: GroupPlan) -> list[str]:
        """Members who may bid today: not prized and nothing overdue in the group."""
        today = lane.ctx.clock.today().isoformat()
        store = lane.ctx.store
        due = Query(DUES).where("group_id", "==", group.id).where("status", "==", "due")
        late = {d.data["member_id"] for d in store.query(due) if d.data["due_date"] < today}
        tickets = lane.groups.tickets(group.id)
        return [t.member_id for t in tickets if not t.prized and t.member_id not in late]

    def _close(self, lane: Lane, group: GroupPlan) -> tuple[Closed, str]:
        closed = lane.auctions.close_auction(
            self.story.cast.employee, group.auction_id, present=group.present
        )
        period = closed.settlement.period
        return closed, lane.ledger.period_collections(group.id, period).due_date

    def _closed(self, group: GroupPlan, period: int, draw: date, result: Any) -> None:
        closed, due_text = result
        due = date.fromisoformat(due_text)
        self.story.count("auctions")
        self._plan_receipts(group, period, draw, due, closed.settlement.net_instalment_paise)
        self._plan_payout(group, period, draw, due, closed)
        self._schedule_period(group, period + 1)

    # -- receipts -----------------------------------------------------------------------

    def _plan_receipts(
        self, group: GroupPlan, period: int, draw: date, due: date, net: int
    ) -> None:
        rng = self.story.rng
        last_draw = add_months(group.start, self.story.config.months - 1)
        before_last = add_months(group.start, self.story.config.months - 2)
        for ticket in group.tickets:
            if ticket.habit == "defaulter" and period >= ticket.stop_period:
                continue
            late = ticket.habit == "late" and (period == ticket.first_late or rng.random() < 0.4)
            if ticket.habit == "late" and draw == last_draw:
                parts = [(due + timedelta(days=rng.randint(20, 40)), net)]
            elif ticket.habit == "late" and draw == before_last:
                parts = [(draw + timedelta(days=rng.randint(0, (due - draw).days)), net)]
            elif late and rng.random() < 0.3:
                first = net // 2
                parts = [
                    (due + timedelta(days=rng.randint(2, 5)), first),
                    (due + timedelta(days=rng.randint(10, 35)), net - first),
                ]
            elif late:
                parts = [(due + timedelta(days=rng.randint(8, 35)), net)]
            else:
                parts = [(draw + timedelta(days=rng.randint(0, (due - draw).days)), net)]
            for part, (day, amount) in enumerate(parts, start=1):
                if day <= self.story.end:
                    ref = _bank_ref(ticket, group, period, day, part)
                    payment = Payment(group.id, period, ticket.member.id, amount, ref, day)
                    self._add_receipt(group, day, payment)

    def _add_receipt(self, group: GroupPlan, day: date, payment: Payment) -> None:
        key = (day, group.index)
        batch = self._receipts.get(key)
        if batch is None:
            batch = self._receipts[key] = []
            self.engine.at(
                day,
                "receipts",
                group.lane,
                lambda lane: self._record(lane, batch),
                lambda count: self.story.count("receipts", count),
            )
        batch.append(payment)

    def _record(self, lane: Lane, payments: list[Payment]) -> int:
        desk = self.story.cast.employee
        for p in payments:
            lane.ledger.record_receipt(
                desk,
                group_id=p.group_id,
                period=p.period,
                member_id=p.member_id,
                amount=p.amount,
                bank_ref=p.bank_ref,
                received_on=p.received_on,
            )
        return len(payments)

    # -- prize payouts ------------------------------------------------------------------

    def working_cash(self) -> int:
        """The company cash the foreman keeps for prize advances: a quarter of the groups'
        chit values."""
        return sum(group.gross for group in self.groups) // 4

    def _plan_payout(
        self, group: GroupPlan, period: int, draw: date, due: date, closed: Closed
    ) -> None:
        rng, end = self.story.rng, self.story.end
        remaining = group.size - period
        future = remaining * group.agreement.instalment_paise
        plan = PayoutPlan(
            group,
            closed.payout_id,
            period,
            due,
            remaining,
            deduct=remaining > 0 and 2 * future <= closed.settlement.prize_paise,
            kind=rng.choice(SECURITY_KINDS[:4] if rng.random() < 0.7 else SECURITY_KINDS[4:]),
        )
        plan.deduct = plan.deduct and rng.random() < 0.6
        if rng.random() < SLOW_WINNERS:
            day = due + timedelta(days=rng.randint(2, 9))
            plan.delay = f"The winner gave security only on {day:%d %b %Y}, after the deadline."
        else:
            day = draw + timedelta(days=rng.randint(1, max(1, min(4, (due - draw).days))))
        if day <= end:
            self.engine.at(day, "payouts", PAYOUTS_LANE, partial(self._secure, plan=plan))
        if max(day, due) <= end:
            self._schedule_release(plan, max(day, due))

    def _secure(self, lane: Lane, plan: PayoutPlan) -> None:
        """The desk records the winner's security (or the deduction) and asks for the
        release; a second person releases it on the due date."""
        desk, payouts = self.story.cast.employee, lane.payouts
        if plan.remaining and plan.deduct:
            reason = "The winner asked in writing to deduct the future instalments"
            payouts.deduct_future(desk, plan.payout_id, reason)
        elif plan.remaining:
            kind, description = plan.kind
            group = plan.group
            required = check_security(group.agreement, plan.remaining, kind, 0).required
            value = -(-required // (1_000 * RUPEE)) * 1_000 * RUPEE
            payouts.record_security(
                desk, plan.payout_id, value, kind=kind, description=description, reason="Verified"
            )
        payouts.request_release(
            desk,
            plan.payout_id,
            bank_ref=f"NEFTPRZ{plan.group.index:02d}{plan.period:04d}",
            note="Security verified; pay by NEFT to the winner's account",
        )

    def _schedule_release(self, plan: PayoutPlan, day: date) -> None:
        self.engine.at(
            day,
            "payouts",
            PAYOUTS_LANE,
            lambda lane: self._release(lane, plan),
            lambda outcome: self._released(plan, day, outcome),
        )

    def _release(self, lane: Lane, plan: PayoutPlan) -> str:
        payout = lane.ctx.store.get(PAYOUTS, plan.payout_id)
        if payout is None or payout.data["status"] != "pending":
            return "done"
        if not payout.data.get("release_request"):
            return "waiting"
        short = lane.payouts.shortfall(payout)
        late = lane.ctx.clock.today() > plan.due
        if short and not late and plan.group.index not in self._refused:
            self._refused.add(plan.group.index)
            self._try_release(lane, plan)
        if short and not self._advance(lane, plan, short):
            return "refused"
        lane.payouts.release_payout(
            self.story.cast.checker,
            plan.payout_id,
            reason=(plan.delay or "Paid once the pool could pay it.") if late else "",
        )
        return "released"

    def _try_release(self, lane: Lane, plan: PayoutPlan) -> None:
        """A release put to the gate while the pool is short: refused, in the WAL."""
        try:
            lane.payouts.release_payout(self.story.cast.checker, plan.payout_id)
        except Conflict:
            self.story.count("payouts_refused")

    def _advance(self, lane: Lane, plan: PayoutPlan, short: int) -> bool:
        """Advance the pool's shortfall from company cash (maker, then checker)."""
        cast, payouts = self.story.cast, lane.payouts
        if plan.advance_id is None:
            reason = (
                f"Members have not paid in full yet; the prize of period {plan.period} is due "
                f"on {plan.due:%d %b %Y}"
            )
            plan.advance_id = payouts.propose_advance(cast.employee, plan.payout_id, reason)["id"]
        try:
            payouts.approve_advance(cast.checker, plan.advance_id, "Repaid from the late dues")
        except Conflict:
            cash = format_inr(lane.gate.available(COMPANY_CASH))
            plan.delay = plan.delay or (
                f"On {lane.ctx.clock.today():%d %b %Y} the pool was short by {format_inr(short)} "
                f"and company cash ({cash}) could not cover an advance."
            )
            return False
        plan.advance_id = None
        self.story.count("advances")
        return True

    def _released(self, plan: PayoutPlan, day: date, outcome: str) -> None:
        self.story.count(f"payouts_{outcome}")
        retry = day + timedelta(days=7)
        if outcome in ("waiting", "refused") and retry <= self.story.end:
            self._schedule_release(plan, retry)


@dataclass
class PayoutPlan:
    """One prize on its way to the winner: how it is secured and why it may be late."""

    group: GroupPlan
    payout_id: str
    period: int
    due: date
    remaining: int
    deduct: bool
    kind: tuple[str, str]
    delay: str = ""
    advance_id: str | None = None


def _bids(lane: Lane, group: GroupPlan, period: int, bidders: list[str]) -> list[tuple[str, int]]:
    """Rising bids on the step grid, by the bidders in turn, the last one winning.

    The winning discount is high early in the cycle (members who need the money
    most bid it up) and falls as fewer periods remain.
    """
    if not bidders:
        return []
    ag, rng = group.agreement, lane.rng
    floor, step = rules.discount_floor(ag), ag.bid_step_paise
    steps = (rules.max_bid(ag) - floor) // step
    urgency = (1 - (period - 1) / group.size) ** 0.7
    target = min(steps, max(0, round(steps * urgency * rng.uniform(0.55, 1.0))))
    count = min(target + 1, rng.randint(len(bidders), 2 * len(bidders)))
    if len(bidders) == 1:
        count = 1
    levels = [*sorted(rng.sample(range(target), count - 1)), target]
    return [(bidders[i % len(bidders)], floor + k * step) for i, k in enumerate(levels)]


def _bank_ref(ticket: TicketPlan, group: GroupPlan, period: int, day: date, part: int) -> str:
    bank = ticket.member.person.bank
    return f"{bank}R{day:%y%m%d}{group.index:02d}{period:03d}{ticket.number:04d}{part}"


def _lakhs(gross: int) -> str:
    if gross % LAKH == 0:
        return f"{gross // LAKH} Lakh"
    return format_inr(gross).removesuffix(".00")
