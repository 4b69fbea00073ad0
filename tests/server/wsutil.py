"""Helpers for the server tests: an app with a test channel, and signed-in tokens."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from app.bootstrap import Runtime
from app.services.actors import SYSTEM, Actor
from app.services.pipeline import ChangeSet
from app.services.sms import OUTBOX_NAME, read_outbox
from app.services.staff import StaffService
from app.services.store import Query, Write
from server import api
from server.app import create_app
from server.ws import Action, ActionRequest, ChannelSpec, HubOptions
from tests.server.conftest import PHONE, last_code

OUTSIDER_PHONE = "+919811111111"
OPTIONS = HubOptions(auth_timeout=0.3, max_msg_size=4096, rate=50.0, burst=50.0)


async def _echo(req: ActionRequest) -> dict[str, Any]:
    return {"echo": req.payload, "by": req.actor.role}


async def _approve(req: ActionRequest) -> dict[str, Any]:
    return {"approved": req.payload.get("id")}


def _notes_query(actor: Actor, channel: str, payload: dict[str, Any]) -> Query:
    return Query("notes").where("visible", "==", True)


NOTES = ChannelSpec(
    "notes",
    frozenset({"member", "employee", "admin"}),
    query=_notes_query,
    actions={
        "echo": Action(_echo, frozenset({"member", "employee", "admin"})),
        "approve": Action(_approve, frozenset({"employee", "admin"})),
    },
)
STAFF_ONLY = ChannelSpec("desk", frozenset({"employee", "admin"}), query=_notes_query)


def make_app(runtime: Runtime, options: HubOptions = OPTIONS) -> web.Application:
    return create_app(runtime, hub_options=options, channels=[NOTES, STAFF_ONLY])


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
