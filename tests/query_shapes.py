"""Every query the code makes while the tests run, against ``firestore.indexes.json``.

Loaded by ``tests/conftest.py``. The stores' query entry points (``query``, ``stream``,
``count``, ``on_snapshot`` of both backends) are wrapped: a query made by app/ or server/
code (not by a test, nor by the store itself) is recorded as the composite index it needs
in Firestore (:func:`app.services.store.firestore_indexes.needed`). When the session
ends, an index the shipped file lacks fails the run, naming the query's index and how to
regenerate the file. The emulator never asks for indexes, so this is what keeps a real
project's queries from failing.

``python -m tests.query_shapes`` runs the whole test suite (as ``make test`` does) and
writes ``firestore.indexes.json`` from every index it recorded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.kernel.errors import KnownError
from app.services.store import firestore_indexes
from app.services.store.firestore import FirestoreStore
from app.services.store.port import Query
from app.services.store.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "firestore.indexes.json"
DUMP_ENV = "TFOS_QUERY_SHAPES"
_STORE_CODE = str(ROOT / "app" / "services" / "store") + os.sep
_CODE = (str(ROOT / "app") + os.sep, str(ROOT / "server") + os.sep)

RECORDED: set[firestore_indexes.Index] = set()
QUERIES = [0]


def _made_by_the_code() -> bool:
    frame = sys._getframe(3)
    while frame is not None and frame.f_code.co_filename.startswith(_STORE_CODE):
        frame = frame.f_back  # type: ignore[assignment]
    return frame is not None and frame.f_code.co_filename.startswith(_CODE)


def _record(target: Any) -> None:
    if not _made_by_the_code():
        return
    query = Query(target) if isinstance(target, str) else target
    try:
        index = firestore_indexes.needed(query)
    except KnownError:
        return  # a query no backend runs: refused before it reaches Firestore
    QUERIES[0] += 1
    if index is not None:
        RECORDED.add(index)


def _wrap(cls: type, name: str) -> None:
    original: Callable[..., Any] = getattr(cls, name)

    def recording(self: Any, target: Any, *args: Any, **kwargs: Any) -> Any:
        _record(target)
        return original(self, target, *args, **kwargs)

    recording.__wrapped__ = original  # type: ignore[attr-defined]
    setattr(cls, name, recording)


for _cls in (SqliteStore, FirestoreStore):
    for _name in ("query", "stream", "count", "on_snapshot"):
        _wrap(_cls, _name)


@pytest.fixture(scope="session", autouse=True)
def every_query_has_its_index() -> Iterator[None]:
    """Fails the session when a query the code made needs an index the file lacks."""
    yield
    dump = os.environ.get(DUMP_ENV)
    if dump:
        shapes = [[i.collection, sorted(i.equalities), list(i.orders)] for i in RECORDED]
        Path(dump).write_text(json.dumps(shapes))
        return
    shipped = firestore_indexes.load(SHIPPED)
    missing = [i for i in RECORDED if not i.covered_by(shipped)]
    if missing:
        listed = "\n".join(json.dumps(i.to_json()) for i in missing)
        pytest.fail(
            f"{len(missing)} of the {QUERIES[0]} queries the code made need a Firestore index "
            f"that firestore.indexes.json lacks:\n{listed}\n"
            "Run `.venv/bin/python -m tests.query_shapes` to regenerate the file.",
            pytrace=False,
        )


def main() -> int:
    """Run the test suite recording queries, then write ``firestore.indexes.json``."""
    with tempfile.TemporaryDirectory() as tmp:
        dump = Path(tmp) / "indexes.json"
        env = {**os.environ, DUMP_ENV: str(dump)}
        command = ["dbus-run-session", "--", "sh", "tests/with-keyring.sh", sys.executable]
        done = subprocess.run([*command, "-m", "pytest", "-q", *sys.argv[1:]], cwd=ROOT, env=env)
        if not dump.exists():
            print("the test run recorded nothing", file=sys.stderr)
            return 1
        raw = json.loads(dump.read_text())
    indexes = {
        firestore_indexes.Index(name, frozenset(map(tuple, eqs)), tuple(map(tuple, orders)))
        for name, eqs, orders in raw
    }
    SHIPPED.write_text(firestore_indexes.to_json(indexes))
    print(f"wrote {len(indexes)} indexes to {SHIPPED} (tests exited {done.returncode})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
