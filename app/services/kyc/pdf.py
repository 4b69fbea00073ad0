"""PDF documents through PDFium (pypdfium2): does one open, and its first page as pixels.

PDFium is not thread-safe: every call into it in this process goes through this module
and holds :data:`_PDFIUM` (documents are opened, used and closed under it, so no
finaliser touches PDFium later from another thread).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import pypdfium2 as pdfium
import pypdfium2.raw

_PDFIUM = threading.Lock()
_RGBX = pdfium.raw.FPDFBitmap_BGRx  # with rev_byteorder: R, G, B, unused
_REASONS = {
    "password": "it is password-protected: attach an unlocked copy",
    "format": "it is damaged or not really a PDF",
}


@dataclass(frozen=True)
class Raster:
    """Pixels of a rendered page: ``height`` rows of ``stride`` bytes, 4 bytes (RGBX) a pixel."""

    width: int
    height: int
    stride: int
    pixels: bytes = field(repr=False)


def problem(data: bytes) -> str | None:
    """Why ``data`` is not a usable PDF (it does not open, or has no page), or None."""
    with _PDFIUM:
        try:
            document = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            return _reason(exc)
        try:
            return None if len(document) > 0 else "it has no pages"
        finally:
            document.close()


def first_page(data: bytes, width: int) -> Raster:
    """The first page of the PDF ``data`` rendered ``width`` pixels wide, on white.

    Raises:
        pypdfium2.PdfiumError: the PDF does not open (see :func:`problem`).
    """
    with _PDFIUM:
        document = pdfium.PdfDocument(data)
        try:
            page = document[0]
            try:
                scale = width / max(page.get_width(), 1.0)
                bitmap = page.render(scale=scale, force_bitmap_format=_RGBX, rev_byteorder=True)
                try:
                    raster = Raster(
                        bitmap.width, bitmap.height, bitmap.stride, bytes(bitmap.buffer)
                    )
                finally:
                    bitmap.close()
            finally:
                page.close()
        finally:
            document.close()
    return raster


def _reason(exc: pdfium.PdfiumError) -> str:
    text = str(exc).lower()
    return next((why for key, why in _REASONS.items() if key in text), _REASONS["format"])
