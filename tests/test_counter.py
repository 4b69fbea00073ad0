"""The counter on a real store and WAL: receipts by mode, cheques that clear or bounce,
and the second person who checks large cash and bounces."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app.kernel.errors import Conflict, PermissionDenied, ValidationError
from app.services.context import FixedClock, ServiceContext
from app.services.counter import CounterService, Slip
from app.services.ledger import LedgerService
from app.services.ledger.postings import COMPANY_CASH, group_cash, receivable
from app.services.ledger.receipts import Payment, receipts_change
from app.services.pipeline import ChangeSet, Reader
from app.services.registry import Services
from tests.builders import services_of
from tests.counter_books import ADMIN, FARAH, IFSC, LAKH, RAVI, Books, open_books, sound
from tests.test_ledger import NOW

NET = 1_50_000_00  # each member's net instalment of period 1


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def services(ctx: ServiceContext) -> Iterator[Services]:
    built = services_of(ctx)
    yield built
    built.close()


@pytest.fixture
def books(ctx: ServiceContext) -> Books:
    return open_books(ctx)


def slip(books: Books, n: int, amount: int, mode: str, ref: str, ifsc: str = "") -> Slip:
    return Slip(books.members[n], books.group_id, 1, amount, mode, ref, "2026-11-24", ifsc)


def wal_size(ctx: ServiceContext) -> int:
    return ctx.pipeline.head()[0]


def test_a_upi_receipt_is_numbered_posted_and_idempotent(
    ctx: ServiceContext, services: Services, books: Books
) -> None:
    counter = services.counter
    taken = counter.take(RAVI, slip(books, 0, NET, "upi", "4123 5678 9012"))
    assert taken.receipt is not None and not taken.duplicate
    receipt = taken.receipt
    assert (receipt.bank_ref, receipt.mode_label, receipt.amount) == ("412356789012", "UPI", NET)
    assert (
        receipt.number
        == books.receipt_no(1, 1)
        == f"TN-CHIT-TEST-{books.registration_no[-5:]}/P1/001"
    )
    head = wal_size(ctx)
    again = counter.take(RAVI, slip(books, 0, NET, "upi", "412356789012"))
    assert again.duplicate and again.receipt == receipt
    assert wal_size(ctx) == head  # nothing written twice
    desk = counter.desk(books.members[0])
    assert desk.dues == [] and desk.receipts[0].entry == receipt
    assert sound(ctx)


@pytest.mark.parametrize(
    ("mode", "ref", "ifsc", "field"),
    [
        ("upi", "12345", "", "UPI reference"),
        ("neft", "HELLO", "", "UTR"),
        ("cheque", "12AB56", IFSC, "Cheque number"),
        ("cheque", "004512", "SBIN123", "Drawee IFSC"),
        ("cash", "a", "", "Slip number"),
        ("card", "123456789012", "", "Mode"),
    ],
)
def test_a_bad_reference_is_refused_naming_its_field(
    services: Services, books: Books, mode: str, ref: str, ifsc: str, field: str
) -> None:
    with pytest.raises(ValidationError, match=f"^{field}:"):
        services.counter.take(RAVI, slip(books, 0, 10_000_00, mode, ref, ifsc))


def test_a_reference_capital_holds_is_refused_until_the_pay_in_is_declined(
    ctx: ServiceContext, services: Services, books: Books
) -> None:
    capital, counter = services.capital, services.counter
    waiting, added = "SBIN126054011111", "SBIN126054022222"
    capital.propose_capital(ADMIN, 5 * LAKH, COMPANY_CASH, waiting, "typo")
    capital.propose_capital(ADMIN, LAKH, COMPANY_CASH, added)
    capital.approve_capital(RAVI, added)
    head = wal_size(ctx)
    with pytest.raises(ValidationError) as refused:
        counter.take(RAVI, slip(books, 0, NET, "neft", waiting.lower()))
    assert refused.value.message == (
        f"Bank reference {waiting} was already used for ₹5,00,000.00 of capital recorded by "
        "Lakshmi Iyer on 24 Nov 2026, 11:30 IST (waiting for a second person), not for an "
        "instalment."
    )
    assert "decline that first" in refused.value.hint
    with pytest.raises(ValidationError, match=f"{added} was already used .*added by Ravi Kumar"):
        counter.take(RAVI, slip(books, 1, NET, "neft", added))
    assert wal_size(ctx) == head and counter.desk(books.members[0]).receipts == []

    capital.decline_capital(RAVI, waiting, "The bank shows it from Asha Rao")
    taken = counter.take(RAVI, slip(books, 0, NET, "neft", waiting))
    assert taken.receipt is not None and taken.receipt.bank_ref == waiting
    with pytest.raises(ValidationError, match=f"Bank reference: {waiting} is a member's receipt"):
        capital.propose_capital(ADMIN, 5 * LAKH, COMPANY_CASH, waiting)
    assert sound(ctx)


def test_a_pay_in_proposed_while_a_receipt_is_written_is_seen_on_its_retry(
    ctx: ServiceContext, services: Services, books: Books
) -> None:
    utr = "SBIN126054033333"
    payment = Payment(books.group_id, 1, books.members[0], NET, utr, "2026-11-24", "neft")
    runs: list[Reader] = []

    def work(reader: Reader) -> tuple[ChangeSet, Any]:
        change = receipts_change(reader, ctx.ids, RAVI, NOW.isoformat(), [payment])
        if not runs:  # the pay-in commits between the receipt's reads and its commit
            services.capital.propose_capital(ADMIN, LAKH, COMPANY_CASH, utr)
        runs.append(reader)
        return change

    with pytest.raises(ValidationError, match=f"{utr} was already used .*of capital"):
        ctx.pipeline.transact(RAVI, work)
    assert len(runs) == 1 and services.counter.desk(books.members[0]).receipts == []


def test_a_cheque_waits_for_clearance_and_then_stands(
    ctx: ServiceContext, services: Services, books: Books
) -> None:
    counter = services.counter
    taken = counter.take(RAVI, slip(books, 1, NET, "cheque", "004512", IFSC.lower()))
    assert taken.receipt is not None
    ref = taken.receipt.bank_ref
    assert ref == f"CHQ-{IFSC}-004512" and taken.receipt.cheque_state == "pending"
    queue = counter.queue()
    assert [c.entry.bank_ref for c in queue.cheques] == [ref]
    assert queue.cheques[0].member_name == "Vikram Singh"
    assert counter.clear_cheque(RAVI, ref).cheque_state == "cleared"
    assert counter.queue().cheques == []
    with pytest.raises(Conflict, match="cleared"):
        counter.report_bounce(RAVI, ref, "Funds insufficient")
    assert sound(ctx)


def test_a_bounced_cheque_is_reversed_once_a_second_person_confirms(
    ctx: ServiceContext, services: Services, books: Books
) -> None:
    counter, ledger = services.counter, services.ledger
    member, gid = books.members[2], books.group_id
    ref = counter.take(RAVI, slip(books, 2, NET, "cheque", "000777", IFSC)).receipt.bank_ref  # type: ignore[union-attr]
    assert ledger.period_collections(gid, 1).commission_moved
    pool_after_cheque = ledger.pool(gid)
    asked = counter.report_bounce(RAVI, ref, "Funds insufficient (return memo 01)")
    assert asked.status == "pending" and ledger.dues_for(member)[0].status == "paid"
    with pytest.raises(PermissionDenied, match="maker-checker"):
        counter.approve(RAVI, asked.id)
    assert sound(ctx)
    done = counter.approve(FARAH, asked.id, "Bank memo seen")
    assert done.status == "approved" and done.decided_by == FARAH.to_json()
    due = ledger.dues_for(member)[0]
    assert (due.status, due.paid, due.bank_refs) == ("due", 0, [])
    entry = ledger.receipt_entry(ref)
    assert entry.cheque_state == "bounced" and entry.number == books.receipt_no(1, 1)
    collections = ledger.period_collections(gid, 1)
    assert collections.collected == 0 and not collections.commission_moved
    fee = collections.foreman_receives
    assert ledger.pool(gid) == pool_after_cheque - NET + fee == 0
    assert ledger.balance(receivable(member, gid)) == NET
    assert ledger.balance(COMPANY_CASH) == 0
    assert sound(ctx)
    with pytest.raises(Conflict, match="already approved"):
        counter.approve(FARAH, asked.id)


def test_a_bounce_keeps_the_commission_while_collections_still_cover_it(
    ctx: ServiceContext, services: Services, books: Books
) -> None:
    counter, ledger = services.counter, services.ledger
    counter.take(RAVI, slip(books, 0, NET, "neft", "SBIN126054012345"))
    ref = counter.take(RAVI, slip(books, 1, NET, "cheque", "000778", IFSC)).receipt.bank_ref  # type: ignore[union-attr]
    counter.approve(FARAH, counter.report_bounce(RAVI, ref, "Signature differs").id)
    collections = ledger.period_collections(books.group_id, 1)
    assert collections.collected == NET and collections.commission_moved
    assert ledger.pool(books.group_id) == NET - collections.foreman_receives
    assert sound(ctx)


def test_a_rejected_bounce_leaves_the_cheque_pending(
    ctx: ServiceContext, services: Services, books: Books
) -> None:
    counter = services.counter
    ref = counter.take(RAVI, slip(books, 3, NET, "cheque", "000779", IFSC)).receipt.bank_ref  # type: ignore[union-attr]
    asked = counter.report_bounce(RAVI, ref, "Stale")
    assert counter.queue().cheques[0].cheque_text == "bounce awaiting a second person"
    assert counter.reject(FARAH, asked.id, "The bank paid it after all").status == "rejected"
    assert counter.queue().cheques[0].entry.cheque_state == "pending"
    assert counter.clear_cheque(RAVI, ref).cheque_state == "cleared"
    assert sound(ctx)


def test_cash_above_the_limit_waits_for_a_second_person(
    ctx: ServiceContext, services: Services, books: Books
) -> None:
    counter, ledger = services.counter, services.ledger
    cash = slip(books, 0, NET, "cash", "CASH-20261124-0001")
    taken = counter.take(RAVI, cash)
    assert taken.receipt is None and taken.approval is not None
    approval = taken.approval
    assert approval.kind == "cash_receipt" and approval.member_name == "Asha Rao"
    assert ledger.find_receipt("CASH-20261124-0001") is None
    assert ledger.pool(books.group_id) == 0  # nothing posted yet
    assert counter.take(RAVI, cash).approval == approval  # the same slip again: no new request
    assert [a.id for a in counter.queue().approvals] == [approval.id]
    with pytest.raises(PermissionDenied):
        counter.approve(RAVI, approval.id)
    counter.approve(FARAH, approval.id, "Counted: 300 notes of ₹500")
    receipt = ledger.find_receipt("CASH-20261124-0001")
    assert receipt is not None and receipt.recorded_by == RAVI.id and receipt.mode == "cash"
    assert ctx.store.get("receipts", receipt.bank_ref).data["checked_by"]["id"] == FARAH.id  # type: ignore[union-attr]
    again = counter.take(RAVI, cash)
    assert again.duplicate and again.receipt is not None
    assert counter.queue().approvals == []
    assert sound(ctx)


def test_small_cash_is_posted_at_once(
    ctx: ServiceContext, services: Services, books: Books
) -> None:
    taken = services.counter.take(RAVI, slip(books, 1, 50_000_00, "cash", "CASH-1"))
    assert taken.receipt is not None and taken.receipt.mode_label == "Cash"
    assert services.ledger.dues_for(books.members[1])[0].outstanding == NET - 50_000_00
    assert sound(ctx)


def test_two_lakh_in_cash_from_one_member_in_a_day_is_refused(
    ctx: ServiceContext, services: Services
) -> None:
    books = open_books(ctx, periods=(1, 2))
    counter = services.counter
    counter.take(RAVI, slip(books, 0, NET, "cash", "CASH-A"))  # waits, and counts
    member, gid = books.members[0], books.group_id
    second = Slip(member, gid, 2, 50_000_00, "cash", "CASH-B", "2026-11-24")
    with pytest.raises(ValidationError, match=r"s\.269ST"):
        counter.take(RAVI, second)
    by_upi = Slip(member, gid, 2, 50_000_00, "upi", "998877665544", "2026-11-24")
    assert counter.take(RAVI, by_upi).receipt is not None  # other modes are not limited
    assert sound(ctx)


def test_the_maker_cannot_check_even_as_admin(services: Services, books: Books) -> None:
    from tests.counter_books import ADMIN

    taken = services.counter.take(ADMIN, slip(books, 0, NET, "cash", "CASH-ADM"))
    assert taken.approval is not None
    with pytest.raises(PermissionDenied):
        services.counter.approve(ADMIN, taken.approval.id)


def test_a_member_cannot_use_the_counter(services: Services, books: Books) -> None:
    from app.services.actors import Actor

    member = Actor(books.members[0], "Asha Rao", "member")
    with pytest.raises(PermissionDenied):
        services.counter.take(member, slip(books, 0, NET, "upi", "412356789012"))


def receipt_pdf(services: Services, ref: str) -> bytes:
    from app.services.reports import Request

    return services.reports.render(RAVI, Request("receipt", receipt=ref), via="in a test").pdf


def test_the_printed_receipt_says_how_it_was_paid(services: Services, books: Books) -> None:
    from tests.reports.pdfcheck import text

    counter = CounterService(services.counter.ctx)
    ref = counter.take(RAVI, slip(books, 2, NET, "cheque", "004512", IFSC)).receipt.bank_ref  # type: ignore[union-attr]
    printed = " ".join(text(receipt_pdf(services, ref)).split())
    assert "Cheque 004512 on SBIN0001234" in printed
    assert "pending clearance" in printed and "subject to realisation" in printed
    assert "Rupees One Lakh Fifty Thousand Only" in printed
    counter.approve(FARAH, counter.report_bounce(RAVI, ref, "Funds insufficient").id)
    printed = " ".join(text(receipt_pdf(services, ref)).split())
    assert "BOUNCED" in printed and "Funds insufficient" in printed


def test_the_first_receipt_to_cover_the_commission_moves_it(
    ctx: ServiceContext, services: Services, books: Books
) -> None:
    ledger = LedgerService(ctx)
    services.counter.take(RAVI, slip(books, 0, 40_000_00, "cash", "CASH-P1"))
    assert ledger.balance(group_cash(books.group_id)) == 0  # ₹40,000 in, the commission out
    assert ledger.balance(COMPANY_CASH) == 40_000_00
    assert sound(ctx)
