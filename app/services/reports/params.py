"""Checking a report request: the kind exists, it takes what was given, it has what it needs.

Each refusal is one :class:`ValidationError` line naming the parameter as the command
line spells it (``--from``) and what to give instead. A group is named by its id or
its exact name, a member by their id or mobile number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from app.kernel import office_time
from app.kernel.errors import NotFound, ValidationError
from app.services.groups import Group
from app.services.members import Member
from app.services.registry import Services
from app.services.reports.base import FLAGS, PARAMS, Params, ReportKind

NEEDS_HINT = {
    "group": "a group id or its exact name",
    "member": "a member id or mobile number",
    "start": "a date, YYYY-MM-DD",
    "end": "a date, YYYY-MM-DD",
    "period": "a period number",
    "registrar": "",
    "receipt": "the receipt's bank reference",
}


@dataclass(frozen=True)
class Request:
    """A report as asked for: the kind and its raw parameters (None when not given)."""

    kind: str
    group: str | None = None
    member: str | None = None
    start: str | None = None
    end: str | None = None
    period: str | int | None = None
    registrar: bool = False
    receipt: str | None = None

    def given(self) -> list[str]:
        return [name for name in PARAMS if getattr(self, name) not in (None, False, "")]


def find_kind(kinds: dict[str, ReportKind], name: str) -> ReportKind:
    kind = kinds.get(name.strip().lower()) if isinstance(name, str) else None
    if kind is None:
        raise ValidationError(f"There is no {name!r} report; the reports are {', '.join(kinds)}.")
    return kind


def check_shape(kind: ReportKind, request: Request) -> None:
    """Refuse a parameter the kind does not take, or a missing one it needs."""
    for name in request.given():
        if name not in kind.takes:
            takes = ", ".join(FLAGS[n] for n in sorted(kind.takes, key=PARAMS.index))
            raise ValidationError(
                f"The {kind.name} report takes no {FLAGS[name]}"
                + (f"; it takes {takes}." if takes else "; it takes no parameters.")
            )
    for name in sorted(kind.needs, key=PARAMS.index):
        if name not in request.given():
            raise ValidationError(
                f"The {kind.name} report needs {FLAGS[name]} ({NEEDS_HINT[name]})."
            )


def resolve(services: Services, kind: ReportKind, request: Request, today: date) -> Params:
    """The request's parameters checked and looked up; a ValidationError otherwise."""
    check_shape(kind, request)
    start, end = _date(request.start, "start"), _date(request.end, "end")
    if start and end and start > end:
        raise ValidationError(
            f"--from {office_time.day(start)} is after --to {office_time.day(end)}."
        )
    period = _period(request.period)
    return Params(
        today=today,
        group=_group(services, request.group) if request.group else None,
        member=_member(services, request.member) if request.member else None,
        start=start,
        end=end,
        period=period,
        registrar=bool(request.registrar),
        receipt=request.receipt.strip() if request.receipt else None,
    )


def _date(text: str | None, name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(f"{FLAGS[name]}: {text!r} is not a date (YYYY-MM-DD).") from None


def _period(raw: str | int | None) -> int | None:
    if raw is None or raw == "":
        return None
    text = str(raw).strip()
    if not text.isdigit() or int(text) < 1:
        raise ValidationError(f"--period: {raw!r} is not a period number (1, 2, 3 ...).")
    return int(text)


def _group(services: Services, text: str) -> Group:
    wanted = text.strip()
    groups = services.groups.list_groups()
    exact = [g for g in groups if g.id == wanted]
    named = exact or [g for g in groups if g.name.casefold() == wanted.casefold()]
    if len(named) == 1:
        return named[0]
    if not named:
        raise ValidationError(f"--group: there is no chit group {wanted!r} (give its id or name).")
    ids = ", ".join(g.id for g in named)
    raise ValidationError(
        f"--group: {len(named)} groups are named {wanted!r} ({ids}); give its id."
    )


def _member(services: Services, text: str) -> Member:
    wanted = text.strip()
    try:
        return services.members.get(wanted)
    except NotFound:
        pass
    member = None
    if any(ch.isdigit() for ch in wanted) and not wanted.startswith("mem-"):
        try:
            member = services.members.find_by_phone(wanted)
        except ValidationError:
            member = None
    if member is None:
        raise ValidationError(
            f"--member: there is no member {wanted!r} (give a member id or mobile number)."
        )
    return member
