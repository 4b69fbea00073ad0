"""Shared fixtures: a real runtime (SQLite + WAL) on a temporary folder, a fixed clock,
and the populated world with its app and test client (test_ws and test_api override these)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from app import config
from app.bootstrap import Runtime, build
from app.services.actors import Actor
from app.services.context import FixedClock
from app.services.members import Member, MemberService
from app.services.otp import OtpService
from app.services.sms import OUTBOX_NAME, OutboxSender, read_outbox
from server.app import create_app
from tests.browser.world import World, populate

STAFF = Actor("emp-1", "Esha (employee)", "employee")
PHONE = "+919876543210"
OTHER_PHONE = "+919812345678"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))


@pytest.fixture
def runtime(tmp_path: Path, clock: FixedClock) -> Iterator[Runtime]:
    rt = build(config.load(environ={}, data_dir=tmp_path / "data"), clock=clock)
    yield rt
    rt.close()


@pytest.fixture
def member(runtime: Runtime) -> Member:
    return MemberService(runtime.ctx).enroll(STAFF, "Asha Verma", PHONE)


@pytest.fixture
def otp(runtime: Runtime) -> Iterator[OtpService]:
    service = OtpService(
        runtime.ctx,
        OutboxSender(runtime.settings.data_dir / OUTBOX_NAME),
        members=runtime.services.members,
    )
    yield service
    service.close()


@pytest.fixture
def world(runtime: Runtime) -> World:
    """Three members in a running group (:func:`tests.browser.world.populate`)."""
    return populate(runtime)


@pytest.fixture
def app(runtime: Runtime, world: World) -> web.Application:
    return create_app(runtime.services, runtime.settings)


@pytest.fixture
def asha(app: web.Application, runtime: Runtime, world: World) -> dict[str, str]:
    """The Authorization header of the world's first member, signed in by OTP."""
    from tests.server.wsutil import token_for  # wsutil imports from this module

    return token_for(app, runtime, world.phones[0])


@pytest.fixture
def staff(runtime: Runtime) -> dict[str, str]:
    """The Authorization header of a signed-in admin."""
    from tests.server.wsutil import staff_token

    return {"Authorization": f"Bearer {staff_token(runtime)}"}


@pytest.fixture
async def client(aiohttp_client: Any, app: web.Application) -> TestClient[Any, Any]:
    return await aiohttp_client(app)


def last_code(runtime: Runtime, phone: str = PHONE, *, count: int = 1) -> str:
    """The code in the newest outbox message to ``phone``, once ``count`` messages to it
    are there (codes are texted off the request path, so they arrive a moment later)."""
    return sent_code(runtime.settings.data_dir / OUTBOX_NAME, phone, count=count)


def sent_code(outbox: Path, phone: str, *, count: int = 1, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while len(messages := [m for m in read_outbox(outbox) if m["to"] == phone]) < count:
        assert time.monotonic() < deadline, f"fewer than {count} SMS to {phone} in the outbox"
        time.sleep(0.01)
    return str(messages[-1]["text"].split()[0])
