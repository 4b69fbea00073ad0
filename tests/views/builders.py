"""Builders for the view tests that need Qt: a real PNG, a member with a KYC submitted,
and views that are shut down when the test ends."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from PySide6.QtCore import QAbstractItemModel, QBuffer, QIODevice
from PySide6.QtGui import QColor, QImage
from pytestqt.qtbot import QtBot

from app.views.live import LiveReadModel
from tests.builders import ACCOUNT, ADMIN, EMPLOYEE, PDF, aadhaar, pan

if TYPE_CHECKING:
    from app.bootstrap import Runtime
    from app.services.actors import Actor
    from app.views.main_window import MainWindow


def png_bytes(colour: str = "#88aadd") -> bytes:
    image = QImage(120, 80, QImage.Format.Format_RGB32)
    image.fill(QColor(colour))
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]  # the stubs say bytes
    return bytes(buffer.data().data())


def submit_kyc(runtime: Runtime, name: str, phone: str, seed: int) -> str:
    """Enrol a member and submit a valid KYC for them as :data:`~tests.builders.EMPLOYEE`."""
    services = runtime.services
    member = services.members.enroll(ADMIN, name, phone)
    services.kyc.submit(
        EMPLOYEE,
        member.id,
        name=name,
        phone=phone,
        pan=pan(seed),
        aadhaar=aadhaar(seed),
        account_number=ACCOUNT,
        ifsc="SBIN0001234",
        documents=[("pan.png", png_bytes(), "image/png"), ("aadhaar.pdf", PDF, "application/pdf")],
    )
    return member.id


class View(Protocol):
    def shutdown(self) -> None: ...


V = TypeVar("V", bound=View)


def opener(make: Callable[..., V]) -> Iterator[Callable[..., V]]:
    """The body of a fixture that opens views: yields ``make``, and shuts every view it
    made down (listeners, workers) when the test ends, passed or failed. Fixtures using
    it depend on the runtime, so this happens before the runtime closes."""
    views: list[V] = []

    def open_view(*args: Any, **kwargs: Any) -> V:
        view = make(*args, **kwargs)
        views.append(view)
        return view

    yield open_view
    for view in reversed(views):
        view.shutdown()


class TableView(View, Protocol):
    """A view showing one table model through a live read model."""

    @property
    def live(self) -> LiveReadModel: ...

    @property
    def model(self) -> QAbstractItemModel: ...


T = TypeVar("T", bound=TableView)


def shown_with_rows(qtbot: QtBot, view: T, size: tuple[int, int], rows: int) -> T:
    """``view`` on screen at ``size``, once its table has loaded ``rows`` rows."""
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    qtbot.waitUntil(lambda: not view.live.busy and view.model.rowCount() == rows)
    return view


def main_window(qtbot: QtBot, runtime: Runtime, actor: Actor) -> Iterator[MainWindow]:
    """The body of a fixture: ``actor``'s main window over ``runtime`` at 1280×720, shown,
    and closed when the test ends."""
    from app.views.main_window import MainWindow

    window = MainWindow(runtime.services, actor, sample=runtime.stats.sample, on_close=lambda: None)
    qtbot.addWidget(window)
    window.resize(1280, 720)
    window.show()
    yield window
    window.close()
