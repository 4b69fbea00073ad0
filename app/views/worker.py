"""Run service calls off the GUI thread and bring the outcome back to it.

The one way views do background work. A slot calls :func:`run` with the service call
(its result comes back to a callback on the GUI thread), or :func:`stream` with a job
that reports several times as it goes (a scan sending rows as it finds them, a check
sending its progress). Known errors reach the user as a message that says what to
do; bugs are logged with their traceback and shown as such (never swallowed).

Jobs run in a shared pool, or on a :func:`lane`: one thread that runs its jobs one at
a time, in order, so a long scan on one lane never holds up the work of another.
A job must hold no Qt object: the last reference to one dropped on a worker thread
would destroy it there. The GUI thread keeps the callbacks until the job is over.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any, TypeVar

import shiboken6
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from app.kernel.errors import KnownError

log = logging.getLogger(__name__)
T = TypeVar("T")
Send = Callable[..., None]
"""What a :func:`stream` job calls to report: ``send(*args)``."""

_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="tfos-view")
BUG_TEXT = "Something went wrong in the background; the log file has the details."


class _Relay(QObject):
    """Lives on the GUI thread; signals emitted from workers are queued to it."""

    done = Signal(object, object)  # (callback, its arguments)


_relay: _Relay | None = None
_keep: dict[object, tuple[Any, ...]] = {}  # GUI-thread references to in-flight jobs


def _get_relay() -> _Relay:
    global _relay
    if _relay is None:
        _relay = _Relay()
        _relay.done.connect(lambda callback, args: callback(*args))
    return _relay


def lane(name: str) -> ThreadPoolExecutor:
    """A thread of one's own for a kind of job (see module docstring); shut it down with
    ``shutdown(wait=False, cancel_futures=True)`` when its owner closes."""
    return ThreadPoolExecutor(1, thread_name_prefix=name)


def show_error(parent: QWidget | None, exc: BaseException) -> None:
    """Tell the user what went wrong: a KnownError as it is, a bug as a bug."""
    if isinstance(exc, KnownError):
        QMessageBox.warning(parent, "Not done", str(exc))
    else:
        log.error("bug in a background task", exc_info=exc)
        QMessageBox.critical(
            parent, "Something went wrong", f"{type(exc).__name__}: {exc}\n\nIt was logged."
        )


def error_text(exc: BaseException) -> str:
    """One line for a status bar: a KnownError as it is; a bug is logged and said so."""
    if isinstance(exc, KnownError):
        return str(exc)
    log.error("bug in a background task", exc_info=exc)
    return BUG_TEXT


def stream(
    job: Callable[[Send], None],
    on_event: Callable[..., Any],
    *,
    parent: QObject | None = None,
    on_error: Callable[[BaseException], Any] | None = None,
    executor: Executor | None = None,
) -> Future[None]:
    """Run ``job(send)`` off the GUI thread; each ``send(*args)`` calls
    ``on_event(*args)`` on the GUI thread, in the order sent. If the job raises,
    ``on_error(exc)`` (default: :func:`show_error`) is called after the events it sent.
    Nothing is called once ``parent`` has been destroyed.
    """
    relay = _get_relay()
    handle_error = on_error or (
        lambda exc: show_error(parent if isinstance(parent, QWidget) else None, exc)
    )
    key = object()
    _keep[key] = (job, on_event, handle_error, parent)

    def deliver(callback: Callable[..., Any], *args: Any) -> None:
        if parent is None or shiboken6.isValid(parent):
            callback(*args)

    def send(*args: Any) -> None:
        relay.done.emit(deliver, (on_event, *args))

    def work() -> None:
        try:
            job(send)
        except BaseException as exc:
            relay.done.emit(deliver, (handle_error, exc))

    def finished(_: Future[None]) -> None:  # also when cancelled before it ran
        relay.done.emit(lambda: _keep.pop(key, None), ())

    future = (executor or _POOL).submit(work)
    future.add_done_callback(finished)
    return future


def run(
    fn: Callable[[], T],
    on_done: Callable[[T], Any],
    *,
    parent: QObject | None = None,
    on_error: Callable[[BaseException], Any] | None = None,
    executor: Executor | None = None,
) -> Future[None]:
    """Run ``fn`` off the GUI thread; call ``on_done(result)`` or ``on_error(exc)``
    (default: :func:`show_error`) on the GUI thread."""
    return stream(
        lambda send: send(fn()), on_done, parent=parent, on_error=on_error, executor=executor
    )
