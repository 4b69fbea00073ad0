"""The Firestore store on the gcloud emulator: what the contract does not cover
(layout, the limits against what Firestore refuses, racing writers, listeners, queries
Firestore cannot run alone,
misconfiguration). The contract runs in test_store_contract.py, two processes on one
store in test_store_processes.py."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from google.api_core import exceptions as api
from hypothesis import HealthCheck, assume, given, settings

from app import bootstrap, cli, config
from app.kernel.errors import StorageError, ValidationError
from app.services.store import firestore_codec as codec
from app.services.store import firestore_query, limits, matching
from app.services.store.firestore import FirestoreStore
from app.services.store.firestore_client import CREDENTIALS_ENV, EMULATOR_ENV
from app.services.store.port import Change, Document, Query, Write, normalized_orders
from tests.firestore_emulator import Emulator, free_port
from tests.store_contract import Recorder, ids
from tests.store_queries import documents, queries

pytestmark = pytest.mark.firestore


def _raw(store: FirestoreStore, collection: str, doc_id: str) -> tuple[str, dict[str, Any]]:
    """The Firestore document behind a port document: its path and fields."""
    ref = store._ref(collection, doc_id)
    return ref.path, ref.get().to_dict()


# -- layout: values stored as they are ---------------------------------------------------

AWKWARD = {
    "d": 1,
    "v": "not the version",
    "~a": [1, 2],
    "~": {"~~": None},
    "nested": [{"k": [3]}, {"e": []}],
    "deep": {"x": {"y": [True]}, "a.b": "dotted key"},
}


def test_domain_data_never_meets_reserved_names(firestore_store: FirestoreStore) -> None:
    firestore_store.commit([Write("set", "c", "x", AWKWARD)])
    assert firestore_store.get("c", "x") == Document("c", "x", AWKWARD, 1)
    path, fields = _raw(firestore_store, "c", "x")
    assert path == "tfos/store/c/x"
    assert set(fields) == {"d", "v"} and fields["v"] == 1
    firestore_store.commit([Write("merge", "c", "x", {"deep": {"x": {"new": 1}}})])
    assert firestore_store.get("c", "x").data["deep"]["x"] == {"y": [True], "new": 1}


@pytest.mark.parametrize(
    ("field", "op", "value"),
    [
        ("v", "==", "not the version"),
        ("d", "<", 5),
        ("~a", "array-contains", 2),
        ("~.~~", "==", None),
        ("nested", "array-contains", {"e": []}),
        ("deep.x", "==", {"y": [True]}),
    ],
)
def test_queries_reach_awkward_fields(
    firestore_store: FirestoreStore, field: str, op: Any, value: Any
) -> None:
    firestore_store.commit([Write("set", "c", "x", AWKWARD), Write("set", "c", "y", {"v": 0})])
    assert ids(firestore_store.query(Query("c").where(field, op, value))) == ["x"]


def test_the_limits_refuse_what_firestore_refuses(firestore_store: FirestoreStore) -> None:
    """Values at the edge of a limit the emulator enforces: sent straight to Firestore
    in the store's layout, each is refused exactly when the limits refuse it."""
    edges = {
        "path of 1,498 bytes": ({"a" * 748: {"b" * 749: 1}}, True),
        "path of 1,499 bytes": ({"a" * 749: {"b" * 749: 1}}, False),
        "path of 1,499 bytes through a list": ({"é" * 374: [{"b" * 750: 1}]}, False),
        "key of 1,500 bytes": ({"k" * 1_500: 1}, False),  # its path is too long
        "key of 1,498 bytes": ({"k" * 1_498: 1}, True),
    }
    for name, (data, storable) in edges.items():
        try:
            limits.check_value(data, name)
            admitted = True
        except ValidationError:
            admitted = False
        ref = firestore_store._ref("edges", "e")
        try:
            ref.set(codec.stored(data, 1), retry=None, timeout=10)
            held = True
        except api.InvalidArgument:
            held = False
        assert (admitted, held) == (storable, storable), name


def test_ids_firestore_reserves_are_refused(firestore_store: FirestoreStore) -> None:
    for collection, doc_id in (("c", "__x__"), ("c", "."), ("c", ".."), ("__c__", "x")):
        with pytest.raises(ValidationError, match=r"reserved|Firestore|not a valid"):
            firestore_store.commit([Write("set", collection, doc_id, {})])
    with pytest.raises(ValidationError, match=r"reserved|Firestore|not a valid"):
        firestore_store.query(Query("__c__"))
    assert firestore_store.count(Query("c")) == 0


def test_last_applied_lsn_never_moves_back(firestore_store: FirestoreStore) -> None:
    firestore_store.commit([], last_lsn=9)
    firestore_store.commit([Write("set", "c", "x", {})], last_lsn=4)
    assert firestore_store.last_applied_lsn() == 9
    assert firestore_store.get("c", "x") is not None


# -- races --------------------------------------------------------------------------------


def test_concurrent_writers_of_one_document_lose_nothing(firestore_store: FirestoreStore) -> None:
    firestore_store.commit([Write("set", "c", "shared", {})])
    errors: list[BaseException] = []

    def writer(i: int) -> None:
        try:
            for n in range(1, 11):
                firestore_store.commit([Write("merge", "c", "shared", {f"w{i}": n})])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    doc = firestore_store.get("c", "shared")
    assert doc is not None
    assert doc.data == {f"w{i}": 10 for i in range(8)}
    assert doc.version == 81


# -- listeners ----------------------------------------------------------------------------


def test_listener_with_offset_and_cursor(firestore_store: FirestoreStore) -> None:
    firestore_store.commit(
        [Write("set", "c", k, {"n": n}) for k, n in zip("abcde", range(5), strict=True)]
    )
    rec = Recorder()
    listener = firestore_store.on_snapshot(
        Query("c").order_by("n").start_after(0).offset(1).limit(2), rec
    )
    assert rec.next_summary() == [("added", "c"), ("added", "d")]
    firestore_store.commit([Write("delete", "c", "b")])
    assert rec.next_summary() == [("removed", "c"), ("added", "e")]
    firestore_store.commit([Write("update", "c", "a", {"x": 1})])  # outside the window
    firestore_store.commit([Write("update", "c", "d", {"x": 1})])
    assert rec.next_summary() == [("modified", "d")]
    listener.unsubscribe()


def test_listener_on_nested_field_orders_many_documents(firestore_store: FirestoreStore) -> None:
    firestore_store.commit(
        [Write("set", "c", f"k{i}", {"m": {"n": (i * 7) % 10}}) for i in range(10)]
    )
    rec = Recorder()
    listener = firestore_store.on_snapshot(Query("c").order_by("m.n", "desc").limit(3), rec)
    assert rec.next_summary() == [("added", "k7"), ("added", "k4"), ("added", "k1")]
    firestore_store.commit([Write("set", "c", "new", {"m": {"n": 8.5}})])
    assert rec.next_summary() == [("removed", "k1"), ("added", "new")]
    listener.unsubscribe()


def test_listener_can_unsubscribe_from_its_own_callback(firestore_store: FirestoreStore) -> None:
    calls: list[int] = []
    done = threading.Event()
    holder: dict[str, Any] = {}

    def once(changes: list[Change]) -> None:
        calls.append(len(changes))
        holder["listener"].unsubscribe()
        done.set()

    holder["listener"] = firestore_store.on_snapshot("c", once)
    assert done.wait(5.0)
    firestore_store.commit([Write("set", "c", "x", {})])
    time.sleep(0.5)
    assert calls == [0]


def test_listener_on_a_query_that_matches_nothing(firestore_store: FirestoreStore) -> None:
    rec = Recorder()
    listener = firestore_store.on_snapshot(Query("c").where("s", "in", []), rec)
    assert rec.next() == []
    firestore_store.commit([Write("set", "c", "x", {"s": "a"})])
    time.sleep(0.5)
    rec.assert_idle()
    listener.unsubscribe()


def test_close_stops_every_listener(firestore_project: str) -> None:
    store = FirestoreStore.open(firestore_project)
    rec = Recorder()
    store.on_snapshot("c", rec)
    assert rec.next() == []
    store.close()
    with FirestoreStore.open(firestore_project) as other:
        other.commit([Write("set", "c", "x", {})])
    time.sleep(0.5)
    rec.assert_idle()
    with pytest.raises(StorageError, match="closed"):
        store.get("c", "x")


# -- queries Firestore cannot run alone ------------------------------------------------


def test_filters_firestore_reads_differently_are_finished_in_python(
    firestore_store: FirestoreStore,
) -> None:
    docs = {"n": {"s": None, "t": [None]}, "a": {"s": "a", "t": ["a"]}, "b": {"s": "b"}}
    firestore_store.commit([Write("set", "c", k, v) for k, v in docs.items()])
    for q, expected in (
        (Query("c").where("s", "!=", "a"), ["n", "b"]),
        (Query("c").where("s", "not-in", ["a"]), ["n", "b"]),
        (Query("c").where("s", "in", [None, "b"]), ["b", "n"]),
        (Query("c").where("t", "array-contains", None), ["n"]),
        (Query("c").where("t", "array-contains-any", [None, "a"]), ["a", "n"]),
        (Query("c").where("s", "<=", None), ["n"]),
        (Query("c").where("s", "in", [f"x{i}" for i in range(40)] + ["a"]), ["a"]),
        (Query("c").where("s", "!=", None).where("t", "!=", None).limit(1), ["a"]),
        # values no document can hold: Firestore refuses them, Python answers
        (Query("c").where("t", "array-contains", ["a"]), []),
        (Query("c").where("t", "array-contains-any", [["a"], "a"]), ["a"]),
        (Query("c").where("s", "==", {"": 1}), []),
        (Query("c").where("s", "!=", [["a"]]), ["n", "a", "b"]),
        (Query("c").where("s", "<", [[1]]), []),
        (Query("c").where("s", "in", [[[1]], "b"]), ["b"]),
        (Query("c").order_by("s").start_after([["x"]]), []),
        # fields no document can hold: nothing matches
        (Query("c").where("__x__", "==", 1), []),
        (Query("c").where("m.__x__", "!=", 1), []),
        (Query("c").order_by("k" * 1_499), []),
    ):
        assert ids(firestore_store.query(q)) == expected, q
        assert firestore_store.count(q) == len(expected), q


@pytest.mark.parametrize(
    "query",
    [
        Query("c").where("t", "array-contains", ["a"]),
        Query("c").where("t", "array-contains-any", [["a"], "a"]),
        Query("c").where("s", "==", {"": 1}),
        Query("c").where("s", "<", [[1]]),
        Query("c").where("s", "in", [[[1]], "b"]),
        Query("c").where("n", "==", 2**64),
    ],
)
def test_values_no_document_holds_are_never_sent(query: Query) -> None:
    """The emulator takes them, but they are not values Firestore stores (its SDKs
    refuse some of them): the query runs them in Python."""
    plan = firestore_query.plan(query)
    assert plan.server == () and not plan.exact


def _compares_structures(query: Query, docs: list[Document]) -> bool:
    """Whether the query orders or range-compares array or map values, where Firestore's
    order (element by element) and the port's reference (JSON text) differ."""
    structured = (list, tuple, dict)
    compared = {f for f, _ in normalized_orders(query)}
    for flt in query.filters:
        if flt.op in ("<", "<=", ">", ">=") and isinstance(flt.value, structured):
            return True
    cursors = [v for bound in (query.start, query.end) if bound for v in bound[0]]
    if any(isinstance(v, structured) for v in cursors):
        return True
    return any(isinstance(d.get(f), structured) for d in docs for f in compared)


@pytest.fixture(scope="module")
def shared_store(firestore_emulator: Emulator) -> Iterator[FirestoreStore]:
    with FirestoreStore.open(firestore_emulator.new_project()) as store:
        yield store


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs=documents, query=queries())
def test_firestore_agrees_with_python_matcher(
    shared_store: FirestoreStore, docs: dict[str, dict[str, Any]], query: Query
) -> None:
    stored = [Document("h", k, v, 1) for k, v in docs.items()]
    assume(not _compares_structures(query, stored))
    old = [Write("delete", "h", d.id) for d in shared_store.query(Query("h"))]
    shared_store.commit(old + [Write("set", "h", k, v) for k, v in docs.items()])
    expected = ids(matching.evaluate(stored, query))
    assert ids(shared_store.query(query)) == expected
    assert shared_store.count(query) == len(expected)


# -- opening: settings and what goes wrong ------------------------------------------------


def _settings(tmp_path: Path, **values: Any) -> config.Settings:
    return config.load(environ={}, data_dir=tmp_path / "data", store_backend="firestore", **values)


def test_open_store_from_settings(firestore_project: str, tmp_path: Path) -> None:
    store = bootstrap.open_store(_settings(tmp_path, firestore_project=firestore_project))
    try:
        assert isinstance(store, FirestoreStore)
        assert firestore_project in store.where
    finally:
        store.close()


@pytest.fixture
def no_google_setup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No emulator, no key, no gcloud login, not on a Google machine."""
    monkeypatch.delenv(EMULATOR_ENV, raising=False)
    monkeypatch.delenv(CREDENTIALS_ENV, raising=False)
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    return monkeypatch


@pytest.mark.parametrize(
    ("env", "project", "error", "match"),
    [
        ({EMULATOR_ENV: "{emulator}"}, "", ValidationError, "No Firestore project"),
        ({EMULATOR_ENV: "{emulator}"}, "My Project", ValidationError, "not a Google Cloud"),
        ({EMULATOR_ENV: "127.0.0.1:{dead}"}, "p1", StorageError, "not answering"),
        ({}, "p1", ValidationError, "No Firestore credentials"),
        ({CREDENTIALS_ENV: "/no/such/key.json"}, "p1", ValidationError, "/no/such/key.json"),
    ],
)
def test_misconfiguration_is_a_known_error(
    no_google_setup: pytest.MonkeyPatch,
    firestore_emulator: Emulator,
    tmp_path: Path,
    env: dict[str, str],
    project: str,
    error: type[Exception],
    match: str,
) -> None:
    for name, value in env.items():
        no_google_setup.setenv(
            name, value.format(emulator=firestore_emulator.host, dead=free_port())
        )
    started = time.monotonic()
    with pytest.raises(error, match=match) as raised:
        bootstrap.open_store(_settings(tmp_path, firestore_project=project))
    assert raised.value.hint  # says what to do
    assert time.monotonic() - started < 10


def test_unreachable_project_with_a_real_key_is_a_known_error(
    no_google_setup: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key = _service_account_key(tmp_path / "key.json", project="tfos-offline")
    no_google_setup.setenv(CREDENTIALS_ENV, str(key))
    with pytest.raises(StorageError, match="Firestore project tfos-offline is not answering"):
        bootstrap.open_store(_settings(tmp_path))


def _service_account_key(path: Path, *, project: str) -> Path:
    """A well-formed service-account key of a project this machine cannot reach."""
    import json

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    key = {
        "type": "service_account",
        "project_id": project,
        "private_key_id": "0",
        "private_key": pem,
        "client_email": f"tfos@{project}.iam.gserviceaccount.com",
        "client_id": "0",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    path.write_text(json.dumps(key))
    return path


def test_cli_explains_a_missing_project_without_traceback(
    no_google_setup: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    no_google_setup.setenv(EMULATOR_ENV, "127.0.0.1:1")
    code = cli.main(["serve", "--store-backend", "firestore", "--data-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: No Firestore project is set.") and "Traceback" not in err
    assert "--firestore-project" in err


def test_listener_on_a_filter_finished_in_python(firestore_store: FirestoreStore) -> None:
    firestore_store.commit(
        [Write("set", "c", "x", {"s": "a"}), Write("set", "c", "y", {"s": None})]
    )
    rec = Recorder()
    listener = firestore_store.on_snapshot(Query("c").where("s", "!=", "a"), rec)
    assert rec.next_summary() == [("added", "y")]
    firestore_store.commit([Write("update", "c", "x", {"s": None})])
    assert rec.next_summary() == [("added", "x")]
    firestore_store.commit([Write("update", "c", "y", {"s": "a"}), Write("set", "c", "z", {})])
    assert rec.next_summary() == [("removed", "y")]
    listener.unsubscribe()


def test_a_document_firestore_cannot_hold_is_refused_whole(firestore_store: FirestoreStore) -> None:
    firestore_store.commit([Write("set", "c", "x", {"a": 1})])
    with pytest.raises(ValidationError, match="refused the commit") as err:
        firestore_store.commit(
            [Write("update", "c", "x", {"a": 2}), Write("set", "c", "big", {"s": "x" * 1_100_000})]
        )
    assert "1 MiB" in err.value.hint
    assert firestore_store.get("c", "x") == Document("c", "x", {"a": 1}, 1)
    assert firestore_store.get("c", "big") is None


# -- the whole domain on Firestore --------------------------------------------------------


def _demo_kpis(settings: config.Settings) -> dict[str, Any]:
    from app.services.demo import generate

    runtime = bootstrap.build(settings)
    try:
        generate(runtime.ctx, groups=2, members=5, months=2, seed=11, end=date(2026, 11, 2))
        return runtime.services.kpis.kpis().to_json()
    finally:
        runtime.close()


def test_the_same_demo_gives_the_same_kpis_on_sqlite_and_firestore(
    firestore_project: str, tmp_path: Path
) -> None:
    on_sqlite = _demo_kpis(config.load(environ={}, data_dir=tmp_path / "sqlite"))
    on_firestore = _demo_kpis(_settings(tmp_path, firestore_project=firestore_project))
    assert on_firestore == on_sqlite
    assert on_sqlite["loans"]["count"] > 0 and on_sqlite["active_members"] > 0
