"""PDF reports: one module per kind, one way to head, number, stamp and draw them.

``render_report(services, ctx, Request("member-list"), Letterhead("Firm"))`` returns
the PDF bytes. Every report:

* is declared by one module (:class:`~.base.ReportKind` in ``KIND``) and registered in
  :data:`REPORTS`; its ``build`` reads the services' public methods only;
* takes only the parameters it declares, and refuses others or missing ones with one
  line (:mod:`.params`);
* is headed on every page by the firm, the report's title, its parameters and the log
  head it reflects (LSN, head hash, that record's time in IST), read consistently with
  its figures (:mod:`.stamp`), and numbered "Page x of y";
* is deterministic: the same log and parameters give the same bytes (:mod:`.pdf`).

The log's public key and signed checkpoint (issue 12, part 3) come in through
``signing`` (:class:`Signing`): when given, the key is printed in every masthead and
the checkpoint at the end of the report. The ``audit`` report slots into
:data:`REPORTS` like any other kind once checkpoints exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from app.services.context import ServiceContext
from app.services.registry import Services
from app.services.reports import (
    auction_minutes,
    balance_sheet,
    collections_register,
    defaulters,
    group_ledger,
    loan_portfolio,
    member_list,
    member_statement,
    receipt,
    tickets,
    trial_balance,
)
from app.services.reports.base import Params, ReportKind, Sources, day
from app.services.reports.blocks import Block, Heading, Masthead, Text
from app.services.reports.params import Request, find_kind, resolve
from app.services.reports.pdf import render
from app.services.reports.stamp import LogHead, snapshot

__all__ = ["REPORTS", "Letterhead", "Rendered", "ReportKind", "Request", "Signing", "render_report"]

REPORTS: dict[str, ReportKind] = {
    kind.name: kind
    for kind in (
        member_list.KIND,
        loan_portfolio.KIND,
        member_statement.KIND,
        group_ledger.KIND,
        auction_minutes.KIND,
        defaulters.KIND,
        collections_register.KIND,
        trial_balance.KIND,
        balance_sheet.KIND,
        receipt.KIND,
        tickets.KIND,
    )
}
"""Every report kind by its name (``tfos report NAME``)."""


@dataclass(frozen=True)
class Letterhead:
    """Who issues the reports (the ``firm_name`` and ``firm_address`` settings)."""

    firm: str
    address: str = ""


class Signing(Protocol):
    """The log's signing side, when it exists: its verifier key and its checkpoints."""

    def public_key(self) -> str:
        """The verifier key in the C2SP note format (``name+hash+base64``)."""
        ...

    def checkpoint(self, size: int) -> str | None:
        """The signed checkpoint (note text) of the first ``size`` records, if kept."""
        ...


@dataclass(frozen=True)
class Rendered:
    pdf: bytes
    kind: ReportKind
    params: Params
    head: LogHead
    masthead: Masthead


def render_report(
    services: Services,
    ctx: ServiceContext,
    request: Request,
    letterhead: Letterhead,
    signing: Signing | None = None,
) -> Rendered:
    """The PDF of ``request`` (a ValidationError names what is wrong with it)."""
    kind = find_kind(REPORTS, request.kind)
    today = ctx.clock.today()

    def read() -> tuple[Params, list[Block]]:
        params = resolve(services, kind, request, today)
        return params, list(kind.build(Sources(services), params))

    (params, blocks), head = snapshot(ctx, read)
    if signing is not None:
        head = head.with_signing(signing.public_key(), signing.checkpoint(head.lsn))
    if head.checkpoint:
        blocks += [Heading("Signed checkpoint of the log"), Text(head.checkpoint, "mono")]
    masthead = _masthead(kind, params, head, letterhead)
    return Rendered(render(masthead, blocks, kind.paper), kind, params, head, masthead)


def describe(kind: ReportKind, params: Params) -> str:
    """The parameters as one line: ``Group Alpha · 01 Jun 2026 to 30 Nov 2026 · ...``."""
    parts = []
    if params.group is not None:
        parts.append(f"Group {params.group.name} ({params.group.id})")
    if params.member is not None:
        parts.append(f"Member {params.member.name} ({params.member.id})")
    if params.period is not None:
        parts.append(f"Period {params.period}")
    if params.receipt:
        parts.append(f"Bank reference {params.receipt}")
    if params.start or params.end:
        start = day(params.start) if params.start else "the first record"
        parts.append(f"{start} to {day(params.end) if params.end else 'the log head'}")
    if params.registrar:
        parts.append("Registrar's copy: true names shown")
    if kind.dated:
        parts.append(f"Days past due counted to {day(params.today)}")
    return " · ".join(parts)


def _masthead(kind: ReportKind, params: Params, head: LogHead, letterhead: Letterhead) -> Masthead:
    about = describe(kind, params)
    stamp = (
        f"Reflects the audit log up to record {head.lsn}, written {head.at_ist}."
        if head.lsn
        else "The audit log has no records yet."
    )
    mono = [f"Log head SHA-256 {head.hash}"]
    if head.public_key:
        mono.append(f"Log key {head.public_key}")
    return Masthead(
        firm=letterhead.firm,
        address=letterhead.address,
        title=kind.title,
        lines=[line for line in (about, stamp) if line],
        mono_lines=mono,
        author=letterhead.firm,
        subject=f"{kind.name}: {about}",
        keywords=f"LSN {head.lsn}; head {head.hash}",
        created=head.pdf_date,
    )
