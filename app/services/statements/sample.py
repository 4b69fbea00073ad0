"""Statement files in the shape banks export them: for training, screenshots and the
benchmark. ``resources/statements/sample-statement.csv`` was written by :func:`to_csv`.

:func:`example_rows` makes a short statement for the books as they are: credits that
match open dues by member number, mobile number and name, one paid twice, a part
payment, one nobody can be found for, one naming two members, one already recorded,
and money out; so each kind of line a preview sorts appears once at least.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from app.services.ledger.records import ReceiptEntry
from app.services.statements.matching import Books
from app.services.statements.model import Candidate

HEADER = (
    "Txn Date",
    "Value Date",
    "Description",
    "Ref No./Cheque No.",
    "Debit",
    "Credit",
    "Balance",
)


@dataclass(frozen=True)
class Row:
    day: date
    narration: str
    reference: str = ""
    credit: int = 0
    debit: int = 0


def to_csv(
    rows: Iterable[Row], *, opening: int = 25_00_000_00, account: str = "XXXXXXX4321"
) -> bytes:
    """``rows`` as a bank's CSV export (SBI's columns), with the lines banks put above
    and below the table, and the running balance."""
    out = io.StringIO()
    table = list(rows)
    first = min((r.day for r in table), default=date.today())
    last = max((r.day for r in table), default=first)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["Account Name", "TRANSACTFLOWOS CHIT FUNDS - COLLECTION ACCOUNT"])
    writer.writerow(["Account Number", account])
    writer.writerow(["Period", f"{first:%d/%m/%Y} to {last:%d/%m/%Y}"])
    writer.writerow([])
    writer.writerow(HEADER)
    balance = opening
    for row in table:
        balance += row.credit - row.debit
        writer.writerow(
            [
                f"{row.day:%d/%m/%Y}",
                f"{row.day:%d/%m/%Y}",
                row.narration,
                row.reference,
                _rupees(row.debit),
                _rupees(row.credit),
                _rupees(balance),
            ]
        )
    writer.writerow([])
    writer.writerow(["**This is a computer generated statement**"])
    return out.getvalue().encode("utf-8")


def _rupees(paise: int) -> str:
    return "" if not paise else f"{paise // 100}.{paise % 100:02d}"


def payment_row(due: Candidate, day: date, serial: int, how: str = "id", phone: str = "") -> Row:
    """A credit paying ``due`` in full, naming the member by ``how``: ``id`` (NEFT with the
    member number), ``phone`` (UPI from the mobile number) or ``name`` (IMPS)."""
    name, serial = due.member_name.upper(), serial % 1_000_000_000
    if how == "phone":
        rrn = f"{612_000_000_000 + serial:012d}"
        return Row(day, f"UPI/{rrn}/{phone[-10:]}@ybl/{name}/CHIT", "", due.outstanding)
    if how == "name":
        return Row(
            day, f"IMPS/P2A/{name}/HDFC BANK", f"{700_000_000_000 + serial:012d}", due.outstanding
        )
    utr = f"SBIN{126_000_000_000 + serial:012d}"
    return Row(day, f"NEFT-{utr}-{name}-{due.member_id.upper()}", utr, due.outstanding)


def example_rows(
    books: Books, phones: dict[str, str], receipts: Sequence[ReceiptEntry], today: date
) -> list[Row]:
    """A short statement for these books (see module docstring)."""
    dues = [d for member in sorted(books.dues) for d in books.dues[member][:1]]
    day = today - timedelta(days=3)
    rows: list[Row] = []
    if len(dues) >= 3:
        a, b, part = dues[0], dues[1], dues[2]
        joint = f"NEFT-SBIN0005678-FAMILY-{a.member_id.upper()} {b.member_id.upper()}"
        rows.append(Row(day, joint, f"SBIN{126_200_000_000:012d}", a.outstanding))
        utr = f"SBIN{126_100_000_000:012d}"
        narration = f"NEFT-{utr}-{part.member_name.upper()}-{part.member_id.upper()}"
        rows.append(Row(today, narration, utr, max(1_00, part.outstanding - 500_00)))
        dues = dues[3:]
    for n, due in enumerate(dues[:12]):
        how = ("id", "phone", "name")[n % 3]
        phone = phones.get(due.member_id, "")
        rows.append(payment_row(due, day + timedelta(days=n % 3), n, how, phone))
    if dues:
        rows.append(payment_row(dues[0], today, 90))  # the same due again: nothing left to pay
    rows.append(
        Row(today, "NEFT-ICIC0000104-RAMESH KUMAR-TUITION FEES", "ICIC126300000000", 12_500_00)
    )
    for entry in receipts[:2]:
        who = books.member_names.get(entry.member_id, entry.member_id).upper()
        rows.append(Row(day, f"NEFT-{entry.bank_ref}-{who}", entry.bank_ref, entry.amount))
    rows.append(Row(today, "CHQ PAID-004101-OFFICE RENT NOVEMBER", "004101", debit=45_000_00))
    rows.append(Row(today, "SMS CHARGES QTR", "", debit=17_70))
    return sorted(rows, key=lambda r: r.day)
