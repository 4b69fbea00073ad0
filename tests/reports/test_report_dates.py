"""Every PDF writes dates one way and every time with its zone's label."""

from __future__ import annotations

import pytest

from app.services.reports import REPORTS
from tests.dates import misdated
from tests.reports.conftest import Demo
from tests.reports.pdfcheck import text
from tests.reports.test_reports import params_for


@pytest.mark.parametrize("kind", sorted(REPORTS))
def test_every_report_writes_dates_one_way_and_labels_its_times(demo: Demo, kind: str) -> None:
    body = text(demo.render(kind, **params_for(demo)[kind]).pdf)
    assert " IST" in body  # every page's stamp says when the log head was written
    assert not misdated(body), misdated(body)
