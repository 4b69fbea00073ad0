"""The write-ahead log, tested on real files, real flock, real processes and real signals."""

from __future__ import annotations

import asyncio
import hashlib
import json
import multiprocessing
import os
import random
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from app.kernel import wal as wal_module
from app.kernel.errors import LockHeld, StorageError, ValidationError
from app.kernel.wal import (
    GENESIS,
    Entry,
    OpenReport,
    Record,
    WalLockHeld,
    WriteAheadLog,
    verify_file,
)
from app.kernel.wal_lock import WalLock
from bench.wal_async import AsyncWal

ROOT = Path(__file__).resolve().parents[1]
SPAWN = multiprocessing.get_context("spawn")
ACTOR = {"id": "u-7", "name": "Asha Rao", "role": "clerk"}
FIELDS = ["lsn", "prev", "ts", "actor", "action", "entity", "change", "reason"]


def entry(i: int, who: str = "Asha Rao", **change: Any) -> Entry:
    return Entry(
        actor={"id": f"u-{who}", "name": who, "role": "clerk"},
        action="ledger.post",
        entity={"type": "ledger", "id": f"L-{i}"},
        change={"amount": 100 * i, "to": "group:42", "from": "cash", **change},
        reason=f"instalment {i}",
    )


class FakeClock:
    """A clock that moves one millisecond per reading."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


class Hooks:
    """Records what the log asks of its owner; can reject entries or fail after writing."""

    def __init__(self, reject: str = "", fail_after: bool = False) -> None:
        self.reject = reject
        self.fail_after = fail_after
        self.catch_ups: list[int] = []
        self.applied: list[int] = []

    def catch_up(self, head_lsn: int) -> None:
        self.catch_ups.append(head_lsn)

    def before_append(self, entries: list[Entry]) -> list[Exception | None]:
        return [ValidationError("rejected") if self.wants_out(e) else None for e in entries]

    def wants_out(self, e: Entry) -> bool:
        return bool(self.reject) and self.reject in e.reason

    def after_append(self, records: list[Record]) -> None:
        if self.fail_after:
            self.fail_after = False
            raise RuntimeError("store is offline")
        self.applied.extend(r.lsn for r in records)


@pytest.fixture
def wal_path(tmp_path: Path) -> Path:
    return tmp_path / "wal" / "wal.log"


@pytest.fixture
def wal(wal_path: Path) -> Iterator[WriteAheadLog]:
    with WriteAheadLog(wal_path) as log:
        yield log


def reopen(path: Path) -> OpenReport:
    wal = WriteAheadLog(path)
    try:
        return wal.open()
    finally:
        wal.close()


def fill(wal: WriteAheadLog, count: int, start: int = 1) -> list[Record]:
    futures = [wal.submit(entry(i)) for i in range(start, start + count)]
    return [f.result() for f in futures]


def audit(path: Path) -> int:
    """What an auditor would write: recompute the chain with hashlib alone."""
    prev, lsn = "0" * 64, 1
    for line in path.read_bytes().split(b"\n")[:-1]:
        stored, body = line.split(b" ", 1)
        assert stored.decode() == hashlib.sha256(prev.encode() + body).hexdigest()
        assert body.startswith(b'{"lsn":%d,"prev":"%s"' % (lsn, prev.encode()))
        prev, lsn = stored.decode(), lsn + 1
    return lsn - 1


def canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: canonical(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [canonical(item) for item in value]
    return value


def line_offsets(path: Path) -> list[int]:
    data = path.read_bytes()
    return [0, *[m.end() for m in re.finditer(b"\n", data)][:-1]]


# -- format ------------------------------------------------------------------------------


def test_lines_follow_the_documented_format_exactly(wal_path: Path) -> None:
    clock = FakeClock(datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC))
    change = {"z": [3, {"b": 1, "a": 2}], "a": "₹5,00,000 for Ānand", "m": None, "f": 1.5}
    entries = [Entry(ACTOR, "group.create", {"type": "group", "id": "G1"}, change, "new")]
    entries += [entry(2, who='Ānand "Q" \\ \n\t'), entry(3, note="ü\u2028"), entry(4)]
    with WriteAheadLog(wal_path, clock=clock) as wal:
        records = [wal.append(e) for e in entries]
    assert audit(wal_path) == 4
    lines = wal_path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    for n, (raw, e, rec) in enumerate(zip(lines, entries, records, strict=False), start=1):
        stored, body = raw.split(b" ", 1)
        assert re.fullmatch(rb"[0-9a-f]{64}", stored)
        fields = json.loads(body)
        assert list(fields) == FIELDS
        expected = {
            "lsn": n,
            "prev": GENESIS if n == 1 else lines[n - 2][:64].decode(),
            "ts": f"2026-01-02T03:04:05.{678 + n:03d}000Z",
            "actor": canonical(e.actor),
            "action": e.action,
            "entity": canonical(e.entity),
            "change": canonical(e.change),
            "reason": e.reason,
        }
        assert body == json.dumps(expected, ensure_ascii=True, separators=(",", ":")).encode()
        assert rec.line == raw + b"\n"
        assert rec.hash == stored.decode() and rec.lsn == n
        assert Record.parse(raw + b"\n") == rec
    assert GENESIS == "0" * 64


def test_timestamps_are_utc_whatever_the_clock_zone(wal_path: Path) -> None:
    ist = timezone(timedelta(hours=5, minutes=30))
    clock = FakeClock(datetime(2026, 3, 1, 5, 30, 0, 0, tzinfo=ist))
    with WriteAheadLog(wal_path, clock=clock) as wal:
        assert wal.append(entry(1)).ts == "2026-03-01T00:00:00.001000Z"
    naive = FakeClock(datetime(2026, 3, 1, 0, 0, 0))
    with WriteAheadLog(wal_path, clock=naive) as wal:
        assert wal.append(entry(2)).ts == "2026-03-01T00:00:00.001000Z"


def test_record_to_dict_and_parse_reject_damage(wal: WriteAheadLog) -> None:
    rec = wal.append(entry(1))
    assert rec.to_dict()["hash"] == rec.hash
    assert list(rec.to_dict())[:3] == ["lsn", "prev", "ts"]
    with pytest.raises(StorageError, match="hash of record 1"):
        Record.parse(rec.line.replace(b"instalment", b"instalmenT"))
    with pytest.raises(StorageError, match="64-character"):
        Record.parse(b"zz " + rec.line[65:])


@pytest.mark.parametrize(
    "bad",
    [
        Entry({"id": "1", "name": "x"}, "a", {"type": "t", "id": "1"}, {}),
        Entry(ACTOR, "", {"type": "t", "id": "1"}, {}),
        Entry(ACTOR, "a", {"type": "t"}, {}),
        Entry(ACTOR, "a", {"type": "t", "id": "1"}, {"x": float("nan")}),
        Entry(ACTOR, "a", {"type": "t", "id": "1"}, {"x": object()}),
        Entry(ACTOR, "a", {"type": "t", "id": "1"}, [1]),  # type: ignore[arg-type]
    ],
)
def test_malformed_entries_are_refused_and_nothing_is_written(
    wal: WriteAheadLog, wal_path: Path, bad: Entry
) -> None:
    with pytest.raises(ValidationError):
        wal.append(bad)
    assert wal.head() == (0, GENESIS)
    assert wal_path.read_bytes() == b""


# -- group commit, hooks, lifecycle -----------------------------------------------------------


def test_group_commit_shares_fsyncs_between_threads(wal: WriteAheadLog, wal_path: Path) -> None:
    acked: list[int] = []
    lock = threading.Lock()

    def work(k: int) -> None:
        for i in range(40):
            rec = wal.append(entry(k * 1000 + i))
            with lock:
                acked.append(rec.lsn)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats = wal.stats()
    assert sorted(acked) == list(range(1, 1281))
    assert stats.commits == 1280 and stats.entries == 1280
    assert stats.fsyncs < stats.commits
    assert stats.avg_batch > 1
    assert stats.bytes == wal_path.stat().st_size
    assert audit(wal_path) == 1280


def test_async_appends_resolve_in_batches(wal: WriteAheadLog, wal_path: Path) -> None:
    bridge = AsyncWal(wal)

    async def main() -> list[Record]:
        return list(await asyncio.gather(*(bridge.append(entry(i)) for i in range(200))))

    records = asyncio.run(main())
    assert sorted(r.lsn for r in records) == list(range(1, 201))
    assert wal.stats().fsyncs < 200
    assert audit(wal_path) == 200


def test_hooks_reject_single_entries_and_see_every_record(wal_path: Path) -> None:
    hooks = Hooks(reject="instalment 3")
    with WriteAheadLog(wal_path, hooks=hooks) as wal:
        futures = [wal.submit(entry(i)) for i in range(1, 6)]
        outcomes = [f.exception() or f.result().lsn for f in futures]
    assert isinstance(outcomes[2], ValidationError)
    assert sorted(o for o in outcomes if isinstance(o, int)) == [1, 2, 3, 4]
    assert hooks.applied == [1, 2, 3, 4]
    assert hooks.catch_ups == [0]
    assert audit(wal_path) == 4
    assert b"instalment 3" not in wal_path.read_bytes()


def test_failed_after_append_reports_durable_records_then_catches_up(wal_path: Path) -> None:
    hooks = Hooks()
    with WriteAheadLog(wal_path, hooks=hooks) as wal:
        wal.append(entry(1))
        hooks.fail_after = True
        with pytest.raises(StorageError, match="Records 2 to 2 are saved") as failed:
            wal.append(entry(2))
        assert isinstance(failed.value.__cause__, RuntimeError)
        assert wal.head()[0] == 2
        wal.append(entry(3))
    assert hooks.catch_ups == [0, 2]
    assert hooks.applied == [1, 3]
    assert audit(wal_path) == 3


def test_append_with_no_batch_in_progress_reports_a_rejection_as_a_batch_would(
    wal_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    class Refusing(Hooks):  # any exception may refuse an entry, not only a KnownError
        def before_append(self, entries: list[Entry]) -> list[Exception | None]:
            return [LookupError("no such dues") if self.wants_out(e) else None for e in entries]

    hooks = Refusing(reject="instalment 2")
    with WriteAheadLog(wal_path, hooks=hooks) as wal:
        assert wal.append(entry(1)).lsn == 1
        with pytest.raises(LookupError, match="no such dues"):
            wal.append(entry(2))
        assert wal.append(entry(3)).lsn == 2
        assert wal.stats().fsyncs == 2
    assert hooks.applied == [1, 2]
    assert not caplog.records, "a refusal is the caller's answer, not an error to log"
    assert b"instalment 2" not in wal_path.read_bytes()


def test_append_from_a_hook_is_refused(wal_path: Path) -> None:
    class Reentrant(Hooks):
        wal: WriteAheadLog

        def after_append(self, records: list[Record]) -> None:
            self.wal.append(entry(99))

    hooks = Reentrant()
    with WriteAheadLog(wal_path, hooks=hooks) as wal:
        hooks.wal = wal
        with pytest.raises(StorageError, match="would wait for itself"):
            wal.append(entry(1))


def test_a_failing_hook_fails_its_batch_only(wal_path: Path) -> None:
    class Broken(Hooks):
        calls = 0

        def before_append(self, entries: list[Entry]) -> list[Exception | None]:
            self.calls += 1
            if self.calls == 1:
                raise KeyError("bug in the store")
            return [None for _ in entries]

    with WriteAheadLog(wal_path, hooks=Broken()) as wal:
        with pytest.raises(KeyError, match="bug in the store"):
            wal.append(entry(1))
        assert wal.append(entry(2)).lsn == 1
    assert audit(wal_path) == 1


def test_async_appends_report_errors(wal_path: Path) -> None:
    with WriteAheadLog(wal_path, hooks=Hooks(reject="instalment 2")) as wal:
        bridge = AsyncWal(wal)

        async def main() -> list[Any]:
            with pytest.raises(ValidationError, match="actor"):
                await bridge.append(Entry({}, "a", {"type": "t", "id": "1"}, {}))
            jobs = [bridge.append(entry(i)) for i in (1, 2, 3)]
            return await asyncio.gather(*jobs, return_exceptions=True)

        first, rejected, third = asyncio.run(main())
    assert (first.lsn, third.lsn) == (1, 2)
    assert isinstance(rejected, ValidationError)


def test_close_writes_what_was_submitted_and_refuses_more(wal_path: Path) -> None:
    wal = WriteAheadLog(wal_path)
    with pytest.raises(StorageError, match="not open"):
        wal.append(entry(0))
    wal.open()
    futures = [wal.submit(entry(i)) for i in range(100)]
    wal.close()
    assert [f.result().lsn for f in futures] == list(range(1, 101))
    with pytest.raises(StorageError, match="not open"):
        wal.submit(entry(101))
    with pytest.raises(StorageError, match="already opened"):
        wal.open()
    report = reopen(wal_path)
    assert (report.entries, report.torn_bytes) == (100, 0)


# -- reading -------------------------------------------------------------------------------


def test_read_returns_the_requested_ranges(wal: WriteAheadLog) -> None:
    written = fill(wal, 50)
    assert list(wal.read()) == written
    assert [r.lsn for r in wal.read(10, 20)] == list(range(10, 21))
    assert [r.lsn for r in wal.read(45)] == [45, 46, 47, 48, 49, 50]
    assert [r.lsn for r in wal.read(to_lsn=3)] == [1, 2, 3]
    assert [r.lsn for r in wal.read(0, 1)] == [1]
    assert list(wal.read(51)) == []
    assert list(wal.read(30, 29)) == []


def test_read_seeks_in_a_big_log(wal: WriteAheadLog, wal_path: Path) -> None:
    fill(wal, 5000)
    assert wal_path.stat().st_size > 1_000_000
    assert [r.lsn for r in wal.read(4990, 4995)] == list(range(4990, 4996))
    assert [r.lsn for r in wal.read(2501, 2502)] == [2501, 2502]
    assert next(iter(wal.read(1))).prev == GENESIS


def test_read_stops_at_damage(wal: WriteAheadLog, wal_path: Path) -> None:
    fill(wal, 10)
    data = bytearray(wal_path.read_bytes())
    data[line_offsets(wal_path)[4] + 100] ^= 0x01
    wal_path.write_bytes(bytes(data))
    with pytest.raises(StorageError, match="damaged"):
        list(wal.read())


# -- verification and damage --------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "wal.log"
    with WriteAheadLog(path) as wal:
        fill(wal, 10_000)
    return path


def damaged_copy(big_log: Path, tmp_path: Path, how: str, lsn: int) -> Path:
    data = bytearray(big_log.read_bytes())
    start = line_offsets(big_log)[lsn - 1]
    if how == "body":
        data[start + 200] ^= 0x20
    elif how == "hash":
        data[start + 10] = ord("a") if data[start + 10] != ord("a") else ord("b")
    elif how == "delete":
        end = data.index(b"\n", start) + 1
        del data[start:end]
    path = tmp_path / "damaged.log"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("how", ["body", "hash", "delete"])
def test_one_changed_record_in_10000_is_named_exactly(
    big_log: Path, tmp_path: Path, how: str
) -> None:
    assert verify_file(big_log).ok
    path = damaged_copy(big_log, tmp_path, how, 5000)
    report = verify_file(path)
    assert not report.ok
    named = [(b["lsn"], b["line_no"]) for b in report.broken]
    assert named == ([(5001, 5000)] if how == "delete" else [(5000, 5000)])
    assert report.entries == (9999 if how == "delete" else 10_000)
    assert report.head_lsn == 10_000 and report.torn_tail is None
    parallel = verify_file(path, workers=2, chunk_bytes=256 << 10)
    assert parallel.broken == report.broken and parallel.head_hash == report.head_hash
    assert json.loads(report.to_json())["broken"] == report.broken


def test_verify_lists_every_broken_record_and_a_torn_tail(big_log: Path, tmp_path: Path) -> None:
    data = bytearray(big_log.read_bytes())
    offsets = line_offsets(big_log)
    for lsn in (1, 2, 777, 9999):
        data[offsets[lsn - 1] + 150] ^= 0x01
    tail = b"0" * 64 + b' {"lsn":10001,"pr'
    data += tail
    path = tmp_path / "many.log"
    path.write_bytes(bytes(data))
    seen: list[tuple[int, int]] = []
    report = verify_file(path, progress=lambda done, total: seen.append((done, total)))
    assert [b["lsn"] for b in report.broken] == [1, 2, 777, 9999]
    assert all("hash does not match" in b["problem"] for b in report.broken)
    torn = {"offset": len(data) - len(tail), "bytes": len(tail), "lsn": 10_001}
    assert report.torn_tail == torn
    assert seen and seen[-1] == (len(data), len(data))
    parallel = verify_file(path, workers=2, chunk_bytes=200 << 10)
    assert parallel.broken == report.broken and parallel.torn_tail == report.torn_tail


def test_parallel_check_agrees_when_damage_sits_on_a_range_boundary(
    big_log: Path, tmp_path: Path
) -> None:
    chunk = 256 << 10
    data = bytearray(big_log.read_bytes())
    offsets = line_offsets(big_log)
    index = next(i for i, offset in enumerate(offsets) if offset >= chunk)
    digit = offsets[index] + 65 + len(b'{"lsn":')
    data[digit] = ord("9") if data[digit] != ord("9") else ord("8")
    path = tmp_path / "boundary.log"
    path.write_bytes(bytes(data))
    report = verify_file(path)
    assert [(b["lsn"], b["line_no"]) for b in report.broken] == [(index + 1, index + 1)]
    assert "its lsn is" in report.broken[0]["problem"]
    assert verify_file(path, workers=2, chunk_bytes=chunk).broken == report.broken


def test_verify_of_an_intact_log_agrees_with_the_writer(big_log: Path) -> None:
    report = verify_file(big_log, workers=2, chunk_bytes=300 << 10)
    assert report.ok and report.entries == 10_000 and report.broken == []
    with WriteAheadLog(big_log) as wal:
        assert wal.head() == (10_000, report.head_hash)


def test_open_checks_big_logs_in_worker_processes(
    big_log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wal_module, "PARALLEL_MIN_BYTES", 1)
    torn = tmp_path / "torn.log"
    torn.write_bytes(big_log.read_bytes()[:-100])
    report = reopen(torn)
    assert (report.head_lsn, report.torn_lsn) == (9_999, 10_000)
    assert audit(torn) == 9_999
    damaged = damaged_copy(big_log, tmp_path, "body", 1234)
    with pytest.raises(StorageError, match="damaged at record 1234"):
        reopen(damaged)


def test_open_refuses_damage_in_the_middle_and_changes_nothing(wal_path: Path) -> None:
    with WriteAheadLog(wal_path) as wal:
        fill(wal, 20)
    data = bytearray(wal_path.read_bytes())
    data[line_offsets(wal_path)[9] + 120] ^= 0x04
    wal_path.write_bytes(bytes(data))
    with pytest.raises(StorageError, match="damaged at record 10") as refused:
        reopen(wal_path)
    assert "tfos wal verify" in str(refused.value)
    assert wal_path.read_bytes() == bytes(data)
    assert [b["lsn"] for b in verify_file(wal_path).broken] == [10]


@pytest.mark.parametrize("cut", ["mid-record", "no-newline", "garbled-last", "zeros"])
def test_open_finds_a_torn_last_record_and_the_next_write_cuts_it(wal_path: Path, cut: str) -> None:
    with WriteAheadLog(wal_path) as wal:
        fill(wal, 20)
    good = wal_path.read_bytes()
    last = line_offsets(wal_path)[19]
    torn = {
        "mid-record": good[: last + 150],
        "no-newline": good[:-1],
        "garbled-last": good[:-40] + b"X" + good[-39:],
        "zeros": good + b"\0" * 4096,
    }[cut]
    wal_path.write_bytes(torn)
    report = reopen(wal_path)
    kept = len(good) if cut == "zeros" else last
    assert report.torn_bytes == len(torn) - kept
    assert report.torn_lsn == (21 if cut == "zeros" else 20)
    assert report.head_lsn == report.entries == (20 if cut == "zeros" else 19)
    assert f"The last {len(torn) - kept} bytes" in report.torn_detail
    assert wal_path.read_bytes() == torn, "opening alone changes nothing"
    with WriteAheadLog(wal_path) as wal:
        assert [r.lsn for r in wal.read()][-1] == report.head_lsn
        assert wal.append(entry(99)).lsn == report.head_lsn + 1
    assert wal_path.read_bytes().startswith(good[:kept])
    assert audit(wal_path) == report.head_lsn + 1


# -- several writers, several processes -------------------------------------------------------


def test_two_logs_on_one_file_catch_up_with_each_other(wal_path: Path) -> None:
    hooks_a, hooks_b = Hooks(), Hooks()
    with WriteAheadLog(wal_path, hooks=hooks_a) as a, WriteAheadLog(wal_path, hooks=hooks_b) as b:
        assert a.append(entry(1)).lsn == 1
        assert b.append(entry(2)).lsn == 2
        assert a.append(entry(3)).lsn == 3
        assert b.head()[0] == 2
    assert hooks_a.catch_ups == [0, 2]
    assert hooks_b.catch_ups == [0, 1]
    assert audit(wal_path) == 3


def test_a_torn_record_left_by_a_dead_process_is_cut_before_our_next_batch(
    wal: WriteAheadLog, wal_path: Path
) -> None:
    fill(wal, 3)
    with WriteAheadLog(wal_path) as other:
        other.append(entry(4))
    clean = wal_path.read_bytes()
    with open(wal_path, "ab") as f:
        f.write(b"0" * 64 + b' {"lsn":5,"prev":"')
    assert wal.append(entry(5)).lsn == 5
    assert wal_path.read_bytes().startswith(clean)
    assert audit(wal_path) == 5


def _append_many(path: str, who: str, count: int, turns: tuple[Any, Any], out: Any) -> None:
    """Append ``count`` records from 4 threads at once, then 3 more taking turns."""
    hooks = Hooks()
    acked: list[tuple[int, str]] = []
    lock = threading.Lock()
    mine, theirs = turns
    shared = WriteAheadLog(Path(path), hooks=hooks)

    def work(k: int) -> None:
        for i in range(k, count, 4):
            rec = shared.append(entry(i, who))
            with lock:
                acked.append((rec.lsn, rec.hash))

    with shared as wal:
        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for i in range(3):
            assert mine.acquire(timeout=60)
            rec = wal.append(entry(count + i, who))
            acked.append((rec.lsn, rec.hash))
            theirs.release()
    out.put((who, acked, len(hooks.catch_ups)))


def test_two_processes_interleave_on_one_valid_chain(wal_path: Path) -> None:
    wal_path.parent.mkdir(parents=True)
    first, second, out = SPAWN.Semaphore(0), SPAWN.Semaphore(0), SPAWN.Queue()
    turns = {"first": (first, second), "second": (second, first)}
    procs = [
        SPAWN.Process(target=_append_many, args=(str(wal_path), who, 400, turns[who], out))
        for who in turns
    ]
    for p in procs:
        p.start()
    first.release()
    outputs = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    assert audit(wal_path) == 806
    by_lsn = {r.lsn: r for r in WriteAheadLog(wal_path).read()}
    for who, acked, catch_ups in outputs:
        assert len(acked) == 403 and catch_ups >= 3
        for lsn, digest in acked:
            assert by_lsn[lsn].hash == digest and by_lsn[lsn].actor["name"] == who
    turns_taken = sorted((lsn, who) for who, acked, _ in outputs for lsn, _ in acked[-3:])
    assert [who for _, who in turns_taken] == ["first", "second"] * 3


def _hold_lock(path: str, ready: Any, release: Any) -> None:
    lock = WalLock(Path(path + ".lock"), Path(path))
    lock.acquire(5)
    ready.set()
    release.wait(30)
    lock.release()


def test_a_held_lock_times_out_with_the_holder_named(wal_path: Path) -> None:
    wal_path.parent.mkdir(parents=True)
    wal = WriteAheadLog(wal_path, lock_timeout=0.3)
    wal.open()
    ready, release = SPAWN.Event(), SPAWN.Event()
    holder = SPAWN.Process(target=_hold_lock, args=(str(wal_path), ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        with pytest.raises(LockHeld, match=f"process {holder.pid} on") as held:
            wal.append(entry(1))
        assert isinstance(held.value, WalLockHeld)
        assert held.value.holder["pid"] == holder.pid
        assert "writing since" in str(held.value) and "wal_lock_timeout" in str(held.value)
        with pytest.raises(LockHeld, match=str(holder.pid)):
            WriteAheadLog(wal_path, lock_timeout=0.2).open()
    finally:
        release.set()
        holder.join(30)
    assert wal.append(entry(2)).lsn == 1
    wal.close()


# -- failures of the disk ------------------------------------------------------------------


def _fill_the_disk(path: str, out: Any, one_by_one: bool) -> None:
    import resource

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    outcomes: list[Any] = []
    with WriteAheadLog(Path(path)) as wal:
        fill(wal, 5)
        before = os.path.getsize(path)
        resource.setrlimit(resource.RLIMIT_FSIZE, (before + 700, resource.RLIM_INFINITY))
        for i in range(10, 20):
            if one_by_one:  # append with no batch in progress: written by the caller
                try:
                    outcomes.append(wal.append(entry(i)).lsn)
                except StorageError as exc:
                    outcomes.append(str(exc))
            else:  # submitted: written by the helper thread as one batch
                outcomes.append(wal.submit(entry(i)))
        for n, f in enumerate(outcomes):
            if isinstance(f, Future):
                error = f.exception()
                outcomes[n] = str(error) if error else f.result().lsn
        full = os.path.getsize(path)
        resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        after = wal.append(entry(30)).lsn
    out.put((outcomes, before, full, after))


@pytest.mark.parametrize("one_by_one", [False, True], ids=["batch", "append"])
def test_a_full_disk_fails_the_batch_and_leaves_no_partial_record(
    wal_path: Path, one_by_one: bool
) -> None:
    out = SPAWN.Queue()
    child = SPAWN.Process(target=_fill_the_disk, args=(str(wal_path), out, one_by_one))
    child.start()
    outcomes, before, full, after = out.get(timeout=60)
    child.join(30)
    errors = [o for o in outcomes if isinstance(o, str)]
    saved = [o for o in outcomes if isinstance(o, int)]
    assert errors and all("largest size allowed" in e and "Nothing" in e for e in errors)
    assert saved == list(range(6, 6 + len(saved)))
    assert before <= full <= before + 700
    assert after == 6 + len(saved)
    assert audit(wal_path) == after
    assert verify_file(wal_path).ok


def test_a_log_that_shrank_under_us_is_not_written(wal: WriteAheadLog, wal_path: Path) -> None:
    fill(wal, 5)
    with open(wal_path, "r+b") as f:
        f.truncate(100)
    with pytest.raises(StorageError, match="shorter than"):
        wal.append(entry(6))


def test_unwritable_folder_gives_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StorageError, match="Cannot open the write-ahead log"):
        WriteAheadLog(blocker / "wal.log").open()


# -- crashes ---------------------------------------------------------------------------------

CRASH_CHILD = r"""
import os, sys, threading
from pathlib import Path
from app.kernel.wal import Entry, WriteAheadLog

wal = WriteAheadLog(Path(sys.argv[1]))
wal.open()
os.write(1, b"ready\n")
big = "x" * int(sys.argv[2])

def work(k):
    i = 0
    while True:
        i += 1
        rec = wal.append(Entry({"id": "c", "name": "child", "role": "test"}, "crash.test",
                               {"type": "t", "id": f"{k}-{i}"}, {"i": i, "pad": big}))
        os.write(1, b"%d %s\n" % (rec.lsn, rec.hash.encode()))

for k in range(4):
    threading.Thread(target=work, args=(k,), daemon=True).start()
threading.Event().wait()
"""


PADS = [10, 5000, 70_000]


def test_sigkill_at_random_moments_loses_no_acknowledged_record(wal_path: Path) -> None:
    rng = random.Random(20261124)
    acked: dict[int, str] = {}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for _ in range(10):
        child = subprocess.Popen(
            [sys.executable, "-c", CRASH_CHILD, str(wal_path), str(rng.choice(PADS))],
            stdout=subprocess.PIPE,
            env=env,
        )
        assert child.stdout is not None
        assert child.stdout.readline() == b"ready\n"
        lines = [child.stdout.readline() for _ in range(rng.randint(1, 150))]
        child.send_signal(signal.SIGKILL)
        lines += child.stdout.read().split(b"\n")
        child.wait()
        child.stdout.close()
        for line in lines:
            line = line.rstrip(b"\n")
            if re.fullmatch(rb"[0-9]+ [0-9a-f]{64}", line):
                lsn, digest = line.split()
                acked[int(lsn)] = digest.decode()
    report = reopen(wal_path)
    assert not verify_file(wal_path).broken  # at most a torn, never-acknowledged last record
    with WriteAheadLog(wal_path) as wal:  # the next write cuts it
        wal.append(entry(0))
    assert verify_file(wal_path).ok
    assert audit(wal_path) == report.head_lsn + 1
    by_lsn = {r.lsn: r.hash for r in WriteAheadLog(wal_path).read()}
    assert acked and all(by_lsn.get(lsn) == digest for lsn, digest in acked.items())
