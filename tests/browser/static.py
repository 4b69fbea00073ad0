"""The member pages' static files served alone on 127.0.0.1, for running the browser's
own code (WebCrypto needs a secure context: http://127.0.0.1 is one) without a server
behind it."""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from server.pages import STATIC_DIR


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def static_site() -> Iterator[str]:
    """The URL of ``server/static/index.html`` served over HTTP on 127.0.0.1 (as
    ``/static/index.html``, so its ``/static/...`` links resolve)."""
    handler = functools.partial(_Quiet, directory=str(STATIC_DIR.parent))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True, name="static-site")
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/static/index.html"
    finally:
        httpd.shutdown()
        httpd.server_close()


def open_tlog(browser: Any, url: str) -> Any:
    """A page of ``url`` with the browser's log checker (``TLog``) loaded."""
    page = browser.new_page()
    page.goto(url)
    page.wait_for_function("typeof TLog === 'object' && !!crypto.subtle")
    return page
