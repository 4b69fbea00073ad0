"""The app skeleton: the composition root, `tfos serve`, the desktop window and footer."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app import bootstrap, config
from app.services.actors import SYSTEM
from app.views.main_window import MainWindow
from tests.parts import missing

ROOT = Path(__file__).resolve().parents[1]


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TFOS_")}
    env.update(PYTHONPATH=str(ROOT), TFOS_DATA_DIR=str(data_dir), **extra)
    return env


def test_serve_answers_healthz_with_the_wal_head(data_dir: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "--port", "0", "serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(data_dir),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "serving on http://" in line, proc.stderr.read() if proc.stderr else ""
        url = line.split()[-1] + "/healthz"
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.load(response)
        assert body["status"] == "ok"
        assert body["wal"]["entries"] == 0
        assert body["wal"]["head_hash"] == "0" * 64
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert proc.returncode == 0


def test_no_display_gives_a_clear_message(data_dir: Path) -> None:
    env = _env(data_dir)
    for key in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        env.pop(key, None)
    result = subprocess.run(
        [sys.executable, "-m", "app"], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 2
    assert "needs a desktop session" in result.stderr
    assert "tfos serve" in result.stderr


def test_main_window_shows_live_kernel_footer(qtbot: QtBot, data_dir: Path) -> None:
    runtime = bootstrap.build(config.load(environ={}, data_dir=data_dir))
    try:
        window = MainWindow(
            runtime.services, SYSTEM, sample=runtime.stats.sample, on_close=lambda: None
        )
        qtbot.addWidget(window)
        window.show()
        window.footer.show_stats(runtime.stats.sample())
        text = window.footer.metrics["wal"].text()
        assert text.endswith(" 0")
        assert "GiB" in window.footer.metrics["ram"].text()
        titles = [window.nav.item(i).text() for i in range(window.nav.count())]
        assert titles[:4] == ["Dashboard", "KYC queue", "Loan inbox", "Auctions"]
        assert "Audit" in titles and "Staff" in titles
        window.close()
    finally:
        runtime.close()


def _screenshots(data_dir: Path, out: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", "--port", "0", "--screenshots", str(out)],
        capture_output=True,
        text=True,
        env=_env(data_dir, **env),
        timeout=120,
    )


def test_desktop_starts_serves_and_shuts_down_cleanly(data_dir: Path, tmp_path: Path) -> None:
    result = _screenshots(data_dir, tmp_path / "shots", QT_QPA_PLATFORM="offscreen")
    assert result.returncode == 0, result.stderr
    assert "Event loop stopped" not in result.stderr
    assert sorted(p.name for p in (tmp_path / "shots").iterdir())


@pytest.mark.xvfb
def test_real_window_under_xvfb(data_dir: Path, tmp_path: Path) -> None:
    if shutil.which("xvfb-run") is None:
        missing("xvfb", "xvfb-run is not installed")
    env = _env(data_dir, QT_QPA_PLATFORM="xcb")
    result = subprocess.run(
        [
            "xvfb-run",
            "-a",
            "-s",
            "-screen 0 1280x800x24",
            sys.executable,
            "-m",
            "app",
            "--port",
            "0",
            "--screenshots",
            str(tmp_path / "x"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    shots = list((tmp_path / "x").iterdir())
    assert shots and all(p.stat().st_size > 5000 for p in shots)
