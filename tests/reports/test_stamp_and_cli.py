"""The log head a report is stamped with, and ``tfos report`` on a real data directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.kernel.errors import StorageError
from app.services.members import MemberService
from app.services.reports import Request, render_report
from app.services.reports.stamp import GENESIS, log_head, snapshot
from tests.builders import EMPLOYEE
from tests.cli import ROOT, tfos
from tests.reports.conftest import FIRM, Demo
from tests.reports.pdfcheck import page_texts, text


def test_an_empty_log_has_the_genesis_head(ctx) -> None:  # type: ignore[no-untyped-def]
    head = log_head(ctx)
    assert (head.lsn, head.hash, head.at, head.at_ist) == (0, GENESIS, None, "no records yet")


def test_a_commit_during_the_read_makes_it_read_again(ctx) -> None:  # type: ignore[no-untyped-def]
    members = MemberService(ctx)
    reads: list[int] = []

    def read() -> int:
        reads.append(1)
        if len(reads) == 1:
            members.enroll(EMPLOYEE, "Late Arrival", "9000000001")
        return members.count()

    value, head = snapshot(ctx, read)
    assert (len(reads), value, head.lsn) == (2, 1, 1)
    record = next(iter(ctx.pipeline.wal.read(1, 1)))
    assert head.hash == record.hash


def test_a_log_that_never_stops_moving_is_refused(ctx) -> None:  # type: ignore[no-untyped-def]
    members = MemberService(ctx)
    phones = iter(range(9000000100, 9000000200))

    def read() -> None:
        members.enroll(EMPLOYEE, "Busy Member", str(next(phones)))

    with pytest.raises(StorageError, match="kept moving"):
        snapshot(ctx, read)


def test_tfos_report_writes_a_pdf_and_refuses_bad_requests(tmp_path: Path) -> None:
    data = tmp_path / "data"
    made = tfos(data, "demo-data", "--groups", "1", "--members", "4", "--months", "2")
    assert made.returncode == 0, made.stderr
    out = tmp_path / "tb.pdf"
    ok = tfos(data, "report", "trial-balance", "--out", str(out), "--firm-name", "Kaveri Chits")
    assert ok.returncode == 0, ok.stderr
    assert "Trial balance" in ok.stdout and out.read_bytes().startswith(b"%PDF-")
    assert "Kaveri Chits" in text(out.read_bytes())
    for args, message in [
        (["payslips"], "error: There is no 'payslips' report"),
        (["member-statement"], "error: The member-statement report needs --member"),
        (["trial-balance", "--group", "x"], "error: The trial-balance report takes no --group"),
        (["collections-register", "--from", "1 Nov"], "error: --from: '1 Nov' is not a date"),
    ]:
        refused = tfos(data, "report", *args, "--out", str(tmp_path / "x.pdf"))
        assert refused.returncode == 2
        assert refused.stderr.startswith(message) and refused.stderr.count("\n") == 1
        assert "Traceback" not in refused.stderr
    assert not (tmp_path / "x.pdf").exists()
    bad_out = tfos(data, "report", "trial-balance", "--out", str(tmp_path / "no" / "x.pdf"))
    assert bad_out.returncode == 2 and "give a .pdf file in an existing folder" in bad_out.stderr
    nowhere = tfos(tmp_path / "empty", "report", "trial-balance", "--out", str(out))
    assert nowhere.returncode == 2 and "not a TransactFlowOS data directory" in nowhere.stderr
    assert not (tmp_path / "empty").exists()


class FakeSigning:
    """The log's signing side as the checkpoint work will provide it (a boundary fake)."""

    key = "tfos.example/log+1a2b3c4d+AQID"

    def __init__(self) -> None:
        self.asked: list[int] = []

    def public_key(self) -> str:
        return self.key

    def checkpoint(self, size: int) -> str | None:
        self.asked.append(size)
        return f"tfos.example/log\n{size}\nq2q2q2q2q2q2q2q2q2q2q2q2q2q2q2q2q2q2q2q2q2o=\n"


def test_the_logs_key_heads_every_page_and_its_checkpoint_ends_the_report(demo: Demo) -> None:
    signing = FakeSigning()
    request = Request("collections-register")
    rendered = render_report(demo.services, demo.ctx, request, FIRM, signing)
    pages = page_texts(rendered.pdf)
    assert len(pages) > 1 and all(f"Log key {signing.key}" in page for page in pages)
    assert signing.asked == [rendered.head.lsn]
    assert f"tfos.example/log\n{rendered.head.lsn}\n" in pages[-1]
    assert "Signed checkpoint of the log" in pages[-1]
    unsigned = render_report(demo.services, demo.ctx, request, FIRM)
    assert "Log key" not in text(unsigned.pdf)


def test_two_processes_write_the_same_bytes_whatever_their_hash_seed(tmp_path: Path) -> None:
    """The same log, printed by another process (each on its own copy of the data folder:
    an export adds its own record to the log), gives the same file."""
    data = tmp_path / "data"
    made = tfos(data, "demo-data", "--groups", "2", "--members", "6", "--months", "3")
    assert made.returncode == 0, made.stderr
    shutil.copytree(data, tmp_path / "copy")
    files = []
    for seed, folder in (("1", data), ("2", tmp_path / "copy")):
        out = tmp_path / f"register-{seed}.pdf"
        env = {k: v for k, v in os.environ.items() if not k.startswith("TFOS_")}
        env.update(PYTHONPATH=str(ROOT), TFOS_DATA_DIR=str(folder), PYTHONHASHSEED=seed)
        ran = subprocess.run(
            [sys.executable, "-m", "app.cli", "report", "collections-register", "--out", str(out)],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert ran.returncode == 0, ran.stderr
        files.append(out.read_bytes())
    assert files[0] == files[1]
