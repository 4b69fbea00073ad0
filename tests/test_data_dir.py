"""The data directory as an operator meets it, with real `tfos` processes: commands that
only read change and create nothing, a torn log is not cut by a program that refuses to
start, damage messages name a command that works, the data is private to its user, and
the store can be rebuilt from the log."""

from __future__ import annotations

import os
import re
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.kernel.wal import Entry, WriteAheadLog
from app.services.actors import SYSTEM
from app.services.context import close_context, make_context
from app.services.pipeline import ChangeSet
from app.services.store import Write
from tests.cli import tfos

READ_ONLY = [["wal", "tail"], ["wal", "stats"], ["wal", "verify"], ["kpis"], ["ledger", "check"]]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo data directory, made once; tests copy it."""
    path = tmp_path_factory.mktemp("demo") / "data"
    made = tfos(path, "demo-data", "--groups", "1", "--members", "4", "--months", "2")
    assert made.returncode == 0, made.stderr
    return path


@pytest.fixture
def data(demo: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    subprocess.run(["cp", "-a", str(demo), str(copy)], check=True)
    return copy


def wal_of(data_dir: Path) -> Path:
    return data_dir / "wal" / "wal.log"


def modes(root: Path) -> Iterator[tuple[Path, int]]:
    for folder, dirs, files in os.walk(root):
        for name in [".", *dirs, *files]:
            path = Path(folder, name)
            yield path, stat.S_IMODE(path.stat().st_mode)


# -- commands that only read ------------------------------------------------------------


@pytest.mark.parametrize("command", READ_ONLY, ids=" ".join)
def test_read_only_commands_refuse_a_folder_without_a_log(
    tmp_path: Path, command: list[str]
) -> None:
    mistyped = tmp_path / "data-typo"
    result = tfos(mistyped, *command)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert "not a TransactFlowOS data directory" in result.stderr and "--data-dir" in result.stderr
    assert not mistyped.exists()


def test_a_torn_log_is_left_alone_by_readers_and_cut_by_the_next_write(data: Path) -> None:
    log = wal_of(data)
    with open(log, "ab") as f:
        f.write(b"0" * 64 + b' {"lsn":')
    torn = log.read_bytes()
    tail = tfos(data, "wal", "tail", "-n", "3")
    assert tail.returncode == 0, tail.stderr
    assert len(tail.stdout.splitlines()) == 3
    for command in READ_ONLY[1:]:
        assert tfos(data, *command).returncode in (0, 1)
        assert log.read_bytes() == torn, command
    ctx = make_context(data)
    try:
        assert log.read_bytes() == torn  # opened, not yet written
        ctx.pipeline.commit(SYSTEM, ChangeSet("t.w", "t", "1", [Write("set", "t", "1", {})]))
    finally:
        close_context(ctx)
    assert log.read_bytes().startswith(torn[: -len(b' {"lsn":') - 64])
    assert tfos(data, "wal", "verify").returncode == 0


def test_a_torn_log_keeps_its_bytes_when_start_up_is_refused(data: Path) -> None:
    """A record the store cannot apply (as an older version could write) stops start-up
    in the replay; the torn tail after it must not be cut on the way out."""
    log = wal_of(data)
    with WriteAheadLog(log) as wal:
        writes = [{"op": "set", "collection": "loans", "id": "x", "data": {"p": "a\x00b"}}]
        actor = {"id": "u", "name": "U", "role": "member"}
        wal.append(Entry(actor, "loan.apply", {"type": "loan", "id": "x"}, {"writes": writes}))
    with open(log, "ab") as f:
        f.write(b"0" * 64 + b' {"lsn":9')
    before = log.read_bytes()
    for command in (["ledger", "check"], ["kpis"]):
        refused = tfos(data, *command)
        assert refused.returncode == 2 and "NUL" in refused.stderr, refused.stderr
        assert log.read_bytes() == before


def test_the_damage_message_names_a_command_that_works(data: Path) -> None:
    log = wal_of(data)
    lines = log.read_bytes().splitlines(keepends=True)
    lines[10] = lines[10].replace(b'"action":"', b'"action":"X', 1)
    log.write_bytes(b"".join(lines))
    refused = tfos(data, "kpis")
    assert refused.returncode == 2
    command = re.search(r"`(tfos wal verify[^`]*)`", refused.stderr)
    assert command is not None, refused.stderr
    verify = tfos(data, *command.group(1).split()[1:])
    assert verify.returncode == 1, verify.stdout + verify.stderr
    assert '"lsn": 11' in verify.stdout


# -- private data ----------------------------------------------------------------------


def test_a_new_data_directory_is_private_to_its_user(demo: Path) -> None:
    found = dict(modes(demo))
    assert demo in found and any(p.suffix == ".pdf" for p in found)
    for path in (demo, demo / "wal" / "wal.log", demo / "store.sqlite3", demo / "keys" / "pii.key"):
        assert path in found
    wrong = {p: oct(m) for p, m in found.items() if m != (0o700 if p.is_dir() else 0o600)}
    assert not wrong


def test_files_are_private_even_without_the_umask(tmp_path: Path) -> None:
    """In-process users (tests, embedders) keep their umask; the files are private anyway."""
    old = os.umask(0o022)
    try:
        ctx = make_context(tmp_path / "data")
        try:
            found = dict(modes(tmp_path / "data"))
            assert any(p.name.endswith("-wal") for p in found)  # SQLite's, while open
        finally:
            close_context(ctx)
    finally:
        os.umask(old)
    wrong = {p: oct(m) for p, m in found.items() if m & 0o077}
    assert not wrong


def test_an_existing_open_data_directory_is_made_private_with_a_warning(data: Path) -> None:
    for path, mode in modes(data):
        path.chmod(mode | (0o055 if path.is_dir() else 0o044))
    result = tfos(data, "kpis")
    assert result.returncode == 0, result.stderr
    assert "Other users could read the data directory" in result.stderr
    wrong = {p: oct(m) for p, m in modes(data) if m & 0o077}
    assert not wrong


# -- rebuilding the store --------------------------------------------------------------


def test_store_rebuild_of_demo_data_is_identical(data: Path) -> None:
    result = tfos(data, "store", "rebuild")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "identical" in result.stdout
    assert not (data / "store.rebuilt.sqlite3").exists()


def test_store_rebuild_names_differences_and_replace_swaps_the_store_in(data: Path) -> None:
    with sqlite3.connect(data / "store.sqlite3") as conn:
        loan = conn.execute("SELECT id FROM docs WHERE collection = 'loans' LIMIT 1").fetchone()
        conn.execute("UPDATE docs SET data = '{}' WHERE collection = 'loans' AND id = ?", loan)
        conn.execute(
            "DELETE FROM docs WHERE rowid = "
            "(SELECT min(rowid) FROM docs WHERE collection = 'members')"
        )
    conn.close()
    found = tfos(data, "store", "rebuild")
    assert found.returncode == 1, found.stdout + found.stderr
    assert f"loans/{loan[0]}: its data differs" in found.stdout
    assert "in the log, missing from the store" in found.stdout
    assert "tfos store rebuild --replace" in found.stdout
    assert (data / "store.rebuilt.sqlite3").exists()

    replaced = tfos(data, "store", "rebuild", "--replace")
    assert replaced.returncode == 1 and "now the store" in replaced.stdout
    assert len(list(data.glob("store.sqlite3.bak-*"))) == 1
    again = tfos(data, "store", "rebuild")
    assert again.returncode == 0 and "identical" in again.stdout


def test_store_rebuild_does_not_replace_a_store_in_use(data: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1]); "
            "c.execute('SELECT 1 FROM docs').fetchall(); print('ready', flush=True); "
            "time.sleep(60)",
            str(data / "store.sqlite3"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        refused = tfos(data, "store", "rebuild", "--replace")
        assert refused.returncode == 2
        assert f"pid {holder.pid}" in refused.stderr and "in use" in refused.stderr
        assert not list(data.glob("store.sqlite3.bak-*"))
    finally:
        holder.kill()
        holder.wait()


def test_a_damaged_store_is_rebuilt_from_the_log_and_replaced(data: Path) -> None:
    store = data / "store.sqlite3"
    with open(store, "r+b") as f:
        f.write(b"not a database, not any more" * 4)
    refused = tfos(data, "kpis")
    assert refused.returncode == 2 and "tfos store rebuild --replace" in refused.stderr
    rebuilt = tfos(data, "store", "rebuild", "--replace")
    assert rebuilt.returncode == 1, rebuilt.stdout + rebuilt.stderr
    assert "the store cannot be read: The store file" in rebuilt.stdout
    assert "now the store" in rebuilt.stdout
    assert tfos(data, "kpis").returncode == 0
    assert tfos(data, "store", "rebuild").returncode == 0
