"""The parts a report is made of, and the fonts and measures they are drawn with.

A report module returns a list of blocks (:class:`Heading`, :class:`Text`,
:class:`Facts`, :class:`Table`, :class:`Signatures`, :class:`Gap`) under a
:class:`Masthead`; :mod:`.layout` places them on pages and :mod:`.pdf` draws them.

Text is set in DejaVu Sans (``resources/fonts/``, embedded as a subset), which has
the ₹ sign that the PDF base fonts lack.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from reportlab.lib.pagesizes import A4, A5, landscape
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from app.kernel.bundle import resource

FONTS_DIR = resource("resources", "fonts")
SANS, BOLD, MONO = "TFOS-Sans", "TFOS-Sans-Bold", "TFOS-Mono"
_FONT_FILES = {
    SANS: "DejaVuSansCondensed.ttf",
    BOLD: "DejaVuSansCondensed-Bold.ttf",
    MONO: "DejaVuSansMono.ttf",
}
_fonts_lock = threading.Lock()

Align = Literal["left", "right", "center"]
Paper = Literal["a4", "a4-landscape", "a5"]
PAPERS: dict[str, tuple[float, float]] = {
    "a4": A4,
    "a4-landscape": landscape(A4),
    "a5": A5,
}

MARGIN = 36.0
BODY = 8.5
TABLE = 7.5
MIN_TABLE = 5.5
PAD = 3.0
INK = (0.10, 0.12, 0.16)
MUTED = (0.38, 0.42, 0.48)
RULE = (0.75, 0.78, 0.82)
SHADE = (0.93, 0.94, 0.96)
STRIPE = (0.975, 0.98, 0.985)
ELLIPSIS = "…"


def register_fonts() -> None:
    """Register the report fonts with reportlab once per process."""
    with _fonts_lock:
        for name, file in _FONT_FILES.items():
            if name not in pdfmetrics.getRegisteredFontNames():
                pdfmetrics.registerFont(TTFont(name, str(FONTS_DIR / file)))


def width(text: str, font: str, size: float) -> float:
    return float(pdfmetrics.stringWidth(text, font, size))


def fit(text: str, font: str, size: float, room: float) -> str:
    """``text``, or its longest prefix with "…" that is at most ``room`` wide."""
    if len(text) * size <= room or width(text, font, size) <= room:
        return text
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if width(text[:mid].rstrip() + ELLIPSIS, font, size) <= room:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + ELLIPSIS


# -- blocks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Text:
    """A paragraph, wrapped to the page. ``style``: body, muted, bold, mono or large."""

    text: str
    style: Literal["body", "muted", "bold", "mono", "large"] = "body"


@dataclass(frozen=True)
class Facts:
    """Label and value pairs, ``per_line`` to a line (key figures, a receipt's fields)."""

    items: Sequence[tuple[str, str]]
    per_line: int = 2
    size: float = BODY


@dataclass(frozen=True)
class Column:
    """A table column. A ``keep`` column (by default every right-aligned one: amounts,
    dates, counts) is never shortened; ``weight`` shares the width left over among the
    others, whose text is cut with "…" when it does not fit."""

    title: str
    align: Align = "left"
    weight: float = 1.0
    mono: bool = False
    keep: bool | None = None

    @property
    def kept(self) -> bool:
        return self.align != "left" if self.keep is None else self.keep


@dataclass(frozen=True)
class Table:
    columns: Sequence[Column]
    rows: Sequence[Sequence[str]]
    total: Sequence[str] | None = None
    empty: str = "None."
    share: float = 1.0
    """The part of the page's width the table takes (a short summary looks better narrow)."""


@dataclass(frozen=True)
class Signatures:
    """Lines to sign on, one per label, side by side."""

    labels: Sequence[str]


@dataclass(frozen=True)
class Gap:
    height: float = 8.0


Block = Heading | Text | Facts | Table | Signatures | Gap


@dataclass(frozen=True)
class Masthead:
    """What heads every page: who, what, with which parameters, from which log head."""

    firm: str
    title: str
    lines: Sequence[str]
    """Parameter and provenance lines under the title (wrapped as needed)."""
    mono_lines: Sequence[str] = ()
    """Lines set in the monospaced font (the log head's hash, a key, a checkpoint)."""
    address: str = ""
    author: str = ""
    subject: str = ""
    keywords: str = ""
    created: str = "D:20000101000000+00'00'"
    """The PDF creation date (``D:YYYYMMDDHHmmSS+HH'mm'``): the log head's time."""
