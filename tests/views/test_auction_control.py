"""Auction control: open a group's auction, watch a bid made elsewhere arrive, close it."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from PySide6.QtCore import QModelIndex
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from app.bootstrap import Runtime
from app.kernel.locks import LockManager
from app.services.actors import Actor
from app.services.auctions import rules
from app.services.auctions.model import lock_name
from app.services.money import format_inr
from app.views import auction_control
from app.views.auction_control import AuctionControlView, countdown
from tests.builders import ADMIN, ADMIN2, CHECKER, EMPLOYEE, sanction
from tests.dates import misdated


def running_group(
    runtime: Runtime, name: str, people: list[str], phone_prefix: str, start: date | None = None
) -> tuple[str, list[str]]:
    """A running group of ``people`` (3 lakh chit) whose period 1 is due on ``start``
    (today unless given)."""
    s = runtime.services
    members = [
        s.members.enroll(ADMIN, n, f"{phone_prefix}{i:02d}").id for i, n in enumerate(people)
    ]
    gid = s.groups.create_group(
        EMPLOYEE,
        name,
        gross_paise=3_00_000_00,
        members=len(people),
        start_date=start or date.today(),
        registration_no=sanction(),
    ).id
    s.groups.approve_terms(CHECKER, gid)
    for m in members:
        s.groups.enroll(EMPLOYEE, gid, m)
    s.groups.start(EMPLOYEE, gid)
    return gid, members


@pytest.fixture
def group(runtime: Runtime) -> tuple[str, list[str]]:
    return running_group(
        runtime, "Kaveri 3L", ["Anil Joshi", "Bela Shah", "Chitra Iyer"], "91234567"
    )


@pytest.fixture
def view(
    qtbot: QtBot, runtime: Runtime, group: tuple[str, list[str]]
) -> Iterator[AuctionControlView]:
    v = AuctionControlView(runtime.services, ADMIN2)
    qtbot.addWidget(v)
    v.resize(1280, 800)
    v.show()
    qtbot.waitUntil(lambda: v.state is not None and v.state.group.id == group[0])
    yield v
    v.shutdown()


def test_the_group_whose_auction_can_open_today_is_chosen_first(
    qtbot: QtBot, runtime: Runtime
) -> None:
    later = date.today() + timedelta(days=10)
    people = ["Anil Joshi", "Bela Shah", "Chitra Iyer"]
    running_group(runtime, "Tungabhadra 3L", people, "91234567", start=later)  # listed first
    today, _ = running_group(runtime, "Kaveri 3L", people, "98765432")
    assert runtime.services.groups.list_groups("running")[0].name == "Tungabhadra 3L"
    v = AuctionControlView(runtime.services, ADMIN2)
    qtbot.addWidget(v)
    v.show()
    qtbot.waitUntil(lambda: v.state is not None)
    assert v.group_id() == today and v.open_button.isEnabled()
    v.shutdown()


def test_countdown_text() -> None:
    assert countdown(599.2) == "10:00"
    assert countdown(59) == "00:59"
    assert countdown(3725) == "1:02:05"


def test_open_watch_a_bid_live_and_close(
    qtbot: QtBot,
    view: AuctionControlView,
    runtime: Runtime,
    group: tuple[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gid, members = group
    assert view.open_button.isEnabled() and not view.close_button.isEnabled()
    view.open_button.click()
    qtbot.waitUntil(lambda: view.state is not None and view.state.is_open)
    auction = view.state.auction  # type: ignore[union-attr]
    assert auction is not None
    assert view.seed_hash.text() == auction.seed_hash
    assert "Asha" not in view.session.text() and "Kiran Admin" in view.session.text()
    assert re.fullmatch(r"\d\d:\d\d", view.clock.text())
    assert view.close_button.isEnabled()

    agreement = runtime.services.groups.get_group(gid).agreement
    floor = rules.discount_floor(agreement)
    bidder = Actor(members[1], "Bela Shah", "member")
    t = threading.Thread(
        target=runtime.services.auctions.bid, args=(bidder, auction.id, members[1], floor)
    )
    t.start()
    t.join()
    qtbot.waitUntil(lambda: view.bids.rowCount() == 1)
    row = [view.bids.data(view.bids.index(0, c)) for c in range(4)]
    alias = runtime.services.auctions.bids(auction.id)[0].alias
    assert row[:3] == ["1", alias, format_inr(floor)]
    assert "Bela" not in alias
    assert re.fullmatch(r"\d\d:\d\d:\d\d IST", row[3])
    assert view.best.text().startswith("₹")

    monkeypatch.setattr(auction_control, "ask_reason", lambda *a: "Everyone has bid.")
    monkeypatch.setattr(auction_control, "ask_present", lambda parent, subs: [members[2]])
    view.close_button.click()
    qtbot.waitUntil(lambda: "Winner" in view.result.text(), timeout=5000)
    closed = runtime.services.auctions.get_auction(auction.id)
    assert closed.status == "closed" and closed.seed
    assert rules.commit_seed(bytes.fromhex(closed.seed)) == auction.seed_hash
    assert view.seed.text() == closed.seed
    assert "seed matches its commitment" in view.result.text()
    assert view.clock.text() == "closed"
    assert runtime.services.auctions.session_holder(gid) is None
    qtbot.waitUntil(lambda: view.session.text() == "not running")


def test_a_session_held_elsewhere_is_named(
    qtbot: QtBot, view: AuctionControlView, runtime: Runtime, group: tuple[str, list[str]]
) -> None:
    other = LockManager(runtime.settings.data_dir / "locks").lock(lock_name(group[0]))
    assert other.try_acquire("auction on another desktop", holder="Ravi Employee (u-emp)")
    try:
        view.refresh()
        qtbot.waitUntil(lambda: "Ravi Employee" in view.session.text())
        since = r"since \d\d [A-Z][a-z]{2} \d{4}, \d\d:\d\d:\d\d IST"  # the office's time
        assert re.search(since, view.session.text()) and not misdated(view.session.text())
    finally:
        other.release()


def test_bids_model_passes_the_model_tester(
    qtbot: QtBot,
    view: AuctionControlView,
    runtime: Runtime,
    group: tuple[str, list[str]],
    qtmodeltester: ModelTester,
) -> None:
    gid, members = group
    auction = runtime.services.auctions.open_auction(EMPLOYEE, gid, 1)
    floor = rules.discount_floor(runtime.services.groups.get_group(gid).agreement)
    for n, m in enumerate(members[:2]):
        runtime.services.auctions.bid(Actor(m, m, "member"), auction.id, m, floor + n * 500_00)
    qtbot.waitUntil(lambda: view.bids.rowCount() == 2)
    qtmodeltester.check(view.bids, force_py=True)
    assert view.bids.data(QModelIndex()) is None
    assert view.bids.data(view.bids.index(0, 0)) == "2"


def test_switching_groups_shows_and_follows_only_the_chosen_group(
    qtbot: QtBot, view: AuctionControlView, runtime: Runtime, group: tuple[str, list[str]]
) -> None:
    s = runtime.services
    first, members = group
    people = ["Dev Anand", "Esha Gupta", "Farah Naaz"]
    other, _ = running_group(runtime, "Godavari 3L", people, "98765432")
    auction = s.auctions.open_auction(EMPLOYEE, first, 1)
    floor = rules.discount_floor(s.groups.get_group(first).agreement)
    s.auctions.bid(Actor(members[0], "Anil Joshi", "member"), auction.id, members[0], floor)
    qtbot.waitUntil(lambda: view.groups.findData(other) >= 0)

    def choose(gid: str) -> None:
        view.groups.setCurrentIndex(view.groups.findData(gid))

    choose(first)
    qtbot.waitUntil(lambda: view.state is not None and view.bids.rowCount() == 1)
    choose(other)
    qtbot.waitUntil(lambda: view.state is not None and view.state.group.id == other)
    assert view.bids.rowCount() == 0
    assert view.open_button.isEnabled() and not view.close_button.isEnabled()
    assert "Godavari" in view.groups.currentText()

    # A bid in the group no longer shown must not reach this view's table.
    s.auctions.bid(Actor(members[1], "Bela Shah", "member"), auction.id, members[1], floor + 500_00)
    qtbot.wait(600)
    assert view.state is not None and view.state.group.id == other
    assert view.bids.rowCount() == 0
    # ...while an auction opened for the chosen group elsewhere does: the view listens to it.
    opener = threading.Thread(target=s.auctions.open_auction, args=(EMPLOYEE, other, 1))
    opener.start()
    opener.join()
    qtbot.waitUntil(lambda: view.state is not None and view.state.is_open)
    assert view.state.group.id == other and view.close_button.isEnabled()

    choose(first)
    qtbot.waitUntil(lambda: view.state is not None and view.state.group.id == first)
    qtbot.waitUntil(lambda: view.bids.rowCount() == 2)
    assert view.close_button.isEnabled()


def test_bidders_and_hashes_fit_at_the_default_window_size(
    qtbot: QtBot, view: AuctionControlView, runtime: Runtime, group: tuple[str, list[str]]
) -> None:
    """In a 1280×720 window the view has 1080×620: every bidder's name shows whole,
    and the long seed and its commitment do not push the window wider."""
    gid, members = group
    s = runtime.services
    auction = s.auctions.open_auction(EMPLOYEE, gid, 1)
    floor = rules.discount_floor(s.groups.get_group(gid).agreement)
    s.auctions.bid(EMPLOYEE, auction.id, members[0], floor, "by phone, 11:02")
    s.auctions.bid(Actor(members[1], "Bela", "member"), auction.id, members[1], floor + 500_00)
    s.auctions.close_auction(ADMIN, auction.id, [members[2]], "test: close now")
    view.resize(1080, 620)
    qtbot.waitUntil(lambda: "Winner" in view.result.text() and view.bids.rowCount() == 2)
    qtbot.wait(50)
    assert view.minimumSizeHint().width() <= 1080
    metrics, table = view.table.fontMetrics(), view.table
    for row in range(view.bids.rowCount()):
        name = view.bids.data(view.bids.index(row, 1))
        assert metrics.horizontalAdvance(name) + 8 <= table.columnWidth(1), name
    assert any(view.bids.data(view.bids.index(r, 1)).endswith("(by staff)") for r in range(2))
