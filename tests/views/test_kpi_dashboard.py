"""The KPI dashboard: figures and chart series from the real services, drawn."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from app.bootstrap import Runtime
from app.services.kpi_series import BUCKETS
from app.services.kpis import DEFAULT_RATE_DEFINITION
from app.views.kpi_dashboard import KpiDashboardView, series_of
from tests.builders import ADMIN, ADMIN2


@pytest.fixture
def runtime(seeded_runtime: Runtime) -> Runtime:
    return seeded_runtime


def test_series_follow_the_ledger_and_the_cases(runtime: Runtime) -> None:
    d = runtime.services.kpis.dashboard()
    s = series_of(d)
    pool = runtime.services.kpis.kpis().total_pool
    assert s.pool_y and s.pool_y[-1] == pool / 100
    assert s.pool_x == sorted(s.pool_x)
    assert len(s.months) == 1 and len(s.dues) == 1
    collected = runtime.services.ledger.period_collections(d.kpis.groups[0].group_id, 1)
    assert s.dues == [collected.expected / 100]
    assert s.collected == [collected.collected / 100] and s.collected[0] < s.dues[0]
    assert sum(s.bucket_counts) == 3 and len(s.bucket_counts) == len(BUCKETS)


@pytest.fixture
def view(qtbot: QtBot, runtime: Runtime) -> Iterator[KpiDashboardView]:
    shown = KpiDashboardView(runtime.services, ADMIN2)
    qtbot.addWidget(shown)
    yield shown
    shown.shutdown()


def test_dashboard_renders_cards_and_charts(
    qtbot: QtBot, runtime: Runtime, view: KpiDashboardView
) -> None:
    view.resize(1280, 800)
    view.show()
    qtbot.waitUntil(lambda: view.dashboard is not None)
    assert view.dashboard is not None
    k = view.dashboard.kpis
    assert view.cards["members"].value.text() == str(k.active_members) == "6"
    assert view.cards["pool"].value.text().startswith("₹")
    assert view.cards["default"].toolTip() == DEFAULT_RATE_DEFINITION
    assert view.cards["default"].value.text().endswith("%")
    assert len(view.pool_chart.listDataItems()) == 1
    bars = view.buckets_chart.getPlotItem().items
    assert len(bars) == 1
    assert not view.grab().isNull()
    runtime.services.ledger.add_capital(ADMIN, 5_00_000_00, "Seed capital")
    before = view.dashboard
    qtbot.waitUntil(lambda: view.dashboard is not before)
