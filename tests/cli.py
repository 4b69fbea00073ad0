"""Running the ``tfos`` command line as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def tfos(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``tfos ARGS`` on ``data_dir`` (no other TFOS_ settings), its output captured."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TFOS_")}
    env.update(PYTHONPATH=str(ROOT), TFOS_DATA_DIR=str(data_dir))
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
