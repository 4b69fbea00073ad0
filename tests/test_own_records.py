"""Which records are a member's own (what their browser proves is in the log): found in
the log by member, kept up as the log grows, read again when it is cut back or rewritten."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from app import config
from app.bootstrap import Runtime, build
from app.kernel.wal import GENESIS, Record
from app.kernel.wal_format import record_hash
from app.services.actors import Actor
from app.services.own_records import OwnRecords, member_of, read_lines
from tests.browser.world import STAFF, World, own_history, populate


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    rt = build(config.load(environ={}, data_dir=tmp_path / "data"))
    yield rt
    rt.close()


@pytest.fixture
def world(runtime: Runtime) -> World:
    return populate(runtime)


def test_a_members_receipts_bids_and_signatures_are_theirs_and_nobody_elses(
    runtime: Runtime, world: World
) -> None:
    lsns = own_history(runtime, world)
    asha, bala, chitra = world.members
    own = runtime.services.proofs.own
    assert own.of(asha) == sorted(lsns.values())
    assert own.of(bala) == own.of(chitra) == []
    assert own.of("") == own.of("nobody") == []
    records = runtime.services.proofs.own_records(asha)
    assert [(r.lsn, r.action) for r in records] == sorted((v, k) for k, v in lsns.items())
    lines = dict(read_lines(runtime.pipeline.wal.path, [lsns["agreement.sign"], 10_000]))
    assert list(lines) == [lsns["agreement.sign"]]  # a record the log lacks is skipped
    assert member_of(lines[lsns["agreement.sign"]]) == asha


def test_the_index_follows_the_log_as_it_grows(runtime: Runtime, world: World) -> None:
    own = runtime.services.proofs.own
    asha, bala = world.members[:2]
    assert own.of(bala) == []
    lsns = own_history(runtime, world)  # after the index read the log once
    assert own.of(asha) == sorted(lsns.values())
    text = runtime.services.agreements.text(world.group_id)
    runtime.services.agreements.sign(
        Actor(bala, "Bala Rao", "member"), world.group_id, bala, text.sha256
    )
    assert own.of(bala) == [runtime.pipeline.wal.head()[0]]


def test_a_bid_staff_place_for_a_member_is_not_the_members_own(
    runtime: Runtime, world: World
) -> None:
    from tests.browser.world import open_auction

    auction = open_auction(runtime, world)
    floor = runtime.services.auctions.room(world.group_id, auction.id).terms.floor
    runtime.services.auctions.bid(STAFF, auction.id, world.members[1], floor, reason="by phone")
    line = runtime.pipeline.wal.path.read_bytes().split(b"\n")[-2]
    assert b'"action":"auction.bid"' in line and member_of(line) is None
    assert runtime.services.proofs.own.of(world.members[1]) == []


def reattribute(log: Path, lsn: int, member_id: str) -> None:
    """Rewrite record ``lsn`` as made by another member, chain recomputed after it."""
    prev, out = GENESIS, []
    for line in log.read_bytes().splitlines(keepends=True):
        record = Record.parse(line)
        if record.lsn == lsn:
            record = replace(record, actor={**record.actor, "id": member_id})
        record = replace(record, prev=prev)
        record = replace(record, hash=record_hash(prev.encode(), record.body))
        out.append(record.line)
        prev = record.hash
    log.write_bytes(b"".join(out))


def test_a_log_cut_back_or_rewritten_is_read_again(
    runtime: Runtime, world: World, tmp_path: Path
) -> None:
    lsns = own_history(runtime, world)
    asha, bala = world.members[:2]
    copy = tmp_path / "copy.log"
    shutil.copy(runtime.pipeline.wal.path, copy)
    own = OwnRecords(copy)
    assert own.of(asha) == sorted(lsns.values())
    whole = copy.read_bytes()
    lines = whole.split(b"\n")[:-1]
    copy.write_bytes(b"".join(line + b"\n" for line in lines[: lsns["receipt.record"] - 1]))
    assert own.of(asha) == [lsns["auction.bid"]]  # an older backup
    copy.write_bytes(whole)
    reattribute(copy, lsns["auction.bid"], bala)  # the bid, now Bala's, and every later line
    assert own.of(asha) == [lsns["receipt.record"], lsns["agreement.sign"]]
    assert own.of(bala) == [lsns["auction.bid"]]
    copy.unlink()
    assert own.of(asha) == []
