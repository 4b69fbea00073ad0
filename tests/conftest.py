"""Test setup: Qt offscreen, a qasync loop for Qt async tests, shared fixtures.

Data the tests share lives in :mod:`tests.builders` and :mod:`tests.lending`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from app.kernel import office_time
from app.services.context import FixedClock, ServiceContext, close_context, make_context
from tests.firestore_emulator import REQUIRED, SKIP_REASON, Emulator, EmulatorMissing

if TYPE_CHECKING:
    from app.services.store.firestore import FirestoreStore

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")

ROOT = Path(__file__).resolve().parents[1]
pytest_plugins = ["tests.query_shapes"]  # every query the code makes has its Firestore index


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
    """A Qt test collects cyclic garbage as the desktop does: on the GUI thread only
    (:class:`app.views.collector.GuiThreadCollector`), never on a worker thread, where a
    freed Qt wrapper crashes the run in the collector (a full ``make test`` segfaulted so,
    in the store's listener thread and in test_group_new); what is left is collected
    here, at the end of the test, still on the GUI thread."""
    if not (request.node.get_closest_marker("qasync") or "qtbot" in request.fixturenames):
        yield
        return
    request.getfixturevalue("qapp")
    from app.views.collector import GuiThreadCollector

    collector = GuiThreadCollector()
    try:
        yield
    finally:
        collector.stop()


@pytest.fixture(autouse=True)
def _office_zone() -> Iterator[None]:
    """Every test starts, and leaves, showing times in the default zone (India)."""
    office_time.use_zone(office_time.DEFAULT_ZONE)
    yield
    office_time.use_zone(office_time.DEFAULT_ZONE)


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "data"
    path.mkdir(mode=0o700)  # as the app makes it: no "made private" warning in every test
    yield path


@pytest.fixture
def clock() -> FixedClock:
    """The services' "now"; a module overrides it to set its own date."""
    return FixedClock(datetime(2026, 11, 24, 5, 0, tzinfo=UTC))


@pytest.fixture
def ctx(data_dir: Path, clock: FixedClock) -> Iterator[ServiceContext]:
    """Services' context over a fresh data folder (real SQLite store and WAL)."""
    context = make_context(data_dir, clock=clock)
    yield context
    close_context(context)


# -- the Firestore emulator -------------------------------------------------------------


@pytest.fixture(scope="session")
def firestore_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """One gcloud Firestore emulator for the session, named by FIRESTORE_EMULATOR_HOST
    (child processes inherit it); a missing one fails under ``make test``."""
    try:
        emulator = Emulator(tmp_path_factory.mktemp("firestore"))
    except EmulatorMissing as exc:
        if REQUIRED:
            pytest.fail(f"TFOS_REQUIRE_FIRESTORE is set but {exc}")
        pytest.skip(f"{SKIP_REASON} ({exc})")
    from app.services.store.firestore_client import EMULATOR_ENV

    previous = os.environ.get(EMULATOR_ENV)
    os.environ[EMULATOR_ENV] = emulator.host
    try:
        yield emulator
    finally:
        if previous is None:
            os.environ.pop(EMULATOR_ENV, None)
        else:
            os.environ[EMULATOR_ENV] = previous
        emulator.stop()


@pytest.fixture
def firestore_project(firestore_emulator: Emulator) -> str:
    """A fresh, empty emulator project for one test."""
    return firestore_emulator.new_project()


@pytest.fixture
def firestore_store(firestore_project: str) -> Iterator[FirestoreStore]:
    from app.services.store.firestore import FirestoreStore

    store = FirestoreStore.open(firestore_project)
    yield store
    store.close()
