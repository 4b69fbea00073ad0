"""Hypothesis strategies for documents and queries, shared by the backends' property
tests (each backend must agree with the Python matcher, :mod:`app.services.store.matching`)."""

from __future__ import annotations

from hypothesis import strategies as st

from app.services.store import matching
from app.services.store.port import Query, normalized_orders

common = st.sampled_from([None, True, False, 0, 1, 1.0, -1, 2.5, "", "a", "b", "B", "é", "10"])
rare = st.one_of(
    st.sampled_from(["a'b", '"q"', "ab", "a\tb", "z" * 3]),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=False),
)
scalars = st.one_of(common, common, common, rare)
values = st.one_of(
    scalars,
    scalars,
    st.lists(scalars, max_size=3),
    st.dictionaries(st.sampled_from(["x", "y"]), scalars, max_size=2),
)
# Stored text cannot hold NUL (SQLite's JSON cuts it); a query value may.
query_values = st.one_of(values, st.just("\x00"), st.just(["\x00"]))
fields = st.sampled_from(["a", "a", "b", "b", "m.x", "odd key"])
documents = st.dictionaries(
    st.sampled_from([f"d{i}" for i in range(12)]),
    st.fixed_dictionaries(
        {},
        optional={
            "a": values,
            "b": scalars,
            "m": st.one_of(scalars, st.dictionaries(st.sampled_from(["x"]), values)),
            "odd key": scalars,
        },
    ),
    min_size=3,
    max_size=12,
)
ops = st.sampled_from(sorted(matching.OPS))


@st.composite
def queries(draw: st.DrawFn) -> Query:
    q = Query("h")
    for _ in range(draw(st.integers(0, 2))):
        op = draw(ops)
        value = draw(
            st.lists(query_values, max_size=3) if op in matching.LIST_OPS else query_values
        )
        q = q.where(draw(fields), op, value)
    for _ in range(draw(st.integers(0, 2))):
        q = q.order_by(draw(fields), draw(st.sampled_from(["asc", "desc"])))
    for bound in draw(
        st.lists(st.sampled_from(["start_at", "start_after", "end_at", "end_before"]), max_size=2)
    ):
        keys = len(normalized_orders(q))
        n = draw(st.integers(1, keys + 1))
        cursor = [draw(query_values) for _ in range(min(n, keys))]
        if n > keys:
            cursor.append(draw(st.sampled_from([f"d{i}" for i in range(12)])))
        q = getattr(q, bound)(*cursor)
    if draw(st.booleans()):
        q = q.limit(draw(st.integers(0, 6)))
    if draw(st.booleans()):
        q = q.offset(draw(st.integers(0, 2)))
    return q
