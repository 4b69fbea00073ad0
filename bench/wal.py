"""Write-ahead log benchmark: the cost of durability, group commit and verification.

Run from the repository root::

    PYTHONPATH=. python bench/wal.py [--quick] [--dir DIR]

(a) raw: a loop of write + fdatasync of lines the size of a real record, on the
    same disk as the log -- the ceiling for one durable write at a time. Beside
    it, a bare thread doing the same for requests handed over by a queue and a
    Future: the ceiling for any design with one writer thread.
(b) single writer: one thread calling ``append`` in a loop. (a) and (b) run in
    alternating rounds so that disk noise hits both alike; ratios are medians.
(c) 64 concurrent submitters, three ways: threads calling ``append``, asyncio
    tasks awaiting ``asyncio.wrap_future(wal.submit(...))``, and asyncio tasks
    awaiting ``AsyncWal.append`` (one loop wake-up per batch). The best counts.
(e) floors, to judge (a)-(c) by: the same work as one commit written inline with
    nothing else (encode, flock and holder info, end check, stamp, hash, record,
    write, fdatasync, unlock), on an appended file and on a file zero-filled
    ahead (so fdatasync need not log a new file size); and the CPU per record that
    64 asyncio submitters and one writer spend in CPython before any system call
    (encode, await a future, format, hash, build the record), against the CPU
    budget per record that a group-commit ratio of 20 leaves on this disk.
(d) verify_file on a log built in bulk, against a bare hashlib.sha256 loop over
    the same line bytes; with --quick the log is smaller and the time for
    1,000,000 records is extrapolated.

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import json
import os
import shutil
import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from hashlib import sha256
from pathlib import Path
from queue import SimpleQueue
from typing import Any

from app.kernel.log_tree import tree_path
from app.kernel.wal import GENESIS, Entry, WriteAheadLog, verify_file
from app.kernel.wal_format import encode_body, encode_entry, make_record, utc_stamp
from app.kernel.wal_verify import PARALLEL_MIN_BYTES, can_use_workers
from bench.wal_async import AsyncWal

SUBMITTERS = 64
ONE_MILLION = 1_000_000


def sample_entry(i: int = 0) -> Entry:
    return Entry(
        actor={"id": "staff-0042", "name": "Asha Rao", "role": "accountant"},
        action="ledger.post",
        entity={"type": "ledger_entry", "id": f"LE-2026-{i:08d}"},
        change={
            "group": "G-0007",
            "period": 5 + i % 40,
            "debit": {"account": "cash", "paise": 750_000 + i},
            "credit": {"account": "member:M-0031", "paise": 750_000 + i},
        },
        reason="monthly instalment",
    )


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0


def raw_fsync_rate(path: Path, line: bytes, seconds: float) -> float:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC, 0o644)
    try:
        count, began = 0, time.perf_counter()
        deadline = began + seconds
        while True:
            os.write(fd, line)
            os.fdatasync(fd)
            count += 1
            if count % 16 == 0 and time.perf_counter() >= deadline:
                break
        return _rate(count, time.perf_counter() - began)
    finally:
        os.close(fd)


def handoff_fsync_rate(path: Path, line: bytes, seconds: float) -> float:
    """The ceiling for any one-writer-thread design: a bare thread that writes and
    fdatasyncs each request handed to it through a queue and a Future."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC, 0o644)
    requests: SimpleQueue[Future[None] | None] = SimpleQueue()

    def writer() -> None:
        while (request := requests.get()) is not None:
            request.set_running_or_notify_cancel()
            os.write(fd, line)
            os.fdatasync(fd)
            request.set_result(None)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        count, began = 0, time.perf_counter()
        deadline = began + seconds
        while True:
            done: Future[None] = Future()
            requests.put(done)
            done.result()
            count += 1
            if count % 16 == 0 and time.perf_counter() >= deadline:
                break
        return _rate(count, time.perf_counter() - began)
    finally:
        requests.put(None)
        thread.join()
        os.close(fd)


def inline_floor_rate(folder: Path, seconds: float, *, zero_filled: bool) -> float:
    """One commit's work written inline, with none of the log's structure around it."""
    entry = sample_entry()
    flags = os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
    fd = os.open(folder / "floor.log", flags | (0 if zero_filled else os.O_APPEND), 0o644)
    lock = os.open(folder / "floor.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    if zero_filled:
        os.write(fd, bytes(64 << 20))
        os.fsync(fd)
    info = b"%d" % os.getpid()
    prev, lsn, end = GENESIS.encode(), 0, 0
    try:
        count, began = 0, time.perf_counter()
        deadline = began + seconds
        while True:
            tail = encode_entry(entry)
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.pwrite(lock, b"%s %f\n" % (info, time.time()), 0)
            if zero_filled:
                if os.pread(fd, 1, end) not in (b"", b"\0"):
                    raise RuntimeError("the floor's log was written by someone else")
            elif os.lseek(fd, 0, os.SEEK_END) != end:
                raise RuntimeError("the floor's log was written by someone else")
            ts = utc_stamp()
            lsn += 1
            body = encode_body(lsn, prev, ts.encode(), tail)
            digest = sha256(prev + body).hexdigest()
            make_record(lsn, ts, prev.decode(), digest, entry)
            data = b"%s %s\n" % (digest.encode(), body)
            if zero_filled:
                os.pwrite(fd, data, end)
            else:
                os.write(fd, data)
            os.fdatasync(fd)
            prev, end = digest.encode(), end + len(data)
            fcntl.flock(lock, fcntl.LOCK_UN)
            count += 1
            if count % 16 == 0 and time.perf_counter() >= deadline:
                break
        return _rate(count, time.perf_counter() - began)
    finally:
        os.close(fd)
        os.close(lock)
        (folder / "floor.log").unlink()


def asyncio_floor_us(batches: int) -> float:
    """CPU microseconds per record that 64 asyncio submitters and a writer cannot
    avoid in CPython: encode the entry, await a future resolved with its batch of
    64, and for the writer format the body, hash it and build the record."""
    entry = sample_entry()
    prev, ts = GENESIS.encode(), utc_stamp()

    async def main() -> float:
        loop = asyncio.get_running_loop()
        queued: list[tuple[bytes, asyncio.Future[None]]] = []

        def write(batch: list[tuple[bytes, asyncio.Future[None]]]) -> None:
            for lsn, (tail, future) in enumerate(batch, 1):
                body = encode_body(lsn, prev, ts.encode(), tail)
                make_record(lsn, ts, prev.decode(), sha256(prev + body).hexdigest(), entry)
                future.set_result(None)

        async def work() -> None:
            for _ in range(batches):
                future = loop.create_future()
                queued.append((encode_entry(entry), future))
                if len(queued) == SUBMITTERS:
                    loop.call_soon(write, queued.copy())
                    queued.clear()
                await future

        began = time.process_time()
        await asyncio.gather(*(work() for _ in range(SUBMITTERS)))
        return (time.process_time() - began) * 1e6 / (batches * SUBMITTERS)

    return asyncio.run(main())


def single_writer_rate(path: Path, seconds: float) -> float:
    entry = sample_entry()
    with WriteAheadLog(path) as wal:
        count, began = 0, time.perf_counter()
        deadline = began + seconds
        while True:
            wal.append(entry)
            count += 1
            if count % 16 == 0 and time.perf_counter() >= deadline:
                break
        return _rate(count, time.perf_counter() - began)


def threads_rate(wal: WriteAheadLog, seconds: float) -> int:
    entry = sample_entry()
    counts = [0] * SUBMITTERS
    deadline = time.perf_counter() + seconds

    def work(k: int) -> None:
        while time.perf_counter() < deadline:
            wal.append(entry)
            counts[k] += 1

    threads = [threading.Thread(target=work, args=(k,)) for k in range(SUBMITTERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts)


def wrap_future_rate(wal: WriteAheadLog, seconds: float) -> int:
    entry = sample_entry()

    async def work(deadline: float) -> int:
        count = 0
        while time.perf_counter() < deadline:
            await asyncio.wrap_future(wal.submit(entry))
            count += 1
        return count

    async def main() -> int:
        deadline = time.perf_counter() + seconds
        return sum(await asyncio.gather(*(work(deadline) for _ in range(SUBMITTERS))))

    return asyncio.run(main())


def async_wal_rate(wal: WriteAheadLog, seconds: float) -> int:
    entry = sample_entry()
    bridge = AsyncWal(wal)

    async def work(deadline: float) -> int:
        count = 0
        while time.perf_counter() < deadline:
            await bridge.append(entry)
            count += 1
        return count

    async def main() -> int:
        deadline = time.perf_counter() + seconds
        return sum(await asyncio.gather(*(work(deadline) for _ in range(SUBMITTERS))))

    return asyncio.run(main())


GROUP_MODES: dict[str, Callable[[WriteAheadLog, float], int]] = {
    "threads": threads_rate,
    "asyncio+wrap_future": wrap_future_rate,
    "asyncio+AsyncWal": async_wal_rate,
}


def group_rate(path: Path, mode: str, seconds: float) -> tuple[float, float, float]:
    """Commits per second, average batch size and CPU microseconds per commit (all
    threads, system calls included) of one group-commit mode."""
    with WriteAheadLog(path) as wal:
        began, cpu = time.perf_counter(), time.process_time()
        count = GROUP_MODES[mode](wal, seconds)
        elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
        batch = wal.stats().avg_batch
    path.unlink()
    tree_path(path).unlink()
    return _rate(count, elapsed), batch, cpu * 1e6 / max(count, 1)


def durability_rounds(folder: Path, line: bytes, rounds: int, seconds: float) -> dict[str, Any]:
    """(a), (b) and (c) in alternating rounds; every ratio is taken within its round."""
    raws: list[float] = []
    per_s: dict[str, list[float]] = {
        "single": [],
        "ceiling": [],
        "floor": [],
        "floor_zero_filled": [],
        **{m: [] for m in GROUP_MODES},
    }
    ratios: dict[str, list[float]] = {name: [] for name in per_s}
    batches: dict[str, list[float]] = {m: [] for m in GROUP_MODES}
    cpu: dict[str, list[float]] = {m: [] for m in GROUP_MODES}
    for n in range(rounds):
        raws.append(raw_fsync_rate(folder / "raw.log", line, seconds))
        per_s["single"].append(single_writer_rate(folder / f"single-{n}.log", seconds))
        per_s["ceiling"].append(handoff_fsync_rate(folder / "handoff.log", line, seconds))
        per_s["floor"].append(inline_floor_rate(folder, seconds, zero_filled=False))
        per_s["floor_zero_filled"].append(inline_floor_rate(folder, seconds, zero_filled=True))
        for mode in GROUP_MODES:
            rate, batch, cpu_us = group_rate(folder / f"group-{n}.log", mode, seconds)
            per_s[mode].append(rate)
            batches[mode].append(batch)
            cpu[mode].append(cpu_us)
        for name, rates in per_s.items():
            ratios[name].append(rates[-1] / raws[-1])
    best = max(GROUP_MODES, key=lambda m: statistics.median(ratios[m]))
    floor_us = statistics.median(asyncio_floor_us(200) for _ in range(3))
    return {
        "raw_fsync_per_s": round(statistics.median(raws)),
        "raw_fsync_rounds": [round(r) for r in raws],
        "single_writer_per_s": round(statistics.median(per_s["single"])),
        "single_writer_ratio": round(statistics.median(ratios["single"]), 3),
        "single_writer_rounds": [round(r, 2) for r in ratios["single"]],
        "handoff_ceiling_ratio": round(statistics.median(ratios["ceiling"]), 3),
        "inline_floor_ratio": round(statistics.median(ratios["floor"]), 3),
        "inline_floor_zero_filled_ratio": round(statistics.median(ratios["floor_zero_filled"]), 3),
        "group_commit_mode": best,
        "group_commit_per_s": round(statistics.median(per_s[best])),
        "group_commit_ratio": round(statistics.median(ratios[best]), 2),
        "group_commit_cpu_us": round(statistics.median(cpu[best]), 1),
        "group_commit_cpu_floor_us": round(floor_us, 1),
        "group_commit_cpu_budget_us": round(1e6 / statistics.median(raws) / 20, 1),
        "group_commit_modes": {
            mode: {
                "per_s": round(statistics.median(per_s[mode])),
                "ratio": round(statistics.median(ratios[mode]), 2),
                "avg_batch": round(statistics.median(batches[mode]), 1),
                "cpu_us": round(statistics.median(cpu[mode]), 1),
            }
            for mode in GROUP_MODES
        },
    }


def build_log(path: Path, records: int) -> None:
    """A valid log written in bulk (same encoder and hash as the writer)."""
    tails = [encode_entry(sample_entry(i)) for i in range(1000)]
    prev = GENESIS.encode()
    with open(path, "wb", buffering=1 << 22) as file:
        for lsn in range(1, records + 1):
            ts = b"2026-11-24T10:%02d:%02d.%06dZ" % (
                lsn // 60_000_000 % 60,
                lsn // 1_000_000 % 60,
                lsn % 1_000_000,
            )
            body = encode_body(lsn, prev, ts, tails[lsn % 1000])
            prev = sha256(prev + body).hexdigest().encode()
            file.write(b"%s %s\n" % (prev, body))


def raw_sha_rate(path: Path) -> float:
    """Records per second of a bare sha256 loop over the log's lines (splitting not timed)."""
    spent, count = 0.0, 0
    with open(path, "rb") as file:
        rest = b""
        while piece := file.read(16 << 20):
            lines = (rest + piece).split(b"\n")
            rest = lines.pop()
            began = time.perf_counter()
            for line in lines:
                sha256(line).hexdigest()
            spent += time.perf_counter() - began
            count += len(lines)
    return _rate(count, spent)


def auto_workers(size: int) -> int:
    return (os.cpu_count() or 1) if size >= PARALLEL_MIN_BYTES and can_use_workers() else 1


def verify_figures(folder: Path, records: int) -> dict[str, Any]:
    path = folder / "verify.log"
    began = time.perf_counter()
    build_log(path, records)
    built = time.perf_counter() - began
    raw = raw_sha_rate(path)
    single = verify_file(path, workers=1)
    auto = verify_file(path)
    assert single.ok and auto.ok and auto.entries == records
    best = min(single.seconds, auto.seconds)
    per_s = _rate(records, best)
    path.unlink()
    return {
        "verify_records": records,
        "verify_bytes": auto.bytes,
        "verify_build_seconds": round(built, 2),
        "raw_sha256_per_s": round(raw),
        "verify_per_s": round(per_s),
        "verify_single_process_per_s": round(_rate(records, single.seconds)),
        "verify_workers_auto": auto_workers(auto.bytes),
        "verify_ratio": round(per_s / raw, 3),
        "verify_1m_seconds": round(best * ONE_MILLION / records, 3),
        "verify_1m_extrapolated": records != ONE_MILLION,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (under 30 s)")
    parser.add_argument("--dir", type=Path, default=Path("bench/out"), help="where to write")
    args = parser.parse_args(argv)
    rounds, seconds = (5, 0.3) if args.quick else (12, 0.8)
    verify_records = 400_000 if args.quick else ONE_MILLION

    folder = args.dir / f"wal-bench-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        line = _sample_line(folder)
        durability = durability_rounds(folder, line, rounds, seconds)
        figures = verify_figures(folder, verify_records)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    result = {"quick": args.quick, "record_bytes": len(line), **durability, **figures}
    _print_table(result)
    print(json.dumps(result))
    return result


def _sample_line(folder: Path) -> bytes:
    with WriteAheadLog(folder / "sample.log") as wal:
        line = wal.append(sample_entry()).line
    (folder / "sample.log").unlink()
    tree_path(folder / "sample.log").unlink()
    return line


def _print_table(r: dict[str, Any]) -> None:
    print(f"record size                      {r['record_bytes']} bytes")
    print(f"(a) raw write+fdatasync          {r['raw_fsync_per_s']:>9,}/s  {r['raw_fsync_rounds']}")
    print(
        f"(b) single writer                {r['single_writer_per_s']:>9,}/s  "
        f"ratio {r['single_writer_ratio']} (goal >= 0.8) {r['single_writer_rounds']}"
    )
    print(
        f"    bare thread handoff + fdatasync (ceiling for one writer thread): "
        f"ratio {r['handoff_ceiling_ratio']}"
    )
    print(
        f"(e) one commit's work inline: ratio {r['inline_floor_ratio']}; "
        f"on a zero-filled file: ratio {r['inline_floor_zero_filled_ratio']}"
    )
    for name, g in r["group_commit_modes"].items():
        print(
            f"(c) 64 submitters, {name:<20}  {g['per_s']:>9,}/s  ratio {g['ratio']}"
            f"  avg batch {g['avg_batch']}  CPU {g['cpu_us']} us/commit"
        )
    print(f"    best: {r['group_commit_mode']}, ratio {r['group_commit_ratio']} (goal >= 20)")
    print(
        f"(e) CPU per commit: {r['group_commit_cpu_us']} us; CPython floor for it "
        f"{r['group_commit_cpu_floor_us']} us; a ratio of 20 on this disk allows "
        f"{r['group_commit_cpu_budget_us']} us"
    )
    print(
        f"(d) verify {r['verify_records']:,} records      {r['verify_per_s']:>9,}/s  "
        f"(one process {r['verify_single_process_per_s']:,}/s; raw sha256 "
        f"{r['raw_sha256_per_s']:,}/s) ratio {r['verify_ratio']} (goal >= 0.5)"
    )
    note = " (extrapolated)" if r["verify_1m_extrapolated"] else ""
    print(f"    1,000,000 records in {r['verify_1m_seconds']} s{note} (goal < 3 s)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
