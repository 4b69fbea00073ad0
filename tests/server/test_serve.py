"""``tfos serve`` as a real process: a port already taken is one clear line, exit 2."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.cli import tfos


def test_serve_on_a_port_in_use_says_so_in_one_line(data_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = tfos(data_dir, "serve", "--host", "127.0.0.1", "--port", str(port))
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line == (
        f"error: Port {port} is already in use on 127.0.0.1. "
        "Stop the program using it, or choose another port with --port or TFOS_PORT."
    )
    assert done.stdout == ""
