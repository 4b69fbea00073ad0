"""The cyclic garbage collector, tuned for a process that holds large read models.

CPython collects its youngest generation every 700 net allocations, so the objects of
any batch that lives a few milliseconds (a 400-line chunk of a bank statement, a page of
documents) survive two young collections and reach the oldest generation; once enough
have, a full collection walks every object the process holds (a 50,000-line statement
preview, the desktop's tables). Importing one statement of 50,000 lines took 21 full
collections of about 50 ms each, every one holding the GIL and so stalling the GUI
thread. Collecting the youngest generation every 10,000 allocations lets such batches
die young: one full collection instead of 21. Reference counting frees everything
without cycles as before; only cyclic garbage waits a little longer.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000


def tune_gc() -> None:
    """Collect the youngest generation every ``YOUNG_THRESHOLD`` allocations (the
    older generations keep CPython's thresholds)."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
