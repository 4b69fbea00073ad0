"""What a real Firestore project needs: the composite indexes of the queries the code
makes (``firestore.indexes.json``), and security rules that let no client in directly."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.services.store import Query, Write
from app.services.store.firestore import FirestoreStore
from app.services.store.firestore_client import EMULATOR_ENV
from app.services.store.firestore_indexes import Index, load, needed, to_json
from tests.firestore_emulator import REQUIRED, SKIP_REASON, Emulator, EmulatorMissing
from tests.query_shapes import SHIPPED

ROOT = Path(__file__).resolve().parents[1]
ASC, DESC = "ASCENDING", "DESCENDING"


@pytest.mark.parametrize(
    ("query", "index"),
    [
        (Query("loans"), None),
        (Query("loans").where("status", "==", "new"), None),
        (Query("tickets").where("group_id", "==", "g").where("member_id", "==", "m"), None),
        (Query("loans").where("status", "in", ["a", "b"]).where("member_id", "==", "m"), None),
        (Query("cases").where("tags", "array-contains", "x").where("open", "==", True), None),
        (Query("dues").where("due_date", "<", "2026-11-24"), None),
        (Query("staff").order_by("username"), None),
        (Query("staff").order_by("username", "desc").limit(5), None),
        (Query("dues").where("status", "==", "due").order_by("status"), None),
        (
            Query("tickets").where("group_id", "==", "g").order_by("ticket_no"),
            Index("tickets", frozenset({("d.group_id", ASC)}), (("d.ticket_no", ASC),)),
        ),
        (
            Query("dues").where("status", "==", "due").where("due_date", "<", "2026"),
            Index("dues", frozenset({("d.status", ASC)}), (("d.due_date", ASC),)),
        ),
        (
            Query("loans").order_by("member_id").order_by("applied_at", "desc"),
            Index("loans", frozenset(), (("d.member_id", ASC), ("d.applied_at", DESC))),
        ),
        (
            Query("cases").where("tags", "array-contains", "x").order_by("opened_at"),
            Index("cases", frozenset({("d.tags", "CONTAINS")}), (("d.opened_at", ASC),)),
        ),
        # run in Python, or matching nothing: Firestore is asked for less, or nothing
        (Query("loans").where("status", "!=", "new").order_by("applied_at"), None),
        (Query("loans").where("status", "in", []).order_by("applied_at"), None),
    ],
)
def test_the_index_a_query_needs(query: Query, index: Index | None) -> None:
    assert needed(query) == index


def test_a_shipped_index_covers_its_query_with_equalities_in_any_order() -> None:
    query = Query("dues").where("status", "==", "due").where("group_id", "==", "g")
    index = needed(query.order_by("period"))
    assert index is not None
    raw = json.loads(to_json({index}))["indexes"][0]
    swapped = {**raw, "fields": [raw["fields"][1], raw["fields"][0], raw["fields"][2]]}
    assert index.covered_by([swapped])
    assert not index.covered_by([{**raw, "fields": raw["fields"][:2]}])
    other = needed(query.order_by("period", "desc"))
    assert other is not None and not other.covered_by([raw])


def test_the_shipped_indexes_are_firebase_cli_input() -> None:
    body = json.loads(SHIPPED.read_text())
    assert set(body) == {"indexes", "fieldOverrides"}
    for raw in load(SHIPPED):
        assert raw["queryScope"] == "COLLECTION" and len(raw["fields"]) >= 2
        assert all(f["fieldPath"].startswith("d.") for f in raw["fields"])
    firebase = json.loads((ROOT / "firebase.json").read_text())
    assert firebase["firestore"] == {
        "rules": "firestore.rules",
        "indexes": "firestore.indexes.json",
    }


# -- security rules -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ruled_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """An emulator enforcing the shipped rules (the session's one enforces none)."""
    try:
        emulator = Emulator(tmp_path_factory.mktemp("ruled"), rules=ROOT / "firestore.rules")
    except EmulatorMissing as exc:
        if REQUIRED:
            pytest.fail(f"TFOS_REQUIRE_FIRESTORE is set but {exc}")
        pytest.skip(f"{SKIP_REASON} ({exc})")
    yield emulator
    emulator.stop()


def _rest(emulator: Emulator, path: str, method: str = "GET", body: bytes | None = None) -> int:
    url = f"http://{emulator.host}/v1/{path}"
    request = urllib.request.Request(url, data=body, method=method)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@pytest.mark.firestore
def test_no_client_reads_or_writes_directly(
    ruled_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(EMULATOR_ENV, ruled_emulator.host)
    project = ruled_emulator.new_project()
    with FirestoreStore.open(project) as store:  # the admin SDK is not bound by them
        store.commit([Write("set", "members", "m1", {"name": "Asha"})])
        assert store.get("members", "m1") is not None
    documents = f"projects/{project}/databases/(default)/documents"
    assert _rest(ruled_emulator, f"{documents}/tfos/store/members/m1") == 403
    assert _rest(ruled_emulator, f"{documents}/tfos/log/records") == 403
    write = json.dumps({"fields": {"x": {"stringValue": "y"}}}).encode()
    assert _rest(ruled_emulator, f"{documents}/tfos/store/members/m2", "PATCH", write) == 403
