"""Key figures of the firm: pools, members, defaults, loans at risk, health per group.

Definitions (also carried in every result, so a screen or a report can show them):

* **Total pool**: the sum of every chit group's cash pool (``cash:group:<g>``
  balances in the ledger). It belongs to the groups' members, not to the company.
* **Active members**: distinct members (not removed) holding a ticket in a group that
  is forming or running.
* **Default rate**: the share of active members with at least one chit instalment
  more than :data:`DEFAULT_AFTER_DAYS` (30) days overdue (not paid in full and due
  more than 30 days before the date), by count of members, in basis points.
* **Defaulters** of a group: its members with any instalment overdue (due before the
  date, not paid in full): those the Chit Funds Act treats as defaulting (they may
  not bid).
* **Loans outstanding**: principal still owed on disbursed loans. **PAR30 / PAR90**:
  the outstanding principal of loans more than 30 / 90 days past due over all of it
  (:func:`app.services.credit.par`).
* **Paid this period**: for the group's latest period with dues raised, how many
  members paid in full and how much was collected of what was expected.
* **Commission earned**: the foreman's commission of every period settled so far
  (less the rounding residue of the shares); *collected* counts the periods whose
  commission has moved to the company's cash.
* **Prize exposure**: for each prized subscriber, the future gross instalments still
  owed (periods not yet settled × G/N; nothing when they chose to have them deducted
  from the prize) against the security they gave; *uncovered* sums what security does
  not cover, and *short of cover* counts those whose security is below 4/3 of what
  they owe (the Chit Funds Act's movable-security rule).

Cost: one pass over each collection it needs (groups, tickets, period summaries,
payouts, disbursed loans, the unpaid dues that are overdue, and the ledger's trial
balance, which the ledger caches until the next commit); no query per member.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from app.kernel import office_time
from app.services import topics
from app.services.collections import GROUPS, LOANS, MEMBERS, PAYOUTS, PERIODS, TICKETS
from app.services.context import ServiceContext
from app.services.credit import LoanExposure, ParResult, par
from app.services.groups import FORMING, RUNNING, WITHDRAWN, Group
from app.services.kpi_series import (
    POOL_PREFIX,
    MonthCollections,
    cases_by_bucket,
    collections_by_month,
    pool_history,
)
from app.services.ledger import Due, LedgerService
from app.services.loans import DISBURSED
from app.services.loans.book import loan_dpd
from app.services.money import format_bps, format_inr, ratio_bps
from app.services.store import Document, Query
from app.services.topics import reads

if TYPE_CHECKING:
    from app.services.recovery import RecoveryService

DEFAULT_AFTER_DAYS = 30
DEFAULT_RATE_DEFINITION = (
    "Share of active members (not removed, holding a ticket in a forming or running group) "
    f"with at least one chit instalment more than {DEFAULT_AFTER_DAYS} days overdue, "
    "by count of members."
)
WATCH_SHARE = 0.1
"""Up to this share of a group's members defaulting, its health is "Watch"; above, "At risk"."""


@dataclass(frozen=True)
class Exposure:
    """Prized subscribers' future instalments against their security (paise)."""

    prized: int = 0
    owed: int = 0
    security_held: int = 0
    uncovered: int = 0
    short_of_cover: int = 0

    def to_json(self) -> dict[str, int]:
        return dict(vars(self))


@dataclass(frozen=True)
class GroupHealth:
    group_id: str
    name: str
    status: str
    members: int
    periods_done: int
    progress_bps: int
    pool: int
    period: int | None
    """The latest period with dues raised (None before the first draw)."""
    paid_count: int
    expected: int
    collected: int
    defaulters: int
    overdue: int
    commission_earned: int
    commission_collected: int
    exposure: Exposure

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in vars(self).items() if k != "exposure"}
        out["exposure"] = self.exposure.to_json()
        return out

    @property
    def verdict(self) -> str:
        """One word: "Healthy" (nobody defaulting), "Watch" (up to 10 % of the members),
        "At risk" (more); "–" for a group not running yet."""
        if self.status in (FORMING, WITHDRAWN):
            return "–"
        if self.defaulters == 0:
            return "Healthy"
        return "Watch" if self.defaulters / self.members <= WATCH_SHARE else "At risk"

    @property
    def reason(self) -> str:
        """The figures behind :attr:`verdict`."""
        if self.status in (FORMING, WITHDRAWN):
            return "Not running yet."
        period = (
            f"Period {self.period}: {self.paid_count}/{self.members} paid, " if self.period else ""
        )
        return (
            f"{period}{format_inr(self.collected)} of {format_inr(self.expected)} collected.\n"
            f"{self.defaulters} defaulting ({format_inr(self.overdue)} overdue). "
            f"Pool {format_inr(self.pool)}; uncovered exposure "
            f"{format_inr(self.exposure.uncovered)}."
        )


@dataclass(frozen=True)
class Kpis:
    as_of: date
    total_pool: int
    active_members: int
    defaulting_members: int
    default_rate_bps: int
    loans_count: int
    loans_outstanding: int
    par30: ParResult
    par90: ParResult
    groups: list[GroupHealth] = field(default_factory=list)
    default_rate_definition: str = DEFAULT_RATE_DEFINITION

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (amounts in paise, rates in basis points) for ``tfos kpis --json``."""
        return {
            "as_of": self.as_of.isoformat(),
            "total_pool": self.total_pool,
            "active_members": self.active_members,
            "default_rate": {
                "bps": self.default_rate_bps,
                "defaulting_members": self.defaulting_members,
                "definition": self.default_rate_definition,
            },
            "loans": {"count": self.loans_count, "outstanding": self.loans_outstanding},
            "par30": _par_json(self.par30),
            "par90": _par_json(self.par90),
            "groups": [g.to_json() for g in self.groups],
        }

    def lines(self) -> list[str]:
        """The same figures for a person to read."""
        out = [
            f"KPIs as of {office_time.day(self.as_of)}",
            f"Total pool: {format_inr(self.total_pool)}",
            f"Active members: {self.active_members}",
            f"Default rate: {format_bps(self.default_rate_bps)} "
            f"({self.defaulting_members} of {self.active_members})",
            f"  {self.default_rate_definition}",
            f"Loans outstanding: {format_inr(self.loans_outstanding)} ({self.loans_count} loans)",
            f"{self.par30.label}, {self.par90.label}",
        ]
        for g in self.groups:
            out.append(
                f"{g.name}: {g.periods_done}/{g.members} periods ({format_bps(g.progress_bps)}), "
                f"pool {format_inr(g.pool)}, period {g.period or '-'} paid "
                f"{g.paid_count}/{g.members}, defaulters {g.defaulters}, commission "
                f"{format_inr(g.commission_earned)}, uncovered exposure "
                f"{format_inr(g.exposure.uncovered)}"
            )
        return out


def _par_json(result: ParResult) -> dict[str, int]:
    return {
        "bps": result.bps,
        "at_risk": result.at_risk,
        "outstanding": result.outstanding,
        "loans_at_risk": result.loans_at_risk,
    }


KPI_TOPICS = (
    topics.GROUPS,
    topics.MEMBERS,
    topics.DUES,
    topics.LEDGER,
    topics.LOANS,
    topics.AUCTIONS,
)
"""What :meth:`KpiService.kpis` reads: groups and tickets, removed members, dues, the
ledger's balances, disbursed loans and prize payouts."""


@dataclass(frozen=True)
class KpiDashboard:
    """The KPI dashboard's figures and chart series (amounts in paise)."""

    kpis: Kpis
    pool: list[tuple[date, int]]
    """The groups' total pool at the end of each day with a posting to a pool."""
    months: list[MonthCollections]
    """Dues raised and collected, by month of the periods' due dates."""
    buckets: dict[str, int]
    """Open recovery cases by bucket, every bucket present, in RBI order."""


class _Facts(NamedTuple):
    """What both the firm's figures and the groups' health are computed from."""

    groups: list[Group]
    tickets: list[Document]
    overdue: list[Due]
    balances: dict[str, int]


@dataclass
class _Periods:
    latest: dict[str, Any] | None = None
    earned: int = 0
    collected_commission: int = 0

    def add(self, d: dict[str, Any]) -> None:
        self.earned += d["foreman_receives"]
        if d.get("commission_txn"):
            self.collected_commission += d["foreman_receives"]
        if self.latest is None or d["period"] > self.latest["period"]:
            self.latest = d


class KpiService:
    """Computes :class:`Kpis` from the store in one pass per collection."""

    def __init__(
        self,
        ctx: ServiceContext,
        *,
        ledger: LedgerService,
        recovery: RecoveryService | None = None,
    ) -> None:
        self.ctx = ctx
        self.ledger = ledger
        self._recovery = recovery

    @reads(*KPI_TOPICS)
    def kpis(self, as_of: date | None = None) -> Kpis:
        day = as_of or self.ctx.clock.today()
        facts = self._facts(day)
        removed = {
            d.id for d in self.ctx.store.stream(Query(MEMBERS).where("status", "==", "removed"))
        }
        live = {g.id for g in facts.groups if g.status in (FORMING, RUNNING)}
        active = {
            t.data["member_id"]
            for t in facts.tickets
            if t.data["group_id"] in live and t.data["member_id"] not in removed
        }
        cutoff = (day - timedelta(days=DEFAULT_AFTER_DAYS)).isoformat()
        defaulting = {d.member_id for d in facts.overdue if d.due_date < cutoff} & active
        book = self._loan_book(day)
        balances = facts.balances
        return Kpis(
            as_of=day,
            total_pool=sum(v for k, v in balances.items() if k.startswith(POOL_PREFIX)),
            active_members=len(active),
            defaulting_members=len(defaulting),
            default_rate_bps=ratio_bps(len(defaulting), len(active)),
            loans_count=len(book),
            loans_outstanding=sum(x.outstanding_principal for x in book),
            par30=par(book, 30),
            par90=par(book, 90),
            groups=self._health(facts),
        )

    @reads(topics.GROUPS, topics.DUES, topics.LEDGER, topics.AUCTIONS)
    def group_health(self, as_of: date | None = None) -> list[GroupHealth]:
        """Every group's health (what :meth:`kpis` reports per group, for less work)."""
        return self._health(self._facts(as_of or self.ctx.clock.today()))

    @reads(*KPI_TOPICS, topics.RECOVERY)
    def dashboard(self, as_of: date | None = None) -> KpiDashboard:
        """The KPI dashboard: the figures, and the series its charts draw."""
        figures = self.kpis(as_of)
        open_cases = self._require_recovery().cases(open_only=True)
        return KpiDashboard(
            figures,
            pool_history(self.ledger.transactions()),
            collections_by_month(self.ledger, figures.groups),
            cases_by_bucket(open_cases),
        )

    def _require_recovery(self) -> RecoveryService:
        if self._recovery is None:
            raise RuntimeError("KpiService needs the recovery service for its dashboard")
        return self._recovery

    def _facts(self, day: date) -> _Facts:
        store = self.ctx.store
        groups = [Group.from_doc(d) for d in store.stream(Query(GROUPS))]
        groups.sort(key=lambda g: (g.created_at, g.name, g.id))
        tickets = list(store.stream(Query(TICKETS)))
        return _Facts(groups, tickets, self.ledger.overdue(day), self.ledger.balances())

    def _loan_book(self, day: date) -> list[LoanExposure]:
        docs = self.ctx.store.stream(Query(LOANS).where("status", "==", DISBURSED))
        return [
            LoanExposure(d.id, d.data.get("outstanding_principal", 0), loan_dpd(d.data, day))
            for d in docs
        ]

    def _health(self, facts: _Facts) -> list[GroupHealth]:
        groups, tickets, overdue, balances = facts
        periods: dict[str, _Periods] = defaultdict(_Periods)
        for doc in self.ctx.store.stream(Query(PERIODS)):
            periods[doc.data["group_id"]].add(doc.data)
        late: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for due in overdue:
            late[due.group_id][due.member_id] += due.outstanding
        exposure = self._exposure(groups, tickets)
        return [
            _group_health(g, balances, periods[g.id], late[g.id], exposure.get(g.id, Exposure()))
            for g in groups
        ]

    def _exposure(self, groups: list[Group], tickets: list[Document]) -> dict[str, Exposure]:
        by_id = {g.id: g for g in groups}
        payouts = {
            (d.data["group_id"], d.data["member_id"]): d.data
            for d in self.ctx.store.stream(Query(PAYOUTS))
        }
        owed_by_group: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for t in tickets:
            group = by_id.get(t.data["group_id"])
            if group is None or t.data.get("prized_period") is None:
                continue
            payout = payouts.get((group.id, t.data["member_id"]), {})
            remaining = max(group.members - group.periods_done, 0)
            owed = (
                0 if payout.get("deduct_future") else remaining * group.agreement.instalment_paise
            )
            owed_by_group[group.id].append((owed, payout.get("security_held", 0)))
        return {gid: _exposure(items) for gid, items in owed_by_group.items()}


def _exposure(items: Iterable[tuple[int, int]]) -> Exposure:
    prized = owed = held = uncovered = short = 0
    for owes, has in items:
        prized += 1
        owed += owes
        held += has
        uncovered += max(owes - has, 0)
        short += int(3 * has < 4 * owes)
    return Exposure(prized, owed, held, uncovered, short)


def _group_health(
    group: Group,
    balances: dict[str, int],
    periods: _Periods,
    late: dict[str, int],
    exposure: Exposure,
) -> GroupHealth:
    latest = periods.latest or {}
    return GroupHealth(
        group_id=group.id,
        name=group.name,
        status=group.status,
        members=group.members,
        periods_done=group.periods_done,
        progress_bps=group.progress_bps,
        pool=balances.get(POOL_PREFIX + group.id, 0),
        period=latest.get("period"),
        paid_count=latest.get("paid_count", 0),
        expected=latest.get("expected", 0),
        collected=latest.get("collected", 0),
        defaulters=len(late),
        overdue=sum(late.values()),
        commission_earned=periods.earned,
        commission_collected=periods.collected_commission,
        exposure=exposure,
    )
