"""The data directory's ``wal.log`` as a verified mirror of the log kept in Firestore.

Every process keeps ``DATA_DIR/wal/wal.log`` following the project's records, so that
the audit viewer, the README's verifier, the Merkle tree and the signed checkpoints work
on it as they do on a local log. Records reach it two ways:

* this process's own commits, handed over right after Firestore took them: the mirror's
  thread appends them (one write and one ``fdatasync`` for all it has), off the writer's
  path, so the next batch goes to Firestore meanwhile;
* everyone else's: a listener on the head (``tfos/log``) wakes that thread, which reads
  the records between the mirror's end and the head (``PAGE`` at a time) and appends
  them.

Acknowledgements never wait for the mirror: reading a record through the log waits for
it a moment (:meth:`wait`), and closing lets it write this process's own records first.

Each line is checked before it is written, as the verifier checks it: the next lsn, the
previous hash, the SHA-256 (:meth:`~app.kernel.wal.WriteAheadLog.extend`). At start the
mirror's last record must be the project's record of the same lsn. A record that does not
continue the mirror stops it, loudly (``problem``, and an error in the log), and nothing
is ever repaired: commits go on, since Firestore holds the log, and ``tfos wal verify
--store-backend firestore`` says where the two part.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from app.kernel.errors import KnownError, StorageError
from app.kernel.wal import LogMismatch, WriteAheadLog
from app.services.store import firestore_records as layout

log = logging.getLogger(__name__)

KEEP_OWN = 10_000  # own records kept for the mirror while it is behind
RETRY_S = (0.2, 30.0)


class LogMirror:
    """Keeps a :class:`WriteAheadLog` (opened without hooks) in step with the records."""

    def __init__(self, wal: WriteAheadLog, refs: layout.LogRefs) -> None:
        self.wal = wal
        self.refs = refs
        self.problem = ""
        self._cond = threading.Condition()
        self._target = 0
        self._mirrored = 0
        self._own: dict[int, bytes] = {}
        self._own_last = 0
        self._closed = False
        self._thread: threading.Thread | None = None
        self._watch: Any = None
        self._on_head: Callable[[layout.Head], None] | None = None

    def start(self, head: layout.Head, on_head: Callable[[layout.Head], None]) -> None:
        """Check that the mirror is a part of the project's log, then follow it.

        Raises:
            StorageError: it is not (nothing is changed).
        """
        self._check_start(head)
        self._mirrored = self.wal.head()[0]
        self._target = head.lsn
        self._on_head = on_head
        self._thread = threading.Thread(target=self._follow, name="wal-mirror", daemon=True)
        self._thread.start()
        self._watch = self.refs.head.on_snapshot(self._heard)

    def _check_start(self, head: layout.Head) -> None:
        lsn, digest = self.wal.head()
        if lsn == 0:
            return
        theirs = self.refs.lines(lsn, lsn) if lsn <= head.lsn else []
        if theirs and theirs[0].startswith(digest.encode() + b" "):
            return
        if lsn > head.lsn:
            why = f"holds {lsn} records, and the project's log only {head.lsn}"
        else:
            why = f"has a different record {lsn} from the project's log"
        raise StorageError(
            f"This data directory's log ({self.wal.path}) {why} on {self.refs.where}: "
            "it is another log.",
            hint="To move this office's books into an empty project, run `tfos store migrate "
            "--to firestore`; to work on this project, use another data directory.",
        )

    # -- records coming in ------------------------------------------------------------------

    def offer(self, lines: list[bytes]) -> None:
        """This process's records, just committed, for the mirror's thread to append."""
        if not lines or self.problem:
            return
        first = int(lines[0][72 : lines[0].index(b",", 72)])
        last = first + len(lines) - 1
        with self._cond:
            self._target = max(self._target, last)
            self._own_last = max(self._own_last, last)
            if len(self._own) < KEEP_OWN:
                self._own.update(zip(range(first, last + 1), lines, strict=True))
            self._cond.notify_all()

    def _heard(self, snapshots: list[Any], _changes: Any, _read_time: Any) -> None:
        if not snapshots:
            return
        head = layout.head_of(snapshots[0])
        if self._on_head is not None:
            self._on_head(head)
        with self._cond:
            if head.lsn > self._target:
                self._target = head.lsn
                self._cond.notify_all()

    # -- the follower thread ----------------------------------------------------------------

    def _follow(self) -> None:
        pause = RETRY_S[0]
        while True:
            with self._cond:
                while not self._closed and self._mirrored >= self._target:
                    self._cond.wait()
                if self._closed:
                    return
                first = self._mirrored + 1
                last = min(self._target, self._mirrored + KEEP_OWN)
                lines = self._own_lines(first, last)
                last = min(last, first + layout.PAGE - 1)
            try:
                if not lines:
                    lines = self.refs.lines(first, last)
                if lines:
                    self._extend(lines)
                    pause = RETRY_S[0]
                    continue
            except KnownError as exc:
                log.warning("The log mirror could not read records from Firestore: %s", exc)
            if self.problem:
                return
            time.sleep(pause)  # the records are not readable yet, or Firestore is away
            pause = min(pause * 2, RETRY_S[1])

    def _own_lines(self, first: int, last: int) -> list[bytes]:
        lines = []
        for lsn in range(first, last + 1):
            line = self._own.pop(lsn, None)
            if line is None:
                break
            lines.append(line)
        return lines

    def _extend(self, lines: list[bytes]) -> None:
        try:
            mirrored = self.wal.extend(lines)
        except LogMismatch as exc:
            self._stop(str(exc))
            return
        except KnownError as exc:
            log.warning("The log mirror could not write: %s", exc)
            return
        with self._cond:
            self._mirrored = max(self._mirrored, mirrored)
            for lsn in [n for n in self._own if n <= mirrored]:
                del self._own[lsn]
            self._cond.notify_all()

    def _stop(self, why: str) -> None:
        self.problem = why
        log.error(
            "The log mirror %s stopped: %s The project's log in Firestore is unaffected; "
            "run `tfos wal verify --store-backend firestore` to see where they part.",
            self.wal.path,
            why,
        )
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    # -- waiting and stopping ---------------------------------------------------------------

    @property
    def mirrored(self) -> int:
        return self._mirrored

    def wait(self, lsn: int, timeout: float) -> bool:
        """Wait until the mirror holds record ``lsn``; False if it does not in time."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._mirrored < lsn:
                left = deadline - time.monotonic()
                if left <= 0 or self.problem:
                    return False
                self._cond.wait(left)
        return True

    def close(self) -> None:
        """Stop following, once this process's own records are written (a few seconds at
        most: the rest is read again at the next start)."""
        self.wait(self._own_last, timeout=5.0)
        if self._watch is not None:
            self._watch.unsubscribe()
            self._watch = None
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
