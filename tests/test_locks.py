"""Named OS locks, tested with real processes, real flock and real signals."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from app.kernel.errors import LockHeld
from app.kernel.locks import LockManager, NamedLock, safe_filename

ROOT = Path(__file__).resolve().parents[1]

# A holder process: takes the lock when told "go", reports, then waits for EOF on stdin.
HOLDER = r"""
import json, multiprocessing, os, subprocess, sys, time
from pathlib import Path
from app.kernel.locks import NamedLock

locks_dir, name, purpose, user, mode = sys.argv[1:6]
lock = NamedLock(Path(locks_dir), name)
say = lambda obj: os.write(1, (json.dumps(obj) + "\n").encode())  # one write: lines never mix
sys.stdin.readline()
ok = lock.try_acquire(purpose, holder=user)
child = None
if ok and mode == "spawn":
    child = subprocess.Popen(["sleep", "30"]).pid
elif ok and mode == "posix_spawn":
    child = os.posix_spawn("/bin/sleep", ["sleep", "30"], dict(os.environ))
elif ok and mode == "pass_fds":
    child = subprocess.Popen(["sleep", "30"], pass_fds=lock._fds).pid
elif ok and mode == "fork":
    def nap():
        say({"forked_child_holds": lock.locked})
        time.sleep(30)
    proc = multiprocessing.get_context("fork").Process(target=nap)
    proc.start()
    child = proc.pid
say({"acquired": ok, "pid": os.getpid(), "child": child})
sys.stdin.read()
lock.release()
"""


class Holder:
    """A separate Python process that competes for a lock."""

    def __init__(
        self,
        locks_dir: Path,
        name: str,
        purpose: str = "bidding",
        user: str = "asha",
        mode: str = "hold",
    ) -> None:
        path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
        env = dict(os.environ, PYTHONPATH=path)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(locks_dir), name, purpose, user, mode],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        self.child: int | None = None

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def report(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, f"holder process died (exit {self.proc.wait()})"
        data: dict[str, Any] = json.loads(line)
        self.child = data.get("child") or self.child
        return data

    def take(self) -> dict[str, Any]:
        self.go()
        return self.report()

    def finish(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def cleanup(self) -> None:
        if self.proc.poll() is None:
            self.kill()
        if self.child:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.child, signal.SIGKILL)


@pytest.fixture
def holders() -> Iterator[list[Holder]]:
    started: list[Holder] = []
    yield started
    for h in started:
        h.cleanup()
        if h.proc.stdout is not None:
            h.proc.stdout.close()


@pytest.fixture
def locks_dir(tmp_path: Path) -> Path:
    return tmp_path / "locks"


def spawn(holders: list[Holder], locks_dir: Path, name: str, **kw: str) -> Holder:
    h = Holder(locks_dir, name, **kw)
    holders.append(h)
    return h


def test_exactly_one_of_several_processes_wins(locks_dir: Path, holders: list[Holder]) -> None:
    group = [spawn(holders, locks_dir, "auction-group-G1") for _ in range(4)]
    for h in group:
        h.go()
    results = [h.report()["acquired"] for h in group]
    assert results.count(True) == 1


def test_holder_details_visible_from_another_process(
    locks_dir: Path, holders: list[Holder]
) -> None:
    h = spawn(holders, locks_dir, "auction-group-G1", purpose="period 5 auction", user="asha")
    pid = h.take()["pid"]
    lock = NamedLock(locks_dir, "auction-group-G1")
    who = lock.holder()
    assert who is not None
    assert (who.name, who.pid, who.user, who.purpose) == (
        "auction-group-G1",
        pid,
        "asha",
        "period 5 auction",
    )
    assert datetime.fromisoformat(who.since).utcoffset() is not None
    assert who.host
    assert not lock.try_acquire("mine")
    assert [x.name for x in LockManager(locks_dir).held()] == ["auction-group-G1"]


def test_sigkill_frees_the_lock_and_stale_details_are_ignored(
    locks_dir: Path, holders: list[Holder]
) -> None:
    h = spawn(holders, locks_dir, "auction-group-G2")
    pid = h.take()["pid"]
    lock = NamedLock(locks_dir, "auction-group-G2")
    assert not lock.try_acquire("mine")
    h.kill()
    assert str(pid) in lock.path.read_text()  # the dead holder's details are still on disk
    assert lock.holder() is None
    assert LockManager(locks_dir).held() == []
    assert lock.try_acquire("mine")
    lock.release()


def test_acquire_timeout_names_the_holder(locks_dir: Path, holders: list[Holder]) -> None:
    h = spawn(holders, locks_dir, "auction-group-G3", purpose="period 2 auction", user="ravi")
    pid = h.take()["pid"]
    lock = NamedLock(locks_dir, "auction-group-G3")
    with pytest.raises(LockHeld) as caught:
        lock.acquire("mine", timeout=0.2)
    message = str(caught.value)
    for part in (str(pid), "ravi", "period 2 auction", " IST."):
        assert part in message
    h.finish()
    lock.acquire("mine", timeout=5)
    assert lock.holder() is not None and lock.holder().pid == os.getpid()  # type: ignore[union-attr]
    lock.release()


@pytest.mark.parametrize("mode", ["spawn", "posix_spawn", "fork"])
def test_children_do_not_keep_the_lock_when_the_holder_dies(
    locks_dir: Path, holders: list[Holder], mode: str
) -> None:
    h = spawn(holders, locks_dir, "auction-group-G4", mode=mode)
    report = h.take()
    if mode == "fork":
        lines = [report, h.report()]
        assert {"forked_child_holds": False} in lines
        report = next(r for r in lines if "acquired" in r)
    assert report["acquired"] and report["child"]
    h.kill()
    os.kill(report["child"], 0)  # the child still runs
    lock = NamedLock(locks_dir, "auction-group-G4")
    assert lock.holder() is None
    assert lock.try_acquire("mine")
    lock.release()


def test_a_child_given_the_descriptors_would_keep_it(
    locks_dir: Path, holders: list[Holder]
) -> None:
    """The hazard the module guards against, shown for real (so the test above can fail)."""
    h = spawn(holders, locks_dir, "auction-group-G5", mode="pass_fds")
    report = h.take()
    h.kill()
    lock = NamedLock(locks_dir, "auction-group-G5")
    assert not lock.try_acquire("mine")
    os.kill(report["child"], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not lock.try_acquire("mine") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert lock.locked
    lock.release()


def test_child_started_by_subprocess_does_not_keep_it_after_release(locks_dir: Path) -> None:
    lock = NamedLock(locks_dir, "auction-group-G6")
    lock.acquire("mine")
    child = subprocess.Popen(["sleep", "30"])
    try:
        lock.release()
        other = NamedLock(locks_dir, "auction-group-G6")
        assert other.holder() is None
        assert other.try_acquire("other")
        other.release()
    finally:
        child.kill()
        child.wait()


def test_in_process_double_acquisition_is_refused(locks_dir: Path) -> None:
    first = NamedLock(locks_dir, "auction-group-G7")
    second = NamedLock(locks_dir, "auction-group-G7")
    assert first.try_acquire("auction", holder="asha")
    assert not first.try_acquire("again")
    assert not second.try_acquire("again")
    with pytest.raises(LockHeld, match="asha"):
        first.acquire("again", timeout=None)
    with pytest.raises(LockHeld, match="asha"):
        second.acquire("again", timeout=0.05)
    who = second.holder()
    assert who is not None and (who.pid, who.user) == (os.getpid(), "asha")
    first.release()
    assert second.try_acquire("now mine")
    assert first.holder() is not None and not first.locked
    second.release()
    assert first.holder() is None


def test_waiting_thread_gets_it_when_released(locks_dir: Path) -> None:
    lock = NamedLock(locks_dir, "auction-group-G8")
    waiter = NamedLock(locks_dir, "auction-group-G8")
    lock.acquire("first")
    got = threading.Event()

    def wait_for_it() -> None:
        waiter.acquire("second", timeout=10)
        got.set()

    thread = threading.Thread(target=wait_for_it)
    thread.start()
    assert not got.wait(0.05)
    lock.release()
    thread.join(10)
    assert got.is_set() and waiter.locked
    waiter.release()


def test_looking_at_a_lock_never_makes_an_acquirer_fail(locks_dir: Path) -> None:
    lock = NamedLock(locks_dir, "auction-group-G9")
    manager = LockManager(locks_dir)
    stop = threading.Event()

    def peek() -> None:
        while not stop.is_set():
            lock.holder()
            manager.held()

    peekers = [threading.Thread(target=peek) for _ in range(2)]
    for t in peekers:
        t.start()
    try:
        failures = 0
        for _ in range(300):
            if lock.try_acquire("cycle"):
                lock.release()
            else:
                failures += 1
    finally:
        stop.set()
        for t in peekers:
            t.join()
    assert failures == 0


def test_context_managers(locks_dir: Path) -> None:
    lock = NamedLock(locks_dir, "auction-group-G10")
    with lock.using("auction", holder="asha", timeout=1) as held:
        assert held is lock and lock.holder().purpose == "auction"  # type: ignore[union-attr]
    assert lock.holder() is None
    with lock:
        assert lock.locked
    assert not lock.locked


def test_manager_lists_every_held_lock(locks_dir: Path, holders: list[Holder]) -> None:
    manager = LockManager(locks_dir)
    assert manager.held() == []
    assert manager.lock("auction-group-G1") is manager.lock("auction-group-G1")
    spawn(holders, locks_dir, "auction-group-G2", user="ravi").take()
    manager.lock("auction-group-G1").acquire("auction")
    manager.lock("odd name/with:chars").acquire("x")
    with NamedLock(locks_dir, "free-one"):
        pass
    found = {h.name: h.user for h in manager.held()}
    assert set(found) == {"auction-group-G1", "auction-group-G2", "odd name/with:chars"}
    assert found["auction-group-G2"] == "ravi"
    manager.lock("auction-group-G1").release()
    manager.lock("odd name/with:chars").release()


def test_safe_filenames(locks_dir: Path) -> None:
    assert safe_filename("auction-group-G1") == "auction-group-G1"
    assert safe_filename("a/b") != safe_filename("a_b")
    assert "/" not in safe_filename("../../etc/passwd")
    assert NamedLock(locks_dir, "../../x").path.parent == locks_dir.absolute()
    with pytest.raises(ValueError):
        safe_filename("  ")
