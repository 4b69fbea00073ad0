"""What every document store can hold: the rules a change must meet before it is logged.

The pipeline checks each change against these rules *before* the log append, so a
durable record can always be applied, by SQLite and by Firestore alike; a backend checks
the same rules again when it is handed writes directly. They are Firestore's limits
(https://cloud.google.com/firestore/quotas and /docs/storage-size), restricted to JSON
values and applied to documents as the Firestore store lays them out (the data in a map
field ``d`` of ``tfos/store/{collection}/{id}``, beside the version ``v``; see
:mod:`.firestore_codec`), which costs one level of nesting, two bytes of every field path
and a few bytes of every document:

* text (values, map keys, collection names, document ids) is valid Unicode: no NUL
  (SQLite's JSON functions cut text there) and no lone surrogate (UTF-8 cannot encode
  one);
* a value is None, a bool, an integer in signed 64 bits, a finite float, text, a list or
  a dict with text keys; a list does not hold a list directly;
* a map key is 1 to 1,500 bytes and not of the reserved form ``__name__``; so is an id,
  which also has no ``/`` and is not ``.`` or ``..``;
* a field's path (its key and the keys of the maps above it, joined by dots; lists add
  nothing) is at most 1,498 bytes (Firestore's 1,500 less the ``d.`` in front);
* maps and lists nest at most 19 deep (a top-level field is at depth 1; Firestore's 20
  less the level of ``d``);
* a document, sized as Firestore sizes it, is at most 1 MiB less ``LAYOUT_BYTES``; it has
  at most 20,000 fields (every key of every map counts, ``d`` and ``v`` included) and at
  most 40,000 index entries (two for each field that is neither a map nor a list, one
  for each distinct element of each list: Firestore's automatic single-field indexes),
  less ``INDEX_ENTRY_MARGIN`` for the version and the composite indexes;
* the documents one change leaves behind add up to at most 9 MiB, so that with its log
  record (at most ``MAX_RECORD_BYTES``, checked where the record is encoded) they fit in
  one Firestore request of 10 MiB.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from app.kernel.errors import ValidationError
from app.services.store.port import Write, apply_data

MAX_DEPTH = 19
MAX_NAME_BYTES = 1_500
MAX_PATH_BYTES = MAX_NAME_BYTES - len("d.")
MAX_DOCUMENT_BYTES = 1_048_576
LAYOUT_BYTES = 64
"""What the Firestore layout adds to a document's size: ``tfos/store/`` in its name, the
fields ``d`` and ``v`` and the version (23 bytes; 55 if Firestore sizes the map ``d`` as
it sizes a document), rounded up."""
MAX_FIELDS = 20_000 - 2
MAX_INDEX_ENTRIES = 40_000 - 100
"""Less room for the version's two entries and one for each composite index."""
COUNT_FIELDS_FROM = 59_000
"""Below this size a document cannot reach either count: a field costs at least 3
bytes, an index entry at least 1.5."""
MAX_RECORD_BYTES = MAX_DOCUMENT_BYTES - 256
"""The largest log record body: Firestore keeps each record in a document of its own
(``tfos/log/records/{lsn}``, with its hash)."""
MAX_CHANGE_BYTES = 9 * MAX_DOCUMENT_BYTES
"""The documents one change leaves behind, together: with the change's record they make
one Firestore request, at most 10 MiB."""
INT64 = (-(2**63), 2**63 - 1)
_RESERVED = re.compile(r"__.*__", re.DOTALL)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_MAP_OVERHEAD = 32
_NAME_OVERHEAD = 16
_NOTHING_SAVED = "Nothing was saved."
_REMEMBER = 20_000
_REMEMBER_LENGTH = 128
"""Map keys and field paths already found storable are remembered (at most
``_REMEMBER`` of each, none longer than ``_REMEMBER_LENGTH``, so at most a few MB;
forgotten all at once when full): documents repeat their schema's keys, so every change
after the first checks them by one look-up. Only a key's or path's own checks are
skipped; the value under it is measured every time."""
_KEY_SIZES: dict[str, int] = {}
_PATHS: dict[str, tuple[int, int]] = {}

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
    if _plain_name(name):
        return  # the common case, without building a message
    if not isinstance(name, str) or not name or "/" in name or name in (".", ".."):
        raise ValidationError(
            f"{name!r} is not a valid {what} name.", hint="Use a non-empty name without '/'."
        )
    check_text(name, f"The {what} name {name[:40]!r}")
    _check_key_form(name, f"The {what} name {name[:40]!r}")


def _plain_name(name: Any) -> bool:
    """Short ASCII text with no ``/`` or NUL, not ``.``, ``..`` or ``__name__``."""
    return (
        type(name) is str
        and 0 < len(name) <= MAX_NAME_BYTES
        and name.isascii()
        and "/" not in name
        and "\x00" not in name
        and name not in (".", "..")
        and not (len(name) >= 4 and name[:2] == "__" == name[-2:])
    )


def check_field_path(path: Any) -> None:
    """A dotted path to a field (``"a.b"``): no empty part and no double quote."""
    if not isinstance(path, str) or not path or any(not p or '"' in p for p in path.split(".")):
        raise ValidationError(
            f"{path!r} is not a usable field path.",
            hint='Use names joined by dots ("a.b"), with no empty part and no double quote.',
        )


def holds_path(path: str) -> bool:
    """Whether a document can hold a field at the dotted ``path`` (a query on any other
    path matches nothing)."""
    parts = path.split(".")
    return (
        len(parts) <= MAX_DEPTH
        and len(path.encode()) <= MAX_PATH_BYTES
        and not any(len(part) >= 4 and part[:2] == "__" == part[-2:] for part in parts)
    )


def _check_key_form(key: str, where: str) -> None:
    if len(key.encode()) > MAX_NAME_BYTES:
        raise ValidationError(f"{where} is longer than {MAX_NAME_BYTES} bytes.")
    if _RESERVED.fullmatch(key):
        raise ValidationError(f"{where} has the reserved form __name__.")


def check_value(value: Any, where: str, depth: int = 0, path: int = 0) -> int:
    """Raise ``ValidationError`` unless ``value`` is storable JSON at nesting ``depth``
    (0 for a whole document or map of fields) under a field path of ``path`` bytes; its
    size as Firestore counts it."""
    try:
        return measure(value, depth, path)
    except _Unstorable:
        _explain(value, where, depth, path)
        raise AssertionError(f"{where} was refused but not explained") from None


class _Unstorable(Exception):
    """Raised by :func:`measure`; :func:`_explain` then says what and where."""


def measure(value: Any, depth: int = 0, path: int = 0) -> int:
    """The size Firestore counts for ``value`` (a map counted like a document: its
    fields plus 32 bytes), or ``_Unstorable``. ``path`` is the byte length of the field
    path ``value`` sits at (0 for a document). One pass, building no messages: every
    change goes through here, so the common leaves (ASCII text, small integers, None,
    booleans) are measured inline, without a call each."""
    kind = type(value)
    if kind is dict:
        return _measure_map(value, depth, path)
    if kind is str and value.isascii():
        if "\x00" in value:
            raise _Unstorable
        return len(value) + 1
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
        return _measure_map(value, depth, path)
    if isinstance(value, list | tuple):
        if depth >= MAX_DEPTH:
            raise _Unstorable
        total = 0
        for item in value:
            if isinstance(item, list | tuple):
                raise _Unstorable
            total += measure(item, depth + 1, path)
        return total
    if isinstance(value, float) and value - value == 0:  # finite: inf - inf and NaN are NaN
        return 8
    raise _Unstorable


def _measure_map(value: dict[Any, Any], depth: int, path: int) -> int:
    if depth >= MAX_DEPTH:
        raise _Unstorable
    total = _MAP_OVERHEAD
    low, high = INT64
    for key, item in value.items():
        size = _key_size(key)
        below = path + size if path else size - 1
        if below > MAX_PATH_BYTES:
            raise _Unstorable
        kind = type(item)
        if kind is str and item.isascii():
            if "\x00" in item:
                raise _Unstorable
            total += size + len(item) + 1
        elif kind is int and low <= item <= high:
            total += size + 8
        elif item is None or kind is bool:
            total += size + 1
        else:
            total += size + measure(item, depth + 1, below)
    return total


def _key_size(key: Any) -> int:
    if type(key) is str:
        known = _KEY_SIZES.get(key)
        if known is not None:
            return known
    size = _checked_key_size(key)
    _remember(_KEY_SIZES, key, size)
    return size


def _remember(known: dict[str, Any], key: str, value: Any) -> None:
    if type(key) is str and len(key) <= _REMEMBER_LENGTH:
        if len(known) >= _REMEMBER:
            known.clear()
        known[key] = value


def _checked_key_size(key: Any) -> int:
    if type(key) is str and key.isascii():
        if not key or "\x00" in key:
            raise _Unstorable
        size = len(key)
    elif not isinstance(key, str) or not key or _UNSTORABLE.search(key):
        raise _Unstorable
    else:
        size = len(key) if key.isascii() else len(key.encode())
    if size > MAX_NAME_BYTES or (len(key) >= 4 and key[:2] == "__" == key[-2:]):
        raise _Unstorable
    return size + 1


def _explain(value: Any, where: str, depth: int, path: int) -> None:
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
        _explain_map(value, where, depth, path)
    elif isinstance(value, list | tuple):
        _explain_list(value, where, depth, path)
    else:
        raise ValidationError(
            f"{where} holds a {type(value).__name__}, which cannot be stored.",
            hint="Store None, bool, int, float, str, list or dict (dates as ISO text).",
        )


def _explain_map(value: dict[Any, Any], where: str, depth: int, path: int) -> None:
    if depth >= MAX_DEPTH:
        raise ValidationError(f"{where} nests maps and lists more than {MAX_DEPTH} deep.")
    for key, item in value.items():
        if not isinstance(key, str) or not key:
            raise ValidationError(f"{where} has a key {key!r} that is not a non-empty text.")
        check_text(key, f"{where} (a key)")
        _check_key_form(key, f"{where} (the key {key[:40]!r})")
        below = path + 1 + len(key.encode()) if path else len(key.encode())
        if below > MAX_PATH_BYTES:
            raise ValidationError(
                f"{where}.{key[:40]}: the path to this field is longer than"
                f" {MAX_PATH_BYTES} bytes.",
                hint="Use shorter keys or nest less; nothing was saved.",
            )
        _explain(item, f"{where}.{key[:40]}", depth + 1, below)


def _explain_list(value: list[Any] | tuple[Any, ...], where: str, depth: int, path: int) -> None:
    if depth >= MAX_DEPTH:
        raise ValidationError(f"{where} nests maps and lists more than {MAX_DEPTH} deep.")
    for i, item in enumerate(value):
        if isinstance(item, list | tuple):
            raise ValidationError(
                f"{where}[{i}] is a list directly inside a list, which cannot be stored.",
                hint="Wrap the inner list in a map.",
            )
        _explain(item, f"{where}[{i}]", depth + 1, path)


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
    if not isinstance(write.data, dict):
        raise ValidationError(f"The data for {write.collection}/{write.id} is not a dict.")
    if write.kind != "update":
        try:
            return measure(write.data)
        except _Unstorable:
            return check_value(write.data, f"{write.collection}/{write.id}")
    total = 0
    for path, item in write.data.items():
        known = _PATHS.get(path) if type(path) is str else None
        if known is None:
            total += _check_update(f"{write.collection}/{write.id}", path, item)
            continue
        size, depth = known
        try:
            total += size + 1 + (depth - 1) * _MAP_OVERHEAD + measure(item, depth, size)
        except _Unstorable:
            total += _check_update(f"{write.collection}/{write.id}", path, item)
    return total


def _check_update(where: str, path: Any, item: Any) -> int:
    """One field of an update: its dotted path and its value; the bytes it may add."""
    check_text(path, f"{where} (a field path)")
    check_field_path(path)
    size = len(path.encode())
    if size > MAX_PATH_BYTES:
        raise ValidationError(
            f"{where}: the field path {path[:40]!r} is longer than {MAX_PATH_BYTES} bytes."
        )
    parts = path.split(".")
    if len(parts) > MAX_DEPTH:
        raise ValidationError(f"{where}: the field {path[:40]!r} is more than {MAX_DEPTH} deep.")
    for part in parts:
        _check_key_form(part, f"{where} (the field {part[:40]!r})")
    _remember(_PATHS, path, (size, len(parts)))
    added = size + 1 + (len(parts) - 1) * _MAP_OVERHEAD
    return added + check_value(item, f"{where}.{path}", len(parts), size)


# -- sizes (https://firebase.google.com/docs/firestore/storage-size) --------------------


def fields_size(data: dict[str, Any]) -> int:
    """The bytes Firestore counts for a document's fields."""
    return measure(data) - _MAP_OVERHEAD


def document_size(collection: str, doc_id: str, data: dict[str, Any]) -> int:
    """The stored size of a document: its name, its fields and 32 bytes."""
    return _name_size(collection, doc_id) + measure(data)


def _name_size(collection: str, doc_id: str) -> int:
    return len(collection.encode()) + 1 + len(doc_id.encode()) + 1 + _NAME_OVERHEAD


def _too_big(key: tuple[str, str], size: int) -> bool:
    return _name_size(*key) + size + LAYOUT_BYTES > MAX_DOCUMENT_BYTES


def check_writes(writes: Sequence[Write], base: Base) -> None:
    """Every write is storable (:func:`check_write`), and every document the writes leave
    behind fits in Firestore (size, fields, index entries), and all of them together in
    one request. ``base`` gives the data a merge or update starts from; the documents
    are worked out exactly only when a bound says one could be past a limit."""
    added = [check_write(write) for write in writes]
    if sum(added) > MAX_RECORD_BYTES:
        raise ValidationError(
            "One change may write at most 1 MiB in all (it is kept whole in its log record).",
            hint="Split it into smaller ones.",
        )
    bound: dict[tuple[str, str], int] = {}
    for write, size in zip(writes, added, strict=True):
        key = (write.collection, write.id)
        if write.kind in ("set", "delete"):
            bound[key] = size
        else:
            if key not in bound:
                found = base(*key)
                bound[key] = loose_size(found) if found is not None else _MAP_OVERHEAD
            bound[key] += size
    if sum(bound.values()) > MAX_CHANGE_BYTES or any(
        _too_big(key, size) or size >= COUNT_FIELDS_FROM for key, size in bound.items()
    ):
        _check_documents(writes, base)


def _check_documents(writes: Sequence[Write], base: Base) -> None:
    """Work out every document the writes leave behind and check it whole."""
    after: dict[tuple[str, str], dict[str, Any] | None] = {}
    for write in writes:
        key = (write.collection, write.id)
        if key not in after:
            after[key] = base(*key) if write.kind in ("merge", "update") else None
        after[key] = apply_data(write, after[key])
    total = 0
    for key, data in after.items():
        if data is None:
            continue
        size = loose_size(data)
        total += size
        if _too_big(key, size):
            raise ValidationError(
                f"{key[0]}/{key[1]} would be larger than 1 MiB, the most a document may hold.",
                hint=_NOTHING_SAVED,
            )
        if size >= COUNT_FIELDS_FROM:
            _check_counts(f"{key[0]}/{key[1]}", data)
    if total > MAX_CHANGE_BYTES:
        raise ValidationError(
            "The documents one change writes may hold at most 9 MiB together.",
            hint="Split it into smaller changes; nothing was saved.",
        )


def _check_counts(where: str, data: dict[str, Any]) -> None:
    fields, entries = count_fields(data)
    if fields > MAX_FIELDS:
        raise ValidationError(
            f"{where} would have {fields:,} fields; a document holds at most {MAX_FIELDS:,}.",
            hint=_NOTHING_SAVED,
        )
    if entries > MAX_INDEX_ENTRIES:
        raise ValidationError(
            f"{where} would need {entries:,} index entries; a document may have at most"
            f" {MAX_INDEX_ENTRIES:,} (two for each field, one for each distinct element"
            " of each list).",
            hint="Keep long lists in documents of their own; " + _NOTHING_SAVED.lower(),
        )


def count_fields(data: dict[str, Any]) -> tuple[int, int]:
    """A document's fields (every key of every map) and the index entries Firestore
    keeps for it by default (two per field that is neither map nor list, one per
    distinct element of a list)."""
    fields = entries = 0
    stack: list[Any] = [data]
    while stack:
        for value in stack.pop().values():
            fields += 1
            if isinstance(value, dict):
                stack.append(value)
            elif isinstance(value, list | tuple):
                entries += len({_element_key(item) for item in value})
            else:
                entries += 2
    return fields, entries


def _element_key(item: Any) -> Any:
    if isinstance(item, dict | list | tuple):
        return repr(item)
    return (type(item) is bool, item)


def loose_size(value: Any) -> int:
    """:func:`measure` without its checks, for documents already stored (which older
    versions may have written under looser rules: a merge onto one must not fail)."""
    kind = type(value)
    if kind is str:
        return (len(value) if value.isascii() else len(value.encode("utf-8", "surrogatepass"))) + 1
    if kind is dict:
        total = _MAP_OVERHEAD
        for key, item in value.items():
            key = str(key)
            total += (len(key) if key.isascii() else len(key.encode("utf-8", "surrogatepass"))) + 1
            item_kind = type(item)
            if item_kind is str and item.isascii():
                total += len(item) + 1
            elif item_kind is int or item_kind is float:
                total += 8
            elif item is None or item_kind is bool:
                total += 1
            else:
                total += loose_size(item)
        return total
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass")) + 1
    if isinstance(value, dict):
        return _MAP_OVERHEAD + sum(loose_size(str(k)) + loose_size(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return sum(loose_size(item) for item in value)
    return 1 if isinstance(value, bool) or value is None else 8
