"""The recovery board: cards by stage, drag and drop moves through the real service.

``populate`` builds a small real history (also used by the other view tests): a
running group whose period 1 was auctioned 75 days ago, three members who did not pay
in full, and the recovery cases the sweep opened for them, moved through the stages.
It runs on a FixedClock context that is closed before the runtime opens the data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QDropEvent
from pytestqt.qtbot import QtBot

import app.config
from app.bootstrap import Runtime, build
from app.services import auction_rules
from app.services.actors import SYSTEM, Actor
from app.services.auctions import AuctionService
from app.services.context import FixedClock, ServiceContext, close_context, make_context
from app.services.groups import GroupService
from app.services.ledger import LedgerService
from app.services.members import MemberService
from app.services.recovery import RecoveryService
from app.views import recovery_board
from app.views.recovery_board import RecoveryBoardView, case_mime

ADMIN = Actor("u-admin", "Asha Admin", "admin")
ADMIN2 = Actor("u-admin2", "Kiran Admin", "admin")
EMPLOYEE = Actor("u-emp", "Ravi Employee", "employee")
R = 100
NAMES = ["Lakshmi Devi", "Arun Kumar", "Devika Rao", "Zoya Khan", "Imran Sheikh", "Meera Nair"]


@dataclass(frozen=True)
class Seeded:
    group_id: str
    forming_group_id: str
    members: list[str]
    missed_case: str
    notice_case: str
    legal_case: str


def _at(ctx: ServiceContext, day: date) -> None:
    clock = ctx.clock
    assert isinstance(clock, FixedClock)
    clock.set(datetime.combine(day, time(5, 0), UTC))


def _settle_period_one(ctx: ServiceContext, group_id: str, members: list[str]) -> None:
    room = AuctionService(ctx)
    auction = room.open_auction(EMPLOYEE, group_id, 1)
    group = GroupService(ctx).get_group(group_id)
    bidder = Actor(members[0], NAMES[0], "member")
    room.bid(bidder, auction.id, members[0], auction_rules.discount_floor(group.agreement) * 2)
    clock = ctx.clock
    assert isinstance(clock, FixedClock)
    clock.advance(seconds=601)
    room.close_auction(EMPLOYEE, auction.id, present=[members[1]])


def _pay(ctx: ServiceContext, gid: str, member: str, amount: int, ref: str) -> None:
    LedgerService(ctx).record_receipt(
        EMPLOYEE,
        group_id=gid,
        period=1,
        member_id=member,
        amount=amount,
        bank_ref=ref,
        received_on=ctx.clock.today(),
    )


def _walk_cases(ctx: ServiceContext, base: date, m: list[str]) -> dict[str, str]:
    rec = RecoveryService(ctx)
    _at(ctx, base + timedelta(days=40))
    rec.sweep(SYSTEM)
    case = {c.member_id: c.id for c in rec.cases(open_only=True)}
    for stage in ("contacted", "notice", "follow_up", "legal"):
        rec.move(EMPLOYEE, case[m[1]], stage, f"Escalated to {stage}.")
    rec.request_write_off(ADMIN, case[m[1]], "Member left the city; no assets found.")
    rec.move(EMPLOYEE, case[m[3]], "contacted", "Called; promised to pay.")
    _at(ctx, base + timedelta(days=70))
    rec.move(EMPLOYEE, case[m[3]], "notice", "Promise not kept; written notice.")
    _at(ctx, base + timedelta(days=75))
    rec.sweep(SYSTEM)
    return {"missed": case[m[2]], "notice": case[m[3]], "legal": case[m[1]]}


def populate(data_dir: Path) -> Seeded:
    """A real history ending today (see the module docstring)."""
    base = date.today() - timedelta(days=75)
    ctx = make_context(data_dir, clock=FixedClock(datetime.combine(base, time(5, 0), UTC)))
    try:
        people = MemberService(ctx)
        m = [people.enroll(ADMIN, n, f"98765432{i:02d}").id for i, n in enumerate(NAMES)]
        groups = GroupService(ctx)
        terms = {"gross_paise": 4_00_000 * R, "members": 4, "bid_step_paise": 500 * R}
        gid = groups.create_group(EMPLOYEE, "Shanti 4L", start_date=base, **terms).id  # type: ignore[arg-type]
        for mid in m[:4]:
            groups.enroll(EMPLOYEE, gid, mid)
        groups.start(EMPLOYEE, gid)
        _settle_period_one(ctx, gid, m)
        net = LedgerService(ctx).period_collections(gid, 1).net
        _pay(ctx, gid, m[0], net, "UTR1001")
        _pay(ctx, gid, m[2], net // 2, "UTR1002")
        later = base + timedelta(days=90)
        forming = groups.create_group(
            EMPLOYEE, "Lakshmi 10L", gross_paise=10_00_000 * R, members=10, start_date=later
        ).id
        for mid in m[4:]:
            groups.enroll(EMPLOYEE, forming, mid)
        cases = _walk_cases(ctx, base, m)
    finally:
        close_context(ctx)
    return Seeded(gid, forming, m, cases["missed"], cases["notice"], cases["legal"])


def open_runtime(data_dir: Path) -> Runtime:
    return build(app.config.load(environ={}, data_dir=data_dir))


@pytest.fixture
def seeded(data_dir: Path) -> Seeded:
    return populate(data_dir)


@pytest.fixture
def runtime(data_dir: Path, seeded: Seeded) -> Iterator[Runtime]:
    rt = open_runtime(data_dir)
    yield rt
    rt.close()


@pytest.fixture
def board(qtbot: QtBot, runtime: Runtime) -> Iterator[RecoveryBoardView]:
    view = RecoveryBoardView(runtime, ADMIN2)
    qtbot.addWidget(view)
    view.resize(1280, 800)
    view.show()
    qtbot.waitUntil(lambda: view.board is not None)
    yield view
    view.shutdown()


def drop(view: RecoveryBoardView, case_id: str, stage: str) -> None:
    """What Qt delivers when a card is dropped on ``stage``'s column."""
    column = view.columns[stage]
    mime = case_mime(case_id)
    event = QDropEvent(
        QPointF(20, 40),
        Qt.DropAction.MoveAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    column.dropEvent(event)
    assert event.isAccepted()


def answer_notes(monkeypatch: pytest.MonkeyPatch, answer: str | None) -> list[str]:
    asked: list[str] = []

    def fake(parent: object, title: str, label: str) -> str | None:
        asked.append(label)
        return answer

    monkeypatch.setattr(recovery_board, "ask_note", fake)
    return asked


def test_cards_sit_in_their_stage_columns(board: RecoveryBoardView, seeded: Seeded) -> None:
    assert board.column_of(seeded.missed_case) == "missed"
    assert board.column_of(seeded.notice_case) == "notice"
    assert board.column_of(seeded.legal_case) == "legal"
    notice = board.columns["notice"].cards()[0]
    texts = [label.text() for label in notice.findChildren(recovery_board.QLabel)]
    assert "Zoya Khan" in texts
    assert any(t.startswith("₹") and "," in t for t in texts)
    assert any("days late" in t and "SMA" in t for t in texts)
    assert any(t.startswith("Reinstatement if paid by ") for t in texts)
    legal = board.columns["legal"].cards()[0]
    legal_texts = [label.text() for label in legal.findChildren(recovery_board.QLabel)]
    assert any("Write-off requested by Asha Admin" in t for t in legal_texts)
    assert board.columns["missed"].total.text().startswith("1 · ₹")


def test_a_legal_move_lands_in_the_new_column_and_the_store(
    qtbot: QtBot,
    board: RecoveryBoardView,
    runtime: Runtime,
    seeded: Seeded,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = answer_notes(monkeypatch, "Phoned the member; will pay Friday.")
    drop(board, seeded.missed_case, "contacted")
    qtbot.waitUntil(lambda: runtime.services.recovery.get(seeded.missed_case).stage == "contacted")
    qtbot.waitUntil(lambda: board.column_of(seeded.missed_case) == "contacted")
    assert asked and "Contacted" in asked[0]
    case = runtime.services.recovery.get(seeded.missed_case)
    assert case.history[-1]["note"] == "Phoned the member; will pay Friday."
    assert case.history[-1]["by"] == ADMIN2.id
    assert not board.message.isVisible()


def test_an_illegal_move_is_refused_and_the_card_returns(
    qtbot: QtBot,
    board: RecoveryBoardView,
    runtime: Runtime,
    seeded: Seeded,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answer_notes(monkeypatch, "Straight to court.")
    drop(board, seeded.missed_case, "legal")
    qtbot.waitUntil(board.message.isVisible)
    assert "one stage at a time" in board.message.text()
    qtbot.waitUntil(lambda: board.column_of(seeded.missed_case) == "missed")
    assert runtime.services.recovery.get(seeded.missed_case).stage == "missed"


def test_cancelling_the_note_moves_nothing(
    qtbot: QtBot,
    board: RecoveryBoardView,
    runtime: Runtime,
    seeded: Seeded,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = answer_notes(monkeypatch, None)
    drop(board, seeded.missed_case, "contacted")
    qtbot.waitUntil(lambda: bool(asked))
    qtbot.wait(50)
    assert board.column_of(seeded.missed_case) == "missed"
    assert runtime.services.recovery.get(seeded.missed_case).stage == "missed"


def test_a_second_person_approves_the_write_off(
    qtbot: QtBot,
    board: RecoveryBoardView,
    runtime: Runtime,
    seeded: Seeded,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answer_notes(monkeypatch, "Approved: nothing recoverable.")
    drop(board, seeded.legal_case, "written_off")
    qtbot.waitUntil(lambda: runtime.services.recovery.get(seeded.legal_case).stage == "written_off")
    qtbot.waitUntil(lambda: board.column_of(seeded.legal_case) == "written_off")


def test_a_change_from_another_thread_shows_up(
    qtbot: QtBot, board: RecoveryBoardView, runtime: Runtime, seeded: Seeded
) -> None:
    import threading

    worker = threading.Thread(
        target=runtime.services.recovery.move,
        args=(EMPLOYEE, seeded.notice_case, "follow_up", "Visited the member."),
    )
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: board.column_of(seeded.notice_case) == "follow_up")
