"""The dashboard: the four figures, in Indian format, updated live."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from pytestqt.qtbot import QtBot

from app.services.actors import SYSTEM
from app.views.dashboard import DashboardView
from tests.lending import LAKH, MEENA, RAVI, add_capital, add_member
from tests.views.builders import opener, submit_kyc

if TYPE_CHECKING:
    from app.bootstrap import Runtime


@pytest.fixture
def open_view(qtbot: QtBot, runtime: Runtime) -> Iterator[Callable[[], DashboardView]]:
    """``open_view()``: the dashboard, shown once its figures are in."""

    def make() -> DashboardView:
        view = DashboardView(runtime.services, MEENA)
        qtbot.addWidget(view)
        view.show()
        qtbot.waitUntil(lambda: view.summary is not None and not view.live.busy)
        return view

    yield from opener(make)


def test_an_empty_data_folder_shows_zeros(
    qtbot: QtBot, runtime: Runtime, open_view: Callable[[], DashboardView]
) -> None:
    view = open_view()
    assert view.kyc.value.text() == "0"
    assert view.loans.value.text() == "0"
    assert view.overdue.detail.text() == "no open recovery cases"
    assert view.collections.value.text() == "₹0.00"


def test_figures_follow_changes_made_on_another_thread(
    qtbot: QtBot, runtime: Runtime, open_view: Callable[[], DashboardView]
) -> None:
    submit_kyc(runtime, "Lakshmi Devi", "9876543210", 0)
    view = open_view()
    assert view.kyc.value.text() == "1"
    loans = runtime.services.loans
    done = threading.Event()

    def elsewhere() -> None:
        submit_kyc(runtime, "Arun Kumar", "9123456789", 1)
        member = add_member(runtime.ctx, "Priya Raman", "9876500001")
        add_capital(runtime.ctx, 5 * LAKH)
        loan_id = loans.apply(RAVI, member, 2 * LAKH, 12, "Working capital")
        loans.score(SYSTEM, loan_id)
        loans.recommend(RAVI, loan_id, "Known customer")
        loans.approve(MEENA, loan_id)
        loans.disburse(MEENA, loan_id)
        loans.record_emi(RAVI, loan_id, 12_345_67, "UTR42", runtime.ctx.clock.today())
        loans.apply(RAVI, member, LAKH, 6, "Second shop")
        done.set()

    threading.Thread(target=elsewhere).start()
    assert done.wait(10)
    qtbot.waitUntil(lambda: view.kyc.value.text() == "2")
    qtbot.waitUntil(lambda: view.collections.value.text() == "₹12,345.67")
    qtbot.waitUntil(lambda: view.loans.value.text() == "1")
    assert view.collections.detail.text() == "1 receipt recorded today"
    qtbot.waitUntil(lambda: not view.live.busy)


CHILD = """
import sys
from pathlib import Path
from app import bootstrap, config
from tests.views.builders import opener, submit_kyc

runtime = bootstrap.build(config.load(environ={}, data_dir=Path(sys.argv[1]), port=0))
try:
    submit_kyc(runtime, "Arun Kumar", "9123456789", 1)
finally:
    runtime.close()
"""


def test_a_change_made_by_another_process_shows_up(
    qtbot: QtBot, runtime: Runtime, open_view: Callable[[], DashboardView]
) -> None:
    submit_kyc(runtime, "Lakshmi Devi", "9876543210", 0)
    view = open_view()
    assert view.kyc.value.text() == "1"
    root = Path(__file__).resolve().parents[2]
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(runtime.settings.data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert child.returncode == 0, child.stderr
    qtbot.waitUntil(lambda: view.kyc.value.text() == "2", timeout=5000)
