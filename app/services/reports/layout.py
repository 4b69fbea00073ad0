"""Placing blocks on pages: tables sized from their content, headings kept with what
follows them, each page a list of drawing operations.

Layout comes first and drawing second (:mod:`.pdf`), so the page count is known
before the first page is drawn ("Page 3 of 12").

Tables size their columns from their content: kept columns (amounts, dates, counts:
by default every right-aligned one) always get their full width, so a figure is never
cut or wrapped; the other columns share what is left, their text shortened with "…"
when it does not fit. When the kept columns alone do not fit, the table's font gets
smaller. Each different text of a column is measured once, and a cell again only when
it may not fit, so a table of 10,000 rows lays out in a fraction of a second.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from reportlab.lib.utils import simpleSplit

from app.services.reports.blocks import (
    BODY,
    BOLD,
    INK,
    MARGIN,
    MIN_TABLE,
    MONO,
    MUTED,
    PAD,
    PAPERS,
    RULE,
    SANS,
    SHADE,
    STRIPE,
    TABLE,
    Align,
    Block,
    Column,
    Facts,
    Gap,
    Heading,
    Masthead,
    Paper,
    Signatures,
    Table,
    Text,
    fit,
    width,
)

# -- drawing operations -----------------------------------------------------------------

Op = tuple[str, tuple[Any, ...]]


@dataclass
class Page:
    ops: list[Op] = field(default_factory=list)

    def text(self, x: float, y: float, s: str, font: str, size: float, align: Align) -> None:
        self.ops.append(("t", (x, y, s, font, size, align)))

    def rule(self, x1: float, y1: float, x2: float, y2: float, colour: tuple = RULE) -> None:
        self.ops.append(("l", (x1, y1, x2, y2, colour)))

    def shade(self, x: float, y: float, w: float, h: float, colour: tuple = SHADE) -> None:
        self.ops.append(("r", (x, y, w, h, colour)))

    def ink(self, colour: tuple[float, float, float]) -> None:
        self.ops.append(("c", colour))


class Layout:
    """Places blocks top to bottom, starting a new page when one is full."""

    def __init__(self, size: tuple[float, float], top_reserved: float) -> None:
        self.width, self.height = size
        self.left, self.right = MARGIN, self.width - MARGIN
        self.top = self.height - MARGIN - top_reserved
        self.bottom = MARGIN + 14
        self.pages: list[Page] = []
        self.y = 0.0
        self.new_page()

    @property
    def room(self) -> float:
        return self.y - self.bottom

    @property
    def span(self) -> float:
        return self.right - self.left

    def new_page(self) -> Page:
        self.pages.append(Page())
        self.y = self.top
        return self.pages[-1]

    @property
    def page(self) -> Page:
        return self.pages[-1]

    def need(self, height: float) -> Page:
        if height > self.room and self.y < self.top:
            return self.new_page()
        return self.page

    def place(self, block: Block, following: Block | None = None) -> None:
        if isinstance(block, Heading):
            kept = _kept_height(self, following) if isinstance(following, Text) else 0.0
            self.need(HEADING + (kept or _least(following)))
        _PLACERS[type(block)](self, block)


HEADING = 24.0  # 6 above it, 11 of text, 3 to its rule, 4 below
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


def _heading(lay: Layout, block: Heading) -> None:
    page = lay.page
    if lay.y < lay.top:
        lay.y -= 6
    lay.y -= 11
    page.ink(INK)
    page.text(lay.left, lay.y, block.text, BOLD, 10.5, "left")
    lay.y -= 3
    page.rule(lay.left, lay.y, lay.right, lay.y)
    lay.y -= 4


MIN_MONO = 5.5
"""The smallest a mono text is set to fit its longest word (still readable printed)."""
_TEXT_STYLES = {
    "body": (SANS, BODY, INK),
    "muted": (SANS, BODY - 0.5, MUTED),
    "bold": (BOLD, BODY, INK),
    "mono": (MONO, BODY - 1, INK),
    "large": (BOLD, 11.0, INK),
}


def _lines(text: str, font: str, size: float, span: float) -> list[str]:
    """``text`` wrapped to ``span``; its empty lines kept (a signed note needs its blank
    line to be copied back from the page)."""
    lines = text.rstrip("\n").split("\n")
    return [part for line in lines for part in simpleSplit(line, font, size, span) or [""]]


def _style(lay: Layout, block: Text) -> tuple[str, float, Any]:
    """The font, size and colour of ``block``. A mono text is a hash, key, signature or
    proof, which cannot be broken inside a word: on a narrow page (an A5 receipt) its
    size shrinks until its longest word fits between the margins."""
    font, size, colour = _TEXT_STYLES[block.style]
    if block.style == "mono":
        longest = max((width(word, font, size) for word in block.text.split()), default=0.0)
        if longest > lay.span:
            size = max(MIN_MONO, size * lay.span / longest)
    return font, size, colour


def _kept_height(lay: Layout, block: Text) -> float:
    """The height of a mono text, which is kept on one page when a page can hold it (a
    signed note, a hash or a proof is copied back from the page whole); 0 for others."""
    if block.style != "mono":
        return 0.0
    font, size, _ = _style(lay, block)
    height = len(_lines(block.text, font, size, lay.span)) * size * 1.3
    return height if height <= lay.top - lay.bottom else 0.0


def _text(lay: Layout, block: Text) -> None:
    font, size, colour = _style(lay, block)
    leading = size * 1.3
    lay.need(_kept_height(lay, block))
    for line in _lines(block.text, font, size, lay.span):
        page = lay.need(leading)
        lay.y -= leading
        page.ink(colour)
        page.text(lay.left, lay.y + size * 0.25, line, font, size, "left")
    lay.y -= 2


def _facts(lay: Layout, block: Facts) -> None:
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


def _signatures(lay: Layout, block: Signatures) -> None:
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


def _gap(lay: Layout, block: Gap) -> None:
    lay.y = max(lay.y - block.height, lay.bottom)


# -- tables -----------------------------------------------------------------------------


def _natural(texts: Iterable[str], font: str, size: float) -> float:
    """The width of the widest of ``texts`` (each different text measured once)."""
    return max((width(t, font, size) for t in set(texts)), default=0.0)


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
    page: Page,
    lay: Layout,
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


def _table_head(lay: Layout, table: Table, widths: list[float], size: float) -> Page:
    leading = size * 1.45
    page = lay.page
    page.shade(lay.left, lay.y - leading, sum(widths), leading)
    lay.y -= leading
    page.ink(INK)
    _draw_row(page, lay, [c.title for c in table.columns], table, widths, size, bold=True)
    return page


def _table(lay: Layout, table: Table) -> None:
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


_PLACERS: dict[type, Callable[[Layout, object], None]] = {
    Heading: _heading,  # type: ignore[dict-item]
    Text: _text,  # type: ignore[dict-item]
    Facts: _facts,  # type: ignore[dict-item]
    Table: _table,  # type: ignore[dict-item]
    Signatures: _signatures,  # type: ignore[dict-item]
    Gap: _gap,  # type: ignore[dict-item]
}


def masthead_lines(head: Masthead, span: float) -> list[tuple[str, str, float]]:
    """(text, font, size) of each line under the firm and title, wrapped."""
    lines: list[tuple[str, str, float]] = []
    if head.address:
        lines += [(s, SANS, 7.5) for s in simpleSplit(head.address, SANS, 7.5, span)]
    for text in head.lines:
        lines += [(s, SANS, 7.5) for s in simpleSplit(text, SANS, 7.5, span)]
    for text in head.mono_lines:
        lines += [(s, MONO, 6.5) for s in simpleSplit(text, MONO, 6.5, span)]
    return lines


def masthead_height(head: Masthead, span: float) -> float:
    return 16 + 9.5 * len(masthead_lines(head, span)) + 10


def layout(head: Masthead, blocks: Sequence[Block], paper: Paper = "a4") -> list[Page]:
    """``blocks`` placed on pages under ``head``."""
    size = PAPERS[paper]
    lay = Layout(size, masthead_height(head, size[0] - 2 * MARGIN))
    for i, block in enumerate(blocks):
        lay.place(block, blocks[i + 1] if i + 1 < len(blocks) else None)
    return lay.pages
