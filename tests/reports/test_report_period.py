"""A report's ``--from``/``--to`` period is made of the office's days: a timestamp belongs
to the day it fell on in the office, not to its UTC calendar day; a plain date stays."""

from __future__ import annotations

from datetime import date

from app.kernel import office_time
from app.services.ledger import TimelineItem
from app.services.reports.base import Params
from app.services.reports.member_statement import passbook

LATE_ON_30_NOV_UTC = "2026-11-30T20:00:00+00:00"  # 01:30 on 01 Dec in India
DECEMBER = Params(today=date(2026, 12, 31), start=date(2026, 12, 1), end=date(2026, 12, 31))
NOVEMBER = Params(today=date(2026, 12, 31), start=date(2026, 11, 1), end=date(2026, 11, 30))


def test_a_timestamp_late_on_a_utc_day_belongs_to_the_next_office_day() -> None:
    assert DECEMBER.within(LATE_ON_30_NOV_UTC)
    assert not NOVEMBER.within(LATE_ON_30_NOV_UTC)
    assert not DECEMBER.before(LATE_ON_30_NOV_UTC)


def test_a_plain_date_is_its_own_day() -> None:
    assert NOVEMBER.within("2026-11-30") and not DECEMBER.within("2026-11-30")
    assert DECEMBER.before("2026-11-30")
    assert DECEMBER.within("2026-12-01") and DECEMBER.within("2026-12-31")


def test_an_office_behind_utc_keeps_the_timestamp_in_its_own_day() -> None:
    office_time.use_zone("America/New_York")  # 15:00 on 30 Nov there
    assert NOVEMBER.within(LATE_ON_30_NOV_UTC)
    assert DECEMBER.before(LATE_ON_30_NOV_UTC) and not DECEMBER.within(LATE_ON_30_NOV_UTC)


def test_the_passbook_brings_forward_only_what_came_before_the_first_office_day() -> None:
    items = [
        TimelineItem("2026-11-30", "instalment_paid", 10_000_00, "Instalment paid", ref="a"),
        TimelineItem(LATE_ON_30_NOV_UTC, "instalment_paid", 5_000_00, "Instalment paid", ref="b"),
    ]
    rows, opening, closing = passbook(items, [], {}, DECEMBER)
    assert (opening, closing) == (-10_000_00, -15_000_00)
    assert [r[0] for r in rows] == ["01 Dec 2026", "01 Dec 2026"]  # brought forward, then b
