"""Test setup: Qt offscreen, a qasync loop for Qt async tests, shared fixtures."""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")

ROOT = Path(__file__).resolve().parents[1]


def _qasync_loop() -> asyncio.AbstractEventLoop:
    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    return qasync.QEventLoop(app)


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Async tests marked ``qasync`` run on a Qt event loop, so Qt signals arrive."""
    if item.get_closest_marker("qasync"):
        return {"qasync": _qasync_loop}
    return {"asyncio": asyncio.new_event_loop}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "qasync: run this async test on a qasync Qt loop")


@pytest.fixture(autouse=True)
def _collect_qt_cycles(request: pytest.FixtureRequest) -> Iterator[None]:
    """Qt objects left in reference cycles by a qasync test are collected here, on the
    GUI thread, not later on some worker thread (where Qt would warn and fail a test)."""
    yield
    if request.node.get_closest_marker("qasync"):
        gc.collect()


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "data"
    path.mkdir()
    yield path
