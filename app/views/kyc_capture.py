"""KYC capture: a member's PAN, Aadhaar, bank details, address and documents, taken at
the desk and submitted for a second staff member to decide in the KYC queue.

Reached from a member's profile (``show_item(member_id=...)``) or from the navigation,
where a member picker finds the person by name, mobile digits or member number. Each
field shows the service's verdict as it is typed (:meth:`KycService.check_field`: the
rules a submission applies, never a second validator here). PAN, Aadhaar and account
numbers show in clear only while their field is being typed in, masked as the rules
say once focus leaves it. The mobile number is the member's registered one; the desk
never sees it in clear. The submitter cannot decide their own submission (the
service's maker-checker rule).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt, QTimer
from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QDropEvent, QFocusEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.kernel.errors import KnownError
from app.services.actors import Actor
from app.services.kyc import CaptureForm, KycRecord, QueueRow
from app.services.kyc.rules import KycErrors
from app.services.registry import Services
from app.views import navigation, worker
from app.views.formatting import (
    BAD,
    BUTTON_STYLE,
    GOOD,
    MUTED,
    WARN,
    status_colour,
    status_text,
    when,
)
from app.views.kyc_attachments import AttachmentsPanel
from app.views.live import LiveReadModel
from app.views.table import Column, RowsModel

MATCHES_SHOWN = 50
FIELDS = (
    ("name", "Name", "As on the PAN card"),
    ("pan", "PAN", "ABCPE1234F"),
    ("aadhaar", "Aadhaar", "1234 5678 9012"),
    ("ifsc", "IFSC", "SBIN0001234"),
    ("account_number", "Account number", "9 to 18 digits"),
    ("address", "Address", "House, street, town and the 6-digit PIN code"),
)
"""The fields captured: the service's field name, the label, a placeholder."""
MASKED = frozenset({"pan", "aadhaar", "account_number"})


class MemberMatchesModel(RowsModel[QueueRow]):
    """Members matching the picker's search (masked numbers only)."""

    columns = (
        Column[QueueRow]("Name", lambda r: r.name),
        Column[QueueRow]("Mobile", lambda r: r.phone_masked),
        Column[QueueRow]("Member", lambda r: r.member_id),
        Column[QueueRow](
            "KYC", lambda r: status_text(r.status), colour=lambda r: status_colour(r.status)
        ),
    )


class MaskedLineEdit(QLineEdit):
    """A number typed in clear, shown masked (``mask(value)``) while not being edited."""

    def __init__(self, mask: Callable[[str], str]) -> None:
        super().__init__()
        self._mask = mask
        self._value = ""
        self._masking = False
        self.textEdited.connect(self._edited)

    def value(self) -> str:
        return self._value

    def set_value(self, value: str) -> None:
        self._value = value
        self._show(value if self.hasFocus() else self._masked())

    def _edited(self, text: str) -> None:
        if not self._masking:
            self._value = text

    def _masked(self) -> str:
        return self._mask(self._value) if self._value else ""

    def _show(self, text: str) -> None:
        self._masking = True
        self.setText(text)
        self._masking = False

    def focusInEvent(self, event: QFocusEvent) -> None:
        self._show(self._value)
        super().focusInEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        self._show(self._masked())


class FieldRow(QObject):
    """One captured field: its editor and the verdict shown under it (amber while it is
    being typed, red once it is left wrong)."""

    def __init__(self, field: str, placeholder: str, check: Callable[[str, str], Any]) -> None:
        super().__init__()
        self.field = field
        self._check = check
        self.editor: QLineEdit | QPlainTextEdit
        if field == "address":
            self.editor = QPlainTextEdit()
            self.editor.setTabChangesFocus(True)
            self.editor.setFixedHeight(64)
            self.editor.textChanged.connect(self.check)
        elif field in MASKED:
            self.editor = MaskedLineEdit(lambda v: str(check(field, v).shown))
            self.editor.textEdited.connect(self.check)
        else:
            self.editor = QLineEdit()
            self.editor.textEdited.connect(self.check)
        self.editor.setPlaceholderText(placeholder)
        self.editor.setAcceptDrops(False)  # a dropped file is a document, not text
        self.editor.installEventFilter(self)
        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        self.verdict.setObjectName(f"verdict-{field}")
        self.reset()

    def value(self) -> str:
        editor = self.editor
        if isinstance(editor, QPlainTextEdit):
            return editor.toPlainText()
        return editor.value() if isinstance(editor, MaskedLineEdit) else editor.text()

    def set_value(self, value: str) -> None:
        editor = self.editor
        if isinstance(editor, MaskedLineEdit):
            editor.set_value(value)
        elif isinstance(editor, QPlainTextEdit):
            editor.setPlainText(value)
        else:
            editor.setText(value)
        if value:
            self.check()
        else:
            self.reset()

    def reset(self) -> None:
        self._say("", MUTED)

    def check(self) -> bool:
        """Show the service's verdict on what is typed now; True when it is right."""
        verdict = self._check(self.field, self.value())
        if verdict.ok:
            self._say("✓ " + ("Looks right" if self.field in MASKED else "OK"), GOOD)
        else:
            typing = self.editor.hasFocus() and bool(self.value().strip())
            self._say(verdict.message, WARN if typing else BAD)
        return bool(verdict.ok)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FocusOut and self.value().strip():
            QTimer.singleShot(0, self.check)  # after the editor has shown its mask
        return False

    def refuse(self, message: str) -> None:
        self._say(message, BAD)

    def _say(self, text: str, colour: Any) -> None:
        self.verdict.setText(text)
        self.verdict.setStyleSheet(f"color: {colour.name()};")


class KycCaptureView(QWidget):
    """Find a member, capture their KYC with documents, submit it for checking."""

    name = "kyc-capture"
    title = "KYC capture"

    def __init__(self, services: Services, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actor = actor
        self.kyc = services.kyc
        self.member_id: str | None = None
        self.form: CaptureForm | None = None
        self._filled_for: str | None = None
        self._submitting = False
        self._example_pending = False
        self.matches = MemberMatchesModel(self)
        self._build()
        self.setAcceptDrops(True)
        self.picker = LiveReadModel(
            services.topics, self.kyc.queue, self._show_matches, self, args=self._search
        )
        self.live = LiveReadModel(
            services.topics, self.kyc.capture, self._show_form, self, args=self._member
        )

    # -- layout -------------------------------------------------------------------------

    def _build(self) -> None:
        heading = QLabel(self.title)
        heading.setObjectName("heading")
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addLayout(self._picker_row())
        layout.addWidget(self.results)
        self.who = QLabel("Find the member whose KYC you are taking.")
        self.who.setWordWrap(True)
        self.who.setTextFormat(Qt.TextFormat.RichText)
        who_row = QHBoxLayout()
        who_row.addWidget(self.who, 1)
        who_row.addWidget(self.change, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(who_row)
        self.body = QSplitter()
        self.body.addWidget(self._form_column())
        self.attachments = AttachmentsPanel(self.kyc)
        self.body.addWidget(self.attachments)
        self.body.setStretchFactor(0, 1)
        self.body.setStretchFactor(1, 1)
        layout.addWidget(self.body, 1)
        layout.addLayout(self._submit_row())
        self.setStyleSheet(BUTTON_STYLE)
        self._enable_form(False)

    def _picker_row(self) -> QHBoxLayout:
        self.search = QLineEdit()
        self.search.setPlaceholderText(
            "Find a member: name, last digits of the mobile, or member number"
        )
        self.search.setClearButtonEnabled(True)
        self.search.setAcceptDrops(False)
        self.change = QPushButton("Change member")
        self.change.hide()
        self.change.clicked.connect(self._pick_again)
        self.results = QTableView()
        self.results.setModel(self.matches)
        self.results.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.results.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.results.verticalHeader().hide()
        header = self.results.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.results.setMaximumHeight(180)
        self.results.hide()
        self.results.activated.connect(self._chosen)
        self.results.clicked.connect(self._chosen)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(250)
        self._debounce.timeout.connect(lambda: self.picker.refresh())
        self.search.textChanged.connect(self._debounce.start)
        self.search.returnPressed.connect(self._search_entered)
        self.found = QLabel()
        row = QHBoxLayout()
        row.addWidget(self.search, 1)
        row.addWidget(self.found)
        return row

    def _form_column(self) -> QWidget:
        form = QFormLayout()
        form.setContentsMargins(0, 0, 8, 0)
        check = self.kyc.check_field
        self.rows = {field: FieldRow(field, hint, check) for field, _, hint in FIELDS}
        self.mobile = QLabel("—")
        self.mobile.setToolTip("The member's registered mobile number goes with the KYC.")
        for field, label, _ in FIELDS:
            row = self.rows[field]
            cell = QVBoxLayout()
            cell.setSpacing(2)
            cell.addWidget(row.editor)
            cell.addWidget(row.verdict)
            form.addRow(label, cell)
            if field == "name":
                form.addRow("Mobile", self.mobile)
        column = QWidget()
        stack = QVBoxLayout(column)
        stack.setContentsMargins(0, 0, 0, 0)
        stack.addLayout(form)
        stack.addStretch(1)
        return column

    def _submit_row(self) -> QHBoxLayout:
        self.outcome = QLabel()
        self.outcome.setWordWrap(True)
        self.to_queue = QPushButton("Open the KYC queue")
        self.to_queue.hide()
        self.to_queue.clicked.connect(lambda: navigation.go(self, "kyc-queue"))
        self.submit_button = QPushButton("Submit for checking")
        self.submit_button.setProperty("accent", True)
        self.submit_button.setAutoDefault(False)
        self.submit_button.clicked.connect(self.submit)
        row = QHBoxLayout()
        row.addWidget(self.outcome, 1)
        row.addWidget(self.to_queue)
        row.addWidget(self.submit_button)
        return row

    # -- the member ---------------------------------------------------------------------

    def show_item(self, **params: Any) -> None:
        """Capture the KYC of ``member_id`` (from a member's profile)."""
        self.choose(str(params["member_id"]))

    def show_example(self) -> None:
        """For --screenshots: a member with a rejected KYC (its documents attached again),
        else one awaiting a decision, else one who has not submitted."""
        self._example_pending = True
        kyc = self.kyc

        def pick() -> str | None:
            for status in ("rejected", "pending", "none"):
                rows = kyc.queue(status)
                if rows:
                    return rows[0].member_id
            return None

        def chosen(member_id: str | None) -> None:
            self._example_pending = False
            if member_id is not None:
                self.choose(member_id)

        def failed(exc: BaseException) -> None:
            self._say(worker.error_text(exc), BAD)
            chosen(None)

        worker.run(pick, chosen, parent=self, on_error=failed)

    def choose(self, member_id: str) -> None:
        if member_id != self.member_id:
            self._clear_form()
        self.member_id = member_id
        self.results.hide()
        self.search.hide()
        self.found.hide()
        self.change.show()
        self.live.refresh()

    def _pick_again(self) -> None:
        self.search.show()
        self.search.setFocus()
        self.change.hide()
        self.results.setVisible(bool(self.search.text().strip()))

    def _search(self) -> tuple[None, str] | None:
        text = self.search.text().strip()
        return (None, text) if text else None

    def _member(self) -> tuple[str] | None:
        return (self.member_id,) if self.member_id else None

    def _show_matches(self, rows: list[QueueRow] | None) -> None:
        found = sorted(rows or [], key=lambda r: (r.name.casefold(), r.member_id))
        self.matches.set_rows(found[:MATCHES_SHOWN])
        self.results.setVisible(rows is not None and self.search.isVisible())
        self.found.setVisible(rows is not None and self.search.isVisible())
        if len(found) > MATCHES_SHOWN:
            self.found.setText(f"first {MATCHES_SHOWN} of {len(found):,}: type more")
        else:
            self.found.setText(f"{len(found)} found" if found else "no member matches")

    def _search_entered(self) -> None:
        if self.matches.rowCount() == 1:
            self._chosen(self.matches.index(0, 0))
        elif self.matches.rowCount():
            self.results.setFocus()
            self.results.selectRow(0)

    def _chosen(self, index: QModelIndex) -> None:
        row = self.matches.row_at(index)
        if row is not None:
            self.choose(row.member_id)

    def _show_form(self, form: CaptureForm | None) -> None:
        self.form = form
        if form is None:
            return
        self.who.setText(_who(form))
        self.mobile.setText(form.phone_masked or "—")
        self._enable_form(form.status != "approved" and not self._submitting)
        if self._filled_for != form.member_id:
            self._filled_for = form.member_id
            self._fill(form)

    def _fill(self, form: CaptureForm) -> None:
        """Start from what is known: the name, and a resubmission's IFSC, address and
        documents (its numbers are sealed: they are typed again)."""
        record = form.record
        self.rows["name"].set_value(record.name if record else form.name)
        if record is not None and record.status != "approved":
            self.rows["ifsc"].set_value(record.ifsc)
            self.rows["address"].set_value(record.address or "")
            self._attach_previous(form.member_id)

    def _attach_previous(self, member_id: str) -> None:
        self.attachments.attach_stored(member_id)

    def _clear_form(self) -> None:
        for row in self.rows.values():
            row.set_value("")
        self.attachments.clear()
        self.outcome.setText("")
        self.to_queue.hide()
        self._filled_for = None

    def _enable_form(self, on: bool) -> None:
        self.body.setEnabled(on)
        self.submit_button.setEnabled(on)

    # -- submitting ---------------------------------------------------------------------

    def values(self) -> dict[str, str]:
        return {field: row.value() for field, row in self.rows.items()}

    def submit(self) -> None:
        member_id = self.member_id
        if member_id is None or self._submitting:
            return
        if self.attachments.busy:
            self._say("Wait a moment: the documents are still being checked.", WARN)
            return
        values = self.values()
        documents = [doc.upload() for doc in self.attachments.documents()]
        actor, kyc = self.actor, self.kyc
        self._submitting = True
        self._enable_form(False)
        self._say("Submitting…", MUTED)

        def send() -> KycRecord:
            return kyc.submit(actor, member_id, phone=None, documents=documents, **values)

        worker.run(send, self._submitted, parent=self, on_error=self._refused)

    def _submitted(self, record: KycRecord) -> None:
        self._submitting = False
        self._clear_form()
        self._filled_for = record.member_id  # done: not filled again with what was just sent
        self._say(
            f"Submitted for checking {when(record.submitted_at)}: another staff member "
            "decides it in the KYC queue (you cannot decide your own).",
            GOOD,
        )
        self.to_queue.show()
        self.live.refresh()

    def _refused(self, exc: BaseException) -> None:
        self._submitting = False
        self._enable_form(self.form is not None and self.form.status != "approved")
        if isinstance(exc, KycErrors):
            self._show_field_errors(exc.field_errors)
        elif isinstance(exc, KnownError):
            self._say(f"Not submitted: {exc}", BAD)
        else:
            self._say("Not submitted: " + worker.error_text(exc), BAD)

    def _show_field_errors(self, errors: dict[str, str]) -> None:
        for field, message in errors.items():
            if field in self.rows:
                self.rows[field].refuse(message)
        others = [m for f, m in errors.items() if f not in self.rows]
        if "documents" in errors:
            self.attachments.show_problems([errors["documents"]])
        count = len(errors)
        text = f"Not submitted: {count} problem{'s' if count != 1 else ''}, marked in red."
        self._say(" ".join([text, *[m for m in others if not m.startswith("Documents")]]), BAD)

    def _say(self, text: str, colour: Any) -> None:
        self.outcome.setText(text)
        self.outcome.setStyleSheet(f"color: {colour.name()};")

    # -- drops anywhere on the page -------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        self.attachments.drag_enter(event)

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self.attachments.highlight(False)

    def dropEvent(self, event: QDropEvent) -> None:
        self.attachments.drop(event)

    # -- the window's protocol ------------------------------------------------------------

    def busy(self) -> bool:
        return (
            self._example_pending
            or self.picker.busy
            or self.live.busy
            or self.attachments.busy
            or self._submitting
        )

    def shutdown(self) -> None:
        self.picker.close()
        self.live.close()
        self.attachments.shutdown()


def _who(form: CaptureForm) -> str:
    name = f"<b>{html.escape(form.name)}</b> · {html.escape(form.member_no or form.member_id)}"
    record = form.record
    if record is None:
        return f"{name} · no KYC submitted yet."
    status = f"KYC {status_text(record.status).lower()}"
    if record.status == "approved":
        return f"{name} · {status} {when(record.decided_at)}: an approved KYC is not replaced."
    if record.status == "rejected":
        why = html.escape((record.reason or "no reason given").rstrip("."))
        return (
            f"{name} · {status} {when(record.decided_at)}: <i>{why}</i>. Correct it and "
            "submit again; the documents sent last time are attached below."
        )
    return (
        f"{name} · {status} since {when(record.submitted_at)}, awaiting a second staff "
        "member. Submitting again replaces it."
    )
