"""Every screen writes dates one way and every time with its zone, over the demo data."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QHeaderView, QStyle, QTableView, QWidget
from pytestqt.qtbot import QtBot

from app import config
from app.bootstrap import Runtime, build
from app.kernel import office_time
from app.services.actors import SYSTEM
from app.services.demo import seed_if_empty
from app.views.formatting import Reloader
from app.views.main_window import MainWindow
from tests.dates import misdated
from tests.views.screen_text import screen_texts


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo data ``make run`` seeds, made once for this module."""
    path = tmp_path_factory.mktemp("demo") / "data"
    runtime = build(config.load(environ={}, data_dir=path, port=0))
    try:
        assert seed_if_empty(runtime.ctx) is not None
    finally:
        runtime.close()
    return path


@pytest.fixture(params=["Asia/Kolkata", "Asia/Dubai"])
def window(qtbot: QtBot, demo_dir: Path, request: pytest.FixtureRequest) -> Iterator[MainWindow]:
    """The main window over the demo data, in an office in India or in Dubai."""
    settings = config.load(environ={}, data_dir=demo_dir, port=0, time_zone=request.param)
    runtime: Runtime = build(settings)
    shown = MainWindow(runtime.services, SYSTEM, sample=runtime.stats.sample, on_close=lambda: None)
    qtbot.addWidget(shown)
    shown.resize(1280, 720)
    shown.show()
    yield shown
    shown.close()
    runtime.close()


def settle(qtbot: QtBot, view: QWidget) -> None:
    """Wait until every read the view started has been applied."""
    qtbot.wait(200)
    reloaders = view.findChildren(Reloader)
    qtbot.waitUntil(lambda: not any(r.busy for r in reloaders), timeout=10_000)
    busy = getattr(view, "busy", None)
    if busy is not None:
        qtbot.waitUntil(lambda: not busy(), timeout=10_000)
    qtbot.wait(100)


def test_every_view_and_page_writes_dates_one_way_and_labels_every_time(
    qtbot: QtBot, window: MainWindow
) -> None:
    problems: dict[str, list[str]] = {}
    looked = 0
    dubai = office_time.zone_name() == "Asia/Dubai"
    for view in window.views():
        show_example = getattr(view, "show_example", None)
        if show_example is not None:
            show_example()
        window.stack.setCurrentWidget(view)
        settle(qtbot, view)
        for where, text in screen_texts(view):
            looked += 1
            wrong_zone = ["IST, but the office is in Dubai"] if dubai and "IST" in text else []
            for problem in misdated(text) + wrong_zone:
                problems.setdefault(getattr(view, "title", "?"), []).append(
                    f"{where}: {problem} in {text[:80]!r}"
                )
        cut = [f"cut: {text!r}" for text in cut_dates(view)]
        if cut:
            problems.setdefault(getattr(view, "title", "?"), []).extend(cut)
    assert looked > 500, "the views showed almost nothing: was the demo data loaded?"
    assert not problems, "\n".join(f"{v}: {p}" for v, ps in problems.items() for p in ps[:5])


DATED = re.compile(r"\d\d [A-Z][a-z]{2} \d{4}")


def cut_dates(view: QWidget) -> list[str]:
    """Dates and times in a table column too narrow for them (shown cut, with "…")."""
    cut = []
    for table in view.findChildren(QTableView):
        if not table.isVisible() or (
            table.wordWrap()
            and table.verticalHeader().sectionResizeMode(0)
            == QHeaderView.ResizeMode.ResizeToContents
        ):
            continue
        model, metrics = table.model(), table.fontMetrics()
        # Qt's item delegate keeps this margin each side of a cell's text, then elides.
        margin = table.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, table)
        for row in range(min(model.rowCount(), 30)):
            for column in range(model.columnCount()):
                text = str(model.data(model.index(row, column)) or "")
                room = table.columnWidth(column) - 2 * (margin + 1)
                if DATED.search(text) and metrics.horizontalAdvance(text) > room:
                    cut.append(text)
    return cut
