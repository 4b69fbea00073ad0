"""The KPI dashboard (admin): key figures as cards, and three charts.

Charts: the groups' pool over time (from the ledger's transactions by date),
collections against dues per month of the periods' due dates, and open recovery
cases by bucket. The figures and series are the KPI service's dashboard, read in a
worker thread; the GUI thread only scales them for pyqtgraph. Redraws when the
topics the dashboard names change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pyqtgraph as pg
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.kernel import office_time
from app.services.actors import Actor
from app.services.kpi_series import BUCKETS
from app.services.kpis import DEFAULT_RATE_DEFINITION, KpiDashboard, Kpis
from app.services.money import format_bps, format_inr, group_indian
from app.services.registry import Services
from app.views.live import LiveReadModel

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


def _timestamp(day: date) -> float:
    return datetime.combine(day, datetime.min.time(), UTC).timestamp()


def series_of(d: KpiDashboard) -> Series:
    """What pyqtgraph draws, from the service's dashboard (paise to rupees, dates to
    timestamps, months to labels)."""
    return Series(
        [_timestamp(day) for day, _ in d.pool],
        [total / 100 for _, total in d.pool],
        [office_time.month(m.month + "-01") for m in d.months],
        [m.expected / 100 for m in d.months],
        [m.collected / 100 for m in d.months],
        [d.buckets[b] for b in BUCKETS],
    )


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

    def __init__(self, services: Services, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actor = actor
        self.dashboard: KpiDashboard | None = None
        self.series = Series()
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
        self.live = LiveReadModel(
            services.topics, services.kpis.dashboard, self._show, self, debounce_ms=400
        )

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
        self.live.refresh()

    def _show(self, dashboard: KpiDashboard) -> None:
        self.dashboard = dashboard
        self.series = series_of(dashboard)
        self._show_cards(dashboard.kpis)
        self._draw(self.series)

    def _show_cards(self, k: Kpis) -> None:
        self.as_of.setText(f"as of {office_time.day(k.as_of)}")
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
        today = _timestamp(self.dashboard.kpis.as_of) if self.dashboard else xs[-1]
        if today > xs[-1]:
            xs.append(today)
            ys.append(ys[-1])
        pen = pg.mkPen(ACCENT, width=2)
        self.pool_chart.plot(xs, ys, pen=pen, symbol="o", symbolSize=5, symbolBrush=ACCENT)
        self.pool_chart.setYRange(0, max([1.0, *ys]) * 1.15)

    def shutdown(self) -> None:
        self.live.close()
