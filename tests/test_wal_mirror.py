"""A log that mirrors one kept elsewhere (``WriteAheadLog.extend``), and the largest
record a log takes (``max_record_bytes``)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from app.kernel.errors import StorageError, ValidationError
from app.kernel.wal import LogMismatch, Record, WriteAheadLog, verify_file
from tests.test_wal import audit, entry


def source_lines(tmp_path: Path, count: int) -> list[bytes]:
    """The lines of a log of ``count`` records written the ordinary way."""
    path = tmp_path / "source" / "wal.log"
    with WriteAheadLog(path) as source:
        for i in range(1, count + 1):
            source.append(entry(i))
    return [line + b"\n" for line in path.read_bytes().split(b"\n")[:-1]]


@pytest.fixture
def mirror(tmp_path: Path) -> WriteAheadLog:
    log = WriteAheadLog(tmp_path / "mirror" / "wal.log")
    log.open()
    yield log
    log.close()


def test_a_mirror_takes_records_in_pieces_and_stays_a_valid_log(
    tmp_path: Path, mirror: WriteAheadLog
) -> None:
    lines = source_lines(tmp_path, 30)
    assert mirror.extend(lines[:10]) == 10
    assert mirror.extend(lines[5:20]) == 20  # overlapping: the old ones are skipped
    assert mirror.extend(lines[19:19]) == 20
    assert mirror.extend(lines[20:]) == 30
    assert mirror.path.read_bytes() == b"".join(lines)
    assert audit(mirror.path) == 30 and verify_file(mirror.path).ok
    assert [r.lsn for r in mirror.read(28)] == [28, 29, 30]
    assert mirror.stats().fsyncs == 3
    assert mirror.tree is not None and mirror.tree.head()[0] == 30  # the Merkle tree followed


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (lambda ls: [ls[0][:80] + b"X" + ls[0][81:]], "does not continue"),  # a changed body
        (lambda ls: [ls[1]], "missing"),  # a gap
        (lambda ls: [ls[0][:-1]], "does not continue"),  # no newline
        (lambda ls: [b"not a record\n"], "not a log line"),
    ],
)
def test_a_mirror_refuses_what_does_not_continue_its_chain(
    tmp_path: Path, mirror: WriteAheadLog, damage: object, why: str
) -> None:
    lines = source_lines(tmp_path, 3)
    with pytest.raises(StorageError, match=why):
        mirror.extend(damage(lines))  # type: ignore[operator]
    assert mirror.path.read_bytes() == b"" and mirror.head()[0] == 0


def test_a_mirror_of_another_log_is_stopped_at_the_first_difference(
    tmp_path: Path, mirror: WriteAheadLog
) -> None:
    ours = source_lines(tmp_path, 4)
    other_path = tmp_path / "other" / "wal.log"
    with WriteAheadLog(other_path) as other:
        for i in range(1, 5):
            other.append(entry(i, who="Someone Else"))
    theirs = [line + b"\n" for line in other_path.read_bytes().split(b"\n")[:-1]]
    mirror.extend(ours[:2])
    with pytest.raises(LogMismatch, match="record 2 differs"):
        mirror.extend(theirs[1:])
    with pytest.raises(LogMismatch, match="record 3 does not continue"):
        mirror.extend(theirs[2:])
    assert mirror.head()[0] == 2 and audit(mirror.path) == 2


def test_two_threads_extending_one_mirror_write_each_record_once(
    tmp_path: Path, mirror: WriteAheadLog
) -> None:
    lines = source_lines(tmp_path, 200)
    errors: list[BaseException] = []

    def feed(step: int) -> None:
        try:
            for i in range(0, 200, step):
                mirror.extend(lines[: i + step])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=feed, args=(n,)) for n in (3, 7)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert mirror.path.read_bytes() == b"".join(lines)


def test_a_record_over_the_limit_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    with WriteAheadLog(tmp_path / "wal.log", max_record_bytes=2_000) as log:
        small = log.append(entry(1, note="x" * 1_000))
        with pytest.raises(ValidationError, match="too large to record") as refused:
            log.append(entry(2, note="x" * 2_000))
        assert "Split it" in refused.value.hint
        with pytest.raises(ValidationError, match="too large to record"):
            log.submit(entry(2, note="x" * 2_000))
        assert log.head()[0] == 1
        assert len(Record.parse(log.path.read_bytes()).body) <= 2_000
    assert isinstance(small, Record)
