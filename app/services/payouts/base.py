"""What every desk of the payouts service shares: its services and a few checks."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from app.kernel.errors import Conflict, PermissionDenied
from app.services.actors import Actor, Role
from app.services.collections import PAYOUTS
from app.services.context import IST, ServiceContext
from app.services.gate import BankersGate
from app.services.ledger import LedgerService
from app.services.pipeline import Reader
from app.services.store import Document

PENDING, RELEASED = "pending", "released"
STAFF: tuple[Role, ...] = ("employee", "admin")


class PayoutBase:
    """The context, the Banker's gate and the ledger the payout desks work with."""

    def __init__(self, ctx: ServiceContext, *, gate: BankersGate, ledger: LedgerService) -> None:
        self.ctx = ctx
        self.gate = gate
        self.ledger = ledger

    def payout_data(self, payout_id: str) -> dict[str, Any]:
        doc = self.ctx.store.get(PAYOUTS, payout_id)
        assert doc is not None
        return {"id": doc.id, **doc.data}


def pending(reader: Reader, payout_id: str) -> Document:
    """The payout, which must still be pending."""
    payout = reader.require(PAYOUTS, payout_id, "prize payout")
    status = payout.data.get("status")
    if status != PENDING:
        raise Conflict(f"Prize payout {payout_id} is {status}; only a pending payout can change.")
    return payout


def not_the_winner(actor: Actor, payout: Document, doing: str) -> None:
    if actor.id == payout.data["member_id"]:
        raise PermissionDenied(
            f"{actor.name} won this prize and cannot {doing} it themselves.",
            hint="Another employee or an admin must do it.",
        )


def local_day(iso: str) -> date:
    """The date in India of a stored timestamp: the prize clock counts days on the
    calendar the service clock's ``today()`` and every due date use (India's, whatever
    the office's display zone; see the README's ``--time-zone``), so a deadline and the
    day a release was asked for are never on two calendars."""
    return datetime.fromisoformat(iso).astimezone(IST).date()
