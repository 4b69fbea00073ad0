"""The activity feed: newest WAL records in plain words, live."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, QRect, Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from app.bootstrap import Runtime
from app.kernel.errors import ValidationError
from app.services.activity import Names, describe
from app.services.audit_log import AuditLog, LineSummary
from app.services.context import SystemClock
from app.views.activity import ActivityModel, ActivityView, ago
from app.views.formatting import BAD
from tests.builders import ADMIN, CHECKER, sanction
from tests.views import ts_of, write_log


@pytest.fixture
def models() -> Iterator[list[ActivityModel]]:
    made: list[ActivityModel] = []
    yield made
    for model in made:
        model.close()


def summary(action: str, entity: tuple[str, str], actor_id: str = "staff-1") -> LineSummary:
    actor = {"id": actor_id, "name": "Asha Rao", "role": "admin"}
    return LineSummary(7, "", actor, action, {"type": entity[0], "id": entity[1]}, "", "", True)


@pytest.mark.parametrize(
    ("action", "entity", "text"),
    [
        (
            "loan.approve",
            ("loan", "loan-3f9a1c2b77"),
            "Asha Rao (admin) approved loan loan-3f9a1c2b77",
        ),
        ("group.create", ("group", "g-1"), "Asha Rao (admin) created group g-1"),
        ("staff.sign_in", ("staff", "staff-1"), "Asha Rao (admin) signed in"),
        ("staff.setup", ("staff", "staff-1"), "Asha Rao (admin) set up this data folder"),
        ("staff.change_role", ("staff", "staff-2"), "Asha Rao (admin) changed the role of staff"),
        ("ledger.fix_up", ("entry", "e-1"), "Asha Rao (admin) did ledger.fix up on entry e-1"),
        ("recovery.write_off", ("recovery_case", "rc-1"), "wrote off recovery case rc-1"),
    ],
)
def test_records_read_as_sentences(action: str, entity: tuple[str, str], text: str) -> None:
    assert text in describe(summary(action, entity))


def test_a_loan_is_named_by_its_member_and_number(runtime: Runtime) -> None:
    s = runtime.services
    member = s.members.enroll(ADMIN, "Neha Naidu", "9876543210")
    loan_id = s.loans.apply(ADMIN, member.id, 50_000_00, 12, "Shop")
    names = Names(runtime.ctx.store)
    line = describe(summary("loan.approve", ("loan", loan_id)), names=names)
    assert line == "Asha Rao (admin) approved the loan of Neha Naidu (L-0001)"
    assert names.number("loan", "loan-gone") == "loan-gone"


def test_relative_times() -> None:
    now = ts_of(1) + timedelta(days=3)
    assert ago(ts_of(1).isoformat(), ts_of(1) + timedelta(seconds=10)) == "just now"
    assert ago(ts_of(1).isoformat(), ts_of(1) + timedelta(minutes=5)) == "5 min ago"
    assert ago(ts_of(1).isoformat(), ts_of(1) + timedelta(hours=3)) == "3 h ago"
    assert ago(ts_of(1).isoformat(), ts_of(1) + timedelta(hours=30)) == "yesterday"
    assert ago(ts_of(1).isoformat(), now) == "01 Jan 2026"
    assert ago("garbage", now) == ""


def open_model(
    qtbot: QtBot, models: list[ActivityModel], path: Path, **kwargs: object
) -> ActivityModel:
    model = ActivityModel(AuditLog(path, SystemClock()), **kwargs)  # type: ignore[arg-type]
    models.append(model)
    return model


def test_model_passes_the_model_tester(
    qtbot: QtBot, qtmodeltester: ModelTester, tmp_path: Path, models: list[ActivityModel]
) -> None:
    path = tmp_path / "wal.log"
    write_log(path, 50)
    model = open_model(qtbot, models, path, poll_ms=0)
    qtbot.waitUntil(lambda: model.rowCount() == 50)
    qtmodeltester.check(model, force_py=True)
    assert model.data(QModelIndex()) is None
    assert model.data(model.index(0, 5)) is None


def test_newest_first_live_and_bounded(
    qtbot: QtBot, qtmodeltester: ModelTester, tmp_path: Path, models: list[ActivityModel]
) -> None:
    path = tmp_path / "wal.log"
    head = write_log(path, 30)
    now = ts_of(30) + timedelta(minutes=2)
    model = open_model(qtbot, models, path, limit=20, poll_ms=20, now=lambda: now)
    qtbot.waitUntil(lambda: model.rowCount() == 20)
    qtmodeltester.check(model, force_py=True)
    assert model.activity(0).summary.lsn == 30
    assert model.activity(19).summary.lsn == 11
    assert model.data(model.index(0, 0)) == "2 min ago"
    assert model.data(model.index(0, 1)) == "Zoë Fernandes (employee) approved loan loan-0000001e"
    assert "LSN 30" in model.data(model.index(0, 1), Qt.ItemDataRole.ToolTipRole)
    write_log(path, 3, first=31, prev=head)
    qtbot.waitUntil(lambda: model.activity(0).summary.lsn == 33)
    assert model.rowCount() == 20
    assert [model.activity(r).summary.lsn for r in (0, 1, 2, 3, 19)] == [33, 32, 31, 30, 14]


def test_an_empty_log_then_a_first_record(
    qtbot: QtBot, tmp_path: Path, models: list[ActivityModel]
) -> None:
    path = tmp_path / "wal.log"
    model = open_model(qtbot, models, path, poll_ms=20, now=lambda: datetime.now().astimezone())
    qtbot.wait(60)
    assert model.rowCount() == 0
    write_log(path, 1)
    qtbot.waitUntil(lambda: model.rowCount() == 1)


@pytest.fixture
def view(qtbot: QtBot, runtime: Runtime) -> Iterator[ActivityView]:
    shown = ActivityView(runtime.services, poll_ms=20)
    qtbot.addWidget(shown)
    yield shown
    shown.shutdown()


def test_an_unreadable_log_is_said_then_cleared_and_nothing_shown_is_lost(
    qtbot: QtBot, runtime: Runtime, view: ActivityView
) -> None:
    """The feed's own failure path: the log cannot be read (here its path turns into a
    folder); the view says so, keeps what it showed, and recovers by itself."""
    wal_path = runtime.pipeline.wal.path
    for n in range(3):
        runtime.services.members.enroll(ADMIN, f"Member {'ABC'[n]}", f"98765432{n:02d}")
    view.show()
    qtbot.waitUntil(lambda: view.model.rowCount() == 3)
    moved = wal_path.with_name("wal.log.moved")
    wal_path.rename(moved)
    wal_path.mkdir()
    try:
        qtbot.waitUntil(lambda: view.status.isVisible())
        assert view.status.text().startswith("Could not read the activity log:")
        assert str(wal_path) in view.status.text()
        assert view.model.rowCount() == 3
    finally:
        wal_path.rmdir()
        moved.rename(wal_path)
    qtbot.waitUntil(lambda: not view.status.isVisible())
    assert view.model.rowCount() == 3
    newest = runtime.services.members.enroll(ADMIN, "Member D", "9876543203")
    qtbot.waitUntil(lambda: view.model.rowCount() == 4)
    assert view.model.activity(0).summary.action == "member.enroll"
    assert view.model.data(view.model.index(0, 1)).endswith(f"enrolled {newest.name} as a member")


def test_a_failed_sign_in_shows_as_a_failure_in_red(
    qtbot: QtBot, runtime: Runtime, view: ActivityView
) -> None:
    staff = runtime.services.staff
    staff.create_first_admin("Asha Rao", "asha", "Correct-horse-9")
    with pytest.raises(ValidationError):
        staff.sign_in("asha", "Wrong-horse-9")
    staff.sign_in("asha", "Correct-horse-9")
    view.show()
    qtbot.waitUntil(lambda: view.model.rowCount() == 3)
    model = view.model
    texts = [model.data(model.index(r, 1)) for r in range(3)]
    assert texts[0] == "Asha Rao (admin) signed in to the desktop"
    assert texts[1] == (
        "A desktop sign-in as asha failed (wrong username or password; 1 failure in a row)"
    )
    colours = [model.data(model.index(r, 1), Qt.ItemDataRole.ForegroundRole) for r in range(3)]
    assert colours == [None, BAD, None]


def test_the_feed_names_people_and_groups_and_cuts_nothing(
    qtbot: QtBot, runtime: Runtime, view: ActivityView
) -> None:
    s = runtime.services
    member = s.members.enroll(ADMIN, "Neha Naidu", "9876543210")
    group = s.groups.create_group(
        ADMIN,
        "Chennai 5 Lakh Chit 01",
        gross_paise=5_00_000_00,
        members=20,
        start_date=runtime.ctx.clock.today(),
        registration_no=sanction(),
    )
    s.groups.approve_terms(CHECKER, group.id)
    s.groups.enroll(ADMIN, group.id, member.id)
    view.resize(360, 400)  # narrower than the sentences: they must wrap
    view.show()
    qtbot.waitUntil(lambda: view.model.rowCount() == 4)
    model, table = view.model, view.table
    approved = model.data(model.index(1, 1))
    assert (
        approved
        == "Farah Checker (employee) approved the terms of the group Chennai 5 Lakh Chit 01"
    )
    newest = model.data(model.index(0, 1))
    assert newest.endswith("allotted ticket 1 of Chennai 5 Lakh Chit 01 to Neha Naidu")
    assert "…" not in newest and "mem-" not in newest
    metrics = table.fontMetrics()
    for row in range(4):
        rect = table.visualRect(model.index(row, 1))
        text = model.data(model.index(row, 1))
        room = QRect(0, 0, rect.width() - 8, 10_000)
        needed = metrics.boundingRect(room, Qt.TextFlag.TextWordWrap, text)
        assert needed.height() <= rect.height(), f"row {row} is cut: {text!r}"
