"""The KPI dashboard (admin): key figures as cards, and three charts.

Charts: the groups' pool over time (from the ledger's transactions by date),
collections against dues per month of the periods' due dates, and open recovery
cases by bucket. Everything, the series included, is computed in a worker thread;
the GUI thread only hands the numbers to pyqtgraph. Redraws when the ledger, dues
or recovery cases change.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import pyqtgraph as pg
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.kernel.errors import NotFound
from app.services.actors import Actor
from app.services.kpis import DEFAULT_RATE_DEFINITION, POOL_PREFIX, Kpis
from app.services.money import format_bps, format_inr, group_indian
from app.services.registry import Services
from app.views.formatting import Reloader
from app.views.live import LiveCollection

if TYPE_CHECKING:
    from app.bootstrap import Runtime

BUCKETS = ("standard", "SMA-0", "SMA-1", "SMA-2", "NPA")
ACCENT, MUTED, DANGER = "#2f7de1", "#aab4c3", "#b3261e"
CARD_STYLE = """
QFrame#kpiCard { background: white; border: 1px solid #d5dae3; border-radius: 6px; }
QLabel#kpiCaption { color: #5a6578; font-size: 9pt; }
QLabel#kpiValue { font-size: 17pt; font-weight: 600; }
QLabel#kpiSub { color: #5a6578; font-size: 8pt; }
"""


@dataclass(frozen=True)
class Series:
    """The charts' numbers; amounts in rupees (floats are for drawing only)."""

    pool_x: list[float] = field(default_factory=list)
    pool_y: list[float] = field(default_factory=list)
    months: list[str] = field(default_factory=list)
    dues: list[float] = field(default_factory=list)
    collected: list[float] = field(default_factory=list)
    bucket_counts: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Dashboard:
    kpis: Kpis
    series: Series


def _timestamp(day: str) -> float:
    return datetime.combine(date.fromisoformat(day[:10]), datetime.min.time(), UTC).timestamp()


def pool_history(services: Services) -> tuple[list[float], list[float]]:
    """The groups' total pool at the end of each day with a posting to it."""
    by_day: dict[str, int] = defaultdict(int)
    for txn in services.ledger.transactions():
        delta = sum(x.debit - x.credit for x in txn.lines if x.account.startswith(POOL_PREFIX))
        if delta:
            by_day[txn.date[:10]] += delta
    xs, ys, total = [], [], 0
    for day in sorted(by_day):
        total += by_day[day]
        xs.append(_timestamp(day))
        ys.append(total / 100)
    return xs, ys


def collections_by_month(services: Services, kpis: Kpis) -> tuple[list[str], list[int], list[int]]:
    """Dues raised and collected (paise), by month of the periods' due dates."""
    expected: dict[str, int] = defaultdict(int)
    collected: dict[str, int] = defaultdict(int)
    for health in kpis.groups:
        for period in range(1, health.periods_done + 1):
            try:
                pc = services.ledger.period_collections(health.group_id, period)
            except NotFound:
                continue
            month = pc.due_date[:7]
            expected[month] += pc.expected
            collected[month] += pc.collected
    months = sorted(expected)
    return months, [expected[m] for m in months], [collected[m] for m in months]


def load_dashboard(services: Services) -> Dashboard:
    """Worker thread: the figures and every chart series."""
    kpis = services.kpis.kpis()
    pool_x, pool_y = pool_history(services)
    months, expected, collected = collections_by_month(services, kpis)
    buckets = Counter(c.bucket for c in services.recovery.cases(open_only=True))
    labels = [datetime.strptime(m, "%Y-%m").strftime("%b %y") for m in months]
    series = Series(
        pool_x,
        pool_y,
        labels,
        [v / 100 for v in expected],
        [v / 100 for v in collected],
        [buckets.get(b, 0) for b in BUCKETS],
    )
    return Dashboard(kpis, series)


class KpiCard(QFrame):
    def __init__(self, caption: str, tooltip: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("kpiCard")
        self.setToolTip(tooltip)
        self.caption = QLabel(caption)
        self.caption.setObjectName("kpiCaption")
        self.value = QLabel("–")
        self.value.setObjectName("kpiValue")
        self.sub = QLabel("")
        self.sub.setObjectName("kpiSub")
        self.sub.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(2)
        for label in (self.caption, self.value, self.sub):
            layout.addWidget(label)

    def show_value(self, value: str, sub: str = "") -> None:
        self.value.setText(value)
        self.sub.setText(sub)


class RupeeAxis(pg.AxisItem):
    """A value axis in whole rupees, grouped the Indian way (3,50,000)."""

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        return [group_indian(round(v)) if v >= 0 else f"-{group_indian(round(-v))}" for v in values]


def _chart(title: str, left: str, bottom: pg.AxisItem | None = None) -> pg.PlotWidget:
    axes: dict[str, pg.AxisItem] = {}
    if bottom is not None:
        axes["bottom"] = bottom
    if left == "rupees":
        axes["left"] = RupeeAxis(orientation="left")
    plot = pg.PlotWidget(background="w", axisItems=axes or None)
    plot.setTitle(title, color="#1d2433", size="10pt")
    plot.setLabel("left", left, color="#5a6578")
    plot.showGrid(x=False, y=True, alpha=0.2)
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    plot.setMinimumHeight(220)
    return plot


def _set_ticks(plot: pg.PlotWidget, labels: list[str]) -> None:
    plot.getAxis("bottom").setTicks([list(enumerate(labels))])


class KpiDashboardView(QWidget):
    """Key figures and charts of the whole firm, live."""

    title = "KPIs"

    def __init__(self, runtime: Runtime, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runtime = runtime
        self.actor = actor
        self.dashboard: Dashboard | None = None
        self.setStyleSheet(CARD_STYLE)
        heading = QLabel("Key figures")
        heading.setObjectName("heading")
        self.as_of = QLabel()
        self.cards = {
            "pool": KpiCard("Total pool", "Cash in every chit group's pool (the members' money)."),
            "members": KpiCard("Active members", "Members holding a ticket in a live group."),
            "default": KpiCard("Default rate", DEFAULT_RATE_DEFINITION),
            "loans": KpiCard("Loans outstanding", "Principal still owed on disbursed loans."),
            "par30": KpiCard("PAR30", "Outstanding principal more than 30 days past due."),
        }
        self.pool_chart = _chart(
            "Pool over time (all groups)", "rupees", pg.DateAxisItem(orientation="bottom")
        )
        self.collections_chart = _chart("Collections vs dues, by month due", "rupees")
        self.collections_chart.addLegend(offset=(-10, 10))
        self.buckets_chart = _chart("Open recovery cases by bucket", "cases")
        _set_ticks(self.buckets_chart, list(BUCKETS))
        self._build_layout(heading)
        services = runtime.services
        self.reloader = Reloader(lambda: lambda: load_dashboard(services), self._show, self)
        self.live = LiveCollection(
            runtime.store, "ledger_txns", "recovery_cases", "groups", debounce_ms=400, parent=self
        )
        self.live.changed.connect(self.refresh)
        self.refresh()

    def _build_layout(self, heading: QLabel) -> None:
        top = QHBoxLayout()
        top.addWidget(heading)
        top.addStretch(1)
        top.addWidget(self.as_of)
        cards = QHBoxLayout()
        for card in self.cards.values():
            cards.addWidget(card, 1)
        charts = QGridLayout()
        charts.addWidget(self.pool_chart, 0, 0, 1, 2)
        charts.addWidget(self.collections_chart, 1, 0)
        charts.addWidget(self.buckets_chart, 1, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(cards)
        layout.addLayout(charts, 1)

    def refresh(self) -> None:
        self.reloader.request()

    def _show(self, dashboard: Dashboard) -> None:
        self.dashboard = dashboard
        self._show_cards(dashboard.kpis)
        self._draw(dashboard.series)

    def _show_cards(self, k: Kpis) -> None:
        self.as_of.setText(f"as of {k.as_of:%d %b %Y}")
        c = self.cards
        c["pool"].show_value(format_inr(k.total_pool), f"{len(k.groups)} groups")
        c["members"].show_value(str(k.active_members))
        c["default"].show_value(
            format_bps(k.default_rate_bps), f"{k.defaulting_members} of {k.active_members}"
        )
        c["default"].setToolTip(k.default_rate_definition)
        c["loans"].show_value(format_inr(k.loans_outstanding), f"{k.loans_count} loans")
        c["par30"].show_value(
            format_bps(k.par30.bps),
            f"{format_inr(k.par30.at_risk)} at risk · {k.par30.loans_at_risk} loans",
        )

    def _draw(self, s: Series) -> None:
        self._draw_pool(s)
        self.collections_chart.clear()
        xs = list(range(len(s.months)))
        self.collections_chart.addItem(
            pg.BarGraphItem(
                x=[x - 0.2 for x in xs], height=s.dues, width=0.38, brush=MUTED, name="Dues"
            )
        )
        self.collections_chart.addItem(
            pg.BarGraphItem(
                x=[x + 0.2 for x in xs],
                height=s.collected,
                width=0.38,
                brush=ACCENT,
                name="Collected",
            )
        )
        _set_ticks(self.collections_chart, s.months)
        self.collections_chart.setYRange(0, max([1.0, *s.dues, *s.collected]) * 1.3)
        self.buckets_chart.clear()
        top = max([1, *s.bucket_counts])
        self.buckets_chart.setYRange(0, top * 1.15)
        if top <= 10:
            self.buckets_chart.getAxis("left").setTickSpacing(1, 1)
        self.buckets_chart.addItem(
            pg.BarGraphItem(
                x=list(range(len(BUCKETS))), height=s.bucket_counts, width=0.6, brush=DANGER
            )
        )

    def _draw_pool(self, s: Series) -> None:
        self.pool_chart.clear()
        if not s.pool_x:
            return
        xs, ys = list(s.pool_x), list(s.pool_y)
        today = _timestamp(self.dashboard.kpis.as_of.isoformat()) if self.dashboard else xs[-1]
        if today > xs[-1]:
            xs.append(today)
            ys.append(ys[-1])
        pen = pg.mkPen(ACCENT, width=2)
        self.pool_chart.plot(xs, ys, pen=pen, symbol="o", symbolSize=5, symbolBrush=ACCENT)
        self.pool_chart.setYRange(0, max([1.0, *ys]) * 1.15)

    def shutdown(self) -> None:
        self.reloader.stop()
        self.live.close()
