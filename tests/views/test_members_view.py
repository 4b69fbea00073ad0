"""The members' register view: search, lazy loading, "New member" with every refusal named
by field, a mobile number's holder named, and opening a member's profile."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import QModelIndex, Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from app.services.member_index import MemberIndex
from app.views.main_window import MainWindow
from app.views.member_form import NewMemberDialog
from app.views.member_profile import MemberProfileView
from app.views.members import MemberRegisterModel, MembersView
from tests.builders import EMPLOYEE
from tests.views.builders import main_window, opener
from tests.views.drive import new_member_dialog

if TYPE_CHECKING:
    from app.bootstrap import Runtime

PEOPLE = (
    ("Asha Rao", "9876543210"),
    ("Lakshmi Devi", "9123456789"),
    ("Devika Rao", "8123456789"),
)


def enrol(runtime: Runtime, people: tuple[tuple[str, str], ...] = PEOPLE) -> list[str]:
    return [runtime.services.members.enroll(EMPLOYEE, n, p).id for n, p in people]


@pytest.fixture
def open_view(qtbot: QtBot, runtime: Runtime) -> Iterator[Callable[[], MembersView]]:
    def make() -> MembersView:
        view = MembersView(runtime.services, EMPLOYEE)
        qtbot.addWidget(view)
        view.resize(1100, 700)
        view.show()
        qtbot.waitUntil(lambda: not view.busy())
        return view

    yield from opener(make)


@pytest.fixture
def window(qtbot: QtBot, runtime: Runtime) -> Iterator[MainWindow]:
    yield from main_window(qtbot, runtime, EMPLOYEE)


def names(view: MembersView) -> list[str]:
    model = view.model
    return [model.data(model.index(r, 1)) for r in range(model.rowCount())]


def search(qtbot: QtBot, view: MembersView, text: str) -> list[str]:
    view.search.setText(text)
    qtbot.waitUntil(lambda: view.model.search == text and not view.busy())
    return names(view)


def test_rows_show_number_name_masked_mobile_status_kyc_tickets_overdue(
    qtbot: QtBot, qtmodeltester: ModelTester, runtime: Runtime, open_view: Callable[[], MembersView]
) -> None:
    enrol(runtime)
    view = open_view()
    qtmodeltester.check(view.model, force_py=True)
    assert view.model.data(QModelIndex()) is None
    model = view.model
    first = [model.data(model.index(0, c)) for c in range(model.columnCount())]
    assert first == ["M-0001", "Asha Rao", "+91 XXXXXX3210", "Active", "Not submitted", "—", "—"]
    assert names(view) == ["Asha Rao", "Devika Rao", "Lakshmi Devi"]
    assert view.status.text() == "3 members"
    flat = str([[model.data(model.index(r, c)) for c in range(7)] for r in range(3)])
    assert "9876543210" not in flat and "3456789" not in flat


def test_search_by_name_mobile_or_number_off_the_gui_thread(
    qtbot: QtBot,
    runtime: Runtime,
    open_view: Callable[[], MembersView],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    enrol(runtime)
    view = open_view()
    threads: list[str] = []
    real_find = MemberIndex.find

    def find(index: MemberIndex, text: str) -> list:  # type: ignore[type-arg]
        threads.append(threading.current_thread().name)
        return real_find(index, text)

    monkeypatch.setattr(MemberIndex, "find", find)
    assert search(qtbot, view, "rao") == ["Asha Rao", "Devika Rao"]
    assert view.status.text() == "2 of 3 members match “rao”"
    assert search(qtbot, view, "6789") == ["Devika Rao", "Lakshmi Devi"]
    assert search(qtbot, view, "M-0002") == ["Lakshmi Devi"]
    assert search(qtbot, view, "+91 98765 43210") == ["Asha Rao"]
    assert search(qtbot, view, "nobody") == []
    assert search(qtbot, view, "") == ["Asha Rao", "Devika Rao", "Lakshmi Devi"]
    assert threads and threading.main_thread().name not in threads


def test_the_register_loads_a_page_at_a_time_as_it_scrolls(
    qtbot: QtBot, qtmodeltester: ModelTester, runtime: Runtime, open_view: Callable[[], MembersView]
) -> None:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXY"
    people = tuple(
        (f"Member {a}{b.lower()}", f"9{i:09d}")
        for i, (a, b) in enumerate((a, b) for a in letters for b in letters)
        if i < 450
    )
    enrol(runtime, people)
    view = open_view()
    assert view.model.rowCount() == 200 and view.model.canFetchMore(QModelIndex())
    assert view.status.text() == "450 members; showing 200 — scroll for more"
    counts = [view.model.rowCount()]
    while view.model.canFetchMore(QModelIndex()) and len(counts) < 5:
        view.table.scrollToBottom()
        qtbot.waitUntil(lambda: view.model.rowCount() > counts[-1] and not view.busy())
        counts.append(view.model.rowCount())
    assert counts == [200, 400, 450]
    assert names(view) == sorted(name for name, _ in people)
    assert view.status.text() == "450 members"
    qtmodeltester.check(view.model, force_py=True)


def test_a_new_member_enrolled_elsewhere_appears(
    qtbot: QtBot, runtime: Runtime, open_view: Callable[[], MembersView]
) -> None:
    enrol(runtime)
    view = open_view()
    runtime.services.members.enroll(EMPLOYEE, "Zoya Khan", "7000000001")
    qtbot.waitUntil(lambda: "Zoya Khan" in names(view), timeout=5000)
    assert view.status.text() == "4 members"


# -- New member ---------------------------------------------------------------------------


def errors_of(dialog: NewMemberDialog) -> dict[str, str]:
    return {k: label.text() for k, label in dialog.errors.items() if label.isVisible()}


def test_every_refusal_is_named_beside_its_field(
    qtbot: QtBot, runtime: Runtime, open_view: Callable[[], MembersView]
) -> None:
    view = open_view()
    dialog = new_member_dialog(qtbot, view)
    dialog.address.setPlainText("x" * 400)
    dialog.nominee.setText("R2-D2")
    qtbot.keyClick(dialog.name, Qt.Key.Key_Return)  # Enter enrols: it never cancels
    qtbot.waitUntil(lambda: bool(errors_of(dialog)))
    assert errors_of(dialog) == {
        "name": "Name is required.",
        "phone": "Mobile number is required.",
        "address": "Address is too long: at most 300 characters.",
        "nominee": "Nominee's name may contain only letters, spaces, dots, apostrophes and "
        "hyphens.",
    }
    assert dialog.isVisible() and dialog.name.hasFocus()
    dialog.name.setText("Asha Rao")
    dialog.phone.setText("12345")
    dialog.address.setPlainText("12 Anna Salai\nChennai 600002")
    dialog.nominee.setText("Ravi Rao")
    dialog.enrol_button.click()
    qtbot.waitUntil(lambda: "phone" in errors_of(dialog))
    assert errors_of(dialog) == {
        "phone": "Mobile number must have 10 digits; got 5.",
        "relationship": "Say how the nominee is related to the member.",
    }
    assert runtime.services.members.count() == 0
    dialog.address.setFocus()
    qtbot.keyClick(dialog.address, Qt.Key.Key_Tab)  # Tab leaves the address; Enter breaks a line
    assert dialog.nominee.hasFocus() and "\t" not in dialog.address.toPlainText()
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible() and runtime.services.members.count() == 0


def test_enrolling_opens_the_new_members_profile(
    qtbot: QtBot, runtime: Runtime, window: MainWindow
) -> None:
    view = window.pages["members"]
    assert isinstance(view, MembersView)
    window.go("members")
    dialog = new_member_dialog(qtbot, view)
    dialog.name.setText("  Asha   Rao ")
    dialog.phone.setText("98765 43210")
    dialog.address.setPlainText("12 Anna Salai\nChennai 600002")
    dialog.nominee.setText("Ravi Rao")
    dialog.relationship.setCurrentText("Son")
    qtbot.keyClick(dialog.phone, Qt.Key.Key_Return)
    profile = window.pages["member-profile"]
    assert isinstance(profile, MemberProfileView)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is profile and profile.profile is not None)
    assert not dialog.isVisible()
    member = runtime.services.members.find_by_phone("9876543210")
    assert member is not None and profile.member_id == member.id
    assert (member.name, member.address, member.member_no) == (
        "Asha Rao",
        "12 Anna Salai\nChennai 600002",
        "M-0001",
    )
    assert profile.heading.text() == "Asha Rao"
    assert "12 Anna Salai, Chennai 600002" in profile.contact.text()
    assert "Ravi Rao (Son)" in profile.contact.text()
    qtbot.waitUntil(lambda: "Asha Rao" in names(view))


def test_a_mobile_number_in_use_names_its_holder_and_offers_to_open_them(
    qtbot: QtBot, runtime: Runtime, window: MainWindow
) -> None:
    [holder, *_] = enrol(runtime)
    view = window.pages["members"]
    assert isinstance(view, MembersView)
    window.go("members")
    dialog = new_member_dialog(qtbot, view)
    dialog.name.setText("Someone Else")
    dialog.phone.setText("+91 98765-43210")
    dialog.enrol_button.click()
    qtbot.waitUntil(lambda: "phone" in errors_of(dialog))
    assert errors_of(dialog) == {"phone": "+91 XXXXXX3210 already belongs to Asha Rao (M-0001)."}
    assert dialog.holder_button.isVisible()
    assert runtime.services.members.count() == 3
    dialog.holder_button.click()
    profile = window.pages["member-profile"]
    qtbot.waitUntil(lambda: window.stack.currentWidget() is profile)
    assert isinstance(profile, MemberProfileView) and profile.member_id == holder
    assert not dialog.isVisible()


def test_enter_on_a_row_or_a_single_match_opens_the_profile(
    qtbot: QtBot, runtime: Runtime, window: MainWindow
) -> None:
    ids = enrol(runtime)
    view = window.pages["members"]
    assert isinstance(view, MembersView)
    window.go("members")
    qtbot.waitUntil(lambda: not view.busy() and view.model.rowCount() == 3)
    view.search.setText("lakshmi")
    qtbot.keyClick(view.search, Qt.Key.Key_Return)
    profile = window.pages["member-profile"]
    assert isinstance(profile, MemberProfileView)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is profile)
    assert profile.member_id == ids[1]
    profile.back.click()
    assert window.stack.currentWidget() is view
    view.search.setText("rao")
    qtbot.keyClick(view.search, Qt.Key.Key_Return)  # two match: the first is selected
    qtbot.waitUntil(lambda: view.table.hasFocus())
    qtbot.keyClick(view.table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is profile)
    assert profile.member_id == ids[0]


def test_an_empty_register_model_without_a_service_passes_the_tester(
    qtmodeltester: ModelTester,
) -> None:
    model = MemberRegisterModel()
    qtmodeltester.check(model, force_py=True)
    assert model.status_text() == "Opening the register…"
