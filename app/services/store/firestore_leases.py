"""Leases in Firestore: named locks every machine on the project sees.

A lease is the document ``tfos/leases/held/{name}``: who holds it (process, pid, host,
user, purpose, since) and for how long (``ttl_s``). Its expiry is the document's own
update time plus ``ttl_s``, compared with the read time of whoever looks: both are
Firestore's clock, so no machine's clock matters.

* Taking it: read it; if it is absent or expired, write it on condition that it is
  still as read (absent, or the same update time). Of two machines racing, one wins.
* Holding it: a background thread renews every held lease every ``ttl / 3`` seconds, a
  write conditional on the update time of the last renewal; the new update time is the
  holder's token. A renewal that finds the lease changed means it expired and someone
  took it: the lease is lost, and nothing more is committed under it.
* Fencing: a commit made under a lease (:meth:`app.services.pipeline.Pipeline.under`)
  carries a write of the lease conditional on the holder's token, which changes nothing
  when it holds: a holder that lost its lease (paused past its expiry, cut off from the
  network) cannot commit under it, even before it notices.
* Letting go: a delete conditional on the token. A holder that dies stops renewing; its
  lease is free once it expires.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

from google.api_core import exceptions as api
from google.cloud.firestore_v1 import SERVER_TIMESTAMP

from app.kernel.errors import LockHeld
from app.kernel.leases import Acquiring
from app.kernel.locks import LockHolder, safe_filename
from app.services.store import firestore_codec as codec
from app.services.store.firestore_client import errors

log = logging.getLogger(__name__)

LEASES_ID, HELD = "leases", "held"
_LOST = (api.FailedPrecondition, api.NotFound, api.AlreadyExists)
_HOLDER_FIELDS = ("name", "pid", "user", "purpose", "since", "host")


class FirestoreLeases:
    """The leases of one Firestore project (the kernel's :class:`~app.kernel.leases.Leases`)."""

    shared = True

    def __init__(self, client: Any, where: str, *, ttl: float = 15.0, timeout: float = 10.0):
        self.where = where
        self.ttl = ttl
        self.timeout = timeout
        self.process = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._client = client
        self._held = client.collection(codec.ROOT_COLLECTION).document(LEASES_ID).collection(HELD)
        self._leases: dict[str, FirestoreLease] = {}
        self._mutex = threading.Lock()
        self._stop = threading.Event()
        self._renewer = threading.Thread(target=self._renew_loop, name="lease-renewer", daemon=True)
        self._renewer.start()

    def lock(self, name: str) -> FirestoreLease:
        with self._mutex:
            found = self._leases.get(name)
            if found is None:
                ref = self._held.document(safe_filename(name))
                found = self._leases[name] = FirestoreLease(self, name, ref)
            return found

    def forget(self, lease: FirestoreLease) -> None:
        """Drop a lease let go from the index (one object per name is kept only while
        it may be held: loan claims come and go by the thousand)."""
        with self._mutex:
            if self._leases.get(lease.name) is lease:
                del self._leases[lease.name]

    def held(self) -> list[LockHolder]:
        """Every lease held now (not expired), by any process."""
        with errors(self.where):
            snaps = list(self._held.stream(timeout=self.timeout))
        now = max((s.read_time for s in snaps), default=None)
        live = [holder_of(s.to_dict()) for s in snaps if now is not None and _live(s, now)]
        return sorted(live, key=lambda h: h.name)

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            with self._mutex:
                held = [lease for lease in self._leases.values() if lease.locked]
            for lease in held:
                lease.renew()

    def close(self) -> None:
        """Stop renewing and let every held lease go."""
        self._stop.set()
        self._renewer.join(timeout=self.timeout)
        with self._mutex:
            leases = list(self._leases.values())
        for lease in leases:
            with contextlib.suppress(Exception):
                lease.release()


def _live(snap: Any, now: datetime) -> bool:
    fields = snap.to_dict() or {}
    return bool(now < snap.update_time + timedelta(seconds=float(fields.get("ttl_s", 0))))


def holder_of(fields: dict[str, Any]) -> LockHolder:
    return LockHolder(**{k: fields.get(k, "" if k != "pid" else 0) for k in _HOLDER_FIELDS})


class FirestoreLease(Acquiring):
    """One lease (the kernel's :class:`~app.kernel.leases.Lease`; see the module docstring)."""

    FIRST_PAUSE, MAX_PAUSE = 0.05, 1.0

    def __init__(self, leases: FirestoreLeases, name: str, ref: Any) -> None:
        self.name = name
        self.ref = ref
        self._leases = leases
        self._mutex = threading.Lock()
        self._token: Any = None
        self._renewed = 0.0
        self._info: LockHolder | None = None

    def __repr__(self) -> str:
        return f"FirestoreLease({self.name!r}, {'held' if self.locked else 'free'} by this object)"

    @property
    def locked(self) -> bool:
        return self._token is not None

    def try_acquire(self, purpose: str, holder: str = "") -> bool:
        with self._mutex:
            if self._token is not None:
                return False
            snap = self._get()
            if snap.exists and _live(snap, snap.read_time):
                return False
            info = LockHolder.this_process(self.name, purpose, holder)
            fields = {**info.to_dict(), "process": self._leases.process, "ttl_s": self._leases.ttl}
            batch = self._leases._client.batch()
            if snap.exists:
                option = self._leases._client.write_option(last_update_time=snap.update_time)
                batch.update(self.ref, fields, option=option)
            else:
                batch.create(self.ref, fields)
            written = self._commit(batch)
            if written is None:
                return False
            self._token, self._renewed, self._info = written, time.monotonic(), info
            return True

    def release(self) -> None:
        with self._mutex:
            token, self._token, self._info = self._token, None, None
            if token is None:
                return
            self._leases.forget(self)
            option = self._leases._client.write_option(last_update_time=token)
            with contextlib.suppress(*_LOST), errors(self._leases.where):
                self.ref.delete(option=option, timeout=self._leases.timeout)

    def holder(self) -> LockHolder | None:
        if self._info is not None and self._token is not None:
            return self._info
        snap = self._get()
        if not snap.exists or not _live(snap, snap.read_time):
            return None
        return holder_of(snap.to_dict())

    # -- holding: renewal and fencing -------------------------------------------------

    def renew(self) -> None:
        """Renew it (the renewer thread); a lease found taken over is lost."""
        with self._mutex:
            token = self._token
            if token is None:
                return
            option = self._leases._client.write_option(last_update_time=token)
            try:
                with errors(self._leases.where):
                    result = self.ref.update(
                        {"renewed_at": SERVER_TIMESTAMP},
                        option=option,
                        timeout=self._leases.timeout,
                    )
            except _LOST:
                self._lose("it expired and was taken over, or deleted")
                return
            except Exception as exc:
                if time.monotonic() - self._renewed > self._leases.ttl:
                    self._lose(f"it could not be renewed before it expired ({exc})")
                else:
                    log.warning("Could not renew the lease %r yet: %s", self.name, exc)
                return
            self._token, self._renewed = result.update_time, time.monotonic()

    def _lose(self, why: str) -> None:
        log.error("Lost the lease %r: %s; nothing more is done under it.", self.name, why)
        self._token, self._info = None, None

    @property
    def token(self) -> Any:
        """The update time of this holder's last renewal (None: not held)."""
        return self._token

    @property
    def process(self) -> str:
        """Who this process is, as its leases name it."""
        return self._leases.process

    def holds(self, snap: Any) -> bool:
        """Whether ``snap`` (read just now) shows this process holding the lease, unexpired:
        what a commit under it checks (and then writes ``{"process": ...}`` back, changing
        nothing, on condition that the update time is still the one read)."""
        if snap is None or not snap.exists or not _live(snap, snap.read_time):
            return False
        return bool(snap.to_dict().get("process") == self._leases.process)

    def observed(self, token: Any, update_time: Any) -> None:
        """A commit's fencing write left the lease at ``update_time`` (unchanged, when
        Firestore keeps the update time of a write that changes nothing)."""
        with self._mutex:
            if self._token == token:
                self._token = update_time

    # -- helpers ------------------------------------------------------------------------

    def _get(self) -> Any:
        with errors(self._leases.where):
            return self.ref.get(timeout=self._leases.timeout)

    def _commit(self, batch: Any) -> Any:
        """The update time of the batch's one write, or None when someone got there first."""
        try:
            with errors(self._leases.where):
                return batch.commit(retry=None, timeout=self._leases.timeout)[0].update_time
        except _LOST:
            return None

    def _held_error(self) -> LockHeld:
        who = self.holder()
        detail = who.describe() if who is not None else "another holder that has just let it go"
        return LockHeld(
            f"The lock {self.name!r} is held by {detail}.",
            hint="Wait for them to finish and try again; it frees itself if that program "
            "stops (once its lease expires).",
        )
