"""Every response carries the protective headers; the API is never cached; the Server
header names no versions."""

from __future__ import annotations

import re
from typing import Any

from multidict import CIMultiDictProxy

from tests.server.wsutil import JSON, Client, bare, same_origin

PROTECTIVE = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def check(headers: CIMultiDictProxy[str], what: str, *, api: bool) -> None:
    for name, value in PROTECTIVE.items():
        assert headers.get(name) == value, (what, name, headers.get(name))
    assert "frame-ancestors 'none'" in headers.get("Content-Security-Policy", ""), what
    server = headers.get("Server", "")
    assert server and not re.search(r"\d", server), (what, server)
    if api:
        assert headers.get("Cache-Control") == "no-store", what


async def test_every_response_carries_the_headers(client: Client, asha: dict[str, str]) -> None:
    gets: list[tuple[str, dict[str, str]]] = [
        ("/", {}),
        ("/static/app.js", {}),
        ("/healthz", {}),
        ("/no-such-page", {}),
        ("/api/me", {}),
        ("/api/me", asha),
        ("/api/dashboard", asha),
        ("/api/loans/preview?amount=x&tenure=1", asha),
        ("/api/nothing-here", asha),
    ]
    for path, headers in gets:
        resp = await client.get(path, headers=headers)
        check(resp.headers, f"GET {path} {resp.status}", api=path.startswith("/api/"))
    posts: list[tuple[str, dict[str, str], Any]] = [
        ("/api/loans", asha, "text"),
        ("/api/loans", {**asha, **JSON}, "{"),
        ("/api/signout", {**JSON, **same_origin(client)}, "{}"),
    ]
    for path, headers, body in posts:
        resp = await client.post(path, headers=headers, data=body)
        check(resp.headers, f"POST {path} {resp.status}", api=True)
    ws = await client.ws_connect("/ws")
    await ws.send_json({"type": "auth", "token": bare(asha)})
    assert ws._response is not None
    check(ws._response.headers, "websocket upgrade", api=False)
    await ws.close()
