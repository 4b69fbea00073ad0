"""Pure-Python query evaluation: filters, ordering and cursors over documents.

The SQLite backend pushes queries into SQL; this module is the reference it must
agree with (a property test checks that), and what snapshot listeners use to decide
whether a changed document belongs to a result.

Value order (Firestore's, restricted to JSON): values of different kinds never
compare equal and sort by kind first: null < booleans < numbers < strings < arrays <
maps. Within a kind: false < true; integers and floats compare numerically
(``1 == 1.0``); strings by code point (the same as UTF-8 byte order); arrays and maps
by their canonical JSON text (sorted keys, no spaces), which is also how they compare
for equality. Range filters (``<`` ``<=`` ``>`` ``>=``) only match values of the same
kind as the filter value. A document lacking a filtered or ordered field never matches.
Results are ordered by :func:`~app.services.store.port.normalized_orders` (an inequality
filter also orders by its field, as in Firestore), then by id.
``!=`` and ``not-in`` match every document that has the field (null included) with a
value not equal to the operand(s), except that a ``not-in`` list holding null matches
nothing (as in Firestore).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from app.kernel.errors import ValidationError
from app.services.store.limits import check_field_path, check_name
from app.services.store.port import (
    Change,
    Direction,
    Document,
    Filter,
    Query,
    get_path,
    normalized_orders,
)

MISSING: Any = object()

NULL, BOOLEAN, NUMBER, STRING, ARRAY, MAP = range(6)

OPS = frozenset(
    ["==", "!=", "<", "<=", ">", ">=", "in", "not-in", "array-contains", "array-contains-any"]
)
LIST_OPS = frozenset(["in", "not-in", "array-contains-any"])
RANGE_OPS = frozenset(["<", "<=", ">", ">="])
_SURROGATE = re.compile("[\ud800-\udfff]")


_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical_json(value: Any) -> str:
    """The one JSON text of a value: sorted keys, no spaces, UTF-8 kept as is."""
    return _CANONICAL.encode(value)


def kind(value: Any) -> int:
    """The rank of a value's kind in the value order."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int | float):
        return NUMBER
    if isinstance(value, str):
        return STRING
    if isinstance(value, list | tuple):
        return ARRAY
    if isinstance(value, dict):
        return MAP
    raise ValidationError(
        f"A query value of type {type(value).__name__} cannot be stored or compared.",
        hint="Use None, a bool, an int, a float, a str, a list or a dict.",
    )


def sort_key(value: Any) -> tuple[int, Any]:
    """A key that orders values of any kind by the value order."""
    rank = kind(value)
    if rank == NULL:
        return (NULL, 0)
    if rank == BOOLEAN:
        return (BOOLEAN, int(value))
    if rank in (ARRAY, MAP):
        return (rank, canonical_json(value))
    return (rank, value)


def compare(a: Any, b: Any) -> int:
    ka, kb = sort_key(a), sort_key(b)
    return (ka > kb) - (ka < kb)


def equal(a: Any, b: Any) -> bool:
    return sort_key(a) == sort_key(b)


def _any_equal(value: Any, candidates: Iterable[Any]) -> bool:
    return any(equal(value, c) for c in candidates)


def matches_filter(data: dict[str, Any], flt: Filter) -> bool:
    value = get_path(data, flt.field, MISSING)
    if value is MISSING:
        return False
    op = flt.op
    if op == "==":
        return equal(value, flt.value)
    if op == "!=":
        return not equal(value, flt.value)
    if op == "in":
        return _any_equal(value, flt.value)
    if op == "not-in":
        return None not in flt.value and not _any_equal(value, flt.value)
    if op == "array-contains":
        return isinstance(value, list) and _any_equal(flt.value, value)
    if op == "array-contains-any":
        return isinstance(value, list) and any(_any_equal(v, value) for v in flt.value)
    if kind(value) != kind(flt.value):
        return False
    c = compare(value, flt.value)
    return {"<": c < 0, "<=": c <= 0, ">": c > 0, ">=": c >= 0}[op]


def matches(doc: Document, query: Query) -> bool:
    """Whether ``doc`` passes the query's filters and has every ordered field.

    Cursors, offset and limit are positional and are not considered here.
    """
    if doc.collection != query.collection:
        return False
    if any(get_path(doc.data, f, MISSING) is MISSING for f, _ in normalized_orders(query)):
        return False
    return all(matches_filter(doc.data, f) for f in query.filters)


def sort_keys(query: Query) -> list[tuple[str | None, Direction]]:
    """The full ordering: the ordered fields (explicit, then implied by inequality
    filters), then the id (``None``) in the last direction."""
    orders = normalized_orders(query)
    last: Direction = orders[-1][1] if orders else "asc"
    return [*orders, (None, last)]


def _compare_key(doc: Document, field: str | None, other: Any) -> int:
    if field is None:
        return (doc.id > other) - (doc.id < other)
    return compare(doc.get(field), other)


def compare_to_cursor(doc: Document, query: Query, cursor: Sequence[Any]) -> int:
    """Sign of ``doc``'s position relative to a cursor (a prefix of the sort keys)."""
    for (field, direction), value in zip(sort_keys(query), cursor, strict=False):
        c = _compare_key(doc, field, value)
        if c:
            return c if direction == "asc" else -c
    return 0


def compare_docs(a: Document, b: Document, query: Query) -> int:
    cursor = [b.id if f is None else b.get(f) for f, _ in sort_keys(query)]
    return compare_to_cursor(a, query, cursor)


def within_cursors(doc: Document, query: Query) -> bool:
    if query.start is not None:
        values, inclusive = query.start
        c = compare_to_cursor(doc, query, values)
        if c < 0 or (c == 0 and not inclusive):
            return False
    if query.end is not None:
        values, inclusive = query.end
        c = compare_to_cursor(doc, query, values)
        if c > 0 or (c == 0 and not inclusive):
            return False
    return True


def order(docs: Iterable[Document], query: Query) -> list[Document]:
    def cmp(a: Document, b: Document) -> int:
        return compare_docs(a, b, query)

    return sorted(docs, key=functools.cmp_to_key(cmp))


def evaluate(docs: Iterable[Document], query: Query) -> list[Document]:
    """The query's result over ``docs``, exactly as a backend must return it."""
    validate_query(query)
    found = order((d for d in docs if matches(d, query)), query)
    found = [d for d in found if within_cursors(d, query)]
    end = None if query.limit_to is None else query.offset_by + query.limit_to
    return found[query.offset_by : end]


def diff(current: dict[str, Document], docs: list[Document]) -> list[Change]:
    """The listener changes that turn the result ``current`` (by id) into ``docs``:
    removals, then additions and modifications in the order of ``docs``."""
    ids = {d.id for d in docs}
    changes = [Change("removed", d) for i, d in current.items() if i not in ids]
    for doc in docs:
        old = current.get(doc.id)
        if old is None:
            changes.append(Change("added", doc))
        elif old.version != doc.version:
            changes.append(Change("modified", doc))
    return changes


def _check_filter(flt: Filter) -> None:
    check_field_path(flt.field)
    if flt.op not in OPS:
        raise ValidationError(
            f"Unknown query operator {flt.op!r}.", hint=f"Use one of {', '.join(sorted(OPS))}."
        )
    if flt.op in LIST_OPS:
        if not isinstance(flt.value, list | tuple):
            raise ValidationError(
                f"The {flt.op!r} filter on {flt.field!r} needs a list of values.",
                hint="Pass a list, e.g. ['new', 'active'].",
            )
        for v in flt.value:
            _check_operand(v)
    else:
        _check_operand(flt.value)


def _check_operand(value: Any) -> None:
    """A value a query compares with: of a storable kind, and with no unpaired
    surrogate in its text (no stored text holds one, and SQL cannot bind one)."""
    kind(value)
    if isinstance(value, str):
        if _SURROGATE.search(value):
            raise ValidationError(
                "A search value holds an unpaired surrogate, which no stored text holds.",
                hint="Search for the text without it.",
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_operand(key)
            _check_operand(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_operand(item)


def validate_query(query: Query) -> None:
    """Raise ``ValidationError`` for a query no backend can run."""
    check_name("collection", query.collection)
    for flt in query.filters:
        _check_filter(flt)
    for path, direction in query.orders:
        check_field_path(path)
        if direction not in ("asc", "desc"):
            raise ValidationError(f"Unknown order direction {direction!r}.", hint="Use asc/desc.")
    if (query.limit_to is not None and query.limit_to < 0) or query.offset_by < 0:
        raise ValidationError("A query limit or offset is negative.", hint="Use 0 or more.")
    for bound in (query.start, query.end):
        if bound is not None:
            _check_cursor(query, bound[0])


def _check_cursor(query: Query, values: tuple[Any, ...]) -> None:
    keys = sort_keys(query)
    if not values or len(values) > len(keys):
        raise ValidationError(
            f"A cursor has {len(values)} values but the query orders by {len(keys) - 1} fields"
            " (inequality filters order by their field too).",
            hint="Give one value per order_by field (optionally then the document id).",
        )
    for (field, _), value in zip(keys, values, strict=False):
        if field is None and not isinstance(value, str):
            raise ValidationError("The last cursor value must be a document id (a string).")
        _check_operand(value)
