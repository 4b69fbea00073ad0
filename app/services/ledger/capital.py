"""Capital the company pays in, recorded by one person and posted by another.

On a fresh install every cash pool stands at ₹0: loans are disbursed from the lending
pool (``cash:lending``) and prize advances come from the company's own cash
(``cash:company``, :mod:`app.services.payouts.advances`), so nothing can be paid out
until the company pays money in. A money movement is approved by a second person
(DOMAIN.md, maker-checker):

* an admin records a credit the company made to its bank account
  (:meth:`CapitalDesk.propose_capital`): the amount, the pool it goes to, the bank's
  reference of the credit, the day the bank credited it (its value date, on the bank
  statement) and a memo. Nothing is posted yet;
* another staff member, having seen the credit in the bank, approves it
  (:meth:`CapitalDesk.approve_capital`): it is posted, dated the day the bank credited it
  (a credit of 28 Nov approved on 2 Dec is in November's books), as
  :meth:`~app.services.ledger.service.LedgerService.add_capital` posts capital (Dr the
  pool / Cr ``equity:capital``, event ``capital.add``), with the bank reference, and
  the pay-in keeps who approved it, when, and the ledger transaction;
* either of them may decline it instead, with a reason: nothing is posted.

One bank credit is one pay-in: ``capital_payins/<bank_ref>`` is created with
``expect_version=0``, so a reference already used (for capital, or for a member's
receipt) is refused, naming what used it; a member's receipt likewise refuses a
reference a pay-in holds (:mod:`.receipts`). A declined pay-in frees its reference, for a
corrected one (which keeps the declined one in ``earlier``) or for a receipt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from app.kernel import office_time
from app.kernel.errors import Conflict, FieldErrors, NotFound, PermissionDenied, ValidationError
from app.services import topics
from app.services.actors import Actor, Role
from app.services.collections import CAPITAL_PAYINS, RECEIPTS
from app.services.context import ServiceContext
from app.services.events import CapitalAdded, CapitalDeclined, CapitalProposed
from app.services.ledger.postings import (
    COMPANY_CASH,
    LENDING_CASH,
    capital_write,
    iso_date,
    normalise_bank_ref,
)
from app.services.ledger.receipts import check_amount
from app.services.ledger.records import ADDED, DECLINED, PROPOSED, capital_use
from app.services.ledger.service import LedgerService
from app.services.money import format_inr
from app.services.pipeline import ChangeSet, Reader
from app.services.store import Document, Query, Write
from app.services.text import NOTE, clean
from app.services.topics import reads

STAFF: tuple[Role, ...] = ("employee", "admin")
POOLS = {LENDING_CASH: "Lending cash", COMPANY_CASH: "Company cash"}
"""Where capital may be paid in, as people call it."""
INTO = {"lending": LENDING_CASH, "company": COMPANY_CASH}
"""The pools by their short names (the command line's ``--into``)."""
MAX_CAPITAL = 100_00_00_000_00
"""The most one pay-in records (₹100 crore): more is a slip of the keyboard."""
RECENT = 12
"""How many decided pay-ins the read model lists."""
CREDIT_AGE = 366
"""The most days back a credit may be dated. A year and a day lets through the same date
last year (and a leap year's); anything older is surely a slip of the year (2025 keyed
for 2026): capital the company paid in longer ago than that is in books already closed,
and is the accountant's adjustment, not a fresh pay-in."""


@dataclass(frozen=True)
class PayIn:
    """One pay-in of capital, as a person reads it (names, not ids)."""

    id: str
    """The bank reference of the credit."""
    amount: int
    into: str
    memo: str
    credited_on: str
    """The day the bank credited the money (ISO), which the posting is dated; "" for a
    pay-in recorded before it was asked (posted on the day it was approved)."""
    status: str
    proposed_by: str
    proposed_by_id: str
    proposed_at: str
    decided_by: str
    decided_at: str
    note: str
    txn_id: str

    @property
    def pool(self) -> str:
        return POOLS.get(self.into, self.into)

    @property
    def credited_day(self) -> str:
        """``28 Nov 2026``; "" when it was not recorded."""
        return office_time.day(self.credited_on)

    @property
    def proposed_when(self) -> str:
        return office_time.moment(self.proposed_at)

    @property
    def decided_when(self) -> str:
        return office_time.moment(self.decided_at)

    @property
    def decision(self) -> str:
        """``Added by Ravi Kumar`` / ``Declined by Ravi Kumar``; "" while waiting."""
        if self.status == PROPOSED:
            return ""
        return f"{self.status.capitalize()} by {self.decided_by}"

    def line(self) -> str:
        """The pay-in in one line (the command line's list)."""
        credited = f", credited on {self.credited_day}" if self.credited_on else ""
        text = (
            f"{self.id}  {format_inr(self.amount)} into {self.pool.lower()}{credited}, "
            f"recorded by {self.proposed_by}, {self.proposed_when}"
        )
        if self.status != PROPOSED:
            text += f"; {self.decision}, {self.decided_when}"
        note = self.note or self.memo
        return f"{text}: {note}" if note else text

    @classmethod
    def from_doc(cls, doc: Document) -> PayIn:
        d = doc.data
        decider = d.get("approved_by") or d.get("declined_by") or {}
        return cls(
            doc.id,
            d["amount"],
            d["into"],
            d.get("memo", ""),
            d.get("credited_on") or "",
            d["status"],
            d["proposed_by"]["name"],
            d["proposed_by"]["id"],
            d["proposed_at"],
            decider.get("name", ""),
            d.get("approved_at") or d.get("declined_at") or "",
            d.get("decision_note", ""),
            d.get("txn_id") or "",
        )


@dataclass(frozen=True)
class CapitalBoard:
    """The company's two pools of its own money, the pay-ins waiting for a second person
    (oldest first) and the last ones decided (newest first)."""

    lending_cash: int
    company_cash: int
    waiting: list[PayIn]
    decided: list[PayIn]

    def lines(self) -> list[str]:
        """The board as text (``tfos ledger capital list``)."""
        lines = [
            f"Lending cash: {format_inr(self.lending_cash)}",
            f"Company cash: {format_inr(self.company_cash)}",
            f"Waiting for a second person ({len(self.waiting)}):",
        ]
        lines += [f"  {p.line()}" for p in self.waiting] or ["  nothing"]
        lines.append(f"Decided (the last {len(self.decided)}):")
        return lines + ([f"  {p.line()}" for p in self.decided] or ["  nothing"])


def check_pay_in(
    amount: int, into: str, bank_ref: str, memo: str, credited_on: date | str, today: date
) -> tuple[str, str, str]:
    """The bank reference (upper-cased), the memo (cleaned) and the day credited (ISO) of
    a pay-in, or a FieldErrors naming every field that is wrong. The day credited is
    ``today`` (the office's calendar) at the latest and :data:`CREDIT_AGE` days before it
    at the earliest."""
    problems: dict[str, str] = {}
    ref, text, when = "", "", ""
    try:
        check_amount(amount)
        if amount > MAX_CAPITAL:
            raise ValidationError(
                f"{format_inr(amount)} is more than one pay-in records "
                f"({format_inr(MAX_CAPITAL)}): check the amount."
            )
    except ValidationError as exc:
        problems["amount"] = f"Amount: {exc}"
    if into not in POOLS:
        problems["into"] = (
            f"Into: capital is paid into lending cash ({LENDING_CASH}) or company cash "
            f"({COMPANY_CASH}), not {into!r}."
        )
    try:
        if not isinstance(bank_ref, str) or not bank_ref.strip():
            raise ValidationError("enter the UTR or cheque number of the credit.")
        ref = normalise_bank_ref(bank_ref)
    except ValidationError as exc:
        problems["bank_ref"] = f"Bank reference: {exc}"
    try:
        when = _credited(credited_on, today)
    except ValidationError as exc:
        problems["credited_on"] = str(exc)
    try:
        text = clean(memo, "Memo", NOTE)
    except ValidationError as exc:
        problems["memo"] = str(exc)
    if problems:
        raise FieldErrors("The pay-in", problems)
    return ref, text, when


def _credited(credited_on: date | str, today: date) -> str:
    when = iso_date(credited_on, "Credited on")
    if when > today.isoformat():
        raise ValidationError(
            f"Credited on: {office_time.day(when)} is after today ({office_time.day(today)}): "
            "enter the date the bank credited the money, as on the statement."
        )
    earliest = today - timedelta(days=CREDIT_AGE)
    if when < earliest.isoformat():
        raise ValidationError(
            f"Credited on: {office_time.day(when)} is more than {CREDIT_AGE} days back "
            f"(before {office_time.day(earliest)}): check the year on the bank statement."
        )
    return when


class CapitalDesk:
    """Capital paid in: proposed by an admin, posted or declined by a second person."""

    def __init__(self, ctx: ServiceContext, *, ledger: LedgerService) -> None:
        self.ctx = ctx
        self.ledger = ledger

    # -- read model -------------------------------------------------------------------

    @reads(topics.LEDGER)
    def board(self) -> CapitalBoard:
        """What the capital screen shows (see :class:`CapitalBoard`)."""
        docs = self.ctx.store.query(Query(CAPITAL_PAYINS))
        payins = [PayIn.from_doc(d) for d in docs]
        waiting = sorted((p for p in payins if p.status == PROPOSED), key=lambda p: p.proposed_at)
        decided = sorted(
            (p for p in payins if p.status != PROPOSED), key=lambda p: p.decided_at, reverse=True
        )
        return CapitalBoard(
            self.ledger.balance(LENDING_CASH),
            self.ledger.balance(COMPANY_CASH),
            waiting,
            decided[:RECENT],
        )

    def pay_in(self, capital_id: str) -> PayIn:
        """One pay-in by its bank reference."""
        doc = self.ctx.store.get(CAPITAL_PAYINS, _key(capital_id))
        if doc is None:
            raise NotFound(f"No capital was recorded with the bank reference {capital_id!r}.")
        return PayIn.from_doc(doc)

    # -- the maker ---------------------------------------------------------------------

    def propose_capital(
        self,
        actor: Actor,
        amount: int,
        into: str,
        bank_ref: str,
        memo: str = "",
        credited_on: date | str | None = None,
    ) -> PayIn:
        """An admin records capital the company paid in (``amount`` in paise, ``into``
        lending or company cash, ``credited_on`` the day the bank credited it, default
        today); a second person approves it before it is posted, dated ``credited_on``."""
        actor.require("admin", doing="record capital paid in")
        today = self.ctx.clock.today()
        ref, memo, when = check_pay_in(
            amount, into, bank_ref, memo, today if credited_on is None else credited_on, today
        )
        doc = {
            "amount": amount,
            "into": into,
            "bank_ref": ref,
            "credited_on": when,
            "memo": memo,
            "status": PROPOSED,
            "proposed_by": actor.to_json(),
            "proposed_at": self.ctx.clock.now().isoformat(),
        }

        def work(reader: Reader) -> ChangeSet:
            found = _unused(reader, ref)
            data, version = dict(doc), 0
            if found is not None:
                data["earlier"] = [*found.data.get("earlier", []), _declined_summary(found)]
                version = found.version
            write = Write("set", CAPITAL_PAYINS, ref, data, expect_version=version)
            return ChangeSet.of(CapitalProposed(ref, amount, into), ref, [write], memo)

        self.ctx.pipeline.transact(actor, work)
        return self.pay_in(ref)

    # -- the checker -------------------------------------------------------------------

    def approve_capital(self, actor: Actor, capital_id: str, note: str = "") -> PayIn:
        """A second person, having seen the credit in the bank, posts it, dated the day the
        bank credited it (a pay-in recorded without that day: today)."""
        actor.require(*STAFF, doing="approve capital paid in")
        note = clean(note, "Note", NOTE)

        def work(reader: Reader) -> ChangeSet:
            payin = _proposed(reader, capital_id)
            d = payin.data
            if d["proposed_by"]["id"] == actor.id:
                raise PermissionDenied(
                    f"{actor.name} recorded this capital and so cannot approve it: the maker "
                    "can never check their own action.",
                    hint="Another staff member approves it once they see the credit in the bank.",
                )
            txn = capital_write(
                self.ctx.ids,
                amount=d["amount"],
                date=d.get("credited_on") or self.ctx.clock.today(),
                memo=d["memo"] or f"Capital paid into {POOLS[d['into']].lower()}",
                into=d["into"],
                bank_ref=payin.id,
            )
            update = {
                "status": ADDED,
                "approved_by": actor.to_json(),
                "approved_at": self.ctx.clock.now().isoformat(),
                "decision_note": note,
                "txn_id": txn.id,
            }
            event = CapitalAdded(txn.id, d["amount"], payin.id, d["proposed_by"]["id"])
            writes = [Write("update", CAPITAL_PAYINS, payin.id, update), txn]
            return ChangeSet.of(event, txn.id, writes, note or d["memo"])

        self.ctx.pipeline.transact(actor, work)
        return self.pay_in(capital_id)

    def decline_capital(self, actor: Actor, capital_id: str, reason: str) -> PayIn:
        """Decline (or, as its maker, withdraw) a pay-in, with a reason: nothing is posted."""
        actor.require(*STAFF, doing="decline capital paid in")
        reason = clean(reason, "Reason", NOTE)
        if not reason:
            raise ValidationError(
                "Reason: say why the capital is declined (e.g. 'no such credit on the "
                "bank statement')."
            )

        def work(reader: Reader) -> ChangeSet:
            payin = _proposed(reader, capital_id)
            update = {
                "status": DECLINED,
                "declined_by": actor.to_json(),
                "declined_at": self.ctx.clock.now().isoformat(),
                "decision_note": reason,
            }
            write = Write("update", CAPITAL_PAYINS, payin.id, update)
            event = CapitalDeclined(payin.id, payin.data["amount"])
            return ChangeSet.of(event, payin.id, [write], reason)

        self.ctx.pipeline.transact(actor, work)
        return self.pay_in(capital_id)


def _key(capital_id: str) -> str:
    return capital_id.strip().upper() if isinstance(capital_id, str) else ""


def _proposed(reader: Reader, capital_id: str) -> Document:
    key = _key(capital_id)
    payin = reader.get(CAPITAL_PAYINS, key) if key else None
    if payin is None:
        raise NotFound(f"No capital was recorded with the bank reference {capital_id!r}.")
    status = payin.data["status"]
    if status != PROPOSED:
        raise Conflict(
            f"The capital with bank reference {payin.id} is already {status}; only one "
            "waiting for a second person can be decided."
        )
    return payin


def _unused(reader: Reader, ref: str) -> Document | None:
    """Refuse a reference already used; return a declined pay-in it may replace."""
    receipt = reader.get(RECEIPTS, ref)
    if receipt is not None:
        r = receipt.data
        raise ValidationError(
            f"Bank reference: {ref} is a member's receipt of {format_inr(r.get('amount', 0))} "
            f"received on {office_time.day(r.get('received_on'))}, not capital.",
            hint="Check the reference of the company's credit on the bank statement.",
        )
    found = reader.get(CAPITAL_PAYINS, ref)
    used = capital_use(found)
    if not used:
        return found
    raise ValidationError(
        f"Bank reference: {ref} was already used for {used}.",
        hint="One credit is paid in once; check the reference on the bank statement.",
    )


def _declined_summary(doc: Document) -> dict[str, Any]:
    d = doc.data
    keep = (
        "amount",
        "into",
        "credited_on",
        "memo",
        "proposed_by",
        "proposed_at",
        "declined_by",
        "declined_at",
    )
    return {**{k: d.get(k) for k in keep}, "reason": d.get("decision_note", "")}
