"""Fixtures of the view tests: a real runtime over the data folder, the seeded history."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app import config
from app.bootstrap import Runtime, build
from app.views import worker
from tests.views.recovery_history import Seeded, populate


def open_runtime(data_dir: Path) -> Runtime:
    """The desktop's runtime over ``data_dir``; port 0 so a started server picks a free one."""
    return build(config.load(environ={}, data_dir=data_dir, port=0))


@pytest.fixture
def runtime(data_dir: Path) -> Iterator[Runtime]:
    """A runtime over an empty data folder."""
    rt = open_runtime(data_dir)
    yield rt
    rt.close()


@pytest.fixture
def seeded(data_dir: Path) -> Seeded:
    return populate(data_dir)


@pytest.fixture
def seeded_runtime(data_dir: Path, seeded: Seeded) -> Iterator[Runtime]:
    """A runtime opened over the :func:`populate` history (written before it opens)."""
    rt = open_runtime(data_dir)
    yield rt
    rt.close()


@pytest.fixture
def errors(monkeypatch: pytest.MonkeyPatch) -> list[BaseException]:
    """What the views would have shown in a message box."""
    shown: list[BaseException] = []
    monkeypatch.setattr(worker, "show_error", lambda parent, exc: shown.append(exc))
    return shown
