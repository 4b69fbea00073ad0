"""Cross-site request forgery from another port of the same host, in the system Chromium.

The member is signed in (the session cookie is SameSite=Strict, but 127.0.0.1:OTHER is
the same site). A page served on another port then tries what a page can do without
the server's consent: a no-cors fetch with a text/plain JSON body, a CORS fetch with a
JSON body (which needs a preflight), and an auto-submitted text/plain form whose body
reads as JSON. No loan application may come of it.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import PHONE_SIZE, Served, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ATTACK = """<!doctype html>
<title>win a prize</title>
<form id="form" method="POST" action="{target}api/loans" enctype="text/plain">
  <input name='{{"amount":"60000","tenure":"12","purpose":"form","x":"' value='"}}'>
</form>
<script>
const loan = JSON.stringify({{amount: "50000", tenure: "12", purpose: "fetch"}});
const target = "{target}api/loans";
Promise.allSettled([
  fetch(target, {{method: "POST", mode: "no-cors", credentials: "include",
                  headers: {{"Content-Type": "text/plain"}}, body: loan}}),
  fetch(target, {{method: "POST", mode: "cors", credentials: "include",
                  headers: {{"Content-Type": "application/json"}}, body: loan}}),
]).then((results) => {{
  document.title = "sent " + results.map((r) => r.status).join(",");
  document.getElementById("form").submit();
}});
</script>
"""


class AttackerSite:
    """A plain HTTP server on another port of 127.0.0.1 serving one page."""

    def __init__(self, html: str) -> None:
        body = html.encode()

        class Page(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def attacker(served: Served) -> Iterator[AttackerSite]:
    site = AttackerSite(ATTACK.format(target=served.url))
    yield site
    site.close()


def test_a_page_on_another_port_cannot_apply_for_a_loan(
    browser: Any, served: Served, attacker: AttackerSite
) -> None:
    assert attacker.url.split(":")[2] != served.url.split(":")[2]
    context = browser.new_context(viewport=PHONE_SIZE)
    page = context.new_page()
    sign_in(page, served, served.world.phones[0])
    replies: list[tuple[str, int]] = []
    page.on("response", lambda r: replies.append((r.request.method, r.status)))
    wal_head = served.runtime.pipeline.wal.head()

    page.goto(attacker.url)
    page.wait_for_url(served.url + "api/loans")
    member_id = served.world.members[0]
    assert served.runtime.services.loans.for_member(member_id) == []
    assert served.runtime.pipeline.wal.head() == wal_head
    assert "unsupported_media_type" in page.content()  # the form got the JSON refusal
    posts = [status for method, status in replies if method == "POST"]
    assert posts and all(status in (403, 415) for status in posts), replies

    # The member's own page, in the same browser, still applies.
    page.goto(served.url + "#/loans")
    page.click("text=Apply for a loan")
    page.fill("#amount", "50,000")
    page.fill("#purpose", "shop stock")
    page.click("#loan-form button[type=submit]")
    page.wait_for_selector("#loans li.fresh .pill:has-text('submitted')")
    assert len(served.runtime.services.loans.for_member(member_id)) == 1
