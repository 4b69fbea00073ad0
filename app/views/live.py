"""Live updates for views: a store listener turned into a Qt signal.

Store listeners call back on the store's dispatcher thread; emitting a signal from
there is queued to the GUI thread, so views just connect ``changed`` to a refresh.
Changes from the web server, the scheduler or another process on the same data
directory all arrive this way.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from app.services.store import Change, DocumentStore, Listener, Query


class LiveCollection(QObject):
    """Emits ``changed`` (coalesced, at most every ``debounce_ms``) when documents in
    any of ``targets`` change."""

    changed = Signal()
    _raw = Signal()

    def __init__(
        self,
        store: DocumentStore,
        *targets: str | Query,
        debounce_ms: int = 150,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(debounce_ms)
        self._timer.timeout.connect(self._fire)
        self._raw.connect(self._arm)
        self._first: set[int] = set()
        self._closed = False
        self._listeners: list[Listener] = []
        for index, target in enumerate(targets):
            self._listeners.append(store.on_snapshot(target, self._callback(index)))

    def _callback(self, index: int) -> Callable[[list[Change]], None]:
        def on_changes(changes: list[Change]) -> None:
            if self._closed:
                return
            if index not in self._first:  # the initial snapshot is not a change
                self._first.add(index)
                return
            self._raw.emit()

        return on_changes

    def _arm(self) -> None:
        if not self._closed:  # a change queued before close() must not restart the timer
            self._timer.start()

    def _fire(self) -> None:
        if not self._closed:
            self.changed.emit()

    def close(self) -> None:
        """Stop listening; no ``changed`` is emitted after this returns."""
        self._closed = True
        for listener in self._listeners:
            listener.unsubscribe()
        self._listeners.clear()
        self._timer.stop()
