"""Loans through the service: EMI worked example, maker-checker, Banker's gate, EMIs, PAR."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from typing import Any

import pytest

from app.kernel.errors import Conflict, PermissionDenied, ValidationError
from app.services.actors import SYSTEM, Actor
from app.services.context import FixedClock, ServiceContext
from app.services.ledger import LedgerService
from app.services.ledger.capital import CapitalDesk
from app.services.ledger.postings import loan_account
from app.services.loans import LoanService, loan_no, preview
from app.services.loans.book import allocate
from app.services.store import Query
from tests.builders import interleave
from tests.lending import (
    ADMIN,
    LAKH,
    MEENA,
    RAVI,
    START,
    add_capital,
    add_member,
    approved_loan,
    disbursed_loan,
    loan_service,
    paid_dues,
    unnumbered,
    wal,
)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def loans(ctx: ServiceContext) -> LoanService:
    return loan_service(ctx)


# -- EMI ------------------------------------------------------------------------------


def test_domain_worked_example_through_the_service(ctx: ServiceContext, loans: LoanService) -> None:
    member = add_member(ctx, "Lakshmi Narayanan", "+919876543210")
    add_capital(ctx, 5 * LAKH)
    loan_id = disbursed_loan(loans, member, LAKH, 12)

    detail = loans.detail(loan_id)
    assert detail.row.emi == 9_455_96
    first, second = detail.schedule[0], detail.schedule[1]
    assert (first.interest, first.principal, first.balance) == (2_000_00, 7_455_96, 92_544_04)
    assert second.interest == 1_850_88
    assert first.due_date == "2026-02-10"
    assert sum(r.principal for r in detail.schedule) == LAKH
    assert detail.schedule[-1].balance == 0

    ctx.clock.advance(days=31)  # type: ignore[attr-defined]
    receipt = loans.record_emi(RAVI, loan_id, 9_455_96, "UTR0001", date(2026, 2, 10))
    assert (receipt.principal, receipt.interest) == (7_455_96, 2_000_00)
    assert receipt.outstanding_principal == 92_544_04
    balances = LedgerService(ctx).balances()
    assert balances[loan_account(loan_id)] == 92_544_04
    assert balances["income:interest"] == -2_000_00
    assert balances["cash:lending"] == 5 * LAKH - LAKH + 9_455_96


def test_preview_is_pure_and_shows_the_flat_rate_cost() -> None:
    quote = preview(LAKH, 12, 2400)
    assert quote.emi == 9_455_96
    assert quote.schedule[0].interest == 2_000_00
    assert quote.total_payable == LAKH + quote.total_interest

    flat = preview(LAKH, 12, flat_rate_bps=1200)
    assert flat.flat is not None
    assert flat.rate_bps == flat.flat.reducing_rate_bps > 2000
    assert abs(flat.emi - flat.flat.emi) < 100
    assert "flat =" in flat.flat.label


def test_flat_quote_is_kept_beside_the_reducing_rate(
    ctx: ServiceContext, loans: LoanService
) -> None:
    member = add_member(ctx, "Priya Raman", "+919876543211")
    loan_id = loans.apply(RAVI, member, LAKH, 12, "Tractor repair", flat_rate_bps=1200)
    data = loans.get(loan_id).data
    assert data["flat_quote"]["flat_rate_bps"] == 1200
    assert data["rate_bps"] == data["flat_quote"]["reducing_rate_bps"]


# -- applications ---------------------------------------------------------------------


def test_application_validation_lists_every_problem(
    ctx: ServiceContext, loans: LoanService
) -> None:
    member = add_member(ctx, "Priya Raman", "+919876543211")
    with pytest.raises(ValidationError) as caught:
        loans.apply(RAVI, member, 5_00, 0, "", rate_bps=2400, flat_rate_bps=1200)
    message = str(caught.value)
    for part in ("amount", "tenure", "purpose", "either a reducing rate or a flat rate"):
        assert part in message
    assert loans.inbox() == []


def test_member_applies_only_for_themselves(ctx: ServiceContext, loans: LoanService) -> None:
    priya = add_member(ctx, "Priya Raman", "+919876543211")
    other = add_member(ctx, "Arjun Das", "+919876543212")
    me = Actor(priya, "Priya Raman", "member")
    loan_id = loans.apply(me, priya, LAKH, 12, "School fees")
    assert loans.get(loan_id).data["status"] == "submitted"
    with pytest.raises(PermissionDenied, match="only for themselves"):
        loans.apply(me, other, LAKH, 12, "School fees")


# -- scoring ------------------------------------------------------------------------


def test_score_reads_history_kyc_and_contributions(ctx: ServiceContext, loans: LoanService) -> None:
    member = add_member(ctx, "Lakshmi Narayanan", "+919876543210", dues=0)
    paid_dues(ctx, member, [10_000_00] * 6)
    loan_id = loans.apply(RAVI, member, 50_000_00, 12, "Stock for Pongal")
    result = loans.score(SYSTEM, loan_id)
    factors = {f.name: f for f in result.factors}
    assert factors["On-time repayments"].value_text.startswith("6 of 6")
    assert factors["KYC"].points > 0
    assert factors["Loan to contribution"].value_text.startswith("0.83")
    assert result.eligibility == "eligible"
    detail = loans.detail(loan_id)
    assert detail.row.status == "scored" and detail.row.score == result.total
    assert [f["name"] for f in detail.factors] == [f.name for f in result.factors]
    assert result.base + sum(f["points"] for f in detail.factors) == result.total


def test_ineligible_application_cannot_be_recommended(
    ctx: ServiceContext, loans: LoanService
) -> None:
    member = add_member(ctx, "Arjun Das", "+919876543212", kyc="none")
    loan_id = loans.apply(RAVI, member, LAKH, 12, "Wedding")
    assert loans.score(SYSTEM, loan_id).eligibility == "ineligible"
    assert any("KYC is none" in r for r in loans.detail(loan_id).reasons)
    with pytest.raises(Conflict, match="ineligible"):
        loans.recommend(RAVI, loan_id, "Please")
    with pytest.raises(PermissionDenied):
        loans.score(Actor(member, "Arjun Das", "member"), loan_id)


def test_recommend_needs_a_score_first(ctx: ServiceContext, loans: LoanService) -> None:
    member = add_member(ctx, "Arjun Das", "+919876543212")
    loan_id = loans.apply(RAVI, member, LAKH, 12, "Wedding")
    with pytest.raises(Conflict, match="submitted"):
        loans.recommend(RAVI, loan_id, "ok")


# -- maker-checker --------------------------------------------------------------------


def recommended(ctx: ServiceContext, loans: LoanService, maker: Actor = RAVI) -> str:
    member = add_member(ctx, "Lakshmi Narayanan", "+919876543210")
    loan_id = loans.apply(RAVI, member, LAKH, 12, "Shop extension")
    loans.score(SYSTEM, loan_id)
    loans.recommend(maker, loan_id, "Regular payer")
    return loan_id


def test_maker_cannot_approve_own_recommendation(ctx: ServiceContext, loans: LoanService) -> None:
    add_capital(ctx, 5 * LAKH)
    loan_id = recommended(ctx, loans, RAVI)
    with pytest.raises(PermissionDenied, match=r"recommended loan .* cannot approve"):
        loans.approve(RAVI, loan_id, "self")
    assert loans.get(loan_id).data["status"] == "recommended"
    verdict = loans.approve(MEENA, loan_id, "Second pair of eyes")
    data = loans.get(loan_id).data
    assert verdict.granted and data["status"] == "approved"
    assert data["recommended_by"]["id"] == RAVI.id and data["approved_by"]["id"] == MEENA.id


def test_admin_may_check_but_never_their_own(ctx: ServiceContext, loans: LoanService) -> None:
    add_capital(ctx, 5 * LAKH)
    loan_id = recommended(ctx, loans, RAVI)
    assert loans.approve(ADMIN, loan_id).granted
    member = loans.get(loan_id).data["member_id"]
    second = loans.apply(RAVI, member, LAKH, 6, "Second loan")
    loans.score(SYSTEM, second)
    loans.recommend(ADMIN, second, "Admin as maker")
    with pytest.raises(PermissionDenied, match="maker"):
        loans.approve(ADMIN, second)


def test_member_cannot_approve_or_recommend(ctx: ServiceContext, loans: LoanService) -> None:
    loan_id = recommended(ctx, loans)
    member = Actor(loans.get(loan_id).data["member_id"], "Lakshmi", "member")
    with pytest.raises(PermissionDenied, match="only employee or admin"):
        loans.approve(member, loan_id)
    with pytest.raises(PermissionDenied):
        loans.recommend(member, loan_id, "me")


def test_reject_needs_a_reason_and_is_final(ctx: ServiceContext, loans: LoanService) -> None:
    loan_id = recommended(ctx, loans)
    with pytest.raises(ValidationError, match="reason"):
        loans.reject(MEENA, loan_id, "  ")
    loans.reject(MEENA, loan_id, "Income not verified")
    assert loans.get(loan_id).data["reject_reason"] == "Income not verified"
    with pytest.raises(Conflict, match="rejected"):
        loans.approve(MEENA, loan_id)


# -- the Banker's gate ------------------------------------------------------------------


def test_approval_refused_when_lending_capital_is_short(
    ctx: ServiceContext, loans: LoanService
) -> None:
    add_capital(ctx, 50_000_00)
    loan_id = recommended(ctx, loans)
    with pytest.raises(Conflict) as caught:
        loans.approve(MEENA, loan_id, "ok")
    message = str(caught.value)
    assert "the lending capital" in message and "the loan of " in message
    assert "cash:lending" not in message and loan_id not in message
    assert loans.get(loan_id).data["status"] == "recommended"

    refusal = wal(ctx)[-1]
    assert refusal.action == "bankers.refuse" and refusal.entity["id"] == loan_id
    decision = refusal.change["event"]["decision"]
    assert decision["granted"] is False and decision["pool"] == "cash:lending"
    assert decision["blocked"][0]["commitment"] == f"loans/{loan_id}"
    assert decision["blocked"][0]["reachable"] == 50_000_00

    add_capital(ctx, 50_000_00)
    assert loans.approve(MEENA, loan_id, "capital came in").granted
    granted = wal(ctx)[-1]
    assert granted.action == "loan.approve"
    assert granted.change["event"]["bankers"]["sequence"] == [f"loans/{loan_id}"]


def test_disbursement_moves_money_only_when_granted(
    ctx: ServiceContext, loans: LoanService
) -> None:
    add_capital(ctx, 1_50_000_00)
    first = add_member(ctx, "Lakshmi Narayanan", "+919876543210")
    second = add_member(ctx, "Priya Raman", "+919876543211")
    a = approved_loan(loans, first, LAKH)
    b = approved_loan(loans, second, LAKH)  # each fits alone: both sanctions are safe

    loans.disburse(RAVI, a)
    ledger = LedgerService(ctx)
    assert ledger.lending_pool() == 50_000_00
    assert ledger.balance(loan_account(a)) == LAKH
    assert loans.get(a).data["status"] == "disbursed"

    with pytest.raises(Conflict, match="from the lending capital"):
        loans.disburse(RAVI, b)
    assert ledger.lending_pool() == 50_000_00
    assert loans.get(b).data["status"] == "approved"
    record = wal(ctx)[-1]
    assert record.action == "bankers.refuse"
    assert record.change["event"]["decision"]["code"] == "exceeds_available"
    stored = ctx.store.query(Query("bankers_decisions").where("subject.id", "==", b))
    assert sorted((d.data["action"], d.data["granted"]) for d in stored) == [
        ("loan.approve", True),
        ("loan.disburse", False),
    ]


# -- EMIs ---------------------------------------------------------------------------


def test_emi_is_idempotent_by_bank_reference(ctx: ServiceContext, loans: LoanService) -> None:
    add_capital(ctx, 5 * LAKH)
    loan_id = disbursed_loan(loans, add_member(ctx, "Lakshmi", "+919876543210"), LAKH)
    ctx.clock.advance(days=31)  # type: ignore[attr-defined]
    first = loans.record_emi(RAVI, loan_id, 9_455_96, "utr-0001", "2026-02-10")
    again = loans.record_emi(RAVI, loan_id, 9_455_96, "UTR-0001", "2026-02-10")
    assert not first.duplicate and again.duplicate
    assert again.txn_id == first.txn_id
    assert len(ctx.store.query(Query("ledger_txns").where("kind", "==", "emi.received"))) == 1
    with pytest.raises(ValidationError, match="already used for an EMI of loan L-0001 "):
        loans.record_emi(RAVI, loan_id, 5_000_00, "UTR-0001", "2026-02-10")


def test_a_bank_reference_is_one_receipt_across_emis_and_instalments(
    ctx: ServiceContext, loans: LoanService
) -> None:
    add_capital(ctx, 5 * LAKH)
    member = add_member(ctx, "Lakshmi", "+919876543210")
    loan_id = disbursed_loan(loans, member, LAKH)
    loans.record_emi(RAVI, loan_id, 5_000_00, "UTR-SHARED", "2026-01-10")
    with pytest.raises(ValidationError, match=r"already used on .* for emi of loan L-0001 "):
        LedgerService(ctx).record_receipt(
            RAVI, group_id="grp-x", period=1, member_id=member, amount=5_000_00,
            bank_ref="UTR-SHARED", received_on="2026-01-10",
        )  # fmt: skip


def test_a_reference_capital_holds_is_no_emi_until_the_pay_in_is_declined(
    ctx: ServiceContext, loans: LoanService
) -> None:
    add_capital(ctx, 5 * LAKH)
    loan_id = disbursed_loan(loans, add_member(ctx, "Lakshmi", "+919876543210"), LAKH)
    ctx.clock.advance(days=31)  # type: ignore[attr-defined]
    capital = CapitalDesk(ctx, ledger=LedgerService(ctx))
    capital.propose_capital(ADMIN, 2 * LAKH, "cash:company", "UTR-CAPITAL")
    head = len(wal(ctx))
    with pytest.raises(ValidationError) as refused:
        loans.record_emi(RAVI, loan_id, 9_455_96, "utr-capital", "2026-02-10")
    assert refused.value.message.startswith(
        "Bank reference UTR-CAPITAL was already used for ₹2,00,000.00 of capital recorded by "
        "Asha Admin on "
    )
    assert refused.value.message.endswith(
        "(waiting for a second person), not for a loan repayment."
    )
    assert len(wal(ctx)) == head  # nothing logged
    capital.decline_capital(RAVI, "UTR-CAPITAL", "Not on the bank statement")
    assert not loans.record_emi(RAVI, loan_id, 9_455_96, "UTR-CAPITAL", "2026-02-10").duplicate


def test_repayments_split_interest_first_and_close_the_loan(
    ctx: ServiceContext, loans: LoanService
) -> None:
    add_capital(ctx, 5 * LAKH)
    loan_id = disbursed_loan(loans, add_member(ctx, "Lakshmi", "+919876543210"), 12_000_00, 3)
    ctx.clock.advance(days=100)  # type: ignore[attr-defined]
    part = loans.record_emi(RAVI, loan_id, 1_000_00, "UTR-P1", "2026-02-10")
    assert part.interest == 240_00 and part.principal == 760_00
    owed = sum(r.emi for r in loans.detail(loan_id).schedule) - 1_000_00
    with pytest.raises(ValidationError, match="more than"):
        loans.record_emi(RAVI, loan_id, owed + 1, "UTR-P2", "2026-04-10")
    last = loans.record_emi(RAVI, loan_id, owed, "UTR-P3", "2026-04-10")
    assert last.status == "closed" and last.outstanding_principal == 0
    assert LedgerService(ctx).balance(loan_account(loan_id)) == 0
    assert loans.portfolio().loans == 0


def test_allocate_never_pays_more_than_a_row_owes() -> None:
    rows = [
        {"number": n, "interest": 10, "principal": 90, "paid_interest": 0, "paid_principal": 0,
         "paid_on": None, "emi": 100, "due_date": None, "balance": 0}
        for n in (1, 2)
    ]  # fmt: skip
    updated, principal, interest = allocate(rows, 150, "2026-02-01")
    assert (principal, interest) == (130, 20)
    assert updated[0]["paid_on"] == "2026-02-01" and updated[1]["paid_on"] is None
    assert rows[0]["paid_interest"] == 0


# -- days past due, PAR -----------------------------------------------------------------


def test_par30_par90_from_a_hand_built_portfolio(ctx: ServiceContext, loans: LoanService) -> None:
    add_capital(ctx, 10 * LAKH)
    a = disbursed_loan(loans, add_member(ctx, "A Kumar", "+919800000001"), 2 * LAKH, 12)
    b = disbursed_loan(loans, add_member(ctx, "B Kumar", "+919800000002"), 3 * LAKH, 12)
    c = disbursed_loan(loans, add_member(ctx, "C Kumar", "+919800000003"), LAKH, 12)
    ctx.clock.set(datetime(2026, 5, 20, 6, 0, tzinfo=UTC))  # type: ignore[attr-defined]
    pay_instalments(loans, a, 4)  # all four due so far: current
    pay_instalments(loans, b, 2)  # 10 Apr unpaid: 40 days late (SMA-1)
    # c pays nothing: 10 Feb unpaid, 99 days late (NPA)

    rows = {r.loan_id: r for r in loans.inbox("disbursed")}
    assert (rows[a].dpd, rows[b].dpd, rows[c].dpd) == (0, 40, 99)
    assert (rows[b].bucket, rows[c].bucket) == ("SMA-1", "NPA")

    out = {x: loans.get(x).data["outstanding_principal"] for x in (a, b, c)}
    book = loans.portfolio()
    assert book.outstanding == sum(out.values())
    assert book.par30.at_risk == out[b] + out[c] and book.par30.loans_at_risk == 2
    assert book.par90.at_risk == out[c]
    assert book.par30.outstanding == book.par90.outstanding == sum(out.values())
    provision = {p.loan_id: p for p in book.provisions.items}
    assert provision[c].asset_class == "substandard" and provision[c].rate_bps == 2500
    assert provision[a].asset_class == provision[b].asset_class == "standard"

    assert loans.refresh_dpd(SYSTEM) == 1  # b was brought up to date by its last EMI
    assert loans.get(c).data["bucket"] == "NPA"
    assert loans.refresh_dpd(SYSTEM) == 0


def pay_instalments(loans: LoanService, loan_id: str, count: int) -> None:
    for row in loans.detail(loan_id).schedule[:count]:
        ref = f"UTR-{loan_id[-6:]}-{row.number}".upper()
        loans.record_emi(RAVI, loan_id, row.emi, ref, row.due_date or "")


# -- reads -------------------------------------------------------------------------


def test_inbox_rows_show_masked_phone_and_badge(ctx: ServiceContext, loans: LoanService) -> None:
    member = add_member(ctx, "Lakshmi Narayanan", "+919876543210")
    loan_id = loans.apply(RAVI, member, LAKH, 12, "Shop")
    loans.score(SYSTEM, loan_id)
    (row,) = loans.inbox()
    assert row.member_name == "Lakshmi Narayanan"
    assert "9876543210" not in row.phone_masked and row.phone_masked.endswith("3210")
    assert (row.amount, row.tenure_months, row.emi) == (LAKH, 12, 9_455_96)
    assert row.eligibility in ("eligible", "needs_review", "ineligible")
    assert loans.inbox("disbursed") == []
    with pytest.raises(ValidationError, match="Unknown loan status"):
        loans.inbox("lost")
    detail = loans.detail(loan_id)
    assert len(detail.schedule) == 12 and detail.schedule[0].due_date is None
    assert [step["step"] for step in detail.history] == ["applied", "scored"]


def test_applications_are_numbered_in_order(ctx: ServiceContext, loans: LoanService) -> None:
    member = add_member(ctx, "Lakshmi Narayanan", "+919876543210")
    made = [loans.apply(RAVI, member, LAKH, 12, f"Loan {i}") for i in range(3)]
    assert [loans.get(loan_id).data["number"] for loan_id in made] == [1, 2, 3]
    assert [row.loan_no for row in loans.inbox()] == ["L-0001", "L-0002", "L-0003"]
    assert loans.detail(made[1]).row.loan_no == "L-0002"
    assert loan_no(42, "loan-1837acd6fc") == "L-0042"


def test_concurrent_applications_get_different_numbers(
    ctx: ServiceContext, loans: LoanService
) -> None:
    member = add_member(ctx, "Lakshmi Narayanan", "+919876543210")
    made: list[str] = []

    def apply(i: int) -> None:
        made.append(loans.apply(RAVI, member, LAKH, 12, f"Loan {i}"))

    threads = [threading.Thread(target=apply, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(loans.get(loan_id).data["number"] for loan_id in made) == list(range(1, 9))


def test_a_loan_stored_before_numbering_shows_its_id(
    ctx: ServiceContext, loans: LoanService
) -> None:
    member = add_member(ctx, "Lakshmi Narayanan", "+919876543210")
    loan_id = loans.apply(RAVI, member, LAKH, 12, "Shop")
    unnumbered(ctx, loan_id)
    (row,) = loans.inbox()
    assert (row.number, row.loan_no) == (None, loan_id)
    assert loan_no(None, loan_id) == loan_id
    assert loans.get(loans.apply(RAVI, member, LAKH, 12, "Next")).data["number"] == 2


def test_receipts_accounts_and_timeline_name_the_loan_by_number(
    ctx: ServiceContext, loans: LoanService
) -> None:
    member = add_member(ctx, "Lakshmi Narayanan", "+919876543210")
    add_capital(ctx, 5 * LAKH)
    loan_id = disbursed_loan(loans, member, LAKH, 12)
    ctx.clock.set(datetime(2026, 3, 20, 6, 0, tzinfo=UTC))  # type: ignore[attr-defined]
    pay_instalments(loans, loan_id, 2)
    ledger = LedgerService(ctx)

    def shown() -> tuple[list[str | None], str, list[str]]:
        receipts = [e.number for e in ledger.receipt_register()]
        account = ledger.account_names([loan_account(loan_id)])[loan_account(loan_id)]
        lines = [i.description for i in ledger.member_timeline(member) if i.loan_id]
        return receipts, account, lines

    receipts, account, lines = shown()
    assert receipts == ["L-0001/E001", "L-0001/E002"]
    assert account == "Loan to Lakshmi Narayanan (L-0001)"
    assert lines and all("loan L-0001" in line and loan_id not in line for line in lines)
    unnumbered(ctx, loan_id)
    receipts, account, lines = shown()
    assert receipts == [f"{loan_id}/E001", f"{loan_id}/E002"]
    assert account == f"Loan to Lakshmi Narayanan ({loan_id})"
    assert all(f"loan {loan_id}" in line for line in lines)


def _json_has(value: Any, needle: str) -> bool:
    return needle in repr(value)


def test_no_phone_in_clear_in_loan_records(ctx: ServiceContext, loans: LoanService) -> None:
    member = add_member(ctx, "Lakshmi Narayanan", "+919876543210")
    loans.apply(RAVI, member, LAKH, 12, "Shop")
    loan_records = [r for r in wal(ctx) if r.action.startswith("loan.")]
    assert loan_records and not any(_json_has(r.change, "9876543210") for r in loan_records)


# -- concurrency -------------------------------------------------------------------------


def late_portfolio(ctx: ServiceContext, loans: LoanService) -> tuple[str, str]:
    """Loan ``a`` current (four EMIs paid), loan ``c`` never paid: 99 days late on 20 May."""
    add_capital(ctx, 10 * LAKH)
    a = disbursed_loan(loans, add_member(ctx, "A Kumar", "+919800000001"), 2 * LAKH, 12)
    c = disbursed_loan(loans, add_member(ctx, "C Kumar", "+919800000003"), LAKH, 12)
    ctx.clock.set(datetime(2026, 5, 20, 6, 0, tzinfo=UTC))  # type: ignore[attr-defined]
    pay_instalments(loans, a, 4)
    return a, c


def test_an_emi_on_a_loan_left_alone_does_not_make_refresh_dpd_retry(
    ctx: ServiceContext, loans: LoanService, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, c = late_portfolio(ctx, loans)
    fifth = loans.detail(a).schedule[4]
    runs = interleave(
        monkeypatch, ctx, lambda: loans.record_emi(RAVI, a, fifth.emi, "UTR-A-5", "2026-05-20")
    )
    assert loans.refresh_dpd(SYSTEM) == 1
    assert len(runs) == 1
    assert loans.get(c).data["dpd"] == 99
    assert loans.get(a).data["last_paid_on"] == "2026-05-20"


def test_an_emi_on_a_loan_being_refreshed_is_not_overwritten(
    ctx: ServiceContext, loans: LoanService, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, c = late_portfolio(ctx, loans)
    first = loans.detail(c).schedule[0]
    runs = interleave(
        monkeypatch, ctx, lambda: loans.record_emi(RAVI, c, first.emi, "UTR-C-1", "2026-05-20")
    )
    assert loans.refresh_dpd(SYSTEM) == 0
    assert len(runs) == 2
    late_since = loans.detail(c).schedule[1].due_date or ""
    assert loans.get(c).data["dpd"] == (date(2026, 5, 20) - date.fromisoformat(late_since)).days
