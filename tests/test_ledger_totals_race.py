"""Cached ledger totals stay exact when the pipeline applies records during a scan."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import cast

import pytest

from app.services.actors import Actor
from app.services.context import ServiceContext
from app.services.ledger import LedgerService
from app.services.ledger import totals as ledger_totals
from app.services.store import Document, DocumentStore, Query

ADMIN = Actor("adm-1", "Asha Admin", "admin")
RUPEE = 100


class WriterDuringScans:
    """A store through which the first ``times`` scans start only after ``write`` has
    committed, as the pipeline's writer can between reading the sequence number and
    scanning."""

    def __init__(self, store: DocumentStore, write: Callable[[], object], times: int) -> None:
        self.store = store
        self.write = write
        self.times = times

    def last_applied_lsn(self) -> int:
        return self.store.last_applied_lsn()

    def stream(self, query: Query) -> Iterator[Document]:
        if self.times > 0:
            self.times -= 1
            self.write()
        return self.store.stream(query)


def fresh_balances(ctx: ServiceContext) -> dict[str, int]:
    lsn = ctx.store.last_applied_lsn()
    return ledger_totals.scan(ctx.store, lsn).trial_balance().balances()


@pytest.mark.parametrize("times", [1, ledger_totals.PLAIN_SCANS + 1])
def test_totals_equal_a_fresh_scan_after_writes_during_the_scan(
    ctx: ServiceContext, times: int
) -> None:
    ledger = LedgerService(ctx)
    ledger.add_capital(ADMIN, 1_000 * RUPEE)
    racing = WriterDuringScans(ctx.store, lambda: ledger.add_capital(ADMIN, 7 * RUPEE), times)
    store = cast(DocumentStore, racing)

    first = ledger_totals.current(store, ctx.pipeline)
    assert first.trial_balance().balances() == fresh_balances(ctx)
    first_lsn = ctx.store.last_applied_lsn()

    ledger.add_capital(ADMIN, 50 * RUPEE)
    later = ledger_totals.current(store, ctx.pipeline)
    assert later.trial_balance().balances() == fresh_balances(ctx), "counted twice"
    assert (first.lsn, later.lsn) == (first_lsn, ctx.store.last_applied_lsn())
    assert (later.count, racing.times) == (2 + times, 0)
