"""The member pages write dates and times as the desktop does: one style, the office's
zone, labelled (``server/static/app.js`` against :mod:`app.kernel.office_time`)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app import config
from app.kernel import office_time
from app.services.actors import Actor
from server.pages import STATIC_DIR
from tests.browser.conftest import PHONE_SIZE, Served, sign_in
from tests.browser.world import open_auction
from tests.dates import misdated

pytestmark = [pytest.mark.browser]
MOMENTS = [
    "2026-12-03T12:00:05+00:00",
    "2026-12-03T20:15:00Z",
    "2026-07-01T12:00:00+00:00",
    "2026-01-01T00:00:00.250000+00:00",
    "2026-03-29T00:59:59+00:00",
]


def formatter_page(browser: Any, zone: str) -> Any:
    """A page running app.js in an office in ``zone`` (its API answers 401)."""
    page = browser.new_page()
    index = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    index = index.replace("<html ", f'<html data-zone="{zone}" ', 1)
    script = (STATIC_DIR / "app.js").read_text(encoding="utf-8")

    def answer(route: Any) -> None:
        url = route.request.url
        if url.endswith("/static/app.js"):
            route.fulfill(body=script, content_type="text/javascript")
        elif "/api/" in url:
            route.fulfill(
                status=401, body=json.dumps({"error": {}}), content_type="application/json"
            )
        elif url.endswith(".css"):
            route.fulfill(body="", content_type="text/css")
        else:
            route.fulfill(body=index, content_type="text/html")

    page.route("http://office.test/**", answer)
    page.goto("http://office.test/")
    page.wait_for_function("typeof when === 'function'")
    return page


@pytest.mark.parametrize(
    "zone", ["Asia/Kolkata", "Asia/Dubai", "America/St_Johns", "Europe/London", "UTC"]
)
def test_the_web_pages_write_a_time_as_the_desktop_does(browser: Any, zone: str) -> None:
    config.load(environ={}, time_zone=zone)
    page = formatter_page(browser, zone)
    shown = page.evaluate(
        "(moments) => moments.map("
        "m => [when(m), when(m, true), clockTime(m), when(m.slice(0, 10))])",
        MOMENTS,
    )
    expected = [
        [
            office_time.moment(m),
            office_time.moment(m, seconds=True),
            office_time.time_of_day(m),
            office_time.day(m[:10]),
        ]
        for m in MOMENTS
    ]
    assert shown == expected


def test_every_member_page_writes_dates_one_way(browser: Any, served: Served) -> None:
    world, services = served.world, served.runtime.services
    auction = open_auction(served.runtime, world)
    bidder = Actor(world.members[1], "Bala Rao", "member")
    services.auctions.bid(bidder, auction.id, bidder.id, 7_500_00)
    page = browser.new_page(viewport=PHONE_SIZE)
    page.goto(served.url)
    page.wait_for_selector("#phone")
    page.fill("#phone", world.phones[0])
    page.click("#phone-form button")
    page.wait_for_selector(".msg .ok")
    texts = {"sign-in": page.inner_text("main")}
    sign_in(page, served, world.phones[0])
    pages = {
        "dashboard": ("#/", "h1:has-text('Namaste')"),
        "timeline": ("#/timeline", "#timeline"),
        "loans": ("#/loans", "text=Apply for a loan"),
        "group": (f"#/groups/{world.group_id}", "text=Cycle progress"),
        "agreement": (f"#/groups/{world.group_id}/agreement", "ol.clauses li"),
        "integrity": ("#/integrity", "#head-hash"),
        "auction": (f"#/auctions/{auction.id}", "#bids li"),
    }
    for name, (route, ready) in pages.items():
        page.goto(served.url + route)
        page.wait_for_selector(ready)
        page.wait_for_timeout(300)
        texts[name] = page.evaluate(
            "() => { const c = document.getElementById('countdown'); if (c) c.remove();"
            " return document.body.innerText; }"
        )
    assert "IST" in texts["auction"] and "IST" in texts["sign-in"]
    problems = {name: misdated(text) for name, text in texts.items() if misdated(text)}
    assert not problems, problems
