"""Translation of a :class:`Query` into one SQLite statement over ``docs``.

Each field is read as two expressions: its *kind* (``CASE json_type(...)``: 0 null,
1 boolean, 2 number, 3 string, 4 array, 5 map; NULL when the field is missing) and its
*value* (``json_extract``: booleans become 0/1, arrays and maps their JSON text). Sorting
and comparing the pair ``(kind, value)`` reproduces the value order of
:mod:`app.services.store.matching`, because documents are stored as canonical JSON.
Expression indexes ``(kind, value)`` on a field, partial to one collection, let filters,
orders and cursors on that field seek instead of scanning; the query inlines the same
expressions and the collection literal so that the planner can match them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.services.store import matching
from app.services.store.port import Direction, Filter, Query, normalized_orders

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_KIND_CASE = (
    "CASE {} WHEN 'null' THEN 0 WHEN 'true' THEN 1 WHEN 'false' THEN 1 WHEN 'integer' THEN 2 "
    "WHEN 'real' THEN 2 WHEN 'text' THEN 3 WHEN 'array' THEN 4 WHEN 'object' THEN 5 END"
)
_INDEXED_OPS = frozenset(["==", "<", "<=", ">", ">=", "in"])


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def json_path(field_path: str) -> str:
    parts = (p if _IDENT.match(p) else f'"{p}"' for p in field_path.split("."))
    return "$." + ".".join(parts)


def kind_expr(field_path: str) -> str:
    return _KIND_CASE.format(f"json_type(data, {literal(json_path(field_path))})")


def value_expr(field_path: str) -> str:
    return f"json_extract(data, {literal(json_path(field_path))})"


def bind(value: Any) -> Any:
    """The SQL parameter standing for a JSON value (compared with ``value_expr``)."""
    rank = matching.kind(value)
    if rank == matching.BOOLEAN:
        return int(value)
    if rank in (matching.ARRAY, matching.MAP):
        return matching.canonical_json(value)
    return value


def index_statement(collection: str, field_path: str) -> tuple[str, str]:
    """Name and ``CREATE INDEX`` statement of the (kind, value) index of a field."""
    digest = hashlib.sha1(f"{collection}\0{field_path}".encode()).hexdigest()[:16]
    name = f"ix_docs_{digest}"
    sql = (
        f'CREATE INDEX IF NOT EXISTS "{name}" ON docs '
        f"({kind_expr(field_path)}, {value_expr(field_path)}) "
        f"WHERE collection = {literal(collection)}"
    )
    return name, sql


@dataclass
class Plan:
    """One SQL statement with its parameters and the fields worth an index."""

    sql: str
    params: list[Any]
    indexed_fields: set[str] = field(default_factory=set)


class _Builder:
    def __init__(self, query: Query) -> None:
        self.query = query
        self.orders = normalized_orders(query)
        self.params: list[Any] = []
        self.indexed: set[str] = set()

    def where(self) -> str:
        terms = [f"collection = {literal(self.query.collection)}"]
        terms += [self._filter(f) for f in self.query.filters]
        terms += [f"{kind_expr(path)} IS NOT NULL" for path, _ in self.orders]
        self.indexed.update(path for path, _ in self.orders)
        if self.query.start is not None:
            values, inclusive = self.query.start
            terms.append(self._cursor(values, after=True, inclusive=inclusive))
        if self.query.end is not None:
            values, inclusive = self.query.end
            terms.append(self._cursor(values, after=False, inclusive=inclusive))
        return " AND ".join(terms)

    def order_by(self) -> str:
        parts = []
        for path, direction in self.orders:
            d = direction.upper()
            parts.append(f"{kind_expr(path)} {d}, {value_expr(path)} {d}")
        parts.append(f"id {matching.sort_keys(self.query)[-1][1].upper()}")
        return ", ".join(parts)

    def limit(self) -> str:
        limit = -1 if self.query.limit_to is None else self.query.limit_to
        self.params += [limit, self.query.offset_by]
        return "LIMIT ? OFFSET ?"

    def _eq(self, path: str, value: Any) -> str:
        return self._compare(path, "=", value)

    def _compare(self, path: str, op: str, value: Any) -> str:
        rank = matching.kind(value)
        if rank == matching.NULL:
            return f"{kind_expr(path)} = 0" if "=" in op else "0"
        self.params += [rank, bind(value)]
        return f"({kind_expr(path)} = ? AND {value_expr(path)} {op} ?)"

    def _in(self, path: str, values: Sequence[Any]) -> str:
        """One ``kind = ? AND value IN (...)`` per kind of value among ``values``: the
        field's index then seeks each value (ORed equalities made SQLite scan them all)."""
        by_kind: dict[int, list[Any]] = {}
        for v in values:
            by_kind.setdefault(matching.kind(v), []).append(bind(v))
        terms = [f"{kind_expr(path)} = 0" for rank in by_kind if rank == matching.NULL]
        for rank, bound in by_kind.items():
            if rank != matching.NULL:
                self.params += [rank, *bound]
                marks = ", ".join("?" * len(bound))
                terms.append(f"({kind_expr(path)} = ? AND {value_expr(path)} IN ({marks}))")
        return "(" + " OR ".join(terms) + ")" if terms else "0"

    def _filter(self, flt: Filter) -> str:
        path, op, value = flt.field, flt.op, flt.value
        if op in _INDEXED_OPS:
            self.indexed.add(path)
        if op == "==":
            return self._eq(path, value)
        if op == "!=":
            return f"({kind_expr(path)} IS NOT NULL AND NOT {self._eq(path, value)})"
        if op == "in":
            return self._in(path, value)
        if op == "not-in" and None in value:
            return "0"
        if op == "not-in":
            return f"({kind_expr(path)} IS NOT NULL AND NOT {self._in(path, value)})"
        if op in ("array-contains", "array-contains-any"):
            return self._contains(path, [value] if op == "array-contains" else list(value))
        return self._compare(path, op, value)

    def _contains(self, path: str, values: list[Any]) -> str:
        terms = []
        for v in values:
            rank = matching.kind(v)
            if rank == matching.NULL:
                terms.append("e.type = 'null'")
            else:
                self.params += [rank, bind(v)]
                terms.append(f"({_KIND_CASE.format('e.type')} = ? AND e.value = ?)")
        if not terms:
            return "0"
        source = f"json_each(data, {literal(json_path(path))}) AS e"
        return (
            f"({kind_expr(path)} = 4 AND EXISTS (SELECT 1 FROM {source} "
            f"WHERE {' OR '.join(terms)}))"
        )

    def _cursor(self, values: Sequence[Any], *, after: bool, inclusive: bool) -> str:
        keys = matching.sort_keys(self.query)[: len(values)]
        directions = {d for _, d in keys}
        if len(directions) == 1 and all(v is not None for v in values):
            return self._row_value_cursor(keys, values, after=after, inclusive=inclusive)
        return self._expanded_cursor(keys, values, after=after, inclusive=inclusive)

    def _row_value_cursor(
        self,
        keys: list[tuple[str | None, Direction]],
        values: Sequence[Any],
        *,
        after: bool,
        inclusive: bool,
    ) -> str:
        columns: list[str] = []
        for (path, _), value in zip(keys, values, strict=True):
            if path is None:
                columns.append("id")
                self.params.append(value)
            else:
                columns += [kind_expr(path), value_expr(path)]
                self.params += [matching.kind(value), bind(value)]
        op = ">" if after == (keys[0][1] == "asc") else "<"
        op += "=" if inclusive else ""
        marks = ", ".join("?" * len(columns))
        return f"(({', '.join(columns)}) {op} ({marks}))"

    def _expanded_cursor(
        self,
        keys: list[tuple[str | None, Direction]],
        values: Sequence[Any],
        *,
        after: bool,
        inclusive: bool,
    ) -> str:
        """Lexicographic comparison written out: for mixed directions or null values."""
        alternatives = []
        for j, (path, direction) in enumerate(keys):
            op = ">" if after == (direction == "asc") else "<"
            ties = [self._key_eq(p, v) for (p, _), v in zip(keys[:j], values, strict=False)]
            ties.append(self._key_beyond(path, op, values[j]))
            alternatives.append("(" + " AND ".join(ties) + ")")
        if inclusive:
            ties = [self._key_eq(p, v) for (p, _), v in zip(keys, values, strict=True)]
            alternatives.append("(" + " AND ".join(ties) + ")")
        return "(" + " OR ".join(alternatives) + ")"

    def _key_eq(self, path: str | None, value: Any) -> str:
        if path is None:
            self.params.append(value)
            return "id = ?"
        return self._eq(path, value)

    def _key_beyond(self, path: str | None, op: str, value: Any) -> str:
        if path is None:
            self.params.append(value)
            return f"id {op} ?"
        rank = matching.kind(value)
        self.params.append(rank)
        kind_sql = kind_expr(path)
        if rank == matching.NULL:
            return f"{kind_sql} {op} ?"
        same = self._compare(path, op, value)
        return f"({kind_sql} {op} ? OR {same})"


def select(query: Query) -> Plan:
    """``SELECT id, data, version`` for the query, fully ordered, with limit and offset."""
    matching.validate_query(query)
    b = _Builder(query)
    where = b.where()
    order = b.order_by()
    limit = b.limit()
    sql = f"SELECT id, data, version FROM docs WHERE {where} ORDER BY {order} {limit}"
    return Plan(sql, b.params, b.indexed)


def count(query: Query) -> Plan:
    matching.validate_query(query)
    b = _Builder(query)
    where = b.where()
    positional = query.limit_to is not None or query.offset_by
    if not positional:
        return Plan(f"SELECT count(*) FROM docs WHERE {where}", b.params, b.indexed)
    inner = f"SELECT 1 FROM docs WHERE {where} ORDER BY {b.order_by()} {b.limit()}"
    return Plan(f"SELECT count(*) FROM ({inner})", b.params, b.indexed)
