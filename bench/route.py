"""Follow one setting from the desktop's entry point to the services that use it.

    PYTHONPATH=. python bench/route.py [--setting session_hours] [--tree]

Runs ``python -m app --screenshots`` in this process (offscreen, on a fresh data
folder) under a profiler hook on the main thread that records every call made by the
project's own code (``app/``, ``server/``). Two routes are measured:

* the *setting's route*: every call on the way from ``main`` to each call that hands
  the setting's value to the service using it (``session_hours`` reaches
  ``StaffService.__init__``): the union of those calls' chains of callers;
* the *settings' reach*: the same for every call given the Settings object itself, or
  an object holding it as an attribute (the runtime), which is how far the settings
  travel.

A *step* is one call on a route; a *climb* is a step whose callee sits in a higher
layer than its caller. Climbs are counted for two orders of the layers: the order of
imports (the import-linter contract: kernel < config < services < composition root <
views | server < desktop start-up < entry points), and the order of building, where the
composition root, which builds views and server, sits above them (kernel < config <
services < views | server < composition root < desktop start-up < entry points): a
view reaching back into the runtime it was handed is a climb there.

Not a speed figure: it measures the shape of the code, the same way on any version
(run it with PYTHONPATH pointing at another checkout to compare). The last line
printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

CONSUMERS = {
    "session_hours": ("app.services.staff", "StaffService.__init__"),
    "scheduler_workers": ("app.services.loans.queue", "LoanQueue.__init__"),
    "member_session_hours": ("app.services.otp", "OtpService.__init__"),
}
Layers = tuple[tuple[str, int], ...]
IMPORT_ORDER: Layers = (
    ("app.kernel", 0),
    ("app.config", 1),
    ("app.services", 2),
    ("app.bootstrap", 3),
    ("app.views", 4),
    ("server", 4),
    ("app.desktop", 5),
    ("app.__main__", 6),
    ("app.cli", 6),
)
BUILD_ORDER: Layers = (
    ("app.kernel", 0),
    ("app.config", 1),
    ("app.services", 2),
    ("app.views", 3),
    ("server", 3),
    ("app.bootstrap", 4),
    ("app.desktop", 5),
    ("app.__main__", 6),
    ("app.cli", 6),
)


def layer(module: str, order: Layers) -> int:
    for prefix, rank in order:
        if module == prefix or module.startswith(prefix + "."):
            return rank
    raise ValueError(f"{module} is in no layer")


class Recorder:
    """The project's calls on the main thread, each with its caller (a call tree)."""

    def __init__(self, roots: tuple[str, ...], consumer: tuple[str, str]) -> None:
        self.roots = roots
        self.consumer = consumer
        self.nodes: list[tuple[int, str, str]] = []  # (caller index or -1, module, qualname)
        self.stack: list[tuple[FrameType, int]] = []
        self.hits: list[int] = []
        self.carriers: list[int] = []
        self.settings: object | None = None
        self._ours: dict[str, bool] = {}

    def ours(self, filename: str) -> bool:
        known = self._ours.get(filename)
        if known is None:
            known = self._ours[filename] = filename.startswith(self.roots)
        return known

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        if event == "call" and self.ours(frame.f_code.co_filename):
            module = str(frame.f_globals.get("__name__", "?"))
            caller = self.stack[-1][1] if self.stack else -1
            self.nodes.append((caller, module, frame.f_code.co_qualname))
            index = len(self.nodes) - 1
            self.stack.append((frame, index))
            if (module, frame.f_code.co_qualname) == self.consumer:
                self.hits.append(index)
            if self.settings is not None and self._carries(frame):
                self.carriers.append(index)
        elif event == "return" and self.stack and self.stack[-1][0] is frame:
            self.stack.pop()
            if self.settings is None and self._is_settings_load(frame):
                self.settings = arg

    @staticmethod
    def _is_settings_load(frame: FrameType) -> bool:
        code, module = frame.f_code, frame.f_globals.get("__name__")
        return code.co_qualname == "load" and module == "app.config"

    def _carries(self, frame: FrameType) -> bool:
        wanted = self.settings
        for value in frame.f_locals.values():
            if value is wanted:
                return True
            attrs = getattr(value, "__dict__", None)
            if isinstance(attrs, dict) and any(v is wanted for v in attrs.values()):
                return True
        return False

    def route(self, ends: list[int]) -> set[int]:
        found: set[int] = set()
        for hit in ends:
            node = hit
            while node >= 0 and node not in found:
                found.add(node)
                node = self.nodes[node][0]
        return found


def climbs(recorder: Recorder, route: set[int], order: Layers) -> list[int]:
    nodes = recorder.nodes
    return [
        n
        for n in sorted(route)
        if nodes[n][0] in route and layer(nodes[n][1], order) > layer(nodes[nodes[n][0]][1], order)
    ]


def tree(recorder: Recorder, route: set[int], up: set[int]) -> list[str]:
    depth: dict[int, int] = {}
    lines = []
    for n in sorted(route):
        caller, module, name = recorder.nodes[n]
        depth[n] = depth.get(caller, -1) + 1
        mark = "  ↑" if n in up else ""
        lines.append(f"{'  ' * depth[n]}{module}.{name}{mark}")
    return lines


def run_desktop(main: Callable[[list[str]], int], folder: Path) -> None:
    os.environ.update(
        QT_QPA_PLATFORM="offscreen", TFOS_DATA_DIR=str(folder / "data"), TFOS_PORT="0"
    )
    code = main(["--screenshots", str(folder / "shots")])
    if code != 0:
        raise SystemExit(f"the desktop exited with {code}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--setting", choices=sorted(CONSUMERS), default="session_hours")
    parser.add_argument("--tree", action="store_true", help="print the route, one call a line")
    args = parser.parse_args()
    os.environ.setdefault("QT_API", "pyside6")
    os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")
    for key in [k for k in os.environ if k.startswith("TFOS_")]:
        del os.environ[key]
    from app.__main__ import main as desktop_main

    source = Path(sys.modules["app"].__file__ or ".").resolve().parent.parent
    roots = (str(source / "app") + os.sep, str(source / "server") + os.sep)
    recorder = Recorder(roots, CONSUMERS[args.setting])
    with tempfile.TemporaryDirectory() as folder:
        sys.setprofile(recorder)
        try:
            run_desktop(desktop_main, Path(folder))
        finally:
            sys.setprofile(None)
    route, reach = recorder.route(recorder.hits), recorder.route(recorder.carriers)
    if args.tree:
        for title, found in (("the setting's route", route), ("the settings' reach", reach)):
            print(f"-- {title} (↑: a climb in the order of building) --")
            print("\n".join(tree(recorder, found, set(climbs(recorder, found, BUILD_ORDER)))))
    figures: dict[str, Any] = {
        "source": str(source),
        "setting": args.setting,
        "consumer": ".".join(CONSUMERS[args.setting]),
        "uses": len(recorder.hits),
    }
    for name, found in (("route", route), ("reach", reach)):
        figures[f"{name}_steps"] = len(found)
        figures[f"{name}_climbs_import_order"] = len(climbs(recorder, found, IMPORT_ORDER))
        figures[f"{name}_climbs_build_order"] = len(climbs(recorder, found, BUILD_ORDER))
    figures["calls_recorded"] = len(recorder.nodes)
    for key, value in figures.items():
        print(f"{key:>15}: {value}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
