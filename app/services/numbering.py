"""Numbers given in sequence: the readable numbers staff say and write.

``counters/<name>`` holds the last number given under ``name`` (``members``: member
numbers ``M-0042``; ``loans``: loan numbers ``L-0042``). A number is taken by advancing
the counter in the same ChangeSet that stores the thing numbered, expecting the version
read: two concurrent takers cannot both commit, the pipeline retries the loser, which
then reads the advanced counter. So a number is never given twice, and a later thing
always has a higher one. Callers that number often and concurrently give
``transact`` more attempts than its default (see ``ENROL_ATTEMPTS``).
"""

from __future__ import annotations

from app.services.collections import COUNTERS
from app.services.pipeline import Reader
from app.services.store import Write


def next_number(reader: Reader, counter: str) -> tuple[int, Write]:
    """The next number of ``counters/<counter>``, and the write that takes it."""
    doc = reader.get(COUNTERS, counter)
    number = (doc.data["last"] if doc else 0) + 1
    version = doc.version if doc else 0
    return number, Write("set", COUNTERS, counter, {"last": number}, expect_version=version)
