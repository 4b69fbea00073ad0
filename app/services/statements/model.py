"""A statement's preview: each line sorted, and what staff decided for the rest.

Verdicts (:data:`VERDICTS`): a line is *matched* to one due (member, group, period);
*ambiguous* between several; *unmatched* (nobody found); *recorded* already (its
reference is a receipt, here or earlier in the file); a *wrong amount* for the member
found (more or less than one due); or *not a receipt* (money out). Staff *resolve* an
ambiguous, unmatched or wrong-amount line by choosing the due it pays (a part payment
when less than owed), or *leave* it unrecorded. Matched and resolved lines are recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from app.kernel import office_time
from app.kernel.errors import ValidationError
from app.services.activity import counted
from app.services.money import format_inr
from app.services.statements.csvfile import Line, Statement

MATCHED, AMBIGUOUS, UNMATCHED = "matched", "ambiguous", "unmatched"
RECORDED, WRONG_AMOUNT, NOT_RECEIPT = "recorded", "wrong_amount", "not_receipt"
RESOLVED, LEFT = "resolved", "left"
VERDICTS = {
    MATCHED: "Matched",
    RESOLVED: "Resolved by staff",
    AMBIGUOUS: "Ambiguous",
    UNMATCHED: "Unmatched",
    WRONG_AMOUNT: "Wrong amount",
    RECORDED: "Already recorded",
    LEFT: "Left unrecorded",
    NOT_RECEIPT: "Not a receipt",
}
TO_RECORD = frozenset({MATCHED, RESOLVED})
NEEDS_A_PERSON = frozenset({AMBIGUOUS, UNMATCHED, WRONG_AMOUNT})


@dataclass(frozen=True)
class Candidate:
    """A due a line may pay: whose, which group's period, and what is still owed."""

    member_id: str
    member_name: str
    group_id: str
    group_name: str
    period: int
    outstanding: int
    due_date: str
    ticket_no: int | None = None

    @property
    def due_key(self) -> tuple[str, str, int]:
        return (self.member_id, self.group_id, self.period)

    def label(self) -> str:
        ticket = f" ticket {self.ticket_no}" if self.ticket_no is not None else ""
        return (
            f"{self.member_name} · {self.group_name}{ticket} · period {self.period} · "
            f"{format_inr(self.outstanding)} owed"
        )


@dataclass(frozen=True)
class Sorted:
    """One statement line with its verdict, the due it pays (``chosen``), the others it
    might (``candidates``), the receipt's reference and mode, and why."""

    line: Line
    verdict: str
    bank_ref: str
    mode: str
    note: str = ""
    candidates: tuple[Candidate, ...] = ()
    chosen: Candidate | None = None
    amount: int = 0
    """What is recorded (the credit; less when staff took it as a part payment)."""
    clears_cheque: bool = False
    """The line is a counter cheque (``bank_ref``) paid by the bank: committing clears it."""

    @property
    def verdict_text(self) -> str:
        return VERDICTS[self.verdict]


@dataclass(frozen=True)
class Tally:
    """How many lines have one verdict, and their credits less their debits (money out
    shows as a negative amount, as the preview's table shows it)."""

    verdict: str
    lines: int
    amount: int


@dataclass(frozen=True)
class Preview:
    """A statement sorted against the books (see module docstring)."""

    statement: Statement
    lines: tuple[Sorted, ...]
    earlier: str = ""
    """What an earlier import of the same file recorded, when there was one."""

    def tallies(self) -> list[Tally]:
        counts: dict[str, list[int]] = {v: [0, 0] for v in VERDICTS}
        for s in self.lines:
            counts[s.verdict][0] += 1
            counts[s.verdict][1] += s.line.credit - s.line.debit
        return [Tally(v, n, amount) for v, (n, amount) in counts.items() if n]

    def count(self, *verdicts: str) -> int:
        return sum(1 for s in self.lines if s.verdict in verdicts)

    def to_record(self) -> list[Sorted]:
        return [s for s in self.lines if s.verdict in TO_RECORD]

    def line(self, number: int) -> Sorted:
        for s in self.lines:
            if s.line.number == number:
                return s
        raise ValidationError(f"The statement has no transaction on row {number}.")

    def remaining(self, candidate: Candidate, besides: int = 0) -> int:
        """What ``candidate`` still owes once the lines to record (other than row
        ``besides``) have paid it."""
        paid = sum(
            s.amount
            for s in self.to_record()
            if s.chosen is not None
            and s.chosen.due_key == candidate.due_key
            and s.line.number != besides
        )
        return candidate.outstanding - paid

    def resolve(self, number: int, candidate: Candidate, amount: int | None = None) -> Preview:
        """Row ``number`` pays ``candidate`` (``amount``, default the line's credit: less
        is a part payment); refused when it is more than the due still owes."""
        s = self.line(number)
        if s.verdict not in NEEDS_A_PERSON | {RESOLVED, LEFT}:
            raise ValidationError(
                f"Row {number} is {s.verdict_text.lower()}; only ambiguous, unmatched or "
                "wrong-amount lines are resolved by hand."
            )
        pay = s.line.credit if amount is None else amount
        owed = self.remaining(candidate, besides=number)
        if not 0 < pay <= min(owed, s.line.credit):
            raise ValidationError(
                f"Row {number}: {format_inr(pay)} cannot pay {candidate.label()}: at most "
                f"{format_inr(min(owed, s.line.credit))} (what is owed after the other lines, "
                "and no more than the credit).",
                hint="Choose another due, or leave the line unrecorded.",
            )
        note = f"part payment: {format_inr(owed - pay)} still owed" if pay < owed else ""
        resolved = replace(s, verdict=RESOLVED, chosen=candidate, amount=pay, note=note)
        return self._with(resolved)

    def leave(self, number: int) -> Preview:
        """Row ``number`` stays unrecorded (it can be resolved again)."""
        s = self.line(number)
        if s.verdict not in NEEDS_A_PERSON | {RESOLVED}:
            raise ValidationError(f"Row {number} is {s.verdict_text.lower()}; nothing to leave.")
        return self._with(replace(s, verdict=LEFT, chosen=None, amount=0))

    def _with(self, changed: Sorted) -> Preview:
        lines = tuple(changed if s.line.number == changed.line.number else s for s in self.lines)
        return replace(self, lines=lines)


def summary_lines(preview: Preview, *, listed: int = 50) -> list[str]:
    """The preview as text: the file, each verdict's lines and credits, and the lines
    that need a person (the first ``listed``)."""
    st = preview.statement
    out = [
        f"Statement {st.name} (SHA-256 {st.sha256[:16]}…): {len(st.lines):,} transactions, "
        f"{len(st.set_aside):,} rows set aside"
    ]
    if preview.earlier:
        out.append(preview.earlier)
    out += [
        f"  {VERDICTS[t.verdict]:<18}{t.lines:>8,}  {format_inr(t.amount):>18}"
        for t in preview.tallies()
    ]
    waiting = [s for s in preview.lines if s.verdict in NEEDS_A_PERSON]
    if waiting:
        out.append(f"Needs a person ({len(waiting):,}):")
        out += [_waiting_line(s) for s in waiting[:listed]]
        if len(waiting) > listed:
            out.append(f"  … and {len(waiting) - listed:,} more")
    return out


def _waiting_line(s: Sorted) -> str:
    line = s.line
    return (
        f"  row {line.number}  {office_time.day(line.date)}  {format_inr(line.credit)}"
        f"  {line.narration} — {s.verdict_text.lower()}: {s.note}"
    )


@dataclass(frozen=True)
class Imported:
    """What a commit did: receipts recorded, lines found recorded meanwhile, lines
    refused at commit (changed since the preview), lines left for a person."""

    statement: str
    recorded: int
    amount: int
    already: int
    refused: tuple[tuple[int, str], ...]
    left: int
    cleared: int = 0

    def lines(self) -> list[str]:
        out = [
            f"Recorded {counted(self.recorded, 'receipt')} ({format_inr(self.amount)}) from "
            f"{self.statement}; {self.already:,} were already recorded; "
            f"{len(self.refused):,} refused; {self.left:,} left for a person."
        ]
        if self.cleared:
            out.append(f"Marked {self.cleared:,} counter cheques cleared.")
        out += [f"  row {row} refused: {why}" for row, why in self.refused]
        return out
