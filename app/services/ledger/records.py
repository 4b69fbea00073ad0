"""What the ledger service returns: receipts, dues, period collections, transactions.

Receipt numbers. An instalment's receipt is numbered ``<group>/P<period>/<serial>``,
the group named by its registration (sanction) number in its one spelling
(:func:`~app.services.group_terms.registration_key`, ``TN-CHIT-2026-0142``): the number
people find on their agreement, unique across groups and never changed, so a receipt
reads the same on every screen, every copy and every reprint. The number is not
stored: :func:`receipt_entries` reads it from the group, so receipts recorded before
this rule read the same way; a group stored before registration numbers were asked
keeps its id there. A loan repayment's receipt is numbered ``<loan>/E<serial>``, the loan
named by its loan number (``L-0042/E003``), read from the loan the same way; a loan
stored before loan numbers keeps its id there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date as Date
from typing import Any, Protocol

from app.kernel import office_time
from app.services.collections import GROUPS, LOANS
from app.services.group_terms import registration_key
from app.services.ledger.postings import REF_FIELDS, Line
from app.services.loans.book import loan_code
from app.services.money import format_inr
from app.services.store import Document

BANK = "bank"
CASH, UPI, NEFT, CHEQUE = "cash", "upi", "neft", "cheque"
MODES = {
    BANK: "Bank transfer",
    CASH: "Cash",
    UPI: "UPI",
    NEFT: "NEFT/IMPS",
    CHEQUE: "Cheque",
}
"""How money came in, by the ``mode`` a receipt records. Receipts recorded without one
came with a bank reference from a bank statement: bank transfers."""

PENDING, CLEARED, BOUNCED = "pending", "cleared", "bounced"
BOUNCE_ASKED = "bounce_requested"
CHEQUE_STATES = {
    PENDING: "pending clearance",
    BOUNCE_ASKED: "bounce awaiting a second person",
    CLEARED: "cleared",
    BOUNCED: "bounced",
}
"""A counter cheque's states: recorded pending clearance, then cleared, or bounced (its
posting reversed and its due reopened) once a second person confirms the bounce."""

PROPOSED, ADDED, DECLINED = "proposed", "added", "declined"
"""A capital pay-in's states (:mod:`.capital`): waiting for a second person, posted, or
declined (which frees its bank reference)."""


def capital_use(payin: Document | None) -> str:
    """What a capital pay-in holding a bank reference is, in words (``₹5,00,000.00 of
    capital recorded by Asha Admin on 3 Dec 2026, 10:15 IST (waiting for a second
    person)``); "" when none holds it: there is no pay-in, or it was declined. Both
    directions of "one credit is recorded once" say it so: a pay-in refused for a
    receipt's reference (:mod:`.capital`), a receipt for a pay-in's (:mod:`.receipts`)."""
    if payin is None or payin.data["status"] == DECLINED:
        return ""
    d = payin.data
    state = (
        "waiting for a second person"
        if d["status"] == PROPOSED
        else f"added by {d['approved_by']['name']}"
    )
    return (
        f"{format_inr(d['amount'])} of capital recorded by {d['proposed_by']['name']} on "
        f"{office_time.moment(d['proposed_at'])} ({state})"
    )


@dataclass(frozen=True)
class Receipt:
    """One instalment receipt. ``duplicate`` is True when the bank reference had
    already been recorded with the same payload and nothing new was written."""

    bank_ref: str
    group_id: str
    period: int
    member_id: str
    amount: int
    received_on: str
    txn_id: str
    recorded_by: str
    recorded_at: str
    commission_txn: str | None = None
    duplicate: bool = False
    serial: int | None = None
    """The receipt's place in its period's receipts (1, 2, ...); None for receipts
    recorded before receipts were numbered."""
    mode: str = BANK
    cheque: dict[str, Any] | None = None
    """A counter cheque's ``number``, ``ifsc`` and ``state`` (:data:`CHEQUE_STATES`)."""
    advances: list[dict[str, Any]] | None = None
    """The company advances this receipt repaid (``id``, ``amount``): a bounce of its
    cheque makes them owed again (:func:`app.services.ledger.advances.reopen`)."""

    @classmethod
    def from_doc(cls, doc: Document, *, duplicate: bool = False) -> Receipt:
        d = doc.data
        return cls(
            d["bank_ref"],
            d["group_id"],
            d["period"],
            d["member_id"],
            d["amount"],
            d["received_on"],
            d["txn_id"],
            d["recorded_by"],
            d["recorded_at"],
            d.get("commission_txn"),
            duplicate,
            d.get("serial"),
            d.get("mode") or BANK,
            d.get("cheque"),
            d.get("advances"),
        )


@dataclass(frozen=True)
class ReceiptEntry:
    """Any receipt as registers and printed receipts show it: an instalment (``group_id``,
    ``period``) or a loan repayment (``loan_id``, with its principal and interest)."""

    bank_ref: str
    kind: str
    member_id: str
    amount: int
    received_on: str
    recorded_at: str
    recorded_by: str
    mode: str
    group_id: str | None = None
    period: int | None = None
    loan_id: str | None = None
    principal: int | None = None
    interest: int | None = None
    serial: int | None = None
    cheque: dict[str, Any] | None = None
    group_code: str | None = None
    """How the receipt number names the group (see the module docstring)."""
    loan_code: str | None = None
    """How people name the loan repaid (``L-0042``; see the module docstring)."""

    @property
    def loan_no(self) -> str | None:
        """The loan repaid as people name it (its id if it has no number); None for an
        instalment."""
        return self.loan_code or self.loan_id

    @property
    def cheque_state(self) -> str | None:
        """The state of a counter cheque (:data:`CHEQUE_STATES`); None for other receipts."""
        return None if self.cheque is None else str(self.cheque.get("state", PENDING))

    @property
    def number(self) -> str | None:
        """The receipt number: ``<group>/P<period>/<serial>`` for an instalment (the group
        by :attr:`group_code`), ``<loan>/E<serial>`` for a repayment; None when it was
        recorded unnumbered."""
        if self.serial is None:
            return None
        if self.loan_id:
            return f"{self.loan_no}/E{self.serial:03d}"
        return f"{self.group_code or self.group_id}/P{self.period}/{self.serial:03d}"

    @property
    def mode_label(self) -> str:
        return MODES.get(self.mode, self.mode.replace("_", " ").capitalize())

    @classmethod
    def from_doc(
        cls, doc: Document, group_code: str | None = None, loan_code: str | None = None
    ) -> ReceiptEntry:
        """The receipt ``doc``; ``group_code`` and ``loan_code`` name its group or loan in
        its number (read them with :func:`receipt_entries`)."""
        d = doc.data
        return cls(
            bank_ref=doc.id,
            kind=d.get("kind", "instalment"),
            member_id=d["member_id"],
            amount=d["amount"],
            received_on=d["received_on"],
            recorded_at=d["recorded_at"],
            recorded_by=d["recorded_by"],
            mode=d.get("mode") or BANK,
            group_id=d.get("group_id"),
            period=d.get("period"),
            loan_id=d.get("loan_id"),
            principal=d.get("principal"),
            interest=d.get("interest"),
            serial=d.get("serial"),
            cheque=d.get("cheque"),
            group_code=group_code,
            loan_code=loan_code,
        )


class GroupDocs(Protocol):
    """Where groups and loans are read from: the store, or a transaction's reader."""

    def get_many(self, collection: str, ids: Iterable[str]) -> dict[str, Document]: ...


def receipt_entries(groups: GroupDocs, docs: Iterable[Document]) -> list[ReceiptEntry]:
    """The receipts ``docs`` as registers show them, numbered by their groups'
    registration numbers and their loans' numbers (each group and loan read once)."""
    found = list(docs)
    ids = {gid for d in found if isinstance(gid := d.data.get("group_id"), str)}
    codes = {gid: group_code(doc) for gid, doc in groups.get_many(GROUPS, ids).items()}
    loan_ids = {lid for d in found if isinstance(lid := d.data.get("loan_id"), str)}
    loans = {lid: loan_code(doc) for lid, doc in groups.get_many(LOANS, loan_ids).items()}
    return [
        ReceiptEntry.from_doc(
            d, codes.get(d.data.get("group_id") or ""), loans.get(d.data.get("loan_id") or "")
        )
        for d in found
    ]


def group_code(group: Document) -> str | None:
    """How receipt numbers name ``group``: its registration number's one spelling; None
    for a group stored before registration numbers were asked."""
    number = group.data.get("registration_no")
    return registration_key(number) if isinstance(number, str) and number.strip() else None


@dataclass(frozen=True)
class Due:
    """A member's instalment for one period of a group (amounts in paise)."""

    id: str
    group_id: str
    period: int
    member_id: str
    gross: int
    share: int
    net: int
    paid: int
    status: str
    due_date: str
    raised_on: str
    bank_refs: list[str] = field(default_factory=list)
    paid_at: str | None = None

    @property
    def outstanding(self) -> int:
        return self.net - self.paid

    def days_late(self, as_of: Date) -> int:
        return max(0, (as_of - Date.fromisoformat(self.due_date)).days)

    @classmethod
    def from_doc(cls, doc: Document) -> Due:
        d = doc.data
        return cls(
            doc.id,
            d["group_id"],
            d["period"],
            d["member_id"],
            d["gross"],
            d["share"],
            d["net"],
            d["paid"],
            d["status"],
            d["due_date"],
            d["raised_on"],
            list(d.get("bank_refs", [])),
            d.get("paid_at"),
        )


@dataclass(frozen=True)
class PeriodCollections:
    """What one period of a group should collect, and has collected."""

    group_id: str
    period: int
    members: int
    net: int
    expected: int
    collected: int
    paid_count: int
    prize: int
    commission: int
    residue: int
    foreman_receives: int
    commission_txn: str | None
    due_date: str
    unpaid: list[str]

    @property
    def outstanding(self) -> int:
        return self.expected - self.collected

    @property
    def commission_moved(self) -> bool:
        return self.commission_txn is not None


@dataclass(frozen=True)
class Txn:
    """A ledger transaction as stored."""

    id: str
    date: str
    kind: str
    memo: str
    amount: int
    lines: list[Line]
    refs: dict[str, Any]

    @classmethod
    def from_data(cls, txn_id: str, d: dict[str, Any]) -> Txn:
        lines = [Line(x["account"], x["debit"], x["credit"]) for x in d["lines"]]
        refs = {key: d.get(key) for key in REF_FIELDS}
        return cls(txn_id, d["date"], d["kind"], d["memo"], d["amount"], lines, refs)
