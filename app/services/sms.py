"""Sending text messages: a pluggable sender behind one small protocol.

* :class:`OutboxSender` (the default) appends each message as one JSON line
  ``{"to", "text", "created_at"}`` to ``DATA_DIR/sms-outbox.jsonl``, which staff can
  read (e.g. on a closed office network with no SMS gateway). Each line is written
  with one ``write`` on a descriptor opened with ``O_APPEND`` while holding an
  exclusive OS lock, then fsynced, so concurrent writers (threads or processes)
  never interleave or lose lines.
* :class:`HttpGatewaySender` posts ``{"to", "text"}`` as JSON to a configured URL
  (with an optional bearer token) for real deployments.

Both are blocking; callers on an event loop run them in a thread.
:class:`BackgroundSender` wraps either so that the caller does not wait at all: a member's
sign-in answer must not take longer for a registered number than for any other.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import portalocker

from app.kernel.errors import KnownError, StorageError, ValidationError
from app.kernel.files import PRIVATE_DIR, PRIVATE_FILE
from app.services.kyc.rules import mask_phone

OUTBOX_NAME = "sms-outbox.jsonl"

log = logging.getLogger(__name__)


class SmsFailed(KnownError):
    """The message could not be handed to the SMS gateway."""

    code = "sms"


class SmsSender(Protocol):
    def send(self, to: str, text: str) -> None:
        """Deliver ``text`` to the mobile number ``to`` (or raise a KnownError)."""
        ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


class OutboxSender:
    """Writes each message as one JSON line to an outbox file."""

    def __init__(self, path: Path, *, clock: Callable[[], datetime] = _utcnow) -> None:
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()

    def send(self, to: str, text: str) -> None:
        line = {"to": to, "text": text, "created_at": self._clock().isoformat()}
        data = (json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8")
        try:
            with self._lock:
                self._append(data)
        except OSError as exc:
            raise StorageError(
                f"Cannot write the SMS outbox {self.path}: {exc.strerror}.",
                hint="Check that the data folder is writable and the disk is not full.",
            ) from exc

    def _append(self, data: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE)
        with os.fdopen(fd, "ab", buffering=0) as f:
            portalocker.lock(f, portalocker.LOCK_EX)
            try:
                written = f.write(data)
                if written != len(data):
                    raise OSError(0, "short write")
                os.fsync(f.fileno())
            finally:
                portalocker.unlock(f)


def read_outbox(path: Path) -> list[dict[str, Any]]:
    """Every message in an outbox file, oldest first (an absent file is empty)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.splitlines() if line.strip()]


class HttpGatewaySender:
    """Posts ``{"to", "text"}`` as JSON to an SMS gateway; any 2xx reply is success."""

    def __init__(self, url: str, *, token: str = "", timeout: float = 10.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValidationError(
                f"The SMS gateway URL {url!r} is not an http(s) URL.",
                hint="Set TFOS_SMS_GATEWAY_URL to the gateway's full address.",
            )
        self.url = url
        self.token = token
        self.timeout = timeout

    def send(self, to: str, text: str) -> None:
        body = json.dumps({"to": to, "text": text}).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as reply:
                status = reply.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (urllib.error.URLError, OSError) as exc:
            raise SmsFailed(
                f"The SMS gateway at {self.url} could not be reached ({exc}).",
                hint="Check the gateway address and the network, then ask for a new code.",
            ) from exc
        if not 200 <= status < 300:
            raise SmsFailed(
                f"The SMS gateway refused the message (HTTP {status}).",
                hint="Check the gateway settings (URL and token), then ask for a new code.",
            )


class BackgroundSender:
    """Hands each message to ``sender`` on worker threads; ``send`` returns at once.

    A few workers, so one slow gateway call does not hold up the texts behind it. A
    failure cannot reach the caller (it has answered already): it is logged, with the
    number masked.
    """

    def __init__(self, sender: SmsSender, *, workers: int = 4) -> None:
        self.sender = sender
        self.workers = workers
        self._queue: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._start = threading.Lock()

    def send(self, to: str, text: str) -> None:
        with self._start:
            if not self._threads:
                self._threads = [
                    threading.Thread(target=self._run, name=f"sms-sender-{i}", daemon=True)
                    for i in range(self.workers)
                ]
                for thread in self._threads:
                    thread.start()
        self._queue.put((to, text))

    def close(self, timeout: float = 30.0) -> None:
        """Send what is queued (waiting up to ``timeout`` seconds), then stop."""
        with self._start:
            threads, self._threads = self._threads, []
        for _ in threads:
            self._queue.put(None)
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            to, text = item
            try:
                self.sender.send(to, text)
            except KnownError as exc:
                log.warning("A text to %s was not sent: %s", mask_phone(to), exc)
            except Exception:
                log.exception("A text to %s was not sent", mask_phone(to))


def make_sender(kind: str, data_dir: Path, *, url: str = "", token: str = "") -> SmsSender:
    """The sender the settings name: ``"outbox"`` (default) or ``"http"``."""
    if kind == "outbox":
        return OutboxSender(Path(data_dir) / OUTBOX_NAME)
    if kind == "http":
        return HttpGatewaySender(url, token=token)
    raise ValidationError(
        f"Unknown SMS sender {kind!r}.", hint="Use 'outbox' (the default) or 'http'."
    )
