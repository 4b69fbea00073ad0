"""`tfos audit` as real processes on a real data directory: the key, checkpoints and
proofs check out against the log file itself; a saved checkpoint catches issue 12's
rewrite that the hash chain cannot; a witness cosigns only a log that extends what it
cosigned before."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from app import config
from app.bootstrap import build
from app.kernel.checkpoints import Checkpoint, SignedCheckpoint
from app.kernel.log_tree import tree_path
from app.kernel.merkle import leaf_hash, root_of
from app.kernel.signed_note import Verifier
from app.kernel.tlog import check_consistency, check_inclusion
from tests.cli import tfos
from tests.server.wsutil import add_note
from tests.test_tlog import rewrite


@pytest.fixture
def office(data_dir: Path) -> Path:
    made = tfos(data_dir, "demo-data", "--groups", "1", "--members", "4", "--months", "2")
    assert made.returncode == 0, made.stderr
    return data_dir


def log_lines(data_dir: Path) -> list[bytes]:
    return (data_dir / "wal" / "wal.log").read_bytes().split(b"\n")[:-1]


def mth(lines: list[bytes]) -> bytes:
    return root_of([leaf_hash(line) for line in lines])


def add_records(data_dir: Path, count: int) -> None:
    runtime = build(config.load(environ={}, data_dir=data_dir))
    try:
        for n in range(count):
            add_note(runtime, f"later-{n}", "a later record")
    finally:
        runtime.close()


def attack(data_dir: Path, lsn: int) -> None:
    """Issue 12's rewrite, cleaned up as an attacker would: one reason changed, every
    later hash recomputed, the tree and every checkpoint file rebuilt or removed."""
    log = data_dir / "wal" / "wal.log"
    rewrite(log, lsn, "adjusted")
    tree_path(log).unlink()
    (data_dir / "checkpoints" / "latest").unlink()
    for note in (data_dir / "checkpoints" / "cosigned").glob("*.note"):
        note.unlink()
    verify = tfos(data_dir, "wal", "verify")
    assert verify.returncode == 0, verify.stdout  # the hash chain alone cannot tell


def test_the_key_checkpoint_and_proofs_check_out_against_the_log_file(
    office: Path, tmp_path: Path
) -> None:
    vkey = tfos(office, "audit", "pubkey")
    assert vkey.returncode == 0, vkey.stderr
    verifier = Verifier.parse(vkey.stdout.strip())
    assert verifier.name.startswith("transactflowos/")
    note = tfos(office, "audit", "checkpoint").stdout
    checkpoint = SignedCheckpoint.open(note, verifier).checkpoint
    lines = log_lines(office)
    assert checkpoint.size == len(lines) and checkpoint.root == mth(lines)

    size = str(checkpoint.size)
    proof = json.loads(tfos(office, "audit", "prove", "--lsn", "3", "--size", size).stdout)
    assert set(proof) == {"lsn", "size", "leaf_hash", "proof"}
    check_inclusion(proof, checkpoint, lines[2])
    last = json.loads(tfos(office, "audit", "prove", "--lsn", size).stdout)
    check_inclusion(last, checkpoint, lines[-1])
    consistency = json.loads(tfos(office, "audit", "consistency", "--from", "5").stdout)
    assert (consistency["from"], consistency["to"]) == (5, checkpoint.size)
    check_consistency(consistency, Checkpoint(checkpoint.origin, 5, mth(lines[:5])), checkpoint)

    saved = tmp_path / "checkpoint.note"
    saved.write_text(note)
    add_records(office, 3)
    check = tfos(office, "audit", "check", str(saved))
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"The log's first {size} records still have root" in check.stdout


def test_check_exits_1_on_the_rewrite_the_hash_chain_cannot_see(
    office: Path, tmp_path: Path
) -> None:
    saved = tmp_path / "checkpoint.note"
    saved.write_text(tfos(office, "audit", "checkpoint").stdout)
    before = mth(log_lines(office))
    attack(office, 7)
    check = tfos(office, "audit", "check", str(saved))
    assert check.returncode == 1, check.stdout + check.stderr
    size = len(log_lines(office))
    assert check.stdout.startswith(
        f"The log's first {size} records have root {mth(log_lines(office)).hex()}, the "
        f"checkpoint says {before.hex()}: at least one of them was changed after the "
        "checkpoint was signed."
    )
    forged = tmp_path / "forged.note"
    forged.write_text(saved.read_text().replace(f"\n{size}\n", f"\n{size - 1}\n"))
    assert "does not verify" in tfos(office, "audit", "check", str(forged)).stdout
    missing = tfos(office, "audit", "check", str(tmp_path / "nothing.note"))
    assert missing.returncode == 2 and "Cannot read the checkpoint" in missing.stderr


def test_a_witness_cosigns_only_a_log_that_extends_what_it_cosigned(
    office: Path, tmp_path: Path
) -> None:
    key = tmp_path / "asha.key"
    state = tmp_path / "asha.key.checkpoint"
    args = ("audit", "witness", "--key", str(key))
    made = tfos(office, *args, "--new-key", "--name", "auditor.example/asha")
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 == stat.S_IMODE(state.stat().st_mode)
    witness = Verifier.parse(made.stdout.splitlines()[1])
    assert witness.name == "auditor.example/asha"
    first = len(log_lines(office))
    assert "the first checkpoint this key cosigned for this log" in made.stdout
    kept = list((office / "checkpoints" / "cosigned").glob("*.note"))
    assert len(kept) == 1 and "\u2014 auditor.example/asha " in kept[0].read_text()

    add_records(office, 4)
    again = tfos(office, *args)
    assert again.returncode == 0, again.stderr
    assert f"size {first + 4}" in again.stdout
    assert f"it extends the checkpoint you cosigned before (size {first})" in again.stdout
    seen = state.read_text()

    attack(office, 5)
    refused = tfos(office, *args)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert f"does not extend the checkpoint you cosigned last (size {first + 4})" in (
        refused.stderr
    )
    assert "Nothing was cosigned." in refused.stderr
    assert state.read_text() == seen
    assert not list((office / "checkpoints" / "cosigned").glob("*.note"))

    again = tfos(office, *args, "--new-key")
    assert again.returncode == 2 and "exists already" in again.stderr
    named = tfos(office, *args, "--name", "x")
    assert named.returncode == 2 and "goes with --new-key" in named.stderr
    key.chmod(0o644)
    exposed = tfos(office, *args)
    assert exposed.returncode == 2 and "can be read by other users" in exposed.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("prove", "--lsn", "abc"), "lsn must be a whole number, not 'abc'."),
        (("prove", "--lsn", "0"), "lsn must be 1 or more, not 0."),
        (("prove", "--lsn", "99999"), "Record 99999 is not in a tree of"),
        (("consistency", "--from", "9", "--to", "5"), "got 9 to 5"),
    ],
)
def test_bad_arguments_say_what_is_wrong(office: Path, args: tuple[str, ...], message: str) -> None:
    out = tfos(office, "audit", *args)
    assert out.returncode == 2 and message in out.stderr and not out.stdout


def test_audit_commands_refuse_a_folder_without_a_log(tmp_path: Path) -> None:
    nothing = tmp_path / "mistyped"
    for args in (
        ("pubkey",),
        ("checkpoint",),
        ("prove", "--lsn", "1"),
        ("consistency", "--from", "1"),
        ("witness", "--key", str(tmp_path / "w.key"), "--new-key"),
    ):
        out = tfos(nothing, "audit", *args)
        assert out.returncode == 2 and "is not a TransactFlowOS data directory" in out.stderr
    assert not nothing.exists() and not (tmp_path / "w.key").exists()
