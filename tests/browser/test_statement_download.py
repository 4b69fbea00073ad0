"""A member downloads their own statement from the web view, in Chromium."""

from __future__ import annotations

from hashlib import sha256
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import PHONE_SIZE, Served, sign_in
from tests.browser.world import own_history

pytestmark = [pytest.mark.browser]


def test_the_timeline_links_to_the_members_statement_pdf(
    browser: Any, served: Served, shoot: Any, tmp_path: Path
) -> None:
    own_history(served.runtime, served.world)
    page = browser.new_page(viewport=PHONE_SIZE)
    sign_in(page, served, served.world.phones[0])
    page.click("nav a[data-route=timeline]")
    page.wait_for_selector("#timeline li")
    shoot(page, "timeline-statement-link")
    with page.expect_download() as info:
        page.click("#statement")
    download = info.value
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    pdf = saved.read_bytes()
    asha = served.world.members[0]
    assert saved.name.startswith(f"statement-{asha}-") and pdf.startswith(b"%PDF-")
    record = list(served.runtime.pipeline.read())[-1]
    assert record.action == "report.export" and record.actor["id"] == asha
    assert record.change["event"]["sha256"] == sha256(pdf).hexdigest()
