"""Reading the PDF reports back: their text (pypdf) and their pages as images (pdftoppm).

pdftoppm comes with poppler-utils, which ``make test`` installs; without it these
checks fail rather than skip.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

from pypdf import PdfReader

from app.services.reports.blocks import PAPERS, Masthead, Paper
from app.services.reports.pdf import body_box

DPI = 40
INK_BELOW = 200
"""A grey level darker than this is ink (0 black, 255 white)."""


def page_texts(pdf: bytes) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages]


def text(pdf: bytes) -> str:
    """All pages' text, with runs of spaces folded (pypdf spaces cells variously)."""
    return re.sub(r"[ \t]+", " ", "\n".join(page_texts(pdf)))


def pdftoppm() -> str:
    found = shutil.which("pdftoppm")
    assert found, "pdftoppm is missing: apt-get install poppler-utils (make test does)"
    return found


def render_pages(pdf: bytes, folder: Path) -> list[Path]:
    """Every page as a greyscale PGM image, in page order."""
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "report.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        [pdftoppm(), "-r", str(DPI), "-gray", str(source), str(folder / "page")],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return sorted(folder.glob("page-*.pgm"))


def read_pgm(path: Path) -> tuple[int, int, bytes]:
    raw = path.read_bytes()
    magic, width, height, depth, pixels = raw.split(maxsplit=4)
    assert magic == b"P5" and depth == b"255", path
    return int(width), int(height), pixels


def ink_in_body(path: Path, head: Masthead, paper: Paper) -> int:
    """How many pixels of ink lie between the masthead and the footer of one page."""
    width, _height, pixels = read_pgm(path)
    left, bottom, right, top = body_box(head, paper)
    page_h = PAPERS[paper][1]
    scale = DPI / 72
    rows = range(int((page_h - top) * scale) + 1, int((page_h - bottom) * scale) - 1)
    cols = slice(int(left * scale), int(right * scale))
    return sum(
        sum(1 for p in pixels[r * width : (r + 1) * width][cols] if p < INK_BELOW) for r in rows
    )


def blank_pages(pdf: bytes, head: Masthead, paper: Paper, folder: Path) -> list[int]:
    """Numbers of the pages with nothing below the masthead (1-based)."""
    pages = render_pages(pdf, folder)
    assert pages, "pdftoppm drew no page"
    return [n for n, page in enumerate(pages, start=1) if ink_in_body(page, head, paper) == 0]
