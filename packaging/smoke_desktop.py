"""Step 4 of packaging/smoke.sh: the bundled desktop renders every view, like the .venv's.

Runs ``--screenshots`` offscreen from the bundle and from the .venv, alternately
(``--runs`` times each, same data folder, a bare environment), and times each from
start to its first saved window. The ratio compares the best runs: on a shared
2-core machine other work only ever adds time (the medians are printed beside it).
Checks that the bundle saved the same views as the .venv and that each looks the same
(theme, fonts and icons found): at most ``--max-diff`` of a view's pixels may differ
(the footer's live figures do).
Prints one JSON object: the best and median times and their ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PySide6.QtGui import QGuiApplication, QImage


def first_window(command: list[str], env: dict[str, str], out: Path) -> float:
    """Seconds from start to the first screenshot written; the run must end cleanly."""
    began = time.perf_counter()
    proc = subprocess.Popen(
        [*command, "--screenshots", str(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    seconds = time.perf_counter() - began
    _, errors = proc.communicate(timeout=120)
    if proc.returncode != 0 or not line.strip().endswith(".png") or "Traceback" in errors:
        raise SystemExit(f"{command[0]} --screenshots failed ({proc.returncode}):\n{errors}")
    return seconds


def pixels(path: Path) -> np.ndarray:
    """The screenshot as a height × width × 4 array of bytes."""
    image = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB32)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), -1).copy()
    return rows[:, : image.width() * 4].reshape(image.height(), image.width(), 4)


def differing_share(a: Path, b: Path) -> float:
    """The share of pixels whose colour differs noticeably between two screenshots."""
    left, right = pixels(a).astype(np.int16), pixels(b).astype(np.int16)
    if left.shape != right.shape:
        return 1.0
    return float((np.abs(left - right)[..., :3].max(axis=2) > 24).mean())


def blank(path: Path) -> bool:
    image = pixels(path)
    return bool((image == image[0, 0]).all())


def compare(bundle: Path, venv: Path, max_diff: float) -> dict[str, float]:
    names = sorted(p.name for p in bundle.glob("*.png"))
    expected = sorted(p.name for p in venv.glob("*.png"))
    if names != expected or not names:
        raise SystemExit(f"The bundle saved {names}, the .venv {expected}.")
    shares = {}
    for name in names:
        if blank(bundle / name):
            raise SystemExit(f"The bundle's {name} is blank.")
        shares[name] = round(differing_share(bundle / name, venv / name), 4)
        if shares[name] > max_diff:
            raise SystemExit(
                f"The bundle's {name} differs from the .venv's in {shares[name]:.1%} of its "
                f"pixels (at most {max_diff:.0%}): is a theme, font or icon missing?"
            )
    return shares


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", required=True, help="The bundled desktop program.")
    parser.add_argument("--home", required=True, help="HOME holding the demo data.")
    parser.add_argument("--out", required=True, help="Folder for the screenshots.")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--max-diff", type=float, default=0.05)
    args = parser.parse_args()
    env = {
        "HOME": args.home,
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "QT_QPA_PLATFORM": "offscreen",
        "TFOS_PORT": "0",
    }
    commands = {"bundle": [args.bundle], "venv": [sys.executable, "-m", "app"]}
    times: dict[str, list[float]] = {"bundle": [], "venv": []}
    out = Path(args.out)
    for run in range(args.runs):
        for name in ("venv", "bundle"):
            times[name].append(first_window(commands[name], env, out / f"{name}-{run}"))
    app = QGuiApplication(sys.argv[:1])  # noqa: F841  (QImage needs one)
    last = args.runs - 1
    shares = compare(out / f"bundle-{last}", out / f"venv-{last}", args.max_diff)
    best = {k: min(v) for k, v in times.items()}
    median = {k: statistics.median(v) for k, v in times.items()}
    report = {
        "views": len(shares),
        "max_differing_share": max(shares.values()),
        "first_window_bundle_s": round(best["bundle"], 3),
        "first_window_venv_s": round(best["venv"], 3),
        "first_window_ratio": round(best["bundle"] / best["venv"], 3),
        "first_window_median_ratio": round(median["bundle"] / median["venv"], 3),
        "runs": {k: [round(t, 3) for t in v] for k, v in times.items()},
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.exit(main())
