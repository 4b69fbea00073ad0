"""The log kept in Firestore, on the emulator: a change and its record in one conditional
commit, one chain whatever the writers, the data directory's wal.log as a verified
mirror. (Two real processes and servers: test_firestore_offices.py.)"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.api_core import exceptions as api

from app.kernel.errors import NotFound, StorageError, ValidationError
from app.kernel.wal import verify_file
from app.services.actors import Actor
from app.services.commit_log import PreconditionFailed
from app.services.context import close_context, make_context
from app.services.pipeline import ChangeSet, Pipeline, Reader
from app.services.reports.stamp import log_head
from app.services.store import Document, Write, limits
from app.services.store.firestore import FirestoreStore
from app.services.store.firestore_log import FirestoreLog
from app.services.store.firestore_records import LogRefs
from tests.offices import give_key, new_key

pytestmark = pytest.mark.firestore

ALICE = Actor("u1", "Alice", "employee")
KEY = new_key()


class Office:
    """A data directory on the shared project: its context, closed at the end."""

    def __init__(self, data_dir: Path, project: str, key: bytes = KEY) -> None:
        self.data_dir = give_key(data_dir, key)
        self.ctx = make_context(data_dir, store=FirestoreStore.open(project), lease_seconds=2)

    @property
    def pipeline(self) -> Pipeline:
        return self.ctx.pipeline

    @property
    def log(self) -> FirestoreLog:
        log = self.pipeline.log
        assert isinstance(log, FirestoreLog)
        return log

    def close(self) -> None:
        close_context(self.ctx)


@pytest.fixture
def offices(firestore_project: str, tmp_path: Path) -> Iterator[list[Office]]:
    opened = [Office(tmp_path / name, firestore_project) for name in ("a", "b")]
    yield opened
    for office in opened:
        office.close()


def put(doc_id: str, **data: Any) -> ChangeSet:
    return ChangeSet("doc.put", "doc", doc_id, [Write("set", "docs", doc_id, data)])


def bump(doc_id: str) -> Any:
    def work(reader: Reader) -> ChangeSet:
        doc = reader.get("docs", doc_id)
        n = doc.data["n"] if doc else 0
        return ChangeSet("doc.bump", "doc", doc_id, [Write("set", "docs", doc_id, {"n": n + 1})])

    return work


def firestore_lines(office: Office) -> list[bytes]:
    return [line for _, line in office.log.refs.stream()]


def readme_verifier(lines: list[bytes]) -> tuple[int, str]:
    """The README's 10-line verifier, over lines read back from Firestore."""
    prev, n = "0" * 64, 0
    for line in lines:
        n += 1
        digest, body = line.rstrip(b"\n").split(b" ", 1)
        assert body.startswith(b'{"lsn":%d,"prev":"%s"' % (n, prev.encode())), n
        assert hashlib.sha256(prev.encode() + body).hexdigest() == digest.decode(), n
        prev = digest.decode()
    return n, prev


# -- one commit: the change and its record ------------------------------------------------


def test_a_change_and_its_record_are_one_commit(offices: list[Office]) -> None:
    a = offices[0]
    first = a.pipeline.commit(ALICE, put("d1", n=1))
    second = a.pipeline.transact(ALICE, bump("d1")).record
    assert (first.lsn, second.lsn) == (1, 2)
    assert a.ctx.store.get("docs", "d1").data == {"n": 2}  # type: ignore[union-attr]
    assert a.ctx.store.last_applied_lsn() == 2
    head = a.log.refs.read_head()
    assert (head.lsn, head.hash, head.ts) == (2, second.hash, second.ts)
    lines = firestore_lines(a)
    assert lines == [first.line, second.line]  # exactly the canonical body and hash
    assert readme_verifier(lines) == (2, second.hash)
    assert a.log.mirror.wait(2, timeout=5)
    assert a.pipeline.wal.path.read_bytes() == b"".join(lines)  # the mirror
    assert verify_file(a.pipeline.wal.path).ok


def test_refused_changes_leave_no_record(offices: list[Office]) -> None:
    a = offices[0]
    a.pipeline.commit(ALICE, put("d1", n=1))
    update_missing = ChangeSet("doc.up", "doc", "x", [Write("update", "docs", "nope", {"n": 1})])
    with pytest.raises(NotFound):
        a.pipeline.commit(ALICE, update_missing)
    big = "x" * (limits.MAX_RECORD_BYTES * 6 // 10)
    a.pipeline.commit(ALICE, put("big", blob=big))

    def replace(reader: Reader) -> ChangeSet:  # the record holds the old and the new
        assert reader.get("docs", "big") is not None
        return put("big", blob=big.replace("x", "y"))

    with pytest.raises(ValidationError, match="too large to record"):
        a.pipeline.transact(ALICE, replace)
    assert a.log.refs.read_head().lsn == 2 and len(firestore_lines(a)) == 2


def test_a_stale_read_is_retried_and_a_stale_blind_write_is_a_conflict(
    offices: list[Office],
) -> None:
    a, b = offices
    a.pipeline.commit(ALICE, put("d1", n=0))
    runs = []

    def racing(reader: Reader) -> ChangeSet:
        runs.append(1)
        change = bump("d1")(reader)
        if len(runs) == 1:  # another office commits between this read and its commit
            b.pipeline.transact(ALICE, bump("d1"))
        return change

    a.pipeline.transact(ALICE, racing)
    assert len(runs) == 2
    assert a.ctx.store.get("docs", "d1").data == {"n": 2}  # type: ignore[union-attr]
    stale = Write("set", "docs", "d1", {"n": 99}, expect_version=1)
    with pytest.raises(PreconditionFailed.__mro__[1]):  # Conflict
        a.pipeline.commit(ALICE, ChangeSet("doc.put", "doc", "d1", [stale]))


def test_what_this_office_last_saw_is_never_taken_for_what_is_there(
    offices: list[Office],
) -> None:
    """Commits start from what this process last saw (no read first): when another office
    wrote meanwhile, Firestore refuses the batch and it is read again, never overwritten
    blindly or given a wrong version."""
    a, b = offices
    a.pipeline.commit(ALICE, put("seen", n=1))  # a knows it at version 1
    b.pipeline.transact(ALICE, bump("seen"))  # b moves it to version 2
    b.pipeline.commit(ALICE, put("unseen", n=1))  # a has never seen this one
    sends = _count_sends(a.log.batches)
    a.pipeline.commit(ALICE, put("seen", n=7))
    a.pipeline.commit(ALICE, put("unseen", n=7))
    assert a.ctx.store.get("docs", "seen") == Document("docs", "seen", {"n": 7}, 3)
    assert a.ctx.store.get("docs", "unseen") == Document("docs", "unseen", {"n": 7}, 2)
    assert a.log.batches.sends - sends == 4  # each refused once, then read and sent
    batches = a.log.batches
    reads: list[int] = []
    get_all = batches._get_all
    batches._get_all = lambda refs: reads.append(len(refs)) or get_all(refs)  # type: ignore[method-assign]
    a.pipeline.commit(ALICE, put("fresh", n=1))
    a.pipeline.transact(ALICE, bump("seen"))  # the transaction's read is what it checks
    assert batches.sends - sends == 6 and [n for n in reads if n] == []


# -- many writers, one chain --------------------------------------------------------------


def test_writers_in_two_offices_make_one_chain_and_lose_no_update(offices: list[Office]) -> None:
    errors: list[BaseException] = []

    def writer(office: Office, name: str) -> None:
        try:
            for i in range(15):
                office.pipeline.transact(ALICE, bump("hot"), attempts=50)
                office.pipeline.commit(ALICE, put(f"{name}-{i}", n=i))
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=writer, args=(office, f"{office.data_dir.name}{t}"))
        for office in offices
        for t in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    a, b = offices
    assert a.ctx.store.get("docs", "hot").data == {"n": 90}  # type: ignore[union-attr]
    lines = firestore_lines(a)
    assert readme_verifier(lines)[0] == 180 == a.log.refs.read_head().lsn
    for office in offices:
        assert office.log.mirror.wait(180, timeout=10)
        assert office.pipeline.wal.path.read_bytes() == b"".join(lines)
        assert office.log.mirror.problem == ""
    commits = a.log.batches.commits + b.log.batches.commits
    assert commits == 180


def test_group_commit_sends_many_changes_in_one_firestore_commit(offices: list[Office]) -> None:
    a = offices[0]
    batches = a.log.batches
    sent_before = _count_sends(batches)
    threads = [
        threading.Thread(
            target=lambda i=i: [a.pipeline.commit(ALICE, put(f"t{i}-{n}", n=n)) for n in range(20)]
        )
        for i in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert a.pipeline.head()[0] == 160
    assert batches.sends - sent_before < 160 / 2, "commits were not grouped"


def _count_sends(batches: Any) -> int:
    """Count the Firestore commits ``batches`` makes from now on (as ``batches.sends``)."""
    if not hasattr(batches, "sends"):
        send = batches._send

        def counted(plan: Any) -> bool:
            batches.sends += 1
            return bool(send(plan))

        batches.sends = 0
        batches._send = counted
    return int(batches.sends)


def test_a_commit_whose_answer_is_lost_is_not_written_twice(
    offices: list[Office], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The network is the boundary faked here: Firestore takes the commit, and the
    answer never comes back."""
    a = offices[0]
    a.pipeline.commit(ALICE, put("d0", n=0))
    real_batch = a.ctx.store.client.batch
    lost = []

    def batch() -> Any:
        made = real_batch()
        commit = made.commit

        def commit_then_drop(**kw: Any) -> Any:
            result = commit(**kw)
            if not lost:
                lost.append(1)
                raise api.DeadlineExceeded("the answer was lost")
            return result

        made.commit = commit_then_drop
        return made

    monkeypatch.setattr(a.ctx.store.client, "batch", batch)
    record = a.pipeline.commit(ALICE, put("d1", n=1))
    assert lost == [1] and record.lsn == 2
    assert a.log.refs.read_head().lsn == 2
    assert readme_verifier(firestore_lines(a))[0] == 2


# -- the mirror -----------------------------------------------------------------------------


def test_a_new_data_directory_mirrors_the_whole_log(
    offices: list[Office], firestore_project: str, tmp_path: Path
) -> None:
    a = offices[0]
    for i in range(30):
        a.pipeline.commit(ALICE, put(f"d{i}", n=i))
    late = Office(tmp_path / "late", firestore_project)
    try:
        assert late.log.mirror.wait(30, timeout=10)
        assert late.pipeline.wal.path.read_bytes() == a.pipeline.wal.path.read_bytes()
        late.pipeline.commit(ALICE, put("late", n=1))
        assert a.log.mirror.wait(31, timeout=5)
        assert [r.lsn for r in a.pipeline.read(30)] == [30, 31]
    finally:
        late.close()


def test_records_another_office_wrote_reach_this_mirror(offices: list[Office]) -> None:
    a, b = offices
    a.pipeline.commit(ALICE, put("d1", n=1))
    b.pipeline.commit(ALICE, put("d2", n=2))
    a.pipeline.commit(ALICE, put("d3", n=3))  # the mirror is behind: kept, then written
    for office in offices:
        assert office.log.mirror.wait(3, timeout=5)
        assert verify_file(office.pipeline.wal.path).entries == 3
    assert a.pipeline.record(2) == b.pipeline.record(2)


def test_a_data_directory_of_another_log_is_refused_at_start(
    offices: list[Office], firestore_project: str, tmp_path: Path
) -> None:
    a = offices[0]
    a.pipeline.commit(ALICE, put("d1", n=1))
    a.pipeline.commit(ALICE, put("d2", n=2))
    other = make_context(tmp_path / "other")  # a SQLite office with its own history
    for i in range(3):
        other.pipeline.commit(ALICE, put(f"o{i}", n=i))
    close_context(other)
    with pytest.raises(StorageError, match="holds 3 records, and the project's log only 2"):
        Office(tmp_path / "other", firestore_project)
    (tmp_path / "other" / "wal" / "wal.log").write_bytes(
        b"".join((tmp_path / "other" / "wal" / "wal.log").read_bytes().splitlines(True)[:1])
    )
    with pytest.raises(StorageError, match="different record 1") as refused:
        Office(tmp_path / "other", firestore_project)
    assert "tfos store migrate" in refused.value.hint


def test_a_mirror_that_parts_from_the_log_stops_loudly_and_commits_go_on(
    offices: list[Office], caplog: pytest.LogCaptureFixture
) -> None:
    a, b = offices
    a.pipeline.commit(ALICE, put("d1", n=1))
    assert b.log.mirror.wait(1, timeout=5)
    path = b.pipeline.wal.path
    path.write_bytes(path.read_bytes().replace(b'"n":1', b'"n":7'))  # someone edits it
    _tamper_tip(b)
    a.pipeline.commit(ALICE, put("d2", n=2))
    deadline = time.monotonic() + 5
    while not b.log.mirror.problem and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "record 2 does not continue the chain" in b.log.mirror.problem
    assert any("log mirror" in r.message and r.levelname == "ERROR" for r in caplog.records)
    b.pipeline.commit(ALICE, put("d3", n=3))  # Firestore holds the log: b still commits
    assert readme_verifier(firestore_lines(a))[0] == 3


def _tamper_tip(office: Office) -> None:
    """Make the open mirror believe its last record is the edited line (as a restart on
    the edited file would)."""
    batches = office.pipeline.wal._batches
    assert batches is not None
    line = office.pipeline.wal.path.read_bytes()
    batches.tip = batches.tip._replace(
        hash=hashlib.sha256(b"0" * 64 + line[65:-1]).hexdigest().encode()
    )


def test_records_are_read_from_firestore_when_the_mirror_lacks_them(offices: list[Office]) -> None:
    a, b = offices
    a.pipeline.commit(ALICE, put("d1", n=1))
    b.log.mirror.close()  # b stops following
    a.pipeline.commit(ALICE, put("d2", n=2))
    started = time.monotonic()
    record = b.pipeline.record(2)
    assert record is not None and record.hash == a.pipeline.head()[1]
    assert time.monotonic() - started < 8
    assert log_head(b.ctx).hash == record.hash  # a report on b names the project's head


def test_a_project_written_by_the_earlier_store_is_refused(
    firestore_project: str, tmp_path: Path
) -> None:
    with FirestoreStore.open(firestore_project) as store:
        store.commit([Write("set", "docs", "d", {})], last_lsn=5)
    with pytest.raises(StorageError, match="log was kept on one machine"):
        Office(tmp_path / "a", firestore_project)


def test_log_refs_find_how_far_a_copy_got(offices: list[Office]) -> None:
    a = offices[0]
    for i in range(11):
        a.pipeline.commit(ALICE, put(f"d{i}", n=i))
    refs: LogRefs = a.log.refs
    assert refs.copied_up_to() == 11
    for lsn in range(8, 12):
        refs.record(lsn).delete()
    assert refs.copied_up_to() == 7


def test_a_machine_with_another_personal_data_key_is_refused(
    offices: list[Office], firestore_project: str, tmp_path: Path
) -> None:
    """Values sealed on one machine must open on every other, and keyed tokens (one
    Aadhaar, one member) must match: every machine holds the same key."""
    with pytest.raises(StorageError, match="not the one the data") as refused:
        Office(tmp_path / "stranger", firestore_project, key=new_key())
    assert "Copy pii.key from a machine already working on this project" in refused.value.hint
    sealed = offices[0].ctx.pii.seal("ABCPD1234E", context="pan")
    assert offices[1].ctx.pii.unseal(sealed, context="pan") == "ABCPD1234E"
