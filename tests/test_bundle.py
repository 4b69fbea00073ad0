"""Shipped files and the build's identity, from a checkout and from a PyInstaller bundle.

The bundle itself is built and run by packaging/smoke.sh; here ``sys.frozen`` and
``sys._MEIPASS`` are set the way PyInstaller's bootloader sets them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.kernel import build_info as build
from app.kernel.bundle import is_frozen, resource, root

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def fresh_info() -> Iterator[None]:
    build.build_info.cache_clear()
    yield
    build.build_info.cache_clear()


@pytest.fixture
def bundle_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    return tmp_path


def test_in_a_checkout_resources_are_found_under_the_repository() -> None:
    assert not is_frozen()
    assert root() == ROOT
    assert resource("resources", "theme.qss").is_file()
    assert resource("server", "static", "index.html").is_file()


def test_in_a_bundle_resources_are_found_under_meipass(bundle_dir: Path) -> None:
    assert is_frozen() and root() == bundle_dir
    assert resource("resources", "theme.qss") == bundle_dir / "resources" / "theme.qss"


def test_only_the_helper_locates_files_from_its_own_source_path() -> None:
    """Every shipped file is found through app.kernel.bundle, which knows about bundles."""
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("app", "server")
        for path in (ROOT / folder).rglob("*.py")
        if "__file__" in path.read_text(encoding="utf-8")
    ]
    assert offenders == ["app/kernel/bundle.py"]


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_a_checkout_reports_the_project_version_and_its_commit(fresh_info: None) -> None:
    info = build.build_info()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    assert info.version == project["version"]
    assert info.commit.removesuffix("+dirty") == _git("rev-parse", "--short=12", "HEAD")


def test_a_bundle_reports_what_its_build_recorded(fresh_info: None, bundle_dir: Path) -> None:
    (bundle_dir / build.INFO_FILE).write_text(
        json.dumps({"version": "9.8.7", "commit": "0123456789ab"}), encoding="utf-8"
    )
    assert build.build_info() == build.BuildInfo("9.8.7", "0123456789ab")


def test_uncommitted_changes_mark_the_commit_dirty(tmp_path: Path) -> None:
    assert build.git_commit(tmp_path) == build.UNKNOWN
    for args in (
        ["init", "-q"],
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "x"],
    ):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True)
    (tmp_path / "f").write_text("1")
    subprocess.run(["git", "-C", str(tmp_path), "add", "f"], check=True)
    commit = build.git_commit(tmp_path)
    assert commit.endswith("+dirty") and len(commit) == 12 + len("+dirty")
