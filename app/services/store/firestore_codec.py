"""How a port document is laid out in Firestore, and back.

Paths. Every collection of the port lives under one root document: the port's
``(collection, id)`` is the Firestore document ``tfos/store/{collection}/{id}``. The
root document ``tfos/store`` itself holds the store's metadata
(``last_applied_lsn``), so no domain collection can collide with it, and other roots
(``tfos/log`` for the log) can sit beside it.

Fields. A Firestore document has exactly two fields: ``d``, a map holding the port
document's data, and ``v``, its version (an integer). Domain data never shares a level
with a reserved name, so any domain key is allowed, ``"v"`` and ``"d"`` included. A
port field path ``"a.b"`` is the Firestore field path ``d.a.b`` (each part quoted with
backticks where Firestore needs it).

Values Firestore cannot hold are escaped reversibly:

- map keys that are empty, or reserved by Firestore (``__name__``-like: ``__…__``), or
  that start with ``~`` get a ``~`` in front (``""`` → ``"~"``, ``"~x"`` → ``"~~x"``);
- an array directly inside an array becomes the map ``{"~a": [...]}`` (Firestore
  refuses arrays in arrays). No escaped key can be ``"~a"``, so the wrapper is never
  mistaken for data.

Collection names and document ids that Firestore reserves (``.``, ``..``, ``__…__``)
are refused. Queries compare Firestore's values: numbers, strings, booleans and null
order as the port says; arrays and maps compare element by element (the SQLite
backend compares their JSON text), which only matters for range filters, orders and
cursors over array or map values.
"""

from __future__ import annotations

from typing import Any

from google.cloud.firestore_v1.field_path import FieldPath

from app.kernel.errors import ValidationError
from app.services.store.port import Document

ROOT_COLLECTION, ROOT_ID = "tfos", "store"
DATA, VERSION = "d", "v"
LAST_LSN = "last_applied_lsn"
ESCAPE = "~"
NESTED_ARRAY = "~a"
MAX_NAME_BYTES = 1500


def _reserved(name: str) -> bool:
    return len(name) >= 4 and name.startswith("__") and name.endswith("__")


def escape_key(key: str) -> str:
    if not key or key.startswith(ESCAPE) or _reserved(key):
        return ESCAPE + key
    return key


def unescape_key(key: str) -> str:
    return key[1:] if key.startswith(ESCAPE) else key


def encode(value: Any) -> Any:
    """A JSON value as Firestore can store it (see the module docstring)."""
    if isinstance(value, dict):
        return {escape_key(k): encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode_element(item) for item in value]
    return value


def encode_element(item: Any) -> Any:
    """An array's element as Firestore stores it (an array is wrapped in a map)."""
    return {NESTED_ARRAY: encode(item)} if isinstance(item, list | tuple) else encode(item)


def decode(value: Any) -> Any:
    """The JSON value :func:`encode` was given."""
    if isinstance(value, dict):
        if len(value) == 1 and NESTED_ARRAY in value:
            return decode(value[NESTED_ARRAY])
        return {unescape_key(k): decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(item) for item in value]
    return value


def field_path(path: str) -> str:
    """The Firestore field path of a port field path (``"a.b"`` → ``d.a.b``)."""
    return FieldPath(DATA, *(escape_key(part) for part in path.split("."))).to_api_repr()


def check_name(what: str, name: str) -> None:
    """Refuse the collection names and document ids Firestore reserves."""
    if name in (".", "..") or _reserved(name) or len(name.encode()) > MAX_NAME_BYTES:
        raise ValidationError(
            f"{name[:80]!r} cannot be a Firestore {what} name.",
            hint="Avoid '.', '..', names like __x__ and names over 1,500 bytes.",
        )


def stored(data: dict[str, Any], version: int) -> dict[str, Any]:
    """The Firestore fields of a document holding ``data`` at ``version``."""
    return {DATA: encode(data), VERSION: version}


def document(collection: str, doc_id: str, fields: dict[str, Any] | None) -> Document | None:
    """The port document held in a Firestore document's fields (None = absent)."""
    if fields is None:
        return None
    return Document(collection, doc_id, decode(fields.get(DATA, {})), int(fields.get(VERSION, 0)))
