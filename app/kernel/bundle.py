"""Where the program's own files are: in a checkout, or in a PyInstaller bundle.

Read-only files that ship with the program (the theme, icons, fonts, report assets,
the server's static pages) are found through :func:`resource`, never relative to a
module's ``__file__``. In a checkout they sit under the repository root; in a bundle
under ``sys._MEIPASS``, where ``packaging/transactflowos.spec`` puts them at the same
relative paths (``resources/...``, ``server/static``).
"""

from __future__ import annotations

import sys
from pathlib import Path


def is_frozen() -> bool:
    """True inside a PyInstaller bundle (no interpreter to start, no source tree)."""
    return bool(getattr(sys, "frozen", False))


def root() -> Path:
    """The folder the program's files hang from: the bundle, or the repository root."""
    bundled = getattr(sys, "_MEIPASS", None)
    if is_frozen() and bundled:
        return Path(bundled)
    return Path(__file__).resolve().parents[2]


def resource(*parts: str) -> Path:
    """A shipped file or folder, e.g. ``resource("resources", "theme.qss")``."""
    return root().joinpath(*parts)
