"""What every document store can hold: the rules a change must meet before it is logged.

The pipeline checks each change against these rules *before* the WAL append, so a
durable record can always be applied, by SQLite now and by Firestore later; a backend
checks the same rules again when it is handed writes directly. They are Firestore's
limits (https://cloud.google.com/firestore/quotas and /docs/storage-size), restricted
to JSON values:

* text (values, map keys, collection names, document ids) is valid Unicode: no NUL
  (SQLite's JSON functions cut text there) and no lone surrogate (UTF-8 cannot encode
  one);
* a value is None, a bool, an integer in signed 64 bits, a finite float, text, a list or
  a dict with text keys; a list does not hold a list directly;
* a map key is 1 to 1,500 bytes and not of the reserved form ``__name__``; so is an id,
  which also has no ``/`` and is not ``.`` or ``..``; an update's field path is at most
  1,500 bytes;
* maps and lists nest at most 20 deep (a top-level field is at depth 1);
* a document, sized as Firestore sizes it, is at most 1 MiB, and one change's writes
  together at most 10 MiB (Firestore's largest request).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from app.kernel.errors import ValidationError
from app.services.store.port import Write, apply_data

MAX_DEPTH = 20
MAX_NAME_BYTES = 1_500
MAX_DOCUMENT_BYTES = 1_048_576
MAX_CHANGE_BYTES = 10 * MAX_DOCUMENT_BYTES
INT64 = (-(2**63), 2**63 - 1)
_RESERVED = re.compile(r"__.*__", re.DOTALL)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_MAP_OVERHEAD = 32
_NAME_OVERHEAD = 16
_NOTHING_SAVED = "Nothing was saved."

Base = Callable[[str, str], dict[str, Any] | None]
"""The current data of (collection, id), or None when the document does not exist."""


def check_text(text: Any, where: str) -> None:
    """Raise ``ValidationError`` unless ``text`` is a str any store can hold."""
    if not isinstance(text, str):
        raise ValidationError(f"{where} must be text, not {type(text).__name__}.")
    bad = _UNSTORABLE.search(text)
    if bad is not None:
        what = "a NUL character" if bad.group() == "\x00" else "an unpaired surrogate"
        raise ValidationError(f"{where} holds {what}, which cannot be stored.", hint=_NOTHING_SAVED)


def check_name(what: str, name: Any) -> None:
    """A collection name or document id: storable text, 1 to 1,500 bytes, no ``/``,
    not ``.``, ``..`` or ``__name__``."""
    if not isinstance(name, str) or not name or "/" in name or name in (".", ".."):
        raise ValidationError(
            f"{name!r} is not a valid {what} name.", hint="Use a non-empty name without '/'."
        )
    check_text(name, f"The {what} name {name[:40]!r}")
    _check_key_form(name, f"The {what} name {name[:40]!r}")


def check_field_path(path: Any) -> None:
    """A dotted path to a field (``"a.b"``): no empty part and no double quote."""
    if not isinstance(path, str) or not path or any(not p or '"' in p for p in path.split(".")):
        raise ValidationError(
            f"{path!r} is not a usable field path.",
            hint='Use names joined by dots ("a.b"), with no empty part and no double quote.',
        )


def _check_key_form(key: str, where: str) -> None:
    if len(key.encode()) > MAX_NAME_BYTES:
        raise ValidationError(f"{where} is longer than {MAX_NAME_BYTES} bytes.")
    if _RESERVED.fullmatch(key):
        raise ValidationError(f"{where} has the reserved form __name__.")


def check_value(value: Any, where: str, depth: int = 0) -> int:
    """Raise ``ValidationError`` unless ``value`` is storable JSON at nesting ``depth``
    (0 for a whole document or map of fields); its size as Firestore counts it."""
    try:
        return measure(value, depth)
    except _Unstorable:
        _explain(value, where, depth)
        raise AssertionError(f"{where} was refused but not explained") from None


class _Unstorable(Exception):
    """Raised by :func:`measure`; :func:`_explain` then says what and where."""


def measure(value: Any, depth: int = 0) -> int:
    """The size Firestore counts for ``value`` (a map counted like a document: its
    fields plus 32 bytes), or ``_Unstorable``. One pass, building no messages: every
    change goes through here."""
    if isinstance(value, str):
        if _UNSTORABLE.search(value):
            raise _Unstorable
        return (len(value) if value.isascii() else len(value.encode())) + 1
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, int):
        if not INT64[0] <= value <= INT64[1]:
            raise _Unstorable
        return 8
    if isinstance(value, dict):
        if depth >= MAX_DEPTH:
            raise _Unstorable
        total = _MAP_OVERHEAD
        for key, item in value.items():
            total += _key_size(key) + measure(item, depth + 1)
        return total
    if isinstance(value, list | tuple):
        if depth >= MAX_DEPTH:
            raise _Unstorable
        total = 0
        for item in value:
            if isinstance(item, list | tuple):
                raise _Unstorable
            total += measure(item, depth + 1)
        return total
    if isinstance(value, float) and value - value == 0:  # finite: inf - inf and NaN are NaN
        return 8
    raise _Unstorable


def _key_size(key: Any) -> int:
    if not isinstance(key, str) or not key or _UNSTORABLE.search(key):
        raise _Unstorable
    size = len(key) if key.isascii() else len(key.encode())
    if size > MAX_NAME_BYTES or (len(key) >= 4 and key[:2] == "__" == key[-2:]):
        raise _Unstorable
    return size + 1


def _explain(value: Any, where: str, depth: int) -> None:
    """Raise the ``ValidationError`` that says why ``value`` at ``where`` is refused."""
    if isinstance(value, str):
        check_text(value, where)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if not INT64[0] <= value <= INT64[1]:
            raise ValidationError(
                f"{where} is an integer beyond 64 bits.", hint="Store it as text."
            )
    elif isinstance(value, float):
        if value - value != 0:
            raise ValidationError(f"{where} is not a finite number.")
    elif isinstance(value, dict):
        _explain_map(value, where, depth)
    elif isinstance(value, list | tuple):
        _explain_list(value, where, depth)
    else:
        raise ValidationError(
            f"{where} holds a {type(value).__name__}, which cannot be stored.",
            hint="Store None, bool, int, float, str, list or dict (dates as ISO text).",
        )


def _explain_map(value: dict[Any, Any], where: str, depth: int) -> None:
    if depth >= MAX_DEPTH:
        raise ValidationError(f"{where} nests maps and lists more than {MAX_DEPTH} deep.")
    for key, item in value.items():
        if not isinstance(key, str) or not key:
            raise ValidationError(f"{where} has a key {key!r} that is not a non-empty text.")
        check_text(key, f"{where} (a key)")
        _check_key_form(key, f"{where} (the key {key[:40]!r})")
        _explain(item, f"{where}.{key}", depth + 1)


def _explain_list(value: list[Any] | tuple[Any, ...], where: str, depth: int) -> None:
    if depth >= MAX_DEPTH:
        raise ValidationError(f"{where} nests maps and lists more than {MAX_DEPTH} deep.")
    for i, item in enumerate(value):
        if isinstance(item, list | tuple):
            raise ValidationError(
                f"{where}[{i}] is a list directly inside a list, which cannot be stored.",
                hint="Wrap the inner list in a map.",
            )
        _explain(item, f"{where}[{i}]", depth + 1)


def check_write(write: Write) -> int:
    """One write's names, kind, field paths and values; an upper bound of the bytes it
    adds to its document (0 for a delete)."""
    if write.kind not in ("set", "merge", "update", "delete"):
        raise ValidationError(
            f"Unknown write kind {write.kind!r}.", hint="Use set/merge/update/delete."
        )
    check_name("collection", write.collection)
    check_name("document", write.id)
    if write.kind == "delete":
        return 0
    where = f"{write.collection}/{write.id}"
    if not isinstance(write.data, dict):
        raise ValidationError(f"The data for {where} is not a dict.")
    if write.kind != "update":
        return check_value(write.data, where)
    total = 0
    for path, item in write.data.items():
        check_text(path, f"{where} (a field path)")
        check_field_path(path)
        if len(path.encode()) > MAX_NAME_BYTES:
            raise ValidationError(f"{where}: the field path {path[:40]!r} is too long.")
        parts = path.split(".")
        if len(parts) > MAX_DEPTH:
            raise ValidationError(f"{where}: the field {path[:40]!r} is more than 20 deep.")
        for part in parts:
            _check_key_form(part, f"{where} (the field {part[:40]!r})")
        total += len(path.encode()) + 1 + (len(parts) - 1) * _MAP_OVERHEAD
        total += check_value(item, f"{where}.{path}", len(parts))
    return total


# -- sizes (https://firebase.google.com/docs/firestore/storage-size) --------------------


def fields_size(data: dict[str, Any]) -> int:
    """The bytes Firestore counts for a document's fields."""
    return measure(data) - _MAP_OVERHEAD


def document_size(collection: str, doc_id: str, data: dict[str, Any]) -> int:
    """The stored size of a document: its name, its fields and 32 bytes."""
    return _name_size(collection, doc_id) + measure(data)


def _name_size(collection: str, doc_id: str) -> int:
    return len(collection.encode()) + 1 + len(doc_id.encode()) + 1 + _NAME_OVERHEAD


def check_writes(writes: Sequence[Write], base: Base) -> None:
    """Every write is storable (:func:`check_write`), every document the writes leave
    behind is at most 1 MiB, and the writes together at most 10 MiB. ``base`` gives the
    data a merge or update starts from; it is asked only when a document could grow
    past the limit (an exact merge is then worked out)."""
    added = [check_write(write) for write in writes]
    if sum(added) > MAX_CHANGE_BYTES:
        raise ValidationError(
            "One change may write at most 10 MiB in all.", hint="Split it into smaller ones."
        )
    bound: dict[tuple[str, str], int] = {}
    for write, size in zip(writes, added, strict=True):
        key = (write.collection, write.id)
        if write.kind in ("set", "delete"):
            bound[key] = size
        else:
            if key not in bound:
                found = base(*key)
                bound[key] = _loose_size(found) if found is not None else _MAP_OVERHEAD
            bound[key] += size
    if any(_name_size(*key) + size > MAX_DOCUMENT_BYTES for key, size in bound.items()):
        _check_exact_sizes(writes, base)


def _check_exact_sizes(writes: Sequence[Write], base: Base) -> None:
    after: dict[tuple[str, str], dict[str, Any] | None] = {}
    for write in writes:
        key = (write.collection, write.id)
        if key not in after:
            after[key] = base(*key) if write.kind in ("merge", "update") else None
        after[key] = apply_data(write, after[key])
    for (collection, doc_id), data in after.items():
        if data is not None and _name_size(collection, doc_id) + _loose_size(data) > (
            MAX_DOCUMENT_BYTES
        ):
            raise ValidationError(
                f"{collection}/{doc_id} would be larger than 1 MiB, the most a document may hold.",
                hint=_NOTHING_SAVED,
            )


def _loose_size(value: Any) -> int:
    """:func:`measure` without its checks, for documents already stored (which older
    versions may have written under looser rules: a merge onto one must not fail)."""
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass")) + 1
    if isinstance(value, dict):
        return _MAP_OVERHEAD + sum(_loose_size(str(k)) + _loose_size(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return sum(_loose_size(item) for item in value)
    return 1 if isinstance(value, bool) or value is None else 8
