"""The gcloud Firestore emulator for tests: started once per session, ended by group.

``gcloud emulators firestore start`` runs python (gcloud) → bash → java; killing the
first leaves java listening, so the emulator starts in a session of its own (setsid)
and ends with its whole process group. It gets its own ``CLOUDSDK_CONFIG`` so that it
never reads or writes the user's gcloud settings.

``make test`` sets ``TFOS_REQUIRE_FIRESTORE=1`` (tests/with-keyring.sh): then a
missing emulator fails the Firestore tests instead of skipping them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

REQUIRED = bool(os.environ.get("TFOS_REQUIRE_FIRESTORE"))
SKIP_REASON = (
    "needs the gcloud Firestore emulator (`gcloud emulators firestore start`, Java 17+);"
    " `make test` requires it"
)
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


class EmulatorMissing(RuntimeError):
    """gcloud or its Firestore emulator is not installed here."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Emulator:
    """One running emulator; ``host`` is what FIRESTORE_EMULATOR_HOST takes."""

    def __init__(self, workdir: Path, *, rules: Path | None = None) -> None:
        gcloud = shutil.which("gcloud")
        if gcloud is None:
            raise EmulatorMissing("gcloud is not on PATH")
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.log_path = workdir / "firestore-emulator.log"
        env = {**os.environ, "CLOUDSDK_CONFIG": str(workdir / "gcloud")}
        env["CLOUDSDK_CORE_DISABLE_PROMPTS"] = "1"
        env.pop("FIRESTORE_EMULATOR_HOST", None)
        command = [gcloud, "emulators", "firestore", "start", f"--host-port={self.host}"]
        if rules is not None:
            command.append(f"--rules={rules}")
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmulatorMissing(f"the emulator exited at start: {self.log()[-2000:]}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"http://{self.host}/", timeout=1) as reply,
            ):
                if reply.read().strip() == b"Ok":
                    return
            time.sleep(0.2)
        raise RuntimeError(f"the emulator did not answer within {START_TIMEOUT:.0f} s")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def new_project(self) -> str:
        """A project id nobody has used: projects are isolated in the emulator."""
        return "tfos-test-" + uuid.uuid4().hex[:12]

    def reset(self, project: str) -> None:
        """Delete every document of ``project``."""
        url = f"http://{self.host}/emulator/v1/projects/{project}/databases/(default)/documents"
        request = urllib.request.Request(url, method="DELETE")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def stop(self) -> None:
        """End the emulator's whole process group (java takes a few seconds)."""
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(STOP_TIMEOUT)
        _wait_group_gone(self.process.pid)


def _wait_group_gone(pgid: int) -> None:
    """Wait until no process of group ``pgid`` is left (java outlives its parent)."""
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
