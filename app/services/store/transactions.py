"""Firestore-like batches and optimistic transactions, built on a backend's commit.

A backend supplies a commit function that also takes *checks*: ``{(collection, id):
version}`` that must still hold when the writes are applied (0 = must not exist).
:class:`CheckedStore` turns that one function into the port's ``commit`` and the
backends' ``batch()`` and ``run_transaction()``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol, Self, TypeVar

from app.kernel.errors import Conflict, ValidationError
from app.services.store.port import Document, Query, Write
from app.services.store.writes import check_write

logger = logging.getLogger(__name__)

T = TypeVar("T")
Key = tuple[str, str]
CheckedCommit = Callable[[Sequence[Write], dict[Key, int], int | None], None]


class Reads(Protocol):
    """What a transaction reads through."""

    def get(self, collection: str, doc_id: str) -> Document | None: ...

    def query(self, query: Query) -> list[Document]: ...


class WriteBatch:
    """Writes collected and then committed atomically: all or nothing."""

    def __init__(self, commit: Callable[..., None]) -> None:
        self._commit = commit
        self.writes: list[Write] = []

    def set(
        self,
        collection: str,
        doc_id: str,
        data: dict[str, Any],
        *,
        expect_version: int | None = None,
    ) -> WriteBatch:
        return self._add(Write("set", collection, doc_id, data, expect_version))

    def merge(
        self,
        collection: str,
        doc_id: str,
        data: dict[str, Any],
        *,
        expect_version: int | None = None,
    ) -> WriteBatch:
        return self._add(Write("merge", collection, doc_id, data, expect_version))

    def update(
        self,
        collection: str,
        doc_id: str,
        data: dict[str, Any],
        *,
        expect_version: int | None = None,
    ) -> WriteBatch:
        return self._add(Write("update", collection, doc_id, data, expect_version))

    def delete(
        self, collection: str, doc_id: str, *, expect_version: int | None = None
    ) -> WriteBatch:
        return self._add(Write("delete", collection, doc_id, {}, expect_version))

    def _add(self, write: Write) -> WriteBatch:
        self.writes.append(write)
        return self

    def commit(self, *, last_lsn: int | None = None) -> None:
        self._commit(self.writes, last_lsn=last_lsn)


class Transaction:
    """Reads recorded with their versions, then buffered writes (Firestore's rule:
    every read comes before the first write)."""

    def __init__(self, store: Reads) -> None:
        self._store = store
        self.reads: dict[Key, int] = {}
        self.writes: list[Write] = []

    def get(self, collection: str, doc_id: str) -> Document | None:
        self._before_read()
        doc = self._store.get(collection, doc_id)
        self.reads.setdefault((collection, doc_id), 0 if doc is None else doc.version)
        return doc

    def query(self, query: Query) -> list[Document]:
        self._before_read()
        docs = self._store.query(query)
        for doc in docs:
            self.reads.setdefault((doc.collection, doc.id), doc.version)
        return docs

    def _before_read(self) -> None:
        if self.writes:
            raise ValidationError(
                "A transaction read came after a write.",
                hint="Do every read of a transaction before its first write.",
            )

    def set(self, collection: str, doc_id: str, data: dict[str, Any]) -> None:
        self.writes.append(Write("set", collection, doc_id, data))

    def merge(self, collection: str, doc_id: str, data: dict[str, Any]) -> None:
        self.writes.append(Write("merge", collection, doc_id, data))

    def update(self, collection: str, doc_id: str, data: dict[str, Any]) -> None:
        self.writes.append(Write("update", collection, doc_id, data))

    def delete(self, collection: str, doc_id: str) -> None:
        self.writes.append(Write("delete", collection, doc_id))


def _check(writes: Sequence[Write]) -> None:
    for write in writes:
        check_write(write)


def run_with_retries(
    store: Reads, commit: CheckedCommit, fn: Callable[[Transaction], T], max_attempts: int
) -> T:
    """Run ``fn`` in a fresh :class:`Transaction` until its commit finds every read
    unchanged; a ``Conflict`` raised by ``fn`` itself is not retried."""
    if max_attempts < 1:
        raise ValidationError("max_attempts must be at least 1.")
    for attempt in range(1, max_attempts + 1):
        tx = Transaction(store)
        result = fn(tx)
        try:
            commit(tx.writes, tx.reads, None)
            return result
        except Conflict as exc:
            if attempt == max_attempts:
                raise Conflict(
                    f"The transaction kept meeting concurrent changes ({max_attempts} attempts):"
                    f" {exc.message}",
                    hint="Try again in a moment; nothing was saved.",
                ) from exc
            logger.debug("Transaction attempt %d conflicted: %s", attempt, exc.message)
            time.sleep(random.uniform(0, 0.005 * attempt))
    raise AssertionError("unreachable")


class CheckedStore:
    """The writes of a backend built on its checked ``_commit`` (see the module docstring);
    the backend supplies ``_commit``, ``get``, ``query`` and ``close``."""

    def _commit(
        self, writes: Sequence[Write], checks: dict[Key, int], last_lsn: int | None
    ) -> None:
        raise NotImplementedError

    def get(self, collection: str, doc_id: str) -> Document | None:
        raise NotImplementedError

    def query(self, query: Query) -> list[Document]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def commit(
        self, writes: Sequence[Write], *, last_lsn: int | None = None, checked: bool = False
    ) -> None:
        """Apply ``writes`` atomically, checked against the store limits first unless
        ``checked``: the records this process's pipeline checked just before appending
        them (checking them again would cost every commit twice). Records read back from
        the log (a replay after a crash, another process's appends) are checked: one an
        older version wrote and a store cannot hold stops the replay, saying why."""
        if not checked:
            _check(writes)
        self._commit(writes, {}, last_lsn)

    def _checked_commit(
        self, writes: Sequence[Write], checks: dict[Key, int], last_lsn: int | None
    ) -> None:
        _check(writes)
        self._commit(writes, checks, last_lsn)

    def batch(self) -> WriteBatch:
        """A batch of writes applied atomically by its ``commit()``."""
        return WriteBatch(self.commit)

    def run_transaction(self, fn: Callable[[Transaction], T], max_attempts: int = 5) -> T:
        """Run ``fn(tx)``; commit its writes only if nothing it read has changed since.

        ``fn`` reads with ``tx.get``/``tx.query`` (before any write) and buffers writes
        with ``tx.set``/``merge``/``update``/``delete``. On a conflict the whole function
        runs again, up to ``max_attempts`` times; then ``Conflict`` is raised. New
        documents that would have matched a ``tx.query`` are not detected.
        """
        return run_with_retries(self, self._checked_commit, fn, max_attempts)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
