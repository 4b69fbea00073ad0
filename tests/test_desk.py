"""The employee's desk: today's collections are the money received from members that
the ledger dates today; other postings and other days do not count."""

from __future__ import annotations

from datetime import date, timedelta

from app.services.actors import SYSTEM
from app.services.context import ServiceContext
from app.services.pipeline import ChangeSet
from app.services.store import Write
from tests.builders import services_of


def txn(n: int, kind: str, day: date, amount: int) -> Write:
    data = {"kind": kind, "date": day.isoformat(), "amount": amount, "memo": "", "lines": []}
    return Write("set", "ledger_txns", f"t{n}", data)


def test_todays_collections_are_receipts_dated_today(ctx: ServiceContext) -> None:
    services = services_of(ctx)
    today = ctx.clock.today()
    writes = [
        txn(1, "instalment.received", today, 100_00),
        txn(2, "emi.received", today, 50_00),
        txn(3, "penalty.received", today - timedelta(days=1), 7_00),
        txn(4, "capital.add", today, 1_000_00),
    ]
    ctx.pipeline.commit(SYSTEM, ChangeSet("test.seed", "test", "seed", writes))
    summary = services.desk.summary()
    assert summary.as_of == today
    assert (summary.collected_today, summary.receipts_today) == (150_00, 2)
    assert (summary.pending_kyc, summary.new_loans, summary.overdue_cases) == (0, 0, 0)
    services.close()
