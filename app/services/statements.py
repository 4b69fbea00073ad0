"""Members' statements as they download them: the ``member-statement`` PDF report,
for the member themselves (or staff, for any member), recorded as an export.

Each download is a WAL record (:class:`~app.services.events.ReportExported`): who took
whose statement, as of which log head, and the SHA-256 of the file they got.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from hashlib import sha256
from typing import TYPE_CHECKING

from app.kernel.errors import PermissionDenied
from app.services.actors import Actor
from app.services.context import ServiceContext
from app.services.events import ReportExported
from app.services.pipeline import ChangeSet
from app.services.text import LINE, clean

if TYPE_CHECKING:
    from app.services.registry import Services

KIND = "member-statement"


@dataclass(frozen=True)
class Download:
    filename: str
    pdf: bytes
    lsn: int
    """The log record the statement reflects."""


class StatementService:
    """Renders a member's statement and records the download."""

    def __init__(
        self,
        ctx: ServiceContext,
        services: Callable[[], Services],
        firm: str,
        address: str = "",
    ) -> None:
        self.ctx = ctx
        self._services = services
        self._firm = (firm, address)

    def download(
        self, actor: Actor, member_id: str, start: str | None = None, end: str | None = None
    ) -> Download:
        """The statement of ``member_id`` (``start``/``end``: YYYY-MM-DD, optional).

        Raises:
            PermissionDenied: a member asked for someone else's, or the actor is not staff.
            ValidationError: a date is wrong (the message names it).
        """
        if actor.role == "member" and member_id != actor.id:
            raise PermissionDenied("You can download only your own statement.")
        if actor.role != "member" and not actor.is_staff:
            raise PermissionDenied(f"{actor.name} ({actor.role}) may not download statements.")
        # The reports read the services through the registry, which builds this service.
        from app.services.reports import Letterhead, Request, render_report

        request = Request(
            KIND,
            member=member_id,
            start=clean(start, "from", LINE) or None,
            end=clean(end, "to", LINE) or None,
        )
        rendered = render_report(self._services(), self.ctx, request, Letterhead(*self._firm))
        params = {k: v for k, v in (("member", member_id), ("from", start), ("to", end)) if v}
        event = ReportExported(
            KIND,
            params,
            rendered.head.lsn,
            rendered.head.hash,
            sha256(rendered.pdf).hexdigest(),
            len(rendered.pdf),
        )
        self.ctx.pipeline.commit(actor, ChangeSet.of(event, KIND, []))
        day = self.ctx.clock.today().isoformat()
        return Download(f"statement-{member_id}-{day}.pdf", rendered.pdf, rendered.head.lsn)
