"""System stats: real psutil figures, registered sources, failing sources."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.kernel.locks import LockManager
from app.kernel.stats import SOURCES, KernelStats, StatsCollector


def test_real_figures_are_sane() -> None:
    stats = StatsCollector().sample()
    assert 0 < stats.ram_used < stats.ram_total
    assert 0 < stats.process_rss < stats.ram_total
    assert stats.thread_count >= 1
    assert stats.open_files >= 3
    assert stats.cpu_percent >= 0.0
    assert datetime.fromisoformat(stats.taken_at).utcoffset() is not None
    assert (stats.wal_entries, stats.locks_held, stats.queue_depth, stats.connected_clients) == (
        None,
        None,
        None,
        None,
    )


def test_thread_count_rises_with_threads() -> None:
    collector = StatsCollector()
    before = collector.sample().thread_count
    stop = threading.Event()
    threads = [threading.Thread(target=stop.wait) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        assert collector.sample().thread_count >= before + 3
    finally:
        stop.set()
        for t in threads:
            t.join()


def test_open_files_counts_descriptors(tmp_path: Path) -> None:
    collector = StatsCollector()
    before = collector.sample().open_files
    handles = [open(tmp_path / f"f{i}", "w") for i in range(5)]  # noqa: SIM115
    try:
        assert collector.sample().open_files >= before + 5
    finally:
        for h in handles:
            h.close()


def test_cpu_percent_sees_work() -> None:
    collector = StatsCollector()
    collector.sample()
    end = time.process_time() + 0.2
    while time.process_time() < end:
        pass
    assert collector.sample().cpu_percent > 0.0


def test_sources_are_called_every_sample(tmp_path: Path) -> None:
    calls = {"n": 0}

    def wal_entries() -> int:
        calls["n"] += 1
        return 41 + calls["n"]

    manager = LockManager(tmp_path)
    collector = StatsCollector({"wal_entries": wal_entries, "queue_depth": lambda: 3})
    collector.register("locks_held", manager.held)
    collector.register("connected_clients", lambda: 2)
    with manager.lock("auction-group-G1").using("auction"):
        first = collector.sample()
    second = collector.sample()
    assert (first.wal_entries, second.wal_entries, calls["n"]) == (42, 43, 2)
    assert first.locks_held == ["auction-group-G1"] and second.locks_held == []
    assert (first.queue_depth, first.connected_clients) == (3, 2)


def test_failing_source_is_none_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    broken = {"yes": True}

    def flaky() -> int:
        if broken["yes"]:
            raise OSError("WAL folder gone")
        return 7

    collector = StatsCollector({"wal_entries": flaky, "queue_depth": lambda: 1})
    with caplog.at_level(logging.INFO, logger="app.kernel.stats"):
        samples = [collector.sample() for _ in range(3)]
        assert [s.wal_entries for s in samples] == [None, None, None]
        assert [s.queue_depth for s in samples] == [1, 1, 1]
        assert collector.failing == {"wal_entries"}
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 1 and "wal_entries" in errors[0].getMessage()
        assert errors[0].exc_info is not None
        broken["yes"] = False
        assert collector.sample().wal_entries == 7
        assert collector.failing == frozenset()


def test_unknown_source_name_is_refused() -> None:
    with pytest.raises(ValueError, match="wal_entries"):
        StatsCollector().register("wal_entrys", lambda: 1)


def test_to_json_round_trips() -> None:
    def clock() -> datetime:
        return datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

    collector = StatsCollector({"locks_held": lambda: ["a", "b"]}, clock=clock)
    stats = collector.sample()
    data = json.loads(stats.to_json())
    assert set(data) == {f.name for f in KernelStats.__dataclass_fields__.values()}
    assert data["locks_held"] == ["a", "b"]
    assert data["taken_at"] == "2026-11-23T10:00:00+00:00"
    assert KernelStats(**data) == stats
    assert set(SOURCES) <= set(data)


def test_cost_per_sample(capsys: pytest.CaptureFixture[str]) -> None:
    """Prints the cost; no timing assertion (the target is well under 5 ms)."""
    collector = StatsCollector({"wal_entries": lambda: 1, "locks_held": lambda: []})
    rounds = 500
    start = time.perf_counter()
    for _ in range(rounds):
        collector.sample()
    cost_ms = (time.perf_counter() - start) / rounds * 1000
    with capsys.disabled():
        print(f"\nStatsCollector.sample: {cost_ms:.3f} ms per sample (pid {os.getpid()})")
    assert cost_ms > 0
