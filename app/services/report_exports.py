"""Exporting reports: render a PDF for someone, hand it over, and record it in the log.

Every export (the desktop's "Export PDF…", ``tfos report``, a member's download) is a
``report.export`` record (:class:`~app.services.events.ReportExported`) in the name
of whoever exported it: the kind and its parameters, the log record the report
reflects (LSN and hash), and the SHA-256, size and page count of the file. A copy of a
report found later can be matched to its record, and the ``audit`` report lists who
exported what. The record is written after the file: a file that could not be written
is not recorded, and a file whose record could not be written is removed.

Who may export what: staff and auditors any kind; a member only their own member
statement. Every report carries the log's key and the signed checkpoint of the record
it reflects (:class:`~app.services.log_signing.LogSigning`).

The reports themselves (:mod:`app.services.reports`, reportlab) are imported on first
use, so that processes that never print one do not pay for them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from app.kernel.errors import PermissionDenied, StorageError
from app.kernel.files import write_durably
from app.services.actors import Actor
from app.services.context import ServiceContext
from app.services.events import ReportExported
from app.services.log_signing import LogSigning
from app.services.pipeline import ChangeSet

if TYPE_CHECKING:
    from app.services.registry import Services
    from app.services.reports import Progress, Rendered, Request

MEMBER_KIND = "member-statement"


@dataclass(frozen=True)
class KindInfo:
    """A kind of report as a chooser shows it: which parameters it takes and needs."""

    name: str
    title: str
    description: str
    takes: frozenset[str]
    needs: frozenset[str]


@dataclass(frozen=True)
class Exported:
    """A report exported: the PDF, its SHA-256, and the log record of the export."""

    rendered: Rendered
    sha256: str
    record_lsn: int
    path: Path | None = None


class ReportService:
    """Renders, hands over and records reports (see module docstring)."""

    def __init__(
        self,
        ctx: ServiceContext,
        services: Services,
        firm: tuple[str, str],
        signing: LogSigning | None,
    ) -> None:
        self.ctx = ctx
        self.services = services
        self.firm = firm
        """The firm's name and address, at the head of every report."""
        self.signing = signing

    def kinds(self) -> list[KindInfo]:
        from app.services.reports import REPORTS

        return [
            KindInfo(k.name, k.title, k.description, k.takes, k.needs) for k in REPORTS.values()
        ]

    def public_key(self) -> str | None:
        """The log's verifier key every report prints (None: the log signs nothing)."""
        return self.signing.public_key() if self.signing is not None else None

    def render(
        self, actor: Actor, request: Request, *, via: str, progress: Progress | None = None
    ) -> Rendered:
        """The PDF of ``request`` for ``actor`` (not recorded: see :meth:`export`).

        Raises:
            PermissionDenied: a member asked for anything but their own statement.
            ValidationError: the request is wrong (says what to give instead).
        """
        from app.services.reports import Letterhead, render_report

        request = _may_export(actor, request)
        by = f"{actor.name} ({actor.role}), {via}"
        return render_report(
            self.services,
            self.ctx,
            request,
            Letterhead(*self.firm),
            self.signing,
            by=by,
            progress=progress,
        )

    def export(
        self,
        actor: Actor,
        request: Request,
        out: Path,
        *,
        via: str,
        progress: Progress | None = None,
    ) -> Exported:
        """Render ``request``, write it durably to ``out`` and record the export."""
        rendered = self.render(actor, request, via=via, progress=progress)
        try:
            write_durably(out, rendered.pdf)
        except OSError as exc:
            raise StorageError(
                f"Cannot write {out}: {exc.strerror or exc}.",
                hint="Choose a folder you can write to, with room for the file.",
            ) from exc
        if progress is not None:
            progress("Recording the export in the log", 0, 0)
        try:
            done = self.record(actor, rendered, via=via)
        except BaseException:
            out.unlink(missing_ok=True)
            raise
        return Exported(rendered, done.sha256, done.record_lsn, out)

    def download(self, actor: Actor, request: Request, *, via: str) -> Exported:
        """Render ``request`` and record it, for a caller that hands the bytes over."""
        return self.record(actor, self.render(actor, request, via=via), via=via)

    def record(self, actor: Actor, rendered: Rendered, *, via: str) -> Exported:
        """Write the ``report.export`` record of ``rendered``."""
        digest = hashlib.sha256(rendered.pdf).hexdigest()
        event = ReportExported(
            kind=rendered.kind.name,
            params=_params_json(rendered),
            lsn=rendered.head.lsn,
            head_hash=rendered.head.hash,
            sha256=digest,
            bytes=len(rendered.pdf),
            pages=rendered.pages,
            via=via,
        )
        change = ChangeSet.of(event, rendered.kind.name, [])
        record = self.ctx.pipeline.commit(actor, change)
        return Exported(rendered, digest, record.lsn)


def _may_export(actor: Actor, request: Request) -> Request:
    """``request`` as ``actor`` may have it: a member's is of their own statement."""
    if actor.role != "member":
        return request
    if request.kind != MEMBER_KIND or (request.member not in (None, "", actor.id)):
        raise PermissionDenied(
            f"{actor.name} may export only their own member statement.",
            hint="Ask the office for any other report.",
        )
    return replace(request, member=actor.id)


def _params_json(rendered: Rendered) -> dict[str, str]:
    """The report's parameters as the record keeps them (ids, ISO dates)."""
    p = rendered.params
    values = {
        "group": p.group.id if p.group else None,
        "member": p.member.id if p.member else None,
        "from": p.start.isoformat() if p.start else None,
        "to": p.end.isoformat() if p.end else None,
        "period": str(p.period) if p.period is not None else None,
        "registrar": "yes" if p.registrar else None,
        "receipt": p.receipt,
    }
    return {k: v for k, v in values.items() if v is not None}
