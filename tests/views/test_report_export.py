"""Exporting a report from the desktop, and what an auditor's desktop holds.

A real runtime over a demo history; the file dialog is the one boundary replaced (it
would wait for a person). The export runs off the GUI thread: the bar counts the pages,
the file is written, the log records the export, and a "Show in folder" link opens the
folder. Refusals are shown under the button and nothing is raised.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot

from app import config
from app.bootstrap import Runtime, build
from app.services.actors import Actor
from app.services.context import FixedClock
from app.services.demo import generate
from app.services.reports import REPORTS
from app.views import report_export
from app.views.about import AboutDialog
from app.views.navigation import view_name
from app.views.reports import ReportsView
from app.views.shell import views_for
from tests.reports.conftest import END, NOW
from tests.views.builders import opener

PASSWORD = "Audit-the-books-1"
READ_ONLY_BUTTONS = {"Export PDF…", "Verify integrity", "Apply", "Clear", "Export ticket list…"}
"""The buttons an auditor's views may have: none of them changes the books."""


@pytest.fixture
def runtime(data_dir: Path) -> Iterator[Runtime]:
    rt = build(config.load(environ={}, data_dir=data_dir, port=0), clock=FixedClock(NOW))
    generate(rt.ctx, groups=1, members=6, months=3, seed=3, end=END)
    yield rt
    rt.close()


@pytest.fixture
def auditor(runtime: Runtime) -> Actor:
    staff = runtime.services.staff
    admin = staff.first_admin()
    assert admin is not None
    staff.create_staff(admin.actor, "Anita Auditor", "anita", PASSWORD, role="auditor")
    return staff.sign_in("anita", PASSWORD).actor


@pytest.fixture
def open_view(qtbot: QtBot, runtime: Runtime) -> Iterator[Callable[[Actor], ReportsView]]:
    def make(actor: Actor) -> ReportsView:
        view = ReportsView(runtime.services, actor)
        qtbot.addWidget(view)
        view.resize(1100, 700)
        qtbot.waitUntil(lambda: view.kinds.count() > 0, timeout=10_000)
        return view

    yield from opener(make)


def export(qtbot: QtBot, view: ReportsView, kind: str, out: Path, **fill: object) -> object:
    view.select(kind)
    view.panel.choose_file = lambda suggested: out  # type: ignore[method-assign]
    for name, value in fill.items():
        setattr(view.panel, name, value)
    with qtbot.waitSignal(view.panel.finished, timeout=30_000) as done:
        qtbot.mouseClick(view.panel.export, report_export.Qt.MouseButton.LeftButton)
    return done.args[0]


def test_an_auditor_exports_the_audit_report_with_progress_and_a_folder_link(
    qtbot: QtBot,
    runtime: Runtime,
    auditor: Actor,
    open_view: Callable[[Actor], ReportsView],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    view = open_view(auditor)
    bar = view.panel.progress
    seen: list[tuple[str, int, int]] = []
    bar.valueChanged.connect(lambda value: seen.append((bar.format(), value, bar.maximum())))
    out = tmp_path / "audit.pdf"
    exported = export(qtbot, view, "audit", out)
    pdf = out.read_bytes()
    assert pdf.startswith(b"%PDF-") and exported.sha256 == hashlib.sha256(pdf).hexdigest()  # type: ignore[attr-defined]
    pages = exported.rendered.pages  # type: ignore[attr-defined]
    assert pages > 1
    assert (f"Drawing page 1 of {pages}", 1, pages) in seen
    assert (f"Drawing page {pages} of {pages}", pages, pages) in seen
    assert not bar.isVisible() and view.panel.export.isEnabled()
    record = list(runtime.ctx.pipeline.read())[-1]
    assert (record.action, record.actor["id"]) == ("report.export", auditor.id)
    assert record.change["event"]["sha256"] == exported.sha256  # type: ignore[attr-defined]
    status = view.panel.status.text()
    assert str(out) in status and '<a href="folder">Show in folder</a>' in status
    opened: list[QUrl] = []
    monkeypatch.setattr(report_export.QDesktopServices, "openUrl", opened.append)
    view.panel.status.linkActivated.emit("folder")
    assert opened == [QUrl.fromLocalFile(str(tmp_path))]


def test_each_kind_shows_the_parameters_it_takes(
    runtime: Runtime, auditor: Actor, open_view: Callable[[Actor], ReportsView]
) -> None:
    view = open_view(auditor)
    view.show()
    form = view.panel.form
    for info in view.infos:
        view.select(info.name)
        shown = {n for n, w in view.panel.widgets.items() if form.isRowVisible(w)}
        assert shown == set(info.takes), info.name
    view.select("member-statement")
    label = form.labelForField(view.panel.member)
    assert label is not None and label.text() == "Member (needed)"  # type: ignore[attr-defined]
    assert len(view.infos) == view.kinds.count() == len(REPORTS)


def test_refusals_are_shown_not_raised(
    qtbot: QtBot,
    runtime: Runtime,
    auditor: Actor,
    open_view: Callable[[Actor], ReportsView],
    tmp_path: Path,
) -> None:
    view = open_view(auditor)
    head = runtime.ctx.pipeline.head()
    view.select("group-ledger")
    asked: list[Path] = []
    view.panel.choose_file = asked.append  # type: ignore[assignment,method-assign]
    view.panel.start()
    assert asked == []  # no file dialog for a report that cannot be made
    assert view.panel.status.text() == "Choose the group first: the group ledger needs one."
    view.panel.member.setText("9999999999")
    failed = export(qtbot, view, "member-statement", tmp_path / "x.pdf")
    assert "there is no member '9999999999'" in str(failed)
    assert view.panel.status.text().startswith("Not exported: --member: there is no member")
    nowhere = tmp_path / "missing" / "tb.pdf"
    failed = export(qtbot, view, "trial-balance", nowhere)
    assert view.panel.status.text().startswith(f"Not exported: Cannot write {nowhere}")
    assert not nowhere.exists() and view.panel.export.isEnabled()
    assert runtime.ctx.pipeline.head() == head


def test_an_auditor_sees_the_trail_reports_kpis_and_groups_and_no_button_that_writes(
    qtbot: QtBot, runtime: Runtime, auditor: Actor
) -> None:
    views = views_for(runtime.services, auditor)
    try:
        for view in views:
            qtbot.addWidget(view)
        names = [view_name(v) for v in views]
        assert names == ["audit", "reports", "kpis", "groups", "group-detail"]
        buttons = {b.text() for v in views for b in v.findChildren(QPushButton) if not b.isHidden()}
        assert buttons <= READ_ONLY_BUTTONS, buttons - READ_ONLY_BUTTONS
    finally:
        for view in views:
            shutdown = getattr(view, "shutdown", None)
            if shutdown is not None:
                shutdown()


def test_the_about_box_shows_the_logs_key(qtbot: QtBot, runtime: Runtime) -> None:
    reports = runtime.services.reports
    dialog = AboutDialog(runtime.settings, lambda: "a keyring", None, reports.public_key)
    qtbot.addWidget(dialog)
    key = reports.public_key()
    assert key is not None and key.startswith("transactflowos/")
    qtbot.waitUntil(lambda: dialog.key.toPlainText() == key, timeout=5_000)
    assert dialog.log_key.text() == "Log key (checks every report and signed checkpoint):"
    assert dialog.key.isReadOnly() and not dialog.key.isHidden()
