"""Bank statement import on a real store and WAL: the shipped sample sorted line by line,
staff resolving what needs them, chunked commits, re-runs that record nothing twice."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from app.kernel.bundle import resource
from app.kernel.errors import ValidationError
from app.services.context import FixedClock, ServiceContext
from app.services.counter import Slip
from app.services.ledger.postings import LENDING_CASH
from app.services.registry import Services
from app.services.statements import parse_statement
from app.services.statements.csvfile import parse_amount, parse_date
from app.services.statements.model import summary_lines
from app.services.statements.sample import Row, payment_row, to_csv
from app.services.store import Query
from tests.builders import services_of
from tests.counter_books import ADMIN, IFSC, LAKH, RAVI, Books, open_books, sound
from tests.test_ledger import NOW

SAMPLE = resource("resources", "statements", "sample-statement.csv")
NET = 75_000_00


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
    """The group the shipped sample was written for: four members owing ₹75,000."""
    return open_books(ctx, gross=4 * LAKH, name="Kaveri 4L")


def verdicts(services: Services, path: Path = SAMPLE) -> dict[int, str]:
    return {s.line.number: s.verdict for s in services.statements.open(path).lines}


def receipts(ctx: ServiceContext) -> int:
    return ctx.store.count(Query("receipts"))


def test_the_shipped_sample_reads_past_the_bank_lines_around_the_table() -> None:
    statement = parse_statement(SAMPLE.read_bytes(), SAMPLE.name)
    assert [line.number for line in statement.lines] == list(range(7, 18))
    assert [row for row, _ in statement.set_aside] == [1, 2, 3, 4, 6, 19]
    ashas = statement.lines[1]
    assert (ashas.date, ashas.credit, ashas.debit) == ("2026-11-21", NET, 0)
    assert statement.lines[-1].debit == 17_70


def test_every_line_of_the_sample_is_sorted(
    ctx: ServiceContext, services: Services, books: Books
) -> None:
    arjun = Slip(books.members[3], books.group_id, 1, NET, "neft", "SBIN126054099999", "2026-11-22")
    services.counter.take(RAVI, arjun)
    preview = services.statements.open(SAMPLE)
    got = {s.line.number: (s.verdict, s.note) for s in preview.lines}
    assert got[7] == ("not_receipt", "no credit")
    assert got[8] == ("matched", "by mobile number")
    assert got[9] == ("matched", "by name")
    assert got[10][0] == "wrong_amount" and "owes ₹75,000.00, not ₹70,000.00" in got[10][1]
    assert got[11][0] == "recorded" and "Arjun Das" in got[11][1]
    assert re.search(r"recorded on \d\d [A-Z][a-z]{2} \d{4} as receipt", got[11][1]), got[11]
    assert got[12] == ("wrong_amount", "nothing is due from Asha Rao")
    assert got[13][0] == "unmatched"
    assert got[14][0] == "ambiguous" and "Meena Pillai or Vikram Singh" in got[14][1]
    assert got[15] == ("recorded", "same reference as row 9")
    assert got[16] == ("not_receipt", "money out") and got[17][0] == "not_receipt"
    asha = preview.line(8)
    assert asha.chosen is not None and asha.chosen.member_name == "Asha Rao"
    assert (asha.bank_ref, asha.mode) == ("612345678901", "upi")
    text = "\n".join(summary_lines(preview))
    assert "Needs a person (4):" in text and "row 13" in text
    money_out = {t.verdict: t.amount for t in preview.tallies()}["not_receipt"]
    assert money_out == -sum(preview.line(n).line.debit for n in (7, 16, 17)) < 0


def test_staff_resolve_then_commit_and_a_rerun_records_nothing(
    ctx: ServiceContext, services: Services, books: Books
) -> None:
    statements = services.statements
    preview = statements.open(SAMPLE)
    [meena] = preview.line(14).candidates
    assert meena.member_name == "Meena Pillai"
    preview = preview.resolve(14, meena)
    with pytest.raises(ValidationError, match=r"at most ₹0\.00"):
        preview.resolve(10, meena)  # row 14 already pays all Meena owes
    preview = preview.leave(10).leave(12)
    before = receipts(ctx)
    done = statements.commit(RAVI, preview)
    assert (done.recorded, done.amount, done.refused) == (4, 4 * NET, ())
    assert done.left == 3  # rows 10 and 12 left, 13 unmatched
    assert receipts(ctx) == before + 4
    assert all(d.status == "paid" for m in books.members for d in services.ledger.dues_for(m))
    assert sound(ctx)
    head = ctx.pipeline.head()
    again = statements.open(SAMPLE)
    assert again.count("matched", "ambiguous") == 0 and again.count("recorded") == 5
    assert "imported before: 4 receipts (₹3,00,000.00)" in again.earlier
    assert statements.commit(RAVI, again).recorded == 0
    assert ctx.pipeline.head() == head  # nothing written twice, nothing written at all


def test_a_part_payment_is_recorded_when_staff_say_so(
    ctx: ServiceContext, services: Services, books: Books
) -> None:
    preview = services.statements.open(SAMPLE)
    [meena] = preview.line(10).candidates
    preview = preview.resolve(10, meena)
    line = preview.line(10)
    assert (line.note, line.amount) == ("part payment: ₹5,000.00 still owed", 70_000_00)
    services.statements.commit(RAVI, preview)
    assert services.ledger.dues_for(books.members[2])[0].outstanding == 5_000_00
    assert sound(ctx)


def test_a_line_naming_the_member_number_staff_use_is_matched(
    services: Services, books: Books
) -> None:
    vikram = services.members.get(books.members[1])
    assert vikram.member_no.startswith("M-")
    line = Row(date(2026, 11, 21), f"NEFT-SBIN126000000777-CHIT {vikram.member_no}", "", NET)
    preview = services.statements.preview(parse_statement(to_csv([line]), "one.csv"))
    matched = preview.lines[0]
    assert (matched.verdict, matched.note) == ("matched", "by member number")
    assert matched.chosen is not None and matched.chosen.member_id == books.members[1]


def test_one_receipt_is_one_receipt_in_every_summary(services: Services, books: Books) -> None:
    vikram = services.members.get(books.members[1])
    line = Row(date(2026, 11, 21), f"NEFT-SBIN126000000777-CHIT {vikram.member_no}", "", NET)
    statement = parse_statement(to_csv([line]), "one.csv")
    done = services.statements.commit(RAVI, services.statements.preview(statement))
    assert done.lines()[0].startswith("Recorded 1 receipt (₹75,000.00) from one.csv")
    again = services.statements.preview(statement)
    assert again.earlier.startswith("This file was imported before: 1 receipt (₹75,000.00)")


def _statement(books: Books, services: Services, rows: int) -> bytes:
    """``rows`` credits, each paying one open due in full (member number in the narration)."""
    dues = [d for m in books.members for d in services.statements.candidates(m)]
    lines = [payment_row(due, date(2026, 11, 21), n) for n, due in enumerate(dues[:rows])]
    return to_csv(lines)


def test_a_long_statement_commits_in_chunks_each_one_record(
    ctx: ServiceContext, services: Services, tmp_path: Path
) -> None:
    names = tuple(f"Member {chr(65 + i // 26)}{chr(65 + i % 26)} Kumar" for i in range(40))
    phones = tuple(f"+9198{i:08d}" for i in range(40))
    books = open_books(ctx, gross=40 * LAKH, periods=(1, 2, 3), names=names, phones=phones)
    path = tmp_path / "november.csv"
    path.write_bytes(_statement(books, services, 120))
    preview = services.statements.open(path)
    assert preview.count("matched") == 120
    head = ctx.pipeline.head()[0]
    seen: list[tuple[int, int]] = []
    done = services.statements.commit(RAVI, preview, lambda d, t: seen.append((d, t)), chunk=50)
    assert done.recorded == 120 and seen == [(50, 120), (100, 120), (120, 120)]
    records = list(ctx.pipeline.read(head + 1))
    assert [r.action for r in records] == ["receipt.import_statement"] * 3
    assert [r.change["event"]["count"] for r in records] == [50, 50, 20]
    assert sound(ctx)


def test_a_line_the_books_moved_under_is_refused_alone(
    ctx: ServiceContext, services: Services, books: Books
) -> None:
    preview = services.statements.open(SAMPLE)
    vikram = Slip(books.members[1], books.group_id, 1, NET, "upi", "998877665544", "2026-11-24")
    services.counter.take(RAVI, vikram)  # paid at the counter after the preview
    done = services.statements.commit(RAVI, preview, chunk=10)
    assert done.recorded == 2  # Asha's and Arjun's; Vikram's row is refused, not its chunk
    [(row, why)] = done.refused
    assert row == 9 and "already paid in full" in why
    assert sound(ctx)


def _credits(services: Services, books: Books, refs: list[str]) -> bytes:
    """One credit of ``NET`` per reference, each naming the next member's number."""
    people = [services.members.get(m) for m in books.members]
    return to_csv(
        [
            Row(date(2026, 11, 21), f"NEFT-{ref}-CHIT {p.member_no}", "", NET)
            for ref, p in zip(refs, people, strict=False)
        ]
    )


def test_a_reference_capital_holds_is_sorted_as_recorded_until_declined(
    ctx: ServiceContext, services: Services, books: Books
) -> None:
    capital = services.capital
    waiting, declined = "SBIN126000000801", "SBIN126000000802"
    capital.propose_capital(ADMIN, 5 * LAKH, LENDING_CASH, waiting)
    capital.propose_capital(ADMIN, NET, LENDING_CASH, declined)
    capital.decline_capital(RAVI, declined, "A member's instalment, not capital")
    statement = parse_statement(_credits(services, books, [waiting, declined]), "capital.csv")
    first, second = services.statements.preview(statement).lines
    assert (first.verdict, first.note) == (
        "recorded",
        "used for ₹5,00,000.00 of capital recorded by Lakshmi Iyer on 24 Nov 2026, 11:30 IST "
        "(waiting for a second person), not for an instalment",
    )
    assert (second.verdict, second.bank_ref) == ("matched", declined)
    done = services.statements.commit(RAVI, services.statements.preview(statement))
    assert (done.recorded, done.refused) == (1, ())
    assert services.ledger.receipt_entry(declined).member_id == books.members[1]
    assert sound(ctx)


def test_a_reference_capital_took_after_the_preview_is_refused_alone(
    ctx: ServiceContext, services: Services, books: Books
) -> None:
    refs = ["SBIN126000000811", "SBIN126000000812", "SBIN126000000813"]
    preview = services.statements.preview(
        parse_statement(_credits(services, books, refs), "late.csv")
    )
    assert preview.count("matched") == 3
    services.capital.propose_capital(ADMIN, 5 * LAKH, LENDING_CASH, refs[1])
    done = services.statements.commit(RAVI, preview)
    assert done.recorded == 2
    [(row, why)] = done.refused
    assert row == preview.lines[1].line.number
    assert f"Bank reference {refs[1]} was already used for ₹5,00,000.00 of capital" in why
    assert sound(ctx)


def test_a_counter_cheque_the_bank_paid_is_cleared_by_the_statement(
    ctx: ServiceContext, services: Services, books: Books, tmp_path: Path
) -> None:
    cheque = Slip(books.members[3], books.group_id, 1, NET, "cheque", "004512", "2026-11-20", IFSC)
    ref = services.counter.take(RAVI, cheque).receipt.bank_ref  # type: ignore[union-attr]
    path = tmp_path / "clearing.csv"
    path.write_bytes(to_csv([Row(date(2026, 11, 23), "CLG/CTS/004512/ARJUN DAS", "004512", NET)]))
    preview = services.statements.open(path)
    [line] = preview.lines
    assert (line.verdict, line.bank_ref, line.clears_cheque) == ("recorded", ref, True)
    done = services.statements.commit(RAVI, preview)
    assert done.cleared == 1 and done.recorded == 0
    assert services.ledger.receipt_entry(ref).cheque_state == "cleared"
    assert sound(ctx)


def test_the_example_statement_has_every_kind_of_line(
    ctx: ServiceContext, services: Services, tmp_path: Path
) -> None:
    names = tuple(f"Member {chr(65 + i)} Sharma" for i in range(20))
    phones = tuple(f"+9197{i:08d}" for i in range(20))
    books = open_books(ctx, gross=20 * LAKH, names=names, phones=phones)
    services.counter.take(
        RAVI,
        Slip(
            books.members[19], books.group_id, 1, 5_000_00, "neft", "HDFC126000000001", "2026-11-24"
        ),
    )
    path = tmp_path / "example.csv"
    path.write_bytes(services.statements.example())
    found = set(verdicts(services, path).values())
    assert found == {"matched", "ambiguous", "unmatched", "wrong_amount", "recorded", "not_receipt"}


@pytest.mark.parametrize(
    ("text", "paise"),
    [("75,000.00", NET), ("₹ 1,00,000", LAKH), ("7500.50 CR", 7_500_50), ("(250.00)", -250_00),
     ("Rs. 12", 12_00), ("", 0), ("17.7", 17_70)],
)  # fmt: skip
def test_amounts_are_read_as_banks_write_them(text: str, paise: int) -> None:
    assert parse_amount(text) == paise


def test_a_fraction_of_a_paisa_is_not_an_amount() -> None:
    with pytest.raises(ValueError, match="fractions of a paisa"):
        parse_amount("10.005")


@pytest.mark.parametrize(
    "text", ["21/11/2026", "21-11-2026", "21 Nov 2026", "21-Nov-26", "2026-11-21"]
)
def test_dates_are_read_day_first(text: str) -> None:
    assert parse_date(text) == "2026-11-21"


def test_a_single_amount_column_with_cr_dr_and_semicolons() -> None:
    data = (
        b"Date;Narration;Amount;Cr/Dr;Balance\n"
        b"21.11.2026;NEFT-X-ASHA RAO;75000.00;Cr;1\n"
        b"22.11.2026;ATM WDL;500.00;Dr;2\n"
    )
    statement = parse_statement(data, "hdfc.csv")
    assert [(line.credit, line.debit) for line in statement.lines] == [(NET, 0), (0, 500_00)]


def test_a_row_with_a_date_and_a_broken_amount_is_set_aside_with_the_reason() -> None:
    data = b"Txn Date,Description,Credit\n21/11/2026,NEFT A,75000\n22/11/2026,NEFT B,75O00\n"
    statement = parse_statement(data, "typo.csv")
    assert len(statement.lines) == 1
    assert statement.set_aside == [
        (1, "the table's header"),
        (3, "dated 2026-11-22 but '75O00' is not an amount"),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"Name,Phone\nAsha,98123\n", "has no statement table"),
        (b"PK\x03\x04\x00\x00binary", "not a CSV file"),
        (b"Txn Date,Description,Credit\nTotal,,\n", "no transaction in it"),
    ],
)
def test_a_file_that_is_not_a_statement_is_refused_saying_what_to_do(
    data: bytes, message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_statement(data, "x.csv")
