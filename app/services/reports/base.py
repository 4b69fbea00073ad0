"""What every report module shares: its declaration, its inputs, and how it writes values.

A report module declares one :class:`ReportKind`: its name (``tfos report NAME``),
title, which parameters it takes and needs, and ``build(sources, params)``, which reads
the services and returns the report's blocks (:mod:`.pdf`). Report modules read data
only through the services' public methods, never the store or the log.

Values are written one way in every report: dates ``02 Dec 2026``, times
``02 Dec 2026, 18:30 IST`` (:mod:`app.kernel.office_time`, in the office's zone),
amounts ``₹5,00,000.00`` (Indian grouping), personal numbers masked by the services that
hold them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from app.kernel import office_time
from app.services.groups import Group
from app.services.ledger import Due
from app.services.members import Member
from app.services.money import format_bps, format_inr, group_indian
from app.services.registry import Services
from app.services.reports.blocks import Block, Column, Paper, Table

PARAMS = ("group", "member", "start", "end", "period", "registrar", "receipt")
FLAGS = {
    "group": "--group",
    "member": "--member",
    "start": "--from",
    "end": "--to",
    "period": "--period",
    "registrar": "--registrar",
    "receipt": "--receipt",
}
"""How each parameter is named on the command line (and in messages)."""
KYC_TEXT = {
    "none": "Not submitted",
    "pending": "Pending",
    "approved": "Approved",
    "rejected": "Rejected",
}


@dataclass(frozen=True)
class Params:
    """A report's parameters, checked and resolved against the services."""

    today: date
    """The date positions are computed at (days past due, overdue): the services' today."""
    group: Group | None = None
    member: Member | None = None
    start: date | None = None
    end: date | None = None
    period: int | None = None
    registrar: bool = False
    receipt: str | None = None
    by: str = ""
    """Who exports the report, and from where ("Asha Iyer (auditor), on the desktop")."""
    lsn: int = 0
    """The log record the report reflects (the one its pages are stamped with)."""

    def within(self, value: str) -> bool:
        """Whether an ISO date, or the office's day of a timestamp, falls in
        ``start``..``end`` (both included)."""
        if self.before(value):
            return False
        return self.end is None or office_time.date_of(value) <= self.end

    def before(self, value: str) -> bool:
        """Whether an ISO date, or the office's day of a timestamp, comes before ``start``."""
        return self.start is not None and office_time.date_of(value) < self.start


@dataclass(frozen=True)
class Sources:
    """What a report reads: the services, and the log's signing side when it has one."""

    services: Services
    signing: Signing | None = None


class Signing(Protocol):
    """The log's signing side: its verifier key and its checkpoints."""

    def public_key(self) -> str:
        """The verifier key in the C2SP note format (``name+hash+base64``)."""
        ...

    def checkpoint(self, size: int) -> str | None:
        """The signed checkpoint (note text) of the first ``size`` records, if kept."""
        ...


Build = Callable[[Sources, Params], Sequence[Block]]


@dataclass(frozen=True)
class ReportKind:
    name: str
    title: str
    description: str
    build: Build
    takes: frozenset[str] = frozenset()
    needs: frozenset[str] = frozenset()
    dated: bool = False
    """Whether figures depend on the date (days past due): the masthead says "as of"."""
    paper: Paper = "a4"


# -- writing values -------------------------------------------------------------------------


def day(value: date | datetime | str | None) -> str:
    """``02 Dec 2026`` (a time becomes its date in the office's zone); "" for nothing."""
    return office_time.day(value)


def moment(value: date | datetime | str | None, *, seconds: bool = False) -> str:
    """``02 Dec 2026, 18:30 IST``; a date alone stays a date."""
    return office_time.moment(value, seconds=seconds)


def inr(paise: int | None) -> str:
    return "" if paise is None else format_inr(paise)


def pct(bps: int) -> str:
    return format_bps(bps)


def count(n: int, what: str, plural: str | None = None) -> str:
    """``1 member``, ``3 members``, with Indian grouping."""
    word = what if n == 1 else (plural or what + "s")
    return f"{group_indian(n)} {word}"


def short_id(value: str, keep: int = 10) -> str:
    """``loan-1837acd6fc`` stays; a longer id is cut with "…" (for narrow columns)."""
    return value if len(value) <= keep + 5 else value[: keep + 4] + "…"


def dues_table(dues: Sequence[Due], who: str, name: Callable[[Due], str], today: date) -> Table:
    """Instalments not paid in full, one per line; ``who`` titles the first column."""
    return Table(
        [
            Column(who, weight=2),
            Column("Period", "right"),
            Column("Due on", "right"),
            Column("Net instalment", "right"),
            Column("Paid", "right"),
            Column("Outstanding", "right"),
            Column("Days late", "right"),
        ],
        [
            (
                name(d),
                str(d.period),
                day(d.due_date),
                inr(d.net),
                inr(d.paid),
                inr(d.outstanding),
                str(d.days_late(today) or "—"),
            )
            for d in dues
        ],
        total=("Total", "", "", "", "", inr(sum(d.outstanding for d in dues)), ""),
        empty="Nothing is due: every instalment raised is paid.",
    )
