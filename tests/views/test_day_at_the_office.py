"""A day at the office, end to end, on the real widgets (issue 11).

Two people work at two desktops over one data directory: Ravi, an employee, does the
work; Kiran, the manager, checks it (maker-checker) and closes the auction. They enrol
three members with KYC and documents dropped on the capture page, approve the KYC, form
a group of three and start it; two members bid from Chromium through the web view; the
auction closes; the winner's security is recorded and the prize released with an advance
of company cash. Then ``tfos ledger check`` and ``tfos wal verify`` pass as real
processes, and every screen shows the same figures as the services' read models.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QDialog,
    QLineEdit,
    QListWidget,
    QWidget,
)
from pytestqt.qtbot import QtBot

from app.services.demo.people import one_page_pdf
from app.services.ledger.postings import COMPANY_CASH
from app.services.money import rupees
from app.views.auction_control import AuctionControlView
from app.views.collections import CollectionsView
from app.views.formatting import inr
from app.views.group_detail import GroupDetailView
from app.views.group_new import GroupNewView
from app.views.kyc import KycQueueView
from app.views.kyc_capture import KycCaptureView
from app.views.main_window import MainWindow
from app.views.member_profile import MemberProfileView
from app.views.members import MembersView
from app.views.payout_dialogs import ReleaseDialog, SecurityDialog
from app.views.payouts import PayoutsView
from app.views.statement_import import StatementImportView
from tests.browser.conftest import PHONE_SIZE, Served, chromium, serving, sign_in
from tests.browser.world import World
from tests.builders import ADMIN2, EMPLOYEE, aadhaar, pan
from tests.cli import tfos
from tests.views.builders import main_window, png_bytes
from tests.views.drive import (
    click,
    drop,
    form_group,
    kyc_fill,
    new_member_dialog,
    pane_shows,
    press_ok,
    reason,
    retype,
    settle,
    take_ticket,
    terms_fill,
    when_shown,
)

if TYPE_CHECKING:
    from app.bootstrap import Runtime

pytestmark = [pytest.mark.browser]

CLERK, MANAGER = EMPLOYEE, ADMIN2
"""Ravi does the work at the counter; Kiran (an admin) checks it and closes auctions."""
GROUP = "Kaveri 3 Lakh Chit"
V = TypeVar("V", bound=QWidget)


@dataclass(frozen=True)
class Person:
    name: str
    mobile: str  # as the member says it at the counter
    nominee: str
    seed: int  # their PAN and Aadhaar

    @property
    def phone(self) -> str:
        return "+91" + self.mobile.replace(" ", "")


PEOPLE = (
    Person("Anil Joshi", "98401 10001", "Sunita Joshi", 11),
    Person("Bela Shah", "98401 10002", "Hemant Shah", 12),
    Person("Chitra Iyer", "98401 10003", "Ramesh Iyer", 13),
)
BIDS = {"Anil Joshi": "24,000", "Bela Shah": "30,000"}
"""The discounts two members bid from their phones; Bela's is the best."""


@pytest.fixture
def desk(qtbot: QtBot, runtime: Runtime) -> Iterator[MainWindow]:
    """Ravi's desktop."""
    yield from main_window(qtbot, runtime, CLERK)


@pytest.fixture
def office(qtbot: QtBot, runtime: Runtime) -> Iterator[MainWindow]:
    """Kiran's desktop, over the same data directory."""
    yield from main_window(qtbot, runtime, MANAGER)


def test_a_day_at_the_office(
    qtbot: QtBot,
    runtime: Runtime,
    desk: MainWindow,
    office: MainWindow,
    tmp_path: Path,
    errors: list[BaseException],
) -> None:
    runtime.services.ledger.add_capital(
        MANAGER, 5_00_000_00, "Company cash for prize advances", into=COMPANY_CASH
    )
    members = [enrol_with_kyc(qtbot, desk, p, documents(tmp_path / p.name, p)) for p in PEOPLE]
    approve_kyc(qtbot, office, members, tmp_path)
    group_id = form_and_start(qtbot, desk, office)
    auction_id = open_auction(qtbot, desk, group_id)
    world = World(members, group_id, tuple(p.phone for p in PEOPLE))
    with chromium() as browser, serving(runtime) as url:
        phones = bid_from_the_web(qtbot, browser, Served(runtime, world, url), desk, auction_id)
        payout_id = close_auction(qtbot, office, group_id)
        take_receipts(qtbot, desk, office, members)
        import_statement(qtbot, desk, tmp_path / "statement.csv", runtime.services.clock.today())
        release_prize(qtbot, desk, office, payout_id)
        same_figures(qtbot, runtime, office, group_id, members)
        the_web_agrees(runtime, url, phones, group_id)
    assert errors == []
    the_books_check_out(runtime)


def page(window: MainWindow, name: str, kind: type[V], **params: Any) -> V:
    """Go to the view ``name`` in ``window`` (a page with ``params``), and return it."""
    window.activateWindow()
    window.go(name, **params)
    view = window.pages[name]
    assert isinstance(view, kind) and window.stack.currentWidget() is view
    return view


# -- 1. enrol three members, with KYC and documents dropped on the page ------------------


def documents(folder: Path, person: Person) -> list[Path]:
    """The PAN card photo and the Aadhaar PDF the member brought, as files on disk."""
    folder.mkdir(parents=True)
    pan_card = folder / "pan-card.png"
    pan_card.write_bytes(png_bytes(f"#{person.seed * 7:02x}88aa"))
    letter = folder / "aadhaar.pdf"
    letter.write_bytes(one_page_pdf(f"Aadhaar of {person.name} (test)"))
    return [pan_card, letter]


def enrol_with_kyc(qtbot: QtBot, desk: MainWindow, person: Person, papers: list[Path]) -> str:
    """Members → New member → the profile → Start KYC → the capture page, where the
    member's ``papers`` are dropped; the member's id."""
    register = page(desk, "members", MembersView)
    dialog = new_member_dialog(qtbot, register)
    qtbot.keyClicks(dialog.name, person.name)
    qtbot.keyClicks(dialog.phone, person.mobile)
    dialog.address.setPlainText("12 Anna Salai\nChennai 600002")
    qtbot.keyClicks(dialog.nominee, person.nominee)
    dialog.relationship.setCurrentText("Spouse")
    qtbot.keyClick(dialog.phone, Qt.Key.Key_Return)
    profile = desk.pages["member-profile"]
    assert isinstance(profile, MemberProfileView)
    qtbot.waitUntil(
        lambda: (
            desk.stack.currentWidget() is profile
            and profile.profile is not None
            and profile.profile.member.name == person.name
        )
    )
    member_id = str(profile.member_id)
    assert profile.kyc_button.isEnabled()
    click(qtbot, profile.kyc_button)
    capture = desk.pages["kyc-capture"]
    assert isinstance(capture, KycCaptureView) and desk.stack.currentWidget() is capture
    qtbot.waitUntil(lambda: capture.member_id == member_id and capture.submit_button.isEnabled())
    settle(qtbot, capture)
    kyc_fill(qtbot, capture, pan=pan(person.seed), aadhaar=aadhaar(person.seed))
    assert drop(capture, papers)
    settle(qtbot, capture)
    assert capture.attachments.status.text() == "2 documents attached"
    click(qtbot, capture.submit_button)
    settle(qtbot, capture)
    assert capture.outcome.text().startswith("Submitted for checking"), capture.outcome.text()
    return member_id


# -- 2. the second person approves the KYC -----------------------------------------------


def approve_kyc(qtbot: QtBot, office: MainWindow, members: list[str], folder: Path) -> None:
    """The queue lists the three; one's documents are those dropped, unchanged; all
    three are approved at once."""
    queue = page(office, "kyc-queue", KycQueueView)
    qtbot.waitUntil(
        lambda: (
            not queue.live.busy
            and sorted(r.member_id for r in queue.model.rows()) == sorted(members)
        )
    )
    first = queue.table.visualRect(queue.model.index(0, 0)).center()
    qtbot.mouseClick(queue.table.viewport(), Qt.MouseButton.LeftButton, pos=first)
    qtbot.waitUntil(lambda: len(queue.pane.cards) == 2)
    dropped = {hashlib.sha256(p.read_bytes()).hexdigest() for p in
               (folder / queue.model.row(0).name).iterdir()}  # fmt: skip
    assert {c.check.toolTip().removeprefix("SHA-256 recorded: ") for c in queue.pane.cards} == (
        dropped
    )
    assert {c.check.text() for c in queue.pane.cards} == {"✓ Hash matches what was submitted"}
    queue.table.setFocus()
    qtbot.keyClick(queue.table, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert sorted(queue.selected_ids()) == sorted(members)
    click(qtbot, queue.approve_button)
    qtbot.waitUntil(lambda: not queue.live.busy and queue.model.rowCount() == 0)


# -- 3. form a group of three, approve its terms, enrol the three, start it --------------


def form_and_start(qtbot: QtBot, desk: MainWindow, office: MainWindow) -> str:
    forming = page(desk, "group-new", GroupNewView)
    click(qtbot, forming.new)
    terms_fill(qtbot, forming, name=GROUP, registration_no="TN/CHIT/2026/0301")
    group_id = form_group(qtbot, forming)
    checking = page(office, "group-new", GroupNewView)
    qtbot.waitUntil(lambda: [g.id for g in checking.list_model.rows()] == [group_id])
    checking.list.selectRow(0)
    when_shown("Approve the terms", reason("Checked against the sanction order"))
    click(qtbot, checking.panel.approve)
    page(desk, "group-new", GroupNewView)
    qtbot.waitUntil(lambda: forming.panel.enrolment.isVisibleTo(forming))
    for person in PEOPLE:
        take_ticket(qtbot, forming, person.name)
    tickets = forming.panel.ticket_rows.rows()
    assert [(t.ticket_no, t.name, t.kyc_status) for t in tickets] == [
        (n, p.name, "approved") for n, p in enumerate(PEOPLE, 1)
    ]
    click(qtbot, forming.panel.start)
    qtbot.waitUntil(lambda: "Group started" in forming.panel.status.text())
    return group_id


# -- 6. the auction: opened at the desk, two members bid from Chromium -------------------


def open_auction(qtbot: QtBot, desk: MainWindow, group_id: str) -> str:
    control = page(desk, "auctions", AuctionControlView)
    qtbot.waitUntil(lambda: control.state is not None and control.state.group.id == group_id)
    click(qtbot, control.open_button)
    qtbot.waitUntil(lambda: control.state is not None and control.state.is_open)
    assert control.state is not None and control.state.auction is not None
    return control.state.auction.id


def bid_from_the_web(
    qtbot: QtBot, browser: Any, served: Served, desk: MainWindow, auction_id: str
) -> dict[str, Any]:
    """Two members sign in with a texted code and bid from their phones, which stay in
    the auction room; the phones by member id."""
    phones = {}
    for member_id, person in zip(served.world.members, PEOPLE[:2], strict=False):
        phone = browser.new_context(viewport=PHONE_SIZE).new_page()
        sign_in(phone, served, person.phone)
        phone.goto(served.url + f"#/auctions/{auction_id}")
        phone.wait_for_selector("#countdown:not(:empty)")
        phone.fill("#bid", BIDS[person.name])
        phone.click("#bid-btn")
        phone.wait_for_selector("#bid-msg .ok")
        phones[member_id] = phone
    control = desk.pages["auctions"]
    assert isinstance(control, AuctionControlView)
    qtbot.waitUntil(lambda: control.bids.rowCount() == 2)
    shown = [control.bids.data(control.bids.index(r, 2)) for r in range(2)]
    assert shown == ["₹30,000.00", "₹24,000.00"]  # newest first
    return phones


# -- 7. the manager closes the auction ---------------------------------------------------


def close_auction(qtbot: QtBot, office: MainWindow, group_id: str) -> str:
    """Close early (only an admin may), with Chitra present; the prize's payout id."""
    control = page(office, "auctions", AuctionControlView)
    qtbot.waitUntil(lambda: control.state is not None and control.bids.rowCount() == 2)

    def why(dialog: QDialog) -> None:
        reason = dialog.findChild(QLineEdit)
        assert reason is not None
        QTest.keyClicks(reason, "Every subscriber present has bid")
        when_shown("Close the auction", present)
        QTest.keyClick(reason, Qt.Key.Key_Return)

    def present(dialog: QDialog) -> None:
        names = dialog.findChild(QListWidget)
        assert names is not None
        rows = [names.item(i).text() for i in range(names.count())]
        names.setFocus()
        names.setCurrentRow(rows.index("Chitra Iyer"))
        QTest.keyClick(names, Qt.Key.Key_Space)
        press_ok(dialog)

    when_shown("Close early", why)
    click(qtbot, control.close_button)
    qtbot.waitUntil(lambda: "Winner" in control.result.text())
    assert "seed matches its commitment" in control.result.text()
    room = control.state
    assert room is not None and room.auction is not None
    assert room.minutes is not None and int(room.minutes["discount"]) == 30_000_00
    payouts = page(office, "payouts", PayoutsView)
    qtbot.waitUntil(lambda: payouts.model.rowCount() == 1)
    return payouts.model.row(0).id


# -- 4. receipts at the counter: cash a second person counts, a cheque that bounces -----


def take_receipts(qtbot: QtBot, desk: MainWindow, office: MainWindow, members: list[str]) -> None:
    """Anil pays ₹95,000 in cash, which Kiran counts; Bela pays by cheque, which the bank
    returns, and Kiran confirms the bounce: Bela owes her instalment again."""
    anil, bela = members[:2]
    counter = at_the_counter(qtbot, desk, anil)
    take(qtbot, counter, "cash")
    assert "waits for a second person to count it" in counter.counter.outcome.text()
    second_person(qtbot, office, "Approve: Cash receipt", anil)
    qtbot.waitUntil(lambda: counter.desk is not None and counter.desk.dues == [])

    counter = at_the_counter(qtbot, desk, bela)
    take(qtbot, counter, "cheque", "004512", ifsc="SBIN0001234")
    assert counter.counter.outcome.text().endswith("by Cheque, pending clearance.")
    cheques = counter.queue
    counter.tabs.setCurrentWidget(cheques)
    qtbot.waitUntil(lambda: cheques.cheques.rowCount() == 1)
    cheques.cheques_table.selectRow(0)

    def returned(dialog: QDialog) -> None:
        QTest.keyClicks(dialog.findChild(QLineEdit), "Funds insufficient")
        press_ok(dialog)

    when_shown("Report a bounced cheque", returned)
    click(qtbot, cheques.bounce_button)
    qtbot.waitUntil(lambda: "a second person approves it" in cheques.note.text())
    second_person(qtbot, office, "Approve: Cheque bounce", bela)
    qtbot.waitUntil(lambda: cheques.cheques.rowCount() == 0)
    counter = at_the_counter(qtbot, desk, bela)
    qtbot.waitUntil(lambda: counter.desk is not None and len(counter.desk.dues) == 1)


def at_the_counter(qtbot: QtBot, desk: MainWindow, member_id: str) -> CollectionsView:
    """The member's profile → "Take a receipt": the counter, with their dues."""
    profile = profile_of(qtbot, desk, member_id)
    click(qtbot, profile.receipt_button)
    counter = desk.pages["collections"]
    assert isinstance(counter, CollectionsView) and desk.stack.currentWidget() is counter
    qtbot.waitUntil(lambda: counter.desk is not None and counter.desk.member.id == member_id)
    return counter


def take(qtbot: QtBot, view: CollectionsView, mode: str, number: str = "", ifsc: str = "") -> None:
    """Take the first open due in full, in ``mode`` (cash has its slip number already)."""
    form = view.counter
    qtbot.waitUntil(lambda: form.chosen_due() is not None)
    form.mode.setCurrentIndex(form.mode.findData(mode))
    if number:
        retype(qtbot, form.reference, number)
    if ifsc:
        retype(qtbot, form.ifsc, ifsc)
    form.outcome.clear()
    click(qtbot, form.record)
    qtbot.waitUntil(lambda: form.outcome.text() != "" or form.error.text() != "")
    assert form.error.text() == ""


def second_person(qtbot: QtBot, office: MainWindow, title: str, member_id: str) -> None:
    """Kiran approves, in the counter's second-person list, what waits for ``member_id``."""
    view = page(office, "collections", CollectionsView)
    queue = view.queue
    view.tabs.setCurrentWidget(queue)
    qtbot.waitUntil(lambda: any(a.member_id == member_id for a in queue.approvals.rows()))
    row = next(r for r, a in enumerate(queue.approvals.rows()) if a.member_id == member_id)
    queue.approvals_table.selectRow(row)
    when_shown(title, reason("Counted and checked"))
    click(qtbot, queue.approve_button)
    qtbot.waitUntil(lambda: queue.note.text() == "Approved.")


# -- 5. the bank statement: Chitra paid by NEFT ----------------------------------------


STATEMENT = """Account Name,TRANSACTFLOWOS CHIT FUNDS - COLLECTION ACCOUNT
Account Number,XXXXXXX4321

Txn Date,Value Date,Description,Ref No./Cheque No.,Debit,Credit,Balance
{day},{day},NEFT-HDFC0000123-CHITRA IYER-KAVERI CHIT,HDFC126337000001,,"95,000.00","10,95,000.00"
{day},{day},NEFT-ICIC0000104-RAMESH KUMAR-TUITION FEES,ICIC126300000000,,"12,500.00","11,07,500.00"
{day},{day},CHQ PAID-004101-OFFICE RENT,004101,"45,000.00",,"10,62,500.00"
"""


def import_statement(qtbot: QtBot, desk: MainWindow, csv: Path, today: date) -> None:
    """The morning's statement (``today``, the office's day): chosen, sorted, recorded."""
    csv.write_text(STATEMENT.format(day=f"{today:%d/%m/%Y}"), encoding="utf-8")
    view = page(desk, "statement-import", StatementImportView)
    choose(qtbot, view, csv)
    assert tallies(view) == {"Matched": "1 (₹95,000.00)", "Unmatched": "1 (₹12,500.00)",
                             "Not a receipt": "1 (-₹45,000.00)"}  # fmt: skip
    assert view.record.text() == "Record 1 receipt"
    click(qtbot, view.record)
    qtbot.waitUntil(lambda: "Recorded 1 receipt" in view.outcome.text())
    qtbot.waitUntil(lambda: not view.busy())
    assert "imported before: 1 receipt (₹95,000.00)" in view.file.text()
    assert tallies(view)["Already recorded"] == "1 (₹95,000.00)"  # the file sorted again
    assert not view.record.isEnabled()


def tallies(view: StatementImportView) -> dict[str, str]:
    """The summary above the statement: each verdict's lines and amount."""
    text = re.sub(r"<[^>]+>", "", view.summary.text())
    return dict(re.findall(r"([A-Z][a-z ]*?) (\d[\d,]* \(-?₹[\d,.]+\))", text))


def choose(qtbot: QtBot, view: StatementImportView, csv: Path) -> None:
    """ "Choose CSV…" and pick ``csv`` in the file dialog, as a person types its path."""

    def pick(dialog: QDialog) -> None:
        name = dialog.findChild(QLineEdit, "fileNameEdit")
        assert name is not None
        name.setText(str(csv))  # pasted: typed, the completer's popup would need a screen
        QTest.keyClick(name, Qt.Key.Key_Return)

    when_shown("Choose a bank statement", pick)
    click(qtbot, view.choose)
    qtbot.waitUntil(lambda: view.preview is not None and not view.busy())


# -- 8. security, the release asked for and granted, with an advance --------------------


def release_prize(qtbot: QtBot, desk: MainWindow, office: MainWindow, payout_id: str) -> None:
    maker = page(desk, "payouts", PayoutsView)
    qtbot.waitUntil(lambda: maker.model.rowCount() == 1)
    pane_shows(qtbot, maker, payout_id, "None yet")

    def secure(dialog: QDialog) -> None:
        assert isinstance(dialog, SecurityDialog)
        dialog.kind.setCurrentIndex(dialog.kind.findData("guarantor"))
        QTest.keyClicks(dialog.value, "3,00,000")
        QTest.keyClicks(dialog.description, "Two salaried guarantors, letters on file")
        assert dialog.check.text().startswith("₹3,00,000.00 covers"), dialog.check.text()
        QTest.keyClick(dialog.description, Qt.Key.Key_Return)

    said = press(qtbot, maker, "secure", "Record the winner's security", secure)
    assert said.startswith("Security recorded: ₹3,00,000.00")
    said = press(qtbot, maker, "request", "Ask for the release", reason("Letters checked"))
    assert said == "Release asked for: a second person releases it now."
    pane_shows(qtbot, maker, payout_id, "short by ₹95,000.00")  # Bela's cheque bounced
    why = reason("Bela pays again this week; the prize is due first")
    said = press(qtbot, maker, "propose", "Propose an advance", why)
    assert said.startswith("Advance of ₹95,000.00 proposed")

    checker = page(office, "payouts", PayoutsView)
    pane_shows(qtbot, checker, payout_id, "proposed by Ravi")
    said = press(qtbot, checker, "approve", "Approve the advance", reason("Dues register seen"))
    assert said.startswith("Advance granted by the Banker's check")
    pane_shows(qtbot, checker, payout_id, "Releasing it is granted")

    def release(dialog: QDialog) -> None:
        assert isinstance(dialog, ReleaseDialog) and not dialog.late
        QTest.keyClicks(dialog.bank_ref, "NEFT-KAVERI-0001")
        press_ok(dialog)

    said = press(qtbot, checker, "release", "Release the prize", release)
    assert said.startswith("Released ₹2,70,000.00. Banker's check: granted"), said


def press(
    qtbot: QtBot, view: PayoutsView, button: str, title: str, act: Callable[[QDialog], None]
) -> str:
    """Press one of the prize's buttons and ``act`` on the dialog (``title``) it opens;
    the outcome the view then shows."""
    before = view.pane.outcome.text()
    when_shown(title, act)
    click(qtbot, view.pane.buttons[button])
    qtbot.waitUntil(lambda: view.pane.outcome.text() not in ("", before))
    return view.pane.outcome.text()


# -- the same figures on every screen -----------------------------------------------------


def same_figures(
    qtbot: QtBot, runtime: Runtime, office: MainWindow, group_id: str, members: list[str]
) -> None:
    """The group's page, the register, each member's profile and counter card, and the
    payouts screen show what the services' read models say, and agree with each other."""
    book = runtime.services.groups.detail(group_id).book
    assert book is not None
    period = book.periods[0]
    assert (period.winner, period.discount, period.prize, period.dividend) == (
        "Bela Shah", 30_000_00, 2_70_000_00, 5_000_00
    )  # fmt: skip
    assert (period.collected, period.expected) == (1_90_000_00, 2_85_000_00)  # Bela's bounced
    group = page(office, "group-detail", GroupDetailView, group_id=group_id)
    qtbot.waitUntil(lambda: group.periods.rowCount() == 3 and not group.busy())
    drawn = shown(group.periods, 0)
    assert drawn["Winner"] == period.winner
    assert [paise(drawn[k]) for k in ("Discount", "Prize", "Dividend / member", "Net instalment")]\
        == [period.discount, period.prize, period.dividend, period.net_instalment]  # fmt: skip
    got, due = (paise(part) for part in drawn["Collected of due"].split(" of "))
    assert (got, due) == (period.collected, period.expected)
    prize = shown(group.payouts, 0)
    assert (prize["Winner"], paise(prize["Prize"]), prize["Status"]) == (
        period.winner, period.prize, "Released"
    )  # fmt: skip
    outstanding = {t.member_id: paise(shown(group.tickets, r)["Outstanding"])
                   for r, t in enumerate(group.tickets.rows())}  # fmt: skip
    assert outstanding == {t.member_id: t.outstanding for t in book.tickets}
    assert sum(outstanding.values()) == due - got  # what the members owe, the group lacks

    register = page(office, "members", MembersView)
    qtbot.waitUntil(lambda: register.model.rowCount() == 3 and not register.busy())
    listed = {row.member_id: shown(register.model, r) for r, row in
              enumerate(register.model.rows())}  # fmt: skip
    for member_id in members:
        owed = outstanding[member_id]
        assert owed == (95_000_00 if member_id == period.winner_id else 0)
        profile = profile_of(qtbot, office, member_id)
        read = runtime.services.member_profiles.profile(member_id)
        assert paise(profile.cards["owed"].value.text()) == read.owed == owed
        assert paise(shown(profile.tickets, 0)["Owes"]) == owed
        receipts = [shown(profile.receipts, r) for r in range(profile.receipts.rowCount())]
        kept = [r for r in receipts if "bounced" not in " ".join(r.values()).lower()]
        assert sum(paise(r["Amount"]) for r in kept) + owed == period.net_instalment
        assert "KYC approved" in profile.details.text()
        row = listed[member_id]
        assert (row["KYC"], paise(row["Overdue"])) == ("Approved", read.late.amount)
        won = member_id == period.winner_id
        assert row["Tickets"] == ("1 (1 prized)" if won else "1")
        if won:
            paid = shown(profile.payouts, 0)
            assert (paise(paid["Prize"]), paid["Status"]) == (period.prize, "Released")
        counter = at_the_counter(qtbot, office, member_id)
        card = counter.counter.card.text()
        assert (f"owes <b>{inr(owed)}</b>" if owed else "owes nothing") in card

    board = page(office, "payouts", PayoutsView)
    board.which.setCurrentIndex(board.which.findData("all"))
    qtbot.waitUntil(lambda: board.model.rowCount() == 1 and not board.busy())
    row = board.model.row(0)
    assert (row.winner, row.status) == (period.winner, "released")
    assert paise(shown(board.model, 0)["To pay"]) == row.to_pay == period.prize


def shown(model: Any, row: int) -> dict[str, str]:
    """What a table shows in one row, by column heading."""
    heading = Qt.Orientation.Horizontal
    return {
        model.headerData(c, heading): model.data(model.index(row, c))
        for c in range(model.columnCount())
    }


def paise(text: str) -> int:
    """An amount as a screen shows it (``₹2,70,000.00``; a dash for none), in paise."""
    return 0 if text.strip() in ("—", "–", "") else rupees(text)


def profile_of(qtbot: QtBot, office: MainWindow, member_id: str) -> MemberProfileView:
    profile = page(office, "member-profile", MemberProfileView, member_id=member_id)
    qtbot.waitUntil(
        lambda: (
            profile.profile is not None
            and profile.profile.member.id == member_id
            and not profile.busy()
        )
    )
    return profile


def the_web_agrees(runtime: Runtime, url: str, phones: dict[str, Any], group_id: str) -> None:
    """The members' phones saw the result live, and their dashboards show what they owe
    as the desktop does."""
    book = runtime.services.groups.detail(group_id).book
    assert book is not None
    winner = book.periods[0].winner_id
    for member_id, phone in phones.items():
        phone.wait_for_selector("#result :text('Seed (revealed)')")
        result = phone.inner_text("#result")
        assert ("You won this period's prize." in result) == (member_id == winner)
        assert "₹30,000.00" in result
        phone.goto(url + "#/")
        total = phone.locator(".stat", has_text="Total due").locator(".value").inner_text()
        assert paise(total) == runtime.services.member_profiles.profile(member_id).owed


# -- the books, checked by the command line ----------------------------------------------


def the_books_check_out(runtime: Runtime) -> None:
    """``tfos ledger check`` and ``tfos wal verify`` as real processes, on the data
    directory the desktops still hold open."""
    data = runtime.settings.data_dir
    ledger = tfos(data, "ledger", "check")
    assert ledger.returncode == 0, ledger.stdout + ledger.stderr
    assert "The ledger balances." in ledger.stdout
    assert "Dues outstanding match the members' receivables." in ledger.stdout
    wal = tfos(data, "wal", "verify")
    assert wal.returncode == 0, wal.stdout + wal.stderr
    report = json.loads(wal.stdout)
    assert report["ok"] and report["broken"] == []
    assert report["head_lsn"] == runtime.pipeline.wal.head()[0]
