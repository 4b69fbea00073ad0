"""PiiVault: sealing PAN/account numbers, Aadhaar tokens, the key file."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from app.kernel.errors import KnownError, StorageError, ValidationError
from app.services.pii import KEY_BYTES, PiiVault

ROOT = Path(__file__).resolve().parents[1]
AADHAAR = "521185133376"
OTHER_AADHAAR = "234123412346"


@pytest.fixture
def vault(data_dir: Path) -> PiiVault:
    return PiiVault(data_dir / "keys" / "pii.key")


def test_round_trip_and_fresh_nonce(vault: PiiVault) -> None:
    first, second = vault.seal("ABCPE1234F"), vault.seal("ABCPE1234F")
    assert first != second
    assert "ABCPE1234F" not in first
    assert vault.unseal(first) == vault.unseal(second) == "ABCPE1234F"
    assert vault.unseal(vault.seal("")) == ""
    assert vault.unseal(vault.seal("खाता ১২৩")) == "खाता ১২৩"


def test_key_file_created_lazily_private_and_reused(data_dir: Path) -> None:
    key_path = data_dir / "keys" / "pii.key"
    vault = PiiVault(key_path)
    assert not key_path.exists()
    token = vault.seal("123456781234")
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert len(key_path.read_bytes()) == KEY_BYTES
    assert [p.name for p in key_path.parent.iterdir()] == ["pii.key"]
    again = PiiVault(key_path)
    assert again.key_id == vault.key_id
    assert again.unseal(token) == "123456781234"


def test_wrong_key_fails_cleanly(tmp_path: Path) -> None:
    token = PiiVault(tmp_path / "a.key").seal("ABCPE1234F")
    other = PiiVault(tmp_path / "b.key")
    with pytest.raises(StorageError) as info:
        other.unseal(token)
    assert "sealed with another key" in info.value.message
    assert other.key_id in info.value.message
    assert "key file" in info.value.hint


def test_altered_value_fails_cleanly(vault: PiiVault) -> None:
    token = vault.seal("ABCPE1234F")
    head, body = token.rsplit(".", 1)
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    with pytest.raises(StorageError, match="damaged or was altered"):
        vault.unseal(f"{head}.{flipped}")


def test_context_binds_the_field(vault: PiiVault) -> None:
    token = vault.seal("ABCPE1234F", context="pan")
    assert vault.unseal(token, context="pan") == "ABCPE1234F"
    with pytest.raises(StorageError):
        vault.unseal(token, context="account")


@pytest.mark.parametrize("token", ["", "ABCPE1234F", "v2.abcd.xyz", "v1.abcd.!!!", "v1.abcd.AAAA"])
def test_malformed_token_is_a_validation_error(vault: PiiVault, token: str) -> None:
    with pytest.raises(ValidationError, match="not a sealed personal value"):
        vault.unseal(token)


def test_key_readable_by_others_is_refused(data_dir: Path) -> None:
    key_path = data_dir / "pii.key"
    PiiVault(key_path).seal("x")
    os.chmod(key_path, 0o644)
    with pytest.raises(StorageError) as info:
        PiiVault(key_path).seal("x")
    assert "readable by other users" in info.value.message
    assert "chmod 600" in info.value.hint


def test_damaged_key_is_refused(data_dir: Path) -> None:
    key_path = data_dir / "pii.key"
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"short")
    os.close(fd)
    with pytest.raises(KnownError, match="damaged"):
        PiiVault(key_path).seal("x")


def test_aadhaar_token_stable_distinct_and_keyed(tmp_path: Path) -> None:
    vault = PiiVault(tmp_path / "a.key")
    token = vault.aadhaar_token(AADHAAR)
    assert len(token) == 64
    assert AADHAAR not in token
    assert vault.aadhaar_token("5211 8513 3376") == token
    assert PiiVault(tmp_path / "a.key").aadhaar_token("5211-8513-3376") == token
    assert vault.aadhaar_token(OTHER_AADHAAR) != token
    assert PiiVault(tmp_path / "b.key").aadhaar_token(AADHAAR) != token


def test_aadhaar_token_refuses_an_invalid_number(vault: PiiVault) -> None:
    with pytest.raises(ValidationError, match="check digit"):
        vault.aadhaar_token("521185133377")


def test_pan_token_stable_keyed_and_apart_from_aadhaar_tokens(tmp_path: Path) -> None:
    vault = PiiVault(tmp_path / "a.key")
    token = vault.pan_token("ABCPD1234E")
    assert len(token) == 64 and "1234" not in token
    assert vault.pan_token(" abcpd 1234e ") == token
    assert PiiVault(tmp_path / "a.key").pan_token("ABCPD1234E") == token
    assert vault.pan_token("ABCPD1235E") != token
    assert PiiVault(tmp_path / "b.key").pan_token("ABCPD1234E") != token
    assert token != vault.aadhaar_token(AADHAAR)
    with pytest.raises(ValidationError, match="individual PAN"):
        vault.pan_token("ABCCD1234E")


def test_processes_racing_to_create_the_key_agree(data_dir: Path) -> None:
    key_path = data_dir / "race" / "pii.key"
    code = (
        "import sys; from pathlib import Path; from app.services.pii import PiiVault; "
        "print(PiiVault(Path(sys.argv[1])).key_id)"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(key_path)], stdout=subprocess.PIPE, text=True, env=env
        )
        for _ in range(4)
    ]
    ids = {proc.communicate(timeout=60)[0].strip() for proc in procs}
    assert all(proc.returncode == 0 for proc in procs)
    assert ids == {PiiVault(key_path).key_id}
    assert [p.name for p in key_path.parent.iterdir()] == ["pii.key"]
