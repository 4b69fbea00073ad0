"""Forming a chit group (``group-new``): the agreement's terms with their rules beside
them and the first month worked out as they are typed; then, for a group formed, its
approval, enrolment and start (:class:`~app.views.group_enrol.FormingPanel`).

The groups being formed are listed on the left; "New group" opens the form. The form
holds text as typed and asks the groups service what is wrong (each field's message
under it, once the field was touched or a submit tried) and what the first month would
be (:meth:`GroupService.check_form`: pure arithmetic with the auction rules that settle
real periods, so it runs as the person types).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from PySide6.QtCore import QDate, QModelIndex, Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.kernel.errors import FieldErrors, KnownError
from app.services.actors import Actor
from app.services.group_terms import FIELDS, RULES, FormCheck, GroupForm, Preview
from app.services.groups import FORMING, Group
from app.services.members import Member
from app.services.registry import Services
from app.views import worker
from app.views.formatting import BAD, BUTTON_STYLE, DATE_FORMAT, GOOD, inr
from app.views.group_enrol import FormingPanel
from app.views.group_tables import FormingModel, table
from app.views.live import LiveReadModel

CHECK_DELAY_MS = 120
HINT_STYLE = "color: #5b6475; font-size: 9pt;"
ERROR_STYLE = "color: #b3261e; font-size: 9pt;"
PREVIEW_STYLE = (
    "QFrame#preview { background: #f7f9fc; border: 1px solid #d5dae3; border-radius: 6px; }"
)
EXAMPLE = GroupForm(
    name="Mylapore 5 Lakh Chit 07",
    chit_value="5,00,000",
    members="50",
    commission="5",
    discount_cap="30",
    bid_step="500",
    registration_no="TN/CHIT/2026/0142",
)
"""DOMAIN.md's worked example, which ``--screenshots`` shows filled in."""


class TermsForm(QWidget):
    """The terms of a new group, each with its rule or what is wrong with it."""

    def __init__(self, services: Services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.touched: set[str] = set()
        self.result: FormCheck | None = None
        self.foreman_found: list[Member] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(CHECK_DELAY_MS)
        self._timer.timeout.connect(self.check)
        self._build()

    def _build(self) -> None:
        self.name = QLineEdit()
        self.chit_value = QLineEdit()
        self.chit_value.setPlaceholderText("e.g. 5,00,000")
        self.members = QSpinBox()
        self.members.setRange(2, 1000)
        self.members.setValue(20)
        self.start_date = QDateEdit()
        self.start_date.setCalendarPopup(True)
        self.start_date.setDisplayFormat(DATE_FORMAT)
        self.commission, self.discount_cap, self.bid_step = (
            QLineEdit("5"),
            QLineEdit("30"),
            QLineEdit("500"),
        )
        self.foreman_first = QCheckBox("The foreman's ticket takes period 1 without discount")
        self.foreman_search = QLineEdit()
        self.foreman_search.setPlaceholderText("Find the foreman's member: name or mobile digits")
        self.foreman = QComboBox()
        self.registration_no = QLineEdit()
        self.registration_no.setPlaceholderText("As on the Registrar's sanction order")
        self.hints: dict[str, QLabel] = {}
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        rows: list[tuple[str, QWidget]] = [
            ("name", self.name),
            ("chit_value", self.chit_value),
            ("members", self.members),
            ("start_date", self.start_date),
            ("commission", self.commission),
            ("discount_cap", self.discount_cap),
            ("bid_step", self.bid_step),
            ("foreman", self._foreman_row()),
            ("registration_no", self.registration_no),
        ]
        for key, widget in rows:
            form.addRow(self._label(key), self._with_hint(key, widget))
        self.submit = QPushButton("Form group")
        self.submit.setProperty("accent", True)
        self.submit.clicked.connect(self.form_group)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.preview = QLabel("")
        self.preview.setTextFormat(Qt.TextFormat.RichText)
        self.preview.setWordWrap(True)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignTop)
        self._layout(form)
        self._connect()
        self.reset()

    def _label(self, key: str) -> QLabel:
        suffix = {
            "chit_value": " (₹)",
            "commission": " (%)",
            "discount_cap": " (%)",
            "bid_step": " (₹)",
        }
        return QLabel(FIELDS[key] + suffix.get(key, ""))

    def _with_hint(self, key: str, widget: QWidget) -> QWidget:
        hint = QLabel(RULES[key])
        hint.setWordWrap(True)
        hint.setStyleSheet(HINT_STYLE)
        self.hints[key] = hint
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 4)
        column.setSpacing(2)
        column.addWidget(widget)
        column.addWidget(hint)
        return box

    def _foreman_row(self) -> QWidget:
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.foreman_first)
        row = QHBoxLayout()
        row.addWidget(self.foreman_search, 1)
        row.addWidget(self.foreman, 1)
        column.addLayout(row)
        return box

    def _layout(self, form: QFormLayout) -> None:
        fields = QWidget()
        fields.setMaximumWidth(760)  # lines a person can read in a large window
        column = QVBoxLayout(fields)
        column.setContentsMargins(0, 0, 8, 0)
        column.addLayout(form)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(fields)
        scroll.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        card = QFrame()
        card.setObjectName("preview")
        card.setStyleSheet(PREVIEW_STYLE)
        inside = QVBoxLayout(card)
        inside.addWidget(self.preview)
        inside.addStretch(1)
        inside.addWidget(self.status)
        inside.addWidget(self.submit)
        card.setFixedWidth(350)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll, 1)
        layout.addWidget(card)
        self.setStyleSheet(BUTTON_STYLE)

    def _connect(self) -> None:
        edits = {
            "name": self.name,
            "chit_value": self.chit_value,
            "commission": self.commission,
            "discount_cap": self.discount_cap,
            "bid_step": self.bid_step,
            "registration_no": self.registration_no,
        }
        for key, edit in edits.items():
            edit.textEdited.connect(lambda _, k=key: self._changed(k))
        self.members.valueChanged.connect(lambda _: self._changed("members"))
        self.start_date.dateChanged.connect(lambda _: self._changed("start_date"))
        self.foreman_first.toggled.connect(self._foreman_toggled)
        self.foreman.currentIndexChanged.connect(lambda _: self._changed("foreman"))
        self.foreman_search.textEdited.connect(self._find_foreman)

    # -- state ----------------------------------------------------------------------------

    def reset(self, form: GroupForm | None = None) -> None:
        """Empty the form (or fill it with ``form``) and forget what was touched."""
        form = form or GroupForm()
        today = self.services.clock.today()
        start = form.start_date if isinstance(form.start_date, date) else today
        self.name.setText(form.name)
        self.chit_value.setText(form.chit_value)
        self.members.setValue(int(form.members) if form.members.isdigit() else 20)
        self.start_date.setMinimumDate(QDate(today.year, today.month, today.day))
        self.start_date.setDate(QDate(start.year, start.month, start.day))
        self.commission.setText(form.commission)
        self.discount_cap.setText(form.discount_cap)
        self.bid_step.setText(form.bid_step)
        self.foreman_first.setChecked(form.foreman_takes_first)
        self.registration_no.setText(form.registration_no)
        self._foreman_toggled(form.foreman_takes_first)
        self.touched = set()
        self.status.setText("")
        self.check()

    def form(self) -> GroupForm:
        """What the fields hold, as the service takes it."""
        day = self.start_date.date()
        foreman = self.foreman.currentData() if self.foreman_first.isChecked() else None
        return GroupForm(
            name=self.name.text(),
            chit_value=self.chit_value.text(),
            members=str(self.members.value()),
            start_date=date(day.year(), day.month(), day.day()),
            commission=self.commission.text(),
            discount_cap=self.discount_cap.text(),
            bid_step=self.bid_step.text(),
            foreman_takes_first=self.foreman_first.isChecked(),
            foreman_member_id=str(foreman or ""),
            registration_no=self.registration_no.text(),
        )

    def _changed(self, key: str) -> None:
        self.touched.add(key)
        self._timer.start()

    def _foreman_toggled(self, on: bool) -> None:
        self.foreman_search.setVisible(on)
        self.foreman.setVisible(on)
        self._changed("foreman")

    def _find_foreman(self, text: str) -> None:
        members = self.services.members
        worker.run(lambda: members.search(text, limit=20), self._show_foremen, parent=self)

    def _show_foremen(self, found: list[Member]) -> None:
        self.foreman.clear()
        for m in found:
            self.foreman.addItem(f"{m.name} · {m.phone_masked} · {m.member_no}", m.id)

    # -- checking -------------------------------------------------------------------------

    def check(self) -> FormCheck:
        """Ask the service what is wrong so far, and show it with the preview."""
        self._timer.stop()
        result = self.result = self.services.groups.check_form(self.form())
        self.show_problems(result.problems)
        self.preview.setText(preview_html(result.preview, result.problems))
        return result

    def show_problems(self, problems: dict[str, str], *, all_fields: bool = False) -> None:
        """Each touched field's problem under it (every field's with ``all_fields``)."""
        if all_fields:
            self.touched |= set(FIELDS)
        for key, hint in self.hints.items():
            wrong = problems.get(key) if key in self.touched else None
            hint.setText(wrong or RULES[key])
            hint.setStyleSheet(ERROR_STYLE if wrong else HINT_STYLE)

    def form_group(self) -> None:
        """Form the group from the fields (the service checks every field again)."""
        result = self.check()
        if result.problems:
            self.show_problems(result.problems, all_fields=True)
            self.say(f"{len(result.problems)} field(s) to correct: see the messages in red.", False)
            return
        view = self.parent_view()
        if view is not None:
            view.form_group(self.form())

    def parent_view(self) -> GroupNewView | None:
        widget = self.parentWidget()
        while widget is not None and not isinstance(widget, GroupNewView):
            widget = widget.parentWidget()
        return widget

    def refused(self, exc: BaseException) -> None:
        if isinstance(exc, FieldErrors):
            self.show_problems(exc.field_errors, all_fields=True)
            self.say(exc.message, False)
        elif isinstance(exc, KnownError):
            self.say(str(exc), False)
        else:
            worker.show_error(self, exc)

    def say(self, text: str, ok: bool) -> None:
        colour = GOOD if ok else BAD
        self.status.setStyleSheet(f"color: {colour.name()};")
        self.status.setText(text)


def preview_html(preview: Preview | None, problems: dict[str, str]) -> str:
    """The first month's figures as a small table (or what they wait for)."""
    title = "<h3>The first month, worked out</h3>"
    if preview is None:
        money = [
            FIELDS[k]
            for k in ("chit_value", "members", "commission", "discount_cap", "bid_step")
            if k in problems
        ]
        waiting = ", ".join(money) or "the terms"
        return f"{title}<p style='color:#5b6475'>Shown once {waiting} are right.</p>"
    rows = [
        ("Instalment (G ÷ N)", inr(preview.instalment), ""),
        ("Foreman's commission", inr(preview.commission), "the lowest bid"),
    ]
    grid = "".join(
        f"<tr><td>{a}</td><td align='right'><b>{b}</b></td><td style='color:#5b6475'>{c}</td></tr>"
        for a, b, c in rows
    )
    head = f"Period {preview.period}'s auction"
    outcomes = "".join(
        f"<tr><td>{label}</td><td align='right'>{inr(getattr(preview.floor, k))}</td>"
        f"<td align='right'>{inr(getattr(preview.cap, k))}</td></tr>"
        for label, k in (
            ("Winning discount", "discount"),
            ("Prize (G − discount)", "prize"),
            ("Dividend per member", "dividend"),
            ("Net instalment", "net_instalment"),
        )
    )
    foreman = ""
    if preview.foreman_first is not None:
        foreman = (
            f"<p>Period 1 goes to the foreman's ticket: prize "
            f"<b>{inr(preview.foreman_first.prize)}</b>, no dividend; every member pays "
            f"{inr(preview.instalment)}.</p>"
        )
    note = f"<p style='color:#5b6475'>{preview.residue_note}</p>" if preview.residue_note else ""
    return (
        f"{title}<table cellspacing='0' cellpadding='3'>{grid}</table>{foreman}"
        f"<p><b>{head}</b></p><table cellspacing='0' cellpadding='3'>"
        "<tr><th></th><th align='right'>At the floor</th><th align='right'>At the cap</th></tr>"
        f"{outcomes}</table>"
        "<p style='color:#5b6475'>Dividend = (discount − commission) ÷ members; net "
        "instalment = instalment − dividend. Worked out by the rules that settle real "
        f"periods.</p>{note}"
    )


class GroupNewView(QWidget):
    """Groups being formed, the form for a new one, and a formed group's next steps."""

    name = "group-new"
    title = "Form a group"

    def __init__(self, services: Services, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.actor = actor
        self._creating = False
        heading = QLabel("Form a chit group")
        heading.setObjectName("heading")
        self.list_model = FormingModel(self)
        self.list = table(self.list_model, 0)
        self.list.selectionModel().selectionChanged.connect(lambda *_: self._selected())
        self.new = QPushButton("New group")
        self.new.clicked.connect(self.new_group)
        self.terms = TermsForm(services)
        self.panel = FormingPanel(services, actor)
        self.panel.changed.connect(lambda _: self.refresh())
        self.pages = QStackedWidget()
        self.pages.addWidget(self.terms)
        self.pages.addWidget(self.panel)
        side = QWidget()
        side.setFixedWidth(250)
        left = QVBoxLayout(side)
        left.setContentsMargins(0, 0, 0, 0)
        left.addWidget(QLabel("<b>Groups being formed</b>"))
        left.addWidget(self.list, 1)
        left.addWidget(self.new)
        body = QHBoxLayout()
        body.addWidget(side)
        body.addWidget(self.pages, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addLayout(body, 1)
        self.live = LiveReadModel(
            services.topics,
            services.groups.list_groups,
            self._show_list,
            self,
            args=lambda: (FORMING,),
        )

    # -- the list of groups being formed -------------------------------------------------

    def _show_list(self, groups: list[Group] | None) -> None:
        keep = self.panel.group_id if self.pages.currentWidget() is self.panel else None
        self.list_model.set_rows(groups or [])
        if keep is not None:
            self._select(keep)

    def _select(self, group_id: str) -> None:
        for row, group in enumerate(self.list_model.rows()):
            if group.id == group_id:
                self.list.selectRow(row)
                return
        self.list.clearSelection()

    def _selected(self) -> None:
        rows = self.list.selectionModel().selectedRows()
        group = self.list_model.row_at(rows[0] if rows else QModelIndex())
        if group is not None:
            self.show_item(group_id=group.id)

    # -- what the right-hand side shows --------------------------------------------------

    def new_group(self, form: GroupForm | None = None) -> None:
        """Show an empty form (or ``form``)."""
        self.list.clearSelection()
        self.terms.reset(form)
        self.pages.setCurrentWidget(self.terms)
        self.terms.name.setFocus()

    def show_item(self, group_id: str | None = None, **_: Any) -> None:
        """Show the formed group ``group_id`` (its approval, enrolment and start), or
        an empty form when None."""
        if group_id is None:
            self.new_group()
            return
        self.panel.show_group(group_id)
        self.pages.setCurrentWidget(self.panel)
        self._select(group_id)

    def show_example(self) -> None:
        """For --screenshots: the form filled with DOMAIN.md's worked example."""
        self.new_group(EXAMPLE)

    def form_group(self, form: GroupForm) -> None:
        """Form the group (off the GUI thread); then show it, awaiting approval."""
        self._creating = True
        self.terms.submit.setEnabled(False)
        groups, actor = self.services.groups, self.actor
        worker.run(
            lambda: groups.create_from_form(actor, form),
            self._created,
            parent=self,
            on_error=self._refused,
        )

    def _created(self, group: Group) -> None:
        self._creating = False
        self.terms.submit.setEnabled(True)
        self.live.refresh()
        self.show_item(group_id=group.id)
        self.panel.say(
            f"Formed {group.name}. A second staff member now approves its terms; "
            "then enrol the members.",
            ok=True,
        )

    def _refused(self, exc: BaseException) -> None:
        self._creating = False
        self.terms.submit.setEnabled(True)
        self.terms.refused(exc)

    def busy(self) -> bool:
        return self._creating or self.live.busy or self.panel.busy

    def refresh(self) -> None:
        self.live.refresh()

    def shutdown(self) -> None:
        self.live.close()
        self.panel.shutdown()
