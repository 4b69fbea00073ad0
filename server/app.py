"""create_app: the aiohttp application over the shared runtime."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

from aiohttp import web

from app.config import Settings
from app.kernel.errors import KnownError
from app.services.registry import Services
from server import api, pages, proofs
from server.channels import member_channels
from server.proxies import TrustedProxies
from server.security import csrf_middleware, secure_headers
from server.ws import ChannelRegistry, ChannelSpec, Hub, HubOptions, websocket_handler

log = logging.getLogger(__name__)

SERVICES = web.AppKey("services", Services)
HUB = web.AppKey("hub", Hub)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_STATUS = {
    "invalid": 400,
    "unauthenticated": 401,
    "unsupported_media_type": 415,
    "rate_limited": 429,
    "sms": 502,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "locked": 423,
    "storage": 503,
    "keyring": 503,
    "log_forked": 409,
}


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}


def _allow(exc: web.HTTPException) -> dict[str, str]:
    allow = exc.headers.get("Allow")
    return {"Allow": allow} if allow else {}


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map domain errors to HTTP errors in one place; bugs become a logged 500."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or not request.path.startswith("/api/"):
            raise
        # aiohttp's own refusals (no such route, wrong method, body too large) in the
        # API's one error shape, so a client always gets JSON back.
        body = {
            "error": {
                "code": _HTTP_CODES.get(exc.status, "http_error"),
                "message": f"{exc.reason}: {request.method} {request.path[:200]}",
                "hint": "",
            }
        }
        return web.json_response(body, status=exc.status, headers=_allow(exc))
    except KnownError as exc:
        status = _STATUS.get(exc.code, 400)
        headers = {}
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(retry_after, int):
            headers["Retry-After"] = str(retry_after)
        return web.json_response({"error": exc.to_dict()}, status=status, headers=headers)
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        body = {
            "error": {
                "code": "bug",
                "message": "Something went wrong on our side.",
                "hint": "It was logged; please tell the office.",
            }
        }
        return web.json_response(body, status=500)


async def healthz(request: web.Request) -> web.Response:
    lsn, head = await asyncio.to_thread(request.app[SERVICES].audit.head)
    return web.json_response({"status": "ok", "wal": {"entries": lsn, "head_hash": head}})


async def websocket(request: web.Request) -> web.StreamResponse:
    return await websocket_handler(
        request, request.app[HUB], request.cookies.get(api.COOKIE) or None
    )


def create_app(
    services: Services,
    settings: Settings,
    *,
    hub_options: HubOptions | None = None,
    channels: Iterable[ChannelSpec] = (),
) -> web.Application:
    """The web application over ``services`` (no side effects until it is started).

    ``hub_options`` sets the websocket limits (auth timeout, frame size, rate);
    ``channels`` are added to the websocket channel registry. :func:`client_count`
    tells how many websockets are connected.
    """
    app = web.Application(
        middlewares=[errors_middleware, csrf_middleware], client_max_size=1024 * 1024
    )
    app[SERVICES] = services
    auth = api.Auth(services.otp, services.staff)
    app[api.OTP] = services.otp
    app[api.AUTH] = auth
    app[api.PROXIES] = TrustedProxies.from_setting(settings.trusted_proxies)
    registry = ChannelRegistry()
    for spec in [*member_channels(services), *channels]:
        registry.register(spec)
    hub = Hub(services.feeds, registry, auth.grant_async, hub_options, services.clock.now)
    app[HUB] = hub
    app.on_response_prepare.append(secure_headers)
    app.on_startup.append(_bind_hub)
    app.cleanup_ctx.append(_expire_sessions)
    app.on_shutdown.append(_close_hub)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/ws", websocket)
    api.add_routes(app)
    pages.add_routes(app, services)
    proofs.add_routes(app, services.proofs)
    return app


def client_count(app: web.Application) -> Callable[[], int]:
    """How many websocket clients ``app`` has now (for the desktop's footer)."""
    return app[HUB].count


async def _bind_hub(app: web.Application) -> None:
    """Bind the hub to the serving loop (store listeners call back into it)."""
    assert app[HUB].loop is asyncio.get_running_loop()


async def _expire_sessions(app: web.Application) -> AsyncIterator[None]:
    """The hub's expiry sweep, for as long as the application runs."""
    task = asyncio.create_task(app[HUB].expire_sessions())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _close_hub(app: web.Application) -> None:
    """Close every socket and drop every store listener.

    aiohttp runs ``on_shutdown`` before it waits for the running handlers (then runs the
    cleanup hooks), so closing here keeps open websockets from holding shutdown up to its
    timeout."""
    await app[HUB].close_all()


async def start(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Start serving ``app``; the caller awaits ``runner.cleanup()`` to stop."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner


def bound_port(runner: web.AppRunner) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple):
            return int(address[1])
    raise RuntimeError("server is not listening")
