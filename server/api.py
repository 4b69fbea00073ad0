"""The JSON HTTP API: member sign-in by phone code, session, who am I."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from app.kernel.errors import KnownError, ValidationError
from app.services.actors import Actor
from app.services.otp import MemberSession, OtpService
from app.services.staff import Session, StaffService
from server.proxies import TrustedProxies
from server.security import COOKIE, loads
from server.ws_sessions import Grant


class NotSignedIn(KnownError):
    code = "unauthenticated"

    def __init__(self) -> None:
        super().__init__("You are not signed in.", hint="Sign in with your mobile number.")


@dataclass
class Auth:
    """Turns a session token (member or staff) into the actor it belongs to."""

    otp: OtpService
    staff: StaffService

    def session(self, token: str) -> MemberSession | Session | None:
        return self.otp.resume(token) or self.staff.resume(token)

    async def resolve_async(self, token: str) -> Actor | None:
        grant = await self.grant_async(token)
        return grant.actor if grant is not None else None

    async def grant_async(self, token: str) -> Grant | None:
        """What ``token`` grants a websocket (or a request), if its session is open."""
        session = await asyncio.to_thread(self.session, token) if token else None
        if session is None:
            return None
        return Grant(session.actor, session.id, session.expires_at, session.watch)


OTP = web.AppKey("otp", OtpService)
AUTH = web.AppKey("auth", Auth)
PROXIES = web.AppKey("trusted_proxies", TrustedProxies)


def request_token(request: web.Request) -> str:
    """The session token from ``Authorization: Bearer`` or the session cookie."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header.removeprefix("Bearer ").strip()
    return request.cookies.get(COOKIE, "")


async def current_actor(request: web.Request) -> Actor:
    actor = await request.app[AUTH].resolve_async(request_token(request))
    if actor is None:
        raise NotSignedIn()
    return actor


def client_address(request: web.Request) -> str:
    """The client's address: the TCP peer, or behind a trusted proxy the address it saw."""
    proxies = request.app.get(PROXIES) or TrustedProxies()
    return proxies.client(request.remote, request.headers.getall("X-Forwarded-For", []))


async def json_body(request: web.Request, *fields: str) -> dict[str, Any]:
    try:
        body = loads(await request.read())
    except ValueError as exc:
        raise ValidationError(f"The request body is {exc}.") from None
    if not isinstance(body, dict):
        raise ValidationError("The request body must be a JSON object.")
    missing = [f for f in fields if not isinstance(body.get(f), str) or not body[f].strip()]
    if missing:
        raise ValidationError(f"Missing {', '.join(missing)}.", hint="Fill it in and try again.")
    return body


async def otp_request(request: web.Request) -> web.Response:
    body = await json_body(request, "phone")
    otp, address = request.app[OTP], client_address(request)
    sent = await asyncio.to_thread(otp.request_code, body["phone"], address)
    return web.json_response(
        {"phone_masked": sent.phone_masked, "expires_at": sent.expires_at.isoformat()}
    )


async def otp_verify(request: web.Request) -> web.Response:
    body = await json_body(request, "phone", "code")
    otp, address = request.app[OTP], client_address(request)
    session = await asyncio.to_thread(otp.verify, body["phone"], body["code"], address)
    response = web.json_response(
        {"member": session.member.to_json(), "expires_at": session.expires_at.isoformat()}
    )
    max_age = int((session.expires_at - otp.ctx.clock.now()).total_seconds())
    response.set_cookie(
        COOKIE,
        session.token,
        max_age=max_age,
        httponly=True,
        samesite="Strict",
        secure=request.secure,
        path="/",
    )
    return response


async def signout(request: web.Request) -> web.Response:
    token = request_token(request)
    if token:
        otp = request.app[OTP]
        await asyncio.to_thread(otp.sign_out, token)
        await asyncio.to_thread(request.app[AUTH].staff.sign_out, token)
    response = web.json_response({"signed_out": True})
    response.del_cookie(COOKIE, path="/")
    return response


async def me(request: web.Request) -> web.Response:
    actor = await current_actor(request)
    body: dict[str, Any] = {"actor": actor.to_json()}
    if actor.role == "member":
        member = await asyncio.to_thread(request.app[OTP].members.get, actor.id)
        body["member"] = member.to_json()
    return web.json_response(body)


async def _send_queued_texts(app: web.Application) -> AsyncIterator[None]:
    """On shutdown, send the sign-in texts still queued (off the loop: it may take a while)."""
    yield
    await asyncio.to_thread(app[OTP].close)


def add_routes(app: web.Application) -> None:
    app.cleanup_ctx.append(_send_queued_texts)
    app.router.add_post("/api/otp/request", otp_request)
    app.router.add_post("/api/otp/verify", otp_verify)
    app.router.add_post("/api/signout", signout)
    app.router.add_get("/api/me", me)
