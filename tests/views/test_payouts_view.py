"""The prize payouts view on real widgets: the clock's colours, the security form with
its 4/3 check, maker-checker release, the Banker's refusal named, and an advance."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import QModelIndex, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QDialogButtonBox
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from app.services.actors import Actor
from app.services.ledger.postings import COMPANY_CASH, group_cash
from app.views.formatting import BAD, WARN
from app.views.payout_dialogs import ReleaseDialog, SecurityDialog
from app.views.payouts import PayoutsView
from tests.lending import (
    ADMIN,
    LAKH,
    MEENA,
    RAVI,
    add_member,
    chit_group,
    chit_of_four,
    fund_pool,
    pending_payout,
)
from tests.views.builders import opener, shown_with_rows
from tests.views.drive import outcome, pane_shows, settle

if TYPE_CHECKING:
    from app.bootstrap import Runtime

Opener = Callable[[Actor, int], PayoutsView]
NET = 18_750_00


@dataclass(frozen=True)
class Drawn:
    group_id: str
    members: list[str]
    payout_id: str


def draw(runtime: Runtime) -> Drawn:
    """A chit of four whose period 1 was drawn today (₹30,000 discount: prize ₹70,000,
    future instalments ₹75,000, so ₹1,00,000 of movable security)."""
    gid, members = chit_of_four(runtime.ctx, "Kaveri Chit")
    room = runtime.services.auctions
    auction = room.open_auction(RAVI, gid, 1, duration_s=60)
    room.bid(Actor(members[0], "Subscriber A", "member"), auction.id, members[0], 30_000_00)
    closed = room.close_auction(ADMIN, auction.id, members[1:3], "The hall closes early")
    return Drawn(gid, members, closed.payout_id)


def pay(runtime: Runtime, drawn: Drawn, *who: int) -> None:
    for n in who:
        runtime.services.ledger.record_receipt(
            RAVI, group_id=drawn.group_id, period=1, member_id=drawn.members[n], amount=NET,
            bank_ref=f"UTR-VIEW-{n}", received_on=runtime.services.clock.today(),
        )  # fmt: skip


@pytest.fixture
def open_view(qtbot: QtBot, runtime: Runtime) -> Iterator[Opener]:
    """``open_view(actor, rows)``: the payouts view, shown once it has ``rows`` rows."""

    def make(actor: Actor, rows: int) -> PayoutsView:
        return shown_with_rows(qtbot, PayoutsView(runtime.services, actor), (1080, 700), rows)

    yield from opener(make)


def test_the_model_and_the_clock_colours(
    qtbot: QtBot, qtmodeltester: ModelTester, runtime: Runtime, open_view: Opener
) -> None:
    drawn = draw(runtime)
    winner = add_member(runtime.ctx, "Kavitha Subramanian", "+919811111111")
    old = pending_payout(runtime.ctx, chit_group(runtime.ctx), winner)  # due by 17 Jan 2026
    view = open_view(MEENA, 2)
    qtmodeltester.check(view.model, force_py=True)
    assert view.model.data(QModelIndex()) is None
    rows = {view.model.row(r).id: r for r in range(2)}
    model = view.model
    fresh, late = model.index(rows[drawn.payout_id], 1), model.index(rows[old], 1)
    assert model.data(fresh) == "7 days left"
    assert model.data(fresh, Qt.ItemDataRole.ForegroundRole) == WARN
    assert str(model.data(late)).startswith("overdue by ")
    assert model.data(late, Qt.ItemDataRole.ForegroundRole) == BAD
    assert rows[old] == 0  # the soonest deadline first
    assert "1 overdue" in view.summary.text()
    settle(qtbot, view)


def test_the_security_form_checks_four_thirds_as_it_is_typed(
    qtbot: QtBot, runtime: Runtime, open_view: Opener
) -> None:
    drawn = draw(runtime)
    view = open_view(RAVI, 1)
    pane_shows(qtbot, view, drawn.payout_id, "None yet")
    assert view.pane.buttons["secure"].isEnabled()
    assert view.pane.detail is not None
    dialog = SecurityDialog(view.pane.detail, view)
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert not ok.isEnabled()
    qtbot.keyClicks(dialog.value, "99,999.99")
    qtbot.keyClicks(dialog.description, "Two salaried guarantors")
    assert "is short by ₹0.01 of the ₹1,00,000.00 required" in dialog.check.text()
    assert BAD.name() in dialog.check.styleSheet() and ok.isEnabled()
    dialog.value.setText("1,00,000")
    assert dialog.check.text().startswith("₹1,00,000.00 covers the ₹1,00,000.00 required")
    dialog.kind.setCurrentIndex(dialog.kind.findData("property"))
    assert "₹1,12,500.00 required" in dialog.check.text()
    dialog.value.setText("12x")
    assert not ok.isEnabled()


def test_recording_security_through_the_button_and_dialog(
    qtbot: QtBot, runtime: Runtime, errors: list[BaseException], open_view: Opener
) -> None:
    drawn = draw(runtime)
    view = open_view(RAVI, 1)
    pane_shows(qtbot, view, drawn.payout_id, "None yet")

    def fill() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, SecurityDialog)
        dialog.kind.setCurrentIndex(dialog.kind.findData("deposit"))
        qtbot.keyClicks(dialog.value, "1,00,000")
        qtbot.keyClicks(dialog.description, "FD receipt 4411, Canara Bank")
        qtbot.keyClick(dialog.description, Qt.Key.Key_Return)  # Enter accepts the form

    QTimer.singleShot(0, fill)
    qtbot.mouseClick(view.pane.buttons["secure"], Qt.MouseButton.LeftButton)
    assert outcome(qtbot, view) == "Security recorded: ₹1,00,000.00 of ₹1,00,000.00 required."
    pane_shows(qtbot, view, drawn.payout_id, "Deposit pledged ₹1,00,000.00")
    qtbot.waitUntil(lambda: view.pane.buttons["request"].isEnabled())
    assert errors == []
    settle(qtbot, view)


def test_escape_cancels_the_security_form_and_records_nothing(
    qtbot: QtBot, runtime: Runtime, open_view: Opener
) -> None:
    drawn = draw(runtime)
    view = open_view(RAVI, 1)
    pane_shows(qtbot, view, drawn.payout_id)
    results: list[int] = []

    def escape() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, SecurityDialog)
        qtbot.keyClicks(dialog.value, "1,00,000")
        qtbot.keyClick(dialog.value, Qt.Key.Key_Return)  # no description yet: OK is disabled
        results.append(dialog.isVisible())
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)
        results.append(dialog.result())

    QTimer.singleShot(0, escape)
    qtbot.mouseClick(view.pane.buttons["secure"], Qt.MouseButton.LeftButton)
    assert results == [True, QDialog.DialogCode.Rejected]
    assert runtime.services.payouts.payout_data(drawn.payout_id)["security_held"] == 0
    settle(qtbot, view)


def test_the_maker_asks_and_a_second_person_releases(
    qtbot: QtBot, runtime: Runtime, errors: list[BaseException], open_view: Opener
) -> None:
    drawn = draw(runtime)
    pay(runtime, drawn, 0, 1, 2, 3)
    payouts = runtime.services.payouts
    payouts.record_security(RAVI, drawn.payout_id, LAKH, kind="guarantor", description="P. Raman")
    maker = open_view(RAVI, 1)
    pane_shows(qtbot, maker, drawn.payout_id, "Guarantor")
    maker.request_release("Verified the guarantor")
    assert outcome(qtbot, maker) == "Release asked for: a second person releases it now."
    qtbot.waitUntil(lambda: "You asked for this release" in maker.pane.note.text())
    assert not maker.pane.buttons["release"].isEnabled()
    maker.release()  # the button is off; the service refuses it too, and says why
    qtbot.waitUntil(lambda: "maker can never check" in maker.pane.outcome.text())

    checker = open_view(MEENA, 1)
    pane_shows(qtbot, checker, drawn.payout_id, "Release asked for")
    assert checker.pane.buttons["release"].isEnabled()
    checker.release("NEFT-99001")
    text = outcome(qtbot, checker)
    assert text == (
        "Released ₹70,000.00. Banker's check: granted, the pool stays safe. "
        "Safe sequence (1): the prize of period 1 of Kaveri Chit."
    )
    assert payouts.payout_data(drawn.payout_id)["status"] == "released"
    assert errors == []
    for view in (maker, checker):
        settle(qtbot, view)


def test_a_short_pool_is_refused_with_the_pool_and_prize_named(
    qtbot: QtBot, runtime: Runtime, errors: list[BaseException], open_view: Opener
) -> None:
    drawn = draw(runtime)
    pay(runtime, drawn, 0, 1)
    payouts = runtime.services.payouts
    payouts.record_security(RAVI, drawn.payout_id, LAKH, kind="guarantor", description="P. Raman")
    payouts.request_release(RAVI, drawn.payout_id)
    view = open_view(MEENA, 1)
    pane_shows(qtbot, view, drawn.payout_id, "Releasing it is refused")
    assert (
        "the pool of Kaveri Chit holds ₹32,500.00 of the ₹70,000.00 needed "
        "(short by ₹37,500.00)" in view.pane.text.text()
    )
    view.release()
    text = outcome(qtbot, view)
    assert text.startswith("Not done: The prize of period 1 of ")
    assert "from the pool of " in text and "but only " in text
    assert group_cash(drawn.group_id) not in text and drawn.payout_id not in text
    assert BAD.name() in view.pane.outcome.styleSheet()
    assert errors == []
    settle(qtbot, view)


def test_an_advance_proposed_approved_and_the_prize_released(
    qtbot: QtBot, runtime: Runtime, errors: list[BaseException], open_view: Opener
) -> None:
    drawn = draw(runtime)
    pay(runtime, drawn, 0, 1)
    runtime.services.ledger.add_capital(ADMIN, LAKH, "For advances", into=COMPANY_CASH)
    payouts = runtime.services.payouts
    payouts.record_security(RAVI, drawn.payout_id, LAKH, kind="guarantor", description="P. Raman")
    payouts.request_release(RAVI, drawn.payout_id)
    maker = open_view(RAVI, 1)
    pane_shows(qtbot, maker, drawn.payout_id, "Advancing ₹37,500.00 is granted")
    assert maker.pane.buttons["propose"].isEnabled()
    maker.propose_advance("C and D pay on Monday; the prize is due on Friday")
    assert outcome(qtbot, maker) == "Advance of ₹37,500.00 proposed: a second person approves it."
    qtbot.waitUntil(lambda: "You proposed the advance" in maker.pane.note.text())
    assert not maker.pane.buttons["approve"].isEnabled()

    checker = open_view(MEENA, 1)
    pane_shows(qtbot, checker, drawn.payout_id, "proposed by Ravi")
    assert checker.pane.buttons["approve"].isEnabled()
    checker.approve_advance("Checked the dues register")
    assert outcome(qtbot, checker) == (
        "Advance granted by the Banker's check and posted. "
        "Safe sequence (1): the advance for the prize of period 1 of Kaveri Chit."
    )
    pane_shows(qtbot, checker, drawn.payout_id, "Releasing it is granted")
    posted = "₹37,500.00 advanced from company cash (Meena"
    assert posted in checker.pane.text.text()
    checker.release()
    qtbot.waitUntil(lambda: checker.pane.outcome.text().startswith("Released ₹70,000.00"))
    assert "the prize of period 1 of Kaveri Chit" in checker.pane.outcome.text()
    assert runtime.services.ledger.pool(drawn.group_id) == 0
    released = "Released</b> <span>by Meena"  # the pane still shows the prize, now paid …
    qtbot.waitUntil(lambda: released in checker.pane.text.text())
    assert posted in checker.pane.text.text()  # … and the advance that paid part of it
    assert errors == []
    for view in (maker, checker):
        settle(qtbot, view)


def test_a_late_release_asks_why(qtbot: QtBot, runtime: Runtime, open_view: Opener) -> None:
    winner = add_member(runtime.ctx, "Kavitha Subramanian", "+919811111111")
    group_id = chit_group(runtime.ctx)
    fund_pool(runtime.ctx, group_id, 70_00_000)
    payout_id = pending_payout(runtime.ctx, group_id, winner)
    runtime.services.payouts.deduct_future(RAVI, payout_id, "Winner's letter")
    runtime.services.payouts.request_release(RAVI, payout_id)
    view = open_view(MEENA, 1)
    pane_shows(qtbot, view, payout_id, "overdue by")
    assert view.pane.detail is not None
    dialog = ReleaseDialog(view.pane.detail, view)
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert dialog.late and not ok.isEnabled()
    qtbot.keyClicks(dialog.reason, "The winner's bank account was frozen")
    assert ok.isEnabled()
    view.release(reason=dialog.text())
    qtbot.waitUntil(lambda: view.pane.outcome.text().startswith("Released"))
    assert runtime.services.payouts.payout_data(payout_id)["late_reason"] == dialog.text()
    settle(qtbot, view)
