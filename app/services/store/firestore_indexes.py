"""The composite indexes the store's queries need in a real Firestore project.

Firestore answers a query from the single-field indexes it keeps by itself when the query
has only equality filters (``==``, ``in``, ``array-contains``, ``array-contains-any``: it
merges those indexes) and orders by at most one field, and no equality besides. Any
other query needs a composite index: its equality fields first (in any order; an array
filter's field as ``CONTAINS``), then the fields it orders by, in order and direction
(the order by document id that the store adds last is implicit). The emulator never asks
for one, so ``firestore.indexes.json`` at the repository's root is generated from the
queries the code makes (``tests/query_shapes.py`` records them while the test suite runs,
and fails the run when one is not covered by the shipped file).

What Firestore is sent is decided by :func:`.firestore_query.plan`: filters it cannot run
and the orders of a query it cannot run whole stay in Python and need no index.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.services.store import firestore_codec as codec
from app.services.store import firestore_query
from app.services.store.port import Query, normalized_orders

EQUALITY = frozenset(["==", "in"])
ARRAY = frozenset(["array-contains", "array-contains-any"])
_ORDER = {"asc": "ASCENDING", "desc": "DESCENDING"}


@dataclass(frozen=True)
class Index:
    """A composite index: the collection, its equality fields (field path, mode) and its
    ordered fields (field path, ``ASCENDING``/``DESCENDING``)."""

    collection: str
    equalities: frozenset[tuple[str, str]]
    orders: tuple[tuple[str, str], ...]

    def to_json(self) -> dict[str, Any]:
        fields = [
            {"fieldPath": path, "arrayConfig": "CONTAINS"}
            if mode == "CONTAINS"
            else {"fieldPath": path, "order": mode}
            for path, mode in sorted(self.equalities)
        ]
        fields += [{"fieldPath": path, "order": direction} for path, direction in self.orders]
        return {"collectionGroup": self.collection, "queryScope": "COLLECTION", "fields": fields}

    @classmethod
    def from_json(cls, raw: dict[str, Any], equalities: int) -> Index:
        """The shipped index ``raw`` read with its first ``equalities`` fields as the
        equality part."""
        fields = [(f["fieldPath"], f.get("order") or f["arrayConfig"]) for f in raw["fields"]]
        return cls(
            raw["collectionGroup"], frozenset(fields[:equalities]), tuple(fields[equalities:])
        )

    def covered_by(self, shipped: list[dict[str, Any]]) -> bool:
        """Whether one of the shipped indexes (``firestore.indexes.json``'s) serves it."""
        count = len(self.equalities)
        return any(
            raw.get("queryScope") == "COLLECTION"
            and len(raw["fields"]) == count + len(self.orders)
            and Index.from_json(raw, count) == self
            for raw in shipped
            if raw["collectionGroup"] == self.collection
        )


def needed(query: Query) -> Index | None:
    """The composite index ``query`` needs in Firestore, or None."""
    plan = firestore_query.plan(query)
    if plan.empty:
        return None
    equalities = {
        (codec.field_path(f.field), "CONTAINS" if f.op in ARRAY else "ASCENDING")
        for f in plan.server
        if f.op in EQUALITY | ARRAY
    }
    ranges = {codec.field_path(f.field) for f in plan.server if f.op not in EQUALITY | ARRAY}
    if plan.exact:
        orders = [(codec.field_path(p), _ORDER[d]) for p, d in normalized_orders(query)]
    else:
        orders = [(path, "ASCENDING") for path in sorted(ranges)]
    ordered = {path for path, _ in orders}
    if len(orders) <= 1 and not (ordered and equalities - {(p, "ASCENDING") for p in ordered}):
        return None
    return Index(query.collection, frozenset(equalities), tuple(orders))


def load(path: Path) -> list[dict[str, Any]]:
    """The indexes of a ``firestore.indexes.json``."""
    return list(json.loads(path.read_text())["indexes"])


def to_json(indexes: set[Index]) -> str:
    """``firestore.indexes.json`` (as the Firebase CLI deploys it) holding ``indexes``."""
    ordered = sorted(indexes, key=lambda i: json.dumps(i.to_json(), sort_keys=True))
    body = {"indexes": [i.to_json() for i in ordered], "fieldOverrides": []}
    return json.dumps(body, indent=2) + "\n"
