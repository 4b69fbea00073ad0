"""The member web view in the system Chromium, against a real server over real data."""

from __future__ import annotations

import re
from typing import Any

import pytest

from app.services.actors import Actor
from tests.browser.conftest import PHONE_SIZE, Served, sign_in
from tests.browser.world import STAFF, open_auction

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ADMIN = Actor("adm-1", "Anil (admin)", "admin")


def test_member_signs_in_applies_for_a_loan_and_signs_the_agreement(
    browser: Any, served: Served, shoot: Any
) -> None:
    page = browser.new_page(viewport=PHONE_SIZE)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(served.url)
    page.wait_for_selector("#phone")
    shoot(page, "01-signin")
    sign_in(page, served, served.world.phones[0])
    assert page.inner_text("#who-phone").endswith("3210") and "98765" not in page.inner_text(
        "#who-phone"
    )
    page.wait_for_selector("#badge.ok")
    shoot(page, "02-dashboard")

    page.click("nav a[data-route=loans]")
    page.click("text=Apply for a loan")
    page.wait_for_selector("#emi")
    first = page.inner_text("#emi")
    page.fill("#amount", "1,20,000")
    page.wait_for_function("(old) => document.querySelector('#emi').innerText !== old", arg=first)
    second = page.inner_text("#emi")
    assert re.fullmatch(r"₹[\d,]+\.\d\d", second) and second != first
    page.click("summary")
    assert page.locator(".schedule tbody tr").count() == 12
    page.fill("#purpose", "shop stock")
    shoot(page, "03-loan-preview")
    page.click("#loan-form button[type=submit]")
    page.wait_for_selector("#loans li.fresh .pill:has-text('submitted')")
    loan_id = page.get_attribute("#loans li.fresh", "data-loan")
    assert loan_id in [r.loan_id for r in served.runtime.services.loans.inbox()]
    served.runtime.services.loans.reject(STAFF, loan_id, "income proof missing")
    page.wait_for_selector("#loans li.fresh .pill:has-text('rejected')")
    shoot(page, "04-loans-live")

    gid = served.world.group_id
    page.goto(served.url + f"#/groups/{gid}/agreement")
    page.wait_for_selector("ol.clauses li")
    assert page.is_disabled("#sign")
    page.check("#read")
    page.click("#sign")
    page.wait_for_selector("#signed")
    signed = page.inner_text("#signed")
    record = list(served.runtime.pipeline.wal.read())[-1]
    assert record.action == "agreement.sign" and record.change["event"]["text_sha256"] in signed
    shoot(page, "05-agreement-signed")

    page.goto(served.url + f"#/groups/{gid}")
    page.wait_for_selector("text=Cycle progress")
    shoot(page, "06-group-health")
    page.goto(served.url + "#/timeline")
    page.wait_for_selector("#timeline")
    shoot(page, "07-timeline")
    page.goto(served.url + "#/integrity")
    page.wait_for_selector("#head-hash")
    assert page.inner_text("#head-hash") == served.runtime.pipeline.wal.head()[1]
    shoot(page, "08-integrity")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(served.url + "#/")
    page.wait_for_selector("h1:has-text('Namaste')")
    shoot(page, "09-dashboard-desktop")
    expected = ("status of 401", "401 " + served.url + "api/me")  # before signing in
    assert [e for e in errors if not e.endswith(expected[1]) and expected[0] not in e] == []


def test_two_members_see_each_others_bids_live(browser: Any, served: Served, shoot: Any) -> None:
    auction = open_auction(served.runtime, served.world)
    pages = []
    for phone in served.world.phones[:2]:
        page = browser.new_context(viewport=PHONE_SIZE).new_page()
        sign_in(page, served, phone)
        page.goto(served.url + f"#/auctions/{auction.id}")
        page.wait_for_selector("#bids li")
        pages.append(page)
    asha, bala = pages
    asha.wait_for_selector("#countdown:not(:empty)")
    asha.fill("#bid", "7,500")
    asha.click("#bid-btn")
    asha.wait_for_selector("#bid-msg .ok")
    alias = asha.inner_text("#mine b")
    bala.wait_for_selector(f"#bids li:has-text('{alias}')")
    assert "₹7,500.00" in bala.inner_text("#best")
    bala.fill("#bid", "8000")
    bala.click("#bid-btn")
    bala.wait_for_selector("#bid-msg .ok")
    asha.wait_for_selector("#bids li:has-text('₹8,000.00')")
    asha.fill("#bid", "100")
    asha.click("#bid-btn")
    asha.wait_for_selector("#bid-msg .error")
    assert "below the floor" in asha.inner_text("#bid-msg")
    shoot(asha, "10-auction-asha")
    shoot(bala, "11-auction-bala")

    served.runtime.services.auctions.close_auction(
        ADMIN, auction.id, present=served.world.members[:2], force_reason="test: close now"
    )
    bala.wait_for_selector("#result :text('Seed (revealed)')")
    assert "You won" in bala.inner_text("#result")
    assert "Closed" in asha.inner_text("#countdown")
    shoot(bala, "12-auction-closed")
