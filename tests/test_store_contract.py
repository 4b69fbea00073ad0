"""The store contract (tests/store_contract.py), unchanged, on every backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.services.store.sqlite import SqliteStore
from tests.store_contract import StoreContract


class TestStoreContract(StoreContract):
    @pytest.fixture(params=["sqlite", pytest.param("firestore", marks=pytest.mark.firestore)])
    def store(self, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
        if request.param == "firestore":
            yield request.getfixturevalue("firestore_store")
            return
        store = SqliteStore(tmp_path / "store.sqlite3")
        yield store
        store.close()
