"""PDF reports for the desktop: the views hold the services, not their context, so the
printer holds it for them (the command line renders through ``render_report``).

``services.printer.receipt(bank_ref)`` is the counter receipt of one payment, headed by
the firm (the ``firm_name`` and ``firm_address`` settings), as ``tfos report receipt``
writes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.services.context import ServiceContext

if TYPE_CHECKING:
    from app.services.registry import Services
    from app.services.reports import Rendered, Request


class Printer:
    """Renders reports over the services it is attached to (see module docstring)."""

    def __init__(self, ctx: ServiceContext, firm: str, address: str = "") -> None:
        self._ctx = ctx
        self._firm = firm
        self._address = address
        self._services: Services | None = None

    def attach(self, services: Services) -> None:
        """The services the reports read (set once, by :meth:`Services.build`)."""
        self._services = services

    def render(self, request: Request) -> Rendered:
        """The PDF ``request`` asks for (a ValidationError names what is wrong with it)."""
        from app.services.reports import Letterhead, render_report

        if self._services is None:
            raise RuntimeError("the printer is not attached to its services")
        letterhead = Letterhead(self._firm, self._address)
        return render_report(self._services, self._ctx, request, letterhead)

    def receipt(self, bank_ref: str) -> bytes:
        """The numbered counter receipt of the payment ``bank_ref``, as PDF bytes."""
        from app.services.reports import Request

        return self.render(Request("receipt", receipt=bank_ref)).pdf
