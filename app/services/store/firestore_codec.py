"""How a port document is laid out in Firestore, and back.

Paths. Every collection of the port lives under one root document: the port's
``(collection, id)`` is the Firestore document ``tfos/store/{collection}/{id}``. The
root document ``tfos/store`` itself holds the store's metadata
(``last_applied_lsn``), so no domain collection can collide with it, and other roots
sit beside it: ``tfos/log`` (the log, :mod:`.firestore_records`) and ``tfos/leases``
(:mod:`.firestore_leases`).

Fields. A Firestore document has exactly two fields: ``d``, a map holding the port
document's data, and ``v``, its version (an integer). Domain data never shares a level
with a reserved name, so any domain key is allowed, ``"v"`` and ``"d"`` included. A
port field path ``"a.b"`` is the Firestore field path ``d.a.b`` (each part quoted with
backticks where Firestore needs it).

Values are stored as they are: :mod:`.limits` refuses, before anything is logged, every
value Firestore cannot hold under this layout (empty and ``__x__`` keys, lists directly
in lists, paths, depth and sizes counted with the ``d`` in front). Queries compare
Firestore's values: numbers, strings, booleans and null order as the port says; arrays
and maps compare element by element (the SQLite backend compares their JSON text), which
only matters for range filters, orders and cursors over array or map values.
"""

from __future__ import annotations

from typing import Any

from google.cloud.firestore_v1.field_path import FieldPath

from app.services.store.port import Document

ROOT_COLLECTION, ROOT_ID = "tfos", "store"
DATA, VERSION = "d", "v"
LAST_LSN = "last_applied_lsn"


def field_path(path: str) -> str:
    """The Firestore field path of a port field path (``"a.b"`` → ``d.a.b``)."""
    return FieldPath(DATA, *path.split(".")).to_api_repr()


def stored(data: dict[str, Any], version: int) -> dict[str, Any]:
    """The Firestore fields of a document holding ``data`` at ``version``."""
    return {DATA: data, VERSION: version}


def document(collection: str, doc_id: str, fields: dict[str, Any] | None) -> Document | None:
    """The port document held in a Firestore document's fields (None = absent)."""
    if fields is None:
        return None
    return Document(collection, doc_id, fields.get(DATA, {}), int(fields.get(VERSION, 0)))
