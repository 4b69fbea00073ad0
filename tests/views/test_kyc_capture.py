"""The KYC capture page with real files: live checks per field, masked numbers, dropped
documents (accepted by content, hashed, previewed; refused naming the file and why), the
member picker, and a submission that a second staff member decides in the KYC queue."""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from app.kernel.errors import PermissionDenied
from app.services.actors import Actor
from app.services.demo.people import one_page_pdf
from app.services.kyc.documents import MAX_DOCUMENT_BYTES
from app.views.kyc import KycQueueView
from app.views.kyc_capture import KycCaptureView, MaskedLineEdit
from app.views.main_window import MainWindow
from app.views.navigation import go
from tests.builders import (
    AADHAAR,
    ADMIN,
    EMPLOYEE,
    EMPLOYEE2,
    PAN,
    aadhaar,
    jpeg_bytes,
)
from tests.views.builders import opener, png_bytes, submit_kyc
from tests.views.drive import ADDRESS, drop, kyc_fill, kyc_type, settle

if TYPE_CHECKING:
    from app.bootstrap import Runtime

MAKER, CHECKER = EMPLOYEE, EMPLOYEE2


@pytest.fixture(autouse=True)
def _collect_cycles_here() -> Iterator[None]:
    """Widgets left in reference cycles are freed now, on the GUI thread, not by a later
    collection on a worker thread (which would delete a widget from there)."""
    yield
    gc.collect()


@pytest.fixture
def open_capture(qtbot: QtBot, runtime: Runtime) -> Iterator[Callable[..., KycCaptureView]]:
    def make(actor: Actor = MAKER, member_id: str | None = None) -> KycCaptureView:
        view = KycCaptureView(runtime.services, actor)
        qtbot.addWidget(view)
        view.resize(1200, 720)
        view.show()
        if member_id is not None:
            view.show_item(member_id=member_id)
            settle(qtbot, view)
        return view

    yield from opener(make)


@pytest.fixture
def member(runtime: Runtime) -> str:
    return runtime.services.members.enroll(ADMIN, "Lakshmi Devi", "9876543210").id


def documents(folder: Path) -> dict[str, Path]:
    """Real files as a member brings them, and the ones the desk must refuse."""
    files = {
        "aadhaar.pdf": one_page_pdf("Aadhaar of Lakshmi Devi (test)"),
        "pan-card.jpg": jpeg_bytes((30, 90, 200), size=64),
        "photo.png": png_bytes("#d04020"),
        "setup.pdf": b"MZ\x90\x00\x03" + bytes(2000),  # a program renamed
        "broken.pdf": one_page_pdf("cut short")[:200],
    }
    paths = {}
    for name, data in files.items():
        paths[name] = folder / name
        paths[name].write_bytes(data)
    big = paths["scan-600dpi.pdf"] = folder / "scan-600dpi.pdf"
    with open(big, "wb") as f:
        f.write(b"%PDF-1.7\n")
        f.truncate(MAX_DOCUMENT_BYTES + 512 * 1024)
    return paths


def verdict(view: KycCaptureView, field: str) -> str:
    return view.rows[field].verdict.text()


def ink(image: QImage) -> tuple[int, int]:
    """(white pixels, other pixels) of ``image``, sampled on a grid."""
    white = other = 0
    for y in range(0, image.height(), 2):
        for x in range(0, image.width(), 2):
            if QColor(image.pixel(x, y)).lightness() > 250:
                white += 1
            else:
                other += 1
    return white, other


# -- fields -----------------------------------------------------------------------------


def test_each_field_shows_the_services_verdict_as_it_is_typed(
    qtbot: QtBot, open_capture: Callable[..., KycCaptureView], member: str
) -> None:
    view = open_capture(member_id=member)
    assert view.rows["name"].value() == "Lakshmi Devi" and verdict(view, "name") == "✓ OK"
    kyc_type(qtbot, view, "pan", "ABCPD12")
    assert verdict(view, "pan") == "PAN must be 10 characters; got 7."
    qtbot.keyClicks(view.rows["pan"].editor, "34E")
    assert verdict(view, "pan") == "✓ Looks right"
    kyc_type(qtbot, view, "aadhaar", "5211 8513 3377")
    assert verdict(view, "aadhaar") == "Aadhaar XXXX-XXXX-3377 fails its check digit."
    kyc_type(qtbot, view, "ifsc", "SBIN1001234")
    assert "IFSC 'SBIN1001234' is not valid" in verdict(view, "ifsc")
    kyc_type(qtbot, view, "account_number", "12345")
    assert verdict(view, "account_number") == "Account number must be 9 to 18 digits; got 5."
    kyc_type(qtbot, view, "address", "12 Anna Salai, Chennai")
    assert verdict(view, "address") == "Address needs its 6-digit PIN code (e.g. 600041)."
    qtbot.keyClicks(view.rows["address"].editor, " 600002")
    assert verdict(view, "address") == "✓ OK"


def test_numbers_are_masked_once_the_field_is_left(
    qtbot: QtBot, open_capture: Callable[..., KycCaptureView], member: str
) -> None:
    view = open_capture(member_id=member)
    view.activateWindow()
    kyc_fill(qtbot, view)
    qtbot.waitUntil(lambda: view.rows["address"].editor.hasFocus())
    shown = {f: view.rows[f].editor.text() for f in ("pan", "aadhaar", "account_number")}  # type: ignore[union-attr]
    assert shown == {"pan": "XXXXXX234E", "aadhaar": "XXXX-XXXX-3376",
                     "account_number": "XXXXXXXX6789"}  # fmt: skip
    assert view.values()["pan"] == PAN and view.values()["aadhaar"] == AADHAAR
    pan = view.rows["pan"].editor
    assert isinstance(pan, MaskedLineEdit)
    pan.setFocus()
    qtbot.waitUntil(pan.hasFocus)
    assert pan.text() == PAN  # in clear again while it is being edited
    texts = " ".join(w.text() for w in view.findChildren(QLabel))
    assert PAN[:6] not in texts and AADHAAR[:8] not in texts and "9876543210" not in texts


# -- documents --------------------------------------------------------------------------


def test_dropped_files_are_checked_by_content_hashed_and_previewed(
    qtbot: QtBot, open_capture: Callable[..., KycCaptureView], member: str, tmp_path: Path
) -> None:
    view = open_capture(member_id=member)
    files = documents(tmp_path)
    assert drop(view, list(files.values()))
    settle(qtbot, view)
    cards = view.attachments.cards
    assert [c.item.document.name for c in cards] == ["aadhaar.pdf", "pan-card.jpg", "photo.png"]
    for card in cards:
        expected = hashlib.sha256(files[card.item.document.name].read_bytes()).hexdigest()
        assert card.item.document.sha256 == expected
        assert card.sha.toolTip() == expected
        assert card.sha.text().replace("<br>", " ").endswith(" ".join(
            expected[i : i + 8] for i in range(0, 64, 8)) + "</tt>")  # fmt: skip
    pdf_page = cards[0].picture.pixmap().toImage()
    white, other = ink(pdf_page)
    assert pdf_page.width() == 220 and white > 0 and other > 0  # paper and the text on it
    jpeg = cards[1].picture.pixmap().toImage()
    assert QColor(jpeg.pixel(20, 20)).blue() > 150  # the blue card, not a blank label
    problems = view.attachments.problems.text()
    assert view.attachments.problems.isVisible()
    assert "setup.pdf is not a PNG, JPEG or PDF file (checked by its content)" in problems
    assert "broken.pdf is a PDF but it is damaged or not really a PDF" in problems
    assert "scan-600dpi.pdf is 10.5 MB, above the 10 MB limit per document" in problems
    assert view.attachments.status.text() == "3 documents attached"


def test_the_same_file_twice_and_a_removed_file_are_not_submitted(
    qtbot: QtBot, open_capture: Callable[..., KycCaptureView], member: str, tmp_path: Path
) -> None:
    view = open_capture(member_id=member)
    files = documents(tmp_path)
    copy = tmp_path / "copy of aadhaar.pdf"
    copy.write_bytes(files["aadhaar.pdf"].read_bytes())
    drop(view, [files["aadhaar.pdf"], files["photo.png"], copy])
    settle(qtbot, view)
    assert "copy of aadhaar.pdf is already attached as aadhaar.pdf." in (
        view.attachments.problems.text()
    )
    view.attachments.cards[0].remove.click()
    assert [d.name for d in view.attachments.documents()] == ["photo.png"]


def test_nothing_can_be_dropped_before_a_member_is_chosen(
    qtbot: QtBot, open_capture: Callable[..., KycCaptureView], tmp_path: Path
) -> None:
    view = open_capture()
    assert not drop(view, [documents(tmp_path)["photo.png"]])
    assert not view.submit_button.isEnabled()


# -- submitting -------------------------------------------------------------------------


def test_a_submission_reaches_the_queue_and_only_another_person_decides_it(
    qtbot: QtBot,
    open_capture: Callable[..., KycCaptureView],
    runtime: Runtime,
    member: str,
    tmp_path: Path,
    errors: list[BaseException],
) -> None:
    view = open_capture(MAKER, member)
    kyc_fill(qtbot, view)
    files = documents(tmp_path)
    drop(view, [files["aadhaar.pdf"], files["pan-card.jpg"]])
    settle(qtbot, view)
    view.submit_button.click()
    settle(qtbot, view)
    assert view.outcome.text().startswith("Submitted for checking"), view.outcome.text()
    assert view.values()["pan"] == "" and view.attachments.documents() == []
    record = runtime.services.kyc.get(member)
    assert (record.status, record.submitted_by, record.address) == ("pending", MAKER.id, ADDRESS)
    assert [d.name for d in record.documents] == ["aadhaar.pdf", "pan-card.jpg"]
    assert record.pan_masked == "XXXXXX234E" and record.phone_masked == "+91 XXXXXX3210"

    queues = [KycQueueView(runtime.services, actor) for actor in (MAKER, CHECKER)]
    try:
        for queue, expected in zip(queues, ("pending", "approved"), strict=True):
            qtbot.addWidget(queue)
            qtbot.waitUntil(lambda q=queue: not q.live.busy and q.model.rowCount() == 1)
            assert queue.model.row(0).member_id == member
            queue.select_members([member])
            queue.approve_selected()
            qtbot.waitUntil(
                lambda e=expected: runtime.services.kyc.get(member).status == e or bool(errors)
            )
            if queue.actor is MAKER:
                qtbot.waitUntil(lambda: bool(errors))
                assert isinstance(errors[0], PermissionDenied)
                assert "maker-checker" in str(errors.pop())
    finally:
        for queue in queues:
            queue.shutdown()
    assert runtime.services.kyc.get(member).status == "approved"
    qtbot.waitUntil(lambda: "KYC approved" in view.who.text())
    assert not view.submit_button.isEnabled() and not view.body.isEnabled()


def test_the_services_refusals_are_shown_by_field(
    qtbot: QtBot, open_capture: Callable[..., KycCaptureView], member: str
) -> None:
    view = open_capture(member_id=member)
    kyc_type(qtbot, view, "pan", "ABCCD1234E")
    view.submit_button.click()
    settle(qtbot, view)
    assert verdict(view, "pan").startswith("PAN XXXXXX234E is a company PAN")
    assert verdict(view, "aadhaar") == "Aadhaar is required."
    assert verdict(view, "address") == "Address is required."
    assert "attach at least one document" in view.attachments.problems.text()
    assert view.outcome.text() == "Not submitted: 6 problems, marked in red."
    assert view.submit_button.isEnabled()


def test_a_number_held_by_another_member_is_refused_with_the_reason(
    qtbot: QtBot, open_capture: Callable[..., KycCaptureView], runtime: Runtime, tmp_path: Path
) -> None:
    holder = submit_kyc(runtime, "Arun Kumar", "9123456789", 3)
    newcomer = runtime.services.members.enroll(ADMIN, "Devika Rao", "8123456789").id
    view = open_capture(member_id=newcomer)
    kyc_fill(qtbot, view, pan="ABCPR1234Q", aadhaar=aadhaar(3))
    drop(view, [documents(tmp_path)["photo.png"]])
    settle(qtbot, view)
    view.submit_button.click()
    settle(qtbot, view)
    assert view.outcome.text().startswith(
        f"Not submitted: This Aadhaar is already registered to {holder}"
    )
    assert runtime.services.kyc.find(newcomer) is None


# -- finding the member -----------------------------------------------------------------


def test_the_picker_finds_by_name_mobile_digits_and_member_number(
    qtbot: QtBot,
    qtmodeltester: ModelTester,
    open_capture: Callable[..., KycCaptureView],
    runtime: Runtime,
) -> None:
    enrol = runtime.services.members.enroll
    ids = [enrol(ADMIN, n, p).id for n, p in (("Lakshmi Devi", "9876543210"),
                                                ("Arun Kumar", "9123456789"))]  # fmt: skip
    view = open_capture()
    for text, expected in (("lakshmi", ids[0]), ("6789", ids[1]), (ids[1], ids[1])):
        view.search.clear()
        qtbot.keyClicks(view.search, text)
        qtbot.waitUntil(
            lambda e=expected: (
                not view.picker.busy and [r.member_id for r in view.matches.rows()] == [e]
            )
        )
    qtmodeltester.check(view.matches, force_py=True)
    assert view.matches.data(view.matches.index(0, 1)) == "+91 XXXXXX6789"
    qtbot.keyClick(view.search, Qt.Key.Key_Return)
    settle(qtbot, view)
    assert view.member_id == ids[1] and "Arun Kumar" in view.who.text()
    assert view.submit_button.isEnabled() and not view.search.isVisible()
    view.change.click()
    assert view.search.isVisible()


def test_a_profile_opens_the_page_for_its_member(
    qtbot: QtBot, runtime: Runtime, member: str
) -> None:
    window = MainWindow(runtime.services, ADMIN, sample=runtime.stats.sample, on_close=lambda: None)
    qtbot.addWidget(window)
    try:
        profile = QLineEdit()
        profile.title = "Member"  # type: ignore[attr-defined]
        window.add_view(profile)
        go(profile, "kyc-capture", member_id=member)
        page = window.stack.currentWidget()
        assert isinstance(page, KycCaptureView)
        qtbot.waitUntil(lambda: "Lakshmi Devi" in page.who.text())
    finally:
        window.close()


def test_the_screenshot_example_is_a_rejected_member_with_documents_attached_again(
    qtbot: QtBot, open_capture: Callable[..., KycCaptureView], runtime: Runtime
) -> None:
    submit_kyc(runtime, "Arun Kumar", "9123456789", 1)
    rejected = submit_kyc(runtime, "Devika Rao", "8123456789", 2)
    runtime.services.kyc.reject(CHECKER, [rejected], "PAN photo is blurred.")
    view = open_capture()
    view.show_example()
    settle(qtbot, view)
    assert view.member_id == rejected
    assert "PAN photo is blurred</i>. Correct it" in view.who.text()
    assert [d.name for d in view.attachments.documents()] == ["pan.png", "aadhaar.pdf"]
    assert view.rows["ifsc"].value() == "SBIN0001234" and view.rows["pan"].value() == ""


def test_tab_walks_the_form_in_order_and_enter_or_escape_submit_nothing(
    qtbot: QtBot,
    open_capture: Callable[..., KycCaptureView],
    runtime: Runtime,
    member: str,
    tmp_path: Path,
) -> None:
    view = open_capture(member_id=member)
    view.activateWindow()
    drop(view, [documents(tmp_path)["photo.png"]])
    settle(qtbot, view)
    kyc_fill(qtbot, view)
    for key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape):
        qtbot.keyClick(view.rows["pan"].editor, key)
    qtbot.wait(100)
    assert runtime.services.kyc.find(member) is None and view.outcome.text() == ""
    assert view.values()["pan"] == PAN
    rows = view.rows
    expected = [rows[f].editor for f in ("name", "pan", "aadhaar", "ifsc", "account_number",
                                         "address")]  # fmt: skip
    expected += [view.attachments.add_button, view.attachments.cards[0].remove]
    expected.append(view.submit_button)
    rows["name"].editor.setFocus()
    qtbot.waitUntil(rows["name"].editor.hasFocus)
    walked = [QApplication.focusWidget()]
    for _ in expected[1:]:
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        walked.append(QApplication.focusWidget())
    assert walked == expected
