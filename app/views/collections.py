"""Collections: the counter receipt, cheques awaiting clearance, and the second person.

``show_item(member_id=...)`` arrives from the member profile (``navigation.go(self,
"collections", member_id=...)``) with the member at the counter. Both read models are
live: the counter's queue, and the member's desk while a member is shown.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QLabel, QTabWidget, QVBoxLayout, QWidget

from app.services.actors import Actor
from app.services.counter import CounterQueue, MemberDesk
from app.services.registry import Services
from app.views import worker
from app.views.counter_desk import CounterDesk
from app.views.counter_queue import QueuePane
from app.views.formatting import BUTTON_STYLE
from app.views.live import LiveReadModel


class CollectionsView(QWidget):
    """The counter and its queue (see module docstring)."""

    name = "collections"
    title = "Collections"

    def __init__(self, services: Services, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self._finding = False
        self.counter = CounterDesk(services, actor, self)
        self.queue = QueuePane(services, actor, self)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.counter, "Counter")
        self.tabs.addTab(self.queue, "Cheques and second person")
        heading = QLabel("Collections")
        heading.setObjectName("heading")
        self.setStyleSheet(BUTTON_STYLE)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.tabs, 1)
        self.live_queue = LiveReadModel(
            services.topics, services.counter.queue, self._show_queue, self
        )
        self.live_desk = LiveReadModel(
            services.topics,
            services.counter.desk,
            self.counter.show_desk,
            self,
            args=lambda: (self.counter.member_id,) if self.counter.member_id else None,
        )
        self.counter.member_changed.connect(lambda _: self.live_desk.refresh())

    def _show_queue(self, queue: CounterQueue) -> None:
        self.queue.show_queue(queue)
        waiting = len(queue.cheques) + len(queue.approvals)
        self.tabs.setTabText(
            1, f"Cheques and second person ({waiting})" if waiting else "Cheques and second person"
        )

    # -- navigation ---------------------------------------------------------------------

    def show_item(self, **params: Any) -> None:
        """``member_id=``: that member at the counter."""
        self.tabs.setCurrentWidget(self.counter)
        self.counter.set_member(str(params["member_id"]))

    def show_example(self) -> None:
        """For --screenshots: a member who owes something (found off the GUI thread)."""
        ledger = self.services.ledger

        def someone() -> str | None:
            dues = ledger.open_dues()
            return dues[-1].member_id if dues else None

        self._finding = True

        def found(member_id: str | None) -> None:
            self._finding = False
            if member_id:
                self.show_item(member_id=member_id)

        worker.run(someone, found, parent=self, on_error=lambda _: found(None))

    def busy(self) -> bool:
        return self._finding or self.live_queue.busy or self.live_desk.busy

    def refresh(self) -> None:
        self.live_queue.refresh()
        self.live_desk.refresh()

    def shutdown(self) -> None:
        self.live_queue.close()
        self.live_desk.close()

    @property
    def desk(self) -> MemberDesk | None:
        return self.counter.desk
