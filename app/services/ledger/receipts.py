"""Instalment receipts: one bank reference is one receipt, and nobody pays twice.

:func:`receipts_change` turns payments into one ChangeSet (one receipt, or a bank
statement of many): for each new payment a ``receipts/<bank_ref>`` document (created
with ``expect_version=0``), the posting ``Dr cash:group / Cr receivable``, and the
updated ``dues`` and ``ledger_periods`` documents; plus the commission transfer of a
period when its collections first reach the foreman's commission (see
:mod:`app.services.ledger.service`). A payment whose bank reference is already recorded with
the same payload is returned as a duplicate and writes nothing; with another payload
it is refused, and so is one whose bank reference holds a capital pay-in waiting or
posted (:mod:`.capital`; a declined one frees it). A payment larger than what is still
owed is refused.

An instalment that a company advance stood in for also repays it, in the same change
(:mod:`app.services.ledger.advances`).

Each new receipt is numbered within its period (``serial`` 1, 2, ..., kept on the
period summary that every receipt updates anyway, so numbering adds no contention).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date as Date
from typing import Any

from app.kernel import office_time
from app.kernel.errors import KnownError, NotFound, ValidationError
from app.services.actors import Actor
from app.services.collections import CAPITAL_PAYINS, DUES, LOANS, PERIODS, RECEIPTS
from app.services.events import ReceiptRecorded, ReceiptsImported
from app.services.ledger.advances import AdvanceBooks
from app.services.ledger.postings import (
    NewId,
    commission_transfer_write,
    due_id,
    instalment_write,
    iso_date,
    normalise_bank_ref,
    period_id,
)
from app.services.ledger.records import (
    BANK,
    CHEQUE,
    MODES,
    PENDING,
    PROPOSED,
    Receipt,
    capital_use,
    loan_code,
)
from app.services.money import format_inr
from app.services.pipeline import ChangeSet, Reader
from app.services.store import Write


@dataclass(frozen=True)
class Cheque:
    """The cheque a counter receipt was paid with: its number and the drawee branch's
    IFSC (printed on every CTS cheque), so one cheque is one bank reference."""

    number: str
    ifsc: str


@dataclass(frozen=True)
class Payment:
    """One instalment payment as the bank or the counter reports it (amount in paise).
    ``mode`` is how it came (:data:`~.records.MODES`); a cheque taken at the counter
    carries its ``cheque`` and is recorded pending clearance."""

    group_id: str
    period: int
    member_id: str
    amount: int
    bank_ref: str
    received_on: Date | str
    mode: str = BANK
    cheque: Cheque | None = None

    def describe(self) -> str:
        return (
            f"member {self.member_id}, group {self.group_id} period {self.period}, "
            f"{format_inr(self.amount)} received on {office_time.shown(str(self.received_on))}"
        )


class NothingNew(Exception):
    """Every payment was already recorded: there is nothing to write."""

    def __init__(self, receipts: list[Receipt]) -> None:
        super().__init__(f"{len(receipts)} receipts already recorded")
        self.receipts = receipts


def check_amount(amount: int) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValidationError(
            f"The amount must be a positive whole number of paise (got {amount!r}).",
            hint="Enter the amount in rupees and paise, e.g. 7,500.00.",
        )


def normalise(payment: Payment, today: Date) -> Payment:
    """``payment`` with its bank reference and date normalised, or a ValidationError."""
    ref = normalise_bank_ref(payment.bank_ref)
    when = iso_date(payment.received_on, "received on")
    g, m, period = payment.group_id, payment.member_id, payment.period
    problems = [
        "group id is missing" if not isinstance(g, str) or not g else "",
        "member id is missing" if not isinstance(m, str) or not m else "",
        "period must be a whole number from 1"
        if isinstance(period, bool) or not isinstance(period, int) or period < 1
        else "",
        f"received on {office_time.shown(when)} is in the future"
        if when > today.isoformat()
        else "",
        f"mode {payment.mode!r} is not one of {', '.join(MODES)}"
        if payment.mode not in MODES
        else "",
        "only a cheque has cheque details"
        if payment.cheque is not None and payment.mode != CHEQUE
        else "",
    ]
    if any(problems):
        raise ValidationError(
            "The receipt is not valid: " + "; ".join(p for p in problems if p) + "."
        )
    check_amount(payment.amount)
    return Payment(g, period, m, payment.amount, ref, when, payment.mode, payment.cheque)


INSTALMENT = "instalment"
"""``kind`` of an instalment receipt; other services (loans: ``emi``) share the
``receipts`` collection, so a bank reference is used once across all of them."""
_DUE_FIELDS = ("paid", "status", "bank_ref", "bank_refs", "paid_at")
_PERIOD_FIELDS = ("collected", "paid_count", "commission_txn", "receipts")


class _Batch:
    """The documents a set of payments reads (four reads in all, however many the
    payments), with their changes so far. Dues are read before receipts: a concurrent
    commit of the same payment is then seen either in both or in the receipt alone,
    never as "already paid" without its receipt. The capital pay-ins under the
    references not yet receipted are read too (absent ones remembered as read absent,
    so a pay-in proposed meanwhile is a conflict, and the next attempt refuses it)."""

    def __init__(self, reader: Reader, payments: Sequence[Payment]) -> None:
        self.reader = reader
        self.new: dict[str, Receipt] = {}
        dues = reader.get_many(DUES, (due_id(p.group_id, p.period, p.member_id) for p in payments))
        self.receipts = reader.get_many(RECEIPTS, (p.bank_ref for p in payments))
        periods = reader.get_many(PERIODS, (period_id(p.group_id, p.period) for p in payments))
        fresh = (p.bank_ref for p in payments if p.bank_ref not in self.receipts)
        self.capital = reader.get_many(CAPITAL_PAYINS, fresh)
        self.dues = {key: dict(doc.data) for key, doc in dues.items()}
        self.periods = {key: dict(doc.data) for key, doc in periods.items()}
        self.touched: dict[tuple[str, str], None] = {}
        self.advances = AdvanceBooks(reader)

    def recorded(self, bank_ref: str) -> Receipt | None:
        if bank_ref in self.new:
            return self.new[bank_ref]
        doc = self.receipts.get(bank_ref)
        if doc is None:
            self._not_capital(bank_ref)
            return None
        kind = doc.data.get("kind", INSTALMENT)
        if kind != INSTALMENT:
            what = self._loan_named(doc.data.get("loan_id"))
            raise ValidationError(
                f"Bank reference {bank_ref} was already used on "
                f"{office_time.day(str(doc.data.get('recorded_at')))} for {kind} of {what} "
                f"({format_inr(doc.data.get('amount', 0))}), not for an instalment.",
                hint="Check the bank reference: one bank transfer is one receipt.",
            )
        return Receipt.from_doc(doc)

    def _loan_named(self, loan_id: object) -> str:
        """A receipt's loan as people name it (``loan L-0042``)."""
        if not isinstance(loan_id, str) or not loan_id:
            return "another payment"
        loan = self.reader.get(LOANS, loan_id)
        return f"loan {loan_code(loan) if loan is not None else loan_id}"

    def _not_capital(self, bank_ref: str) -> None:
        payin = self.capital.get(bank_ref)
        used = capital_use(payin)
        if not used:
            return
        hint = "Check the bank reference: one bank transfer is one receipt."
        if payin is not None and payin.data["status"] == PROPOSED:
            hint += " If the capital was recorded with it by mistake, decline that first."
        raise ValidationError(
            f"Bank reference {bank_ref} was already used for {used}, not for an instalment.",
            hint=hint,
        )

    def due(self, p: Payment) -> dict[str, Any] | None:
        return self.dues.get(due_id(p.group_id, p.period, p.member_id))

    def period(self, p: Payment) -> dict[str, Any]:
        key = period_id(p.group_id, p.period)
        if key not in self.periods:
            raise NotFound(f"No period summary with id {key!r}.")
        return self.periods[key]

    def touch(self, p: Payment) -> None:
        """``p`` changes its due and its period summary."""
        self.touched[(DUES, due_id(p.group_id, p.period, p.member_id))] = None
        self.touched[(PERIODS, period_id(p.group_id, p.period))] = None

    def updates(self) -> list[Write]:
        """The touched dues, then the touched period summaries, then the advance books."""
        writes = []
        for collection, key in sorted(self.touched, key=lambda k: k[0] != DUES):
            doc, fields = (
                (self.dues[key], _DUE_FIELDS)
                if collection == DUES
                else (self.periods[key], _PERIOD_FIELDS)
            )
            writes.append(Write("update", collection, key, {f: doc[f] for f in fields}))
        return writes + self.advances.updates()


def check_payable(due: dict[str, Any], p: Payment) -> None:
    where = f"member {p.member_id} for group {p.group_id} period {p.period}"
    if due["status"] == "paid":
        raise ValidationError(
            f"The instalment of {where} is already paid in full "
            f"({format_inr(due['paid'])} on {office_time.shown(due['paid_at'])}, "
            f"bank ref {due['bank_ref']}); "
            "a member cannot pay twice for one instalment.",
            hint="Check the member and period, or refund this payment.",
        )
    outstanding = due["net"] - due["paid"]
    if p.amount > outstanding:
        raise ValidationError(
            f"{format_inr(p.amount)} is more than the {format_inr(outstanding)} still owed "
            f"by {where} (net instalment {format_inr(due['net'])}, already paid "
            f"{format_inr(due['paid'])}).",
            hint=f"Record at most {format_inr(outstanding)}; refund the excess.",
        )


def same_receipt(first: Receipt, p: Payment) -> Receipt:
    """``first`` as a duplicate if ``p`` is the same payment; else a ValidationError."""
    recorded = Payment(
        first.group_id,
        first.period,
        first.member_id,
        first.amount,
        first.bank_ref,
        first.received_on,
        first.mode,
        _cheque_of(first.cheque),
    )
    if recorded == p:
        return Receipt(**{**vars(first), "duplicate": True})
    raise ValidationError(
        f"Bank reference {p.bank_ref} was already used on "
        f"{office_time.day(first.recorded_at)} for "
        f"{recorded.describe()}; this receipt is for {p.describe()}.",
        hint="Check the bank reference: one bank transfer is one receipt.",
    )


def _cheque_of(doc: dict[str, Any] | None) -> Cheque | None:
    return Cheque(doc["number"], doc["ifsc"]) if doc else None


def _cheque_doc(cheque: Cheque | None) -> dict[str, Any] | None:
    """A counter cheque's details on its receipt, pending clearance until marked
    cleared or bounced (:mod:`app.services.counter`)."""
    if cheque is None:
        return None
    return {"number": cheque.number, "ifsc": cheque.ifsc, "state": PENDING}


def _record(
    batch: _Batch, ids: NewId, actor: Actor, now: str, p: Payment, writes: list[Write]
) -> Receipt:
    """Record one payment into ``writes`` (its due and period change in ``batch``)."""
    due = batch.due(p)
    first = batch.recorded(p.bank_ref)
    if first is not None:
        return same_receipt(first, p)
    if due is None:
        raise NotFound(
            f"No instalment is due from member {p.member_id} for group {p.group_id} "
            f"period {p.period}.",
            hint="Dues are raised when the period's auction is settled; check the "
            "group, period and member.",
        )
    check_payable(due, p)
    when = str(p.received_on)
    txn = instalment_write(
        ids,
        group_id=p.group_id,
        period=p.period,
        member_id=p.member_id,
        amount=p.amount,
        date=when,
        bank_ref=p.bank_ref,
    )
    writes.append(txn)
    batch.touch(p)
    writes += batch.advances.repay(
        ids, group_id=p.group_id, period=p.period, amount=p.amount, date=when, bank_ref=p.bank_ref
    )
    due["paid"] += p.amount
    full = due["paid"] == due["net"]
    due.update(
        status="paid" if full else "due",
        bank_ref=p.bank_ref,
        bank_refs=[*due.get("bank_refs", []), p.bank_ref],
        paid_at=when if full else None,
    )
    summary = batch.period(p)
    summary["receipts"] = serial = summary.get("receipts", 0) + 1
    summary["collected"] += p.amount
    summary["paid_count"] += int(full)
    fee = summary["foreman_receives"]
    moved = None
    if fee > 0 and summary["commission_txn"] is None and summary["collected"] >= fee:
        transfer = commission_transfer_write(
            ids, group_id=p.group_id, period=p.period, amount=fee, date=when
        )
        writes.append(transfer)
        moved = summary["commission_txn"] = transfer.id
    receipt = Receipt(
        p.bank_ref,
        p.group_id,
        p.period,
        p.member_id,
        p.amount,
        when,
        txn.id,
        actor.id,
        now,
        moved,
        serial=serial,
        mode=p.mode,
        cheque=_cheque_doc(p.cheque),
        advances=batch.advances.repaid_by.get(p.bank_ref),
    )
    doc = {k: v for k, v in vars(receipt).items() if k != "duplicate"}
    doc["kind"] = INSTALMENT
    writes.append(Write("set", RECEIPTS, p.bank_ref, doc, expect_version=0))
    batch.new[p.bank_ref] = receipt
    return receipt


def _refusal(payments: Sequence[Payment], problems: list[tuple[int, KnownError]]) -> KnownError:
    if len(payments) == 1:
        return problems[0][1]
    listed = "; ".join(f"#{i + 1} ({payments[i].bank_ref}): {exc}" for i, exc in problems[:20])
    more = f" and {len(problems) - 20} more" if len(problems) > 20 else ""
    return ValidationError(
        f"{len(problems)} of {len(payments)} receipts cannot be recorded, so none was: "
        f"{listed}{more}.",
        hint="Correct or remove those lines and import the statement again.",
    )


def receipts_change(
    reader: Reader, ids: NewId, actor: Actor, now: str, payments: Sequence[Payment]
) -> tuple[ChangeSet, list[Receipt]]:
    """The ChangeSet recording ``payments`` (already normalised), and their receipts.

    Raises:
        NothingNew: every payment was already recorded (nothing to write).
        KnownError: a payment cannot be recorded (the only one's own error, or one
            ValidationError listing every refused line of a statement).
    """
    batch = _Batch(reader, payments)
    writes: list[Write] = []
    receipts: list[Receipt] = []
    problems: list[tuple[int, KnownError]] = []
    for i, p in enumerate(payments):
        try:
            receipts.append(_record(batch, ids, actor, now, p, writes))
        except KnownError as exc:
            problems.append((i, exc))
    if problems:
        raise _refusal(payments, problems)
    if not writes:
        raise NothingNew(receipts)
    return _change(payments, receipts, writes + batch.updates()), receipts


def _change(payments: Sequence[Payment], receipts: list[Receipt], writes: list[Write]) -> ChangeSet:
    fresh = [r for r in receipts if not r.duplicate]
    if len(payments) == 1:
        p = fresh[0]
        event = ReceiptRecorded(p.bank_ref, p.group_id, p.period, p.member_id, p.amount)
        why = f"Instalment of group {p.group_id} period {p.period}"
        return ChangeSet.of(event, p.bank_ref, writes, why)
    total = sum(r.amount for r in fresh)
    why = f"Bank statement: {len(fresh)} receipts, {format_inr(total)}"
    return ChangeSet.of(ReceiptsImported(len(fresh), total), fresh[0].bank_ref, writes, why)
