"""The WAL-first write path: preconditions, retries, replay, and SIGKILL at random moments."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from app.kernel.errors import Conflict, NotFound, StorageError, ValidationError
from app.kernel.wal import Entry, verify_file
from app.services.actors import Actor
from app.services.pipeline import ChangeSet, Pipeline, Reader
from app.services.store import Write
from tests.builders import close_pipeline as close
from tests.builders import open_pipeline

ROOT = Path(__file__).resolve().parents[1]
ALICE = Actor("u1", "Alice", "employee")


def increment(reader: Reader) -> ChangeSet:
    doc = reader.get("counters", "c")
    value = doc.data["value"] if doc else 0
    return ChangeSet(
        "counter.increment",
        "counter",
        "c",
        [Write("set", "counters", "c", {"value": value + 1})],
        reason="test",
    )


@pytest.fixture
def pipeline(data_dir: Path):  # type: ignore[no-untyped-def]
    p = open_pipeline(data_dir)
    yield p
    close(p)


def test_change_reaches_wal_then_store(pipeline: Pipeline, data_dir: Path) -> None:
    committed = pipeline.transact(ALICE, increment)
    assert committed.record.lsn == 1
    assert committed.record.actor == {"id": "u1", "name": "Alice", "role": "employee"}
    assert committed.record.change["writes"][0]["data"] == {"value": 1}
    assert pipeline.store.get("counters", "c").data == {"value": 1}  # type: ignore[union-attr]
    assert pipeline.store.last_applied_lsn() == 1


def test_audit_trail_keeps_old_values(pipeline: Pipeline) -> None:
    pipeline.transact(ALICE, increment)
    second = pipeline.transact(ALICE, increment)
    assert second.record.change["writes"][0]["before"] == {"value": 1}


def test_concurrent_read_modify_write_never_loses_an_update(pipeline: Pipeline) -> None:
    def worker() -> None:
        for _ in range(25):
            pipeline.transact(ALICE, increment, attempts=50)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert pipeline.store.get("counters", "c").data["value"] == 200  # type: ignore[union-attr]
    assert pipeline.wal.head()[0] == 200


def test_failing_service_writes_nothing(pipeline: Pipeline) -> None:
    def bad(reader: Reader) -> ChangeSet:
        reader.get("counters", "c")
        raise ValidationError("Amount must be positive.")

    with pytest.raises(ValidationError):
        pipeline.transact(ALICE, bad)
    assert pipeline.wal.head()[0] == 0


def test_update_of_missing_document_is_refused_and_not_logged(pipeline: Pipeline) -> None:
    change = ChangeSet("x.update", "x", "1", [Write("update", "x", "1", {"a": 1})])
    with pytest.raises(NotFound):
        pipeline.commit(ALICE, change)
    assert pipeline.wal.head()[0] == 0


def test_explicit_precondition(pipeline: Pipeline) -> None:
    create = ChangeSet("x.create", "x", "1", [Write("set", "x", "1", {"a": 1}, expect_version=0)])
    pipeline.commit(ALICE, create)
    with pytest.raises(Conflict):
        pipeline.commit(ALICE, create)
    assert pipeline.wal.head()[0] == 1


def test_replay_applies_records_the_store_missed(data_dir: Path) -> None:
    p = open_pipeline(data_dir)
    for _ in range(5):
        p.transact(ALICE, increment)
    close(p)
    # Simulate a crash after the WAL fsync and before the store commit: drop the store.
    for name in os.listdir(data_dir):
        if name.startswith("store.sqlite3"):
            os.remove(data_dir / name)
    p = open_pipeline(data_dir)
    try:
        assert p.store.get("counters", "c").data["value"] == 5  # type: ignore[union-attr]
        assert p.store.last_applied_lsn() == 5
    finally:
        close(p)
    p = open_pipeline(data_dir)  # replaying again must not apply anything twice
    try:
        assert p.store.get("counters", "c").data["value"] == 5  # type: ignore[union-attr]
    finally:
        close(p)


def test_only_what_the_pipeline_checked_is_applied_unchecked(pipeline: Pipeline) -> None:
    """The store applies the pipeline's records without checking the limits again; an
    entry appended to the log some other way is still checked when applied, and one a
    store cannot hold (a NUL, which SQLite's JSON functions cut) never reaches it."""
    pipeline.transact(ALICE, increment)
    entry = Entry(
        actor=ALICE.to_json(),
        action="test.raw",
        entity={"type": "test", "id": "x"},
        change={"writes": [Write("set", "raw", "x", {"p": "a\x00b"}).to_json()]},
    )
    with pytest.raises(StorageError, match="applying them afterwards failed"):
        pipeline.wal.append(entry)
    assert pipeline.store.get("raw", "x") is None
    assert pipeline.store.last_applied_lsn() == 1


def test_reading_many_absent_documents_makes_their_creation_a_conflict(
    pipeline: Pipeline,
) -> None:
    runs: list[int] = []

    def claim(reader: Reader) -> ChangeSet:
        runs.append(1)
        found = reader.get_many("slots", ["a", "b", "c"])
        if len(runs) == 1:  # someone else takes "b" after this attempt read it absent
            pipeline.commit(ALICE, ChangeSet("t", "t", "b", [Write("set", "slots", "b", {})]))
        free = [s for s in ("a", "b", "c") if s not in found]
        writes = [Write("set", "slots", s, {"by": "me"}) for s in free]
        return ChangeSet("slot.claim", "slot", "all", writes)

    pipeline.transact(ALICE, claim)
    assert len(runs) == 2
    assert pipeline.store.get("slots", "b").data == {}  # type: ignore[union-attr]
    assert pipeline.store.get("slots", "a").data == {"by": "me"}  # type: ignore[union-attr]


def test_two_processes_share_a_data_directory(data_dir: Path) -> None:
    p = open_pipeline(data_dir)
    try:
        child = subprocess.run(
            [sys.executable, str(ROOT / "tests" / "crash_child.py"), str(data_dir), "20", "1"],
            capture_output=True,
            text=True,
            timeout=60,
            env=_child_env(),
        )
        assert child.returncode == 0, child.stderr
        for _ in range(20):
            p.transact(ALICE, increment)
        assert p.store.get("counters", "c").data["value"] == 40  # type: ignore[union-attr]
        assert p.wal.head()[0] == 40
    finally:
        close(p)
    assert verify_file(data_dir / "wal" / "wal.log").ok


def _child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _run_and_kill(data_dir: Path, rng: random.Random) -> set[int]:
    """Start a committing child, SIGKILL it at a random moment; return the acked ids."""
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "crash_child.py"), str(data_dir), "100000", "4"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_child_env(),
    )
    assert proc.stdout is not None
    acked: set[int] = set()
    ready = proc.stdout.readline()
    assert ready.strip() == "ready", proc.stderr.read() if proc.stderr else ""
    deadline = time.monotonic() + rng.uniform(0.005, 0.25)
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        acked.add(int(line))
    os.kill(proc.pid, signal.SIGKILL)
    out, _ = proc.communicate()
    acked.update(int(x) for x in out.split() if x.strip().isdigit())
    return acked


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing_and_applies_once(data_dir: Path) -> None:
    rng = random.Random(1982)
    acked: set[int] = set()
    for kill in range(50):
        acked |= _run_and_kill(data_dir, rng)
        p = open_pipeline(data_dir)
        try:
            logged = [r.entity["id"] for r in p.wal.read() if r.action == "item.add"]
            assert len(logged) == len(set(logged)), f"kill {kill}: a change was logged twice"
            missing = {str(i) for i in acked} - set(logged)
            assert not missing, f"kill {kill}: acknowledged but not in the WAL: {missing}"
            stored = {
                d.id
                for d in p.store.query(
                    __import__("app.services.store", fromlist=["Query"]).Query("items")
                )
            }
            assert stored == set(logged), f"kill {kill}: WAL and store disagree"
            counter = p.store.get("counters", "c")
            assert (counter.data["value"] if counter else 0) == len(logged)
        finally:
            close(p)
        report = verify_file(data_dir / "wal" / "wal.log")
        assert report.ok, json.dumps(report.to_json())[:2000]
    assert len(acked) > 50
