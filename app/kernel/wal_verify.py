"""``verify_file``: check every record of a write-ahead log and report, never repair.

Each line is checked against the line before it (its lsn and stored hash), so after
a broken record the check goes on with that record's stored hash as the next
``prev``: one changed byte names one record, and every broken record is listed.
A record whose own hash field was changed is recognised too: the next record may
chain to either its stored hash or the hash recomputed from its content.

Because each line needs only the line before it, big logs are split into ranges
checked in parallel by worker processes and stitched together in order; the first
line of each range is re-checked against the real state when stitching, and in the
rare case that changes what follows, the range is checked again in this process.
"""

from __future__ import annotations

import itertools
import json
import os
import pickle
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path
from typing import Any

from app.kernel import bundle
from app.kernel.errors import StorageError
from app.kernel.wal_format import GENESIS
from app.kernel.wal_scan import CHUNK, walk

PARALLEL_MIN_BYTES = 64 << 20
_PREFIX = re.compile(rb'\{"lsn":(0|[1-9][0-9]*),"prev":"([0-9a-f]{64})"')
_HEX64 = re.compile(rb"[0-9a-f]{64}")

State = tuple[int | None, bytes | None, bytes | None]
"""Expected next lsn, stored hash of the line before, recomputed hash if that differed."""

Progress = Callable[[int, int], None]
_UNKNOWN: State = (None, None, None)
_Job = tuple[str, int, int, State | None, int]
_START: State = (1, GENESIS.encode(), None)


@dataclass(frozen=True)
class VerifyReport:
    """What ``verify_file`` found. ``broken`` lists every failing record in file order."""

    path: str
    entries: int
    head_lsn: int
    head_hash: str
    ok: bool
    broken: list[dict[str, Any]]
    torn_tail: dict[str, int] | None
    bytes: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "ok": self.ok,
            "entries": self.entries,
            "head_lsn": self.head_lsn,
            "head_hash": self.head_hash,
            "broken": self.broken,
            "torn_tail": self.torn_tail,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


def analyze(line: bytes, state: State) -> tuple[list[str], int | None, State]:
    """Check one line (no newline) against ``state``: problems, its lsn, the next state.

    A self-consistent line (its hash matches its own body and claimed prev) is
    trusted for its lsn, so the check re-synchronises after missing records; a line
    that fails its hash is taken to sit where it was expected.
    """
    expected, prev, alt = state
    space = line.find(b" ")
    stored, body = (line[:space], line[space + 1 :]) if space >= 0 else (b"", line)
    well = space == 64 and _HEX64.fullmatch(stored) is not None
    found = _PREFIX.match(body)
    lsn, claimed = (int(found[1]), found[2]) if found else (None, None)
    basis = claimed if claimed is not None else prev
    recomputed = sha256(basis + body).hexdigest().encode() if basis is not None else None
    consistent = well and recomputed == stored
    problems = [
        problem
        for failed, problem in (
            (not well, "the line does not start with a 64-character lowercase hex hash"),
            (found is None, 'the body does not start with {"lsn":N,"prev":"<hash>"'),
            (None not in (expected, lsn) and lsn != expected, f"its lsn is {lsn}, not {expected}"),
            (None not in (prev, claimed) and claimed not in (prev, alt), _BAD_PREV),
            (well and recomputed is not None and not consistent, _BAD_HASH),
        )
        if failed
    ]
    own = lsn if lsn is not None and (consistent or expected is None) else expected
    next_state = (
        own + 1 if own is not None else None,
        stored if well else None,
        recomputed if well and not consistent else None,
    )
    return problems, own, next_state


_BAD_PREV = "its prev is not the hash of the record before it"
_BAD_HASH = "its hash does not match its content"


@dataclass
class _Range:
    """The outcome of checking one range of lines."""

    start: int
    stop: int
    lines: int = 0
    state: State = _UNKNOWN
    last_lsn: int | None = None
    broken: list[tuple[int, int, int | None, str]] = field(default_factory=list)
    first_line: bytes | None = None
    first_state: State = _UNKNOWN
    torn: tuple[int, int] | None = None


class _Checker:
    def __init__(self, start: int, stop: int, state: State | None) -> None:
        self.result = _Range(start, stop, state=state or _UNKNOWN)
        self.unknown_start = state is None

    def run(self, fd: int, chunk: int, progress: Progress | None = None, total: int = 0) -> _Range:
        res = self.result
        base = offset = res.start
        buf = b""
        while offset < res.stop:
            piece = os.pread(fd, min(chunk, res.stop - offset), offset)
            if not piece:
                break
            offset += len(piece)
            buf = buf + piece if buf else piece
            pos = self._consume(buf, base)
            base += pos
            buf = buf[pos:]
            if progress is not None:
                progress(offset, total)
        if buf:
            res.torn = (base, len(buf))
        return res

    def _consume(self, buf: bytes, base: int) -> int:
        res = self.result
        pos = 0
        while True:
            expected, prev, _ = res.state
            if expected is not None and prev is not None:
                pos, lsn, prev = walk(buf, pos, expected - 1, prev)
                if lsn != expected - 1:
                    res.lines += lsn - expected + 1
                    res.state, res.last_lsn = (lsn + 1, prev, None), lsn
            newline = buf.find(b"\n", pos)
            if newline < 0:
                return pos
            self._slow(buf[pos:newline], base + pos)
            pos = newline + 1

    def _slow(self, line: bytes, offset: int) -> None:
        res = self.result
        problems, lsn, res.state = analyze(line, res.state)
        if self.unknown_start and res.lines == 0:
            res.first_line, res.first_state = line, res.state
        elif problems:
            res.broken.append((res.lines, offset, lsn, "; ".join(problems)))
        res.lines += 1
        res.last_lsn = lsn


def _check_in_parallel(
    path: Path, size: int, chunk: int, workers: int, stitcher: _Stitcher, progress: Progress | None
) -> None:
    """Check ranges in worker processes, each taking a contiguous share, and stitch them."""
    ranges = list(itertools.pairwise(_boundaries(path, size, chunk)))
    share = -(-len(ranges) // workers)
    groups = [ranges[i : i + share] for i in range(0, len(ranges), share)]
    paths = [_ROOT, *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(path), str(chunk), json.dumps(group)],
            stdout=subprocess.PIPE,
            env=env,
        )
        for group in groups
    ]
    try:
        for proc, group in zip(procs, groups, strict=True):
            assert proc.stdout is not None
            for _ in group:
                try:
                    res = pickle.load(proc.stdout)
                except (EOFError, pickle.UnpicklingError) as exc:
                    raise StorageError(
                        f"A worker checking {path} stopped (exit code {proc.wait()}).",
                        hint="Run the check again with one worker (workers=1).",
                    ) from exc
                stitcher.add(res, chunk)
                if progress is not None:
                    progress(res.stop, size)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


_ROOT = str(bundle.root())
_WORKER = "import sys; from app.kernel.wal_verify import worker_main; worker_main(sys.argv[1:])"


def worker_main(argv: list[str]) -> None:
    """A worker process: check each range given and write its result (pickled) to stdout."""
    path, chunk, ranges = argv[0], int(argv[1]), json.loads(argv[2])
    out = sys.stdout.buffer
    for start, stop in ranges:
        pickle.dump(_check_range((path, start, stop, _START if start == 0 else None, chunk)), out)
        out.flush()


def _check_range(job: _Job) -> _Range:
    path, start, stop, state, chunk = job
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return _Checker(start, stop, state).run(fd, chunk)
    finally:
        os.close(fd)


def _boundaries(path: Path, size: int, chunk: int) -> list[int]:
    """Line starts near every ``chunk`` bytes, from 0 to ``size``."""
    cuts = [0]
    with open(path, "rb", buffering=0) as file:
        fd = file.fileno()
        for guess in range(chunk, size, chunk):
            if guess <= cuts[-1]:
                continue
            offset = guess
            while offset < size:
                piece = os.pread(fd, 1 << 16, offset - 1)
                if not piece:
                    break
                newline = piece.find(b"\n")
                if newline >= 0:
                    cuts.append(offset + newline)
                    break
                offset += len(piece)
    cuts = sorted(c for c in set(cuts) if c < size)
    return [*cuts, size]


class _Stitcher:
    """Joins range results in file order into one report."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines = 0
        self.state: State = _START
        self.last_lsn = 0
        self.broken: list[dict[str, Any]] = []
        self.torn: dict[str, int] | None = None

    def add(self, res: _Range, chunk: int) -> None:
        if res.first_line is not None:
            problems, lsn, state = analyze(res.first_line, self.state)
            if state != res.first_state:
                res = _check_range((str(self.path), res.start, res.stop, self.state, chunk))
            else:
                if problems:
                    self._broken(0, res.start, lsn, "; ".join(problems))
                self.last_lsn = lsn or self.last_lsn
        for index, offset, lsn, problem in res.broken:
            self._broken(index, offset, lsn, problem)
        if res.lines:
            self.state, self.last_lsn = res.state, res.last_lsn or self.last_lsn
        if res.torn is not None:
            self.torn = {"offset": res.torn[0], "bytes": res.torn[1], "lsn": self.last_lsn + 1}
        self.lines += res.lines

    def _broken(self, index: int, offset: int, lsn: int | None, problem: str) -> None:
        entry = {"lsn": lsn, "line_no": self.lines + index + 1, "offset": offset}
        self.broken.append({**entry, "problem": problem})

    def report(self, size: int, seconds: float) -> VerifyReport:
        head = self.state[1] if self.lines else GENESIS.encode()
        return VerifyReport(
            path=str(self.path),
            entries=self.lines,
            head_lsn=self.last_lsn,
            head_hash=(head or b"").decode(),
            ok=not self.broken and self.torn is None,
            broken=self.broken,
            torn_tail=self.torn,
            bytes=size,
            seconds=seconds,
        )


def can_use_workers() -> bool:
    """Whether worker processes can be started (not in a frozen, single-binary build)."""
    return (os.cpu_count() or 1) > 1 and not bundle.is_frozen()


def verify_file(
    path: Path | str,
    progress: Progress | None = None,
    *,
    workers: int | None = None,
    chunk_bytes: int = CHUNK,
) -> VerifyReport:
    """Check every record of the log at ``path``; nothing is ever written.

    Args:
        path: the log file.
        progress: called with (bytes checked, total bytes) as the check advances.
        workers: processes to use; by default one per CPU for logs over 64 MiB.
        chunk_bytes: bytes read at a time, and the size of each parallel range.

    Raises:
        StorageError: the file cannot be read.
    """
    began = time.perf_counter()
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise StorageError(f"Cannot read the write-ahead log {path}: {exc.strerror}.") from exc
    if workers is None:
        workers = (os.cpu_count() or 1) if size >= PARALLEL_MIN_BYTES and can_use_workers() else 1
    stitcher = _Stitcher(path)
    if workers <= 1 or size < 2 * chunk_bytes:
        with open(path, "rb", buffering=0) as file:
            res = _Checker(0, size, _START).run(file.fileno(), chunk_bytes, progress, size)
        stitcher.add(res, chunk_bytes)
    else:
        _check_in_parallel(path.resolve(), size, chunk_bytes, workers, stitcher, progress)
    return stitcher.report(size, time.perf_counter() - began)
