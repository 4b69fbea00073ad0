"""The WAL as a transparency log: its Merkle tree kept beside it (real files, real
processes, SIGKILL), signed checkpoints, proofs, witnesses, and the rewrite attack."""

from __future__ import annotations

import base64
import multiprocessing
import os
import random
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from app.kernel.checkpoints import Checkpoint, SignedCheckpoint, cosign
from app.kernel.errors import StorageError, ValidationError
from app.kernel.log_tree import TreeReport, tree_path
from app.kernel.merkle import ProofFailed, node_count
from app.kernel.signed_note import COSIGNATURE_V1, Signer, Verifier, parse
from app.kernel.tlog import (
    LogForked,
    TransparencyLog,
    check_consistency,
    check_inclusion,
)
from app.kernel.wal import GENESIS, Record, WriteAheadLog, verify_file
from app.kernel.wal_format import record_hash
from app.services.actors import Actor
from app.services.context import close_context, make_context
from app.services.pipeline import ChangeSet
from app.services.store import Write
from tests.test_merkle import mth
from tests.test_wal import entry

ROOT = Path(__file__).resolve().parents[1]
SPAWN = multiprocessing.get_context("spawn")


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")[:-1]


def open_log(data: Path, **kwargs: Any) -> WriteAheadLog:
    wal = WriteAheadLog(data / "wal" / "wal.log", **kwargs)
    wal.open()
    return wal


def make_tlog(wal: WriteAheadLog, data: Path, **kwargs: Any) -> TransparencyLog:
    return TransparencyLog(
        wal, key_path=data / "keys" / "checkpoint.key", checkpoints_dir=data / "cp", **kwargs
    )


def fill(wal: WriteAheadLog, count: int, start: int = 0) -> None:
    half = count // 2
    for i in range(start, start + half):
        wal.append(entry(i))
    for future in [wal.submit(entry(i)) for i in range(start + half, start + count)]:
        future.result()


def assert_tree_matches_log(wal: WriteAheadLog) -> None:
    lines = lines_of(wal.path)
    assert wal.tree is not None
    assert wal.tree.head() == (len(lines), mth(lines))
    assert tree_path(wal.path).stat().st_size == node_count(len(lines)) * 32


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


# -- the tree --------------------------------------------------------------------------------


def test_the_tree_is_the_rfc_tree_of_the_log_lines(data: Path) -> None:
    with open_log(data) as wal:
        fill(wal, 61)
        assert_tree_matches_log(wal)
        lines = lines_of(wal.path)
        tlog = make_tlog(wal, data)
        for size in (1, 2, 7, 32, 33, 61):
            at = Checkpoint(tlog.origin, size, mth(lines[:size]))
            for lsn in {1, (size + 1) // 2, size}:
                doc = tlog.prove(lsn, size)
                assert set(doc) == {"lsn", "size", "leaf_hash", "proof"}
                check_inclusion(doc, at, lines[lsn - 1])
            for first in (0, 1, size // 2, size):
                old = Checkpoint(tlog.origin, first, mth(lines[:first]))
                check_consistency(tlog.consistency(first, size), old, at)


def test_reopening_reads_the_tree_instead_of_rebuilding_it(data: Path) -> None:
    with open_log(data) as wal:
        fill(wal, 40)
    tree = tree_path(data / "wal" / "wal.log")
    before = tree.stat()
    with open_log(data) as wal:
        assert wal.tree_report == TreeReport(size=40)
        assert_tree_matches_log(wal)
    after = tree.stat()
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == (
        before.st_ino,
        before.st_mtime_ns,
        before.st_size,
    )


def _cut_log(log: Path, keep: int) -> None:
    log.write_bytes(b"".join(line + b"\n" for line in lines_of(log)[:keep]))


@pytest.mark.parametrize("damage", ["missing", "torn", "short", "long"])
def test_a_missing_torn_or_stale_tree_is_mended_from_the_log(data: Path, damage: str) -> None:
    with open_log(data) as wal:
        fill(wal, 45)
    log, tree = data / "wal" / "wal.log", tree_path(data / "wal" / "wal.log")
    expected = {"missing": (45, 45, 0), "torn": (45, 1, 0), "short": (45, 4, 0), "long": (41, 0, 4)}
    if damage == "missing":
        tree.unlink()
    elif damage == "torn":  # a crash in the middle of the tree's last write
        os.truncate(tree, tree.stat().st_size - 20)
    elif damage == "short":  # a crash after the log's fsync, before the tree's write
        os.truncate(tree, node_count(41) * 32)
    else:  # the log lost records its tree had
        _cut_log(log, 41)
    with open_log(data) as wal:
        report = wal.tree_report
        assert report is not None
        assert (report.size, report.added, report.cut) == expected[damage]
        assert report.diverged_at is None
        assert_tree_matches_log(wal)
        fill(wal, 3, start=100)
        assert_tree_matches_log(wal)


def test_records_written_without_the_tree_are_added_before_the_next_batch(data: Path) -> None:
    with open_log(data) as wal:
        fill(wal, 10)
        # Another writer appends without updating the tree: the state a process leaves
        # when it dies between the log's fsync and the tree's write.
        with open_log(data, keep_tree=False) as other:
            fill(other, 7, start=50)
        assert wal.tree is not None and wal.tree.head()[0] == 10
        wal.append(entry(99))
        assert_tree_matches_log(wal)
    with open_log(data, keep_tree=False) as other:
        fill(other, 3, start=70)
    with open_log(data) as wal:
        assert wal.tree_report is not None and wal.tree_report.added == 3
        assert_tree_matches_log(wal)


def test_a_failing_tree_write_never_fails_an_append_and_is_mended(
    data: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with open_log(data) as wal:
        fill(wal, 6)
        tree = wal.tree
        assert tree is not None
        # The tree's descriptor now refuses writes: a real EBADF from the OS.
        read_only = os.open(tree_path(wal.path), os.O_RDONLY)
        os.dup2(read_only, tree._fd)  # white box: the one way to make this write fail
        os.close(read_only)
        path = tree_path(wal.path)
        with caplog.at_level("WARNING", logger="app.kernel.log_tree"):
            assert wal.append(entry(7)).lsn == 7  # durable, acknowledged
            path.rename(path.with_name("elsewhere"))
            path.mkdir()  # and now the tree cannot even be opened, batch after batch
            fill(wal, 4, start=8)
            assert [r.levelname for r in caplog.records] == ["ERROR"]  # said once
            with pytest.raises(StorageError, match="Cannot read the log's Merkle tree"):
                make_tlog(wal, data).checkpoint()  # readers get a clear error meanwhile
            assert "Could not add records from 7" in caplog.records[0].getMessage()
            path.rmdir()
            wal.append(entry(12))
        assert "in step with the log again (12 records)" in caplog.records[-1].getMessage()
        assert_tree_matches_log(wal)


def test_readers_leave_a_write_in_progress_alone_and_writers_cut_a_torn_one(data: Path) -> None:
    with open_log(data) as wal:
        fill(wal, 9)
        tree, path = wal.tree, tree_path(wal.path)
        assert tree is not None
        whole = path.stat().st_size
        with open(path, "ab") as file:
            file.write(os.urandom(40))  # another process's batch, half written (or torn)
        tree.refresh()  # a reader: no lock, so it must not cut what may still be written
        assert path.stat().st_size == whole + 40 and tree.head()[0] == 9
        wal.append(entry(10))  # a writer holds the lock: the stray bytes are cut first
        assert_tree_matches_log(wal)


def _append_and_sign(folder: str, who: str, count: int, out: Any) -> None:
    data = Path(folder)
    wal = open_log(data)
    tlog = make_tlog(wal, data, interval=0.01)
    tlog.start()
    rng = random.Random(who)
    seen = []
    for i in range(count):
        if rng.random() < 0.3:
            fill(wal, 4, start=i * 10)
        else:
            wal.append(entry(i, who))
        cp = tlog.checkpoint().checkpoint
        seen.append((cp.size, cp.root))
    tlog.close()
    wal.close()
    out.put((who, seen))


def test_two_processes_keep_one_tree_and_sign_one_history(data: Path) -> None:
    (data / "wal").mkdir(parents=True)
    out = SPAWN.Queue()
    procs = [
        SPAWN.Process(target=_append_and_sign, args=(str(data), who, 120, out))
        for who in ("first", "second")
    ]
    for p in procs:
        p.start()
    try:
        results = [out.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(timeout=60)
            assert p.exitcode == 0
    finally:  # a stuck child fails the test instead of hanging the run
        for p in procs:
            if p.is_alive():
                p.kill()
    lines = lines_of(data / "wal" / "wal.log")
    assert verify_file(data / "wal" / "wal.log").ok
    for _who, seen in results:
        assert len(seen) == 120
        for size, root in seen:  # every checkpoint either process signed: one history
            assert root == mth(lines[:size])
    with open_log(data) as wal:
        assert wal.tree_report == TreeReport(size=len(lines))  # nothing to mend
        assert_tree_matches_log(wal)
        tlog = make_tlog(wal, data)
        latest = tlog.store.latest(tlog.verifier)
        assert latest is not None
        assert latest.size == max(size for _, seen in results for size, _ in seen)


CRASH_CHILD = """
import sys, threading
from pathlib import Path
from app.kernel.wal import Entry, WriteAheadLog
wal = WriteAheadLog(Path(sys.argv[1]))
wal.open()
print("ready", flush=True)
def work(k):
    i = 0
    while True:
        i += 1
        wal.append(Entry({"id": "u", "name": "n", "role": "r"}, "a.b",
                         {"id": f"{k}-{i}", "type": "t"}, {"pad": "x" * (i % 300)}))
threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
for t in threads:
    t.start()
threading.Event().wait()
"""


def test_sigkill_at_random_moments_leaves_a_tree_that_matches_the_log(data: Path) -> None:
    log = data / "wal" / "wal.log"
    log.parent.mkdir(parents=True)
    rng = random.Random(20261124)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for _ in range(8):
        child = subprocess.Popen(
            [sys.executable, "-c", CRASH_CHILD, str(log)], stdout=subprocess.PIPE, env=env
        )
        assert child.stdout is not None
        assert child.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.01, 0.3))
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        with open_log(data) as wal:
            assert wal.tree_report is not None and wal.tree_report.diverged_at is None
            assert_tree_matches_log(wal)
    fresh = data.parent / "fresh"
    (fresh / "wal").mkdir(parents=True)
    shutil.copy(log, fresh / "wal" / "wal.log")
    with open_log(fresh) as wal:  # a tree built in one go equals the one kept by batches
        assert wal.tree_report is not None and wal.tree_report.added == len(lines_of(log))
    assert tree_path(fresh / "wal" / "wal.log").read_bytes() == tree_path(log).read_bytes()


# -- checkpoints -------------------------------------------------------------------------------


def test_a_checkpoint_is_a_c2sp_signed_note_from_a_private_key(data: Path) -> None:
    with open_log(data) as wal:
        fill(wal, 12)
        tlog = make_tlog(wal, data)
        signed = tlog.checkpoint()
        vkey = tlog.verifier_key
    origin, size, root64, blank, sig_line, end = signed.text.split("\n")
    assert re.fullmatch(r"transactflowos/[0-9a-f]{16}", origin)
    assert (size, blank, end) == ("12", "", "")
    assert base64.b64decode(root64) == mth(lines_of(wal.path))
    assert sig_line.startswith(f"— {origin} ")
    assert re.fullmatch(re.escape(origin) + r"\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}", vkey)
    assert base64.b64decode(vkey.split("+", 2)[2])[0] == 0x01
    assert SignedCheckpoint.open(signed.text, Verifier.parse(vkey)).size == 12
    key = data / "keys" / "checkpoint.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_bytes()) == 32
    assert (data / "cp" / "latest").read_text() == signed.text
    with open_log(data) as wal:
        assert make_tlog(wal, data).verifier_key == vkey  # stable for the data directory


def test_a_checkpoint_is_there_right_after_one_append(data: Path) -> None:
    with open_log(data) as wal:
        tlog = make_tlog(wal, data, interval=3600)
        tlog.start()
        try:
            for i in range(5):
                lsn = wal.append(entry(i)).lsn
                assert tlog.checkpoint().size == lsn
        finally:
            tlog.close()


def test_the_latest_checkpoint_on_disk_never_moves_back(data: Path) -> None:
    with open_log(data) as wal:
        fill(wal, 10)
        tlog = make_tlog(wal, data)
        small = tlog.checkpoint()
        fill(wal, 5, start=10)
        big = tlog.checkpoint()
        # A process that saw less of the log signs late: the larger checkpoint stays.
        assert tlog.store.save_latest(small, tlog.verifier) == big
        latest = tlog.store.latest(tlog.verifier)
        assert latest is not None and latest.size == 15


def test_checkpoints_follow_batches_at_most_once_per_interval(data: Path) -> None:
    latest = data / "cp" / "latest"
    with open_log(data) as wal:
        tlog = make_tlog(wal, data, interval=0.25)
        tlog.start()
        try:
            seen: set[str] = set()
            began = time.monotonic()
            i = 0
            while time.monotonic() - began < 1.2:
                wal.append(entry(i))
                i += 1
                if latest.exists():
                    seen.add(latest.read_text().split("\n")[1])
            assert 2 <= len(seen) <= 1.2 / 0.25 + 2  # signed as it grew...
            assert i > 3 * len(seen)  # ...not after every batch
            head = str(wal.head()[0])
            deadline = time.monotonic() + 5  # the last batches are signed once the
            while latest.read_text().split("\n")[1] != head:  # interval is over
                assert time.monotonic() < deadline, "the last batches were never signed"
                time.sleep(0.02)
        finally:
            tlog.close()


# -- checking saved checkpoints, and the rewrite attack -------------------------------------------


def test_check_passes_for_an_intact_log_and_says_what_no_longer_matches(data: Path) -> None:
    with open_log(data) as wal:
        fill(wal, 30)
        tlog = make_tlog(wal, data)
        saved = tlog.checkpoint().text
        fill(wal, 10, start=30)
        report = tlog.check(saved)
        assert report.ok and report.size == 30 and report.log_records == 30
        assert "still have root" in report.message

        forged = saved.replace("\n30\n", "\n29\n")
        assert "does not verify" in tlog.check(forged).message
        stranger = Signer.generate(tlog.origin)
        other = SignedCheckpoint.sign(Checkpoint(tlog.origin, 30, bytes(32)), stranger).text
        assert not tlog.check(other).ok
        assert "none of them a key asked for" in tlog.check(other).message
        assert not tlog.check("not a checkpoint").ok
    _cut_log(data / "wal" / "wal.log", 25)  # a restore from an older backup
    with open_log(data) as wal:
        report = make_tlog(wal, data).check(saved)
        assert not report.ok
        assert report.message == (
            "The checkpoint covers 30 records, but the log has only 25: records 26 to 30 are gone."
        )


def rewrite(log: Path, lsn: int, reason: str) -> None:
    """The attack of issue 12: change one record's reason, then recompute every later
    record's ``prev`` and hash so that the chain verifies again."""
    prev, out = GENESIS, []
    for line in lines_of(log):
        record = Record.parse(line)
        if record.lsn == lsn:
            record = replace(record, reason=reason)
        record = replace(record, prev=prev)
        record = replace(record, hash=record_hash(prev.encode(), record.body))
        out.append(record.line)
        prev = record.hash
    log.write_bytes(b"".join(out))


@pytest.mark.parametrize("cleaned", [False, True], ids=["tree-left", "tree-and-latest-deleted"])
def test_a_consistently_rewritten_log_fails_every_check(data: Path, cleaned: bool) -> None:
    witness = Signer.generate("auditor.example/asha", COSIGNATURE_V1)
    with open_log(data) as wal:
        fill(wal, 40)
        tlog = make_tlog(wal, data)
        saved = tlog.checkpoint()
        tlog.witness(witness, timestamp=1_800_000_000)
        old_log = lines_of(wal.path)
    log = data / "wal" / "wal.log"
    rewrite(log, 17, "adjusted")
    assert verify_file(log).ok  # the hash chain alone cannot tell
    if cleaned:
        tree_path(log).unlink()
        (data / "cp" / "latest").unlink()
    with open_log(data) as wal:
        tlog = make_tlog(wal, data)
        new_root = mth(lines_of(log))
        report = tlog.check(saved.text)
        assert not report.ok
        assert report.problems[0] == (
            f"The log's first 40 records have root {new_root.hex()}, the checkpoint says "
            f"{mth(old_log).hex()}: at least one of them was changed after the checkpoint "
            "was signed."
        )
        now = Checkpoint(tlog.origin, 40, new_root)
        with pytest.raises(ProofFailed, match="Two trees of 40 leaves have different roots"):
            check_consistency(tlog.consistency(40, 40), saved.checkpoint, now)
        fill(wal, 5, start=40)
        grown = Checkpoint(tlog.origin, 45, mth(lines_of(log)))
        with pytest.raises(ProofFailed, match="the first 40 leaves changed"):
            check_consistency(tlog.consistency(40), saved.checkpoint, grown)
        with pytest.raises((ProofFailed, LogForked)):  # no witness takes the new history
            tlog.witness(witness, previous=saved.checkpoint)
        if cleaned:
            return
        report_tree = wal.tree_report
        assert report_tree is not None and report_tree.diverged_at == 17
        assert "record 17 no longer matched" in report.problems[1]
        with pytest.raises(LogForked, match="at size 40"):  # the log signs no second history
            tlog.checkpoint()


# -- witnesses ---------------------------------------------------------------------------------


def test_witnesses_cosign_checkpoints_that_extend_what_they_cosigned(data: Path) -> None:
    asha = Signer.generate("auditor.example/asha", COSIGNATURE_V1)
    ravi = Signer.generate("auditor.example/ravi", COSIGNATURE_V1)
    with open_log(data) as wal:
        fill(wal, 20)
        tlog = make_tlog(wal, data, clock=lambda: 1_800_000_123.9)
        first = tlog.witness(asha)
        assert [c.to_dict() for c in first.cosignatures] == [
            {"witness": asha.name, "vkey": asha.verifier.vkey, "timestamp": 1_800_000_123}
        ]
        both = tlog.witness(ravi, timestamp=1_800_000_200)
        assert {c.witness for c in both.cosignatures} == {asha.name, ravi.name}
        fill(wal, 9, start=20)
        tlog.witness(asha, timestamp=1_800_000_300)  # checks consistency with size 20

        listed = tlog.witnessed()
        assert [(w.signed.size, sorted(c.witness for c in w.cosignatures)) for w in listed] == [
            (20, [asha.name, ravi.name]),
            (29, [asha.name]),
        ]
        files = sorted(p.name for p in (data / "cp" / "cosigned").iterdir())
        assert [name.split("-")[0] for name in files] == ["000000000020", "000000000029"]

        # A witness elsewhere sends back its cosignature line.
        remote = Signer.generate("witness.example/w1", COSIGNATURE_V1)
        signed = tlog.checkpoint()
        line = cosign(signed, remote, timestamp=1_800_000_400)
        kept = tlog.add_cosignature(signed.text + line, remote.verifier.vkey)
        assert remote.name in {c.witness for c in kept.cosignatures}
        with pytest.raises(ProofFailed, match="no cosignature by"):
            tlog.add_cosignature(signed.text, remote.verifier.vkey)
        with pytest.raises(ProofFailed):
            tlog.witness(Signer.generate("not-a-witness"))  # a plain key cannot cosign

        # A kept file that was changed on disk no longer verifies.
        path = data / "cp" / "cosigned" / files[0]
        path.write_text(path.read_text().replace("\n20\n", "\n21\n"))
        with pytest.raises(ProofFailed):
            tlog.witnessed()


def test_a_witness_never_cosigns_a_smaller_tree_than_before(data: Path) -> None:
    asha = Signer.generate("auditor.example/asha", COSIGNATURE_V1)
    with open_log(data) as wal:
        fill(wal, 10)
        tlog = make_tlog(wal, data)
        bigger = Checkpoint(tlog.origin, 11, bytes(32))
        with pytest.raises(ProofFailed, match="cosigned a tree of 11 records"):
            tlog.witness(asha, previous=bigger)


# -- errors ------------------------------------------------------------------------------------


def test_proof_requests_outside_the_log_say_what_is_wrong(data: Path) -> None:
    with open_log(data) as wal:
        fill(wal, 8)
        tlog = make_tlog(wal, data)
        cases = [
            (lambda: tlog.prove(0), "Record 0 is not in a tree of 8 records"),
            (lambda: tlog.prove(9), "Record 9 is not in a tree of 8 records"),
            (lambda: tlog.prove(3, 2), "Record 3 is not in a tree of 2 records"),
            (lambda: tlog.prove(1, 9), "has 8 records; there is no tree of size 9"),
            (lambda: tlog.consistency(5, 3), "from a smaller size to a larger one; got 5 to 3"),
            (lambda: tlog.consistency(2, 10), "there is no tree of size 10"),
        ]
        for call, message in cases:
            with pytest.raises(ValidationError, match=re.escape(message)):
                call()
        doc = tlog.prove(2)
        at = tlog.checkpoint().checkpoint
        with pytest.raises(ProofFailed, match="not the leaf"):
            check_inclusion(doc, at, b"some other line")
        with pytest.raises(ProofFailed, match="size 8, the checkpoint for 7"):
            check_inclusion(doc, replace(at, size=7))


def test_a_log_without_a_tree_says_so(data: Path) -> None:
    with open_log(data, keep_tree=False) as wal, pytest.raises(StorageError, match="no Merkle"):
        make_tlog(wal, data).checkpoint()


# -- wired into the services ----------------------------------------------------------------------


def test_the_service_context_keeps_signed_checkpoints_of_its_wal(data: Path) -> None:
    ctx = make_context(data)
    assert ctx.transparency is not None
    actor = Actor("u1", "Asha", "employee")
    for n in range(3):
        change = ChangeSet("x.set", "x", str(n), [Write("set", "x", str(n), {"n": n})])
        ctx.pipeline.commit(actor, change)
    head = ctx.pipeline.wal.head()[0]
    assert ctx.transparency.checkpoint().size == head == 3
    vkey = ctx.transparency.verifier_key
    close_context(ctx)
    latest = (data / "checkpoints" / "latest").read_text()
    assert SignedCheckpoint.open(latest, Verifier.parse(vkey)).size == 3
    assert parse(latest).signatures[0].name == vkey.split("+")[0]
