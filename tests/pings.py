"""Driving a child process that commits pings while this process listens."""

from __future__ import annotations

import subprocess
import threading


def drive_pings(child: subprocess.Popen[str], arrived: threading.Event, count: int = 5) -> None:
    """Have ``child`` commit ``count`` pings ``p0``, ``p1``, ... one at a time (it reads an id
    per line and answers ``done``), each heard by the listener that sets ``arrived``
    before the next is sent; then end the child."""
    assert child.stdin is not None and child.stdout is not None
    try:
        assert child.stdout.readline().strip() == "ready"
        for i in range(count):
            arrived.clear()
            child.stdin.write(f"p{i}\n")
            child.stdin.flush()
            assert child.stdout.readline().strip() == "done"
            assert arrived.wait(5.0), "the other process's commit never reached the listener"
    finally:
        child.stdin.close()
        child.wait(30)
        child.stdout.close()
