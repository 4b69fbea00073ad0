"""Dates and times written the wrong way, wherever a person reads them.

One style everywhere (:mod:`app.kernel.office_time`): ``03 Dec 2026`` and
``03 Dec 2026, 18:30 IST``. :func:`misdated` finds the other styles (``2026-12-03``,
``3 Dec 2026``, ``03/12/2026``, ``Dec 3, 2026``, ``Jun 26``) and times of day without
their zone's label. An id that holds a date (``sweep-2026-12-03``) is not a date.
"""

from __future__ import annotations

import re

_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
LABEL = r"(?:IST|UTC(?:[+-]\d{2}:\d{2})?)"
WRONG = {
    "ISO date": re.compile(r"(?<![\w-])\d{4}-\d{2}-\d{2}(?![\w-])"),
    "date with slashes": re.compile(r"(?<![\d/])\d{1,2}/\d{1,2}/\d{2,4}(?![\d/])"),
    "one-digit day": re.compile(rf"(?<![\d])\d {_MONTH} \d{{4}}"),
    "month before day": re.compile(rf"\b{_MONTH} \d{{1,2}},? \d{{4}}"),
    "two-digit year": re.compile(rf"\b{_MONTH} \d{{2}}(?!\d)(?! {_MONTH})"),
    "time without its zone": re.compile(
        rf"(?<![\d:+-])\d{{1,2}}:\d{{2}}(?::\d{{2}})?(?![\d:])(?! {LABEL}\b)"
    ),
}
_TAG = re.compile(r"<[^>]+>")


def misdated(text: str) -> list[str]:
    """What is wrong with the dates and times in ``text`` (empty when nothing)."""
    plain = _TAG.sub(" ", text).replace("&nbsp;", " ")
    return [f"{kind}: {m.group(0)!r}" for kind, rx in WRONG.items() for m in rx.finditer(plain)]
