"""Capital paid in by two people: an admin records the bank credit, a second person posts
it (or either declines it); on a real store and WAL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from app.kernel.errors import Conflict, FieldErrors, NotFound, PermissionDenied, ValidationError
from app.services.collections import CAPITAL_PAYINS, LEDGER
from app.services.context import FixedClock, ServiceContext
from app.services.ledger import check_ledger
from app.services.ledger.capital import ADDED, CREDIT_AGE, DECLINED, MAX_CAPITAL, PROPOSED
from app.services.ledger.postings import CAPITAL, COMPANY_CASH, LENDING_CASH
from app.services.pipeline import ChangeSet
from app.services.registry import Services
from app.services.store import Write
from tests.builders import ADMIN, ADMIN2, EMPLOYEE, services_of

UTR = "SBIN126054012345"
LAKH = 1_00_000_00


@pytest.fixture
def services(ctx: ServiceContext) -> Iterator[Services]:
    found = services_of(ctx)
    yield found
    found.close()


def sentences(services: Services) -> list[str]:
    return [a.text for a in services.audit.activity(None, 20).items]


def test_the_maker_records_a_second_person_posts_and_the_books_balance(
    services: Services,
) -> None:
    capital, ledger = services.capital, services.ledger
    proposed = capital.propose_capital(ADMIN, 5 * LAKH, LENDING_CASH, " sbin126054012345 ", "Board")
    assert (proposed.id, proposed.status, proposed.proposed_by) == (UTR, PROPOSED, "Asha Admin")
    assert ledger.lending_pool() == 0 and ledger.transactions(kind="capital.added") == []
    board = capital.board()
    assert [p.id for p in board.waiting] == [UTR] and board.decided == []
    assert board.waiting[0].proposed_when.endswith("IST")

    seen = "Seen on the bank statement"
    added = capital.approve_capital(EMPLOYEE, UTR, seen)
    assert (added.status, added.decided_by, added.note) == (ADDED, "Ravi Employee", seen)
    [txn] = ledger.transactions(kind="capital.added")
    assert added.txn_id == txn.id and txn.refs["bank_ref"] == UTR and txn.memo == "Board"
    assert ledger.lending_pool() == 5 * LAKH and ledger.balance(CAPITAL) == -5 * LAKH
    tb = ledger.trial_balance()
    assert tb.balanced and LENDING_CASH in tb.balances()
    ok, report = check_ledger(services.ledger.ctx)
    assert ok, report
    board = capital.board()
    assert board.waiting == [] and [p.id for p in board.decided] == [UTR]
    assert board.lending_cash == 5 * LAKH and board.company_cash == 0
    said = sentences(services)
    assert (
        "Asha Admin (admin) recorded ₹5,00,000.00 of capital paid into lending cash "
        f"(bank reference {UTR}) for a second person to approve" in said
    )
    assert "Ravi Employee (employee) added ₹5,00,000.00 of the company's capital" in said


def test_the_maker_can_never_approve_their_own_pay_in(services: Services) -> None:
    capital = services.capital
    capital.propose_capital(ADMIN, LAKH, COMPANY_CASH, UTR)
    with pytest.raises(PermissionDenied, match="Asha Admin recorded this capital"):
        capital.approve_capital(ADMIN, UTR)
    assert services.ledger.balance(COMPANY_CASH) == 0
    added = capital.approve_capital(ADMIN2, UTR)
    assert added.status == ADDED and services.ledger.balance(COMPANY_CASH) == LAKH
    with pytest.raises(Conflict, match="already added"):
        capital.approve_capital(EMPLOYEE, UTR)
    assert services.ledger.balance(COMPANY_CASH) == LAKH


def test_only_an_admin_records_capital(services: Services) -> None:
    with pytest.raises(PermissionDenied, match="may not record capital paid in"):
        services.capital.propose_capital(EMPLOYEE, LAKH, LENDING_CASH, UTR)


def test_a_declined_pay_in_stays_unposted_and_frees_its_reference(services: Services) -> None:
    capital, ledger = services.capital, services.ledger
    capital.propose_capital(ADMIN, 50 * LAKH, LENDING_CASH, UTR, "typo")
    with pytest.raises(ValidationError, match="Reason: say why"):
        capital.decline_capital(EMPLOYEE, UTR, "  ")
    declined = capital.decline_capital(EMPLOYEE, UTR, "The bank shows ₹5,00,000")
    assert (declined.status, declined.decided_by) == (DECLINED, "Ravi Employee")
    assert ledger.transactions(kind="capital.added") == [] and ledger.lending_pool() == 0
    with pytest.raises(Conflict, match="already declined"):
        capital.approve_capital(ADMIN2, UTR)
    assert (
        f"Ravi Employee (employee) declined the capital of ₹50,00,000.00 recorded with bank "
        f"reference {UTR}" in sentences(services)
    )
    again = capital.propose_capital(ADMIN, 5 * LAKH, LENDING_CASH, UTR, "corrected")
    assert again.status == PROPOSED and again.amount == 5 * LAKH
    stored = services.ledger.ctx.store.get("capital_payins", UTR)
    assert stored is not None and stored.data["earlier"][0]["reason"] == "The bank shows ₹5,00,000"


def test_the_maker_may_withdraw_their_own_pay_in(services: Services) -> None:
    services.capital.propose_capital(ADMIN, LAKH, LENDING_CASH, UTR)
    assert services.capital.decline_capital(ADMIN, UTR, "Entered twice").status == DECLINED


def test_a_reference_is_paid_in_once(services: Services) -> None:
    capital = services.capital
    capital.propose_capital(ADMIN, LAKH, LENDING_CASH, UTR)
    with pytest.raises(ValidationError, match=f"Bank reference: {UTR} was already used.*waiting"):
        capital.propose_capital(ADMIN2, LAKH, COMPANY_CASH, UTR.lower())
    capital.approve_capital(EMPLOYEE, UTR)
    with pytest.raises(ValidationError, match=f"{UTR} was already used.*added by Ravi Employee"):
        capital.propose_capital(ADMIN2, LAKH, LENDING_CASH, UTR)
    assert services.ledger.lending_pool() == LAKH


@pytest.mark.parametrize(
    ("amount", "into", "ref", "memo", "field", "message"),
    [
        (0, LENDING_CASH, UTR, "", "amount", "Amount: The amount must be a positive"),
        (-5, LENDING_CASH, UTR, "", "amount", "Amount: The amount must be a positive"),
        (MAX_CAPITAL + 1, LENDING_CASH, UTR, "", "amount", "Amount: .* is more than one pay-in"),
        (LAKH, "cash:group:g1", UTR, "", "into", "Into: capital is paid into lending cash"),
        (LAKH, LENDING_CASH, "", "", "bank_ref", "Bank reference: enter the UTR"),
        (LAKH, LENDING_CASH, "not a ref!", "", "bank_ref", "Bank reference: 'not a ref!' is not"),
        (LAKH, LENDING_CASH, UTR, "x" * 501, "memo", "Memo"),
    ],
)
def test_each_wrong_field_is_named(
    services: Services, amount: int, into: str, ref: str, memo: str, field: str, message: str
) -> None:
    with pytest.raises(FieldErrors, match=message) as refused:
        services.capital.propose_capital(ADMIN, amount, into, ref, memo)
    assert list(refused.value.field_errors) == [field]
    assert services.capital.board().waiting == []


def test_a_members_receipt_reference_is_not_capital(services: Services) -> None:
    receipt = {"member_id": "mem-1", "amount": 7_500_00, "received_on": "2026-11-20"}
    write = Write("set", "receipts", UTR, receipt, expect_version=0)
    services.ledger.ctx.pipeline.commit(ADMIN, ChangeSet("receipt.seed", "receipt", UTR, [write]))
    with pytest.raises(ValidationError, match=f"Bank reference: {UTR} is a member's receipt"):
        services.capital.propose_capital(ADMIN, LAKH, LENDING_CASH, UTR)


def test_an_unknown_reference_is_not_found(services: Services) -> None:
    with pytest.raises(NotFound, match="No capital was recorded with the bank reference"):
        services.capital.approve_capital(EMPLOYEE, "UTR-NONE")


def test_the_posting_is_dated_the_day_the_bank_credited_it(
    services: Services, clock: FixedClock
) -> None:
    """A credit of 28 Nov approved on 2 Dec is in November's books."""
    capital, ledger, store = services.capital, services.ledger, services.ledger.ctx.store
    clock.set(datetime(2026, 11, 28, 12, 0, tzinfo=UTC))
    today = capital.propose_capital(ADMIN, LAKH, LENDING_CASH, UTR, "Board")
    assert (today.credited_on, today.credited_day) == ("2026-11-28", "28 Nov 2026")
    late = capital.propose_capital(ADMIN, 2 * LAKH, COMPANY_CASH, "ICIC2", credited_on="2026-11-20")
    assert late.credited_on == "2026-11-20"
    assert store.get(CAPITAL_PAYINS, "ICIC2").data["credited_on"] == "2026-11-20"
    assert "ICIC2  ₹2,00,000.00 into company cash, credited on 20 Nov 2026, recorded by" in (
        "\n".join(capital.board().lines())
    )

    clock.set(datetime(2026, 12, 2, 6, 0, tzinfo=UTC))
    first, second = (capital.approve_capital(EMPLOYEE, ref) for ref in (UTR, "ICIC2"))
    for payin, day in ((first, "2026-11-28"), (second, "2026-11-20")):
        doc = store.get(LEDGER, payin.txn_id)
        assert doc is not None and doc.data["date"] == day
    posted = ledger.transactions(kind="capital.added")
    assert [(t.date, t.refs["bank_ref"]) for t in posted] == [
        ("2026-11-20", "ICIC2"),
        ("2026-11-28", UTR),
    ]
    assert [p.credited_day for p in capital.board().decided] == ["20 Nov 2026", "28 Nov 2026"]
    ok, report = check_ledger(ledger.ctx)
    assert ok, report


def test_today_is_the_offices_day(services: Services, clock: FixedClock) -> None:
    """20:00 UTC on 30 Nov is 1 Dec in India: the default, and not a day in the future."""
    clock.set(datetime(2026, 11, 30, 20, 0, tzinfo=UTC))
    assert services.capital.propose_capital(ADMIN, LAKH, LENDING_CASH, UTR).credited_on == (
        "2026-12-01"
    )
    other = services.capital.propose_capital(ADMIN, LAKH, LENDING_CASH, "ICIC2", "", "2026-12-01")
    assert other.credited_on == "2026-12-01"


@pytest.mark.parametrize(
    ("credited_on", "message"),
    [
        ("2026-11-25", r"Credited on: 25 Nov 2026 is after today \(24 Nov 2026\)"),
        ("2027-11-24", r"Credited on: 24 Nov 2027 is after today"),
        ("2025-11-22", rf"Credited on: 22 Nov 2025 is more than {CREDIT_AGE} days back"),
        ("28/11/2026", r"Credited on: '28/11/2026' is not a date \(YYYY-MM-DD\)"),
        ("", r"Credited on: '' is not a date"),
    ],
)
def test_a_day_credited_in_the_future_or_long_ago_is_refused(
    services: Services, credited_on: str, message: str
) -> None:
    with pytest.raises(FieldErrors, match=message) as refused:
        services.capital.propose_capital(ADMIN, LAKH, LENDING_CASH, UTR, "", credited_on)
    assert list(refused.value.field_errors) == ["credited_on"]
    assert services.capital.board().waiting == []


def test_the_day_credited_is_named_with_the_other_wrong_fields(services: Services) -> None:
    with pytest.raises(FieldErrors) as refused:
        services.capital.propose_capital(ADMIN, 0, LENDING_CASH, "", "", "2026-12-25")
    assert list(refused.value.field_errors) == ["amount", "bank_ref", "credited_on"]


def test_a_year_and_a_day_back_is_still_taken(services: Services) -> None:
    earliest = services.capital.propose_capital(ADMIN, LAKH, LENDING_CASH, UTR, "", "2025-11-23")
    assert earliest.credited_on == "2025-11-23"  # 24 Nov 2026 less 366 days


def test_a_pay_in_recorded_before_the_day_credited_was_asked_posts_on_approval(
    services: Services, clock: FixedClock
) -> None:
    old = {
        "amount": LAKH,
        "into": LENDING_CASH,
        "bank_ref": UTR,
        "memo": "From before",
        "status": PROPOSED,
        "proposed_by": ADMIN.to_json(),
        "proposed_at": "2026-11-20T05:00:00+00:00",
    }
    write = Write("set", CAPITAL_PAYINS, UTR, old, expect_version=0)
    services.ledger.ctx.pipeline.commit(ADMIN, ChangeSet("capital.seed", "capital", UTR, [write]))
    waiting = services.capital.pay_in(UTR)
    assert waiting.credited_on == "" and "credited on" not in waiting.line()
    clock.set(datetime(2026, 12, 2, 6, 0, tzinfo=UTC))
    added = services.capital.approve_capital(EMPLOYEE, UTR)
    doc = services.ledger.ctx.store.get(LEDGER, added.txn_id)
    assert added.status == ADDED and doc is not None and doc.data["date"] == "2026-12-02"
    assert services.ledger.lending_pool() == LAKH
