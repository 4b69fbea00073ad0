"""Drawing laid-out pages on the reportlab canvas: masthead, footer, page numbers.

Deterministic output: no wall-clock time enters the file. The canvas runs in
reportlab's invariant mode; the PDF's creation date is the time of the log record the
report reflects (:class:`~.blocks.Masthead`), and its document ID is a digest of the
title, author, subject and keywords, which carry the report's parameters and the log
head. The same log and parameters give byte-identical files.

Every string of a page goes into one text object: a text object per string, as
``drawString`` makes, costs several times more on a long register.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

from reportlab.pdfgen.canvas import Canvas

from app.services.reports.blocks import (
    BOLD,
    INK,
    MARGIN,
    MUTED,
    PAPERS,
    SANS,
    Block,
    Masthead,
    Paper,
    fit,
    register_fonts,
    width,
)
from app.services.reports.layout import Op, layout, masthead_height, masthead_lines


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
    for text, font, fsize in masthead_lines(head, span):
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
    top = h - MARGIN - masthead_height(head, w - 2 * MARGIN)
    return MARGIN, MARGIN + 14, w - MARGIN, top


PageProgress = Callable[[int, int], None]
"""Told ``(pages drawn, pages in all)`` after each page."""


def render(
    head: Masthead,
    blocks: Sequence[Block],
    paper: Paper = "a4",
    progress: PageProgress | None = None,
) -> bytes:
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
        if progress is not None:
            progress(n, len(pages))
    c.save()
    return out.getvalue()
