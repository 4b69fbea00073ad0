"""``tfos`` and the desktop collect the youngest generation less often, so a statement's
chunks die young instead of forcing full collections that stall the GUI thread."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence

import pytest

import app.__main__
import app.cli
from app.kernel.gc_tuning import YOUNG_THRESHOLD


@pytest.fixture
def default_gc() -> Iterator[None]:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*before)


@pytest.mark.parametrize("main", [app.cli.main, app.__main__.main], ids=["tfos", "desktop"])
def test_the_processes_start_with_the_collector_tuned(
    main: Callable[[Sequence[str]], int], default_gc: None, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert gc.get_threshold() == (YOUNG_THRESHOLD, 10, 10)
