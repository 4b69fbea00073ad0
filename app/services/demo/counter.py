"""The counter on the demo's last day: cheques taken at the counter, still pending
clearance; one that bounced and was reversed by a second person; one whose bounce waits
for them. So the collections view has something in each of its lists."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from app.services.context import IdGen, ServiceContext
from app.services.counter import CounterService, Slip
from app.services.demo.engine import derive
from app.services.demo.model import Story
from app.services.ledger import LedgerService

BRANCHES = ("SBIN0001234", "HDFC0000123", "CNRB0000456", "ICIC0000104")


def counter_day(ctx: ServiceContext, story: Story, day: date) -> int:
    """Take up to four cheques on ``day`` for open dues (deterministic: oldest first);
    the last two bounce. Returns how many were taken."""
    desk, checker = story.cast.employee, story.cast.checker
    ctx = replace(ctx, ids=IdGen(derive(story.config.seed, "ids:counter")))
    counter = CounterService(ctx)
    dues = [d for d in LedgerService(ctx).open_dues() if d.outstanding > 0][:4]
    refs = []
    for n, due in enumerate(dues):
        slip = Slip(
            due.member_id, due.group_id, due.period, due.outstanding, "cheque",
            f"{story.rng.randint(100_000, 999_999)}", day, BRANCHES[n % len(BRANCHES)],
        )  # fmt: skip
        taken = counter.take(desk, slip)
        if taken.receipt is not None:
            refs.append(taken.receipt.bank_ref)
    if len(refs) >= 3:
        asked = counter.report_bounce(desk, refs[2], "Funds insufficient (return memo 01)", day)
        counter.approve(checker, asked.id, "Return memo seen")
    if len(refs) >= 4:
        counter.report_bounce(desk, refs[3], "Signature differs (return memo 32)", day)
    return len(refs)
