"""Browser fixtures: a real server on 127.0.0.1 (own thread, own event loop) over a
populated data directory, and the system Chromium driven by Playwright."""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app import config
from app.bootstrap import Runtime, build
from app.services.sms import OUTBOX_NAME
from server.app import bound_port, create_app, start
from tests.browser.world import World, populate
from tests.parts import missing
from tests.server.conftest import sent_code

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
SHOTS = Path("/tmp/web-shots")
PHONE_SIZE = {"width": 390, "height": 844}


@dataclass
class Served:
    runtime: Runtime
    world: World
    url: str

    def last_code(self, phone: str) -> str:
        return sent_code(self.runtime.settings.data_dir / OUTBOX_NAME, phone)


def sign_in(page: Any, served: Served, phone: str) -> None:
    page.goto(served.url)
    page.wait_for_selector("#phone")
    page.fill("#phone", phone)
    page.click("#phone-form button")
    page.wait_for_selector("#code-form:not(.hidden)")
    assert "•" in page.inner_text(".msg") or "X" in page.inner_text(".msg")
    page.fill("#code", served.last_code(phone))
    page.click("#code-form button")
    page.wait_for_selector("h1:has-text('Namaste')")


class ServerThread(threading.Thread):
    """Serves the runtime's web application on its own event loop until stopped (on
    ``port``, or on a free one)."""

    def __init__(self, runtime: Runtime, port: int = 0) -> None:
        super().__init__(daemon=True, name="tfos-test-server")
        self.runtime = runtime
        self.loop = asyncio.new_event_loop()
        self.port = port
        self.started = threading.Event()
        self._runner: Any = None

    def run(self) -> None:
        asyncio.set_event_loop(self.loop)
        app = create_app(self.runtime.services, self.runtime.settings)
        self._runner = self.loop.run_until_complete(start(app, "127.0.0.1", self.port))
        self.port = bound_port(self._runner)
        self.started.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self._runner.cleanup())
        self.loop.close()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.join(timeout=10)


def chromium_or_fail() -> None:
    if not CHROMIUM.exists():
        missing("browser", f"{CHROMIUM} is missing")


@contextmanager
def chromium() -> Iterator[Any]:
    """The system Chromium, headless, driven by Playwright's sync API."""
    chromium_or_fail()
    try:
        from playwright import sync_api
    except ImportError:
        missing("browser", "the playwright package is missing")
    with sync_api.sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@contextmanager
def serving(runtime: Runtime) -> Iterator[str]:
    """The runtime's web application on a free port of 127.0.0.1, while in the block;
    its address."""
    thread = ServerThread(runtime)
    thread.start()
    assert thread.started.wait(10), "the test server did not start"
    try:
        yield f"http://127.0.0.1:{thread.port}/"
    finally:
        thread.stop()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    chromium_or_fail()
    runtime = build(config.load(environ={}, data_dir=tmp_path / "data"))
    world = populate(runtime)
    with serving(runtime) as url:
        yield Served(runtime, world, url)
    runtime.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def shoot(tmp_path: Path) -> Any:
    """``shoot(page, name)`` saves a full-page screenshot to the test's tmp dir and to
    /tmp/web-shots/ (to look at)."""
    folder = tmp_path / "screenshots"
    folder.mkdir()
    SHOTS.mkdir(exist_ok=True)

    def take(page: Any, name: str) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        shutil.copy(path, SHOTS / path.name)
        return path

    return take
