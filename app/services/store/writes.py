"""Applying port writes to a document's state: the semantics every backend shares.

A backend loads the current state of the documents a commit touches, checks the
expected versions, folds the writes in order with :func:`apply_write` and stores the
result; :func:`check_write` refuses what no backend can store before anything is read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.kernel.errors import Conflict, NotFound
from app.services.store import limits
from app.services.store.port import Write, apply_data

Key = tuple[str, str]


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
    if write.kind == "update" and slot.data is None:
        raise NotFound(
            f"{write.collection}/{write.id} does not exist, so it cannot be updated.",
            hint="Create it with set or merge first, or check the id; nothing was saved.",
        )
    data = apply_data(write, slot.data)
    return Slot(None, 0) if data is None else Slot(data, slot.version + 1)


def check_write(write: Write) -> None:
    """Refuse what no backend can store (the same rules the pipeline checks before the
    WAL append: :mod:`app.services.store.limits`)."""
    limits.check_write(write)
