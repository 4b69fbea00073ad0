"""The Banker's gate's pools and commitments as people call them.

The gate decides over ids (``cash:group:<g>``, ``payouts/<group>-<period>``,
``loans/<id>``, ``advances/<id>``); screens name them: "the pool of Kaveri Chit",
"the prize of period 6 of Kaveri Chit", "the loan of Neha Naidu (L-0042)", "the advance for the
prize of period 6 of Kaveri Chit". Every screen that shows a decision (its safe
sequence, the pool and commitment that refuse it) names them here, so they read the
same everywhere. An id the store does not know is shown as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from app.kernel.bankers import Decision
from app.services.activity import Names
from app.services.collections import ADVANCES, LOANS, PAYOUTS
from app.services.ledger.postings import COMPANY_CASH, LENDING_CASH
from app.services.store import DocumentStore

GROUP_POOL = "cash:group:"
NEW_ADVANCE = "(to propose)"
"""The id of an advance not proposed yet, when the gate is asked what it would say."""


class GateNames:
    """Names pools and commitments, reading each name once (``groups``: group names
    the caller has read already, by id)."""

    def __init__(self, store: DocumentStore, groups: Mapping[str, str] | None = None) -> None:
        self.store = store
        self.names = Names(store)
        self.groups = dict(groups or {})

    def explain(self, decision: Decision) -> str:
        """A refusal's reason with its pools and commitments named: "The prize of period
        6 of Kaveri Chit asks ₹7,60,000.00 from the pool of Kaveri Chit but only
        ₹6,40,000.00 is available there", rather than the ids the log keeps."""
        ids = {decision.commitment_id, *decision.amounts}
        ids |= {decision.pool} if decision.pool else set()
        for blocked in decision.blocked:
            ids |= {blocked.commitment_id, *(s.pool for s in blocked.shortfalls)}
        text = decision.reason.removeprefix("refused: ")  # the error says it is refused
        for name in sorted(ids, key=len, reverse=True):  # a longer id first: no id is cut
            label = self.label(name)
            for said in (f"commitment {name}", f"pool {name}", name):
                text = text.replace(said, label)
        return f"{text[:1].upper()}{text[1:]}."

    def sequence(self, ids: Iterable[str]) -> list[str]:
        """A safe sequence, each commitment named."""
        return [self.label(i) for i in ids]

    def label(self, name: str) -> str:
        """A pool or commitment as people call it."""
        if name == COMPANY_CASH:
            return "company cash"
        if name == LENDING_CASH:
            return "the lending capital"
        if name.startswith(GROUP_POOL):
            return f"the pool of {self.group(name.removeprefix(GROUP_POOL))}"
        kind, _, ident = name.partition("/")
        if kind == PAYOUTS:
            return self.prize(ident)
        if kind == ADVANCES:
            return "this advance" if ident == NEW_ADVANCE else self.advance(ident)
        if kind == LOANS:
            holder, number = self.names.of("loan", ident), self.names.number("loan", ident)
            return f"the loan of {holder} ({number})" if holder else f"loan {number}"
        return name

    def group(self, group_id: str) -> str:
        if group_id not in self.groups:
            self.groups[group_id] = self.names.shown("group", group_id)
        return self.groups[group_id]

    def prize(self, payout_id: str) -> str:
        group_id, _, period = payout_id.rpartition("-")
        return f"the prize of period {period} of {self.group(group_id)}"

    def advance(self, advance_id: str) -> str:
        doc = self.store.get(ADVANCES, advance_id)
        payout = doc.data.get("payout_id") if doc is not None else None
        return f"the advance for {self.prize(payout)}" if payout else f"advance {advance_id}"
