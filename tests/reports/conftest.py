"""A small demo history made through the real services, shared by the report tests.

Real SQLite store, real WAL; the clock is a FixedClock. Tests that write to the log
make their own context (:func:`fresh_demo`), so the shared one never moves.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from app.services.context import FixedClock, ServiceContext, close_context, make_context
from app.services.demo import generate
from app.services.log_signing import LogSigning
from app.services.registry import Services
from app.services.reports import Letterhead, Rendered, Request, render_report
from tests.builders import services_of

END = date(2026, 11, 24)
NOW = datetime(2026, 11, 24, 6, 30, tzinfo=UTC)
FIRM = Letterhead(
    "Sri Lakshmi Chits Pvt Ltd", "12 Anna Salai, Chennai 600002 · Reg. No. CF/123/2019"
)


@dataclass
class Demo:
    ctx: ServiceContext
    services: Services

    def render(self, kind: str, **params: object) -> Rendered:
        """The report as the application renders it: signed by the log's key."""
        request = Request(kind, **params)  # type: ignore[arg-type]
        return render_report(self.services, self.ctx, request, FIRM, self.signing)

    @property
    def signing(self) -> LogSigning:
        assert self.ctx.transparency is not None
        return LogSigning(self.ctx.transparency)


def fresh_demo(path: Path) -> Demo:
    """2 groups of 6 members over 4 months, as ``tests/test_demo.py`` makes them."""
    path.mkdir(parents=True, exist_ok=True)
    ctx = make_context(path, clock=FixedClock(NOW))
    generate(ctx, groups=2, members=6, months=4, seed=11, end=END)
    ctx.clock.set(NOW)  # type: ignore[attr-defined]
    return Demo(ctx, services_of(ctx))


@pytest.fixture(scope="package")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    made = fresh_demo(tmp_path_factory.mktemp("reports") / "data")
    yield made
    made.services.close()
    close_context(made.ctx)
