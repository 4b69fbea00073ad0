"""One prize in full on the payouts screen: its clock, security, pool, what the Banker's
gate says about releasing it and about an advance, the advances and the next step; the
maker-checker buttons that apply to the person looking; and the last action's outcome.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from app.services.actors import Actor
from app.services.payouts import PayoutDetail, PayoutRow
from app.views.formatting import BAD, BUTTON_STYLE, GOOD, WARN, inr

CLOCK_COLOURS = {"due": WARN, "due today": WARN, "overdue": BAD, "on time": GOOD, "late": BAD}
"""Days left in amber, overdue in red; paid on time in green."""
ACTIONS = ("secure", "deduct", "request", "release", "propose", "approve", "decline")


def clock_colour(row: PayoutRow) -> QColor:
    return CLOCK_COLOURS[row.clock.state]


def pool_text(row: PayoutRow) -> str:
    if row.pool is None:
        return ""
    if row.shortfall:
        return f"{inr(row.pool)} (short by {inr(row.shortfall)})"
    return inr(row.pool)


def pool_cell(row: PayoutRow) -> str:
    return f"short by {inr(row.shortfall)}" if row.shortfall else pool_text(row)


def allowed(detail: PayoutDetail, actor: Actor) -> set[str]:
    """The buttons that apply to this prize for this person (the service decides)."""
    row = detail.row
    if row.status != "pending" or not actor.is_staff or actor.id == row.member_id:
        return set()
    proposed = row.advance if row.advance and row.advance.status == "proposed" else None
    found = set()
    if not detail.request and detail.remaining:
        found |= {"secure", "deduct"}
    if row.secured and not detail.request:
        found.add("request")
    if detail.request and detail.request["by"]["id"] != actor.id:
        found.add("release")
    if proposed is not None:
        found.add("decline")
        if proposed.proposed_by_id != actor.id:
            found.add("approve")
    elif row.shortfall:
        found.add("propose")
    return found


def notes(detail: PayoutDetail, actor: Actor) -> list[str]:
    """Why a button someone may expect is not there (maker-checker, own prize)."""
    found = []
    if detail.request and detail.request["by"]["id"] == actor.id and detail.row.status == "pending":
        found.append("You asked for this release: a second person must release it.")
    advance = detail.row.advance
    if advance and advance.status == "proposed" and advance.proposed_by_id == actor.id:
        found.append("You proposed the advance: a second person must approve it.")
    if detail.row.member_id == actor.id:
        found.append("You won this prize: other staff handle it.")
    return found


def _line(label: str, text: str, colour: QColor | None = None) -> str:
    style = f" style='color:{colour.name()}; font-weight:600'" if colour else ""
    return f"<b>{label}</b> <span{style}>{escape(text)}</span>"


def describe(detail: PayoutDetail) -> str:
    """The prize's pane as rich text: clock, security, pool, gate and advances."""
    row = detail.row
    lines = [
        f"<h3>{escape(row.group_name)} · period {row.period} · {escape(row.winner)}</h3>",
        _line("Prize", f"{inr(row.prize)}; to pay {inr(row.to_pay)}"),
        _line(
            "Clock",
            f"{row.clock.text} (due by {row.clock.deadline:%d %b %Y}: {row.clock.rule})",
            clock_colour(row),
        ),
        _line("Security", row.security, GOOD if row.secured else BAD),
    ]
    if detail.request:
        asked = detail.request
        said = f": {asked['note']}" if asked["note"] else ""
        on = f"{detail.requested_on:%d %b %Y}" if detail.requested_on else ""
        lines.append(_line("Release asked for", f"by {asked['by']['name']} on {on}{said}"))
    if detail.released_by:
        ref = f", bank reference {detail.bank_ref}" if detail.bank_ref else ""
        lines.append(_line("Released", f"by {detail.released_by}{ref}"))
    if row.pool is not None:
        lines.append(_line("Pool", pool_text(row), BAD if row.shortfall else None))
    for label, check in (
        ("Banker's check", detail.release_check),
        ("Advance", detail.advance_check),
    ):
        if check is not None:
            lines.append(_line(label, check.text, GOOD if check.granted else BAD))
    lines += [_line("Advance", a.text) for a in detail.advances]
    if row.late_reason:
        lines.append(_line("Why late", row.late_reason, BAD))
    lines.append(_line("Next", row.next_step))
    return "<br>".join(lines)


class PayoutPane(QWidget):
    """One prize in full, its actions, and the outcome of the last one."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.detail: PayoutDetail | None = None
        self.text = QLabel("Select a prize to see its clock, security and the Banker's check.")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.outcome = QLabel("")
        self.outcome.setWordWrap(True)
        self.outcome.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        labels = (
            *("Record security…", "Deduct future instalments…", "Ask for release…"),
            *("Release…", "Propose advance…", "Approve advance…", "Decline advance…"),
        )
        self.buttons = {
            name: QPushButton(label) for name, label in zip(ACTIONS, labels, strict=True)
        }
        self.buttons["release"].setProperty("accent", True)
        self.buttons["approve"].setProperty("accent", True)
        bar = QVBoxLayout()  # two rows: the prize's steps, then the company's advance
        for row in (ACTIONS[:4], ACTIONS[4:]):
            line = QHBoxLayout()
            for name in row:
                self.buttons[name].setAutoDefault(False)
                line.addWidget(self.buttons[name])
            line.addStretch(1)
            bar.addLayout(line)
        body = QWidget()
        column = QVBoxLayout(body)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.text)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(body)
        self.setStyleSheet(BUTTON_STYLE)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.note)
        layout.addWidget(self.outcome)
        layout.addWidget(scroll, 1)
        self.show_detail(None, None)

    def show_detail(self, detail: PayoutDetail | None, actor: Actor | None) -> None:
        self.detail = detail
        if detail is None or actor is None:
            self.text.setText("Select a prize to see its clock, security and the Banker's check.")
            self.note.setText("")
            self._enable(set())
            return
        self.text.setText(describe(detail))
        self.note.setText("\n".join(notes(detail, actor)))
        self._enable(allowed(detail, actor))

    def show_outcome(self, granted: bool | None, text: str = "") -> None:
        colour = GOOD if granted else BAD
        self.outcome.setStyleSheet(f"color: {colour.name()}; font-weight: 600;")
        self.outcome.setText(text if granted is not None else "")

    def _enable(self, names: set[str]) -> None:
        for name, button in self.buttons.items():
            button.setEnabled(name in names)
