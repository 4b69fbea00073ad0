"""The icon's PNGs and .ico are what `make icons` renders from the committed SVGs."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ICONS = ROOT / "resources" / "icons"


def test_committed_pngs_match_a_fresh_render_of_the_svgs() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "packaging" / "render_icons.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_the_windows_icon_holds_every_size_as_png() -> None:
    data = (ICONS / "transactflowos.ico").read_bytes()
    reserved, kind, count = struct.unpack_from("<HHH", data)
    assert (reserved, kind) == (0, 1)
    sizes = []
    for i in range(count):
        width, _, _, _, _, _, length, offset = struct.unpack_from("<BBBBHHII", data, 6 + 16 * i)
        assert data[offset : offset + 8] == b"\x89PNG\r\n\x1a\n"
        assert (ICONS / f"transactflowos-{width or 256}.png").read_bytes() == data[
            offset : offset + length
        ]
        sizes.append(width or 256)
    assert sizes == [16, 24, 32, 48, 64, 128, 256]
