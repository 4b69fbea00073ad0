"""The reports view's live preview names every account, as the PDF reports do."""

from __future__ import annotations

import re

from pytestqt.qtbot import QtBot

from app.bootstrap import Runtime
from app.views.reports import ReportsView
from tests.builders import ADMIN

RAW_KEY = re.compile(r"\b(cash|receivable|loans|chitfund|income|equity):[\w*-]")


def test_the_preview_names_accounts_not_ledger_keys(qtbot: QtBot, seeded_runtime: Runtime) -> None:
    view = ReportsView(seeded_runtime.services, ADMIN)
    qtbot.addWidget(view)
    try:
        qtbot.waitUntil(lambda: "TRIAL BALANCE" in view.preview.toPlainText())
        text = view.preview.toPlainText()
        group = seeded_runtime.services.groups.list_groups()[0].name
        assert f"Pool — {group}" in text
        assert f"Members' dues — {group} (" in text and "members)" in text
        assert "Company cash" in text or "Lending cash" in text
        assert not RAW_KEY.findall(text), RAW_KEY.findall(text)
    finally:
        view.shutdown()
