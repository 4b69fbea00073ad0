"""The ledger service: receipts, lending capital, balances and reports.

:class:`LedgerService` records receipts (one, or a bank statement of
:class:`~.receipts.Payment` as one change) and capital, and reads balances, the trial
balance and balance sheet, members' timelines and dues, overdue dues, period
collections, transactions, the receipt register and accounts' names as people read
them; :func:`check_ledger` is ``tfos ledger check``. The
pure builders of other services' ledger postings (:func:`~.postings.txn_write`,
:func:`~.postings.dues_writes`, account names ...) are in :mod:`.postings`.

Receipts are idempotent by bank reference: ``receipts/<bank_ref>`` is created with
``expect_version=0``; the same reference with the same payload returns the first
receipt (``duplicate=True``) and writes nothing, with a different payload it is
refused. A member may pay an instalment in parts but never more than its net amount,
so nobody pays twice for one instalment.

Commission rule (exact and simple): the foreman's commission of a period (less the
rounding residue of the shares, ``Settlement.foreman_receives_paise``) is moved from
the group's pool to ``cash:company`` in the same ChangeSet as the receipt that makes
the period's collections reach it. Each period is moved once, in full; what remains
in the pool is exactly the prize once everyone has paid.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date as Date
from typing import Any

from app.kernel.errors import NotFound, ValidationError
from app.services import topics
from app.services.actors import Actor, Role
from app.services.collections import (
    ADVANCE_BOOKS,
    DUES,
    GROUPS,
    LEDGER,
    LOANS,
    MEMBERS,
    PERIODS,
    RECEIPTS,
)
from app.services.context import ServiceContext
from app.services.events import CapitalAdded
from app.services.feeds import Feed
from app.services.ledger import totals as ledger_totals
from app.services.ledger.postings import (
    LENDING_CASH,
    REF_FIELDS,
    account_group,
    advance_account,
    capital_write,
    group_cash,
    normalise_bank_ref,
    period_id,
    repayable,
)
from app.services.ledger.receipts import (
    NothingNew,
    Payment,
    check_amount,
    normalise,
    receipts_change,
)
from app.services.ledger.records import (
    Due,
    PeriodCollections,
    Receipt,
    ReceiptEntry,
    Txn,
    loan_code,
    receipt_entries,
)
from app.services.ledger.reports import (
    MEMBERS_ALL,
    AccountNames,
    BalanceSheet,
    Statements,
    TimelineItem,
    TrialBalance,
    account_balance,
    account_name,
    balance_sheet,
    format_trial_balance,
    summary_accounts,
    timeline,
)
from app.services.money import format_inr
from app.services.pipeline import ChangeSet, Reader
from app.services.store import Query
from app.services.text import NOTE, clean
from app.services.topics import reads

STAFF_ROLES: tuple[Role, ...] = ("employee", "admin")
RECEIPT_KINDS = ("instalment.received", "emi.received", "penalty.received")
"""The transactions that are money received from members (instalments, EMIs, penalties)."""


class LedgerService:
    """Receipts and capital (writes) and every ledger read."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    # -- writes -----------------------------------------------------------------

    def record_receipt(
        self,
        actor: Actor,
        *,
        group_id: str,
        period: int,
        member_id: str,
        amount: int,
        bank_ref: str,
        received_on: Date | str,
    ) -> Receipt:
        """Record an instalment received from a member (staff only; idempotent by
        ``bank_ref``: the same payment again returns the first receipt with
        ``duplicate=True`` and writes nothing)."""
        payment = Payment(group_id, period, member_id, amount, bank_ref, received_on)
        return self.record_receipts(actor, [payment], doing="record an instalment receipt")[0]

    def record_receipts(
        self, actor: Actor, payments: Sequence[Payment], *, doing: str = "import receipts"
    ) -> list[Receipt]:
        """Record a bank statement's payments as one change, all or nothing: a
        ValidationError lists every line that cannot be recorded. Payments already
        recorded (same bank reference and payload) come back as duplicates."""
        actor.require(*STAFF_ROLES, doing=doing)
        today = self.ctx.clock.today()
        clean = [normalise(p, today) for p in payments]
        if not clean:
            return []
        now = self.ctx.clock.now().isoformat()
        try:
            committed = self.ctx.pipeline.transact(
                actor, lambda reader: receipts_change(reader, self.ctx.ids, actor, now, clean)
            )
        except NothingNew as done:
            return done.receipts
        receipts: list[Receipt] = committed.value
        return receipts

    def find_receipt(self, bank_ref: str) -> Receipt | None:
        doc = self.ctx.store.get(RECEIPTS, normalise_bank_ref(bank_ref))
        return Receipt.from_doc(doc) if doc is not None else None

    def receipt_entry(self, bank_ref: str) -> ReceiptEntry:
        """Any receipt (an instalment or a loan repayment) by its bank reference."""
        doc = self.ctx.store.get(RECEIPTS, normalise_bank_ref(bank_ref))
        if doc is None:
            raise NotFound(
                f"No receipt has the bank reference {bank_ref!r}.",
                hint="Check the reference on the bank statement or the counter slip.",
            )
        return receipt_entries(self.ctx.store, [doc])[0]

    def receipt_register(
        self, start: Date | None = None, end: Date | None = None, *, group_id: str | None = None
    ) -> list[ReceiptEntry]:
        """Every receipt received from ``start`` to ``end`` (both included; open ends
        when None), instalments of ``group_id`` only when given; by date received, then
        bank reference."""
        query = Query(RECEIPTS)
        if start is not None:
            query = query.where("received_on", ">=", start.isoformat())
        if end is not None:
            query = query.where("received_on", "<=", end.isoformat())
        if group_id is not None:
            query = query.where("group_id", "==", group_id)
        entries = receipt_entries(self.ctx.store, self.ctx.store.stream(query))
        entries.sort(key=lambda r: (r.received_on, r.bank_ref))
        return entries

    def add_capital(
        self, actor: Actor, amount: int, memo: str = "", *, into: str = LENDING_CASH
    ) -> Txn:
        """Pay capital in (admin only): Dr cash:lending / Cr equity:capital, or into
        ``cash:company``, the company's own cash that prize advances come from."""
        what = "lending capital" if into == LENDING_CASH else "company cash"
        actor.require("admin", doing=f"add {what}")
        check_amount(amount)
        memo = clean(memo, "Memo", NOTE)
        today = self.ctx.clock.today()
        write = capital_write(self.ctx.ids, amount=amount, date=today, memo=memo, into=into)
        change = ChangeSet.of(CapitalAdded(write.id, amount), write.id, [write], memo)
        self.ctx.pipeline.transact(actor, lambda reader: change)
        return Txn.from_data(write.id, write.data)

    def check(self, *, detail: bool = False) -> tuple[bool, str]:
        """Whether the books balance and the dues agree with them, with the report
        ``tfos ledger check`` prints (see :func:`check_ledger`)."""
        return check_ledger(self.ctx, detail=detail)

    # -- balances and reports ---------------------------------------------------

    def trial_balance(self) -> TrialBalance:
        """Debit and credit totals of every account. The ledger is scanned once per
        process; later calls add what the WAL has applied since (see
        :mod:`.totals`)."""
        return ledger_totals.trial_balance(self.ctx.store, self.ctx.pipeline)

    def balances(self) -> dict[str, int]:
        """Signed (debit-positive) balance of every account with a posting."""
        return self.trial_balance().balances()

    def balance(self, account: str) -> int:
        """Signed (debit-positive) balance of one account. Before the first full scan,
        accounts of a group, of a loan and ``cash:lending`` are read with one indexed
        query instead."""
        store = self.ctx.store
        if ledger_totals.is_warm(store):
            return ledger_totals.current(store, self.ctx.pipeline).balance(account)
        group = account_group(account)
        if group is not None:
            query = Query(LEDGER).where("group_id", "==", group)
        elif account.startswith("loans:"):
            query = Query(LEDGER).where("loan_id", "==", account.removeprefix("loans:"))
        elif account == LENDING_CASH:
            query = Query(LEDGER).where("lending", "==", True)
        else:
            return ledger_totals.current(store, self.ctx.pipeline).balance(account)
        return account_balance(store.stream(query), account)

    def pool(self, group_id: str) -> int:
        """Cash in a group's pool (``cash:group:<g>``), in paise."""
        return self.balance(group_cash(group_id))

    def lending_pool(self) -> int:
        """The company's lending cash (``cash:lending``), in paise."""
        return self.balance(LENDING_CASH)

    def balance_sheet(self) -> BalanceSheet:
        return balance_sheet(self.balances())

    @reads(topics.LEDGER, topics.GROUPS)
    def statements(self) -> Statements:
        """The balance sheet and trial balance, with the groups' and accounts' names."""
        trial = self.trial_balance()
        names = {d.id: str(d.data["name"]) for d in self.ctx.store.stream(Query(GROUPS))}
        shown = self.account_names(summary_accounts(trial.rows))
        return Statements(balance_sheet(trial.balances()), trial, names, shown)

    def account_names(self, accounts: Iterable[str]) -> dict[str, str]:
        """Each account's name as people read it (``Pool — Group Alpha``, ``Loan to Asha
        Rao (L-0042)``); ``receivable:*:<g>`` names a group's members' dues."""
        wanted = list(dict.fromkeys(accounts))
        groups, members, loans = set(), set(), set()
        for account in wanted:
            parts = account.split(":")
            group = account_group(account)
            if group is not None:
                groups.add(group)
            if parts[0] == "receivable" and len(parts) == 3 and parts[1] != MEMBERS_ALL:
                members.add(parts[1])
            if parts[0] == "loans" and len(parts) == 2:
                loans.add(parts[1])
        store = self.ctx.store
        loan_docs = store.get_many(LOANS, loans)
        members |= {d.data["member_id"] for d in loan_docs.values()}
        people = {m: d.data.get("name", m) for m, d in store.get_many(MEMBERS, members).items()}
        names = AccountNames(
            groups={g: d.data["name"] for g, d in store.get_many(GROUPS, groups).items()},
            members=people,
            loans={
                lid: people.get(d.data["member_id"], d.data["member_id"])
                for lid, d in loan_docs.items()
            },
            loan_nos={lid: loan_code(d) for lid, d in loan_docs.items()},
        )
        return {account: account_name(account, names) for account in wanted}

    def transactions(self, **refs: Any) -> list[Txn]:
        """Transactions matching every given reference (e.g. ``group_id=``, ``kind=``),
        oldest first."""
        query = Query(LEDGER)
        for key, value in refs.items():
            if key not in (*REF_FIELDS, "kind"):
                raise ValidationError(f"Cannot filter transactions by {key!r}.")
            query = query.where(key, "==", value)
        txns = [Txn.from_data(doc.id, doc.data) for doc in self.ctx.store.stream(query)]
        txns.sort(key=lambda t: (t.date, t.id))
        return txns

    @reads(topics.LEDGER)
    def receipts_on(self, day: Date) -> list[Txn]:
        """Money received from members (:data:`RECEIPT_KINDS`) dated ``day``."""
        query = Query(LEDGER).where("kind", "in", list(RECEIPT_KINDS))
        docs = self.ctx.store.stream(query.where("date", "==", day.isoformat()))
        return sorted((Txn.from_data(d.id, d.data) for d in docs), key=lambda t: t.id)

    # -- dues and members ---------------------------------------------------------

    def timeline_feed(self, member_id: str) -> Feed:
        """The member's ledger transactions, live (the web timeline)."""
        return Feed(Query(LEDGER).where("member_id", "==", member_id))

    def dues_feed(self, member_id: str) -> Feed:
        """The member's dues and their status, live."""
        return Feed(Query(DUES).where("member_id", "==", member_id))

    def member_timeline(self, member_id: str) -> list[TimelineItem]:
        """Every instalment due and paid, share of discount, prize, loan, EMI and
        penalty of a member, with bank references and dates; newest first."""
        store = self.ctx.store
        dues = store.query(Query(DUES).where("member_id", "==", member_id))
        txns = store.query(Query(LEDGER).where("member_id", "==", member_id))
        loans = store.query(Query(LOANS).where("member_id", "==", member_id))
        return timeline(dues, txns, {d.id: loan_code(d) for d in loans})

    def open_dues(self, group_id: str | None = None) -> list[Due]:
        """Dues not yet paid in full (of one group when given), oldest first."""
        query = Query(DUES).where("status", "==", "due")
        if group_id is not None:
            query = query.where("group_id", "==", group_id)
        docs = self.ctx.store.stream(query)
        return sorted(map(Due.from_doc, docs), key=lambda d: (d.due_date, d.id))

    def dues_for(self, member_id: str) -> list[Due]:
        """Every due of a member, oldest first."""
        docs = self.ctx.store.query(Query(DUES).where("member_id", "==", member_id))
        return sorted(map(Due.from_doc, docs), key=lambda d: (d.due_date, d.group_id, d.period))

    def overdue(self, as_of: Date, reader: Reader | None = None) -> list[Due]:
        """Dues not paid in full whose due date is before ``as_of``, oldest first.
        Inside a transaction, pass its ``reader`` so the dues read are preconditions."""
        query = Query(DUES).where("status", "==", "due").where("due_date", "<", as_of.isoformat())
        docs = reader.query(query) if reader is not None else self.ctx.store.stream(query)
        return sorted(map(Due.from_doc, docs), key=lambda d: (d.due_date, d.id))

    def period_collections(self, group_id: str, period: int) -> PeriodCollections:
        store = self.ctx.store
        summary = store.get(PERIODS, period_id(group_id, period))
        if summary is None:
            raise NotFound(
                f"Group {group_id} has no dues for period {period} yet.",
                hint="Dues are raised when the period's auction is settled.",
            )
        query = Query(DUES).where("group_id", "==", group_id).where("period", "==", period)
        unpaid = sorted(
            d.data["member_id"] for d in store.stream(query) if d.data["status"] != "paid"
        )
        s = summary.data
        return PeriodCollections(
            group_id,
            period,
            s["members"],
            s["net"],
            s["expected"],
            s["collected"],
            s["paid_count"],
            s["prize"],
            s["commission"],
            s["residue"],
            s["foreman_receives"],
            s["commission_txn"],
            s["due_date"],
            unpaid,
        )


# -- ledger check (CLI) -------------------------------------------------------------


def _reconcile_dues(ctx: ServiceContext, balances: dict[str, int]) -> list[str]:
    """Per group: dues outstanding must equal the members' receivable balances."""
    owed: dict[str, int] = {}
    for doc in ctx.store.stream(Query(DUES)):
        group = doc.data["group_id"]
        owed[group] = owed.get(group, 0) + doc.data["net"] - doc.data["paid"]
    on_books: dict[str, int] = {}
    for account, signed in balances.items():
        group = account_group(account)
        if group is not None and account.startswith("receivable:"):
            on_books[group] = on_books.get(group, 0) + signed
    return [
        f"group {g}: dues outstanding {format_inr(owed.get(g, 0))} but receivables "
        f"{format_inr(on_books.get(g, 0))}"
        for g in sorted(owed.keys() | on_books.keys())
        if owed.get(g, 0) != on_books.get(g, 0)
    ]


def _reconcile_advances(ctx: ServiceContext, balances: dict[str, int]) -> tuple[list[str], int]:
    """Per group: the advance book's outstanding must equal ``advance:<g>`` and
    ``repayable:<g>`` (see :mod:`.advances`). Returns the mismatches and the total
    outstanding."""
    books = {d.id: d.data["outstanding"] for d in ctx.store.stream(Query(ADVANCE_BOOKS))}
    groups = set(books)
    for account in balances:
        head, _, group = account.partition(":")
        if head in ("advance", "repayable"):
            groups.add(group)
    problems = []
    for g in sorted(groups):
        owed, claim = -balances.get(repayable(g), 0), balances.get(advance_account(g), 0)
        if not books.get(g, 0) == owed == claim:
            problems.append(
                f"group {g}: advances outstanding {format_inr(books.get(g, 0))} but the "
                f"company's claim {format_inr(claim)} and the pool's debt {format_inr(owed)}"
            )
    return problems, sum(books.values())


def check_ledger(ctx: ServiceContext, *, detail: bool = False) -> tuple[bool, str]:
    """The trial balance as text, and whether the ledger is sound: it balances,
    every transaction balances, and dues outstanding match the receivables.
    ``detail`` lists every member's receivable instead of one row per group."""
    tb = ledger_totals.scan(ctx.store, ctx.store.last_applied_lsn()).trial_balance()
    balances = tb.balances()
    mismatches = _reconcile_dues(ctx, balances)
    advances, advanced = _reconcile_advances(ctx, balances)
    sheet = balance_sheet(balances)
    lines = [format_trial_balance(tb, detail=detail), ""]
    lines.append(
        f"Balance sheet: assets {format_inr(sheet.total('asset'))} = liabilities "
        f"{format_inr(sheet.total('liability'))} + equity {format_inr(sheet.total('equity'))}"
        f" + income {format_inr(sheet.total('income'))}"
    )
    negative = [a for a, v in balances.items() if a.startswith("cash:") and v < 0]
    lines += [f"Warning: {a} is overdrawn ({format_inr(balances[a])})." for a in sorted(negative)]
    if mismatches:
        lines.append("Dues do not match the receivables:")
        lines += [f"  {m}" for m in mismatches]
    else:
        lines.append("Dues outstanding match the members' receivables.")
    if advances:
        lines.append("Advances do not match the books:")
        lines += [f"  {m}" for m in advances]
    elif advanced:
        lines.append(f"Company advances still to repay, {format_inr(advanced)}, match the books.")
    return tb.balanced and not mismatches and not advances, "\n".join(lines)
