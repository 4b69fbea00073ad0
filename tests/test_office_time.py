"""Dates and times: one style, in the office's zone, labelled."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app import config
from app.kernel import office_time
from app.kernel.errors import ValidationError

NOON_UTC = datetime(2026, 12, 3, 12, 0, 5, tzinfo=UTC)


def test_india_is_the_default_and_is_labelled_ist() -> None:
    config.load(environ={})
    assert office_time.zone_name() == "Asia/Kolkata"
    assert office_time.moment(NOON_UTC) == "03 Dec 2026, 17:30 IST"
    assert office_time.moment(NOON_UTC, seconds=True) == "03 Dec 2026, 17:30:05 IST"
    assert office_time.time_of_day("2026-12-03T12:00:05Z") == "17:30:05 IST"


def test_a_date_stays_a_date_and_a_late_utc_time_is_the_next_day_in_india() -> None:
    assert office_time.day(date(2026, 1, 9)) == "09 Jan 2026"
    assert office_time.moment("2026-01-09") == "09 Jan 2026"
    assert office_time.day("2026-12-03T20:00:00+00:00") == "04 Dec 2026"
    assert office_time.month("2026-06-01") == "Jun 2026"


def test_the_office_day_of_a_timestamp_follows_the_zone_and_a_date_stays() -> None:
    assert office_time.date_of("2026-11-30T20:00:00+00:00") == date(2026, 12, 1)
    assert office_time.date_of("2026-11-30") == date(2026, 11, 30)
    office_time.use_zone("America/New_York")
    assert office_time.date_of("2026-12-01T03:00:00Z") == date(2026, 11, 30)
    assert office_time.date_of(date(2026, 12, 1)) == date(2026, 12, 1)


def test_a_time_without_a_zone_is_utc() -> None:
    assert office_time.moment(datetime(2026, 12, 3, 12, 0)) == "03 Dec 2026, 17:30 IST"


def test_another_office_zone_is_labelled_by_its_offset() -> None:
    config.load(environ={"TFOS_TIME_ZONE": "Asia/Dubai"})
    assert office_time.moment(NOON_UTC) == "03 Dec 2026, 16:00 UTC+04:00"
    config.load(environ={}, time_zone="America/St_Johns")
    assert office_time.time_of_day(NOON_UTC, seconds=False) == "08:30 UTC-03:30"
    config.load(environ={}, time_zone="UTC")
    assert office_time.moment(NOON_UTC) == "03 Dec 2026, 12:00 UTC"


def test_summer_time_changes_the_label_with_the_moment() -> None:
    config.load(environ={}, time_zone="Europe/London")
    assert (
        office_time.moment(datetime(2026, 7, 1, 12, tzinfo=UTC)) == "01 Jul 2026, 13:00 UTC+01:00"
    )
    assert (
        office_time.moment(datetime(2026, 1, 1, 12, tzinfo=UTC)) == "01 Jan 2026, 12:00 UTC+00:00"
    )


def test_an_unknown_zone_is_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="time_zone: 'Mars/Olympus' is not a time zone"):
        config.load(environ={"TFOS_TIME_ZONE": "Mars/Olympus"})
    assert office_time.zone_name() == "Asia/Kolkata"


def test_text_that_is_not_a_time_comes_back_as_it_is() -> None:
    assert office_time.shown("not a time") == "not a time"
    assert office_time.shown(None) == ""
    assert office_time.day(None) == ""
