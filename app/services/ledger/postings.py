"""Double-entry postings: the chart of accounts and pure builders of ledger writes.

Every builder returns store :class:`Write` objects that a service puts in its own
ChangeSet, so that a money movement commits atomically with the state change it
belongs to. Nothing here reads the store or the clock.

Accounts (strings; ids may not contain ``:``)::

    cash:group:<g>          asset      the group's pool (belongs to its members)
    cash:lending            asset      the company's lending capital
    cash:company            asset      the company's own cash (commission, penalties)
    receivable:<m>:<g>      asset      instalments member m owes group g
    receivable:<m>:penalty  asset      penalties member m owes the company
    loans:<loan_id>         asset      loan principal outstanding
    chitfund:<g>            liability  the period's chit, owed to its winner
    advance:<g>             asset      company cash advanced to group g's pool, not yet repaid
    repayable:<g>           liability  what group g's pool owes the company for advances
    income:commission|interest|penalty income
    equity:capital          equity     lending capital paid in

A balance is debits minus credits ("signed, debit positive"): assets are positive,
liabilities, income and equity negative. :func:`natural_balance` gives the sign an
accountant expects for the account's class.

Every transaction that touches an account of a group carries that group's id in
``group_id`` (set automatically; one group per transaction), every one that touches
``cash:lending`` carries ``lending: true``, and loan accounts carry ``loan_id``; so a
pool's balance is one indexed query rather than a scan of the whole ledger.

Per period of a group (see :func:`dues_writes`), with ``fr`` = the foreman's
commission less the rounding residue of the shares (``Settlement.foreman_receives``):
dues raised ``Dr receivable G/N each / Cr chitfund G``; discount distributed
``Dr chitfund D / Cr receivable share each / Cr income:commission fr``. So each member
owes the net instalment, the chit stands at the prize, and the members' collections
(``N x net = prize + fr``) pay exactly the prize and the commission.

An advance of the company's cash to a group's pool (so a prize is paid on time while
members have not paid yet, :mod:`app.services.payouts.advances`) is one transaction
``Dr cash:group:<g> / Cr repayable:<g>`` (the pool owes the company) and
``Dr advance:<g> / Cr cash:company`` (the company's claim on the pool); a repayment, as
the members' late dues come in, reverses both pairs. So ``advance:<g>`` and
``repayable:<g>`` always stand at what is still to repay.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date as Date
from typing import Any, NamedTuple, Protocol

from app.kernel.errors import ValidationError
from app.services.auctions.rules import Settlement
from app.services.collections import DUES, LEDGER, PERIODS
from app.services.money import format_inr
from app.services.store import Write

COMPANY_CASH = "cash:company"
LENDING_CASH = "cash:lending"
COMMISSION_INCOME = "income:commission"
INTEREST_INCOME = "income:interest"
PENALTY_INCOME = "income:penalty"
CAPITAL = "equity:capital"

REF_FIELDS = ("group_id", "member_id", "period", "loan_id", "bank_ref", "payout_id")
"""Keyword references a transaction may carry (``None`` when absent)."""

CLASSES = {
    "cash": "asset",
    "receivable": "asset",
    "loans": "asset",
    "chitfund": "liability",
    "advance": "asset",
    "repayable": "liability",
    "income": "income",
    "equity": "equity",
}
"""Account class by the account's first segment."""

PENALTY_SUFFIX = "penalty"
_KIND = re.compile(r"^[a-z_]+\.[a-z_]+$")
_BANK_REF = re.compile(r"^[A-Z0-9][A-Z0-9._-]{3,63}$")


class NewId(Protocol):
    """What the builders need of ``ServiceContext.ids``."""

    def new(self, prefix: str) -> str: ...


class Line(NamedTuple):
    """One line of a transaction: exactly one of ``debit`` and ``credit`` is positive."""

    account: str
    debit: int = 0
    credit: int = 0


def dr(account: str, amount: int) -> Line:
    return Line(account, amount, 0)


def cr(account: str, amount: int) -> Line:
    return Line(account, 0, amount)


# -- accounts -----------------------------------------------------------------------


def _part(value: str, what: str) -> str:
    if not isinstance(value, str) or not value or ":" in value or "/" in value:
        raise ValidationError(f"{value!r} is not a valid {what} for a ledger account.")
    return value


def group_cash(group_id: str) -> str:
    return f"cash:group:{_part(group_id, 'group id')}"


def chitfund(group_id: str) -> str:
    return f"chitfund:{_part(group_id, 'group id')}"


def advance_account(group_id: str) -> str:
    return f"advance:{_part(group_id, 'group id')}"


def repayable(group_id: str) -> str:
    return f"repayable:{_part(group_id, 'group id')}"


def receivable(member_id: str, group_id: str) -> str:
    if group_id == PENALTY_SUFFIX:
        raise ValidationError(f"{group_id!r} is reserved and cannot be a group id.")
    return f"receivable:{_part(member_id, 'member id')}:{_part(group_id, 'group id')}"


def penalty_receivable(member_id: str) -> str:
    return f"receivable:{_part(member_id, 'member id')}:{PENALTY_SUFFIX}"


def loan_account(loan_id: str) -> str:
    return f"loans:{_part(loan_id, 'loan id')}"


def account_class(account: str) -> str | None:
    """``asset``, ``liability``, ``income`` or ``equity``; None for a malformed account."""
    head, _, rest = account.partition(":")
    if not rest or any(not part for part in rest.split(":")):
        return None
    return CLASSES.get(head)


def account_group(account: str) -> str | None:
    """The group an account belongs to (pool, chit or a member's dues), else None."""
    parts = account.split(":")
    if parts[:2] == ["cash", "group"] and len(parts) == 3:
        return parts[2]
    if parts[0] in ("chitfund", "advance", "repayable") and len(parts) == 2:
        return parts[1]
    if parts[0] == "receivable" and len(parts) == 3 and parts[2] != PENALTY_SUFFIX:
        return parts[2]
    return None


def natural_balance(account: str, signed: int) -> int:
    """A signed (debit-positive) balance shown the way the account's class reads it."""
    return signed if account_class(account) == "asset" else -signed


def due_id(group_id: str, period: int, member_id: str) -> str:
    return f"{group_id}-{period}-{member_id}"


def period_id(group_id: str, period: int) -> str:
    return f"{group_id}-{period}"


def normalise_bank_ref(bank_ref: str) -> str:
    """A bank reference (UTR, cheque or slip number) upper-cased and checked."""
    text = bank_ref.strip().upper() if isinstance(bank_ref, str) else ""
    if not _BANK_REF.match(text):
        raise ValidationError(
            f"{bank_ref!r} is not a bank reference.",
            hint="Use the UTR, cheque or slip number: 4 to 64 letters, digits, '.', '_' "
            "or '-', starting with a letter or digit.",
        )
    return text


# -- transactions -------------------------------------------------------------------


def iso_date(value: Date | str, what: str = "date") -> str:
    """``value`` as an ISO date string, or a ValidationError naming ``what``."""
    if isinstance(value, Date):
        return value.isoformat()[:10]
    try:
        return Date.fromisoformat(value).isoformat()
    except (TypeError, ValueError):
        raise ValidationError(f"{what}: {value!r} is not a date (YYYY-MM-DD).") from None


def _as_line(raw: Line | Sequence[Any] | Mapping[str, Any]) -> Line:
    if isinstance(raw, Mapping):
        return Line(raw.get("account", ""), raw.get("debit", 0), raw.get("credit", 0))
    return Line(*raw)


def _line_problem(line: Line) -> str:
    amounts = (line.debit, line.credit)
    if not isinstance(line.account, str) or account_class(line.account) is None:
        return f"{line.account!r} is not a ledger account"
    if any(isinstance(a, bool) or not isinstance(a, int) for a in amounts):
        return f"{line.account}: amounts must be whole paise"
    if min(amounts) < 0:
        return f"{line.account}: amounts cannot be negative"
    if (line.debit > 0) == (line.credit > 0):
        return f"{line.account}: a line is either a debit or a credit of a positive amount"
    return ""


def _problems(kind: str, lines: list[Line], refs: dict[str, Any]) -> list[str]:
    problems = [] if isinstance(kind, str) and _KIND.match(kind) else [f"bad kind {kind!r}"]
    problems += [f"unknown reference {key!r}" for key in refs if key not in REF_FIELDS]
    if len(lines) < 2:
        problems.append("a transaction needs at least 2 lines")
    problems += [p for p in map(_line_problem, lines) if p]
    if problems:
        return problems
    debits, credits = sum(x.debit for x in lines), sum(x.credit for x in lines)
    if debits != credits:
        problems.append(f"debits {format_inr(debits)} do not equal credits {format_inr(credits)}")
    groups = {g for g in map(account_group, (x.account for x in lines)) if g is not None}
    if len(groups) > 1:
        problems.append(f"one transaction may touch one group's accounts; got {sorted(groups)}")
    elif groups and refs.get("group_id") not in (None, *groups):
        problems.append(f"group_id {refs['group_id']!r} does not match the accounts")
    return problems


def txn_data(
    *,
    date: Date | str,
    kind: str,
    lines: Iterable[Line | Sequence[Any] | Mapping[str, Any]],
    memo: str = "",
    **refs: Any,
) -> dict[str, Any]:
    """The document of one balanced transaction (see :func:`txn_write`)."""
    parsed = [_as_line(raw) for raw in lines]
    problems = _problems(kind, parsed, refs)
    if problems:
        raise ValidationError(
            "The ledger transaction is not valid: " + "; ".join(problems) + ".",
            hint="This is a bug in the posting; nothing was written.",
        )
    accounts = [x.account for x in parsed]
    group = next((g for g in map(account_group, accounts) if g), None)
    data: dict[str, Any] = {key: refs.get(key) for key in REF_FIELDS}
    data.update(
        date=iso_date(date),
        kind=kind,
        memo=memo,
        group_id=refs.get("group_id") or group,
        lending=LENDING_CASH in accounts,
        amount=sum(x.debit for x in parsed),
        lines=[{"account": x.account, "debit": x.debit, "credit": x.credit} for x in parsed],
    )
    return data


def txn_write(
    ids: NewId,
    *,
    date: Date | str,
    kind: str,
    lines: Iterable[Line | Sequence[Any] | Mapping[str, Any]],
    memo: str = "",
    **refs: Any,
) -> Write:
    """One balanced transaction as a write to ``ledger_txns/<new id>``.

    ``lines`` are :class:`Line` tuples (or ``(account, debit, credit)`` or mappings).
    ``refs`` are any of :data:`REF_FIELDS`. Raises ValidationError unless there are at
    least 2 lines, each a positive whole-paise debit or credit on a known account,
    and debits equal credits.
    """
    data = txn_data(date=date, kind=kind, lines=lines, memo=memo, **refs)
    return Write("set", LEDGER, ids.new("txn"), data, expect_version=0)


# -- postings of a chit period ---------------------------------------------------


def _check_dues_args(
    group_id: str, period: int, settlement: Settlement, member_ids: Sequence[str]
) -> None:
    problems = []
    if period != settlement.period:
        problems.append(f"period {period} but the settlement is for {settlement.period}")
    if len(member_ids) != settlement.members:
        problems.append(f"{len(member_ids)} members but the group has {settlement.members}")
    if len(set(member_ids)) != len(member_ids):
        problems.append("a member is listed twice (one ticket per member)")
    if problems:
        raise ValidationError(
            f"Cannot raise the dues of group {group_id} period {period}: "
            + "; ".join(problems)
            + "."
        )


def dues_writes(
    group_id: str,
    period: int,
    settlement: Settlement,
    member_ids: Sequence[str],
    due_date: Date | str,
    ids: NewId,
    *,
    raised_on: Date | str | None = None,
    deducted: Mapping[str, str] | None = None,
) -> list[Write]:
    """The dues of one settled period: a ``dues`` document per member, the period's
    ``ledger_periods`` summary, and the postings "dues raised" and "discount
    distributed" (see the module docstring). Put them in the ChangeSet that closes
    the auction. Each document is created with ``expect_version=0``, so raising a
    period twice is refused. ``raised_on`` (default ``due_date``) dates the postings.

    ``deducted`` maps a member to the released payout whose prize kept their future
    instalments in the pool: that member's due is settled at once from the deduction
    (``Dr chitfund / Cr receivable``, see :func:`_deducted_write`) and counts as
    collected, so the commission moves when the collections cover it.
    """
    _check_dues_args(group_id, period, settlement, member_ids)
    when = iso_date(raised_on if raised_on is not None else due_date, "raised on")
    due = iso_date(due_date, "due date")
    s = settlement
    refs = {"group_id": group_id, "period": period}
    summary = _period_doc(s, refs, due, when)
    writes: list[Write] = []
    settled: list[Write] = []
    for member in member_ids:
        doc = _due_doc(s, member, refs, due, when)
        payout_id = (deducted or {}).get(member)
        if payout_id is not None and s.net_instalment_paise > 0:
            settled.append(_deducted_write(ids, s, group_id, member, payout_id, when, doc))
            summary["collected"] += doc["paid"]
            summary["paid_count"] += 1
        writes.append(Write("set", DUES, due_id(group_id, period, member), doc, 0))
    writes.append(_raised_write(ids, s, group_id, member_ids, when, refs))
    if s.discount_paise > 0:
        writes.append(_discount_write(ids, s, group_id, member_ids, when, refs))
    writes += settled
    fee = s.foreman_receives_paise
    if settled and fee > 0 and summary["collected"] >= fee:
        transfer = commission_transfer_write(
            ids, group_id=group_id, period=period, amount=fee, date=when
        )
        writes.append(transfer)
        summary["commission_txn"] = transfer.id
    writes.insert(0, Write("set", PERIODS, period_id(group_id, period), summary, 0))
    if s.foreman_receives_paise < 0:
        short = -s.foreman_receives_paise
        lines = [dr(group_cash(group_id), short), cr(COMPANY_CASH, short)]
        memo = "The company makes up the rounding of the shares of discount"
        writes.append(
            txn_write(ids, date=when, kind="commission.topup", lines=lines, memo=memo, **refs)
        )
    return writes


def _raised_write(
    ids: NewId,
    s: Settlement,
    group_id: str,
    member_ids: Sequence[str],
    when: str,
    refs: dict[str, Any],
) -> Write:
    lines = [dr(receivable(m, group_id), s.instalment_paise) for m in member_ids]
    lines.append(cr(chitfund(group_id), s.instalment_paise * s.members))
    memo = f"Instalments of period {s.period}: {format_inr(s.instalment_paise)} x {s.members}"
    return txn_write(ids, date=when, kind="dues.raised", lines=lines, memo=memo, **refs)


def _discount_write(
    ids: NewId,
    s: Settlement,
    group_id: str,
    member_ids: Sequence[str],
    when: str,
    refs: dict[str, Any],
) -> Write:
    lines = [dr(chitfund(group_id), s.discount_paise)]
    if s.share_paise > 0:
        lines += [cr(receivable(m, group_id), s.share_paise) for m in member_ids]
    fee = s.foreman_receives_paise
    if fee:
        lines.append(cr(COMMISSION_INCOME, fee) if fee > 0 else dr(COMMISSION_INCOME, -fee))
    memo = (
        f"Discount {format_inr(s.discount_paise)}: share {format_inr(s.share_paise)} each, "
        f"commission {format_inr(s.commission_paise)}"
        + (f" less rounding {format_inr(s.residue_paise)}" if s.residue_paise else "")
    )
    return txn_write(ids, date=when, kind="discount.distributed", lines=lines, memo=memo, **refs)


def _deducted_write(
    ids: NewId,
    s: Settlement,
    group_id: str,
    member: str,
    payout_id: str,
    when: str,
    doc: dict[str, Any],
) -> Write:
    """Settle ``member``'s due (``doc``, updated here) from their prize's deduction:
    the cash is already in the pool, so ``Dr chitfund:<g> / Cr receivable:<m>:<g>``."""
    net = s.net_instalment_paise
    ref = f"deducted:{payout_id}"
    doc.update(paid=net, status="paid", bank_ref=ref, bank_refs=[ref], paid_at=when)
    return txn_write(
        ids,
        date=when,
        kind="dues.deducted",
        lines=[dr(chitfund(group_id), net), cr(receivable(member, group_id), net)],
        memo=f"Instalment of period {s.period} deducted from the prize ({payout_id})",
        group_id=group_id,
        period=s.period,
        member_id=member,
        payout_id=payout_id,
    )


def _period_doc(s: Settlement, refs: dict[str, Any], due: str, when: str) -> dict[str, Any]:
    return {
        **refs,
        "members": s.members,
        "gross": s.instalment_paise,
        "share": s.share_paise,
        "net": s.net_instalment_paise,
        "discount": s.discount_paise,
        "prize": s.prize_paise,
        "commission": s.commission_paise,
        "residue": s.residue_paise,
        "foreman_receives": s.foreman_receives_paise,
        "expected": s.members * s.net_instalment_paise,
        "collected": 0,
        "paid_count": 0,
        "due_date": due,
        "raised_on": when,
        "commission_txn": None,
        "receipts": 0,
    }


def _due_doc(
    s: Settlement, member: str, refs: dict[str, Any], due: str, when: str
) -> dict[str, Any]:
    return {
        **refs,
        "member_id": member,
        "gross": s.instalment_paise,
        "share": s.share_paise,
        "net": s.net_instalment_paise,
        "due_date": due,
        "raised_on": when,
        "paid": 0,
        "status": "due",
        "bank_ref": None,
        "bank_refs": [],
        "paid_at": None,
    }


# -- single postings ----------------------------------------------------------------


def instalment_write(
    ids: NewId,
    *,
    group_id: str,
    period: int,
    member_id: str,
    amount: int,
    date: Date | str,
    bank_ref: str,
) -> Write:
    """An instalment received: Dr cash:group:<g> / Cr receivable:<m>:<g>."""
    lines = [dr(group_cash(group_id), amount), cr(receivable(member_id, group_id), amount)]
    return txn_write(
        ids,
        date=date,
        kind="instalment.received",
        lines=lines,
        memo=f"Instalment of period {period}",
        group_id=group_id,
        period=period,
        member_id=member_id,
        bank_ref=bank_ref,
    )


def commission_transfer_write(
    ids: NewId, *, group_id: str, period: int, amount: int, date: Date | str
) -> Write:
    """The foreman's commission moved out of the pool: Dr cash:company / Cr cash:group."""
    return txn_write(
        ids,
        date=date,
        kind="commission.transferred",
        lines=[dr(COMPANY_CASH, amount), cr(group_cash(group_id), amount)],
        memo=f"Foreman's commission of period {period}",
        group_id=group_id,
        period=period,
    )


def instalment_reversed_write(
    ids: NewId,
    *,
    group_id: str,
    period: int,
    member_id: str,
    amount: int,
    date: Date | str,
    bank_ref: str,
) -> Write:
    """A receipt undone (its cheque bounced): Dr receivable:<m>:<g> / Cr cash:group:<g>,
    the reverse of :func:`instalment_write`."""
    lines = [dr(receivable(member_id, group_id), amount), cr(group_cash(group_id), amount)]
    return txn_write(
        ids,
        date=date,
        kind="instalment.reversed",
        lines=lines,
        memo=f"Cheque {bank_ref} bounced: instalment of period {period} reversed",
        group_id=group_id,
        period=period,
        member_id=member_id,
        bank_ref=bank_ref,
    )


def commission_reversed_write(
    ids: NewId, *, group_id: str, period: int, amount: int, date: Date | str
) -> Write:
    """The foreman's commission moved back into the pool, the reverse of
    :func:`commission_transfer_write`: Dr cash:group / Cr cash:company."""
    return txn_write(
        ids,
        date=date,
        kind="commission.reversed",
        lines=[dr(group_cash(group_id), amount), cr(COMPANY_CASH, amount)],
        memo=f"Foreman's commission of period {period} back to the pool: collections fell below it",
        group_id=group_id,
        period=period,
    )


def prize_paid_write(
    ids: NewId,
    *,
    group_id: str,
    period: int,
    member_id: str,
    amount: int,
    date: Date | str,
    payout_id: str | None = None,
    bank_ref: str | None = None,
    memo: str = "",
) -> Write:
    """The prize paid to the winner: Dr chitfund:<g> / Cr cash:group:<g>."""
    return txn_write(
        ids,
        date=date,
        kind="prize.paid",
        lines=[dr(chitfund(group_id), amount), cr(group_cash(group_id), amount)],
        memo=memo or f"Prize of period {period}",
        group_id=group_id,
        period=period,
        member_id=member_id,
        payout_id=payout_id,
        bank_ref=bank_ref,
    )


def loan_disbursed_write(
    ids: NewId,
    *,
    loan_id: str,
    member_id: str,
    amount: int,
    date: Date | str,
    bank_ref: str | None = None,
) -> Write:
    """A loan paid out: Dr loans:<id> / Cr cash:lending."""
    return txn_write(
        ids,
        date=date,
        kind="loan.disbursed",
        lines=[dr(loan_account(loan_id), amount), cr(LENDING_CASH, amount)],
        memo=f"Loan {loan_id} disbursed",
        loan_id=loan_id,
        member_id=member_id,
        bank_ref=bank_ref,
    )


def emi_received_write(
    ids: NewId,
    *,
    loan_id: str,
    member_id: str,
    principal: int,
    interest: int,
    date: Date | str,
    bank_ref: str | None = None,
    instalment_no: int | None = None,
) -> Write:
    """An EMI received: Dr cash:lending / Cr loans:<id> principal / Cr income:interest."""
    lines = [dr(LENDING_CASH, principal + interest)]
    lines += [cr(loan_account(loan_id), principal)] if principal else []
    lines += [cr(INTEREST_INCOME, interest)] if interest else []
    memo = f"EMI of loan {loan_id}" + (f" no. {instalment_no}" if instalment_no else "")
    return txn_write(
        ids,
        date=date,
        kind="emi.received",
        lines=lines,
        memo=memo + f": principal {format_inr(principal)}, interest {format_inr(interest)}",
        loan_id=loan_id,
        member_id=member_id,
        bank_ref=bank_ref,
        period=instalment_no,
    )


def penalty_write(
    ids: NewId,
    *,
    member_id: str,
    amount: int,
    date: Date | str,
    memo: str = "",
    group_id: str | None = None,
    period: int | None = None,
    loan_id: str | None = None,
) -> Write:
    """A penalty charged: Dr receivable:<m>:penalty / Cr income:penalty."""
    return txn_write(
        ids,
        date=date,
        kind="penalty.charged",
        lines=[dr(penalty_receivable(member_id), amount), cr(PENALTY_INCOME, amount)],
        memo=memo or "Penalty for late payment",
        member_id=member_id,
        group_id=group_id,
        period=period,
        loan_id=loan_id,
    )


def penalty_received_write(
    ids: NewId,
    *,
    member_id: str,
    amount: int,
    date: Date | str,
    bank_ref: str | None = None,
    group_id: str | None = None,
    loan_id: str | None = None,
) -> Write:
    """A penalty paid: Dr cash:company / Cr receivable:<m>:penalty."""
    return txn_write(
        ids,
        date=date,
        kind="penalty.received",
        lines=[dr(COMPANY_CASH, amount), cr(penalty_receivable(member_id), amount)],
        memo="Penalty paid",
        member_id=member_id,
        bank_ref=bank_ref,
        group_id=group_id,
        loan_id=loan_id,
    )


def capital_write(
    ids: NewId,
    *,
    amount: int,
    date: Date | str,
    memo: str = "",
    into: str = LENDING_CASH,
    bank_ref: str | None = None,
) -> Write:
    """Capital paid in: Dr cash:lending (or ``into`` cash:company) / Cr equity:capital;
    ``bank_ref``: the bank's reference of the credit, when known."""
    if into not in (LENDING_CASH, COMPANY_CASH):
        raise ValidationError(f"Capital is paid into {LENDING_CASH} or {COMPANY_CASH}, not {into}.")
    return txn_write(
        ids,
        date=date,
        kind="capital.added",
        lines=[dr(into, amount), cr(CAPITAL, amount)],
        memo=memo or "Lending capital paid in",
        bank_ref=bank_ref,
    )


def _advance_lines(group_id: str, amount: int) -> list[Line]:
    return [
        dr(group_cash(group_id), amount),
        cr(repayable(group_id), amount),
        dr(advance_account(group_id), amount),
        cr(COMPANY_CASH, amount),
    ]


def advance_write(
    ids: NewId, *, group_id: str, amount: int, date: Date | str, payout_id: str, period: int
) -> Write:
    """The company's cash advanced to a group's pool for a prize (see module docstring)."""
    return txn_write(
        ids,
        date=date,
        kind="advance.made",
        lines=_advance_lines(group_id, amount),
        memo=f"Company cash advanced to the pool for the prize of period {period}",
        group_id=group_id,
        period=period,
        payout_id=payout_id,
    )


def advance_reopened_write(
    ids: NewId, *, group_id: str, amount: int, date: Date | str, period: int, bank_ref: str
) -> Write:
    """A repayment undone because the cheque that made it bounced: the advance's own
    lines again (the company's cash back into the pool, which owes it again)."""
    return txn_write(
        ids,
        date=date,
        kind="advance.reopened",
        lines=_advance_lines(group_id, amount),
        memo=f"Cheque {bank_ref} bounced: its repayment of the company's advance is undone",
        group_id=group_id,
        period=period,
        bank_ref=bank_ref,
    )


def advance_repaid_write(
    ids: NewId, *, group_id: str, amount: int, date: Date | str, period: int, bank_ref: str
) -> Write:
    """Part of an advance repaid to the company from a late instalment of ``period``: the
    advance's lines with debits and credits swapped."""
    lines = [Line(x.account, x.credit, x.debit) for x in _advance_lines(group_id, amount)]
    return txn_write(
        ids,
        date=date,
        kind="advance.repaid",
        lines=lines,
        memo=f"Advance repaid to the company from a late instalment of period {period}",
        group_id=group_id,
        period=period,
        bank_ref=bank_ref,
    )
