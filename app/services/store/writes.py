"""Applying port writes to a document's state: the semantics every backend shares.

A backend loads the current state of the documents a commit touches, checks the
expected versions, folds the writes in order with :func:`apply_write` and stores the
result; :func:`check_write` refuses what no backend can store before anything is read.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.kernel.errors import Conflict, NotFound, ValidationError
from app.services.store import matching
from app.services.store.port import Write

Key = tuple[str, str]
_INT64 = (-(2**63), 2**63 - 1)


@dataclass(frozen=True)
class Slot:
    """A document's state while a commit is applied: ``data`` None = absent."""

    data: dict[str, Any] | None
    version: int


def check_version(key: Key, expected: int, actual: int) -> None:
    if expected == actual:
        return
    name = f"{key[0]}/{key[1]}"
    if expected == 0:
        message = f"{name} already exists (version {actual})."
    elif actual == 0:
        message = f"{name} was deleted by someone else (expected version {expected})."
    else:
        message = (
            f"{name} was changed by someone else (expected version {expected}, found {actual})."
        )
    raise Conflict(message, hint="Reload it and try again; nothing was saved.")


def fold(
    before: dict[Key, Slot], writes: Sequence[Write], checks: dict[Key, int]
) -> dict[Key, Slot]:
    """Every document's state after ``writes`` (``before`` holds each one they touch or
    ``checks`` names), once each version in ``checks`` is found as expected."""
    for key, expected in checks.items():
        check_version(key, expected, before[key].version)
    after = dict(before)
    for write in writes:
        key = (write.collection, write.id)
        after[key] = apply_write(write, after[key])
    return after


def apply_write(write: Write, slot: Slot) -> Slot:
    if write.expect_version is not None:
        check_version((write.collection, write.id), write.expect_version, slot.version)
    if write.kind == "delete":
        return Slot(None, 0)
    if write.kind == "set":
        data = copy.deepcopy(write.data)
    elif write.kind == "merge":
        data = deep_merge(slot.data or {}, write.data)
    else:
        if slot.data is None:
            raise NotFound(
                f"{write.collection}/{write.id} does not exist, so it cannot be updated.",
                hint="Create it with set or merge first, or check the id; nothing was saved.",
            )
        data = set_paths(slot.data, write.data)
    return Slot(data, slot.version + 1)


def deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``patch`` merged in: maps merge recursively, other values replace."""
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def set_paths(base: dict[str, Any], updates: dict[str, Any]) -> dict[str, Any]:
    """``base`` with each dotted path of ``updates`` set (missing maps are created)."""
    out = copy.deepcopy(base)
    for path, value in updates.items():
        *parents, last = path.split(".")
        cur = out
        for part in parents:
            if not isinstance(cur.get(part), dict):
                cur[part] = {}
            cur = cur[part]
        cur[last] = copy.deepcopy(value)
    return out


def check_write(write: Write) -> None:
    if write.kind not in ("set", "merge", "update", "delete"):
        raise ValidationError(
            f"Unknown write kind {write.kind!r}.", hint="Use set/merge/update/delete."
        )
    matching.check_name("collection", write.collection)
    matching.check_name("document", write.id)
    if write.kind == "delete":
        return
    if not isinstance(write.data, dict):
        raise ValidationError(f"The data for {write.collection}/{write.id} is not a dict.")
    if write.kind == "update":
        for path in write.data:
            matching.check_field_path(path)
    check_json(write.data, f"{write.collection}/{write.id}")


def check_json(value: Any, where: str) -> None:
    """Raise ``ValidationError`` unless ``value`` is storable JSON: string keys, text
    without NUL (SQLite's JSON functions cut text there), 64-bit integers, finite floats."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValidationError(f"{where} has a non-string key {key!r}.")
            check_json(key, f"{where} (a key)")
            check_json(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            check_json(item, f"{where}[{i}]")
    elif isinstance(value, str):
        if "\x00" in value:
            raise ValidationError(f"{where} holds a NUL character, which cannot be stored.")
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if not _INT64[0] <= value <= _INT64[1]:
            raise ValidationError(
                f"{where} is an integer beyond 64 bits.", hint="Store it as text."
            )
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValidationError(f"{where} is not a finite number.")
    else:
        raise ValidationError(
            f"{where} holds a {type(value).__name__}, which cannot be stored.",
            hint="Store None, bool, int, float, str, list or dict (dates as ISO text).",
        )
