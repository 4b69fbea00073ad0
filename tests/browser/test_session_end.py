"""Signing out in one tab ends the live page in another: its websocket is closed with
4403 and the page goes back to sign-in, in the system Chromium."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import PHONE_SIZE, Served, sign_in
from tests.browser.world import open_auction

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_signing_out_in_another_tab_closes_the_auction_room(
    browser: Any, served: Served, shoot: Any
) -> None:
    auction = open_auction(served.runtime, served.world)
    context = browser.new_context(viewport=PHONE_SIZE)
    room, other = context.new_page(), context.new_page()
    sign_in(room, served, served.world.phones[0])
    closes: list[int] = []
    room.on("websocket", lambda ws: ws.on("close", lambda _: closes.append(1)))
    room.goto(served.url + f"#/auctions/{auction.id}")
    room.wait_for_selector("#countdown:not(:empty)")

    other.goto(served.url)
    other.wait_for_selector("h1:has-text('Namaste')")
    other.click("#signout")
    other.wait_for_selector("#phone")

    room.wait_for_selector("#phone", timeout=3_000)
    assert room.url.endswith("#/signin") and closes
    assert room.is_hidden("#nav")
    assert "session has ended" in room.inner_text("#notice")
    shoot(room, "13-signed-out-elsewhere")
