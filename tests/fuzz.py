"""What the text property tests share: hostile text, and the checks made afterwards
(stored text is clean, a restart works, the log verifies, the store is its replay)."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from app.kernel.errors import KnownError
from app.kernel.wal import verify_file
from app.services.context import close_context, make_context
from app.services.store.sqlite import SqliteStore
from app.services.store_rebuild import rebuild

NASTY = [
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "\ud83d",
    "\u202eevil\u202c",
    "\u200f\u061c",
    "\u200b\u200c\u200d\u2060\ufeff",
    "\u2066isolate\u2069",
    "\r\n\u2028\u2029\x85\x0b",
    "\t \u00a0\u3000",
    "👨\u200d👩\u200d👧\U0001f3f4\U000e0067\U000e0062\U000e007f",
    "e\u0301 \u0915\u094d\u200d\u0937",
    "\U000f0000\uffff\ufffe",
    "__name__",
    ".",
    "../etc",
    "<script>alert(1)</script>",
    "'; DROP TABLE docs; --",
    '{"$ne": null}',
    "%s%n%x",
]
LONG = ["₹" * 10_000, "a" * 501, "\u200b" * 10_000, "x\x00" * 5_000]
EVERY_FIELD = [
    "a\x00b",
    "Asha Verma-2026 \ud800\x00",
    "x\udfffy \ud83d",
    "\u202eevil\u202c \u200b\u200d\ufeff\u2066i\u2069",
    "line\r\n\u2028two\tend\x85",
    "👨\u200d👩\u200d👧 e\u0301 \u0915\u094d\u200d\u0937",
    "₹" * 10_000,
]
"""Texts every field meets (the deterministic pass): NUL, lone surrogates, bidi and
zero-width marks, line breaks, emoji and combining marks, 10,000 characters."""

_piece = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=12),
    st.sampled_from(NASTY),
    st.sampled_from(["Asha Verma", "school fees", "by phone, 11:02", "आशा", "محمد"]),
)
TEXT = st.one_of(
    st.lists(_piece, max_size=5).map("".join),
    st.sampled_from(LONG),
)
"""Arbitrary Unicode with NUL, lone surrogates, bidi and zero-width marks, emoji,
combining marks and 10,000-character strings mixed in."""

_ALLOWED_FORMAT = frozenset("\u200c\u200d")


def unclean(text: str) -> str | None:
    """Why ``text`` should not have been stored, or None."""
    if unicodedata.normalize("NFC", text) != text:
        return "not NFC"
    for ch in text:
        category = unicodedata.category(ch)
        if category in ("Cs", "Cc") and ch != "\n":
            return f"holds {ch!r} ({category})"
        if category == "Cf" and ch not in _ALLOWED_FORMAT:
            return f"holds {ch!r} ({category})"
    return None


def strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield f"{where}.<key>", key
            yield from strings(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from strings(item, f"{where}[{i}]")


def assert_refused_clearly(exc: BaseException) -> None:
    """A refusal must be a KnownError whose message says what was wrong."""
    assert isinstance(exc, KnownError), f"not a clear refusal: {exc!r}"
    assert exc.message.strip() and exc.code, exc


def check_data_dir(data_dir: Path) -> None:
    """Every stored text (store and WAL) is clean; the data directory opens again; the
    log verifies; a replay of the log gives the store exactly."""
    problems = []
    ctx = make_context(data_dir)
    try:
        assert isinstance(ctx.store, SqliteStore)
        with ctx.store.snapshot() as snap:
            for collection, doc_id, data, _ in snap.rows:
                for where, text in strings(json.loads(data), f"{collection}/{doc_id}"):
                    if why := unclean(text):
                        problems.append(f"{where}: {why}")
        for record in ctx.pipeline.wal.read():
            fields = {"actor": record.actor, "entity": record.entity, "reason": record.reason}
            for where, text in strings(fields, f"record {record.lsn}"):
                if why := unclean(text):
                    problems.append(f"{where}: {why}")
    finally:
        close_context(ctx)
    assert not problems, problems[:20]
    assert verify_file(data_dir / "wal" / "wal.log").ok
    report = rebuild(data_dir / "wal" / "wal.log", data_dir / "store.sqlite3")
    assert report.identical, report.lines()
