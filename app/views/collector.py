"""The cyclic garbage collector, run on the GUI thread only.

CPython runs its collector in whichever thread happens to cross the allocation
threshold. In the desktop that is often a worker thread (a statement preview, a report,
a read model), and a cycle it frees may hold a Qt object (a widget's wrapper, a slot's
closure) whose destructor must run on the GUI thread: Qt warns, or the process crashes
inside the collector (a full test run segfaulted so; see ``tests/conftest.py``). So the
desktop turns automatic collection off and collects from a timer on the GUI thread, by
the same generation thresholds (those :mod:`app.kernel.gc_tuning` sets). Reference
counting still frees everything without cycles at once; only cyclic garbage waits for
the next tick.

The recipe is Erik Janssens' (pyqtgraph ships it as ``GarbageCollector``); this one
collects each generation once per tick, and gives automatic collection back on
:meth:`GuiThreadCollector.stop`.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 100


class GuiThreadCollector(QObject):
    """While it runs, automatic collection is off and :meth:`check` collects on the GUI
    thread every ``interval_ms``, the oldest generation whose threshold is passed."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer.start()

    def check(self) -> int | None:
        """Collect the generations that are due (as CPython would have); the generation
        collected, or None."""
        counts = gc.get_count()
        generation = None
        for gen, (count, threshold) in enumerate(zip(counts, self._thresholds, strict=True)):
            if count <= threshold:
                break
            generation = gen
        if generation is not None:
            gc.collect(generation)
        return generation

    def stop(self) -> None:
        """Stop the timer, collect once more here, and give collection back to CPython."""
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()
