"""Report pages on the reportlab canvas: fonts, blocks, pagination, masthead, page numbers.

A report is a list of blocks (:class:`Heading`, :class:`Text`, :class:`Facts`,
:class:`Table`, :class:`Signatures`, :class:`Gap`). :func:`render` lays them out into
pages of drawing operations first and draws them second, so the page count is known
before the first page is drawn ("Page 3 of 12"), and a table of 10,000 rows is drawn
straight on the canvas (reportlab's LongTable takes seconds for that many rows).

Tables size their columns from their content: right-aligned columns (amounts, counts,
dates) always get their full width, so a figure is never cut or wrapped; left-aligned
text shares what is left and is shortened with "…" when it does not fit. When the
right-aligned columns alone do not fit, the table's font gets smaller.

Deterministic output: no wall-clock time enters the file. The canvas runs in
reportlab's invariant mode; the PDF's creation date is the time of the log record the
report reflects (:class:`Masthead`), and its document ID is a digest of the title,
author, subject and keywords, which carry the report's parameters and the log head.
The same log and parameters give byte-identical files.

Text is drawn with DejaVu Sans (``resources/fonts/``, embedded as a subset), which
has the ₹ sign that the PDF base fonts lack.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from reportlab.lib.pagesizes import A4, A5, landscape
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

FONTS_DIR = Path(__file__).resolve().parents[3] / "resources" / "fonts"
SANS, BOLD, MONO = "TFOS-Sans", "TFOS-Sans-Bold", "TFOS-Mono"
_FONT_FILES = {
    SANS: "DejaVuSansCondensed.ttf",
    BOLD: "DejaVuSansCondensed-Bold.ttf",
    MONO: "DejaVuSansMono.ttf",
}
_fonts_lock = threading.Lock()

Align = Literal["left", "right", "center"]
Paper = Literal["a4", "a4-landscape", "a5-landscape"]
PAPERS: dict[str, tuple[float, float]] = {
    "a4": A4,
    "a4-landscape": landscape(A4),
    "a5-landscape": landscape(A5),
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


# -- drawing operations -----------------------------------------------------------------

Op = tuple[str, tuple[Any, ...]]


@dataclass
class _Page:
    ops: list[Op] = field(default_factory=list)

    def text(self, x: float, y: float, s: str, font: str, size: float, align: Align) -> None:
        self.ops.append(("t", (x, y, s, font, size, align)))

    def rule(self, x1: float, y1: float, x2: float, y2: float, colour: tuple = RULE) -> None:
        self.ops.append(("l", (x1, y1, x2, y2, colour)))

    def shade(self, x: float, y: float, w: float, h: float, colour: tuple = SHADE) -> None:
        self.ops.append(("r", (x, y, w, h, colour)))

    def ink(self, colour: tuple[float, float, float]) -> None:
        self.ops.append(("c", colour))


class _Layout:
    """Places blocks top to bottom, starting a new page when one is full."""

    def __init__(self, size: tuple[float, float], top_reserved: float) -> None:
        self.width, self.height = size
        self.left, self.right = MARGIN, self.width - MARGIN
        self.top = self.height - MARGIN - top_reserved
        self.bottom = MARGIN + 14
        self.pages: list[_Page] = []
        self.y = 0.0
        self.new_page()

    @property
    def room(self) -> float:
        return self.y - self.bottom

    @property
    def span(self) -> float:
        return self.right - self.left

    def new_page(self) -> _Page:
        self.pages.append(_Page())
        self.y = self.top
        return self.pages[-1]

    @property
    def page(self) -> _Page:
        return self.pages[-1]

    def need(self, height: float) -> _Page:
        if height > self.room and self.y < self.top:
            return self.new_page()
        return self.page

    def place(self, block: Block, following: Block | None = None) -> None:
        if isinstance(block, Heading):
            self.need(HEADING + _least(following))
        _PLACERS[type(block)](self, block)


HEADING = 20.0
"""The height a heading takes; it is kept on the page of what follows it."""


def _least(block: Block | None) -> float:
    """The least of ``block`` that must follow a heading on its page."""
    if isinstance(block, Table):
        rows = min(len(block.rows), 3) + 1 + (block.total is not None)
        return TABLE * 1.45 * max(rows, 2) + 8
    if isinstance(block, Facts | Text):
        return BODY * 1.45 * 2
    if isinstance(block, Signatures):
        return 50.0
    return 0.0


def _heading(lay: _Layout, block: Heading) -> None:
    page = lay.page
    if lay.y < lay.top:
        lay.y -= 6
    lay.y -= 11
    page.ink(INK)
    page.text(lay.left, lay.y, block.text, BOLD, 10.5, "left")
    lay.y -= 3
    page.rule(lay.left, lay.y, lay.right, lay.y)
    lay.y -= 4


_TEXT_STYLES = {
    "body": (SANS, BODY, INK),
    "muted": (SANS, BODY - 0.5, MUTED),
    "bold": (BOLD, BODY, INK),
    "mono": (MONO, BODY - 1, INK),
    "large": (BOLD, 11.0, INK),
}


def _text(lay: _Layout, block: Text) -> None:
    font, size, colour = _TEXT_STYLES[block.style]
    leading = size * 1.3
    for line in simpleSplit(block.text, font, size, lay.span) or [""]:
        page = lay.need(leading)
        lay.y -= leading
        page.ink(colour)
        page.text(lay.left, lay.y + size * 0.25, line, font, size, "left")
    lay.y -= 2


def _facts(lay: _Layout, block: Facts) -> None:
    size, per = block.size, max(1, block.per_line)
    cell = lay.span / per
    label_w = min(cell * 0.45, max((width(k, SANS, size) for k, _ in block.items), default=0.0) + 8)
    leading = size * 1.45
    for start in range(0, len(block.items), per):
        line = block.items[start : start + per]
        wrapped = [simpleSplit(v, BOLD, size, cell - label_w - 8) or [""] for _, v in line]
        height = leading * max(len(w) for w in wrapped)
        page = lay.need(height)
        lay.y -= leading
        for i, ((label, _), values) in enumerate(zip(line, wrapped, strict=True)):
            x = lay.left + i * cell
            page.ink(MUTED)
            page.text(x, lay.y, fit(label, SANS, size, label_w - 4), SANS, size, "left")
            page.ink(INK)
            for k, value in enumerate(values):
                page.text(x + label_w, lay.y - k * leading, value, BOLD, size, "left")
        lay.y -= height - leading
    lay.y -= 4


def _signatures(lay: _Layout, block: Signatures) -> None:
    count = max(1, len(block.labels))
    page = lay.need(48)
    lay.y -= 34
    gap = 14.0
    each = (lay.span - gap * (count - 1)) / count
    for i, label in enumerate(block.labels):
        x = lay.left + i * (each + gap)
        page.rule(x, lay.y, x + each, lay.y, INK)
        page.ink(MUTED)
        page.text(x, lay.y - 9, fit(label, SANS, 7, each), SANS, 7, "left")
    lay.y -= 16


def _gap(lay: _Layout, block: Gap) -> None:
    lay.y = max(lay.y - block.height, lay.bottom)


# -- tables -----------------------------------------------------------------------------


def _natural(texts: Iterable[str], font: str, size: float, sample: int = 8) -> float:
    """The width of the widest of ``texts``, measuring only the longest few (glyph widths
    vary little within a font, so the longest strings are the widest ones)."""
    longest = sorted(set(texts), key=len, reverse=True)[:sample]
    return max((width(t, font, size) for t in longest), default=0.0)


def _cell_font(column: Column, bold: bool = False) -> str:
    return MONO if column.mono else (BOLD if bold else SANS)


def _widths(table: Table, span: float, size: float) -> list[float] | None:
    """Column widths filling ``span``, or None when the fixed columns do not fit."""
    cols = table.columns
    natural = []
    for i, col in enumerate(cols):
        cells = [row[i] for row in table.rows]
        if table.total is not None:
            cells.append(table.total[i])
        body = _natural(cells, _cell_font(col, table.total is not None), size)
        natural.append(max(body, width(col.title, BOLD, size)) + 2 * PAD)
    fixed = [i for i, c in enumerate(cols) if c.kept]
    flexible = [i for i, c in enumerate(cols) if not c.kept]
    used = sum(natural[i] for i in fixed)
    if used > span:
        return None
    left = span - used
    want = sum(natural[i] for i in flexible)
    widths = list(natural)
    weights = sum(cols[i].weight for i in flexible) or 1.0
    if want <= left:
        extra = left - want
        for i in flexible or fixed:
            share = cols[i].weight / weights if flexible else 1 / len(fixed)
            widths[i] += extra * share
        return widths
    for i in flexible:
        widths[i] = left * cols[i].weight / weights
    return widths


def _table_size(table: Table, span: float) -> tuple[float, list[float]]:
    size = TABLE
    while True:
        widths = _widths(table, span, size)
        if widths is not None:
            return size, widths
        if size <= MIN_TABLE:
            return size, [span / len(table.columns)] * len(table.columns)
        size = max(MIN_TABLE, size - 0.5)


def _draw_row(
    page: _Page,
    lay: _Layout,
    cells: Sequence[str],
    table: Table,
    widths: list[float],
    size: float,
    bold: bool = False,
) -> None:
    """One row whose box starts at ``lay.y`` and is ``1.45 * size`` high."""
    x, y = lay.left, lay.y + size * 0.38
    for text, col, w in zip(cells, table.columns, widths, strict=True):
        font = BOLD if bold else _cell_font(col)
        shown = text if col.kept else fit(text, font, size, w - 2 * PAD)
        if col.align == "right":
            page.text(x + w - PAD, y, shown, font, size, "right")
        elif col.align == "center":
            page.text(x + w / 2, y, shown, font, size, "center")
        else:
            page.text(x + PAD, y, shown, font, size, "left")
        x += w


def _table_head(lay: _Layout, table: Table, widths: list[float], size: float) -> _Page:
    leading = size * 1.45
    page = lay.page
    page.shade(lay.left, lay.y - leading, sum(widths), leading)
    lay.y -= leading
    page.ink(INK)
    _draw_row(page, lay, [c.title for c in table.columns], table, widths, size, bold=True)
    return page


def _table(lay: _Layout, table: Table) -> None:
    size, widths = _table_size(table, lay.span * table.share)
    leading, span = size * 1.45, sum(widths)
    if not table.rows:
        _text(lay, Text(table.empty, "muted"))
        return
    lay.need(_least(table) - 8)
    page = _table_head(lay, table, widths, size)
    last = len(table.rows) - 1
    for n, row in enumerate(table.rows):
        rows_left = 2 if n == last and table.total is not None else 1
        if lay.room < leading * rows_left:
            lay.new_page()
            page = _table_head(lay, table, widths, size)
        if n % 2:
            page.shade(lay.left, lay.y - leading, span, leading, STRIPE)
        lay.y -= leading
        page.ink(INK)
        _draw_row(page, lay, row, table, widths, size)
    if table.total is not None:
        if lay.room < leading:
            lay.new_page()
            page = _table_head(lay, table, widths, size)
        page.rule(lay.left, lay.y, lay.left + span, lay.y, INK)
        lay.y -= leading
        page.ink(INK)
        _draw_row(page, lay, table.total, table, widths, size, bold=True)
    lay.y -= 8


_PLACERS: dict[type, Callable[[_Layout, object], None]] = {
    Heading: _heading,  # type: ignore[dict-item]
    Text: _text,  # type: ignore[dict-item]
    Facts: _facts,  # type: ignore[dict-item]
    Table: _table,  # type: ignore[dict-item]
    Signatures: _signatures,  # type: ignore[dict-item]
    Gap: _gap,  # type: ignore[dict-item]
}


# -- masthead and footer ----------------------------------------------------------------


def _masthead_lines(head: Masthead, span: float) -> list[tuple[str, str, float]]:
    """(text, font, size) of each line under the firm and title, wrapped."""
    lines: list[tuple[str, str, float]] = []
    if head.address:
        lines += [(s, SANS, 7.5) for s in simpleSplit(head.address, SANS, 7.5, span)]
    for text in head.lines:
        lines += [(s, SANS, 7.5) for s in simpleSplit(text, SANS, 7.5, span)]
    for text in head.mono_lines:
        lines += [(s, MONO, 6.5) for s in simpleSplit(text, MONO, 6.5, span)]
    return lines


def _masthead_height(head: Masthead, span: float) -> float:
    return 16 + 9.5 * len(_masthead_lines(head, span)) + 10


def _draw_masthead(c: Canvas, head: Masthead, size: tuple[float, float]) -> None:
    w, h = size
    span = w - 2 * MARGIN
    y = h - MARGIN - 12
    c.setFillColorRGB(*INK)
    c.setFont(BOLD, 12.5)
    title_w = width(head.title, BOLD, 12.5)
    c.drawString(MARGIN, y, fit(head.firm, BOLD, 12.5, span - title_w - 16))
    c.drawRightString(w - MARGIN, y, head.title)
    y -= 4
    c.setFillColorRGB(*MUTED)
    for text, font, fsize in _masthead_lines(head, span):
        y -= 9.5
        c.setFont(font, fsize)
        c.drawString(MARGIN, y, text)
    y -= 6
    c.setStrokeColorRGB(*INK)
    c.setLineWidth(0.8)
    c.line(MARGIN, y, w - MARGIN, y)


def _draw_footer(c: Canvas, head: Masthead, size: tuple[float, float], n: int, of: int) -> None:
    w, _ = size
    c.setFillColorRGB(*MUTED)
    c.setFont(SANS, 7)
    c.drawString(MARGIN, MARGIN - 6, fit(f"{head.firm} · {head.title}", SANS, 7, w / 2))
    c.drawRightString(w - MARGIN, MARGIN - 6, f"Page {n} of {of}")


# -- rendering --------------------------------------------------------------------------


def _draw_shapes(c: Canvas, ops: list[Op]) -> None:
    for kind, args in ops:
        if kind == "l":
            x1, y1, x2, y2, colour = args
            c.setStrokeColorRGB(*colour)
            c.setLineWidth(0.5)
            c.line(x1, y1, x2, y2)
        elif kind == "r":
            x, y, w, h, colour = args
            c.setFillColorRGB(*colour)
            c.rect(x, y, w, h, stroke=0, fill=1)


def _draw_text(c: Canvas, ops: list[Op]) -> None:
    """Every string of a page in one text object (a text object per string, as
    ``drawString`` makes, costs several times more)."""
    text = c.beginText()
    text.setFillColorRGB(*INK)
    font: tuple[str, float] | None = None
    for kind, args in ops:
        if kind == "c":
            text.setFillColorRGB(*args)
        elif kind == "t":
            x, y, s, name, size, align = args
            if font != (name, size):
                font = (name, size)
                text.setFont(name, size)
            if align == "right":
                x -= width(s, name, size)
            elif align == "center":
                x -= width(s, name, size) / 2
            text.setTextOrigin(x, y)
            text.textOut(s)
    c.drawText(text)


def body_box(head: Masthead, paper: Paper = "a4") -> tuple[float, float, float, float]:
    """Where the blocks go on every page, below the masthead and above the footer:
    (left, bottom, right, top) in points from the page's bottom-left corner."""
    w, h = PAPERS[paper]
    top = h - MARGIN - _masthead_height(head, w - 2 * MARGIN)
    return MARGIN, MARGIN + 14, w - MARGIN, top


def layout(head: Masthead, blocks: Sequence[Block], paper: Paper = "a4") -> list[_Page]:
    size = PAPERS[paper]
    lay = _Layout(size, _masthead_height(head, size[0] - 2 * MARGIN))
    for i, block in enumerate(blocks):
        lay.place(block, blocks[i + 1] if i + 1 < len(blocks) else None)
    return lay.pages


def render(head: Masthead, blocks: Sequence[Block], paper: Paper = "a4") -> bytes:
    """The PDF of ``blocks`` under ``head`` on every page, as bytes (deterministic)."""
    register_fonts()
    size = PAPERS[paper]
    pages = layout(head, blocks, paper)
    out = io.BytesIO()
    c = Canvas(out, pagesize=size, invariant=1, pageCompression=1, initialFontName=SANS)
    c.setDateFormatter(lambda *_: head.created)
    c.setTitle(head.title)
    c.setAuthor(head.author or head.firm)
    c.setSubject(head.subject)
    c.setKeywords(head.keywords)
    c.setCreator("TransactFlowOS")
    for n, page in enumerate(pages, start=1):
        _draw_masthead(c, head, size)
        _draw_shapes(c, page.ops)
        _draw_text(c, page.ops)
        _draw_footer(c, head, size, n, len(pages))
        c.showPage()
    c.save()
    return out.getvalue()
