"""A port :class:`Query` as a Firestore query, and what Python finishes.

Firestore runs a query whole (filters, orders, cursors, offset, limit) when it can
give the port's answer. It cannot for filters whose meaning differs or that it
refuses; those are evaluated in Python by :mod:`.matching` over the documents that
the remaining filters select (no order or limit is sent then):

- ``!=`` with a non-null operand and ``not-in``: Firestore skips null values, the port
  matches them;
- ``in`` and ``array-contains-any`` naming null (Firestore never matches null there),
  ``array-contains`` null, and range filters on null (refused);
- a value Firestore cannot send (a list directly in a list, a map key it reserves, an
  integer beyond 64 bits): no document holds one, but a range filter or ``!=`` may
  still match, and a cursor made of one is evaluated in Python too;
- what Firestore refuses in one query: a second ``!=``, a second array filter, ``in``
  or ``array-contains-any`` lists beyond 30 values, more than 30 disjunctions, or
  ordering by one field twice (then no order, cursor or limit is sent either).

A filter that can match nothing (``in []``, ``array-contains-any []``, ``not-in`` a
list holding null, ``limit(0)``, or a filter or order on a field path no document can
hold, see :func:`.limits.holds_path`) answers without a request.

Listeners do not send the offset (Firestore listens to a plain limit): they listen to
the first ``offset + limit`` documents and drop the first ``offset``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from google.cloud.firestore_v1.base_query import BaseQuery, FieldFilter
from google.cloud.firestore_v1.query import Query as FirestoreQuery

from app.services.store import firestore_codec as codec
from app.services.store import limits, matching
from app.services.store.port import Direction, Document, Filter, Query, normalized_orders

MAX_DISJUNCTIONS = 30
_OPS = {"array-contains": "array_contains", "array-contains-any": "array_contains_any"}
_DIRECTIONS = {"asc": BaseQuery.ASCENDING, "desc": BaseQuery.DESCENDING}
_ARRAY_OPS = frozenset(["array-contains", "array-contains-any"])
_RANGE_OPS = frozenset(["<", "<=", ">", ">="])


@dataclass(frozen=True)
class Plan:
    """How one query runs: ``server`` filters go to Firestore; when ``exact``, so do the
    orders, cursors, offset and limit; ``empty`` means no document can match."""

    query: Query
    server: tuple[Filter, ...]
    exact: bool
    empty: bool = False


def plan(query: Query) -> Plan:
    matching.validate_query(query)
    paths = [path for path, _ in normalized_orders(query)]
    if (
        query.limit_to == 0
        or any(_matches_nothing(f) for f in query.filters)
        or not all(limits.holds_path(path) for path in paths)
    ):
        return Plan(query, (), exact=False, empty=True)
    server: list[Filter] = []
    for flt in query.filters:
        if _runs_on_server(flt, server):
            server.append(flt)
    exact = (
        len(server) == len(query.filters)
        and len(set(paths)) == len(paths)
        and all(sendable(v) for bound in (query.start, query.end) if bound for v in bound[0])
    )
    return Plan(query, tuple(server), exact=exact)


def _matches_nothing(flt: Filter) -> bool:
    if not limits.holds_path(flt.field):
        return True
    if flt.op in ("in", "array-contains-any"):
        return len(flt.value) == 0
    return flt.op == "not-in" and None in flt.value


def _runs_on_server(flt: Filter, chosen: list[Filter]) -> bool:
    op, value = flt.op, flt.value
    if op == "not-in" or (op == "!=" and value is not None):
        return False
    if not _sendable_operand(op, value):
        return False
    if op == "!=":
        return not any(f.op == "!=" for f in chosen)
    if (op in _RANGE_OPS or op == "array-contains") and value is None:
        return False
    if op in ("in", "array-contains-any") and (None in value or len(value) > MAX_DISJUNCTIONS):
        return False
    if op in _ARRAY_OPS and any(f.op in _ARRAY_OPS for f in chosen):
        return False
    return _disjunctions([*chosen, flt]) <= MAX_DISJUNCTIONS


def _sendable_operand(op: str, value: Any) -> bool:
    if op == "in":
        return all(sendable(v) for v in value)
    if op == "array-contains-any":
        return all(sendable(v) and not isinstance(v, list | tuple) for v in value)
    if op == "array-contains":
        return sendable(value) and not isinstance(value, list | tuple)
    return sendable(value)


def sendable(value: Any, depth: int = 0) -> bool:
    """Whether Firestore takes ``value`` in a query (what :mod:`.limits` lets a document
    hold, but any text, NUL included)."""
    if isinstance(value, bool) or value is None or isinstance(value, str | float):
        return True
    if isinstance(value, int):
        return limits.INT64[0] <= value <= limits.INT64[1]
    if depth >= limits.MAX_DEPTH + 1:
        return False
    if isinstance(value, list | tuple):
        return all(not isinstance(v, list | tuple) and sendable(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(_sendable_key(k) and sendable(v, depth + 1) for k, v in value.items())
    return False


def _sendable_key(key: str) -> bool:
    return 0 < len(key.encode()) <= limits.MAX_NAME_BYTES and not (
        len(key) >= 4 and key[:2] == "__" == key[-2:]
    )


def _disjunctions(filters: list[Filter]) -> int:
    sizes = [len(f.value) for f in filters if f.op in ("in", "array-contains-any")]
    return math.prod(sizes)


def build(collection: Any, p: Plan, *, listen: bool = False) -> Any:
    """The Firestore query for plan ``p`` on the collection reference ``collection``."""
    if p.empty:
        return collection.limit(1)  # a listener's cheapest query; its result is dropped
    fs = FirestoreQuery(collection)
    for flt in p.server:
        fs = fs.where(filter=_field_filter(flt))
    if not p.exact:
        return fs
    q = p.query
    orders = _orders(q)
    for path, direction in orders:
        fs = fs.order_by(path, direction=_DIRECTIONS[direction])
    if q.start is not None:
        fs = _cursor(fs, q.start, start=True)
    if q.end is not None:
        fs = _cursor(fs, q.end, start=False)
    if listen:
        if q.limit_to is not None:
            fs = fs.limit(q.offset_by + q.limit_to)
        return fs
    if q.offset_by:
        fs = fs.offset(q.offset_by)
    if q.limit_to is not None:
        fs = fs.limit(q.limit_to)
    return fs


def finish(p: Plan, docs: list[Document], *, listen: bool = False) -> list[Document]:
    """The query's result from the documents the Firestore query of ``p`` returned."""
    if p.empty:
        return []
    if not p.exact:
        return matching.evaluate(docs, p.query)
    if not listen:
        return docs
    q = p.query
    ordered = matching.order(docs, q)
    end = None if q.limit_to is None else q.offset_by + q.limit_to
    return ordered[q.offset_by : end]


def _field_filter(flt: Filter) -> FieldFilter:
    value = list(flt.value) if isinstance(flt.value, tuple) else flt.value
    return FieldFilter(codec.field_path(flt.field), _OPS.get(flt.op, flt.op), value)


def _orders(query: Query) -> list[tuple[str, Direction]]:
    """Firestore's orders: the port's (explicit, then implied by inequalities), then
    the document id in the last direction."""
    orders = [(codec.field_path(path), d) for path, d in normalized_orders(query)]
    last: Direction = orders[-1][1] if orders else "asc"
    return [*orders, ("__name__", last)]


def _cursor(fs: Any, bound: tuple[tuple[Any, ...], bool], *, start: bool) -> Any:
    values, inclusive = bound
    cursor = list(values)
    if start:
        return fs.start_at(cursor) if inclusive else fs.start_after(cursor)
    return fs.end_at(cursor) if inclusive else fs.end_before(cursor)
