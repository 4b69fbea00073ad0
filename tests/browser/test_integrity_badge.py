"""The integrity badge checks the log in Chromium itself (WebCrypto: the checkpoint's
Ed25519 signature, the member's own records' inclusion, consistency with what this
browser saw), and issue 12's attack between two visits turns it red: one record's reason
changed, every later hash recomputed (`tfos wal verify` passes), the tree and the
checkpoints rebuilt as an attacker would."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app import config
from app.bootstrap import Runtime, build
from app.kernel.log_tree import tree_path
from tests.browser.conftest import PHONE_SIZE, Served, ServerThread, sign_in
from tests.browser.world import World, own_history, populate
from tests.cli import tfos
from tests.test_tlog import rewrite

pytestmark = [pytest.mark.browser, pytest.mark.slow]
DESKTOP_SIZE = {"width": 1280, "height": 800}


class Office:
    """A data directory served on one port, stopped and started again as an operator
    (or an attacker) would: the browser comes back to the same origin."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = 0
        self.runtime: Runtime | None = None
        self._thread: ServerThread | None = None

    def start(self) -> Runtime:
        self.runtime = build(config.load(environ={}, data_dir=self.data_dir))
        self._thread = ServerThread(self.runtime, self.port)
        self._thread.start()
        assert self._thread.started.wait(10), "the test server did not start"
        self.port = self._thread.port
        return self.runtime

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.stop()
        if self.runtime is not None:
            self.runtime.close()
        self._thread = self.runtime = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def served(self, world: World) -> Served:
        assert self.runtime is not None
        return Served(self.runtime, world, self.url)


@pytest.fixture
def office(tmp_path: Path) -> Iterator[Office]:
    office = Office(tmp_path / "data")
    yield office
    office.stop()


def watch(page: Any) -> list[str]:
    """The page's script errors (a failed check is shown, never thrown)."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def first_visit(office: Office, browser: Any) -> tuple[Any, dict[str, int]]:
    """Asha's first visit: the badge turns green; the browser keeps the key, the
    checkpoint and the landmarks of her records."""
    runtime = office.start()
    world = populate(runtime)
    lsns = own_history(runtime, world)
    context = browser.new_context(viewport=PHONE_SIZE)
    page = context.new_page()
    errors = watch(page)
    sign_in(page, office.served(world), world.phones[0])
    page.wait_for_selector("#badge.ok")
    assert page.inner_text("#badge").startswith("✓ Log verified")
    page.goto(office.url + "#/integrity")
    page.wait_for_selector("#verdict.ok")
    rows = page.locator("#own-records li")
    shown = [int(rows.nth(i).get_attribute("data-lsn")) for i in range(rows.count())]
    assert sorted(shown) == sorted(lsns.values())
    assert page.locator("#own-records li .pill.ok").count() == len(lsns)
    assert page.inner_text("#log-key") == runtime.services.proofs.verifier_key()
    assert not errors, errors
    return context, lsns


def look(page: Any, shoot: Any, name: str) -> None:
    """Screenshots of the badge and the integrity page, phone and desktop sized."""
    page.set_viewport_size(PHONE_SIZE)
    shoot(page, f"{name}-390")
    page.set_viewport_size(DESKTOP_SIZE)
    shoot(page, f"{name}-1280")
    page.set_viewport_size(PHONE_SIZE)


def test_a_history_rewritten_after_a_visit_turns_the_badge_red_where_it_diverges(
    browser: Any, office: Office, shoot: Any, tmp_path: Path
) -> None:
    context, lsns = first_visit(office, browser)
    look(context.pages[0], shoot, "integrity-green")
    saved = tmp_path / "checkpoint.note"
    out = tfos(office.data_dir, "audit", "checkpoint")
    assert out.returncode == 0, out.stderr
    saved.write_text(out.stdout)
    assert tfos(office.data_dir, "audit", "check", str(saved)).returncode == 0
    office.stop()

    k = lsns["receipt.record"]  # Asha's own receipt: "adjusted" after she saw it
    log = office.data_dir / "wal" / "wal.log"
    rewrite(log, k, "adjusted")
    tree_path(log).unlink()
    (office.data_dir / "checkpoints" / "latest").unlink()
    verify = tfos(office.data_dir, "wal", "verify")
    assert verify.returncode == 0, verify.stdout  # the hash chain alone cannot tell

    office.start()
    page = context.new_page()
    errors = watch(page)
    page.goto(office.url)
    page.wait_for_selector("#badge.bad")
    assert page.inner_text("#badge") == f"✗ Rewritten · diverges at size {k}"
    page.goto(office.url + "#/integrity")
    page.wait_for_selector("#verdict-text")
    assert page.inner_text("#verdict") == f"✗ The log was rewritten: it diverges at size {k}"
    text = page.inner_text("#verdict-text")
    assert f"record {k} is not the one you saw; the first {k - 1} records still are." in text
    assert page.locator("pre.note").count() >= 2  # both signed checkpoints, to keep
    look(page, shoot, "integrity-red")
    assert not errors, errors

    check = tfos(office.data_dir, "audit", "check", str(saved))
    assert check.returncode == 1, check.stdout + check.stderr
    assert "at least one of them was changed after the checkpoint was signed" in check.stdout


def test_a_new_signing_key_turns_the_badge_red(browser: Any, office: Office, shoot: Any) -> None:
    context, _ = first_visit(office, browser)
    first_key = office.runtime.services.proofs.verifier_key() if office.runtime else ""
    office.stop()
    key = office.data_dir / "keys" / "checkpoint.key"
    key.write_bytes(os.urandom(32))  # a new key, and a log signed afresh with it
    (office.data_dir / "checkpoints" / "latest").unlink()

    office.start()
    page = context.new_page()
    errors = watch(page)
    page.goto(office.url + "#/integrity")
    page.wait_for_selector("#badge.bad")
    assert page.inner_text("#badge") == "✗ Log key changed"
    assert page.inner_text("#verdict") == "✗ The log's signing key changed"
    shown = page.inner_text("#view")
    assert first_key in shown and office.runtime is not None
    assert office.runtime.services.proofs.verifier_key() in shown
    shoot(page, "integrity-key-changed-390")
    assert not errors, errors
