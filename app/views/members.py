"""The members' register: every member, found by name, mobile or member number, a page
at a time; "New member" enrols one; a row opens the member's profile.

:class:`MemberRegisterModel` is lazy like the audit trail's model: it asks the register's
read model (:meth:`MemberRegister.page`) for one page of rows at a time, on a lane of its
own, as the table scrolls (canFetchMore/fetchMore), so 100,000 members open at once and a
search never runs on the GUI thread. A generation counter drops the answers of a search
that was replaced while it ran. When the register's topics change, the rows loaded so far
are read again in one go.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.services.actors import Actor
from app.services.member_register import PAGE, MemberRegister, RegisterPage, RegisterRow
from app.services.members import Member
from app.services.registry import Services
from app.services.topics import topics_of
from app.views import navigation, worker
from app.views.formatting import BAD, MUTED, inr, status_colour, status_text
from app.views.live import LiveTopics
from app.views.member_form import NewMemberDialog
from app.views.table import ROOT, Column, ModelIndex, RowsModel, row_table

Row = RegisterRow
SEARCH_DELAY_MS = 250
PLACEHOLDER = "Search by name, mobile (last 4 digits will do) or member number (M-0042)"


def _tickets(r: Row) -> str:
    if not r.tickets:
        return "—"
    return f"{r.tickets} ({r.prized} prized)" if r.prized else str(r.tickets)


def _overdue_tip(r: Row) -> str | None:
    if not r.overdue:
        return "Nothing past its due date."
    return f"Instalments and EMIs unpaid past their due date; the oldest is {r.days_late} days late"


class MemberRegisterModel(RowsModel[Row]):
    """The register as a lazy table (see module docstring)."""

    columns = (
        Column[Row]("No.", lambda r: r.member_no, tip=lambda r: f"Member id {r.member_id}"),
        Column[Row]("Name", lambda r: r.name),
        Column[Row]("Mobile", lambda r: r.phone_masked),
        Column[Row](
            "Status",
            lambda r: "Removed" if r.status == "removed" else "Active",
            colour=lambda r: BAD if r.status == "removed" else None,
        ),
        Column[Row](
            "KYC",
            lambda r: status_text(r.kyc_status),
            colour=lambda r: status_colour(r.kyc_status),
        ),
        Column[Row]("Tickets", _tickets, sort=lambda r: r.tickets, right=True),
        Column[Row](
            "Overdue",
            lambda r: inr(r.overdue) if r.overdue else "—",
            sort=lambda r: r.overdue,
            right=True,
            colour=lambda r: BAD if r.overdue else MUTED,
            tip=_overdue_tip,
        ),
    )
    _rows: list[Row]

    changed = Signal()
    failed = Signal(str)

    def __init__(
        self, register: MemberRegister | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._register = register
        self._lane = worker.lane("member-register")
        self._generation = 0
        self._search = ""
        self._busy = self._more = self._closed = False
        self._opened = False
        self.matches = self.total = 0

    # -- state for the view ------------------------------------------------------------

    @property
    def search(self) -> str:
        return self._search

    @property
    def loading(self) -> bool:
        return self._busy

    def status_text(self) -> str:
        if not self._opened:
            return "Opening the register…"
        shown = len(self._rows)
        more = " — scroll for more" if self._more else ""
        members = f"{self.total:,} member{'' if self.total == 1 else 's'}"
        if not self._search.strip():
            return f"{members}; showing {shown:,}{more}" if self._more else members
        found = f"{self.matches:,} of {members} match “{self._search.strip()}”"
        return f"{found}; showing {shown:,}{more}" if self._more else found

    def close(self) -> None:
        self._closed = True
        self._generation += 1
        self._lane.shutdown(wait=False, cancel_futures=True)

    # -- loading -----------------------------------------------------------------------

    def set_search(self, text: str) -> None:
        """Show the members matching ``text`` from the top."""
        self._generation += 1
        self.beginResetModel()
        self._rows = []
        self._search, self._more = text, False
        self.endResetModel()
        self._load(None, PAGE, replace=True)

    def reload(self) -> None:
        """Read the rows loaded so far again (the register changed)."""
        self._generation += 1
        self._load(None, max(PAGE, len(self._rows)), replace=True)

    def canFetchMore(self, parent: ModelIndex) -> bool:
        return not parent.isValid() and self._opened and self._more and not self._busy

    def fetchMore(self, parent: ModelIndex) -> None:
        if self.canFetchMore(parent):
            self._load(self._rows[-1].cursor if self._rows else None, PAGE, replace=False)

    def _load(self, cursor: tuple[str, str] | None, limit: int, *, replace: bool) -> None:
        if self._closed or self._register is None:
            return
        self._busy = True
        self.changed.emit()
        register, search, generation = self._register, self._search, self._generation

        def read() -> RegisterPage:
            return register.page(search, after_row=cursor, limit=limit)

        def done(page: RegisterPage) -> None:
            self._loaded(generation, page, replace)

        worker.run(read, done, parent=self, on_error=self._failed, executor=self._lane)

    def _loaded(self, generation: int, page: RegisterPage, replace: bool) -> None:
        if generation != self._generation:
            return
        self._busy, self._opened, self._more = False, True, page.more
        self.matches, self.total = page.matches, page.total
        if replace:
            self._replace(page.rows)
        elif page.rows:
            first = len(self._rows)
            self.beginInsertRows(ROOT, first, first + len(page.rows) - 1)
            self._rows.extend(page.rows)
            self.endInsertRows()
        self.changed.emit()

    def _replace(self, rows: list[Row]) -> None:
        if [r.member_id for r in rows] == [r.member_id for r in self._rows]:
            self._rows = list(rows)
            if rows:
                last = self.index(len(rows) - 1, len(self.columns) - 1)
                self.dataChanged.emit(self.index(0, 0), last)
            return
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def _failed(self, exc: BaseException) -> None:
        self._busy = False
        self.changed.emit()
        self.failed.emit(worker.error_text(exc))

    def row_of(self, member_id: str) -> int | None:
        return next((i for i, r in enumerate(self._rows) if r.member_id == member_id), None)


class MembersView(QWidget):
    """The register, a search box, and "New member"."""

    name = "members"
    title = "Members"

    def __init__(self, services: Services, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.actor = actor
        heading = QLabel("Members")
        heading.setObjectName("heading")
        self.search = QLineEdit()
        self.search.setPlaceholderText(PLACEHOLDER)
        self.search.setClearButtonEnabled(True)
        self.new_button = QPushButton("New member…")
        self.new_button.setProperty("accent", True)
        self.new_button.clicked.connect(self.new_member)
        self.model = MemberRegisterModel(services.member_register, self)
        self.table = self._table()
        self.status = QLabel()
        self.status.setObjectName("hint")
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.new_button)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        self._typing = QTimer(self)
        self._typing.setSingleShot(True)
        self._typing.setInterval(SEARCH_DELAY_MS)
        self._typing.timeout.connect(self.apply_search)
        self.search.textChanged.connect(lambda _: self._typing.start())
        self.search.returnPressed.connect(self._open_first)
        QShortcut(QKeySequence("Ctrl+F"), self, self.search.setFocus)
        QShortcut(QKeySequence("Ctrl+N"), self, self.new_member)
        self.model.changed.connect(self._show_status)
        self.model.failed.connect(self.status.setText)
        self.live = LiveTopics(
            services.topics, topics_of(services.member_register.page), parent=self
        )
        self.live.changed.connect(self.model.reload)
        self.model.set_search("")

    def _table(self) -> QTableView:
        table = row_table(self.model, stretch=1, row_height=28)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = table.horizontalHeader()
        for column, width in ((0, 90), (2, 150), (3, 90), (4, 120), (5, 110), (6, 140)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(column, width)
        table.activated.connect(lambda index: self.open_row(index.row()))
        return table

    # -- state ---------------------------------------------------------------------------

    def busy(self) -> bool:
        return self.model.loading or self._typing.isActive()

    def _show_status(self) -> None:
        self.status.setText(self.model.status_text())

    # -- actions -------------------------------------------------------------------------

    def apply_search(self) -> None:
        self._typing.stop()
        if self.search.text() != self.model.search:
            self.model.set_search(self.search.text())

    def open_row(self, row: int) -> None:
        if 0 <= row < self.model.rowCount():
            self.open_member(self.model.row(row).member_id)

    def open_member(self, member_id: str) -> None:
        navigation.go(self, "member-profile", member_id=member_id)

    def _open_first(self) -> None:
        """Enter in the search box: search now, and open the member if just one matches."""
        self.apply_search()
        if self.model.loading:
            self.model.changed.connect(self._open_if_one, Qt.ConnectionType.SingleShotConnection)
        else:
            self._open_if_one()

    def _open_if_one(self) -> None:
        if self.model.matches == 1 and self.model.rowCount() == 1:
            self.open_row(0)
        elif self.model.rowCount():
            self.table.setFocus()
            self.table.selectRow(0)

    def new_member(self) -> None:
        dialog = NewMemberDialog(self.services.members, self.actor, self)
        dialog.enrolled.connect(self._enrolled)
        dialog.holder_chosen.connect(self.open_member)
        dialog.open()

    def _enrolled(self, member: Member) -> None:
        self.model.reload()
        self.open_member(member.id)

    def refresh(self) -> None:
        self.model.reload()

    def shutdown(self) -> None:
        self.live.close()
        self.model.close()
