"""Types of the document-store port (see package docstring)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

Op = Literal[
    "==", "!=", "<", "<=", ">", ">=", "in", "not-in", "array-contains", "array-contains-any"
]
Direction = Literal["asc", "desc"]
ChangeKind = Literal["added", "modified", "removed"]
WriteKind = Literal["set", "merge", "update", "delete"]


@dataclass(frozen=True)
class Document:
    """A stored document: its collection, id, data and version."""

    collection: str
    id: str
    data: dict[str, Any]
    version: int

    def get(self, path: str, default: Any = None) -> Any:
        """Value at a dotted field path (``"a.b"``), or ``default``."""
        return get_path(self.data, path, default)


@dataclass(frozen=True)
class Filter:
    field: str
    op: Op
    value: Any


@dataclass(frozen=True)
class Query:
    """An immutable query builder: ``Query("loans").where("status", "==", "new").limit(10)``."""

    collection: str
    filters: tuple[Filter, ...] = ()
    orders: tuple[tuple[str, Direction], ...] = ()
    limit_to: int | None = None
    offset_by: int = 0
    start: tuple[tuple[Any, ...], bool] | None = None  # (cursor values, inclusive)
    end: tuple[tuple[Any, ...], bool] | None = None

    def where(self, field_path: str, op: Op, value: Any) -> Query:
        return replace(self, filters=(*self.filters, Filter(field_path, op, value)))

    def order_by(self, field_path: str, direction: Direction = "asc") -> Query:
        return replace(self, orders=(*self.orders, (field_path, direction)))

    def limit(self, count: int) -> Query:
        return replace(self, limit_to=count)

    def offset(self, count: int) -> Query:
        return replace(self, offset_by=count)

    def start_at(self, *values: Any) -> Query:
        return replace(self, start=(_cursor(self, values), True))

    def start_after(self, *values: Any) -> Query:
        return replace(self, start=(_cursor(self, values), False))

    def end_at(self, *values: Any) -> Query:
        return replace(self, end=(_cursor(self, values), True))

    def end_before(self, *values: Any) -> Query:
        return replace(self, end=(_cursor(self, values), False))


def _cursor(query: Query, values: tuple[Any, ...]) -> tuple[Any, ...]:
    """A cursor is order-by values; a Document stands for its own values (then its id)."""
    if len(values) == 1 and isinstance(values[0], Document):
        doc = values[0]
        return (*(doc.get(f) for f, _ in normalized_orders(query)), doc.id)
    return values


INEQUALITY_OPS = frozenset(["<", "<=", ">", ">=", "!=", "not-in"])


def normalized_orders(query: Query) -> tuple[tuple[str, Direction], ...]:
    """The order a query's results take (Firestore's rule): the explicit orders, then
    each field with an inequality filter not already ordered (by field path), in the
    direction of the last explicit order; the document id breaks the remaining ties."""
    last: Direction = query.orders[-1][1] if query.orders else "asc"
    ordered = {f for f, _ in query.orders}
    implicit = {f.field for f in query.filters if f.op in INEQUALITY_OPS} - ordered
    extra = sorted(implicit, key=lambda path: path.split("."))
    return (*query.orders, *((f, last) for f in extra))


@dataclass(frozen=True)
class Write:
    """One document mutation.

    ``set`` replaces the document; ``merge`` deep-merges into it (creating it if
    absent); ``update`` sets dotted field paths and requires the document to exist;
    ``delete`` removes it. ``expect_version`` (if given) must equal the stored version
    (0 = must not exist) or the whole commit fails with ``Conflict``.
    """

    kind: WriteKind
    collection: str
    id: str
    data: dict[str, Any] = field(default_factory=dict)
    expect_version: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"op": self.kind, "collection": self.collection, "id": self.id}
        if self.kind != "delete":
            out["data"] = self.data
        return out

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Write:
        return cls(raw["op"], raw["collection"], raw["id"], raw.get("data", {}))


@dataclass(frozen=True)
class Change:
    """A listener event: a document was added to, modified in or removed from a result."""

    kind: ChangeKind
    document: Document


class Listener(Protocol):
    def unsubscribe(self) -> None: ...


class DocumentStore(Protocol):
    """What every backend offers. Reads are consistent snapshots; writes are atomic."""

    def get(self, collection: str, doc_id: str) -> Document | None: ...

    def get_many(self, collection: str, ids: Iterable[str]) -> dict[str, Document]: ...

    def query(self, query: Query) -> list[Document]: ...

    def stream(self, query: Query) -> Iterator[Document]: ...

    def count(self, query: Query) -> int: ...

    def versions(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """Current version of each (collection, id); 0 for absent documents."""
        ...

    def commit(
        self, writes: Sequence[Write], *, last_lsn: int | None = None, checked: bool = False
    ) -> None:
        """Apply ``writes`` atomically (checking ``expect_version``); optionally record
        ``last_lsn`` (the last WAL sequence number applied) in the same transaction.
        ``checked``: the pipeline of this process checked them against the store limits
        just before their log append, so they are not checked again."""
        ...

    def last_applied_lsn(self) -> int: ...

    def on_snapshot(
        self, target: str | Query, callback: Callable[[list[Change]], None]
    ) -> Listener:
        """Call ``callback`` with the initial result (as ``added``) and then with every
        change to it, including commits made by other processes on the same data."""
        ...

    def watch(self, collection: str, callback: Callable[[list[Change]], None]) -> Listener:
        """``on_snapshot(collection, callback)`` for a listener that only needs to know
        *that* the collection changed (a topic): called once at first, then after every
        commit that touched the collection, here or in another process; the changes may
        be left out (an empty list), so a store need not read or hold the documents."""
        ...

    def close(self) -> None: ...


_MISSING = object()


def get_path(data: dict[str, Any], path: str, default: Any = None) -> Any:
    cur: Any = data
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return default
        cur = cur[part]
    return cur


def apply_data(write: Write, data: dict[str, Any] | None) -> dict[str, Any] | None:
    """The document data ``write`` leaves behind when it finds ``data`` (None: absent).

    Copy on write: the result is a new map wherever it differs from ``data``, and shares
    every value it leaves unchanged with ``data`` and ``write.data``. Document data and
    write data are values, never changed in place once handed to a store (every commit
    goes through here, and copying whole documents was a quarter of a commit's time).

    An update of an absent document is treated as one of an empty document here;
    backends refuse it with ``NotFound`` when they apply it."""
    if write.kind == "delete":
        return None
    if write.kind == "set":
        return write.data
    if write.kind == "merge":
        return deep_merge(data or {}, write.data)
    return set_paths(data or {}, write.data)


def deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``patch`` merged in: maps merge recursively, other values replace
    (copy on write, see :func:`apply_data`)."""
    out = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def set_paths(base: dict[str, Any], updates: dict[str, Any]) -> dict[str, Any]:
    """``base`` with each dotted path of ``updates`` set (missing maps are created; copy
    on write, see :func:`apply_data`)."""
    out = dict(base)
    for path, value in updates.items():
        *parents, last = path.split(".")
        cur = out
        for part in parents:
            child = cur.get(part)
            cur[part] = dict(child) if isinstance(child, dict) else {}
            cur = cur[part]
        cur[last] = value
    return out
