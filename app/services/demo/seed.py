"""Demo data: a realistic, internally consistent history made through the services.

:func:`generate` plays a made-up history of ``months`` months, ending on ``end``
(default: the context clock's today), through the real services on the real store
and WAL, so the WAL, the store and the ledger agree as they would after real use:

* three staff accounts (:data:`~app.services.demo.model.DEMO_STAFF`): an admin, an
  employee at the desk and a second employee who checks (maker-checker);
* members with Indian names and valid, unique mobile numbers, PANs, Aadhaar numbers,
  IFSCs and accounts; KYC submitted with a PDF (and sometimes a photo) and approved,
  rejected with a reason, still pending, or never submitted;
* ``groups`` chit groups of ``members`` subscribers each (N = the number of
  instalments), created, filled and started, then one auction a month with several
  bidders, the minutes, the dues, receipts with bank references, prize payouts
  released through the Banker's gate after security (or deduction), late payers and
  defaulters (:mod:`.chits`);
* lending capital, and loans in every status with EMIs, some overdue (:mod:`.loans`);
  company cash for advances to pools short of a prize on its due date;
* recovery cases in every stage, written off by two people (:mod:`.recovery`).

For the same sizes, seed and end date, a run always makes the same members, groups,
tickets, ledger transactions, loans and cases with the same ids (see
:mod:`.engine`); only what is random by design (auction seeds and alias keys, the
PII vault's key, WAL timestamps) differs, so the WAL's head hash differs between runs.

:func:`seed_if_empty` makes a small default set on a data directory with no groups
and no staff (``make run`` on first start).
"""

from __future__ import annotations

import random
import time as timer
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Any

from app.kernel import office_time
from app.kernel.errors import Conflict
from app.services.collections import GROUPS, MEMBERS, STAFF_ACCOUNTS
from app.services.context import IST, FixedClock, ServiceContext
from app.services.demo.chits import Chits, group_start
from app.services.demo.counter import counter_day
from app.services.demo.engine import Engine, Lane, derive
from app.services.demo.loans import Loans
from app.services.demo.model import DEMO_STAFF, Cast, DemoConfig, MemberPlan, Story
from app.services.demo.people import PeopleFactory, kyc_pdf, photo_png
from app.services.demo.recovery import Recovery
from app.services.demo.summary import DemoSummary, summarize
from app.services.kyc.service import Upload
from app.services.ledger import LedgerService
from app.services.ledger.postings import COMPANY_CASH, LENDING_CASH
from app.services.recovery import Case
from app.services.store import Query

DEFAULT_SEED = 2026
DEFAULT_SIZE = (3, 20, 6)
"""What ``make run`` seeds on first start: groups, members per group, months."""
PEOPLE_LANES = 8
KYC_DESK = "kyc-desk"
KYC_REJECTIONS = (
    "The PAN card photo is blurred; upload a clear scan.",
    "The name on the PAN does not match the bank account.",
    "The Aadhaar page is cut off; upload both sides.",
)

Progress = Callable[[str], None]


def seed_if_empty(ctx: ServiceContext, progress: Progress | None = None) -> DemoSummary | None:
    """Seed :data:`DEFAULT_SIZE` demo data when the store has no groups, no staff and
    no members; otherwise do nothing and return None."""
    if any(_has(ctx, collection) for collection in (GROUPS, STAFF_ACCOUNTS, MEMBERS)):
        return None
    groups, members, months = DEFAULT_SIZE
    return generate(
        ctx, groups=groups, members=members, months=months, seed=DEFAULT_SEED, progress=progress
    )


def generate(
    ctx: ServiceContext,
    *,
    groups: int,
    members: int,
    months: int,
    seed: int,
    end: date | None = None,
    progress: Progress | None = None,
    workers: int = 8,
) -> DemoSummary:
    """Make ``months`` months of history ending on ``end`` (default: today by
    ``ctx.clock``) in an empty data directory; see the module docstring.

    ``progress`` is called with a line at the start of each month of the history;
    ``workers`` is the size of the thread pool the lanes run on.

    Raises:
        ValidationError: a size is out of range.
        Conflict: the data directory already has members, groups or staff.
    """
    started = timer.perf_counter()
    config = DemoConfig(groups, members, months, seed, end or ctx.clock.today())
    _require_empty(ctx)
    LedgerService(ctx).trial_balance()  # warm the running totals: balances stay O(new records)
    starts = [group_start(config, i) for i in range(groups)]
    first_day = min(starts) - timedelta(days=21)
    clock = FixedClock(datetime.combine(first_day, time(9), IST))
    engine = Engine(ctx, clock, seed, workers=workers, on_day=_reporter(ctx, first_day, progress))
    story = Story(config, engine, random.Random(seed), first_day)
    _cast_members(story)
    chits = Chits(story)
    chits.plan(_seats(story))
    unreliable = {t.member.index for g in chits.groups for t in g.tickets if t.habit != "punctual"}
    loans = Loans(story, trusted=lambda m: m.kyc == "approved" and m.index not in unreliable)
    loans.plan(opens=min(starts) + timedelta(days=20))
    recovery = Recovery(story, persistent=_persistence(chits, loans))
    Setup(story).schedule(loans.capital_needed(), company_cash=chits.working_cash())
    chits.schedule(first_day + timedelta(days=10))
    loans.schedule()
    recovery.schedule(min(starts) + timedelta(days=7))
    engine.at(
        config.end, "counter", "counter", lambda lane: counter_day(lane, story, config.end),
        lambda taken: story.count("counter cheques", taken),
    )  # fmt: skip
    engine.run(first_day, config.end)
    return summarize(ctx, story, chits, loans, timer.perf_counter() - started)


# -- the cast ---------------------------------------------------------------------------


def _cast_members(story: Story) -> None:
    """The members, with how their KYC ends: mostly approved, a few of each other state."""
    config, rng = story.config, story.rng
    count = config.groups * config.members - _overlap(config)
    factory = PeopleFactory(random.Random(derive(config.seed, "people")))
    story.members = [MemberPlan(i, person) for i, person in enumerate(factory.people(count))]
    order = list(story.members)
    rng.shuffle(order)
    cut = 0
    for state, share in (("none", 8), ("pending", 6), ("rejected", 6)):
        size = max(1, count * share // 100)
        for member in order[cut : cut + size]:
            member.kyc = state
        cut += size
    for member in story.members:
        member.self_service = rng.random() < 0.25


def _overlap(config: DemoConfig) -> int:
    """Tickets held by members who are already in another group (one in eight)."""
    return 0 if config.groups == 1 else config.groups * config.members // 8


def _seats(story: Story) -> list[list[MemberPlan]]:
    """Each group's members: everyone in one group, some also in a second."""
    config, rng = story.config, story.rng
    seats: list[list[MemberPlan]] = [[] for _ in range(config.groups)]
    for member in story.members:
        seats[member.index % config.groups].append(member)
    for index, seat in enumerate(seats):
        inside = {m.index for m in seat}
        others = [m for m in story.members if m.index not in inside]
        seat += rng.sample(others, config.members - len(seat))
        rng.shuffle(seat)
        for member in seat:
            member.groups.append(index)
    return seats


def _persistence(chits: Chits, loans: Loans) -> Callable[[Case], bool]:
    """Whether a recovery case will never be paid (so it is escalated)."""
    cache: dict[str, set[tuple[str, str]]] = {}

    def persistent(case: Case) -> bool:
        if case.source == "loan":
            return case.ref in loans.bad_ids
        if "dues" not in cache:
            cache["dues"] = {
                (t.member.id, g.id)
                for g in chits.groups
                for t in g.tickets
                if t.habit == "defaulter"
            }
        return (case.member_id, case.ref) in cache["dues"]

    return persistent


# -- staff, capital, members and KYC ----------------------------------------------------


@dataclass
class _Decisions:
    approve: list[str] = field(default_factory=list)
    reject: dict[str, list[str]] = field(default_factory=dict)


class Setup:
    """Schedules the staff, the lending capital, the members and their KYC."""

    def __init__(self, story: Story) -> None:
        self.story = story
        self.engine = story.engine
        self._decisions: dict[date, _Decisions] = {}

    def schedule(self, capital: int, *, company_cash: int) -> None:
        story, day = self.story, self.story.first_day
        first = capital * 7 // 10
        self.engine.at(
            day, "setup", "setup", lambda lane: _staff(lane, first, company_cash), self._cast
        )
        middle = day + timedelta(days=(story.end - day).days // 2)
        self.engine.at(
            middle,
            "setup",
            "setup",
            lambda lane: pay_in(
                lane, story.cast, capital - first + capital // 5, "Second tranche of capital"
            ),
        )
        batches: dict[tuple[int, int], list[MemberPlan]] = {}
        total = len(story.members)
        for member in story.members:
            key = (1 + member.index * 8 // total, member.index % PEOPLE_LANES)
            batches.setdefault(key, []).append(member)
        for (offset, lane_no), batch in sorted(batches.items()):
            when = day + timedelta(days=offset)
            self.engine.at(
                when,
                "setup",
                f"people:{lane_no}",
                partial(self._enrol, batch=batch),
                partial(self._enrolled, batch, day=when, lane_no=lane_no),
            )

    def _cast(self, cast: Cast) -> None:
        self.story.cast = cast

    def _enrol(self, lane: Lane, batch: list[MemberPlan]) -> list[str]:
        desk = self.story.cast.employee
        return [lane.members.enroll(desk, m.person.name, m.person.phone).id for m in batch]

    def _enrolled(
        self, batch: list[MemberPlan], ids: list[str], *, day: date, lane_no: int
    ) -> None:
        rng, end = self.story.rng, self.story.end
        submits: dict[date, list[MemberPlan]] = {}
        for member, member_id in zip(batch, ids, strict=True):
            member.id = member_id
            if member.kyc == "none":
                continue
            when = day + timedelta(days=rng.randint(1, 4))
            if member.kyc == "pending":
                when = max(end - timedelta(days=rng.randint(0, 20)), day + timedelta(days=1))
            submits.setdefault(min(when, end), []).append(member)
        for when, members in sorted(submits.items()):
            self.engine.at(
                when,
                "setup",
                f"people:{lane_no}",
                partial(self._submit, members=members),
                partial(self._submitted, members, day=when),
            )
        self.story.count("members", len(batch))

    def _submit(self, lane: Lane, members: list[MemberPlan]) -> None:
        for member in members:
            p = member.person
            actor = member.actor if member.self_service else self.story.cast.employee
            lane.kyc.submit(
                actor,
                member.id,
                name=p.name,
                phone=p.phone,
                pan=p.pan,
                aadhaar=p.aadhaar,
                account_number=p.account_number,
                ifsc=p.ifsc,
                documents=_documents(member),
            )

    def _submitted(self, members: list[MemberPlan], _: object, *, day: date) -> None:
        when = day + timedelta(days=2)
        if when > self.story.end:
            return
        decisions = self._decisions.get(when)
        if decisions is None:
            decisions = self._decisions[when] = _Decisions()
            self.engine.at(when, "setup", KYC_DESK, lambda lane: self._decide(lane, decisions))
        for member in members:
            if member.kyc == "approved":
                decisions.approve.append(member.id)
            elif member.kyc == "rejected":
                reason = KYC_REJECTIONS[member.index % len(KYC_REJECTIONS)]
                decisions.reject.setdefault(reason, []).append(member.id)

    def _decide(self, lane: Lane, decisions: _Decisions) -> None:
        cast = self.story.cast
        for start in range(0, len(decisions.approve), 200):
            lane.kyc.approve(cast.checker, decisions.approve[start : start + 200])
        for reason, ids in sorted(decisions.reject.items()):
            lane.kyc.reject(cast.admin, ids, reason)


def _staff(lane: Lane, capital: int, company_cash: int) -> Cast:
    admin_login, desk_login, checker_login = DEMO_STAFF
    admin = lane.staff.create_first_admin(
        admin_login.name, admin_login.username, admin_login.password
    ).actor
    desk, checker = (
        lane.staff.create_staff(admin, s.name, s.username, s.password, s.role).actor
        for s in (desk_login, checker_login)
    )
    cast = Cast(admin, desk, checker)
    pay_in(lane, cast, capital, "Lending capital paid in by the company")
    memo = "Company cash kept for advances to pools short of a prize"
    pay_in(lane, cast, company_cash, memo, into=COMPANY_CASH)
    return cast


def pay_in(lane: Lane, cast: Cast, amount: int, memo: str, *, into: str = LENDING_CASH) -> None:
    """Capital paid in as an office does it: the admin records the bank's credit, the
    checker approves it once it is on the statement."""
    ref = f"NEFT-CAP-{lane.clock.today():%Y%m%d}-{'L' if into == LENDING_CASH else 'C'}"
    lane.capital.propose_capital(cast.admin, amount, into, ref, memo)
    lane.capital.approve_capital(cast.checker, ref, "Credit seen on the bank statement")


def _documents(member: MemberPlan) -> list[Upload]:
    pdf = kyc_pdf(member.person, member.id)
    docs: list[Upload] = [("kyc-documents.pdf", pdf, "application/pdf")]
    if member.index % 4 == 0:
        docs.append(("photo.png", photo_png(member.index), "image/png"))
    return docs


# -- helpers ----------------------------------------------------------------------------


def _has(ctx: ServiceContext, collection: str) -> bool:
    return bool(ctx.store.query(Query(collection).limit(1)))


def _require_empty(ctx: ServiceContext) -> None:
    found = [c for c in (STAFF_ACCOUNTS, MEMBERS, GROUPS) if _has(ctx, c)]
    if found:
        raise Conflict(
            f"The data directory {ctx.data_dir} already has {', '.join(found)}; demo data is "
            "made only in an empty one.",
            hint="Choose a new --data-dir for the demo data.",
        )


def _reporter(ctx: ServiceContext, first: date, progress: Progress | None) -> Any:
    if progress is None:
        return None

    def report(day: date) -> None:
        if day == first or day.day == 1:
            entries = ctx.pipeline.wal.head()[0]
            progress(f"{office_time.day(day)}: {entries:,} changes in the WAL so far")

    return report
