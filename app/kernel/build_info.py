"""Which build this is: the project's version and the git commit it was built from.

A bundle carries ``build-info.json``, written by the PyInstaller spec from
pyproject.toml and git at build time; a checkout reads the installed project's
version and asks git. Shown in the desktop's About box.
"""

from __future__ import annotations

import functools
import json
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from app.kernel import bundle

INFO_FILE = "build-info.json"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class BuildInfo:
    version: str
    commit: str
    """12 hex digits, with ``+dirty`` when built from uncommitted changes, or "unknown"."""

    def to_json(self) -> str:
        return json.dumps({"version": self.version, "commit": self.commit})


def _git(folder: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10, check=True
    )
    return result.stdout.strip()


def git_commit(folder: Path) -> str:
    """The commit checked out in ``folder`` (``+dirty`` if tracked files changed)."""
    try:
        commit = _git(folder, "rev-parse", "--short=12", "HEAD")
        changed = _git(folder, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return UNKNOWN
    return commit + "+dirty" if changed else commit


def _project_version() -> str:
    try:
        return metadata.version("transactflowos")
    except metadata.PackageNotFoundError:
        return UNKNOWN


@functools.cache
def build_info() -> BuildInfo:
    """This program's version and commit (read once)."""
    shipped = bundle.resource(INFO_FILE)
    if shipped.is_file():
        data = json.loads(shipped.read_text(encoding="utf-8"))
        return BuildInfo(str(data["version"]), str(data["commit"]))
    return BuildInfo(_project_version(), git_commit(bundle.root()))
