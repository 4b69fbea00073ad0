"""Every table of the desktop is declared with views/table.py, and each model is run
through Qt's model tester: here empty, and in its view's tests with rows."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester

import app.views.shell  # noqa: F401 (imports every view, so every model is defined)
from app.views.table import RowsModel

ROOT = Path(__file__).resolve().parents[2]
TESTED_WITH_ROWS = {
    "ActivityModel": "tests/views/test_activity.py",
    "ApprovalsModel": "tests/views/test_collections_view.py",
    "ChequesModel": "tests/views/test_collections_view.py",
    "DuesModel": "tests/views/test_collections_view.py",
    "ReceiptsModel": "tests/views/test_collections_view.py",
    "StatementModel": "tests/views/test_statement_import_view.py",
    "AuditModel": "tests/views/test_audit.py",
    "BidsModel": "tests/views/test_auction_control.py",
    "CandidatesModel": "tests/views/test_group_new.py",
    "DefaultersModel": "tests/views/test_group_detail.py",
    "FormingModel": "tests/views/test_group_new.py",
    "GroupPayoutsModel": "tests/views/test_group_detail.py",
    "PeriodsModel": "tests/views/test_group_detail.py",
    "TicketsModel": "tests/views/test_group_detail.py",
    "FactorModel": "tests/views/test_loan_inbox.py",
    "GroupsModel": "tests/views/test_groups_view.py",
    "KycQueueModel": "tests/views/test_kyc_view.py",
    "LoanTableModel": "tests/views/test_loan_inbox.py",
    "MemberMatchesModel": "tests/views/test_kyc_capture.py",
    "PayoutsModel": "tests/views/test_payouts_view.py",
    "PayInsWaitingModel": "tests/views/test_capital_view.py",
    "PayInsDecidedModel": "tests/views/test_capital_view.py",
    "ScheduleModel": "tests/views/test_loan_inbox.py",
    "StaffModel": "tests/views/test_staff_admin.py",
    "MemberRegisterModel": "tests/views/test_members_view.py",
    "ProfileTicketsModel": "tests/views/test_member_profile_view.py",
    "ProfileDuesModel": "tests/views/test_member_profile_view.py",
    "ProfileReceiptsModel": "tests/views/test_member_profile_view.py",
    "ProfilePayoutsModel": "tests/views/test_member_profile_view.py",
    "ProfileLoansModel": "tests/views/test_member_profile_view.py",
    "ProfileCasesModel": "tests/views/test_member_profile_view.py",
    "ProfileDocumentsModel": "tests/views/test_member_profile_view.py",
    "ProfileAgreementsModel": "tests/views/test_member_profile_view.py",
    "ProfileTimelineModel": "tests/views/test_member_profile_view.py",
}
"""Each model, and the test module that checks it with rows (a new model is added here
with its test, or this test fails)."""


def models() -> dict[str, type[RowsModel]]:  # type: ignore[type-arg]
    found: dict[str, type[RowsModel]] = {}  # type: ignore[type-arg]
    todo = list(RowsModel.__subclasses__())
    while todo:
        cls = todo.pop()
        assert cls.__name__ not in found, f"two table models are called {cls.__name__}"
        found[cls.__name__] = cls
        todo += cls.__subclasses__()
    return found


def test_every_table_model_is_declared_and_tested_with_rows() -> None:
    assert set(models()) == set(TESTED_WITH_ROWS)
    for name, module in TESTED_WITH_ROWS.items():
        source = (ROOT / module).read_text(encoding="utf-8")
        assert "qtmodeltester.check" in source, (name, module)


SIMPLE = sorted(set(TESTED_WITH_ROWS) - {"ActivityModel", "AuditModel"})


@pytest.mark.parametrize("name", SIMPLE)
def test_an_empty_model_passes_the_tester(name: str, qtmodeltester: ModelTester) -> None:
    model = models()[name]()
    qtmodeltester.check(model, force_py=True)
    assert model.columnCount() == len(model.columns) == len(model.COLUMNS) > 0
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(len(model.columns))]
    assert headers == list(model.COLUMNS)
