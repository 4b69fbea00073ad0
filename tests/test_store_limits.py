"""A durable record can always be applied: what a store cannot hold is refused by the
pipeline before the WAL append, with the same rules for every backend."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.kernel.errors import ValidationError
from app.kernel.wal import verify_file
from app.services.actors import Actor
from app.services.events import Event
from app.services.pipeline import ChangeSet, Pipeline, Reader
from app.services.store import Write, limits
from app.services.store.sqlite import SqliteStore
from tests.builders import close_pipeline as close
from tests.builders import open_pipeline

ALICE = Actor("u1", "Alice", "employee")


def nested(depth: int) -> dict[str, Any]:
    """A map whose deepest field sits at ``depth`` (a top-level field is at depth 1)."""
    value: Any = 1
    for _ in range(depth - 1):
        value = {"k": value}
    return {"k": value}


@pytest.fixture
def pipeline(data_dir: Path) -> Iterator[Pipeline]:
    p = open_pipeline(data_dir)
    yield p
    close(p)


@dataclass(frozen=True)
class DocNoted(Event):
    """An event whose payload is whatever a test puts in it."""

    ACTION, ENTITY = "doc.put", "doc"
    note: Any


def change(data: dict[str, Any], *, event: Any = None, **kw: Any) -> ChangeSet:
    noted = DocNoted(event) if event is not None else None
    return ChangeSet("doc.put", "doc", "d1", [Write("set", "docs", "d1", data)], event=noted, **kw)


UNSTORABLE: dict[str, Callable[[], tuple[Actor, ChangeSet]]] = {
    "NUL in a value": lambda: (ALICE, change({"purpose": "a\x00b"})),
    "lone surrogate in a value": lambda: (ALICE, change({"purpose": "x\ud800y"})),
    "lone surrogate in a key": lambda: (ALICE, change({"x\udfffy": 1})),
    "NUL in a nested list": lambda: (ALICE, change({"a": [{"b": ["ok", "\x00"]}]})),
    "reserved key": lambda: (ALICE, change({"__name__": 1})),
    "empty key": lambda: (ALICE, change({"": 1})),
    "key over 1,500 bytes": lambda: (ALICE, change({"é" * 751: 1})),
    "integer beyond 64 bits": lambda: (ALICE, change({"n": 2**63})),
    "negative integer beyond 64 bits": lambda: (ALICE, change({"n": -(2**63) - 1})),
    "NaN": lambda: (ALICE, change({"x": float("nan")})),
    "a set": lambda: (ALICE, change({"x": {1, 2}})),
    "a list in a list": lambda: (ALICE, change({"x": [[1]]})),
    "fields 20 deep (Firestore's 20 under the layout's d)": lambda: (ALICE, change(nested(20))),
    "a field path over 1,498 bytes": lambda: (ALICE, change({"a" * 749: {"b" * 749: 1}})),
    "a field path over 1,498 bytes through a list": lambda: (
        ALICE,
        change({"é" * 374: [{"b" * 750: 1}]}),
    ),
    "20,000 fields": lambda: (ALICE, change({f"f{i}": None for i in range(20_000)})),
    "40,000 index entries": lambda: (ALICE, change({"ids": list(range(40_000))})),
    "document over 1 MiB": lambda: (ALICE, change({"blob": "x" * limits.MAX_DOCUMENT_BYTES})),
    "NUL in the reason": lambda: (ALICE, change({}, reason="why\x00")),
    "surrogate in the reason": lambda: (ALICE, change({}, reason="\udc80")),
    "surrogate in the event": lambda: (ALICE, change({}, event={"note": "\ud83d"})),
    "integer beyond 64 bits in the event": lambda: (ALICE, change({}, event={"n": 2**64})),
    "NUL in the actor's name": lambda: (Actor("u1", "Al\x00ice", "employee"), change({})),
    "surrogate in the entity id": lambda: (
        ALICE,
        ChangeSet("doc.put", "doc", "d\ud800", [Write("set", "docs", "d1", {})]),
    ),
    "NUL in a document id": lambda: (
        ALICE,
        ChangeSet("doc.put", "doc", "d", [Write("set", "docs", "d\x00", {})]),
    ),
    "reserved document id": lambda: (
        ALICE,
        ChangeSet("doc.put", "doc", "d", [Write("set", "docs", "__x__", {})]),
    ),
    "update path 20 deep": lambda: (
        ALICE,
        ChangeSet(
            "doc.put", "doc", "d1", [Write("update", "docs", "d1", {".".join(["k"] * 20): 1})]
        ),
    ),
    "update path over 1,498 bytes": lambda: (
        ALICE,
        ChangeSet("doc.put", "doc", "d1", [Write("update", "docs", "d1", {"k" * 1_499: 1})]),
    ),
    "update value under a long path": lambda: (
        ALICE,
        ChangeSet(
            "doc.put", "doc", "d1", [Write("update", "docs", "d1", {"k" * 1_000: {"j" * 498: 1}})]
        ),
    ),
}


@pytest.mark.parametrize("case", sorted(UNSTORABLE))
def test_unstorable_change_is_refused_before_the_append(
    case: str, pipeline: Pipeline, data_dir: Path
) -> None:
    pipeline.commit(ALICE, change({"v": 1}))
    actor, bad = UNSTORABLE[case]()
    with pytest.raises(ValidationError) as refused:
        pipeline.transact(actor, lambda reader: bad)
    assert refused.value.code == "invalid"
    assert pipeline.wal.head()[0] == 1, "nothing may reach the WAL"
    assert pipeline.store.get("docs", "d1").data == {"v": 1}  # type: ignore[union-attr]
    pipeline.commit(ALICE, change({"v": 2}))  # writes go on
    close(pipeline)
    reopened = open_pipeline(data_dir)  # and the data directory opens
    try:
        assert reopened.store.get("docs", "d1").data == {"v": 2}  # type: ignore[union-attr]
        assert reopened.store.last_applied_lsn() == 2
    finally:
        close(reopened)
    assert verify_file(data_dir / "wal" / "wal.log").ok


def test_what_stores_can_hold_is_accepted(pipeline: Pipeline) -> None:
    data = {
        "names": ["आशा वर्मा", "محمد", "👨‍👩‍👧", "a\u200fb", "z" * 10_000],
        "bounds": [-(2**63), 2**63 - 1, 0.5],
        "deep": nested(18),  # its deepest field is at depth 19
        "a" * 748: {"b" * 749: 1},  # a field path of 1,498 bytes
        "many": {f"f{i}": i for i in range(10_000)},
        "ids": list(range(19_000)) + [0] * 5_000,  # 19,000 distinct elements
        "big": "x" * (limits.MAX_RECORD_BYTES - 400_000),
    }
    pipeline.commit(ALICE, change(data, reason="ok: ٱلرَّحِيم"))
    assert pipeline.store.get("docs", "d1").data == data  # type: ignore[union-attr]


def test_a_document_grown_past_1_mib_by_updates_is_refused(pipeline: Pipeline) -> None:
    half = "x" * (limits.MAX_DOCUMENT_BYTES // 2)
    pipeline.commit(ALICE, change({"a": half}))

    def grow(reader: Reader) -> ChangeSet:
        assert reader.get("docs", "d1") is not None
        return ChangeSet("doc.grow", "doc", "d1", [Write("update", "docs", "d1", {"b": half})])

    with pytest.raises(ValidationError, match="larger than 1 MiB"):
        pipeline.transact(ALICE, grow)
    with pytest.raises(ValidationError, match="larger than 1 MiB"):
        pipeline.commit(
            ALICE, ChangeSet("doc.grow", "doc", "d1", [Write("merge", "docs", "d1", {"b": half})])
        )
    assert pipeline.wal.head()[0] == 1


def test_a_document_keeps_room_for_the_firestore_layout(pipeline: Pipeline) -> None:
    """Firestore holds the data under ``tfos/store/...`` in a field ``d`` beside ``v``:
    a document within 1 MiB by its own size but not with those bytes is refused."""
    half = {"a": "x" * (limits.MAX_DOCUMENT_BYTES // 2)}
    pipeline.commit(ALICE, change(half))
    own_size = limits.document_size("docs", "d1", half)

    def grow_to(total: int) -> ChangeSet:
        more = "x" * (total - own_size - 3)  # a field "b": 2 bytes of name, text + 1
        assert limits.document_size("docs", "d1", {**half, "b": more}) == total
        return ChangeSet("doc.grow", "doc", "d1", [Write("update", "docs", "d1", {"b": more})])

    too_big = limits.MAX_DOCUMENT_BYTES - limits.LAYOUT_BYTES + 1
    with pytest.raises(ValidationError, match="larger than 1 MiB"):
        pipeline.commit(ALICE, grow_to(too_big))
    pipeline.commit(ALICE, grow_to(too_big - 1))
    grown = pipeline.store.get("docs", "d1")
    assert grown is not None
    size = limits.document_size("docs", "d1", grown.data)
    assert size == limits.MAX_DOCUMENT_BYTES - limits.LAYOUT_BYTES


def test_firestore_sizes_its_documents_this_way() -> None:
    # The worked example of https://firebase.google.com/docs/firestore/storage-size
    # (a top-level collection here, so its name is 6 + 11 + 16 bytes; 147 - 44 + 33 = 136).
    data = {
        "type": "Personal",
        "done": False,
        "priority": 1,
        "description": "Learn Cloud Firestore",
    }
    assert limits.fields_size(data) == 71
    assert limits.document_size("tasks", "my_task_id", data) == 6 + 11 + 16 + 71 + 32


def test_the_store_refuses_the_same_values_on_direct_writes(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "s.sqlite3") as store:
        for bad in ({"s": "x\ud800"}, {"__k__": 1}, {"x": [[1]]}, nested(21)):
            with pytest.raises(ValidationError):
                store.commit([Write("set", "c", "x", bad)])
        with pytest.raises(ValidationError):
            store.get("c", "x\x00")
        assert store.get("c", "x") is None


def test_a_document_stored_under_looser_rules_can_still_be_updated(
    pipeline: Pipeline, data_dir: Path
) -> None:
    """Older versions could store shapes the rules now refuse (a list in a list): an
    update of another field must not fail on them."""
    pipeline.commit(ALICE, change({"v": 1}))
    with sqlite3.connect(data_dir / "store.sqlite3") as conn:
        conn.execute("""UPDATE docs SET data = '{"pairs":[[1,2]],"v":1}' WHERE id = 'd1'""")
    conn.close()

    def bump(reader: Reader) -> ChangeSet:
        assert reader.get("docs", "d1") is not None
        return ChangeSet("doc.bump", "doc", "d1", [Write("update", "docs", "d1", {"v": 2})])

    pipeline.transact(ALICE, bump)
    assert pipeline.store.get("docs", "d1").data == {"pairs": [[1, 2]], "v": 2}  # type: ignore[union-attr]


def test_a_refusal_names_the_value_that_is_refused_not_an_earlier_one() -> None:
    """Ordinary integers and floats before the bad value are not blamed for it."""
    with pytest.raises(ValidationError, match=r"c/x\.big is an integer beyond 64 bits"):
        limits.check_value({"small": 1, "ratio": 0.5, "big": 2**70}, "c/x")
    with pytest.raises(ValidationError, match="key '' that is not a non-empty text"):
        limits.check_value({"d": 1, "": 2}, "c/x")


def test_a_key_or_path_checked_before_does_not_let_a_bad_value_through(
    pipeline: Pipeline,
) -> None:
    """Keys and field paths found storable are remembered; what sits under them is
    still checked on every change."""
    pipeline.commit(ALICE, change({"purpose": "rent", "nested": {"note": "ok"}}))
    for bad in ({"purpose": "a\x00b"}, {"purpose": "x\ud800"}, {"nested": {"note": "\x00"}}):
        with pytest.raises(ValidationError, match="cannot be stored"):
            pipeline.commit(ALICE, change(bad))

    def update(data: dict[str, Any]) -> ChangeSet:
        return ChangeSet("doc.put", "doc", "d1", [Write("update", "docs", "d1", data)])

    pipeline.commit(ALICE, update({"nested.note": "fine", "purpose": "rent"}))
    for bad in ({"nested.note": "\udfff"}, {"purpose": "a\x00"}, {"nested.note": [[1]]}):
        with pytest.raises(ValidationError, match="cannot be stored"):
            pipeline.commit(ALICE, update(bad))
    assert pipeline.wal.head()[0] == 2
    assert pipeline.store.get("docs", "d1").data == {  # type: ignore[union-attr]
        "purpose": "rent",
        "nested": {"note": "fine"},
    }


def test_the_keys_remembered_stay_bounded() -> None:
    for i in range(3 * limits._REMEMBER):
        limits.check_value({f"key-{i}": i, "k" * 1_000 + str(i): i}, "c/x")
        limits.check_write(Write("update", "c", "x", {f"a.b{i}": i}))
    assert len(limits._KEY_SIZES) <= limits._REMEMBER
    assert len(limits._PATHS) <= limits._REMEMBER
    assert all(len(key) <= limits._REMEMBER_LENGTH for key in limits._KEY_SIZES)
