"""Forming a group from the desktop: the terms form (each refusal under its field, the
first month worked out), the second person's approval, enrolment in ticket order and
the start once full; on the real widgets over real services."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from app.bootstrap import Runtime
from app.services.actors import Actor
from app.services.group_terms import FIELDS, RULES
from app.views import group_tables
from app.views.group_new import EXAMPLE, GroupNewView
from tests.builders import CHECKER, EMPLOYEE
from tests.views.drive import answer, form_group, retype, take_ticket, terms_fill

NAMES = ["Anil Joshi", "Bela Shah", "Chitra Iyer", "Dev Menon"]


@pytest.fixture
def people(runtime: Runtime) -> list[str]:
    members = runtime.services.members
    return [members.enroll(EMPLOYEE, n, f"9123456{i:03d}").id for i, n in enumerate(NAMES)]


def open_view(qtbot: QtBot, runtime: Runtime, actor: Actor) -> GroupNewView:
    view = GroupNewView(runtime.services, actor)
    qtbot.addWidget(view)
    view.resize(1280, 760)
    view.show()
    qtbot.waitUntil(lambda: not view.busy())
    return view


@pytest.fixture
def maker(qtbot: QtBot, runtime: Runtime) -> Iterator[GroupNewView]:
    view = open_view(qtbot, runtime, EMPLOYEE)
    yield view
    view.shutdown()


@pytest.fixture
def checker(qtbot: QtBot, runtime: Runtime) -> Iterator[GroupNewView]:
    view = open_view(qtbot, runtime, CHECKER)
    yield view
    view.shutdown()


def formed(qtbot: QtBot, view: GroupNewView, *, members: int = 3, **text: str) -> str:
    """A new group typed into ``view``'s form and formed; its id."""
    view.new_group()
    terms_fill(qtbot, view, members=members, **text)
    return form_group(qtbot, view)


def test_a_full_form_makes_a_group_awaiting_approval(
    qtbot: QtBot, runtime: Runtime, maker: GroupNewView
) -> None:
    gid = formed(qtbot, maker)
    group = runtime.services.groups.get_group(gid)
    assert (group.name, group.registration_no) == ("Kaveri 3 Lakh Chit", "TN/CHIT/2026/0301")
    assert (group.agreement.gross_paise, group.members) == (3_00_000_00, 3)
    assert group.awaiting_approval and group.created_by == EMPLOYEE.id
    panel = maker.panel
    assert "A second staff member now approves its terms" in panel.status.text()
    assert panel.approval.isVisibleTo(maker) and not panel.approve.isEnabled()
    assert panel.withdraw.isEnabled() and not panel.enrolment.isVisibleTo(maker)
    assert panel.approval_note.text().startswith("You formed this group")
    assert not panel.start.isEnabled()
    qtbot.waitUntil(lambda: [g.id for g in maker.list_model.rows()] == [gid])


@pytest.mark.parametrize(
    ("field", "text", "says"),
    [
        ("name", "", "Group name is required"),
        ("chit_value", "three lakh", "Chit value: 'three lakh' is not an amount"),
        ("chit_value", "3,00,000.01", "must divide evenly among 3 members"),
        ("commission", "7.5", "above the legal maximum of 7.00%"),
        ("discount_cap", "4", "must be above the commission"),
        ("bid_step", "0", "Bid step: the bid step must be a positive amount"),
        ("registration_no", "", "Registration (sanction) number is required"),
        ("registration_no", "applied for", "is not a registration number"),
    ],
)
def test_each_refusal_is_shown_under_its_field(
    qtbot: QtBot, runtime: Runtime, maker: GroupNewView, field: str, text: str, says: str
) -> None:
    maker.new_group()
    terms_fill(qtbot, maker, **{field: text})
    qtbot.mouseClick(maker.terms.submit, Qt.MouseButton.LeftButton)
    hint = maker.terms.hints[field]
    assert says in hint.text() and FIELDS[field] in hint.text()
    assert "b3261e" in hint.styleSheet()
    others = [k for k in FIELDS if k != field]
    assert all(maker.terms.hints[k].text() == RULES[k] for k in others)
    assert "1 field(s) to correct" in maker.terms.status.text()
    assert runtime.services.groups.list_groups() == []


def test_the_foreman_must_be_named_when_the_foreman_takes_period_one(
    qtbot: QtBot, runtime: Runtime, maker: GroupNewView, people: list[str]
) -> None:
    maker.new_group()
    terms_fill(qtbot, maker)
    maker.terms.foreman_first.setChecked(True)
    qtbot.mouseClick(maker.terms.submit, Qt.MouseButton.LeftButton)
    assert "Foreman's member: the foreman takes period 1" in maker.terms.hints["foreman"].text()
    qtbot.keyClicks(maker.terms.foreman_search, "Bela")
    qtbot.waitUntil(lambda: maker.terms.foreman.count() == 1)
    bela = runtime.services.members.get(people[1])
    shown = f"{bela.name} · {bela.phone_masked} · {bela.member_no}"
    assert maker.terms.foreman.itemText(0) == shown
    gid = form_group(qtbot, maker)
    group = runtime.services.groups.get_group(gid)
    assert group.foreman_member_id == people[1] and group.agreement.foreman_takes_first
    assert [t.member_id for t in runtime.services.groups.tickets(gid)] == [people[1]]


def test_an_error_from_the_service_lands_under_its_field_too(
    qtbot: QtBot, runtime: Runtime, maker: GroupNewView
) -> None:
    """The form checks as it goes; the service checks again on commit (here: the number
    is taken), and names the field."""
    formed(qtbot, maker)
    maker.new_group()
    terms_fill(qtbot, maker, name="Second Chit", registration_no="tn-chit-2026-0301")
    qtbot.mouseClick(maker.terms.submit, Qt.MouseButton.LeftButton)
    hint = maker.terms.hints["registration_no"]
    qtbot.waitUntil(lambda: "already group 'Kaveri 3 Lakh Chit'" in hint.text())
    assert maker.terms.submit.isEnabled() and maker.pages.currentWidget() is maker.terms
    assert len(runtime.services.groups.list_groups()) == 1


def test_the_preview_works_out_domain_md_example_as_it_is_typed(
    qtbot: QtBot, maker: GroupNewView
) -> None:
    maker.show_example()
    text = maker.terms.preview.text()
    for figure in ("₹10,000.00", "₹25,000.00", "₹1,50,000.00", "₹4,75,000.00", "₹3,50,000.00"):
        assert figure in text
    assert "₹2,500.00" in text and "₹7,500.00" in text
    retype(qtbot, maker.terms.discount_cap, "40")
    qtbot.waitUntil(lambda: "₹2,00,000.00" in maker.terms.preview.text())  # 40 % of ₹5,00,000
    assert "₹3,500.00" in maker.terms.preview.text()  # (2,00,000 − 25,000) ÷ 50
    retype(qtbot, maker.terms.chit_value, "five")
    qtbot.waitUntil(lambda: "Shown once Chit value" in maker.terms.preview.text())
    assert "Chit value: 'five'" in maker.terms.hints["chit_value"].text()  # it was touched
    assert maker.terms.hints["name"].text() == RULES["name"]  # untouched stays quiet
    assert EXAMPLE.name == maker.terms.name.text()


def test_approval_then_enrolment_in_ticket_order_then_the_start(
    qtbot: QtBot,
    runtime: Runtime,
    maker: GroupNewView,
    checker: GroupNewView,
    people: list[str],
    tmp_path: Path,
) -> None:
    gid = formed(qtbot, maker)
    qtbot.waitUntil(lambda: [g.id for g in checker.list_model.rows()] == [gid])
    checker.list.selectRow(0)
    qtbot.waitUntil(lambda: checker.panel.group is not None and checker.panel.approve.isEnabled())
    assert checker.panel.approval_note.text().startswith("Formed by Ravi Employee.")
    checker.panel.approve_terms("Checked against the sanction order")
    qtbot.waitUntil(lambda: maker.panel.enrolment.isVisibleTo(maker))
    assert not maker.panel.approval.isVisibleTo(maker)
    assert not maker.panel.start.isEnabled()
    assert "3 ticket(s) still to take" in maker.panel.start.toolTip()
    for name in ("Chitra Iyer", "Anil Joshi"):
        take_ticket(qtbot, maker, name)
    assert not maker.panel.start.isEnabled()
    retype(qtbot, maker.panel.search, "Chitra")
    qtbot.keyClick(maker.panel.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: (c := maker.panel.chosen()) is not None and c.name == "Chitra Iyer")
    assert maker.panel.chosen().why_not == "Holds ticket 1 already."  # type: ignore[union-attr]
    assert not maker.panel.enrol.isEnabled()
    take_ticket(qtbot, maker, "Dev Menon")
    tickets = maker.panel.ticket_rows.rows()
    assert [(t.ticket_no, t.name) for t in tickets] == [
        (1, "Chitra Iyer"), (2, "Anil Joshi"), (3, "Dev Menon")
    ]  # fmt: skip
    qtbot.waitUntil(lambda: maker.panel.start.isEnabled())
    assert not maker.panel.enrolment.isVisibleTo(maker)
    group_tables.export(maker.panel, runtime.services, gid, tmp_path / "tickets.csv")
    qtbot.waitUntil(lambda: "Ticket list saved" in maker.panel.status.text())
    rows = list(csv.reader(io.StringIO((tmp_path / "tickets.csv").read_text(encoding="utf-8"))))
    assert [r[2] for r in rows[3:]] == ["Chitra Iyer", "Anil Joshi", "Dev Menon"]
    qtbot.mouseClick(maker.panel.start, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: runtime.services.groups.get_group(gid).status == "running")
    qtbot.waitUntil(lambda: maker.list_model.rowCount() == 0)  # no longer being formed
    assert "Group started" in maker.panel.status.text()


def test_a_start_before_the_group_is_full_is_refused_with_the_reason(
    qtbot: QtBot, runtime: Runtime, maker: GroupNewView, people: list[str]
) -> None:
    gid = formed(qtbot, maker)
    runtime.services.groups.approve_terms(CHECKER, gid)
    qtbot.waitUntil(lambda: maker.panel.enrolment.isVisibleTo(maker))
    assert not maker.panel.start.isEnabled()
    maker.panel.start_group()  # as if the button were pressed anyway: the service refuses
    qtbot.waitUntil(lambda: "0 of its 3 tickets taken" in maker.panel.status.text())
    assert runtime.services.groups.get_group(gid).status == "forming"


def test_withdrawing_asks_why_escape_cancels_and_enter_confirms(
    qtbot: QtBot, runtime: Runtime, maker: GroupNewView, checker: GroupNewView
) -> None:
    gid = formed(qtbot, maker)
    qtbot.waitUntil(lambda: checker.list_model.rowCount() == 1)
    checker.show_item(group_id=gid)
    qtbot.waitUntil(lambda: checker.panel.withdraw.isEnabled())
    QTimer.singleShot(0, answer(None))
    checker.panel.ask_withdraw()
    assert runtime.services.groups.get_group(gid).status == "forming"
    QTimer.singleShot(0, answer("Cap should be 35%"))
    checker.panel.ask_withdraw()
    qtbot.waitUntil(lambda: runtime.services.groups.get_group(gid).status == "withdrawn")
    assert runtime.services.groups.get_group(gid).withdrawn_reason == "Cap should be 35%"
    qtbot.waitUntil(lambda: checker.list_model.rowCount() == 0)


def test_the_forming_models_pass_the_model_tester(
    qtbot: QtBot,
    runtime: Runtime,
    maker: GroupNewView,
    people: list[str],
    qtmodeltester: ModelTester,
) -> None:
    gid = formed(qtbot, maker)
    runtime.services.groups.approve_terms(CHECKER, gid)
    runtime.services.groups.enroll(EMPLOYEE, gid, people[0])
    qtbot.waitUntil(lambda: maker.panel.ticket_rows.rowCount() == 1)
    retype(qtbot, maker.panel.search, "a")
    qtbot.waitUntil(lambda: maker.panel.candidates.rowCount() == len(NAMES))
    model = maker.list_model
    qtbot.waitUntil(lambda: model.data(model.index(0, 1)) == "1 of 3 taken")
    for rows in (model, maker.panel.candidates, maker.panel.ticket_rows):
        qtmodeltester.check(rows, force_py=True)
