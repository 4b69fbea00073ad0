"""What every request must satisfy before a handler runs, and what every response carries.

Every response carries the headers in :func:`secure_headers`: no MIME sniffing, no
referrer, no framing (``X-Frame-Options`` and CSP ``frame-ancestors``), a ``Server``
header without versions, and ``Cache-Control: no-store`` on the API.

Client JSON (request bodies, websocket messages) is read with :func:`loads`, which
refuses nesting deeper than ``MAX_DEPTH`` (no message of ours nests more than a few
levels) with a ``ValueError`` instead of the ``RecursionError`` that very deep input
raises.

Cross-site request forgery. A page on another port of the same host is the same *site*,
so the session cookie's ``SameSite=Strict`` does not keep it out. A state-changing
request (POST, PUT, PATCH, DELETE) is therefore acted on only when

* its body is declared JSON (``Content-Type: application/json``): a form or a
  ``no-cors`` fetch can only send ``text/plain``, form or multipart bodies; and
* it comes from this server's own page: its ``Origin`` names this server, or, without
  an ``Origin``, ``Sec-Fetch-Site`` says ``same-origin``. A request with neither header
  is not from a browser; it is accepted only without the session cookie (a script with
  an ``Authorization: Bearer`` token carries no ambient authority a page could borrow).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from app.kernel.errors import KnownError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
COOKIE = "tfos_session"
MAX_DEPTH = 32
SERVER = "TransactFlowOS"
EVERY_RESPONSE = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Server": SERVER,
}
DEFAULT_CSP = "default-src 'none'; frame-ancestors 'none'"


class CrossSiteRequest(KnownError):
    code = "forbidden"

    def __init__(self) -> None:
        super().__init__(
            "This request did not come from this site's own page, so it was not acted on.",
            hint="Open the member page at this server's address and try again there.",
        )


class NotJson(KnownError):
    code = "unsupported_media_type"

    def __init__(self, content_type: str) -> None:
        super().__init__(
            f"The request body must be JSON, not {content_type or 'an undeclared type'}.",
            hint="Send it with Content-Type: application/json.",
        )


def same_origin(request: web.Request) -> bool | None:
    """Whether the browser says the request comes from this server's own page; None when
    the request carries neither ``Origin`` nor ``Sec-Fetch-Site`` (not a browser)."""
    origin = request.headers.get("Origin")
    if origin is not None:
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and parts.netloc.lower() == request.host.lower()
    site = request.headers.get("Sec-Fetch-Site")
    return None if site is None else site == "same-origin"


@web.middleware
async def csrf_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a state-changing request that a page of another origin could have sent."""
    if request.method in UNSAFE and request.match_info.http_exception is None:
        if request.content_type != "application/json":
            raise NotJson(request.headers.get("Content-Type", ""))
        verdict = same_origin(request)
        if verdict is False or (verdict is None and COOKIE in request.cookies):
            raise CrossSiteRequest()
    return await handler(request)


async def secure_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: the headers every response carries (a page that sets its
    own Content-Security-Policy keeps it; it must say ``frame-ancestors 'none'`` too)."""
    response.headers.update(EVERY_RESPONSE)
    response.headers.setdefault("Content-Security-Policy", DEFAULT_CSP)
    if request.path.startswith("/api/"):
        response.headers["Cache-Control"] = "no-store"


def loads(text: str | bytes) -> Any:
    """JSON from a client; a ``ValueError`` whose text completes "The body is ..." when
    it is not JSON or nests deeper than ``MAX_DEPTH``."""
    too_deep = f"nested more than {MAX_DEPTH} levels deep"
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError(too_deep) from None
    except ValueError:
        raise ValueError("not valid JSON") from None
    if nesting(value) > MAX_DEPTH:
        raise ValueError(too_deep)
    return value


def nesting(value: Any) -> int:
    """How deep lists and objects nest in ``value`` (0 for a scalar), without recursion."""
    depth, level = 0, [value]
    while containers := [v for v in level if isinstance(v, dict | list)]:
        depth += 1
        level = [c for v in containers for c in (v.values() if isinstance(v, dict) else v)]
    return depth
