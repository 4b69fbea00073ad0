"""A prize winner's security, or the future instalments deducted from the prize.

The winner still owes the future instalments of the group (gross, as the dividends to
come are not known). Before the prize is paid they give security worth one third more
than that (4/3), or one half more (3/2) when it is immovable property; or they ask in
writing to have the future instalments deducted from the prize, which then keeps them
in the group's pool (:func:`app.services.gate.deduction`).

The security is one of three kinds: a *guarantor* (a person who answers for the
instalments), a *deposit* (a fixed deposit, gold or another movable asset pledged) or
*property* (immovable, with its title deeds deposited). What was given is recorded
even when it falls short (the KPIs count prized subscribers short of cover); the
release is refused until it covers what is required.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.kernel.errors import Conflict, ValidationError
from app.services.actors import Actor
from app.services.auctions import rules
from app.services.auctions.rules import Agreement
from app.services.collections import PAYOUTS
from app.services.events import FutureInstalmentsDeducted, PayoutSecured
from app.services.groups import read_group
from app.services.money import format_inr
from app.services.payouts.base import PayoutBase, pending
from app.services.pipeline import ChangeSet, Reader
from app.services.store import Write
from app.services.text import LINE, NOTE, clean


@dataclass(frozen=True)
class SecurityKind:
    name: str
    label: str
    immovable: bool
    hint: str


KINDS = {
    k.name: k
    for k in (
        SecurityKind("guarantor", "Guarantor", False, "guarantor's name, address and income"),
        SecurityKind("deposit", "Deposit pledged", False, "e.g. FD receipt no. and bank, gold"),
        SecurityKind("property", "Immovable property", True, "survey or door no.; deeds held"),
    )
}
"""The kinds of security, by name, in the order a form lists them."""


@dataclass(frozen=True)
class SecurityCheck:
    """A security's value against what the future instalments require."""

    kind: SecurityKind
    value: int
    future: int
    required: int

    @property
    def enough(self) -> bool:
        return self.value >= self.required

    @property
    def short(self) -> int:
        return max(0, self.required - self.value)

    @property
    def rule(self) -> str:
        share = "one half (immovable property)" if self.kind.immovable else "one third"
        return f"the future instalments {format_inr(self.future)} plus {share}"

    @property
    def text(self) -> str:
        need = f"{format_inr(self.required)} required ({self.rule})"
        if self.enough:
            return f"{format_inr(self.value)} covers the {need}."
        return f"{format_inr(self.value)} is short by {format_inr(self.short)} of the {need}."


def security_kind(name: str) -> SecurityKind:
    kind = KINDS.get(name)
    if kind is None:
        raise ValidationError(
            f"Kind of security: {name!r} is not one of {', '.join(KINDS)}.",
            hint="Choose a guarantor, a deposit or immovable property.",
        )
    return kind


def check_security(agreement: Agreement, remaining: int, kind: str, value: int) -> SecurityCheck:
    """``value`` paise of ``kind`` against the ``remaining`` future instalments."""
    chosen = security_kind(kind)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(
            f"Value of the security: must be whole paise, at least 0 (got {value!r})."
        )
    future = remaining * agreement.instalment_paise
    required = rules.security_required(agreement, remaining, chosen.immovable)
    return SecurityCheck(chosen, value, future, required)


class SecurityDesk(PayoutBase):
    """Recording a winner's security, or their choice to have instalments deducted."""

    def record_security(
        self,
        actor: Actor,
        payout_id: str,
        amount: int,
        *,
        kind: str = "deposit",
        description: str = "",
        reason: str = "",
    ) -> dict[str, Any]:
        """Record the security a prize winner has given (value in paise); returns the
        payout with ``security_required`` for its kind and whether it is enough."""
        actor.require("employee", "admin", doing="record a prize winner's security")
        chosen = security_kind(kind)
        text = clean(description, "Description of the security", LINE)
        if not text:
            raise ValidationError(
                f"Description of the security: say what was given ({chosen.hint}).",
                hint="Another person must be able to check it from this.",
            )
        reason = clean(reason, "Reason", NOTE)

        def work(reader: Reader) -> ChangeSet:
            payout = pending(reader, payout_id)
            group = read_group(reader, payout.data["group_id"])
            check = check_security(
                group.agreement, group.members - payout.data["period"], kind, amount
            )
            update = {
                "security_held": amount,
                "security_required": check.required,
                "security_kind": kind,
                "security_description": text,
                "security_recorded_by": actor.id,
                "security_recorded_at": self.ctx.clock.now().isoformat(),
            }
            write = Write("update", PAYOUTS, payout_id, update)
            event = PayoutSecured(payout_id, amount, check.required)
            return ChangeSet.of(event, payout_id, [write], reason)

        self.ctx.pipeline.transact(actor, work)
        return self.payout_data(payout_id)

    def deduct_future(self, actor: Actor, payout_id: str, reason: str) -> dict[str, Any]:
        """The winner chooses to have future instalments deducted from the prize."""
        actor.require("employee", "admin", doing="deduct future instalments from a prize")
        reason = clean(reason, "Reason", NOTE)
        if not reason:
            raise ValidationError("Give the reason (e.g. the winner's written request).")

        def work(reader: Reader) -> ChangeSet:
            payout = pending(reader, payout_id)
            owed = int(payout.data.get("future_instalments", 0))
            if owed >= payout.data["amount"]:
                raise Conflict(
                    f"The future instalments ({format_inr(owed)}) are not less than the "
                    f"prize ({format_inr(payout.data['amount'])}): nothing would be paid.",
                    hint="Take security instead.",
                )
            write = Write("update", PAYOUTS, payout_id, {"deduct_future": True})
            event = FutureInstalmentsDeducted(payout_id, owed)
            return ChangeSet.of(event, payout_id, [write], reason)

        self.ctx.pipeline.transact(actor, work)
        return self.payout_data(payout_id)
