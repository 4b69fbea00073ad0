"""The document-store port, shaped like Firestore.

Collections hold JSON documents by id. Every document carries a ``version`` (1 on
create, +1 on each write; 0 means "does not exist") used for optimistic
preconditions. Backends implement :class:`DocumentStore`: :mod:`.sqlite` (one file,
embedded) and :mod:`.firestore` (a Google Cloud Firestore project); the contract tests
in ``tests/store_contract.py`` are written once against this port and run on both.
"""

from app.services.store.port import (
    Change,
    ChangeKind,
    Direction,
    Document,
    DocumentStore,
    Filter,
    Listener,
    Op,
    Query,
    Write,
)

__all__ = [
    "Change",
    "ChangeKind",
    "Direction",
    "Document",
    "DocumentStore",
    "Filter",
    "Listener",
    "Op",
    "Query",
    "Write",
]
