"""Render the application icon's PNG sizes and the Windows .ico from its SVGs.

``python packaging/render_icons.py`` writes resources/icons/transactflowos-<size>.png
and transactflowos.ico; ``--check`` renders in memory and exits 1 when a committed PNG
differs (the test suite runs it). Qt's SVG renderer (PySide6, pinned) draws them, so
the output is the same on every machine with the project's .venv.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"
NAME = "transactflowos"
SIZES = (16, 24, 32, 48, 64, 128, 256)


def source(size: int) -> Path:
    """The drawing for ``size``: small sizes have their own, simpler ones."""
    variant = "-tiny" if size < 24 else "-small" if size < 48 else ""
    return ICONS / f"{NAME}{variant}.svg"


def render(size: int) -> QImage:
    renderer = QSvgRenderer(str(source(size)))
    if not renderer.isValid():
        raise SystemExit(f"cannot read {source(size)}")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    return image


def png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, b"PNG")
    return bytes(data.data())


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """A .ico holding each size as an embedded PNG (Windows Vista and later)."""
    header = struct.pack("<HHH", 0, 1, len(pngs))
    offset = len(header) + 16 * len(pngs)
    entries, blobs = b"", b""
    for size, blob in sorted(pngs.items()):
        side = size % 256  # 0 means 256 in the .ico directory
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(blob), offset)
        blobs += blob
        offset += len(blob)
    return header + entries + blobs


def png_path(size: int) -> Path:
    return ICONS / f"{NAME}-{size}.png"


def stale() -> list[str]:
    """Committed PNGs that differ from a fresh render."""
    wrong = []
    for size in SIZES:
        committed = QImage(str(png_path(size))).convertToFormat(QImage.Format.Format_ARGB32)
        if committed != render(size):
            wrong.append(png_path(size).name)
    return wrong


def write() -> None:
    pngs = {size: png_bytes(render(size)) for size in SIZES}
    for size, blob in pngs.items():
        png_path(size).write_bytes(blob)
    (ICONS / f"{NAME}.ico").write_bytes(ico_bytes(pngs))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="Only check the committed PNGs.")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QGuiApplication(sys.argv[:1])  # noqa: F841  (QImage/QPainter need one)
    if args.check:
        wrong = stale()
        if wrong:
            print("Out of date, run `make icons`: " + ", ".join(wrong), file=sys.stderr)
            return 1
        return 0
    write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
