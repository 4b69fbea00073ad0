"""The audit log's reading side: tail, stats, verification, the integrity report, the
activity feed's reads. Over real WAL files (written by the pipeline or in bulk in the
documented format)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.kernel.wal import WriteAheadLog
from app.services.actors import Actor
from app.services.audit_log import AuditLog
from app.services.context import FixedClock, ServiceContext
from app.services.pipeline import ChangeSet
from app.services.store import Write
from tests.views import write_log

ASHA = Actor("staff-1", "Asha Rao", "admin")


class TickingClock(FixedClock):
    """Moves one second at every reading, so two reports are never made at one time."""

    def now(self) -> datetime:
        self.advance(seconds=1)
        return super().now()


def note(ctx: ServiceContext, n: int) -> None:
    write = Write("set", "notes", f"n{n}", {"text": f"note {n}"})
    ctx.pipeline.commit(ASHA, ChangeSet("note.create", "note", f"n{n}", [write], f"reason {n}"))


@pytest.fixture
def log(tmp_path: Path) -> AuditLog:
    path = tmp_path / "wal.log"
    write_log(path, 30)
    return AuditLog(path, TickingClock(datetime(2026, 11, 24, tzinfo=UTC)))


def test_tail_is_the_newest_records_as_the_writer_has_them(ctx: ServiceContext) -> None:
    for n in range(5):
        note(ctx, n)
    log = AuditLog(ctx.pipeline.wal.path, ctx.clock)
    tail = log.tail(3)
    with WriteAheadLog(ctx.pipeline.wal.path) as wal:
        expected = [r.to_dict() for r in wal.read(3)]
    assert tail == expected and [r["lsn"] for r in tail] == [3, 4, 5]
    assert log.tail(0) == expected[-1:]


def test_stats_and_verify_with_progress(log: AuditLog) -> None:
    stats = log.stats()
    assert stats["entries"] == 30 and stats["ok"] is True
    assert stats["bytes"] == log.path.stat().st_size
    seen: list[tuple[int, int]] = []
    report = log.verify(lambda done, total: seen.append((done, total)))
    assert report.ok and report.head_hash == stats["head_hash"]
    assert seen and seen[-1][0] == seen[-1][1] == log.path.stat().st_size


def test_integrity_is_verified_again_only_once_the_log_grows(log: AuditLog) -> None:
    first = log.integrity()
    assert first.verified and first.entries == 30
    assert log.integrity() is first
    write_log(log.path, 2, first=31, prev=log.tail(1)[0]["hash"])
    grown = log.integrity()
    assert grown.entries == 32 and grown.checked_at > first.checked_at
    assert grown.to_json()["broken"] == 0


def test_concurrent_callers_share_one_verification(log: AuditLog) -> None:
    reports = []
    threads = [threading.Thread(target=lambda: reports.append(log.integrity())) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({r.checked_at for r in reports}) == 1


def test_damage_shows_in_the_integrity_report(log: AuditLog) -> None:
    data = bytearray(log.path.read_bytes())
    data[data.index(b"reason 7") + 7] ^= 0x01
    log.path.write_bytes(bytes(data))
    report = log.integrity()
    assert not report.verified and report.broken == 1


def test_the_activity_feed_reads_what_is_new(log: AuditLog) -> None:
    first = log.activity(None, 10)
    assert first.reset and [a.summary.lsn for a in first.items] == list(range(21, 31))
    assert first.items[-1].text.startswith("Zoë Fernandes (employee) approved loan")
    assert log.activity(first.end, 10).items == []
    write_log(log.path, 3, first=31, prev=log.tail(1)[0]["hash"])
    more = log.activity(first.end, 10)
    assert not more.reset and [a.summary.lsn for a in more.items] == [31, 32, 33]
    log.path.write_bytes(log.path.read_bytes()[: first.end // 2])
    cut = log.activity(more.end, 10)
    assert cut.reset and cut.end < more.end


def test_an_unreadable_line_is_marked_not_raised(log: AuditLog) -> None:
    spans, _ = log.page(log.end(), 2)
    data = bytearray(log.path.read_bytes())
    data[spans[1].offset + 70 : spans[1].offset + 80] = b"!" * 10
    log.path.write_bytes(bytes(data))
    found = log.summaries(spans)
    assert found[spans[0].offset].intact
    assert not found[spans[1].offset].intact and found[spans[1].offset].damaged


def test_a_missing_log_reads_as_empty(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "nothing.log", FixedClock(datetime(2026, 11, 24, tzinfo=UTC)))
    assert log.end() == 0 and log.activity(None, 5).items == []
