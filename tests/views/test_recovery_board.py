"""The recovery board: cards by stage, drag and drop moves through the real service.

The cards come from :func:`tests.views.recovery_history.populate`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QDropEvent
from pytestqt.qtbot import QtBot

from app.bootstrap import Runtime
from app.kernel import office_time
from app.services.actors import SYSTEM
from app.views import recovery_board
from app.views.recovery_board import RecoveryBoardView, card_lines, card_tip, case_mime
from tests.builders import ADMIN2, EMPLOYEE
from tests.views.recovery_history import Seeded


@pytest.fixture
def runtime(seeded_runtime: Runtime) -> Runtime:
    return seeded_runtime


@pytest.fixture
def board(qtbot: QtBot, runtime: Runtime) -> Iterator[RecoveryBoardView]:
    view = RecoveryBoardView(runtime.services, ADMIN2)
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


def test_a_loan_card_shows_the_loan_number(board: RecoveryBoardView) -> None:
    assert board.board is not None
    some = next(c for cards in board.board.columns.values() for c in cards)
    card = replace(some, source="loan", ref="loan-1837acd6fc", subject="L-0007", closed=None)
    assert card_lines(card)["meta"].endswith("· loan\u00a0L-0007")  # kept on one line
    assert "loan L-0007" in card_tip(card) and "loan-1837acd6fc" not in card_tip(card)


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


def card_texts(board: RecoveryBoardView, stage: str) -> dict[str, str]:
    card = board.columns[stage].cards()[0]
    return {label.objectName(): label.text() for label in card.findChildren(recovery_board.QLabel)}


def test_closed_cards_say_how_the_case_ended_not_how_late_it_was(
    qtbot: QtBot, board: RecoveryBoardView, runtime: Runtime, seeded: Seeded
) -> None:
    s, today = runtime.services, runtime.ctx.clock.today()
    net = s.ledger.period_collections(seeded.group_id, 1).net
    owed = {"group_id": seeded.group_id, "period": 1, "member_id": seeded.members[2]}
    s.ledger.record_receipt(
        EMPLOYEE, **owed, amount=net - net // 2, bank_ref="UTR2001", received_on=today
    )
    s.recovery.sweep(SYSTEM)  # the dues are paid: the case is resolved
    s.recovery.move(ADMIN2, seeded.legal_case, "written_off", "Approved: nothing to recover.")
    qtbot.waitUntil(lambda: board.column_of(seeded.legal_case) == "written_off")
    qtbot.waitUntil(lambda: board.column_of(seeded.missed_case) == "resolved")
    shown_today = office_time.day(today)
    resolved = card_texts(board, "resolved")
    assert resolved["cardCleared"] == "Nothing overdue"
    assert resolved["cardMeta"] == f"Resolved {shown_today} · chit dues"
    assert "cardAmount" not in resolved and "₹0.00" not in " ".join(resolved.values())
    lost = card_texts(board, "written_off")
    assert lost["cardLost"].endswith(" written off") and lost["cardLost"].startswith("₹")
    assert lost["cardMeta"].startswith(f"Written off {shown_today} by {ADMIN2.name}")
    assert not any("late" in t or "SMA" in t for t in lost.values())
    written_off = board.columns["written_off"].cards()[0]
    assert written_off.property("pending") is False  # approved: no longer awaiting anyone
    assert board.columns["resolved"].total.text() == "1 · nothing overdue"
    assert board.columns["written_off"].total.text().endswith(" written off")
