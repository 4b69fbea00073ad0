"""The counter: receipts taken from members in person, cheques, and their second person.

:meth:`CounterService.take` records an instalment paid at the counter in cash, UPI,
NEFT/IMPS or by cheque (through the ledger's receipts, so it is numbered, posted and
idempotent by its reference), or, for cash above what one person may take, files it for a
second person (:mod:`.rules`). A cheque is recorded pending clearance; it is then marked
cleared (:meth:`clear_cheque`), or reported bounced (:meth:`report_bounce`) and, once a
second person confirms, reversed: its posting undone and its due reopened
(:mod:`app.services.ledger.reversal`). The maker never checks their own action.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from app.kernel.errors import Conflict, NotFound, PermissionDenied, ValidationError
from app.services import topics
from app.services.actors import Actor, Role
from app.services.collections import (
    COUNTER_APPROVALS,
    DUES,
    GROUPS,
    MEMBERS,
    RECEIPTS,
    TICKETS,
)
from app.services.context import ServiceContext
from app.services.counter import rules
from app.services.counter.model import (
    APPROVED,
    CASH_RECEIPT,
    CHEQUE_BOUNCE,
    REJECTED,
    WAITING,
    Approval,
    CounterQueue,
    CounterReceipt,
    MemberDesk,
    OpenDue,
    Slip,
    Taken,
)
from app.services.events import (
    ChequeCleared,
    CounterCheckApproved,
    CounterCheckAsked,
    CounterCheckRejected,
)
from app.services.ledger.postings import due_id, iso_date
from app.services.ledger.receipts import (
    NothingNew,
    Payment,
    check_payable,
    normalise,
    receipts_change,
)
from app.services.ledger.records import (
    BOUNCE_ASKED,
    CASH,
    CLEARED,
    PENDING,
    Due,
    ReceiptEntry,
    receipt_entries,
)
from app.services.ledger.reversal import bounce_writes
from app.services.members import Member
from app.services.money import format_inr
from app.services.pipeline import ChangeSet, Reader
from app.services.store import Document, Query, Write
from app.services.text import NOTE, clean
from app.services.topics import reads

STAFF_ROLES: tuple[Role, ...] = ("employee", "admin")
RECENT_RECEIPTS = 12


class CounterService:
    """Counter receipts, cheque clearance and bounces, and their second person."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    # -- read models ------------------------------------------------------------------

    @reads(topics.MEMBERS, topics.DUES, topics.LEDGER, topics.GROUPS)
    def desk(self, member_id: str) -> MemberDesk:
        """A member at the counter: open dues, recent receipts, what waits."""
        store = self.ctx.store
        doc = store.get(MEMBERS, member_id)
        if doc is None:
            raise NotFound(f"No member with id {member_id!r}.", hint="Search for the member.")
        member = Member.from_doc(doc)
        receipts = store.query(Query(RECEIPTS).where("member_id", "==", member_id))
        waiting = store.query(Query(COUNTER_APPROVALS).where("member_id", "==", member_id))
        dues = self._open_dues(member_id)
        groups = self._group_names({d.due.group_id for d in dues} | _groups_of(receipts))
        entries = sorted(
            receipt_entries(store, receipts),
            key=lambda r: (r.received_on, r.recorded_at),
            reverse=True,
        )
        people = {member_id: member.name}
        asked = sorted(
            (a for a in waiting if a.data["status"] == WAITING),
            key=lambda a: a.data["requested_at"],
        )
        return MemberDesk(
            member,
            [replace(d, group_name=groups.get(d.due.group_id, d.group_name)) for d in dues],
            [self._listed(r, people, groups) for r in entries[:RECENT_RECEIPTS]],
            [Approval.from_doc(a, member.name) for a in asked],
        )

    def _open_dues(self, member_id: str) -> list[OpenDue]:
        """The member's dues not paid in full, oldest first, with their tickets."""
        store = self.ctx.store
        dues = store.query(Query(DUES).where("member_id", "==", member_id))
        tickets = {
            t.data["group_id"]: t.data["ticket_no"]
            for t in store.query(Query(TICKETS).where("member_id", "==", member_id))
        }
        open_dues = sorted(
            (Due.from_doc(d) for d in dues if d.data["status"] != "paid"),
            key=lambda d: (d.due_date, d.group_id, d.period),
        )
        today = self.ctx.clock.today()
        return [
            OpenDue(d, d.group_id, tickets.get(d.group_id), d.days_late(today)) for d in open_dues
        ]

    @reads(topics.LEDGER, topics.MEMBERS, topics.GROUPS)
    def queue(self) -> CounterQueue:
        """Cheques not yet cleared (oldest first) and approvals waiting."""
        store = self.ctx.store
        cheques = store.query(Query(RECEIPTS).where("cheque.state", "in", [PENDING, BOUNCE_ASKED]))
        approvals = store.query(Query(COUNTER_APPROVALS).where("status", "==", WAITING))
        entries = sorted(receipt_entries(store, cheques), key=lambda r: (r.received_on, r.bank_ref))
        people = self._member_names(
            [e.member_id for e in entries] + [a.data["member_id"] for a in approvals]
        )
        groups = self._group_names(e.group_id or "" for e in entries)
        return CounterQueue(
            [self._listed(e, people, groups) for e in entries],
            [
                Approval.from_doc(a, people.get(a.data["member_id"], ""))
                for a in sorted(approvals, key=lambda a: a.data["requested_at"])
            ],
        )

    def new_slip_number(self) -> str:
        """A fresh counter slip number for a cash receipt (``CASH-20261124-3F9A1C``)."""
        day = self.ctx.clock.today().strftime("%Y%m%d")
        return f"CASH-{day}-{self.ctx.ids.new('s')[2:8].upper()}"

    # -- taking a receipt --------------------------------------------------------------

    def take(self, actor: Actor, slip: Slip) -> Taken:
        """Record ``slip`` (idempotent by its reference: the same slip again returns the
        first receipt), or file it for a second person (see :mod:`.rules`)."""
        actor.require(*STAFF_ROLES, doing="take a receipt at the counter")
        ref = rules.reference(slip.mode, slip.reference, slip.ifsc)
        payment = normalise(
            Payment(
                slip.group_id,
                slip.period,
                slip.member_id,
                slip.amount,
                ref.bank_ref,
                slip.received_on,
                slip.mode,
                ref.cheque,
            ),
            self.ctx.clock.today(),
        )
        if rules.needs_checker(payment.mode, payment.amount):
            return self._ask_cash_check(actor, payment)
        now = self.ctx.clock.now().isoformat()

        def work(reader: Reader) -> tuple[ChangeSet, Any]:
            if payment.mode == CASH:
                _check_cash_day(reader, payment)
            return receipts_change(reader, self.ctx.ids, actor, now, [payment])

        try:
            self.ctx.pipeline.transact(actor, work)
        except NothingNew:
            return Taken(receipt=self._entry(payment.bank_ref), duplicate=True)
        return Taken(receipt=self._entry(payment.bank_ref))

    def _ask_cash_check(self, actor: Actor, payment: Payment) -> Taken:
        approval_id = f"cash-{payment.bank_ref}"
        now = self.ctx.clock.now().isoformat()
        why = f"Cash above {format_inr(rules.CASH_CHECK_ABOVE)}: a second person counts it"
        doc = {
            "kind": CASH_RECEIPT,
            "bank_ref": payment.bank_ref,
            "member_id": payment.member_id,
            "amount": payment.amount,
            "mode": payment.mode,
            "reason": why,
            "requested_by": actor.to_json(),
            "requested_at": now,
            "status": WAITING,
            "decided_by": None,
            "note": "",
            "payment": _payment_json(payment),
        }

        def work(reader: Reader) -> ChangeSet | tuple[ChangeSet, Any]:
            if reader.get(RECEIPTS, payment.bank_ref) is not None:
                raise _Recorded
            asked = reader.get(COUNTER_APPROVALS, approval_id)
            if asked is not None:
                if asked.data["payment"] != doc["payment"]:
                    raise ValidationError(
                        f"Slip number {payment.bank_ref} is already waiting for a check with "
                        f"other details ({format_inr(asked.data['amount'])}).",
                        hint="Use a new slip number for a new receipt.",
                    )
                raise _Recorded
            _check_payable_now(reader, payment)
            _check_cash_day(reader, payment)
            event = CounterCheckAsked(
                approval_id, CASH_RECEIPT, payment.bank_ref, payment.member_id, payment.amount
            )
            write = Write("set", COUNTER_APPROVALS, approval_id, doc, expect_version=0)
            return ChangeSet.of(event, approval_id, [write], why)

        try:
            self.ctx.pipeline.transact(actor, work)
        except _Recorded:
            entry = self._find_entry(payment.bank_ref)
            if entry is not None:
                return Taken(receipt=entry, duplicate=True)
            return Taken(approval=self._approval(approval_id), duplicate=True)
        return Taken(approval=self._approval(approval_id))

    # -- cheques ------------------------------------------------------------------------

    def clear_cheque(self, actor: Actor, bank_ref: str) -> ReceiptEntry:
        """The bank paid the cheque: its receipt stands (no money moves: one person)."""
        actor.require(*STAFF_ROLES, doing="mark a cheque cleared")
        today = self.ctx.clock.today().isoformat()

        def work(reader: Reader) -> ChangeSet:
            receipt = _pending_cheque(reader, bank_ref, "marked cleared")
            cheque = {**receipt.data["cheque"], "state": CLEARED, "cleared_on": today}
            cheque["cleared_by"] = actor.to_json()
            event = ChequeCleared(receipt.id, receipt.data["member_id"], receipt.data["amount"])
            write = Write("update", RECEIPTS, receipt.id, {"cheque": cheque})
            return ChangeSet.of(event, receipt.id, [write], "Cheque cleared by the bank")

        self.ctx.pipeline.transact(actor, work)
        return self._entry(bank_ref)

    def report_bounce(
        self, actor: Actor, bank_ref: str, reason: str, returned_on: Any = None
    ) -> Approval:
        """The bank returned the cheque unpaid: a second person confirms before the
        receipt is reversed. ``reason`` is the bank's return reason."""
        actor.require(*STAFF_ROLES, doing="report a bounced cheque")
        why = clean(reason, "Return reason", NOTE, required=True)
        on = iso_date(returned_on or self.ctx.clock.today(), "Returned on")
        if on > self.ctx.clock.today().isoformat():
            raise ValidationError(f"Returned on: {on} is in the future.")
        approval_id = f"bounce-{bank_ref}"
        now = self.ctx.clock.now().isoformat()

        def work(reader: Reader) -> ChangeSet:
            receipt = _pending_cheque(reader, bank_ref, "reported bounced")
            if receipt.data["received_on"] > on:
                raise ValidationError(
                    f"Returned on: {on} is before the cheque was received "
                    f"({receipt.data['received_on']})."
                )
            d = receipt.data
            doc = {
                "kind": CHEQUE_BOUNCE,
                "bank_ref": receipt.id,
                "member_id": d["member_id"],
                "amount": d["amount"],
                "mode": d.get("mode", ""),
                "reason": why,
                "requested_by": actor.to_json(),
                "requested_at": now,
                "status": WAITING,
                "decided_by": None,
                "note": "",
                "payment": {"returned_on": on},
            }
            cheque = {**d["cheque"], "state": BOUNCE_ASKED}
            writes = [
                Write("set", COUNTER_APPROVALS, approval_id, doc),
                Write("update", RECEIPTS, receipt.id, {"cheque": cheque}),
            ]
            event = CounterCheckAsked(
                approval_id, CHEQUE_BOUNCE, receipt.id, d["member_id"], d["amount"]
            )
            return ChangeSet.of(event, approval_id, writes, why)

        self.ctx.pipeline.transact(actor, work)
        return self._approval(approval_id)

    # -- the second person ------------------------------------------------------------

    def approve(self, actor: Actor, approval_id: str, note: str = "") -> Approval:
        """The checker approves: a cash receipt is posted (numbered, for its maker), a
        bounce is reversed. The maker can never approve their own request."""
        actor.require(*STAFF_ROLES, doing="approve a counter receipt or bounce")
        text = clean(note, "Note", NOTE)
        now = self.ctx.clock.now().isoformat()

        def work(reader: Reader) -> ChangeSet:
            approval = _waiting(reader, approval_id)
            _check_not_maker(actor, approval, "approve")
            d = approval.data
            decided = {"by": actor.to_json(), "at": now, "note": text}
            if d["kind"] == CASH_RECEIPT:
                writes = self._posted_cash(reader, approval, actor, now)
            else:
                writes = self._reversed_bounce(reader, approval, decided)
            writes.append(_decision(approval_id, APPROVED, actor, text))
            event = CounterCheckApproved(
                approval_id, d["kind"], d["bank_ref"], d["amount"], d["requested_by"]["id"]
            )
            return ChangeSet.of(event, approval_id, writes, text or "Checked and approved")

        self.ctx.pipeline.transact(actor, work)
        return self._approval(approval_id)

    def reject(self, actor: Actor, approval_id: str, reason: str) -> Approval:
        """Turn a request down (its maker may withdraw it too): nothing is posted, and a
        cheque whose bounce is rejected is pending clearance again."""
        actor.require(*STAFF_ROLES, doing="reject a counter receipt or bounce")
        why = clean(reason, "Reason", NOTE, required=True)

        def work(reader: Reader) -> ChangeSet:
            approval = _waiting(reader, approval_id)
            d = approval.data
            writes = [_decision(approval_id, REJECTED, actor, why)]
            if d["kind"] == CHEQUE_BOUNCE:
                receipt = reader.require(RECEIPTS, d["bank_ref"], "receipt")
                cheque = {**receipt.data["cheque"], "state": PENDING}
                writes.append(Write("update", RECEIPTS, receipt.id, {"cheque": cheque}))
            event = CounterCheckRejected(
                approval_id, d["kind"], d["bank_ref"], d["amount"], d["requested_by"]["id"]
            )
            return ChangeSet.of(event, approval_id, writes, why)

        self.ctx.pipeline.transact(actor, work)
        return self._approval(approval_id)

    def _posted_cash(
        self, reader: Reader, approval: Document, checker: Actor, now: str
    ) -> list[Write]:
        p = approval.data["payment"]
        payment = Payment(
            p["group_id"], p["period"], p["member_id"], p["amount"], p["bank_ref"],
            p["received_on"], p["mode"], None,
        )  # fmt: skip
        _check_cash_day(reader, payment, besides=approval.id)
        maker = Actor(**approval.data["requested_by"])
        try:
            change, _ = receipts_change(reader, self.ctx.ids, maker, now, [payment])
        except NothingNew:
            raise Conflict(
                f"Slip number {payment.bank_ref} was recorded meanwhile.",
                hint="Reject this request: the receipt exists.",
            ) from None
        checked = {"checked_by": checker.to_json(), "checked_at": now}
        return [*change.writes, Write("merge", RECEIPTS, payment.bank_ref, checked)]

    def _reversed_bounce(
        self, reader: Reader, approval: Document, decided: dict[str, Any]
    ) -> list[Write]:
        d = approval.data
        receipt = reader.require(RECEIPTS, d["bank_ref"], "receipt")
        if (receipt.data.get("cheque") or {}).get("state") != BOUNCE_ASKED:
            raise Conflict(f"The cheque of {receipt.id} is no longer waiting for its bounce.")
        on = d["payment"]["returned_on"]
        return bounce_writes(
            reader, self.ctx.ids, receipt, on=on, reason=d["reason"], decided=decided
        )

    # -- reads ---------------------------------------------------------------------------

    def _entry(self, bank_ref: str) -> ReceiptEntry:
        entry = self._find_entry(bank_ref)
        if entry is None:
            raise NotFound(f"No receipt has the reference {bank_ref!r}.")
        return entry

    def _find_entry(self, bank_ref: str) -> ReceiptEntry | None:
        doc = self.ctx.store.get(RECEIPTS, bank_ref)
        return receipt_entries(self.ctx.store, [doc])[0] if doc is not None else None

    def _approval(self, approval_id: str) -> Approval:
        doc = self.ctx.store.get(COUNTER_APPROVALS, approval_id)
        if doc is None:
            raise NotFound(f"No counter request {approval_id!r}.")
        names = self._member_names([doc.data["member_id"]])
        return Approval.from_doc(doc, names.get(doc.data["member_id"], ""))

    def _member_names(self, ids: Iterable[str]) -> dict[str, str]:
        docs = self.ctx.store.get_many(MEMBERS, set(ids))
        return {i: d.data.get("name", i) for i, d in docs.items()}

    def _group_names(self, ids: Iterable[str]) -> dict[str, str]:
        docs = self.ctx.store.get_many(GROUPS, {i for i in ids if i})
        return {i: d.data.get("name", i) for i, d in docs.items()}

    @staticmethod
    def _listed(
        entry: ReceiptEntry, people: dict[str, str], groups: dict[str, str]
    ) -> CounterReceipt:
        group = groups.get(entry.group_id or "", entry.group_id or "")
        return CounterReceipt(entry, people.get(entry.member_id, entry.member_id), group)


def _groups_of(docs: Iterable[Document]) -> set[str]:
    return {d.data["group_id"] for d in docs if d.data.get("group_id")}


class _Recorded(Exception):
    """The receipt or its request exists already (an idempotent retake)."""


def _payment_json(p: Payment) -> dict[str, Any]:
    return {
        "group_id": p.group_id,
        "period": p.period,
        "member_id": p.member_id,
        "amount": p.amount,
        "bank_ref": p.bank_ref,
        "received_on": str(p.received_on),
        "mode": p.mode,
    }


def _check_payable_now(reader: Reader, p: Payment) -> None:
    due = reader.get(DUES, due_id(p.group_id, p.period, p.member_id))
    if due is None:
        raise NotFound(
            f"No instalment is due from member {p.member_id} for group {p.group_id} "
            f"period {p.period}."
        )
    check_payable(due.data, p)


def _check_cash_day(reader: Reader, p: Payment, *, besides: str = "") -> None:
    """s.269ST: the member's cash that day, recorded or waiting, stays below the limit."""
    day = str(p.received_on)
    taken = reader.query(Query(RECEIPTS).where("member_id", "==", p.member_id))
    waiting = reader.query(Query(COUNTER_APPROVALS).where("member_id", "==", p.member_id))
    earlier = sum(
        d.data["amount"]
        for d in taken
        if d.data.get("mode") == CASH and d.data["received_on"] == day and d.id != p.bank_ref
    )
    earlier += sum(
        d.data["amount"]
        for d in waiting
        if d.data["status"] == WAITING
        and d.data["kind"] == CASH_RECEIPT
        and d.data["payment"]["received_on"] == day
        and d.id != besides
        and d.data["bank_ref"] != p.bank_ref
    )
    rules.check_cash_day(p.amount, earlier, p.member_id, day)


def _pending_cheque(reader: Reader, bank_ref: str, doing: str) -> Document:
    receipt = reader.require(RECEIPTS, bank_ref, "receipt")
    state = (receipt.data.get("cheque") or {}).get("state")
    if state is None:
        raise ValidationError(f"Receipt {bank_ref} was not paid by a cheque taken at the counter.")
    if state != PENDING:
        raise Conflict(
            f"The cheque of receipt {bank_ref} cannot be {doing}: it is {state.replace('_', ' ')}."
        )
    return receipt


def _waiting(reader: Reader, approval_id: str) -> Document:
    approval = reader.require(COUNTER_APPROVALS, approval_id, "counter request")
    if approval.data["status"] != WAITING:
        raise Conflict(f"Request {approval_id} was already {approval.data['status']}.")
    return approval


def _check_not_maker(actor: Actor, approval: Document, doing: str) -> None:
    if approval.data["requested_by"]["id"] == actor.id:
        raise PermissionDenied(
            f"You asked for this check, so you cannot {doing} it yourself (maker-checker).",
            hint="Another staff member must check it.",
        )


def _decision(approval_id: str, status: str, actor: Actor, note: str) -> Write:
    return Write(
        "update",
        COUNTER_APPROVALS,
        approval_id,
        {"status": status, "decided_by": actor.to_json(), "note": note},
    )
