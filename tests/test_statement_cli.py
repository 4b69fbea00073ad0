"""``tfos collections import`` as a real process, and a statement import killed with
SIGKILL halfway: nothing committed is lost, and the re-run records nothing twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from app import config
from app.bootstrap import build
from app.services.staff import StaffService
from app.services.statements.sample import payment_row, to_csv
from app.services.store import Query
from tests.counter_books import LAKH, open_books

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "Correct-horse-9"
MEMBERS = 40
PERIODS = 20


def tfos(data_dir: Path, *args: str, password: str = PASSWORD) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TFOS_")}
    env.update(PYTHONPATH=str(ROOT), TFOS_DATA_DIR=str(data_dir))
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        input=password + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An admin ``asha``, 40 members owing 20 periods each, and a statement paying all
    800 dues (a data directory copied for each test)."""
    data = tmp_path_factory.mktemp("office") / "data"
    runtime = build(config.load(environ={}, data_dir=data))
    try:
        StaffService(runtime.ctx).create_first_admin("Asha Rao", "asha", PASSWORD)
        names = tuple(
            f"Subscriber {chr(65 + i // 26)}{chr(65 + i % 26)} Nair" for i in range(MEMBERS)
        )
        phones = tuple(f"+9199{i:08d}" for i in range(MEMBERS))
        books = open_books(
            runtime.ctx, gross=40 * LAKH, periods=tuple(range(1, PERIODS + 1)), names=names,
            phones=phones,
        )  # fmt: skip
        dues = [d for m in books.members for d in runtime.services.statements.candidates(m)]
    finally:
        runtime.close()
    statement = data.parent / "november.csv"
    rows = [payment_row(due, date(2026, 11, 21), n) for n, due in enumerate(dues)]
    statement.write_bytes(to_csv(rows))
    return data, statement


@pytest.fixture
def copy(office: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    import shutil

    data, statement = office
    shutil.copytree(data, tmp_path / "data")
    return tmp_path / "data", statement


def count(data: Path, collection: str, **where: object) -> int:
    runtime = build(config.load(environ={}, data_dir=data))
    try:
        query = Query(collection)
        for field, value in where.items():
            query = query.where(field, "==", value)
        return runtime.ctx.store.count(query)
    finally:
        runtime.close()


def test_the_command_imports_prints_the_summary_and_a_rerun_records_nothing(
    copy: tuple[Path, Path],
) -> None:
    data, statement = copy
    done = tfos(data, "collections", "import", str(statement), "--staff", "asha")
    assert done.returncode == 0, done.stderr
    assert f"{MEMBERS * PERIODS} transactions" in done.stdout
    assert "Matched" in done.stdout and "Needs a person" not in done.stdout
    assert "Recorded 800 receipts (₹6,00,00,000.00)" in done.stdout
    assert "recorded 800 of 800 lines" in done.stderr
    again = tfos(data, "collections", "import", str(statement), "--staff", "asha")
    assert again.returncode == 0, again.stderr
    assert "Already recorded" in again.stdout and "Recorded 0 receipts" in again.stdout
    assert "imported before: 800 receipts" in again.stdout
    assert count(data, "receipts") == 800
    assert count(data, "dues", status="due") == 0
    assert tfos(data, "ledger", "check").returncode == 0
    assert tfos(data, "wal", "verify").returncode == 0


def test_a_dry_run_records_nothing_and_says_what_needs_a_person(
    copy: tuple[Path, Path], tmp_path: Path
) -> None:
    data, statement = copy
    odd = tmp_path / "odd.csv"
    lines = statement.read_text().splitlines()
    odd.write_text("\n".join([*lines[:8], lines[8].replace("75000.00", "74000.00")]) + "\n")
    done = tfos(data, "collections", "import", str(odd), "--dry-run")
    assert done.returncode == 1, done.stderr
    assert "Wrong amount" in done.stdout and "Needs a person (1):" in done.stdout
    assert "row 9" in done.stdout
    assert count(data, "receipts") == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--staff", "asha", "--chunk", "0"), "--chunk 0"),
        ((), "--staff USER"),
    ],
)
def test_bad_use_is_refused_in_one_line(
    copy: tuple[Path, Path], args: tuple[str, ...], message: str
) -> None:
    data, statement = copy
    done = tfos(data, "collections", "import", str(statement), *args)
    assert done.returncode == 2 and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_wrong_password_records_nothing(copy: tuple[Path, Path]) -> None:
    data, statement = copy
    done = tfos(data, "collections", "import", str(statement), "--staff", "asha", password="nope")
    assert done.returncode == 2 and "password" in done.stderr.lower()
    assert count(data, "receipts") == 0


def test_a_file_that_is_not_a_statement_is_refused(copy: tuple[Path, Path], tmp_path: Path) -> None:
    data, _ = copy
    bad = tmp_path / "members.csv"
    bad.write_text("Name,Phone\nAsha,98123\n")
    done = tfos(data, "collections", "import", str(bad), "--dry-run")
    assert done.returncode == 2 and "has no statement table" in done.stderr


def test_killed_midway_nothing_committed_is_lost_and_the_rerun_records_nothing_twice(
    copy: tuple[Path, Path],
) -> None:
    data, statement = copy
    child = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "tests" / "statement_child.py"),
            str(data),
            str(statement),
            "20",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert child.stdout is not None
    acknowledged = 0
    for line in child.stdout:
        if line.startswith("done "):
            acknowledged = int(line.split()[1])
            if acknowledged >= 200:
                break
    child.send_signal(signal.SIGKILL)
    child.wait(30)
    child.stdout.close()
    assert 200 <= acknowledged < 800, "the import finished before it could be killed"
    recorded = count(data, "receipts")
    assert recorded >= acknowledged and recorded % 20 == 0  # whole chunks, none half-applied
    assert recorded < 800
    done = tfos(data, "collections", "import", str(statement), "--staff", "asha")
    assert done.returncode == 0, done.stderr
    assert f"Recorded {800 - recorded} receipts" in done.stdout
    assert "; 0 were already recorded;" in done.stdout  # the preview saw them recorded
    assert count(data, "receipts") == 800 and count(data, "dues", status="due") == 0
    assert tfos(data, "ledger", "check").returncode == 0
    verify = tfos(data, "wal", "verify")
    assert verify.returncode == 0, verify.stdout
