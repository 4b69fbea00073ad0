"""The tfos command line on a real data directory."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.cli import tfos
from tests.dates import misdated


def test_demo_data_then_kpis_ledger_and_wal_checks(data_dir: Path) -> None:
    made = tfos(data_dir, "demo-data", "--groups", "2", "--members", "6", "--months", "3")
    assert made.returncode == 0, made.stderr
    assert "the ledger balances" in made.stdout
    assert "admin" in made.stdout and "password" in made.stdout

    kpis = tfos(data_dir, "kpis", "--json")
    assert kpis.returncode == 0, kpis.stderr
    figures = json.loads(kpis.stdout)
    assert figures["active_members"] > 0

    check = tfos(data_dir, "ledger", "check")
    assert check.returncode == 0, check.stdout + check.stderr

    verify = tfos(data_dir, "wal", "verify")
    assert verify.returncode == 0
    assert json.loads(verify.stdout)["ok"] is True

    again = tfos(data_dir, "demo-data", "--groups", "2", "--members", "6", "--months", "3")
    assert again.returncode == 2
    assert "error:" in again.stderr


def test_wal_verify_names_a_damaged_record(data_dir: Path) -> None:
    assert tfos(data_dir, "demo-data", "--groups", "1", "--members", "4", "--months", "2")
    log = data_dir / "wal" / "wal.log"
    lines = log.read_bytes().splitlines(keepends=True)
    middle = len(lines) // 2
    damaged = bytearray(lines[middle])
    damaged[80] ^= 0x01
    lines[middle] = bytes(damaged)
    log.write_bytes(b"".join(lines))
    verify = tfos(data_dir, "wal", "verify")
    assert verify.returncode == 1
    broken = json.loads(verify.stdout)["broken"]
    assert [b["lsn"] for b in broken] == [middle + 1]


def test_settings_flags_work_before_and_after_the_subcommand(data_dir: Path) -> None:
    made = tfos(data_dir, "demo-data", "--groups", "1", "--members", "4", "--months", "1")
    assert made.returncode == 0, made.stderr
    elsewhere = data_dir.parent / "nothing-here"
    after = tfos(elsewhere, "wal", "verify", "--data-dir", str(data_dir))
    assert after.returncode == 0, after.stderr
    entries = json.loads(after.stdout)["entries"]
    assert entries > 0
    before = tfos(elsewhere, "--data-dir", str(data_dir), "wal", "stats")
    assert json.loads(before.stdout)["entries"] == entries
    # The flag nearest the command wins over the one before it and over the environment.
    both = tfos(
        data_dir, "--data-dir", str(data_dir), "wal", "verify", "--data-dir", str(elsewhere)
    )
    assert both.returncode == 2 and f"{elsewhere} is not a TransactFlowOS data" in both.stderr
    kpis = tfos(elsewhere, "kpis", "--json", "--data-dir", str(data_dir))
    assert kpis.returncode == 0 and "default_rate" in kpis.stdout


def test_command_line_output_writes_dates_one_way(data_dir: Path) -> None:
    made = tfos(data_dir, "demo-data", "--groups", "1", "--members", "4", "--months", "2")
    assert made.returncode == 0, made.stderr
    kpis = tfos(data_dir, "kpis")
    dubai = tfos(data_dir, "--time-zone", "Asia/Dubai", "kpis")
    for output in (made.stdout, made.stderr, kpis.stdout, dubai.stdout):
        assert not misdated(output), misdated(output)
    assert re.search(r"to \d\d [A-Z][a-z]{2} \d{4}\.", made.stdout)
    assert re.match(r"KPIs as of \d\d [A-Z][a-z]{2} \d{4}\n", kpis.stdout)
    wrong = tfos(data_dir, "--time-zone", "Asia/Bombay Duck", "kpis")
    assert wrong.returncode == 2 and "is not a time zone" in wrong.stderr
