"""``tfos wal verify --store-backend firestore`` and ``tfos store migrate --to firestore``,
as real processes against the emulator."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from app.kernel.errors import StorageError
from app.services.context import close_context, make_context
from app.services.demo import generate
from app.services.pii import PiiVault
from app.services.store.firestore import FirestoreStore
from app.services.store.firestore_migrate import Ramp, migrate
from app.services.store.firestore_records import LogRefs
from tests.cli import tfos
from tests.offices import give_key, new_key
from tests.test_firestore_log import ALICE, put

pytestmark = pytest.mark.firestore


def on(project: str, *args: str) -> list[str]:
    return [*args, "--store-backend", "firestore", "--firestore-project", project]


@pytest.fixture
def office_dir(tmp_path: Path, firestore_project: str) -> Path:
    """A data directory with three records, its log kept in the project."""
    data = give_key(tmp_path / "office", new_key())
    ctx = make_context(data, store=FirestoreStore.open(firestore_project))
    for i in range(3):
        ctx.pipeline.commit(ALICE, put(f"d{i}", n=i))
    close_context(ctx)
    return data


def test_verify_checks_the_projects_records_and_the_mirror(
    office_dir: Path, firestore_project: str
) -> None:
    done = tfos(office_dir, *on(firestore_project, "wal", "verify"))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] and report["entries"] == 3 and report["broken"] == []
    assert report["head_document"]["agrees"]
    assert report["mirror"]["agrees"] and report["mirror"]["behind"] == 0
    with FirestoreStore.open(firestore_project) as store:
        refs = LogRefs(store.client, store.where)
        record = refs.record(2)
        body = record.get().to_dict()["body"]
        record.update({"body": body.replace('"n":1', '"n":9')})  # someone edits record 2
    done = tfos(office_dir, *on(firestore_project, "wal", "verify"))
    report = json.loads(done.stdout)
    assert done.returncode == 1
    assert [b["lsn"] for b in report["broken"]] == [2]
    assert "its hash does not match its content" in report["broken"][0]["problems"]


def test_verify_says_when_the_mirror_does_not_agree(
    office_dir: Path, firestore_project: str
) -> None:
    log = office_dir / "wal" / "wal.log"
    log.write_bytes(log.read_bytes().replace(b'"n":2', b'"n":5'))
    done = tfos(office_dir, *on(firestore_project, "wal", "verify"))
    report = json.loads(done.stdout)
    assert done.returncode == 1
    assert report["broken"] == [] and report["head_document"]["agrees"]
    assert report["mirror"]["ok"] is False and report["mirror"]["agrees"] is False


# -- moving an office -------------------------------------------------------------------------


@pytest.fixture
def sqlite_office(tmp_path: Path) -> Path:
    """A SQLite data directory with a little demo history."""
    data = tmp_path / "sqlite"
    ctx = make_context(data)
    generate(ctx, groups=1, members=5, months=2, seed=7, end=date(2026, 11, 2))
    close_context(ctx)
    return data


def test_an_office_moves_into_an_empty_project_and_works_from_there(
    sqlite_office: Path, firestore_project: str, tmp_path: Path
) -> None:
    before = tfos(sqlite_office, "kpis", "--json")
    assert before.returncode == 0, before.stderr
    done = tfos(sqlite_office, *on(firestore_project, "store", "migrate", "--to", "firestore"))
    assert done.returncode == 0, done.stderr
    assert "The copy is identical." in done.stdout and "pii.key" in done.stdout
    verified = json.loads(tfos(sqlite_office, *on(firestore_project, "wal", "verify")).stdout)
    entries = verified["entries"]
    assert verified["ok"] and verified["mirror"]["behind"] == 0 and entries > 100
    # another machine: a new data directory with the office's key
    other = tmp_path / "branch"
    other.mkdir(mode=0o700)
    shutil.copytree(sqlite_office / "keys", other / "keys")
    after = tfos(other, *on(firestore_project, "kpis", "--json"))
    assert after.returncode == 0, after.stderr
    assert json.loads(after.stdout) == json.loads(before.stdout)
    assert (other / "wal" / "wal.log").read_bytes() == (
        sqlite_office / "wal" / "wal.log"
    ).read_bytes()
    again = tfos(sqlite_office, *on(firestore_project, "store", "migrate", "--to", "firestore"))
    assert again.returncode == 2 and "already holds a log" in again.stderr


def test_a_project_that_is_not_empty_is_refused(
    office_dir: Path, sqlite_office: Path, firestore_project: str
) -> None:
    with FirestoreStore.open(firestore_project) as store:
        store.client.collection("tfos").document("log").delete()  # records, but no head
    done = tfos(sqlite_office, *on(firestore_project, "store", "migrate", "--to", "firestore"))
    assert done.returncode == 2, done.stdout
    assert "is not empty, so nothing was copied" in done.stderr
    assert "Traceback" not in done.stderr


class Interrupted(Exception):
    pass


def test_an_interrupted_migration_is_resumed_safely(
    sqlite_office: Path, firestore_project: str
) -> None:
    pii = PiiVault(sqlite_office / "keys" / "pii.key")
    key = (pii.key_id, pii.key_path)
    seen: list[str] = []

    def stop_after_two(line: str) -> None:
        seen.append(line)
        if len(seen) == 2:
            raise Interrupted

    with FirestoreStore.open(firestore_project) as target:
        import app.services.store.firestore_migrate as module

        module.RECORDS_PER_BATCH, saved = 50, module.RECORDS_PER_BATCH
        try:
            with pytest.raises(Interrupted):
                migrate(sqlite_office, target, key, progress=stop_after_two)
            with pytest.raises(StorageError, match="interrupted migration") as refused:
                migrate(sqlite_office, target, key)
            assert "--resume" in refused.value.hint
            report = migrate(sqlite_office, target, key, resume=True)
        finally:
            module.RECORDS_PER_BATCH = saved
        assert report.identical, report.lines()
        refs = LogRefs(target.client, target.where)
        assert refs.copied_up_to() == report.records == refs.read_head().lsn
    done = tfos(sqlite_office, *on(firestore_project, "wal", "verify"))
    assert json.loads(done.stdout)["ok"], done.stdout


def test_the_ramp_starts_at_500_writes_a_second_and_grows_by_half_every_5_minutes() -> None:
    now = [0.0]
    ramp = Ramp(enabled=True, clock=lambda: now[0])
    assert ramp.rate() == 500
    now[0] = 299.0
    assert ramp.rate() == 500
    now[0] = 300.0
    assert ramp.rate() == 750
    now[0] = 900.0
    assert ramp.rate() == 500 * 1.5**3
