"""Durable-file helpers: private key files, atomic replace; KYC keeps files a WAL record names."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.kernel.errors import StorageError, ValidationError
from app.kernel.files import fsync_dir, load_or_create_key, write_durably
from app.services.context import ServiceContext
from app.services.kyc import KycService
from app.services.members import MemberService
from app.services.otp import load_key
from tests.builders import AADHAAR, ACCOUNT, ADMIN, EMPLOYEE, PAN, PDF, PNG

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


@posix_only
def test_key_created_private_reused_and_no_temp_left(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "a.key"
    key = load_or_create_key(path, "test key", 24)
    assert len(key) == 24
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["a.key"]
    assert load_or_create_key(path, "test key", 24) == key


@posix_only
@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_open_key_is_refused_with_what_to_do(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "a.key"
    load_or_create_key(path, "test key")
    os.chmod(path, mode)
    with pytest.raises(StorageError) as info:
        load_or_create_key(path, "test key")
    assert "test key" in info.value.message
    assert "readable by other users" in info.value.message
    assert f"chmod 600 {path}" in info.value.hint


def test_key_of_wrong_length_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"short")
    os.close(fd)
    with pytest.raises(StorageError, match=r"damaged \(5 bytes, expected 32\)") as info:
        load_or_create_key(path, "test key", damaged_hint="Do this.")
    assert info.value.hint == "Do this."


@posix_only
def test_otp_key_now_checks_the_mode(tmp_path: Path) -> None:
    path = tmp_path / "otp.key"
    load_key(path)
    os.chmod(path, 0o644)
    with pytest.raises(StorageError, match=r"sign-in code key .* readable by other users"):
        load_key(path)


_RACE = """
import sys
from pathlib import Path
from app.kernel.files import load_or_create_key
sys.stdin.readline()
print(load_or_create_key(Path(sys.argv[1]), "race key").hex())
"""


def test_processes_creating_at_once_agree_on_one_key(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "race.key"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RACE, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(4)
    ]
    outputs = [p.communicate("go\n", timeout=60)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert len(set(outputs)) == 1
    assert bytes.fromhex(outputs[0]) == path.read_bytes()
    assert [p.name for p in path.parent.iterdir()] == ["race.key"]


def test_write_durably_replaces_whole_and_leaves_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "doc.bin"
    write_durably(path, b"old")
    write_durably(path, b"new contents")
    assert path.read_bytes() == b"new contents"
    assert [p.name for p in tmp_path.iterdir()] == ["doc.bin"]
    fsync_dir(tmp_path)


def test_write_durably_into_a_missing_folder_fails_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_durably(tmp_path / "missing" / "doc.bin", b"x")
    assert list(tmp_path.iterdir()) == []


# -- KYC: which failures remove the newly stored documents ------------------------------


def _submit(ctx: ServiceContext, member_id: str, **changes: Any) -> Any:
    fields: dict[str, Any] = {
        "name": "Lakshmi Devi",
        "phone": "9876543210",
        "pan": PAN,
        "aadhaar": AADHAAR,
        "account_number": ACCOUNT,
        "ifsc": "SBIN0001234",
        "documents": [("pan.png", PNG, "image/png"), ("aadhaar.pdf", PDF, "application/pdf")],
    }
    fields.update(changes)
    return KycService(ctx).submit(EMPLOYEE, member_id, **fields)


def _documents(ctx: ServiceContext, member_id: str) -> list[str]:
    folder = ctx.documents_dir / member_id
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_kyc_keeps_documents_when_the_wal_record_is_saved_but_not_applied(
    ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    mid = MemberService(ctx).enroll(ADMIN, "Lakshmi Devi", "9876543210").id

    def disk_failed(*args: Any, **kwargs: Any) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(ctx.store, "commit", disk_failed)
    with pytest.raises(StorageError, match="saved in the write-ahead log"):
        _submit(ctx, mid)
    monkeypatch.undo()
    assert len(_documents(ctx, mid)) == 2
    MemberService(ctx).enroll(ADMIN, "Ravi Kumar", "9876500000")  # the next write replays
    assert KycService(ctx).get(mid).status == "pending"
    checks = KycService(ctx).verify_documents(mid)
    assert len(checks) == 2
    assert all(c.actual_sha256 == c.expected_sha256 for c in checks)


def test_kyc_removes_documents_when_the_commit_is_refused(
    ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    mid = MemberService(ctx).enroll(ADMIN, "Lakshmi Devi", "9876543210").id

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise ValidationError("refused before the WAL append")

    monkeypatch.setattr(KycService, "_submit_work", refuse)
    with pytest.raises(ValidationError):
        _submit(ctx, mid)
    assert _documents(ctx, mid) == []
