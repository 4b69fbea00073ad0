"""The statement import's table: each line with its verdict, and what it pays."""

from __future__ import annotations

from PySide6.QtGui import QColor

from app.services.statements import Sorted
from app.views.formatting import BAD, GOOD, MUTED, WARN, inr, when
from app.views.table import Column, RowsModel

VERDICT_COLOURS: dict[str, QColor] = {
    "matched": GOOD,
    "resolved": GOOD,
    "ambiguous": WARN,
    "unmatched": BAD,
    "wrong_amount": BAD,
    "recorded": MUTED,
    "left": MUTED,
    "not_receipt": MUTED,
}


def _pays(s: Sorted) -> str:
    c = s.chosen
    if c is None:
        return ""
    return f"{c.member_name} · {c.group_name} P{c.period}"


class StatementModel(RowsModel[Sorted]):
    """A statement's lines as sorted, in file order."""

    columns = (
        Column[Sorted]("Row", lambda s: str(s.line.number), lambda s: s.line.number, right=True),
        Column[Sorted]("Date", lambda s: when(s.line.date), lambda s: s.line.date),
        Column[Sorted](
            "Amount",
            lambda s: inr(s.line.credit - s.line.debit),
            lambda s: s.line.credit - s.line.debit,
            right=True,
        ),
        Column[Sorted](
            "Verdict",
            lambda s: s.verdict_text,
            colour=lambda s: VERDICT_COLOURS.get(s.verdict),
            bold=True,
            tip=lambda s: s.note,
        ),
        Column[Sorted]("Pays", _pays, tip=lambda s: s.chosen.label() if s.chosen else None),
        Column[Sorted]("Narration", lambda s: s.line.narration, tip=lambda s: s.line.narration),
        Column[Sorted]("Reference", lambda s: s.bank_ref),
        Column[Sorted]("Why", lambda s: s.note, tip=lambda s: s.note),
    )
