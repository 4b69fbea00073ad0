"""The desktop's start-up, beside the composition root: the Qt application, the qasync
event loop, the runtime, the embedded web server, sign-in and the main window.

Nothing here is a widget: it wires the parts the views and the server are made of, so
no view imports the server. Shutdown: the application never quits while ``main``
still awaits; closing the window sets an event, the server is cleaned up, then the
loop ends (qasync's rule).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import qasync
from PySide6.QtWidgets import QApplication, QMessageBox

from app import bootstrap
from app.config import Settings
from app.kernel.errors import KnownError
from app.kernel.sessions import KeyringSessions
from app.services.desktop_signin import DesktopSignIn
from app.views.about import add_help_menu
from app.views.collector import GuiThreadCollector
from app.views.main_window import MainWindow
from app.views.password import change_password_action
from app.views.signin import desktop_actor, sign_out_action
from app.views.theme import apply_theme
from server.app import bound_port, client_count, create_app, start

log = logging.getLogger(__name__)


async def run_window(runtime: bootstrap.Runtime, screenshots: Path | None) -> None:
    services, settings = runtime.services, runtime.settings
    signin = DesktopSignIn(services.staff, KeyringSessions())
    actor = await desktop_actor(signin, screenshots=screenshots is not None)
    if actor is None:
        return
    closed = asyncio.Event()
    window = MainWindow(services, actor, sample=runtime.stats.sample, on_close=closed.set)
    window.setWindowTitle(f"TransactFlowOS — {actor.name} ({actor.role})")
    menu = window.menuBar().addMenu(actor.name)
    if actor.is_staff:
        menu.addAction(change_password_action(window, services.staff, actor))
    menu.addAction(sign_out_action(window, signin, then=window.close))
    add_help_menu(window, settings, signin.keyring, services.reports.public_key)
    runner = None
    try:
        web = create_app(services, settings)
        runtime.stats.register("connected_clients", client_count(web))
        runner = await start(web, settings.host, settings.port)
        window.statusBar().showMessage(
            f"Member web view on http://{settings.host}:{bound_port(runner)}"
        )
    except OSError as exc:
        window.statusBar().showMessage(
            f"Web server not started: port {settings.port} is busy ({exc.strerror}). "
            "Set TFOS_PORT to another port."
        )
    window.show()
    window.footer.start()
    if screenshots is not None:
        await asyncio.sleep(0.3)
        for path in await window.save_screenshots(screenshots):
            print(path)
        window.close()
    await closed.wait()
    if runner is not None:
        await runner.cleanup()


def main(settings: Settings, *, screenshots: str | None = None, seed_demo: bool = False) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("TransactFlowOS")
    app.setDesktopFileName("transactflowos")  # packaging/transactflowos.desktop
    app.setQuitOnLastWindowClosed(False)
    apply_theme(app)
    try:
        runtime = bootstrap.build(settings)
    except KnownError as exc:
        QMessageBox.critical(None, "TransactFlowOS cannot start", str(exc))
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if seed_demo:
        runtime.seed_demo_if_empty()  # here, on this thread, collecting as usual
    collector = GuiThreadCollector(app)  # before the views' worker threads start
    try:
        runtime.start_background()
        qasync.run(run_window(runtime, Path(screenshots) if screenshots else None))
    finally:
        runtime.close()
        collector.stop()
    return 0
