"""``python -m app``: the desktop application for employees and admins."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from app import config
from app.config import Settings
from app.kernel import bundle
from app.kernel.errors import KnownError
from app.kernel.files import set_private_umask
from app.kernel.gc_tuning import tune_gc

NO_DISPLAY = """\
TransactFlowOS needs a desktop session to show its window, and this machine has none
(DISPLAY and WAYLAND_DISPLAY are not set).
  - Run it from a desktop session (or over ssh -X), or
  - run the server alone:  {tfos} serve   (members' web view on http://127.0.0.1:8080), or
  - try it on a virtual screen:  xvfb-run -a {desktop}
"""


def _names() -> dict[str, str]:
    """How this desktop and its CLI are started: installed, or from a checkout."""
    if bundle.is_frozen():
        return {"tfos": "tfos", "desktop": "transactflowos", "prog": "transactflowos"}
    return {"tfos": ".venv/bin/tfos", "desktop": "make run", "prog": "python -m app"}


def display_available() -> bool:
    if sys.platform != "linux" or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run_desktop(
    settings: Settings, *, screenshots: str | None = None, seed_demo: bool = False
) -> int:
    """Start the desktop; with ``screenshots``, save one PNG per view and exit."""
    if screenshots and not display_available():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    if not display_available():
        print(NO_DISPLAY.format(**_names()), file=sys.stderr)
        return 2
    os.environ.setdefault("QT_API", "pyside6")
    from app.desktop import main

    return main(settings, screenshots=screenshots, seed_demo=seed_demo)


def main(argv: Sequence[str] | None = None) -> int:
    set_private_umask()
    tune_gc()
    parser = argparse.ArgumentParser(prog=_names()["prog"], description=__doc__)
    config.add_arguments(parser)
    parser.add_argument(
        "--screenshots",
        metavar="DIR",
        default=None,
        help="Save one PNG per main view into DIR and exit.",
    )
    parser.add_argument(
        "--seed-demo-if-empty",
        action="store_true",
        help="On an empty data directory, first fill it with demo data (as `make run` does).",
    )
    args = parser.parse_args(argv)
    try:
        settings = config.load(args)
    except KnownError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
    return run_desktop(settings, screenshots=args.screenshots, seed_demo=args.seed_demo_if_empty)


if __name__ == "__main__":
    sys.exit(main())
