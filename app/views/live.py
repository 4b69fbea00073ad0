"""Live views: a service's read model kept on screen as its change topics move.

A view names a read model (a service method marked with ``@reads``) and what to do
with its result; :class:`LiveReadModel` reads it off the GUI thread, subscribes to the
topics it names and reads it again (coalesced) whenever one of them changes, from
this process, the web server, the scheduler or another process on the same data
directory. That is all a new view needs::

    self.live = LiveReadModel(services.topics, services.recovery.board, self._show, self)

Topic callbacks arrive on the store's listener thread; emitting a signal from there is
queued to the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget

from app.services.topics import Subscription, Topics, topics_of
from app.views.formatting import Reloader


class LiveTopics(QObject):
    """Emits ``changed`` (coalesced, at most every ``debounce_ms``) when any of
    ``names`` changes."""

    changed = Signal()
    _raw = Signal()

    def __init__(
        self,
        topics: Topics,
        names: Iterable[str],
        *,
        debounce_ms: int = 150,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(debounce_ms)
        self._timer.timeout.connect(self._fire)
        self._raw.connect(self._arm)
        self._closed = False
        self._subscription: Subscription | None = topics.subscribe(names, self._heard)

    def _heard(self, changed: frozenset[str]) -> None:
        if not self._closed:
            self._raw.emit()

    def _arm(self) -> None:
        if not self._closed:  # a change queued before close() must not restart the timer
            self._timer.start()

    def _fire(self) -> None:
        if not self._closed:
            self.changed.emit()

    def close(self) -> None:
        """Stop listening; no ``changed`` is emitted after this returns."""
        self._closed = True
        if self._subscription is not None:
            self._subscription.close()
            self._subscription = None
        self._timer.stop()


class LiveReadModel(QObject):
    """A read model on screen: ``apply(read(*args()))`` now and after every change of
    the topics ``read`` names. ``read`` runs off the GUI thread; ``args`` and ``apply``
    run on it (``args`` may read widgets, e.g. a filter's text). When ``args`` returns
    None there is nothing to read (say, nothing chosen yet): ``apply(None)``."""

    def __init__(
        self,
        topics: Topics,
        read: Callable[..., Any],
        apply: Callable[[Any], None],
        parent: QWidget,
        *,
        args: Callable[[], tuple[Any, ...] | None] = tuple,
        debounce_ms: int = 150,
    ) -> None:
        super().__init__(parent)
        self.reloader = Reloader(lambda: _bound(read, args()), apply, parent)
        self.topics = LiveTopics(topics, topics_of(read), debounce_ms=debounce_ms, parent=self)
        self.topics.changed.connect(self.refresh)
        self.refresh()

    @property
    def busy(self) -> bool:
        return self.reloader.busy

    @property
    def loaded(self) -> Any:
        """The signal emitted after each result is applied."""
        return self.reloader.loaded

    def refresh(self) -> None:
        """Read the model again now (e.g. after a filter changed)."""
        self.reloader.request()

    def close(self) -> None:
        """Stop listening and drop results still on their way."""
        self.topics.close()
        self.reloader.stop()


def _bound(read: Callable[..., Any], args: tuple[Any, ...] | None) -> Callable[[], Any]:
    return (lambda: None) if args is None else (lambda: read(*args))
