"""The desktop's garbage collector runs on the GUI thread, never on a worker thread."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from typing import ClassVar

import pytest
from pytestqt.qtbot import QtBot

from app.views.collector import GuiThreadCollector


class Cycle:
    """An object in a reference cycle that notes the thread that finally frees it."""

    freed_on: ClassVar[list[str]] = []

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        Cycle.freed_on.append(threading.current_thread().name)


@pytest.fixture
def collector(qtbot: QtBot) -> Iterator[GuiThreadCollector]:
    """A collector of this test's own, started with collection on (as the desktop
    starts it), whatever the test session's fixture left."""
    was = gc.isenabled()
    gc.enable()
    gc.collect()
    Cycle.freed_on.clear()
    running = GuiThreadCollector(interval_ms=20)
    try:
        yield running
    finally:
        running.stop()
        gc.enable() if was else gc.disable()


def _make_garbage_on_a_worker() -> list[list[int]]:
    """Cycles, then far more live objects than the youngest generation's threshold
    (which would have run the collector on the worker); the live objects."""
    kept: list[list[int]] = []

    def work() -> None:
        for _ in range(50):
            Cycle()
        kept.extend([i] for i in range(3 * gc.get_threshold()[0]))

    worker = threading.Thread(target=work, name="worker")
    worker.start()
    worker.join()
    return kept


def test_cycles_made_on_a_worker_are_freed_on_the_gui_thread(
    qtbot: QtBot, collector: GuiThreadCollector
) -> None:
    kept = _make_garbage_on_a_worker()
    assert Cycle.freed_on == []  # the worker passed the threshold without collecting
    qtbot.waitUntil(lambda: len(Cycle.freed_on) == 50, timeout=2000)
    assert set(Cycle.freed_on) == {threading.main_thread().name}
    assert len(kept) > gc.get_threshold()[0]


def test_check_collects_only_when_a_threshold_is_passed(
    qtbot: QtBot, collector: GuiThreadCollector
) -> None:
    gc.collect()
    assert collector.check() is None
    Cycle()
    keep = [[i] for i in range(2 * gc.get_threshold()[0])]
    assert collector.check() == 0
    assert len(keep) > gc.get_threshold()[0]
    assert Cycle.freed_on == [threading.main_thread().name]


def test_stop_gives_collection_back_as_it_was(qtbot: QtBot) -> None:
    was = gc.isenabled()  # off here: the Qt test itself runs under a collector
    try:
        for enabled in (True, False):
            gc.enable() if enabled else gc.disable()
            running = GuiThreadCollector()
            assert not gc.isenabled()
            running.stop()
            assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()
