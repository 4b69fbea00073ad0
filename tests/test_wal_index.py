"""WalReader: newest-first pages, searches and new lines, checked against a full parse."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from app.kernel.wal import Entry, WriteAheadLog, verify_file
from app.kernel.wal_index import LineSummary, Span, WalFilter, WalReader
from tests.views import ACTORS, START, action_of, actor_of, ts_of, write_log

COUNT = 3000


@pytest.fixture(scope="module")
def log_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("wal") / "wal.log"
    write_log(path, COUNT)
    return path


def lsns(reader: WalReader, spans: list[Span]) -> list[int]:
    return [LineSummary.parse(reader.read(s)).lsn for s in spans]


def search_all(reader: WalReader, flt: WalFilter, block: int = 4 << 20) -> list[int]:
    found: list[Span] = []
    for spans, _ in reader.search(flt, reader.end(), block=block):
        found.extend(spans)
    return lsns(reader, found)


def test_the_generated_log_is_a_valid_wal(log_path: Path) -> None:
    report = verify_file(log_path)
    assert report.ok and report.entries == COUNT


def test_pages_walk_the_whole_log_newest_first(log_path: Path) -> None:
    reader = WalReader(log_path)
    end, seen = reader.end(), []
    assert end == log_path.stat().st_size
    assert reader.head_lsn() == COUNT
    while end > 0:
        spans, end = reader.page(end, 170)
        assert 0 < len(spans) <= 170
        seen.extend(lsns(reader, spans))
    assert seen == list(range(COUNT, 0, -1))


def test_a_partial_last_line_is_not_shown(tmp_path: Path) -> None:
    path = tmp_path / "wal.log"
    write_log(path, 5)
    complete = path.stat().st_size
    with open(path, "ab") as file:
        file.write(b"0" * 64 + b' {"lsn":6,')
    reader = WalReader(path)
    assert reader.end() == complete
    assert lsns(reader, reader.page(reader.end(), 10)[0]) == [5, 4, 3, 2, 1]
    assert WalReader(tmp_path / "missing.log").end() == 0


@pytest.mark.parametrize(
    "flt",
    [
        WalFilter(actor="ravi"),
        WalFilter(actor="STAFF-ASHA"),
        WalFilter(actor="zoë"),
        WalFilter(action="approve"),
        WalFilter(entity_type="LOAN", entity_id="00000a"),
        WalFilter(actor="asha", action="loan"),
        WalFilter(since=ts_of(1000), until=ts_of(1500)),
        WalFilter(actor="kumar", since=ts_of(2999)),
        WalFilter(actor="nobody"),
        WalFilter(actor="name"),
    ],
)
def test_search_finds_exactly_the_matching_records(log_path: Path, flt: WalFilter) -> None:
    reader = WalReader(log_path)
    expected = [n for n in range(COUNT, 0, -1) if _matches(n, flt)]
    assert search_all(reader, flt) == expected
    assert search_all(reader, flt, block=4096) == expected


def _matches(lsn: int, flt: WalFilter) -> bool:
    actor = actor_of(lsn)
    kind = action_of(lsn).split(".")[0]
    who = f"{actor['id']} {actor['name']}".casefold()
    return (
        flt.actor.casefold() in who
        and flt.action in action_of(lsn)
        and (not flt.entity_type or flt.entity_type.lower() == kind)
        and flt.entity_id in f"{kind}-{lsn:08x}"
        and (flt.since is None or ts_of(lsn) >= flt.since)
        and (flt.until is None or ts_of(lsn) < flt.until)
    )


def test_seek_time_finds_the_first_record_at_or_after(log_path: Path) -> None:
    reader = WalReader(log_path)
    end = reader.end()
    for lsn in (1, 2, 777, 2999, COUNT):
        offset = reader.seek_time(ts_of(lsn) - timedelta(seconds=30), 0, end)
        assert lsns(reader, reader.after(offset, end)[:1]) == [lsn]
        assert reader.seek_time(ts_of(lsn), 0, end) == offset
    assert reader.seek_time(START - timedelta(days=1), 0, end) == 0
    assert reader.seek_time(ts_of(COUNT + 1), 0, end) == end


def test_after_returns_new_lines_oldest_first(tmp_path: Path) -> None:
    path = tmp_path / "wal.log"
    head = write_log(path, 10)
    reader = WalReader(path)
    mark = reader.end()
    write_log(path, 5, first=11, prev=head)
    assert lsns(reader, reader.after(mark, reader.end())) == [11, 12, 13, 14, 15]
    only_asha = reader.after(mark, reader.end(), WalFilter(actor=ACTORS[0]["name"]))
    assert lsns(reader, only_asha) == [12]


def test_records_written_by_the_real_wal_read_back(tmp_path: Path) -> None:
    path = tmp_path / "wal.log"
    with WriteAheadLog(path) as wal:
        for n in range(1, 6):
            actor = {"id": f"staff-{n}", "name": f"Person {n}", "role": "employee"}
            entity = {"type": "loan", "id": f"loan-{n}"}
            wal.append(Entry(actor, "loan.approve", entity, {"n": n}, "ok"))
    reader = WalReader(path)
    summaries = [LineSummary.parse(reader.read(s)) for s in reader.page(reader.end(), 10)[0]]
    assert [s.lsn for s in summaries] == [5, 4, 3, 2, 1]
    assert all(s.intact for s in summaries)
    assert summaries[0].actor["name"] == "Person 5" and summaries[0].reason == "ok"
    assert search_all(reader, WalFilter(actor="person 3")) == [3]


def test_a_changed_line_shows_as_not_intact(tmp_path: Path) -> None:
    path = tmp_path / "wal.log"
    write_log(path, 3)
    data = path.read_bytes().replace(b"reason 2", b"reason X")
    path.write_bytes(data)
    reader = WalReader(path)
    summaries = [LineSummary.parse(reader.read(s)) for s in reader.page(reader.end(), 3)[0]]
    assert [s.intact for s in summaries] == [True, False, True]
    garbage = LineSummary.parse(b"not a log line")
    assert not garbage.intact and garbage.damaged
