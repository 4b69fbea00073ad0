"""Live views: topic changes become one coalesced Qt signal; a read model is read
again when its topics change, and nothing happens after close."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from app.bootstrap import Runtime
from app.services import topics
from app.services.topics import reads
from app.views.live import LiveReadModel, LiveTopics
from tests.builders import ADMIN


def enroll(runtime: Runtime, n: int) -> None:
    runtime.services.members.enroll(ADMIN, f"Member {'ABCDEFGH'[n]}", f"98765432{n:02d}")


@pytest.fixture
def live(qtbot: QtBot, runtime: Runtime) -> Iterator[LiveTopics]:
    made = LiveTopics(runtime.services.topics, [topics.MEMBERS], debounce_ms=50)
    qtbot.waitUntil(lambda: all(w.primed for w in runtime.services.topics._watches.values()))
    yield made
    made.close()


def test_a_burst_of_changes_is_one_signal(qtbot: QtBot, runtime: Runtime, live: LiveTopics) -> None:
    fired: list[int] = []
    live.changed.connect(lambda: fired.append(1))
    for n in range(3):
        enroll(runtime, n)
    qtbot.waitUntil(lambda: fired == [1])
    qtbot.wait(200)
    assert fired == [1]


def test_other_topics_and_closed_listeners_stay_quiet(
    qtbot: QtBot, runtime: Runtime, live: LiveTopics
) -> None:
    fired: list[int] = []
    live.changed.connect(lambda: fired.append(1))
    runtime.services.ledger.add_capital(ADMIN, 1_000_00, "capital is a ledger change")
    qtbot.wait(300)
    assert fired == []
    news = threading.Thread(target=live._heard, args=(frozenset({topics.MEMBERS}),))
    news.start()  # as the store's listener thread does: the signal is queued to us
    news.join()
    live.close()  # before the queued change is handled: it must not come out
    qtbot.wait(300)
    assert fired == []


class Counter:
    """A read model that counts its reads (topics: members)."""

    def __init__(self) -> None:
        self.reads: list[Any] = []

    @reads(topics.MEMBERS)
    def read(self, *args: Any) -> int:
        self.reads.append(args)
        return len(self.reads)


def test_a_read_model_is_read_now_and_again_on_its_topics(qtbot: QtBot, runtime: Runtime) -> None:
    widget = QWidget()
    qtbot.addWidget(widget)
    model, shown = Counter(), []
    chosen: list[tuple[str] | None] = [("first",)]
    live = LiveReadModel(
        runtime.services.topics, model.read, shown.append, widget, args=lambda: chosen[0]
    )
    qtbot.waitUntil(lambda: shown == [1])
    assert model.reads == [("first",)]
    chosen[0] = None  # nothing chosen: nothing is read, the view is told so
    live.refresh()
    qtbot.waitUntil(lambda: shown == [1, None])
    chosen[0] = ("second",)
    qtbot.waitUntil(lambda: all(w.primed for w in runtime.services.topics._watches.values()))
    enroll(runtime, 0)
    qtbot.waitUntil(lambda: shown == [1, None, 2])
    assert model.reads[-1] == ("second",)
    live.close()
    enroll(runtime, 1)
    qtbot.wait(300)
    assert shown == [1, None, 2]
