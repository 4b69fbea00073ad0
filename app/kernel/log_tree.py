"""The Merkle tree of the write-ahead log, kept in a file beside it (``wal.tree``).

Leaf ``i`` of the tree is line ``i`` of the log without its newline (the record with
``lsn = i + 1``); hashes and proofs are RFC 6962 / 9162 (see ``merkle``). The file
holds the 32-byte node hashes in the post-order layout of ``merkle.node_position``:
appending a record appends its leaf hash and the hashes of the subtrees it completes,
so the file only grows at the end and nothing is rebuilt at start-up. A proof reads
O(log n) hashes with ``pread``.

Kept in step with the log, under the log's writer lock
---------------------------------------------------------
The write-ahead log calls ``reconcile`` when it opens (under its lock) and
``appended`` after each durable batch (under its lock, before it is released), so
the processes sharing a log append to its tree in the log's own order. The tree is
derived data and heals itself from the log:

* missing or shorter than the log (a crash between the log's fsync and the tree's
  write, or a writer that does not keep the tree): the missing leaves are read from
  the log and added, at open or before the next batch;
* longer than the log (the log lost records): cut back to the log;
* a torn last write: cut back to the last whole tree;
* at open, the last leaf is compared with the log's line. When they differ the log
  was changed after its tree was written (restored, or rewritten): the first record
  that differs is named in the ``TreeReport`` and the tree is rebuilt from the log.

``appended`` never raises into the log (its records are already durable): a failure
is logged and the tree resynchronises before the next batch.

Readers
-------
``head``, ``root``, ``inclusion`` and ``consistency`` never take the log's lock. Nodes
are final once written; ``refresh`` picks up what other processes appended.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from app.kernel.errors import StorageError, ValidationError
from app.kernel.files import PRIVATE_FILE
from app.kernel.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    Frontier,
    consistency_path,
    inclusion_path,
    leaf_hash,
    node_count,
    node_hash,
    node_position,
    peaks,
    size_for_nodes,
)
from app.kernel.wal_scan import Tip, seek_lsn
from app.kernel.wal_scan import _lines as read_lines

log = logging.getLogger(__name__)

_LSN_KEY = b' {"lsn":'
_LSN_AT = 64 + len(_LSN_KEY)
_TAIL_WINDOW = 1 << 16


def tree_path(log_path: Path) -> Path:
    """Where the tree of the log at ``log_path`` is kept (``wal.log`` -> ``wal.tree``)."""
    return log_path.with_suffix(".tree")


@dataclass(frozen=True)
class TreeReport:
    """What ``reconcile`` found and did. ``diverged_at`` is the first record whose line
    no longer matches its leaf in the tree (the log was changed after it was written);
    ``added`` leaves were read from the log, ``cut`` leaves dropped past its end."""

    size: int
    added: int = 0
    cut: int = 0
    diverged_at: int | None = None

    @property
    def detail(self) -> str:
        if self.diverged_at is None:
            return ""
        return (
            f"The log's record {self.diverged_at} is not the record its Merkle tree was "
            "built from: the log was changed after the tree was written (restored from a "
            "backup, or rewritten), or the tree file was damaged. The tree was rebuilt from "
            "the log; if the log changed, checkpoints signed before no longer match it."
        )


def _lsn_of(line: bytes) -> int:
    """The lsn a log line starts with (0 when it does not look like a log line)."""
    if line[64:_LSN_AT] != _LSN_KEY:
        return 0
    try:
        return int(line[_LSN_AT : line.index(b",", _LSN_AT)])
    except ValueError:
        return 0


def log_lines(fd: int, first: int, stop: int) -> Iterator[bytes]:
    """Lines (without newlines) of records ``first``, ``first + 1``, ... before byte ``stop``.

    Raises:
        StorageError: the log skips from a record before ``first`` to one after it.
    """
    lines = read_lines(fd, seek_lsn(fd, first, stop), stop)
    for line in lines:
        lsn = _lsn_of(line)
        if lsn == first:
            yield line
            yield from lines
            return
        if lsn > first:
            raise StorageError(f"The write-ahead log has no line for record {first}.")


class LogTree:
    """The persisted Merkle tree of one log (see module docstring). Thread-safe."""

    def __init__(self, path: Path, log_path: Path) -> None:
        self.path = path
        self.log_path = log_path
        self.on_grow: Callable[[int], None] | None = None
        self._mutex = threading.Lock()
        self._fd = -1
        self._frontier = Frontier()
        self._resync = True
        self._failing = False
        self._state = "new"  # "open" after the first reconcile, "closed" after close

    # -- kept in step by the log (under its writer lock) ---------------------------------

    def reconcile(self, tip: Tip) -> TreeReport:
        """Bring the tree in step with the log ending at ``tip`` (called at open)."""
        with self._mutex:
            self._state = "open"
            self._open()
            cut = self._trim(tip.lsn)
            diverged = self._find_divergence(tip)
            if diverged is not None:
                self._rebuild()
            added = self._extend(tip.lsn)
            self._resync = False
            report = TreeReport(self._frontier.size, added, cut, diverged)
        if diverged is not None:
            log.warning("%s", report.detail)
        return report

    def appended(self, first_lsn: int, lines: bytes) -> None:
        """Add the log's durable ``lines`` (whole lines, newlines included), which hold
        records ``first_lsn`` onwards. Never raises: a failure is logged and mended
        before the next batch."""
        try:
            with self._mutex:
                size = self._append(first_lsn, lines)
        except Exception:
            if not self._failing:  # once, not for every batch while it lasts
                self._failing = True
                log.exception("Could not add records from %d to the log's Merkle tree", first_lsn)
            return
        if self._failing:
            self._failing = False
            log.warning("The log's Merkle tree is in step with the log again (%d records)", size)
        if self.on_grow is not None:
            self.on_grow(size)

    def _append(self, first_lsn: int, lines: bytes) -> int:
        try:
            if self._resync or not self._in_step(first_lsn - 1):
                self._catch_up(first_lsn - 1)
            self._add(lines.split(b"\n")[:-1])
        except BaseException:
            self._resync = True  # reopen the file and take it in again next time
            self._close_file()
            raise
        return self._frontier.size

    def _in_step(self, size: int) -> bool:
        """Whether the tree holds ``size`` leaves and the file ends where they end (one
        ``lseek``: other processes' batches, cuts and torn writes all show)."""
        if self._frontier.size != size:
            return False
        return os.lseek(self._fd, 0, os.SEEK_END) == node_count(size) * HASH_SIZE

    def _catch_up(self, size: int) -> None:
        """Take in what other processes appended, then what the log has beyond the tree."""
        if self._fd < 0 or os.fstat(self._fd).st_nlink == 0:
            self._open()
        self._load(self._whole_size())
        self._trim(size)
        self._extend(size)
        self._resync = False

    def _add(self, lines: list[bytes]) -> None:
        _write_all(self._fd, b"".join(self._frontier.extend(lines)))

    # -- the file --------------------------------------------------------------------------

    def _open(self, *, locked: bool = True) -> None:
        self._close_file()
        self._fd = os.open(
            self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, PRIVATE_FILE
        )
        self._load(self._whole_size() if locked else self._file_size())

    def _file_size(self) -> int:
        """The size of the last whole tree in the file; what follows it is another
        process's write in progress, or a torn write that holders of the lock cut."""
        return size_for_nodes(os.fstat(self._fd).st_size // HASH_SIZE)

    def _whole_size(self) -> int:
        """``_file_size``, after cutting a torn last write (under the log's lock only)."""
        size = self._file_size()
        if os.fstat(self._fd).st_size != node_count(size) * HASH_SIZE:
            os.ftruncate(self._fd, node_count(size) * HASH_SIZE)
        return size

    def _load(self, size: int) -> None:
        self._frontier = Frontier(size, [self._node(lv, ix) for lv, ix in peaks(size)])

    def _trim(self, size: int) -> int:
        """Cut the tree back to ``size`` leaves if it is longer; how many were cut."""
        extra = self._frontier.size - size
        if extra <= 0:
            return 0
        os.ftruncate(self._fd, node_count(size) * HASH_SIZE)
        self._load(size)
        log.warning(
            "The log's Merkle tree had %d leaves more than the log has records; cut back to %d.",
            extra,
            size,
        )
        return extra

    def _extend(self, size: int) -> int:
        """Add the log's records after the tree's last leaf, up to ``size``; how many."""
        start = self._frontier.size
        if start >= size:
            return 0
        with open(self.log_path, "rb", buffering=0) as log_file:
            fd = log_file.fileno()
            lines = islice(log_lines(fd, start + 1, os.fstat(fd).st_size), size - start)
            while chunk := list(islice(lines, 20_000)):
                self._add(chunk)
        if self._frontier.size != size:
            raise StorageError(
                f"The write-ahead log ends at record {self._frontier.size}, not at {size}."
            )
        return size - start

    def _rebuild(self) -> None:
        """Start the tree afresh in a new file that replaces the old one (others see the
        replaced file at their next batch or refresh)."""
        fresh = self.path.with_name(f".{self.path.name}.{secrets.token_hex(6)}.tmp")
        fd = os.open(
            fresh, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, PRIVATE_FILE
        )
        os.replace(fresh, self.path)
        self._close_file()
        self._fd = fd
        self._frontier = Frontier()

    def _find_divergence(self, tip: Tip) -> int | None:
        """The first record whose line differs from its leaf, if the last one does.

        A rewrite from record k on changes every later line (each holds the hash of the
        one before), so a binary search over "does leaf i still match" finds k.
        """
        size = self._frontier.size
        if size == 0 or self._matches(size, tip):
            return None
        lo, hi = 1, size
        while lo < hi:
            mid = (lo + hi) // 2
            if self._matches(mid, tip):
                lo = mid + 1
            else:
                hi = mid
        return lo

    def _matches(self, lsn: int, tip: Tip) -> bool:
        with open(self.log_path, "rb", buffering=0) as log_file:
            line = next(log_lines(log_file.fileno(), lsn, tip.end), b"")
        return leaf_hash(line) == self._node(0, lsn - 1)

    def close(self) -> None:
        with self._mutex:
            self._state = "closed"
            self._close_file()

    def _close_file(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            with contextlib.suppress(OSError):
                os.close(fd)

    # -- readers ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Take in what other processes appended since our last batch (no lock needed).

        Raises:
            StorageError: the tree is not open or cannot be read.
        """
        with self._mutex:
            if self._state != "open":
                self._require_open()
            try:
                if self._fd < 0 or os.fstat(self._fd).st_nlink == 0:
                    self._open(locked=False)  # replaced by another process, or failed
                size = self._file_size()
                if size != self._frontier.size:
                    self._load(size)
            except OSError as exc:
                raise self._unreadable(exc) from exc

    def _unreadable(self, exc: OSError) -> StorageError:
        return StorageError(
            f"Cannot read the log's Merkle tree {self.path}: {exc.strerror or exc}.",
            hint="Check the data folder; the tree is rebuilt from the log at the next "
            "write or start.",
        )

    @property
    def is_open(self) -> bool:
        return self._state == "open"

    def head(self) -> tuple[int, bytes]:
        """The number of leaves and the root, as this process last saw them."""
        with self._mutex:
            return self._frontier.size, self._frontier.root()

    @property
    def size(self) -> int:
        return self._frontier.size

    def root(self, size: int) -> bytes:
        """MTH of the first ``size`` leaves."""
        self._check_size(size)
        hashes = [self._node(level, index) for level, index in peaks(size)]
        if not hashes:
            return EMPTY_ROOT
        root = hashes.pop()
        while hashes:
            root = node_hash(hashes.pop(), root)
        return root

    def leaf(self, lsn: int) -> bytes:
        """The leaf hash of record ``lsn``."""
        self._check_lsn(lsn, self._frontier.size)
        return self._node(0, lsn - 1)

    def inclusion(self, lsn: int, size: int) -> list[bytes]:
        """The inclusion proof of record ``lsn`` in the tree of the first ``size`` records."""
        self._check_size(size)
        self._check_lsn(lsn, size)
        return inclusion_path(lsn - 1, size, self._node)

    def consistency(self, first: int, second: int) -> list[bytes]:
        """The consistency proof from the first ``first`` records to the first ``second``."""
        self._check_size(second)
        if not 0 <= first <= second:
            raise ValidationError(
                f"A consistency proof goes from a smaller size to a larger one; got "
                f"{first} to {second}."
            )
        return consistency_path(first, second, self._node)

    def _check_size(self, size: int) -> None:
        have = self._frontier.size
        if not 0 <= size <= have:
            raise ValidationError(
                f"The log's tree has {have} records; there is no tree of size {size}."
            )

    @staticmethod
    def _check_lsn(lsn: int, size: int) -> None:
        if not 1 <= lsn <= size:
            raise ValidationError(
                f"Record {lsn} is not in a tree of {size} records (records are 1 to {size})."
            )

    def _require_open(self) -> None:
        if self._fd < 0:
            raise StorageError(
                f"The log's Merkle tree {self.path} is not open.",
                hint="Open the write-ahead log first.",
            )

    def _node(self, level: int, index: int) -> bytes:
        self._require_open()
        at = node_position(level, index) * HASH_SIZE
        try:
            data = os.pread(self._fd, HASH_SIZE, at)
        except OSError as exc:
            raise self._unreadable(exc) from exc
        if len(data) != HASH_SIZE:
            raise StorageError(
                f"The log's Merkle tree {self.path} ends before byte {at + HASH_SIZE}: "
                "another process cut it back. Try again.",
            )
        return data


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
