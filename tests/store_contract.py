"""The document-store contract, written once against the port.

A backend's test module subclasses :class:`StoreContract` and provides a ``store``
fixture yielding a fresh, empty store; every test here then runs on that backend.
Besides :class:`~app.services.store.port.DocumentStore`, a backend offers the
Firestore-like ``batch()`` and ``run_transaction(fn, max_attempts=5)``.

Only behaviour Firestore shares is asserted here, so that a Firestore backend can run
the same suite; backend-specific behaviour belongs in the backend's own tests.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from app.kernel.errors import Conflict, NotFound, ValidationError
from app.services.store.port import Change, Document, Query, Write

WAIT = 5.0  # seconds a listener test waits for a delivery; it returns as soon as one arrives

PEOPLE: dict[str, dict[str, Any]] = {
    "ann": {
        "name": "Ann",
        "age": 31,
        "city": "Pune",
        "tags": ["admin", "staff"],
        "address": {"pin": 411001},
        "score": 7.5,
    },
    "bob": {
        "name": "Bob",
        "age": 25,
        "city": "Mumbai",
        "tags": ["staff"],
        "address": {"pin": 400001},
        "score": 9,
    },
    "cid": {"name": "Cid", "age": 42, "city": "Pune", "tags": [], "address": {"pin": 411002}},
    "dev": {"name": "Dev", "age": 25.0, "city": "Delhi", "tags": ["auditor", "staff"], "score": 6},
    "eve": {"name": "Eve", "age": "unknown", "city": None, "tags": ["admin"]},
    "fay": {"name": "Fay", "city": "Mumbai"},
}


def ids(docs: list[Document]) -> list[str]:
    return [d.id for d in docs]


class Recorder:
    """A snapshot callback that queues each delivery for the test to take."""

    def __init__(self) -> None:
        self.deliveries: queue.Queue[list[Change]] = queue.Queue()

    def __call__(self, changes: list[Change]) -> None:
        self.deliveries.put(changes)

    def next(self) -> list[Change]:
        try:
            return self.deliveries.get(timeout=WAIT)
        except queue.Empty:
            raise AssertionError(f"no snapshot delivered within {WAIT} s") from None

    def next_summary(self) -> list[tuple[str, str]]:
        return [(c.kind, c.document.id) for c in self.next()]

    def assert_idle(self) -> None:
        assert self.deliveries.empty(), self.deliveries.get_nowait()


class StoreContract:
    """Every backend passes these. Subclasses override the ``store`` fixture."""

    @pytest.fixture
    def store(self) -> Iterator[Any]:
        raise NotImplementedError("a backend's test class provides the store fixture")

    @pytest.fixture
    def people(self, store: Any) -> Any:
        store.commit([Write("set", "people", k, v) for k, v in PEOPLE.items()])
        return store

    # -- single documents ------------------------------------------------------------

    def test_get_missing_is_none(self, store: Any) -> None:
        assert store.get("people", "nobody") is None

    def test_set_creates_with_version_1(self, store: Any) -> None:
        store.commit([Write("set", "people", "ann", PEOPLE["ann"])])
        doc = store.get("people", "ann")
        assert doc == Document("people", "ann", PEOPLE["ann"], 1)

    def test_set_replaces_and_counts_versions(self, store: Any) -> None:
        store.commit([Write("set", "c", "x", {"a": 1, "b": 2})])
        store.commit([Write("set", "c", "x", {"a": 5})])
        assert store.get("c", "x") == Document("c", "x", {"a": 5}, 2)

    def test_returned_data_is_a_copy(self, store: Any) -> None:
        data = {"a": {"b": 1}}
        store.commit([Write("set", "c", "x", data)])
        data["a"]["b"] = 2
        store.get("c", "x").data["a"]["b"] = 3
        assert store.get("c", "x").data == {"a": {"b": 1}}

    def test_merge_deep_merges_and_creates(self, store: Any) -> None:
        store.commit([Write("merge", "c", "x", {"a": {"b": 1}, "k": [1, 2]})])
        assert store.get("c", "x") == Document("c", "x", {"a": {"b": 1}, "k": [1, 2]}, 1)
        store.commit([Write("merge", "c", "x", {"a": {"c": 2}, "k": [3]})])
        assert store.get("c", "x") == Document("c", "x", {"a": {"b": 1, "c": 2}, "k": [3]}, 2)

    def test_update_sets_dotted_paths(self, store: Any) -> None:
        store.commit([Write("set", "c", "x", {"a": {"b": 1, "c": 2}, "d": 1})])
        store.commit([Write("update", "c", "x", {"a.b": 10, "e.f": "new", "d": {"z": 1}})])
        data = store.get("c", "x").data
        assert data == {"a": {"b": 10, "c": 2}, "d": {"z": 1}, "e": {"f": "new"}}

    def test_update_of_missing_doc_is_not_found_and_applies_nothing(self, store: Any) -> None:
        writes = [Write("set", "c", "first", {"a": 1}), Write("update", "c", "ghost", {"a": 2})]
        with pytest.raises(NotFound, match="ghost"):
            store.commit(writes)
        assert store.get("c", "first") is None

    def test_delete_and_delete_of_missing(self, store: Any) -> None:
        store.commit([Write("set", "c", "x", {"a": 1})])
        store.commit([Write("delete", "c", "x"), Write("delete", "c", "never")])
        assert store.get("c", "x") is None
        store.commit([Write("set", "c", "x", {"a": 2})])
        assert store.get("c", "x").version == 1

    def test_get_many_returns_only_existing(self, people: Any) -> None:
        found = people.get_many("people", ["ann", "nobody", "cid"])
        assert sorted(found) == ["ann", "cid"]
        assert found["cid"].data == PEOPLE["cid"]
        assert people.get_many("people", []) == {}

    def test_collections_are_separate(self, store: Any) -> None:
        store.commit([Write("set", "a", "x", {"v": 1}), Write("set", "b", "x", {"v": 2})])
        assert store.get("a", "x").data == {"v": 1}
        assert ids(store.query(Query("b"))) == ["x"]
        assert store.get("b", "x").data == {"v": 2}

    def test_bad_names_and_values_are_rejected(self, store: Any) -> None:
        for write in (
            Write("set", "", "x", {}),
            Write("set", "c", "a/b", {}),
            Write("set", "c", "x", {"when": object()}),
            Write("set", "c", "x", {"n": float("nan")}),
        ):
            with pytest.raises(ValidationError):
                store.commit([write])
        assert store.count(Query("c")) == 0

    # -- versions, preconditions, atomicity, LSN ---------------------------------------

    def test_versions_zero_for_absent(self, store: Any) -> None:
        store.commit([Write("set", "c", "x", {}), Write("merge", "c", "x", {"a": 1})])
        assert store.versions([("c", "x"), ("c", "y")]) == {("c", "x"): 2, ("c", "y"): 0}

    def test_expect_version_zero_means_must_not_exist(self, store: Any) -> None:
        store.commit([Write("set", "c", "x", {"a": 1}, expect_version=0)])
        with pytest.raises(Conflict, match="already exists"):
            store.commit([Write("set", "c", "x", {"a": 2}, expect_version=0)])
        assert store.get("c", "x").data == {"a": 1}

    def test_stale_expect_version_conflicts_and_applies_nothing(self, store: Any) -> None:
        store.commit([Write("set", "c", "x", {"a": 1}), Write("set", "c", "y", {"a": 1})])
        store.commit([Write("update", "c", "x", {"a": 2})])
        stale = [
            Write("update", "c", "y", {"a": 99}),
            Write("update", "c", "x", {"a": 3}, expect_version=1),
        ]
        with pytest.raises(Conflict, match="c/x"):
            store.commit(stale)
        assert store.get("c", "y") == Document("c", "y", {"a": 1}, 1)
        store.commit([Write("update", "c", "x", {"a": 3}, expect_version=2)])
        assert store.get("c", "x") == Document("c", "x", {"a": 3}, 3)

    def test_commit_is_atomic_across_collections(self, store: Any) -> None:
        store.commit([Write("set", "a", "1", {"v": 1}), Write("set", "b", "1", {"v": 1})])
        assert store.versions([("a", "1"), ("b", "1")]) == {("a", "1"): 1, ("b", "1"): 1}

    def test_last_lsn(self, store: Any) -> None:
        assert store.last_applied_lsn() == 0
        store.commit([Write("set", "c", "x", {})], last_lsn=7)
        assert store.last_applied_lsn() == 7
        store.commit([Write("set", "c", "y", {})])
        assert store.last_applied_lsn() == 7
        with pytest.raises(Conflict):
            store.commit([Write("set", "c", "z", {}, expect_version=3)], last_lsn=8)
        assert store.last_applied_lsn() == 7
        store.commit([], last_lsn=9)
        assert store.last_applied_lsn() == 9

    # -- filters -------------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("field", "op", "value", "expected"),
        [
            ("age", "==", 25, ["bob", "dev"]),
            ("age", "==", "unknown", ["eve"]),
            ("age", "!=", 25, ["ann", "cid", "eve"]),
            ("age", "<", 31, ["bob", "dev"]),
            ("age", "<=", 31, ["ann", "bob", "dev"]),
            ("age", ">", 31, ["cid"]),
            ("age", ">=", 25, ["ann", "bob", "cid", "dev"]),
            ("age", ">", "a", ["eve"]),
            ("score", ">", 7, ["ann", "bob"]),
            ("city", "==", None, ["eve"]),
            ("city", "!=", None, ["ann", "bob", "cid", "dev", "fay"]),
            ("city", "in", ["Pune", "Delhi"], ["ann", "cid", "dev"]),
            ("city", "not-in", ["Pune", "Delhi"], ["bob", "eve", "fay"]),
            ("age", "in", [25, "unknown"], ["bob", "dev", "eve"]),
            ("tags", "array-contains", "staff", ["ann", "bob", "dev"]),
            ("tags", "array-contains-any", ["auditor", "admin"], ["ann", "dev", "eve"]),
            ("address.pin", ">=", 411001, ["ann", "cid"]),
            ("address", "==", {"pin": 400001}, ["bob"]),
            ("tags", "==", ["admin"], ["eve"]),
            ("name", ">=", "C", ["cid", "dev", "eve", "fay"]),
        ],
    )
    def test_where(self, people: Any, field: str, op: Any, value: Any, expected: list[str]) -> None:
        q = Query("people").where(field, op, value)
        assert sorted(ids(people.query(q))) == expected
        assert people.count(q) == len(expected)

    def test_filters_combine(self, people: Any) -> None:
        q = Query("people").where("city", "==", "Pune").where("age", "<", 40)
        assert ids(people.query(q)) == ["ann"]
        q = Query("people").where("tags", "array-contains", "staff").where("age", "==", 25)
        assert ids(people.query(q)) == ["bob", "dev"]

    def test_booleans_are_not_numbers(self, store: Any) -> None:
        store.commit([Write("set", "c", "t", {"v": True}), Write("set", "c", "one", {"v": 1})])
        assert ids(store.query(Query("c").where("v", "==", True))) == ["t"]
        assert ids(store.query(Query("c").where("v", "==", 1))) == ["one"]
        assert ids(store.query(Query("c").where("v", ">", 0))) == ["one"]

    def test_unfiltered_query_returns_all_by_id(self, people: Any) -> None:
        assert ids(people.query(Query("people"))) == sorted(PEOPLE)
        assert people.count(Query("people")) == len(PEOPLE)
        assert people.query(Query("nothing")) == []

    # -- ordering, limit, offset -----------------------------------------------------

    def test_order_by_excludes_missing_and_breaks_ties_by_id(self, people: Any) -> None:
        got = people.query(Query("people").order_by("score"))
        assert ids(got) == ["dev", "ann", "bob"]
        got = people.query(Query("people").order_by("age"))
        assert ids(got) == ["bob", "dev", "ann", "cid", "eve"]  # numbers before strings
        got = people.query(Query("people").order_by("age", "desc"))
        assert ids(got) == ["eve", "cid", "ann", "dev", "bob"]

    def test_order_by_several_fields(self, people: Any) -> None:
        q = Query("people").where("age", ">=", 0).order_by("age", "desc").order_by("name")
        assert ids(people.query(q)) == ["cid", "ann", "bob", "dev"]
        q = Query("people").order_by("city").order_by("name", "desc")
        assert ids(people.query(q)) == ["eve", "dev", "fay", "bob", "cid", "ann"]

    def test_inequality_filters_order_by_their_field(self, people: Any) -> None:
        assert ids(people.query(Query("people").where("age", ">=", 0))) == [
            "bob",
            "dev",
            "ann",
            "cid",
        ]
        assert ids(people.query(Query("people").where("age", "!=", 25))) == ["ann", "cid", "eve"]
        q = Query("people").where("age", ">", 20).order_by("name", "desc")
        assert ids(people.query(q)) == ["dev", "cid", "bob", "ann"]
        page = people.query(Query("people").where("age", "<", 40).limit(2))
        rest = people.query(Query("people").where("age", "<", 40).start_after(page[-1]))
        assert ids(page + rest) == ["bob", "dev", "ann"]

    def test_value_order_across_kinds(self, store: Any) -> None:
        values = {"s": "a", "n": 3, "f": 2.5, "t": True, "z": None, "b": False}
        store.commit([Write("set", "c", k, {"v": v}) for k, v in values.items()])
        assert ids(store.query(Query("c").order_by("v"))) == ["z", "b", "t", "f", "n", "s"]

    def test_limit_and_offset(self, people: Any) -> None:
        q = Query("people").order_by("name")
        assert ids(people.query(q.limit(2))) == ["ann", "bob"]
        assert ids(people.query(q.offset(2).limit(2))) == ["cid", "dev"]
        assert ids(people.query(q.offset(5))) == ["fay"]
        assert people.query(q.limit(0)) == []
        assert people.count(q.offset(1).limit(3)) == 3
        assert people.count(q.offset(4).limit(3)) == 2

    def test_stream_yields_the_query_result(self, people: Any) -> None:
        q = Query("people").where("age", ">=", 0).order_by("age").limit(3)
        assert ids(list(people.stream(q))) == ids(people.query(q))

    # -- cursors -------------------------------------------------------------------------

    def test_cursors_by_value(self, people: Any) -> None:
        q = Query("people").where("age", ">=", 0).order_by("age")  # bob dev(25) ann(31) cid(42)
        assert ids(people.query(q.start_at(25))) == ["bob", "dev", "ann", "cid"]
        assert ids(people.query(q.start_after(25))) == ["ann", "cid"]
        assert ids(people.query(q.end_at(31))) == ["bob", "dev", "ann"]
        assert ids(people.query(q.end_before(31))) == ["bob", "dev"]
        assert ids(people.query(q.start_after(25).end_at(42))) == ["ann", "cid"]

    def test_cursor_with_id_tie_break(self, people: Any) -> None:
        q = Query("people").where("age", ">=", 0).order_by("age")
        assert ids(people.query(q.start_after(25, "bob"))) == ["dev", "ann", "cid"]
        assert ids(people.query(q.end_before(25, "dev"))) == ["bob"]

    def test_cursors_descending(self, people: Any) -> None:
        q = Query("people").where("age", ">=", 0).order_by("age", "desc")
        assert ids(people.query(q.start_after(31))) == ["dev", "bob"]
        assert ids(people.query(q.start_at(31).end_at(25))) == ["ann", "dev", "bob"]

    def test_cursor_on_several_fields(self, people: Any) -> None:
        q = Query("people").order_by("city").order_by("name", "desc")
        # eve(None) dev(Delhi) fay bob(Mumbai) cid ann(Pune)
        assert ids(people.query(q.start_after("Mumbai", "Fay"))) == ["bob", "cid", "ann"]
        assert ids(people.query(q.start_at("Mumbai"))) == ["fay", "bob", "cid", "ann"]
        assert ids(people.query(q.end_before("Mumbai"))) == ["eve", "dev"]

    def test_pagination_with_document_cursor(self, store: Any) -> None:
        store.commit([Write("set", "n", f"d{i:02}", {"g": i % 3, "i": i}) for i in range(20)])
        q = Query("n").order_by("g").limit(7)
        pages: list[str] = []
        page = store.query(q)
        while page:
            pages += ids(page)
            page = store.query(q.start_after(page[-1]))
        expected = ids(store.query(Query("n").order_by("g")))
        assert pages == expected and len(pages) == 20

    def test_cursor_without_order_uses_id(self, people: Any) -> None:
        assert ids(people.query(Query("people").start_after("cid"))) == ["dev", "eve", "fay"]

    # -- batches ------------------------------------------------------------------------

    def test_batch_applies_every_write(self, store: Any) -> None:
        store.commit([Write("set", "c", "old", {"a": 1}), Write("set", "c", "gone", {})])
        batch = store.batch()
        batch.set("c", "new", {"a": 1}).merge("c", "old", {"b": 2})
        batch.update("c", "new", {"a": 2}).delete("c", "gone")
        batch.commit()
        assert store.get("c", "old").data == {"a": 1, "b": 2}
        assert store.get("c", "new") == Document("c", "new", {"a": 2}, 2)
        assert store.get("c", "gone") is None

    def test_batch_with_failing_precondition_applies_nothing(self, store: Any) -> None:
        store.commit([Write("set", "c", "x", {"a": 1}), Write("set", "c", "z", {"a": 1})])
        batch = store.batch().set("c", "y", {"a": 1}).delete("c", "z")
        batch.set("c", "x", {"a": 5}, expect_version=0)
        with pytest.raises(Conflict):
            batch.commit()
        assert store.get("c", "y") is None
        assert store.get("c", "z") == Document("c", "z", {"a": 1}, 1)
        assert store.get("c", "x") == Document("c", "x", {"a": 1}, 1)

    # -- transactions -------------------------------------------------------------------

    def test_transaction_reads_then_writes(self, store: Any) -> None:
        store.commit(
            [Write("set", "acct", "a", {"bal": 100}), Write("set", "acct", "b", {"bal": 0})]
        )

        def move(tx: Any) -> int:
            a, b = tx.get("acct", "a"), tx.get("acct", "b")
            tx.update("acct", "a", {"bal": a.data["bal"] - 30})
            tx.update("acct", "b", {"bal": b.data["bal"] + 30})
            return 30

        assert store.run_transaction(move) == 30
        assert store.get("acct", "a").data == {"bal": 70}
        assert store.get("acct", "b").data == {"bal": 30}

    def test_transaction_retries_on_real_contention(self, store: Any) -> None:
        store.commit([Write("set", "c", "counter", {"n": 0})])
        both_read = threading.Barrier(2, timeout=WAIT)
        calls: list[str] = []
        lock = threading.Lock()

        def increment(tx: Any) -> None:
            doc = tx.get("c", "counter")
            with lock:
                calls.append(threading.current_thread().name)
                first = len(calls) <= 2
            if first:
                both_read.wait()  # both threads hold the same version before either commits
            tx.set("c", "counter", {"n": doc.data["n"] + 1})

        errors: list[BaseException] = []
        threads = [
            threading.Thread(target=self._run_tx, args=(store, increment, errors), name=f"t{i}")
            for i in range(2)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(WAIT * 2)
        assert errors == []
        assert store.get("c", "counter").data == {"n": 2}
        assert len(calls) == 3  # exactly one of the two had to run again

    @staticmethod
    def _run_tx(store: Any, fn: Any, errors: list[BaseException]) -> None:
        try:
            store.run_transaction(fn, max_attempts=5)
        except BaseException as exc:
            errors.append(exc)

    def test_transaction_checks_documents_only_read(self, store: Any) -> None:
        store.commit([Write("set", "c", "rate", {"pct": 5}), Write("set", "c", "loan", {})])
        attempts: list[int] = []

        def apply_rate(tx: Any) -> None:
            rate = tx.get("c", "rate")
            if not attempts:
                store.commit([Write("set", "c", "rate", {"pct": 9})])  # someone changes it
            attempts.append(rate.data["pct"])
            tx.update("c", "loan", {"pct": rate.data["pct"]})

        store.run_transaction(apply_rate)
        assert attempts == [5, 9]
        assert store.get("c", "loan").data == {"pct": 9}

    def test_transaction_on_absent_document_conflicts_if_created(self, store: Any) -> None:
        def create(tx: Any) -> None:
            if tx.get("c", "x") is None:
                store.commit([Write("set", "c", "x", {"by": "other"})])
                tx.set("c", "x", {"by": "tx"})

        with pytest.raises(Conflict):
            store.run_transaction(create, max_attempts=1)
        assert store.get("c", "x").data == {"by": "other"}

    def test_transaction_gives_up_after_max_attempts(self, store: Any) -> None:
        store.commit([Write("set", "c", "x", {"n": 0})])
        runs: list[int] = []

        def always_raced(tx: Any) -> None:
            doc = tx.get("c", "x")
            runs.append(1)
            store.commit([Write("update", "c", "x", {"n": doc.data["n"] + 100})])
            tx.update("c", "x", {"n": -1})

        with pytest.raises(Conflict):
            store.run_transaction(always_raced, max_attempts=3)
        assert len(runs) == 3
        assert store.get("c", "x").data == {"n": 300}

    def test_transaction_read_after_write_is_refused(self, store: Any) -> None:
        def bad(tx: Any) -> None:
            tx.set("c", "x", {})
            tx.get("c", "y")

        with pytest.raises(ValidationError):
            store.run_transaction(bad)
        assert store.get("c", "x") is None

    def test_transaction_query_records_versions(self, people: Any) -> None:
        def tag_pune(tx: Any) -> int:
            found = tx.query(Query("people").where("city", "==", "Pune"))
            for doc in found:
                tx.update("people", doc.id, {"region": "west"})
            return len(found)

        assert people.run_transaction(tag_pune) == 2
        assert people.get("people", "cid").data["region"] == "west"

    # -- listeners ----------------------------------------------------------------------

    def test_listener_initial_snapshot_is_added(self, people: Any) -> None:
        rec = Recorder()
        q = Query("people").where("city", "==", "Pune")
        listener = people.on_snapshot(q, rec)
        first = rec.next()
        assert sorted((c.kind, c.document.id) for c in first) == [
            ("added", "ann"),
            ("added", "cid"),
        ]
        assert {c.document.id: c.document.data for c in first}["ann"] == PEOPLE["ann"]
        listener.unsubscribe()

    def test_listener_initial_snapshot_of_empty_result(self, store: Any) -> None:
        rec = Recorder()
        listener = store.on_snapshot("empty", rec)
        assert rec.next() == []
        listener.unsubscribe()

    def test_listener_added_modified_removed(self, store: Any) -> None:
        rec = Recorder()
        listener = store.on_snapshot("c", rec)
        assert rec.next() == []
        store.commit([Write("set", "c", "x", {"a": 1})])
        assert rec.next_summary() == [("added", "x")]
        store.commit([Write("update", "c", "x", {"a": 2})])
        changes = rec.next()
        assert [(c.kind, c.document.data, c.document.version) for c in changes] == [
            ("modified", {"a": 2}, 2)
        ]
        store.commit([Write("delete", "c", "x")])
        assert rec.next_summary() == [("removed", "x")]
        listener.unsubscribe()

    def test_watch_is_told_of_each_commit_to_its_collection_only(self, people: Any) -> None:
        rec = Recorder()
        listener = people.watch("people", rec)
        rec.next()  # once at first: the state it starts from
        people.commit([Write("set", "other", "x", {"a": 1})])
        people.commit([Write("update", "people", "ann", {"age": 41})])
        assert all(c.document.collection == "people" for c in rec.next())
        rec.assert_idle()  # nothing for the commit to "other"
        listener.unsubscribe()
        people.commit([Write("update", "people", "ann", {"age": 42})])
        time.sleep(0.3)
        rec.assert_idle()

    def test_listener_follows_query_membership(self, people: Any) -> None:
        rec = Recorder()
        listener = people.on_snapshot(Query("people").where("age", "<", 30), rec)
        assert sorted(rec.next_summary()) == [("added", "bob"), ("added", "dev")]
        people.commit([Write("update", "people", "bob", {"age": 60})])
        assert rec.next_summary() == [("removed", "bob")]
        people.commit([Write("update", "people", "cid", {"age": 20})])
        assert rec.next_summary() == [("added", "cid")]
        people.commit([Write("update", "people", "cid", {"name": "Cyd"})])
        assert rec.next_summary() == [("modified", "cid")]
        people.commit([Write("update", "people", "ann", {"name": "Annie"})])  # not in result
        people.commit([Write("update", "people", "dev", {"age": 61})])
        assert rec.next_summary() == [("removed", "dev")]
        listener.unsubscribe()

    def test_listener_respects_order_and_limit(self, people: Any) -> None:
        rec = Recorder()
        q = Query("people").where("age", ">=", 0).order_by("age", "desc").limit(2)
        listener = people.on_snapshot(q, rec)
        assert rec.next_summary() == [("added", "cid"), ("added", "ann")]
        people.commit([Write("update", "people", "bob", {"age": 35})])
        assert rec.next_summary() == [("removed", "ann"), ("added", "bob")]
        people.commit([Write("delete", "people", "cid")])
        assert rec.next_summary() == [("removed", "cid"), ("added", "ann")]
        listener.unsubscribe()

    def test_unsubscribe_stops_delivery(self, store: Any) -> None:
        gone, kept = Recorder(), Recorder()
        listener = store.on_snapshot("c", gone)
        other = store.on_snapshot("c", kept)
        assert gone.next() == [] and kept.next() == []
        listener.unsubscribe()
        store.commit([Write("set", "c", "x", {})])
        assert kept.next_summary() == [("added", "x")]
        gone.assert_idle()
        other.unsubscribe()

    def test_failing_callback_does_not_stop_delivery(self, store: Any) -> None:
        calls: list[int] = []

        def explode(changes: list[Change]) -> None:
            calls.append(len(changes))
            raise RuntimeError("listener bug")

        rec = Recorder()
        bad = store.on_snapshot("c", explode)
        good = store.on_snapshot("c", rec)
        assert rec.next() == []
        store.commit([Write("set", "c", "x", {})])
        assert rec.next_summary() == [("added", "x")]
        store.commit([Write("set", "c", "y", {})])
        assert rec.next_summary() == [("added", "y")]
        deadline = time.monotonic() + 5  # each listener has its own stream: let it catch up
        while len(calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert calls[:1] == [0] and len(calls) >= 2
        bad.unsubscribe()
        good.unsubscribe()

    def test_listener_sees_batch_as_one_delivery(self, store: Any) -> None:
        rec = Recorder()
        listener = store.on_snapshot(Query("c").order_by("n"), rec)
        assert rec.next() == []
        store.commit([Write("set", "c", k, {"n": n}) for k, n in (("b", 2), ("a", 1), ("c", 3))])
        assert rec.next_summary() == [("added", "a"), ("added", "b"), ("added", "c")]
        listener.unsubscribe()
