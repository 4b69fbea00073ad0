"""A bounced cheque: its receipt's posting reversed and its due reopened, in one change.

:func:`bounce_writes` undoes what :mod:`.receipts` did for one instalment receipt and
keeps every invariant that module keeps:

* the posting ``Dr cash:group / Cr receivable`` is reversed (``instalment.reversed``),
  so the member's receivable again equals what the due says is outstanding;
* the due loses the payment (``paid``, ``status``, ``bank_refs``) and is open again;
* the period's ``collected`` and ``paid_count`` lose it too; when the collections fall
  below the foreman's commission already moved to ``cash:company``, the commission moves
  back to the pool (``commission.reversed``) and moves again, in full, when collections
  reach it (the commission rule of :mod:`.service`);
* what the receipt repaid of the company's advances to the pool is owed again
  (:func:`.advances.reopen`, ``advance.reopened``): the money never came, so the pool
  owes the company as before.

The receipt keeps its number (receipt numbers are never reused) and says it bounced.
"""

from __future__ import annotations

from typing import Any

from app.kernel.errors import ValidationError
from app.services.collections import DUES, PERIODS, RECEIPTS
from app.services.ledger.advances import reopen
from app.services.ledger.postings import (
    NewId,
    commission_reversed_write,
    due_id,
    instalment_reversed_write,
    period_id,
)
from app.services.ledger.records import BOUNCED
from app.services.money import format_inr
from app.services.pipeline import Reader
from app.services.store import Document, Write


def bounce_writes(
    reader: Reader,
    ids: NewId,
    receipt: Document,
    *,
    on: str,
    reason: str,
    decided: dict[str, Any],
) -> list[Write]:
    """The writes that undo ``receipt`` (an instalment paid by a cheque that bounced on
    ``on``, for ``reason``); ``decided`` (who, when) is kept on the receipt's cheque."""
    r = receipt.data
    group, period, member, amount, ref = (
        r["group_id"],
        r["period"],
        r["member_id"],
        r["amount"],
        receipt.id,
    )
    due = reader.require(DUES, due_id(group, period, member), "due").data
    summary = reader.require(PERIODS, period_id(group, period), "period summary").data
    if ref not in due.get("bank_refs", []) or due["paid"] < amount:
        raise ValidationError(
            f"The due of member {member} for group {group} period {period} does not hold "
            f"the {format_inr(amount)} of {ref}; the cheque cannot be reversed.",
            hint="Run `tfos ledger check` and report it: this is a bug.",
        )
    txn = instalment_reversed_write(
        ids, group_id=group, period=period, member_id=member, amount=amount, date=on, bank_ref=ref
    )
    writes = [txn, _reopened(due, ref, amount, due_id(group, period, member))]
    period_fields, moved_back = _period_without(summary, amount, was_full=due["status"] == "paid")
    if moved_back:
        fee = summary["foreman_receives"]
        writes.append(
            commission_reversed_write(ids, group_id=group, period=period, amount=fee, date=on)
        )
    writes.append(Write("update", PERIODS, period_id(group, period), period_fields))
    repaid = r.get("advances") or []
    writes += reopen(
        reader, ids, group_id=group, period=period, repaid=repaid, date=on, bank_ref=ref
    )
    cheque = {**r["cheque"], "state": BOUNCED, "bounced_on": on, "reason": reason}
    cheque.update(reversal_txn=txn.id, decided=decided)
    writes.append(Write("update", RECEIPTS, ref, {"cheque": cheque}))
    return writes


def _reopened(due: dict[str, Any], ref: str, amount: int, key: str) -> Write:
    refs = [r for r in due.get("bank_refs", []) if r != ref]
    return Write(
        "update",
        DUES,
        key,
        {
            "paid": due["paid"] - amount,
            "status": "due",
            "bank_ref": refs[-1] if refs else None,
            "bank_refs": refs,
            "paid_at": None,
        },
    )


def _period_without(
    summary: dict[str, Any], amount: int, *, was_full: bool
) -> tuple[dict[str, Any], bool]:
    """The period summary's fields without ``amount``, and whether the commission goes
    back to the pool."""
    collected = summary["collected"] - amount
    moved_back = summary["commission_txn"] is not None and collected < summary["foreman_receives"]
    fields = {
        "collected": collected,
        "paid_count": summary["paid_count"] - int(was_full),
        "commission_txn": None if moved_back else summary["commission_txn"],
    }
    return fields, moved_back
