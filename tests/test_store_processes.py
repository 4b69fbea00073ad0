"""Two processes on one store, on every backend: a child process commits, this one
listens or commits too. (SQLite: one file; Firestore: one emulator project.)"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.services.store.port import Change, Write
from tests.pings import drive_pings

ROOT = Path(__file__).resolve().parents[1]

OPEN = r"""
import sys
from pathlib import Path

def open_store(kind, target):
    if kind == "sqlite":
        from app.services.store.sqlite import SqliteStore
        return SqliteStore(Path(target))
    from app.services.store.firestore import FirestoreStore
    return FirestoreStore.open(target)
"""

PINGER = (
    OPEN
    + r"""
import time
from app.services.store.port import Write

with open_store(sys.argv[1], sys.argv[2]) as store:
    print("ready", flush=True)
    for line in sys.stdin:
        store.commit([Write("set", "pings", line.strip(), {"sent": time.time()})])
        print("done", flush=True)
"""
)

INCREMENTER = (
    OPEN
    + r"""
def bump(tx):
    doc = tx.get("c", "counter")
    tx.update("c", "counter", {"n": doc.data["n"] + 1})

with open_store(sys.argv[1], sys.argv[2]) as store:
    print("ready", flush=True)
    sys.stdin.readline()
    for _ in range(int(sys.argv[3])):
        store.run_transaction(bump, max_attempts=200)
"""
)


class Shared:
    """A store of one backend, and what a child process needs to open the same one."""

    def __init__(self, kind: str, target: str, store: Any) -> None:
        self.kind, self.target, self.store = kind, target, store

    def child(self, script: str, *args: str, text: bool = False) -> subprocess.Popen[Any]:
        env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
        if "FIRESTORE_EMULATOR_HOST" in os.environ:
            env["FIRESTORE_EMULATOR_HOST"] = os.environ["FIRESTORE_EMULATOR_HOST"]
        return subprocess.Popen(
            [sys.executable, "-c", script, self.kind, self.target, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=text,
            cwd=ROOT,
            env=env,
        )


@pytest.fixture(params=["sqlite", pytest.param("firestore", marks=pytest.mark.firestore)])
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Shared]:
    if request.param == "firestore":
        from app.services.store.firestore import FirestoreStore

        project = request.getfixturevalue("firestore_project")
        store: Any = FirestoreStore.open(project)
        target = project
    else:
        from app.services.store.sqlite import SqliteStore

        target = str(tmp_path / "shared.sqlite3")
        store = SqliteStore(Path(target))
    yield Shared(request.param, target, store)
    store.close()


def test_commit_from_another_process_reaches_listener(shared: Shared) -> None:
    received: dict[str, float] = {}
    arrived = threading.Event()

    def on_change(changes: list[Change]) -> None:
        for change in changes:
            received[change.document.id] = time.time() - change.document.data["sent"]
        arrived.set()

    listener = shared.store.on_snapshot("pings", on_change)
    assert arrived.wait(5.0)  # the initial, empty result
    try:
        drive_pings(shared.child(PINGER, text=True), arrived)
    finally:
        listener.unsubscribe()
    latencies = sorted(received.values())
    print(
        f"{shared.kind}: cross-process listener latency: median"
        f" {statistics.median(latencies) * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms"
    )
    assert sorted(received) == [f"p{i}" for i in range(5)]
    assert latencies[-1] < 1.0


def test_transactions_from_two_processes_lose_no_update(shared: Shared) -> None:
    store, each = shared.store, (300 if shared.kind == "sqlite" else 100)
    store.commit([Write("set", "c", "counter", {"n": 0})])
    child = shared.child(INCREMENTER, str(each))
    assert child.stdin is not None and child.stdout is not None
    assert child.stdout.readline() == b"ready\n"
    child.stdin.write(b"go\n")
    child.stdin.close()
    runs = 0

    def bump(tx: Any) -> None:
        nonlocal runs
        runs += 1
        doc = tx.get("c", "counter")
        tx.update("c", "counter", {"n": doc.data["n"] + 1})

    for _ in range(each):
        store.run_transaction(bump, max_attempts=200)
    assert child.wait(120) == 0
    child.stdout.close()
    doc = store.get("c", "counter")
    assert doc is not None and doc.data == {"n": 2 * each} and doc.version == 2 * each + 1
    print(f"{shared.kind}: two processes, {2 * each} transactions: {runs - each} retries here")
