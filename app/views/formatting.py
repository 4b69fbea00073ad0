"""Shared view helpers: amounts, dates, badges, a reason dialog and the reload loop.

Display text is made here so every view shows money, dates and statuses the same way:
amounts in Indian grouping (₹5,00,000.00), dates and times as :mod:`app.kernel.office_time`
writes them (``24 Nov 2026, 10:30 IST``: the office's zone, labelled).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from PySide6.QtCore import QDate, QObject, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.kernel import office_time
from app.services.money import format_bps, format_inr
from app.views import worker

CENTER = Qt.AlignmentFlag.AlignCenter

GOOD, WARN, BAD, MUTED = QColor("#2e7d32"), QColor("#b26a00"), QColor("#c62828"), QColor("#757575")

BUTTON_STYLE = (
    "QPushButton:disabled { color: #a0a8b6; border-color: #e0e4ea; }"
    'QPushButton[accent="true"]:disabled { background: #b8cff0; color: white; }'
)
"""Disabled buttons that look disabled (the theme does not say)."""

_ELIGIBILITY = {
    "eligible": ("Eligible", GOOD),
    "needs_review": ("Needs review", WARN),
    "ineligible": ("Ineligible", BAD),
}
_STATUS_COLOURS = {
    "pending": WARN,
    "approved": GOOD,
    "rejected": BAD,
    "none": MUTED,
    "submitted": MUTED,
    "scored": WARN,
    "recommended": WARN,
    "disbursed": GOOD,
    "closed": MUTED,
}
_STATUS_TEXT = {"none": "Not submitted", "needs_review": "Needs review"}


def inr(paise: int) -> str:
    """₹ amount with Indian grouping: 50000000 -> ``₹5,00,000.00``."""
    return format_inr(paise)


def percent(bps: int) -> str:
    return format_bps(bps)


def when(iso: str | None) -> str:
    """An ISO date or timestamp as the office reads it: ``24 Nov 2026`` or
    ``24 Nov 2026, 10:30 IST`` (text that is neither comes back unchanged)."""
    return office_time.shown(iso)


def local_time(ts: str) -> str:
    """A WAL timestamp (UTC) in the office's zone, to the second."""
    return office_time.shown(ts, seconds=True)


def time_width(widget: QWidget, *, seconds: bool = False) -> int:
    """Pixels a table column needs for a labelled time in ``widget``'s font (the widest
    digits, the office's label)."""
    sample = office_time.moment(datetime(2026, 12, 28, 20, 58, 58, tzinfo=UTC), seconds=seconds)
    return widget.fontMetrics().horizontalAdvance(sample) + 24


def day(value: date | str | None) -> str:
    """``24 Nov 2026``."""
    return office_time.day(value)


DATE_FORMAT = "dd MMM yyyy"
"""How a date field shows its day: ``24 Nov 2026``, as :func:`day` writes it."""


def qdate(value: date) -> QDate:
    """``value`` as Qt's date."""
    return QDate(value.year, value.month, value.day)


def date_edit(value: date, *, latest: date | None = None) -> QDateEdit:
    """A date field with a calendar that shows its day as :func:`day` writes it, set to
    ``value``; ``latest``: the last day it offers (e.g. today, for a day already past)."""
    edit = QDateEdit()
    edit.setCalendarPopup(True)
    edit.setDisplayFormat(DATE_FORMAT)
    if latest is not None:
        edit.setMaximumDate(qdate(latest))
    edit.setDate(qdate(value))
    return edit


def iso_day(edit: QDateEdit) -> str:
    """The day a date field holds, as an ISO date (what the services take)."""
    return edit.date().toString(Qt.DateFormat.ISODate)


def status_text(status: str | None) -> str:
    if not status:
        return ""
    return _STATUS_TEXT.get(status, status.replace("_", " ").capitalize())


def status_colour(status: str | None) -> QColor | None:
    return _STATUS_COLOURS.get(status or "")


def eligibility_badge(eligibility: str | None) -> tuple[str, QColor]:
    """The badge text and colour of a loan's eligibility (grey when not scored yet)."""
    if eligibility is None:
        return "Not scored", MUTED
    return _ELIGIBILITY.get(eligibility, (status_text(eligibility), MUTED))


def file_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def shorten(items: list[str], shown: int = 4) -> str:
    """``a → b → c → … (+5 more)``: a long sequence shortened for one line."""
    head = " → ".join(items[:shown])
    extra = len(items) - shown
    return f"{head} → … (+{extra} more)" if extra > 0 else head


def safe_sequence(names: list[str]) -> str:
    """``Safe sequence (2): the loan of Neha Naidu → the prize of period 6 of Kaveri
    Chit``: a Banker's decision's order, its commitments named by the gate
    (:meth:`~app.services.gate.BankersGate.named`)."""
    return f"Safe sequence ({len(names)}): {shorten(names) or 'no other commitments'}"


class ReasonDialog(QDialog):
    """Asks for a note; when ``required``, OK stays disabled until there is text."""

    def __init__(
        self,
        title: str,
        prompt: str,
        *,
        required: bool,
        placeholder: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.required = required
        self.prompt = QLabel(prompt)
        self.prompt.setWordWrap(True)
        self.text = QPlainTextEdit()
        self.text.setPlaceholderText(placeholder)
        self.text.setTabChangesFocus(True)
        self.hint = QLabel("A reason is required." if required else "Optional.")
        self.hint.setObjectName("hint")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (self.prompt, self.text, self.hint, self.buttons):
            layout.addWidget(widget)
        self.text.textChanged.connect(self._update)
        self.resize(420, 220)
        self._update()

    def reason(self) -> str:
        return self.text.toPlainText().strip()

    @classmethod
    def ask(
        cls,
        title: str,
        prompt: str,
        *,
        required: bool,
        placeholder: str = "",
        parent: QWidget | None = None,
    ) -> str | None:
        """Show the dialog modally: the note given (maybe empty when not ``required``),
        or None when it was cancelled."""
        dialog = cls(title, prompt, required=required, placeholder=placeholder, parent=parent)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return dialog.reason()

    def _update(self) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(bool(self.reason()) or not self.required)

    def accept(self) -> None:
        if self.required and not self.reason():
            self.hint.setText("Write the reason first: it cannot be empty.")
            return
        super().accept()


class Reloader(QObject):
    """Fetches a view's data off the GUI thread and applies it on the GUI thread.

    ``prepare`` runs on the GUI thread (it may read widgets) and returns the call to
    run in the worker; ``apply`` gets that call's result back on the GUI thread.

    Requests made while a fetch is running are folded into one more fetch afterwards,
    so a burst of live changes costs at most two fetches. ``loaded`` is emitted after
    each application.
    """

    loaded = Signal()

    def __init__(
        self,
        prepare: Callable[[], Callable[[], Any]],
        apply: Callable[[Any], None],
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self._prepare = prepare
        self._apply = apply
        self._widget = parent
        self._busy = False
        self._again = False
        self._stopped = False

    @property
    def busy(self) -> bool:
        return self._busy or self._again

    def request(self) -> None:
        if self._stopped:
            return
        if self._busy:
            self._again = True
            return
        self._busy = True
        fetch = self._prepare()
        worker.run(fetch, self._done, parent=self._widget, on_error=self._failed)

    def stop(self) -> None:
        self._stopped = True

    def _done(self, value: Any) -> None:
        if not self._stopped:
            self._apply(value)
            self.loaded.emit()
        self._finish()

    def _failed(self, exc: BaseException) -> None:
        if not self._stopped:
            worker.show_error(self._widget, exc)
        self._finish()

    def _finish(self) -> None:
        self._busy = False
        if self._again and not self._stopped:
            self._again = False
            self.request()
