"""The KPI dashboard's chart series, computed from the ledger and the recovery cases.

Amounts stay in paise and days are dates; drawing them is the screen's job.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, get_args

from app.kernel.errors import NotFound
from app.services.credit import Bucket
from app.services.ledger import LedgerService, Txn

if TYPE_CHECKING:
    from app.services.kpis import GroupHealth
    from app.services.recovery import Case

POOL_PREFIX = "cash:group:"
BUCKETS: tuple[str, ...] = get_args(Bucket)
"""The RBI buckets, from current to NPA."""


@dataclass(frozen=True)
class MonthCollections:
    month: str
    """``YYYY-MM`` of the periods' due dates."""
    expected: int
    collected: int


def pool_history(txns: Iterable[Txn]) -> list[tuple[date, int]]:
    """The groups' total pool at the end of each day with a posting to it."""
    by_day: dict[str, int] = defaultdict(int)
    for txn in txns:
        delta = sum(x.debit - x.credit for x in txn.lines if x.account.startswith(POOL_PREFIX))
        if delta:
            by_day[txn.date[:10]] += delta
    points, total = [], 0
    for day in sorted(by_day):
        total += by_day[day]
        points.append((date.fromisoformat(day), total))
    return points


def collections_by_month(
    ledger: LedgerService, groups: Iterable[GroupHealth]
) -> list[MonthCollections]:
    """Dues raised and collected, by month of the periods' due dates."""
    expected: dict[str, int] = defaultdict(int)
    collected: dict[str, int] = defaultdict(int)
    for health in groups:
        for period in range(1, health.periods_done + 1):
            try:
                pc = ledger.period_collections(health.group_id, period)
            except NotFound:
                continue
            month = pc.due_date[:7]
            expected[month] += pc.expected
            collected[month] += pc.collected
    return [MonthCollections(m, expected[m], collected[m]) for m in sorted(expected)]


def cases_by_bucket(cases: Iterable[Case]) -> dict[str, int]:
    """How many of ``cases`` are in each bucket (every bucket present, in order)."""
    counts = Counter(c.bucket for c in cases)
    return {bucket: counts.get(bucket, 0) for bucket in BUCKETS}
