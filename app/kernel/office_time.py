"""Dates and times as the office reads them: ``03 Dec 2026`` and ``03 Dec 2026, 18:30 IST``.

Every person-facing date and time (desktop, web pages, PDFs, command-line output, error
messages) is written by this module, so there is one style: the day with two digits,
the month's short English name, the year; a time of day in 24-hour form, followed by its
zone's label. Times are shown in the office's zone (the ``time_zone`` setting, default
``Asia/Kolkata``), which the composition root sets once with :func:`use_zone`. What is
stored never depends on it: timestamps are kept in UTC, dates as ISO calendar dates.

The label is ``IST`` for India; for any other zone it is the offset from UTC at that
moment (``UTC+04:00``), which the web pages' formatter (``server/static/app.js``) works
out the same way. A timestamp without a zone is taken to be UTC.

It lives in the kernel, as the rupee format does, so kernel messages (who holds a lock
since when) read like everything else.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.kernel.errors import ValidationError

DEFAULT_ZONE = "Asia/Kolkata"
INDIA = timezone(timedelta(hours=5, minutes=30), "IST")
NAMED = {"Asia/Kolkata": "IST", "Asia/Calcutta": "IST", "UTC": "UTC", "Etc/UTC": "UTC"}
"""Zones whose label is a name rather than an offset (the web pages use the same table)."""
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_zone: tuple[str, tzinfo] = (DEFAULT_ZONE, INDIA)


def find_zone(name: str) -> tzinfo:
    """The zone called ``name`` (an IANA name such as ``Asia/Kolkata``).

    Raises:
        ValidationError: no such zone on this system.
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        if name in ("Asia/Kolkata", "Asia/Calcutta"):
            return INDIA  # a system without the time zone database still knows India
        raise ValidationError(
            f"Setting time_zone: {name[:60]!r} is not a time zone this system knows.",
            hint="Give an IANA zone name such as Asia/Kolkata or Asia/Dubai.",
        ) from None


def use_zone(name: str) -> None:
    """Show every time from now on in the zone ``name`` (see :func:`find_zone`)."""
    global _zone
    _zone = (name, find_zone(name))


def zone_name() -> str:
    """The IANA name of the office's zone."""
    return _zone[0]


def zone() -> tzinfo:
    """The office's zone."""
    return _zone[1]


def office(value: datetime) -> datetime:
    """``value`` on the office's clock (a naive value is taken to be UTC)."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(_zone[1])


def label(value: datetime | None = None) -> str:
    """The zone's label at ``value`` (default now): ``IST``, or ``UTC+04:00``."""
    name, _ = _zone
    if name in NAMED:
        return NAMED[name]
    offset = office(value or datetime.now(UTC)).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def parse(value: date | datetime | str) -> date | datetime:
    """An ISO date (``2026-12-03``) or timestamp (``...T12:00:00Z``) as a date or datetime."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if len(text) == 10:
        return date.fromisoformat(text)
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def date_of(value: date | datetime | str) -> date:
    """The office's calendar day of ``value``: a date (``2026-12-03``) stays as it is; a
    timestamp becomes its date in the office (``2026-11-30T20:00:00Z`` is 01 Dec in India)."""
    parsed = parse(value)
    return office(parsed).date() if isinstance(parsed, datetime) else parsed


def day(value: date | datetime | str | None) -> str:
    """``03 Dec 2026``; a timestamp becomes its date in the office; "" for nothing."""
    if not value:
        return ""
    parsed = date_of(value)
    return f"{parsed.day:02d} {MONTHS[parsed.month - 1]} {parsed.year}"


def month(value: date | datetime | str) -> str:
    """``Dec 2026``."""
    parsed = date_of(value)
    return f"{MONTHS[parsed.month - 1]} {parsed.year}"


def time_of_day(value: datetime | str, *, seconds: bool = True) -> str:
    """``18:30:05 IST`` (the time alone, for a list of one day's events)."""
    parsed = parse(value)
    if not isinstance(parsed, datetime):
        raise ValueError(f"{value!r} is a date, not a time")
    local = office(parsed)
    clock = f"{local:%H:%M:%S}" if seconds else f"{local:%H:%M}"
    return f"{clock} {label(local)}"


def moment(value: date | datetime | str | None, *, seconds: bool = False) -> str:
    """``03 Dec 2026, 18:30 IST``; a date alone stays a date; "" for nothing."""
    if not value:
        return ""
    parsed = parse(value)
    if not isinstance(parsed, datetime):
        return day(parsed)
    return f"{day(parsed)}, {time_of_day(parsed, seconds=seconds)}"


def shown(value: str | None, *, seconds: bool = False) -> str:
    """Like :func:`moment`, but a value that is not an ISO date or time comes back as
    it is (text from a record that may hold anything)."""
    try:
        return moment(value, seconds=seconds)
    except ValueError:
        return value or ""
