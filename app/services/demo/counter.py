"""The counter on the demo's last day (before the day's recovery sweep, as in an office):
cheques taken at the counter, still pending clearance; one that bounced and was reversed
by a second person; one whose bounce waits for them. So the collections view has
something in each of its lists."""

from __future__ import annotations

from datetime import date

from app.services.counter import CounterService, Slip
from app.services.demo.engine import Lane
from app.services.demo.model import Story

BRANCHES = ("SBIN0001234", "HDFC0000123", "CNRB0000456", "ICIC0000104")


def counter_day(lane: Lane, story: Story, day: date) -> int:
    """Take up to four cheques on ``day`` for the newest open dues (this month's
    instalments, as members bring them; the late dues stay with the advances and the
    recovery cases the rest of the demo shows). The last two bounce. Returns how many
    were taken."""
    desk, checker = story.cast.employee, story.cast.checker
    counter = CounterService(lane.ctx)
    dues = [d for d in reversed(lane.ledger.open_dues()) if d.outstanding > 0][:4]
    refs = []
    for n, due in enumerate(dues):
        slip = Slip(
            due.member_id, due.group_id, due.period, due.outstanding, "cheque",
            f"{lane.rng.randint(100_000, 999_999)}", day, BRANCHES[n % len(BRANCHES)],
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
