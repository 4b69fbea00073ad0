"""The SQLite store: what only SQLite has (files, processes, indexes, SQL pushdown
agreeing with the Python matcher); the store contract runs in test_store_contract.py."""

from __future__ import annotations

import contextlib
import logging
import random
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from app.kernel.errors import StorageError, ValidationError
from app.services.store import matching, sqlite_sql
from app.services.store import sqlite as sqlite_module
from app.services.store.port import Change, Document, Query, Write
from app.services.store.sqlite import SqliteStore, storage_error
from tests.store_contract import Recorder, ids
from tests.store_queries import documents, queries

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "store.sqlite3")
    yield s
    s.close()


def _sql(store: SqliteStore, sql: str, *params: Any) -> list[Any]:
    with contextlib.closing(sqlite3.connect(store.path)) as conn:
        return conn.execute(sql, params).fetchall()


# -- the file -----------------------------------------------------------------------------


def test_file_is_wal_and_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "store.sqlite3"
    with SqliteStore(path) as s:
        s.commit([Write("set", "c", "x", {"a": [1, {"b": "₹"}]})], last_lsn=42)
    assert (tmp_path / "deep").is_dir()
    with SqliteStore(path) as s:
        assert s.get("c", "x") == Document("c", "x", {"a": [1, {"b": "₹"}]}, 1)
        assert s.last_applied_lsn() == 42
        assert s._writer.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert s._writer.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL


def test_changes_are_recorded_with_the_docs(store: SqliteStore) -> None:
    store.commit([Write("set", "c", "x", {}), Write("set", "c", "y", {})])
    store.commit([Write("update", "c", "x", {"a": 1}), Write("delete", "c", "y")])
    store.commit([Write("delete", "c", "never")])
    rows = _sql(store, "SELECT collection, id, kind FROM changes ORDER BY seq")
    assert rows == [
        ("c", "x", "created"),
        ("c", "y", "created"),
        ("c", "x", "updated"),
        ("c", "y", "deleted"),
    ]


def test_values_sqlite_cannot_hold_are_refused(store: SqliteStore) -> None:
    with pytest.raises(ValidationError, match="64 bits"):
        store.commit([Write("set", "c", "x", {"n": 2**63})])
    with pytest.raises(ValidationError, match="NUL"):
        store.commit([Write("set", "c", "x", {"s": "a\x00b"})])
    store.commit([Write("set", "c", "x", {"n": 2**63 - 1})])
    assert store.query(Query("c").where("n", "==", 2**63 - 1))[0].data == {"n": 2**63 - 1}


def test_stream_reads_one_snapshot_while_writes_go_on(store: SqliteStore) -> None:
    store.commit([Write("set", "c", f"{i:03}", {"i": i}) for i in range(600)])
    stream = store.stream(Query("c").order_by("i"))
    first = next(stream)
    store.commit([Write("delete", "c", f"{i:03}") for i in range(300, 600)])  # not blocked
    assert store.count(Query("c")) == 300
    rest = list(stream)
    assert first.id == "000" and len(rest) == 599


def test_closed_store_refuses_work_and_stops_its_thread(tmp_path: Path) -> None:
    s = SqliteStore(tmp_path / "s.sqlite3")
    rec = Recorder()
    s.on_snapshot("c", rec)
    assert rec.next() == []
    thread = s._dispatcher._thread
    s.close()
    assert thread is not None and not thread.is_alive()
    with pytest.raises(StorageError, match="closed"):
        s.commit([Write("set", "c", "x", {})])
    s.close()


# -- disk errors --------------------------------------------------------------------------


def test_write_lock_held_too_long_is_a_storage_error(tmp_path: Path) -> None:
    s = SqliteStore(tmp_path / "s.sqlite3", busy_timeout=0.2)
    other = sqlite3.connect(s.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StorageError, match="locked by another process") as err:
            s.commit([Write("set", "c", "x", {})])
        assert "try again" in err.value.hint
    finally:
        other.execute("ROLLBACK")
        other.close()
    s.commit([Write("set", "c", "x", {})])
    assert s.get("c", "x") is not None
    s.close()


def test_full_disk_is_a_storage_error_and_saves_nothing(store: SqliteStore) -> None:
    store.commit([Write("set", "c", "x", {"a": 1})])
    pages = store._writer.execute("PRAGMA page_count").fetchone()[0]
    store._writer.execute(f"PRAGMA max_page_count = {pages}")  # a real SQLITE_FULL
    big = [Write("set", "c", f"b{i}", {"blob": "x" * 4000}) for i in range(50)]
    with pytest.raises(StorageError, match="full") as err:
        store.commit([Write("update", "c", "x", {"a": 2}), *big])
    assert "Free some disk space" in err.value.hint
    assert store.get("c", "x") == Document("c", "x", {"a": 1}, 1)
    assert store.count(Query("c")) == 1


def test_read_only_file_error_is_explained(store: SqliteStore) -> None:
    ro = sqlite3.connect(f"file:{store.path}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError) as raw:
        ro.execute("DELETE FROM docs")
    ro.close()
    known = storage_error(raw.value, store.path, 5.0)
    assert known is not None and "read-only" in known.message
    assert storage_error(sqlite3.OperationalError("near x: syntax error"), store.path, 5) is None


# -- indexes and big collections ----------------------------------------------------------


def test_indexes_are_created_once_per_queried_field(store: SqliteStore) -> None:
    store.commit([Write("set", "loans", str(i), {"s": f"s{i % 20}", "amt": i}) for i in range(400)])
    q = Query("loans").where("s", "==", "s9").order_by("amt", "desc").limit(3)
    assert ids(store.query(q)) == ["389", "369", "349"]
    store.query(Query("loans").where("tags", "array-contains", "x"))
    names = {r[0] for r in _sql(store, "SELECT name FROM sqlite_master WHERE type = 'index'")}
    wanted = {sqlite_sql.index_statement("loans", f)[0] for f in ("s", "amt")}
    assert wanted <= names
    assert sqlite_sql.index_statement("loans", "tags")[0] not in names
    plan = sqlite_sql.select(Query("loans").where("s", "==", "s3"))
    detail = " ".join(r[3] for r in _sql(store, "EXPLAIN QUERY PLAN " + plan.sql, *plan.params))
    assert wanted & set(detail.split()), detail


def test_an_in_filter_seeks_each_value_in_the_fields_index(store: SqliteStore) -> None:
    """A page of the members' register reads its members' dues with one ``in``; it must
    not scan every due."""
    store.commit(
        [Write("set", "dues", str(i), {"member_id": f"m{i % 500}", "n": i}) for i in range(2000)]
    )
    wanted = ["m3", "m7", None, 7, "m499"]
    query = Query("dues").where("member_id", "in", wanted)
    assert sorted(ids(store.query(query)), key=int) == [
        str(i) for i in range(2000) if i % 500 in (3, 7, 499)
    ]
    plan = sqlite_sql.select(Query("dues").where("member_id", "in", ["m3", "m7", "m499"]))
    detail = " ".join(r[3] for r in _sql(store, "EXPLAIN QUERY PLAN " + plan.sql, *plan.params))
    assert sqlite_sql.index_statement("dues", "member_id")[0] in detail, detail
    assert store.count(Query("dues").where("member_id", "not-in", ["m3", "m7"])) == 1992


@pytest.mark.slow
def test_query_on_100k_documents(store: SqliteStore) -> None:
    rng = random.Random(7)
    statuses = ["new", "active", "closed", "default", "written_off"]
    docs = {
        f"L{i:06}": {"status": rng.choice(statuses), "amount": rng.randrange(10**7), "n": i}
        for i in range(100_000)
    }
    started = time.perf_counter()
    items = list(docs.items())
    for start in range(0, len(items), 25_000):
        store.commit([Write("set", "loans", k, v) for k, v in items[start : start + 25_000]])
    loaded = time.perf_counter() - started
    q = Query("loans").where("status", "==", "new").order_by("amount", "desc").limit(20)
    started = time.perf_counter()
    first = store.query(q)  # creates the indexes
    cold = time.perf_counter() - started
    started = time.perf_counter()
    page = store.query(q.start_after(first[-1]))
    warm = time.perf_counter() - started
    expected = sorted(
        ((v["amount"], k) for k, v in docs.items() if v["status"] == "new"), reverse=True
    )
    assert ids(first + page) == [k for _, k in expected[:40]]
    print(
        f"100k docs: load {loaded:.2f} s, first query (with index build) {cold * 1000:.0f} ms,"
        f" next page {warm * 1000:.1f} ms"
    )


# -- listeners ----------------------------------------------------------------------------


def test_threads_reading_and_writing_together(store: SqliteStore) -> None:
    store.commit([Write("set", "c", f"k{i}", {"n": 0}) for i in range(4)])
    errors: list[BaseException] = []

    def bump(tx: Any, key: str) -> None:
        doc = tx.get("c", key)
        tx.update("c", key, {"n": doc.data["n"] + 1})

    def writer(i: int) -> None:
        try:
            for j in range(40):
                key = f"k{(i + j) % 4}"
                store.run_transaction(lambda tx, key=key: bump(tx, key), max_attempts=50)
        except BaseException as exc:
            errors.append(exc)

    def reader() -> None:
        try:
            for _ in range(200):
                total = sum(d.data["n"] for d in store.query(Query("c")))
                assert 0 <= total <= 160
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sum(d.data["n"] for d in store.query(Query("c"))) == 160


def test_listener_resyncs_after_changes_were_pruned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_module, "KEEP_CHANGES", 5)
    monkeypatch.setattr(sqlite_module, "_PRUNE_EVERY", 1)
    path = tmp_path / "s.sqlite3"
    writer, watcher = SqliteStore(path), SqliteStore(path, poll_interval=0.5)
    seen: dict[str, Document] = {}
    rounds = Recorder()

    def on_change(changes: list[Change]) -> None:
        for c in changes:
            if c.kind == "removed":
                seen.pop(c.document.id)
            else:
                seen[c.document.id] = c.document
        rounds(changes)

    watcher.on_snapshot(Query("c").where("even", "==", True), on_change)
    rounds.next()
    for i in range(40):  # 40 commits land well inside one 0.5 s poll of the watcher
        writer.commit([Write("set", "c", str(i % 12), {"even": i % 2 == 0, "i": i})])
    assert _sql(writer, "SELECT min(seq) FROM changes")[0][0] > 5
    expected = {d.id: d for d in writer.query(Query("c").where("even", "==", True))}
    deadline = time.monotonic() + 5
    while seen != expected and time.monotonic() < deadline:
        rounds.next()
    assert seen == expected
    writer.close()
    watcher.close()


def test_callback_errors_are_logged_with_traceback(
    store: SqliteStore, caplog: pytest.LogCaptureFixture
) -> None:
    rec = Recorder()

    def explode(changes: list[Change]) -> None:
        raise RuntimeError("listener bug")

    store.on_snapshot("c", explode)
    store.on_snapshot("c", rec)
    with caplog.at_level(logging.ERROR, logger="app.services.store.sqlite_listen"):
        rec.next()
        store.commit([Write("set", "c", "x", {})])
        rec.next()
    failures = [r for r in caplog.records if r.exc_info and "listener bug" in str(r.exc_info[1])]
    assert len(failures) == 2


def test_listener_with_offset_and_cursor(store: SqliteStore) -> None:
    store.commit([Write("set", "c", k, {"n": n}) for k, n in zip("abcde", range(5), strict=True)])
    rec = Recorder()
    store.on_snapshot(Query("c").order_by("n").start_after(0).offset(1).limit(2), rec)
    assert rec.next_summary() == [("added", "c"), ("added", "d")]
    store.commit([Write("delete", "c", "b")])
    assert rec.next_summary() == [("removed", "c"), ("added", "e")]


# -- the SQL pushdown agrees with the Python matcher ---------------------------------------


@pytest.fixture(scope="module")
def shared_store() -> Iterator[SqliteStore]:
    with tempfile.TemporaryDirectory() as tmp, SqliteStore(Path(tmp) / "h.sqlite3") as s:
        yield s


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs=documents, query=queries())
def test_sql_agrees_with_python_matcher(
    shared_store: SqliteStore, docs: dict[str, dict[str, Any]], query: Query
) -> None:
    store = shared_store
    old = [Write("delete", "h", d.id) for d in store.query(Query("h"))]
    store.commit(old + [Write("set", "h", k, v) for k, v in docs.items()])
    stored = list(store.get_many("h", docs).values())
    expected = ids(matching.evaluate(stored, query))
    assert ids(store.query(query)) == expected
    assert store.count(query) == len(expected)
    unpositioned = Query("h", query.filters, query.orders)
    assert sorted(ids(store.query(unpositioned))) == sorted(
        d.id for d in stored if matching.matches(d, query)
    )


def test_a_watch_reads_and_holds_no_documents(store: SqliteStore) -> None:
    """A topic's watch on a large collection costs nothing per document: told from the
    change rows, it never reads the collection (a members' register of 100,000 held
    every member, ticket and due in the listener thread, and stalled the GUI reading
    them)."""
    store.commit([Write("set", "big", f"d{i}", {"n": i}) for i in range(500)])
    rec = Recorder()
    watch = store.watch("big", rec)
    assert rec.next() == []
    store.commit([Write("update", "big", "d7", {"n": -7})])
    assert rec.next() == []
    assert watch.current == {}
    rec.assert_idle()
    watch.unsubscribe()
    seen = Recorder()
    listener = store.on_snapshot("big", seen)
    assert len(seen.next()) == 500  # a snapshot listener, by contrast, holds them
    listener.unsubscribe()
