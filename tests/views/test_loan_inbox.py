"""The loan inbox view: models, sorting, badges, maker-checker, the Banker's outcome, live."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import QModelIndex, Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from app.kernel.errors import PermissionDenied
from app.services.actors import SYSTEM, Actor
from app.views.formatting import BAD, GOOD, WARN
from app.views.loan_inbox import LoanInboxView
from app.views.main_window import MainWindow
from tests.lending import LAKH, MEENA, RAVI, add_capital, add_member, unnumbered
from tests.views.builders import opener, shown_with_rows

if TYPE_CHECKING:
    from app.bootstrap import Runtime

Opener = Callable[[Actor, int], LoanInboxView]


def scored_loans(runtime: Runtime) -> list[str]:
    """Three scored applications of ₹1, 2 and 3 lakh (the last one needs review)."""
    loans = runtime.services.loans
    ids = []
    people = [("Priya Raman", "9876500001"), ("Karthik Nair", "9876500002")]
    people.append(("Anil Gupta", "9876500003"))
    for i, (name, phone) in enumerate(people):
        member = add_member(runtime.ctx, name, phone, dues=6 - 2 * i)
        loan_id = loans.apply(RAVI, member, (i + 1) * LAKH, 12 * (i + 1), "Working capital")
        loans.score(SYSTEM, loan_id)
        ids.append(loan_id)
    return ids


@pytest.fixture
def open_view(qtbot: QtBot, runtime: Runtime) -> Iterator[Callable[[Actor, int], LoanInboxView]]:
    """``open_view(actor, rows)``: the inbox, shown once it has ``rows`` rows."""

    def make(actor: Actor, rows: int) -> LoanInboxView:
        return shown_with_rows(qtbot, LoanInboxView(runtime.services, actor), (1100, 760), rows)

    yield from opener(make)


def select(qtbot: QtBot, view: LoanInboxView, loan_id: str) -> None:
    assert view.select_loan(loan_id)
    qtbot.waitUntil(
        lambda: view.pane.detail is not None and view.pane.detail.row.loan_id == loan_id
    )


def settle(qtbot: QtBot, view: LoanInboxView) -> None:
    qtbot.waitUntil(lambda: not view.live.busy and not view.details.busy)


def column(view: LoanInboxView, col: int) -> list[str]:
    proxy = view.proxy
    return [proxy.data(proxy.index(r, col)) for r in range(proxy.rowCount())]


def test_models_pass_the_tester(
    qtbot: QtBot, qtmodeltester: ModelTester, runtime: Runtime, open_view: Opener
) -> None:
    ids = scored_loans(runtime)
    view = open_view(MEENA, 3)
    select(qtbot, view, ids[0])
    for model in (view.model, view.pane.factors, view.pane.schedule):
        assert model.rowCount() > 0
        qtmodeltester.check(model, force_py=True)
        assert model.data(QModelIndex()) is None
    qtmodeltester.check(view.proxy, force_py=True)
    assert view.pane.schedule.rowCount() == 12
    settle(qtbot, view)


def test_amounts_badges_and_sorting(qtbot: QtBot, runtime: Runtime, open_view: Opener) -> None:
    scored_loans(runtime)
    view = open_view(MEENA, 3)
    assert column(view, 2) == ["₹1,00,000.00", "₹2,00,000.00", "₹3,00,000.00"]
    model = view.model
    assert model.data(model.index(0, 2), Qt.ItemDataRole.TextAlignmentRole) & int(
        Qt.AlignmentFlag.AlignRight
    )
    badges = {
        model.data(model.index(r, 6)): model.data(model.index(r, 6), Qt.ItemDataRole.ForegroundRole)
        for r in range(3)
    }
    colours = {GOOD.name(), WARN.name(), BAD.name()}
    assert all(text.startswith("● ") and c.name() in colours for text, c in badges.items())
    view.table.sortByColumn(2, Qt.SortOrder.DescendingOrder)
    assert column(view, 2)[0] == "₹3,00,000.00"
    view.table.sortByColumn(5, Qt.SortOrder.AscendingOrder)
    scores = [int(s) for s in column(view, 5)]
    assert scores == sorted(scores)
    view.search.setText("karthik")
    assert column(view, 1) == ["Karthik Nair"]
    settle(qtbot, view)


def test_loans_are_shown_by_number(qtbot: QtBot, runtime: Runtime, open_view: Opener) -> None:
    ids = scored_loans(runtime)
    unnumbered(runtime.ctx, ids[2])
    view = open_view(MEENA, 3)
    assert view.model.COLUMNS[0] == "Loan"
    assert sorted(column(view, 0)) == sorted(["L-0001", "L-0002", ids[2]])
    select(qtbot, view, ids[1])
    assert "L-0002 · Karthik Nair" in view.pane.heading.text()
    assert ids[1] not in view.pane.heading.text()
    settle(qtbot, view)


def test_buttons_follow_status(qtbot: QtBot, runtime: Runtime, open_view: Opener) -> None:
    first = scored_loans(runtime)[0]
    view = open_view(MEENA, 3)
    select(qtbot, view, first)
    pane = view.pane
    enabled = [b.isEnabled() for b in (pane.recommend, pane.approve, pane.reject, pane.disburse)]
    assert enabled == [True, False, True, False]
    assert pane.factors.rowCount() >= 4
    settle(qtbot, view)


def test_the_recommender_cannot_approve_and_is_told_why(
    qtbot: QtBot, runtime: Runtime, errors: list[BaseException], open_view: Opener
) -> None:
    first = scored_loans(runtime)[0]
    add_capital(runtime.ctx, 5 * LAKH)
    view = open_view(RAVI, 3)
    select(qtbot, view, first)
    view.recommend("Known customer, pays on time")
    qtbot.waitUntil(
        lambda: view.pane.detail is not None and view.pane.detail.row.status == "recommended"
    )
    assert "maker-checker" in view.pane.note.text()
    view.approve("looks fine")
    qtbot.waitUntil(lambda: len(errors) == 1)
    assert isinstance(errors[0], PermissionDenied)
    assert "maker can never check their own action" in str(errors[0])
    assert runtime.services.loans.get(first).data["status"] == "recommended"
    settle(qtbot, view)


def test_approval_shows_the_safe_sequence(
    qtbot: QtBot, runtime: Runtime, errors: list[BaseException], open_view: Opener
) -> None:
    first = scored_loans(runtime)[0]
    add_capital(runtime.ctx, 5 * LAKH)
    runtime.services.loans.recommend(RAVI, first, "Known customer")
    view = open_view(MEENA, 3)
    select(qtbot, view, first)
    view.approve("Checked")
    qtbot.waitUntil(lambda: view.pane.outcome.text() != "")
    assert view.pane.outcome.text().startswith("Approved. Banker's check: the state stays safe.")
    assert "Safe sequence (1): the loan of Priya Raman (L-0001)" in view.pane.outcome.text()
    assert first not in view.pane.outcome.text()  # named, as the payouts pane names them
    qtbot.waitUntil(lambda: view.pane.disburse.isEnabled())
    view.disburse("UTR000123")
    qtbot.waitUntil(lambda: view.pane.outcome.text().startswith("Disbursed."))
    qtbot.waitUntil(lambda: view.model.rowCount() == 2)
    assert errors == []
    settle(qtbot, view)


def test_an_unsafe_approval_names_the_pool_and_commitment(
    qtbot: QtBot, runtime: Runtime, errors: list[BaseException], open_view: Opener
) -> None:
    first = scored_loans(runtime)[0]
    runtime.services.loans.recommend(RAVI, first, "Known customer")
    view = open_view(MEENA, 3)
    select(qtbot, view, first)
    view.approve()
    qtbot.waitUntil(lambda: view.pane.outcome.text() != "")
    text = view.pane.outcome.text()
    assert text.startswith("Refused by the Banker's check")
    assert f"loans/{first}" in text and "cash:lending" in text
    assert errors == []
    assert runtime.services.loans.get(first).data["status"] == "recommended"
    settle(qtbot, view)


def test_a_change_from_another_thread_shows_up_without_a_refresh(
    qtbot: QtBot, runtime: Runtime, open_view: Opener
) -> None:
    first, second, _ = scored_loans(runtime)
    view = open_view(MEENA, 3)
    select(qtbot, view, second)
    done = threading.Event()

    def elsewhere() -> None:
        runtime.services.loans.reject(RAVI, first, "Income not proven")
        runtime.services.loans.recommend(RAVI, second, "Fine")
        done.set()

    threading.Thread(target=elsewhere).start()
    assert done.wait(10)
    qtbot.waitUntil(lambda: view.model.rowCount() == 2)
    qtbot.waitUntil(lambda: view.pane.approve.isEnabled())
    assert "Recommended" in column(view, 7)
    settle(qtbot, view)


def test_all_shows_every_loan_whatever_its_status(
    qtbot: QtBot, runtime: Runtime, open_view: Opener
) -> None:
    ids = scored_loans(runtime)
    runtime.services.loans.reject(MEENA, ids[2], "income proof missing")
    view = open_view(RAVI, 2)
    view.status.setCurrentIndex(view.status.findText("All"))
    qtbot.waitUntil(lambda: not view.live.busy and view.model.rowCount() == 3)
    assert sorted(column(view, 7)) == ["Rejected", "Scored", "Scored"]
    view.status.setCurrentIndex(view.status.findText("Rejected"))
    qtbot.waitUntil(lambda: not view.live.busy and view.model.rowCount() == 1)
    settle(qtbot, view)


def test_factors_and_schedule_have_room_at_the_default_window_size(
    qtbot: QtBot, runtime: Runtime
) -> None:
    """In a 1280×720 main window the factors and a schedule show at least six rows."""
    ids = scored_loans(runtime)
    window = MainWindow(
        runtime.services, SYSTEM, sample=runtime.stats.sample, on_close=lambda: None
    )
    qtbot.addWidget(window)
    window.resize(1280, 720)
    window.show()
    view = window.pages["loan-inbox"]
    assert isinstance(view, LoanInboxView)
    window.go("loan-inbox")
    qtbot.waitUntil(lambda: view.model.rowCount() == 3)
    select(qtbot, view, ids[0])
    pane = view.pane
    for table, rows in ((pane.factor_table, pane.factors), (pane.schedule_table, pane.schedule)):
        pane.show_part(table)
        qtbot.waitUntil(table.isVisible)
        shown = table.viewport().height() // table.rowHeight(0)
        assert shown >= min(6, rows.rowCount()), f"{shown} rows of {rows.rowCount()} fit"
    window.close()
