"""The audit viewer: lazy model over a real WAL file, filters, live rows, verify."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from PySide6.QtCore import QDate, QDateTime, QModelIndex, Qt, QTime
from PySide6.QtWidgets import QLabel
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from app.kernel import office_time
from app.kernel.wal_index import WalReader
from app.services.actors import Actor
from app.services.audit_log import AuditLog, WalFilter
from app.services.context import SystemClock
from app.services.pipeline import ChangeSet
from app.services.store import Write
from app.views.audit import AuditModel, AuditView
from tests.views import actor_of, ts_of, write_log
from tests.views.builders import opener

if TYPE_CHECKING:
    from app.bootstrap import Runtime

BIG = 20_000
GATE_TIMEOUT = 30.0


@pytest.fixture(scope="module")
def big_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("audit") / "wal.log"
    write_log(path, BIG)
    return path


@pytest.fixture
def model_for(qtbot: QtBot) -> Iterator[list[AuditModel]]:
    models: list[AuditModel] = []
    yield models
    for model in models:
        model.close()


@pytest.fixture
def open_view(qtbot: QtBot, runtime: Runtime) -> Iterator[Callable[..., AuditView]]:
    """``open_view(poll_ms=...)``: an audit view over the runtime's log, shut down (its
    workers stopped) when the test ends, whatever happens in it."""

    def make(poll_ms: int = 0) -> AuditView:
        view = AuditView(runtime.services, poll_ms=poll_ms)
        qtbot.addWidget(view)
        return view

    yield from opener(make)


def open_model(qtbot: QtBot, models: list[AuditModel], path: Path, poll_ms: int = 0) -> AuditModel:
    model = AuditModel(AuditLog(path, SystemClock()), poll_ms=poll_ms)
    models.append(model)
    wait_idle(qtbot, model)
    return model


def wait_idle(qtbot: QtBot, model: AuditModel) -> None:
    qtbot.waitUntil(lambda: not model.loading and "Opening" not in model.status_text())


def column(model: AuditModel, name: str) -> list[str]:
    c = AuditModel.COLUMNS.index(name)
    return [model.data(model.index(r, c)) for r in range(model.rowCount())]


def test_model_passes_the_model_tester(
    qtbot: QtBot, qtmodeltester: ModelTester, tmp_path: Path, model_for: list[AuditModel]
) -> None:
    path = tmp_path / "wal.log"
    write_log(path, 450)
    model = open_model(qtbot, model_for, path)
    qtmodeltester.check(model, force_py=True)
    wait_idle(qtbot, model)
    assert model.rowCount() >= AuditModel.PAGE
    assert model.data(QModelIndex()) is None
    assert model.data(model.index(0, 99)) is None
    assert model.rowCount(model.index(0, 0)) == 0


def test_twenty_thousand_records_open_newest_first_and_load_lazily(
    qtbot: QtBot, big_log: Path, model_for: list[AuditModel]
) -> None:
    model = open_model(qtbot, model_for, big_log)
    assert model.rowCount() == AuditModel.PAGE
    assert model.total == BIG
    lsns = column(model, "LSN")
    assert lsns[:3] == [str(BIG), str(BIG - 1), str(BIG - 2)]
    assert model.data(model.index(0, 2)) == actor_of(BIG)["name"]
    tooltip = model.data(model.index(0, 1), Qt.ItemDataRole.ToolTipRole)
    assert tooltip.startswith(ts_of(BIG).strftime("%Y-%m-%dT%H:%M")) and "UTC" in tooltip
    assert "20,000 entries" in model.status_text()
    assert model.canFetchMore(QModelIndex())
    model.fetchMore(QModelIndex())
    wait_idle(qtbot, model)
    assert model.rowCount() == 2 * AuditModel.PAGE
    assert column(model, "LSN")[-1] == str(BIG - 2 * AuditModel.PAGE + 1)
    assert model.record(0)["change"]["writes"][0]["data"]["amount"] == BIG * 100


def test_an_actor_filter_shows_only_that_actor(
    qtbot: QtBot, big_log: Path, model_for: list[AuditModel]
) -> None:
    model = open_model(qtbot, model_for, big_log)
    model.set_filter(WalFilter(actor="ravi"))
    wait_idle(qtbot, model)
    expected = [str(n) for n in range(BIG, 0, -1) if actor_of(n)["name"] == "Ravi Kumar"]
    assert column(model, "LSN") == expected[: model.rowCount()]
    assert model.rowCount() >= AuditModel.PAGE
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())
        wait_idle(qtbot, model)
    assert column(model, "LSN") == expected
    assert model.complete and "5,000 matching entries (of 20,000 entries)" in model.status_text()


def test_entity_and_date_filters(qtbot: QtBot, big_log: Path, model_for: list[AuditModel]) -> None:
    model = open_model(qtbot, model_for, big_log)
    model.set_filter(WalFilter(entity_type="loan", since=ts_of(100), until=ts_of(200)))
    wait_idle(qtbot, model)
    assert column(model, "LSN") == [str(n) for n in range(199, 99, -1) if n % 5 == 0]
    assert set(column(model, "Action")) == {"loan.approve"}
    model.set_filter(WalFilter(entity_id="kyc-00000bf"))
    wait_idle(qtbot, model)
    assert column(model, "Entity") == [f"kyc kyc-00000bf{d:x}" for d in (15, 10, 5, 0)]
    model.set_filter(WalFilter(actor="nobody at all"))
    wait_idle(qtbot, model)
    assert model.rowCount() == 0 and model.complete


def test_new_records_appear_at_the_top_even_with_a_filter(
    qtbot: QtBot, qtmodeltester: ModelTester, tmp_path: Path, model_for: list[AuditModel]
) -> None:
    path = tmp_path / "wal.log"
    head = write_log(path, 30)
    model = open_model(qtbot, model_for, path, poll_ms=20)
    qtmodeltester.check(model, force_py=True)
    assert model.rowCount() == 30 and model.complete
    write_log(path, 4, first=31, prev=head)
    qtbot.waitUntil(lambda: model.rowCount() == 34)
    assert column(model, "LSN")[:5] == ["34", "33", "32", "31", "30"]
    assert model.total == 34
    model.set_filter(WalFilter(actor="asha"))
    wait_idle(qtbot, model)
    before = model.rowCount()
    write_log(path, 8, first=35, prev=_head(path))
    qtbot.waitUntil(lambda: model.total == 42)
    qtbot.waitUntil(lambda: model.rowCount() == before + 2)
    assert column(model, "LSN")[:2] == ["40", "36"]


def _head(path: Path) -> str:
    return path.read_bytes().rstrip(b"\n").rsplit(b"\n", 1)[-1][:64].decode()


def test_the_audit_trail_is_headed_like_every_view(
    qtbot: QtBot, runtime: Runtime, open_view: Callable[..., AuditView]
) -> None:
    """The page heading (QLabel#heading, styled by the theme) above the filters."""
    write_log(runtime.pipeline.wal.path, 10)
    view = open_view()
    heading = view.findChild(QLabel, "heading")
    assert heading is not None and heading.text() == "Audit trail"
    assert view.layout().itemAt(0).widget() is heading
    wait_idle(qtbot, view.model)


def test_verify_lists_a_flipped_record(
    qtbot: QtBot, runtime: Runtime, open_view: Callable[..., AuditView]
) -> None:
    wal = runtime.pipeline.wal.path
    write_log(wal, 120)
    data = bytearray(wal.read_bytes())
    at = data.index(b"reason 50")
    data[at + 7] ^= 0x01
    wal.write_bytes(bytes(data))
    view = open_view()
    with qtbot.waitSignal(view.verify.finished, timeout=20_000) as done:
        view.verify.button.click()
    assert not done.args[0].ok
    assert view.verify.broken.rowCount() == 1
    assert view.verify.broken.item(0, 0).text() == "50"
    assert "hash does not match" in view.verify.broken.item(0, 2).text()
    assert "1 damaged record" in view.verify.result.text()


def test_a_change_from_another_thread_shows_up_in_the_open_view(
    qtbot: QtBot, runtime: Runtime, open_view: Callable[..., AuditView]
) -> None:
    view = open_view(poll_ms=50)
    wait_idle(qtbot, view.model)
    assert view.model.rowCount() == 0
    actor = Actor("staff-1", "Asha Rao", "admin")
    write = Write("set", "notes", "n1", {"text": "hello"})
    change = ChangeSet("note.create", "note", "n1", [write], reason="from a thread")
    worker = threading.Thread(target=runtime.pipeline.commit, args=(actor, change))
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: view.model.rowCount() == 1)
    assert column(view.model, "Reason") == ["from a thread"]
    view.table.selectRow(0)
    qtbot.waitUntil(lambda: '"text": "hello"' in view.detail.toPlainText())
    assert "1 entry;" in view.status.text()


def gate_row_reads(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Hold every row read of the audit rows' lane until the returned event is set, so a
    test sees what the table shows while such a read is still under way."""
    gate = threading.Event()
    summaries = AuditLog.summaries

    def held(self: AuditLog, spans: Any) -> Any:
        if threading.current_thread().name.startswith("audit-rows"):
            assert gate.wait(GATE_TIMEOUT), "the test never let the row read go"
        return summaries(self, spans)

    monkeypatch.setattr(AuditLog, "summaries", held)
    return gate


def test_the_table_and_detail_pane_never_read_the_log_on_the_gui_thread(
    qtbot: QtBot,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
    open_view: Callable[..., AuditView],
) -> None:
    """Rows that left the cache are read again in the background (shown as "…"
    meanwhile), and so is the record shown in the detail pane."""
    write_log(runtime.pipeline.wal.path, 600)
    readers: set[str] = set()
    for name in ("read", "read_many", "page", "end", "after"):
        original = getattr(WalReader, name)

        def spy(self: WalReader, *args: Any, _original: Any = original, **kw: Any) -> Any:
            readers.add(threading.current_thread().name)
            return _original(self, *args, **kw)

        monkeypatch.setattr(WalReader, name, spy)
    monkeypatch.setattr(AuditModel, "CACHE", 50)
    gate = gate_row_reads(monkeypatch)
    view = open_view()
    view.resize(1000, 600)
    view.show()
    model = view.model
    wait_idle(qtbot, model)
    model.fetchMore(QModelIndex())
    wait_idle(qtbot, model)
    assert model.rowCount() == 2 * AuditModel.PAGE
    # Row 0 left the cache when the second page came in: it is read again, not on
    # paint; the read is held at the gate until the placeholder has been seen.
    assert model.data(model.index(0, 0)) == "…"
    assert model.data(model.index(0, 0), Qt.ItemDataRole.ToolTipRole) is None
    gate.set()
    qtbot.waitUntil(lambda: model.data(model.index(0, 0)) == "600")
    assert model.data(model.index(1, 0)) == "599"
    view.table.selectRow(5)
    assert view.detail.toPlainText() == "Reading the record…"
    qtbot.waitUntil(lambda: '"lsn": 595' in view.detail.toPlainText())
    view.table.selectRow(7)  # a second selection before the first answer: the last one wins
    view.table.selectRow(8)
    qtbot.waitUntil(lambda: '"lsn": 592' in view.detail.toPlainText())
    qtbot.wait(50)
    assert '"lsn": 592' in view.detail.toPlainText()
    assert readers and threading.main_thread().name not in readers, readers


def test_the_filter_bar_applies_what_is_typed(
    qtbot: QtBot, runtime: Runtime, open_view: Callable[..., AuditView]
) -> None:
    write_log(runtime.pipeline.wal.path, 400)
    view = open_view()
    wait_idle(qtbot, view.model)
    view.filters.actor.setText(" Zoë ")
    view.filters.use_until.setChecked(True)
    wall = office_time.office(ts_of(101))  # the edits hold the office's wall time
    view.filters.until.setDateTime(
        QDateTime(QDate(wall.year, wall.month, wall.day), QTime(wall.hour, wall.minute))
    )
    view.filters.actor.returnPressed.emit()
    wait_idle(qtbot, view.model)
    assert view.model.filter.actor == "Zoë" and view.model.filter.until == ts_of(101)
    assert column(view.model, "LSN") == [str(n) for n in range(100, 0, -1) if n % 4 == 2]
    assert "25 matching entries" in view.status.text()
    view.filters.clear()
    wait_idle(qtbot, view.model)
    assert view.model.filter.is_empty and view.model.rowCount() == AuditModel.PAGE
