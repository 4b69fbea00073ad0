"""Helpers for the server tests: an app with a test channel, and signed-in tokens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from app.bootstrap import Runtime
from app.services.actors import SYSTEM, Actor
from app.services.feeds import Feed
from app.services.pipeline import ChangeSet
from app.services.sms import OUTBOX_NAME, read_outbox
from app.services.staff import StaffService
from app.services.store import Query, Write
from server import api
from server.app import client_count, create_app
from server.ws import Action, ActionRequest, ChannelSpec, HubOptions
from tests.server.conftest import PHONE, last_code

OUTSIDER_PHONE = "+919811111111"
JSON = {"Content-Type": "application/json"}
OPTIONS = HubOptions(auth_timeout=0.3, max_msg_size=4096, rate=50.0, burst=50.0)


async def _echo(req: ActionRequest) -> dict[str, Any]:
    return {"echo": req.payload, "by": req.actor.role}


async def _approve(req: ActionRequest) -> dict[str, Any]:
    return {"approved": req.payload.get("id")}


def _notes_feed(actor: Actor, channel: str, payload: dict[str, Any]) -> Feed:
    return Feed(Query("notes").where("visible", "==", True))


NOTES = ChannelSpec(
    "notes",
    frozenset({"member", "employee", "admin"}),
    feed=_notes_feed,
    actions={
        "echo": Action(_echo, frozenset({"member", "employee", "admin"})),
        "approve": Action(_approve, frozenset({"employee", "admin"})),
    },
)
STAFF_ONLY = ChannelSpec("desk", frozenset({"employee", "admin"}), feed=_notes_feed)


def make_app(runtime: Runtime, options: HubOptions = OPTIONS) -> web.Application:
    """The app with the test channels, its client count in the runtime's stats (as the
    desktop and ``tfos serve`` wire it)."""
    app = create_app(
        runtime.services, runtime.settings, hub_options=options, channels=[NOTES, STAFF_ONLY]
    )
    runtime.stats.register("connected_clients", client_count(app))
    return app


def member_token(app: web.Application, runtime: Runtime, phone: str = PHONE) -> str:
    """A session token of ``phone``'s member, signed in with the texted code."""
    otp = app[api.OTP]
    texted = len(
        [m for m in read_outbox(runtime.settings.data_dir / OUTBOX_NAME) if m["to"] == phone]
    )
    otp.request_code(phone, "127.0.0.1")
    return otp.verify(phone, last_code(runtime, phone, count=texted + 1), "127.0.0.1").token


def token_for(app: web.Application, runtime: Runtime, phone: str) -> dict[str, str]:
    """The Authorization header of ``phone``'s member, signed in with the texted code."""
    return {"Authorization": f"Bearer {member_token(app, runtime, phone)}"}


def staff_token(runtime: Runtime) -> str:
    staff = StaffService(runtime.ctx)
    staff.create_first_admin("Anil Admin", "anil", "correct horse battery")
    return staff.sign_in("anil", "correct horse battery").token


def add_note(runtime: Runtime, note_id: str, text: str, visible: bool = True) -> None:
    write = Write("set", "notes", note_id, {"text": text, "visible": visible})
    runtime.pipeline.commit(SYSTEM, ChangeSet("note.set", "note", note_id, [write]))


Client = TestClient[Any, Any]
Message = dict[str, Any]


async def connect(client: Client, token: str) -> Any:
    ws = await client.ws_connect("/ws")
    await ws.send_json({"type": "auth", "token": token})
    assert (await ws.receive_json(timeout=5))["event"] == "ready"
    return ws


async def until(ws: Any, match: Callable[[Message], bool]) -> Message:
    while True:
        message: Message = await ws.receive_json(timeout=5)
        if match(message):
            return message


async def call(ws: Any, request_id: str, channel: str, action: str, **payload: Any) -> Message:
    await ws.send_json(
        {"channel": channel, "action": action, "payload": payload, "request_id": request_id}
    )
    return await until(ws, lambda m: m.get("request_id") == request_id)


async def subscribe(ws: Any, channel: str, **payload: Any) -> list[Message]:
    ack = await call(ws, f"sub-{channel}", channel, "subscribe", **payload)
    assert ack["event"] == "ack", ack
    snap = await until(ws, lambda m: m["channel"] == channel and m["event"] == "snapshot")
    return list(snap["payload"])


def bare(token: dict[str, str]) -> str:
    return token["Authorization"].removeprefix("Bearer ")


def same_origin(client: Client) -> dict[str, str]:
    """The Origin header a page served by ``client``'s server sends."""
    url = client.make_url("/")
    return {"Origin": f"{url.scheme}://{url.host}:{url.port}"}
