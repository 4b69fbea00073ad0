"""Run service calls off the GUI thread and bring the outcome back to it.

A slot calls :func:`run` with the service call; the callback runs on the GUI thread.
Known errors reach the user as a message that says what to do; bugs are logged with
their traceback and shown as such (never swallowed).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import shiboken6
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from app.kernel.errors import KnownError

log = logging.getLogger(__name__)
T = TypeVar("T")

_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="tfos-view")


class _Relay(QObject):
    """Lives on the GUI thread; signals emitted from workers are queued to it."""

    done = Signal(object, object, object)  # (owner widget or None, callback, value)


_relay: _Relay | None = None
_keep: dict[object, tuple[Any, ...]] = {}  # GUI-thread references to in-flight calls


def _get_relay() -> _Relay:
    global _relay
    if _relay is None:
        _relay = _Relay()
        _relay.done.connect(_deliver)
    return _relay


def _deliver(owner: QWidget | None, callback: Callable[[Any], Any], value: Any) -> None:
    """Call back on the GUI thread, unless the widget that asked has been closed since."""
    if owner is not None and not shiboken6.isValid(owner):
        return
    callback(value)


def show_error(parent: QWidget | None, exc: BaseException) -> None:
    """Tell the user what went wrong: a KnownError as it is, a bug as a bug."""
    if isinstance(exc, KnownError):
        QMessageBox.warning(parent, "Not done", str(exc))
    else:
        log.error("bug in a background task", exc_info=exc)
        QMessageBox.critical(
            parent, "Something went wrong", f"{type(exc).__name__}: {exc}\n\nIt was logged."
        )


def run(
    fn: Callable[[], T],
    on_done: Callable[[T], Any],
    *,
    parent: QWidget | None = None,
    on_error: Callable[[BaseException], Any] | None = None,
) -> Future[T]:
    """Run ``fn`` in the view thread pool; call ``on_done(result)`` or ``on_error(exc)``
    (default: :func:`show_error`) on the GUI thread.

    The GUI thread keeps its own references to ``fn`` and the callbacks until the
    outcome is delivered, so a view is never destroyed on a worker thread (Qt objects
    must die on the thread that owns them).
    """
    relay = _get_relay()
    handle_error = on_error or (lambda exc: show_error(parent, exc))
    key = object()
    _keep[key] = (fn, on_done, handle_error, parent)

    def deliver(outcome: tuple[bool, Any]) -> None:
        _keep.pop(key, None)
        ok, value = outcome
        _deliver(parent, on_done if ok else handle_error, value)

    def finished(future: Future[T]) -> None:
        exc = future.exception()
        outcome = (False, exc) if exc is not None else (True, future.result())
        relay.done.emit(None, deliver, outcome)

    future = _POOL.submit(fn)
    future.add_done_callback(finished)
    return future
