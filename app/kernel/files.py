"""Small file helpers: directory fsync, atomic replace, private key files, who has a file open."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

import psutil

from app.kernel.errors import StorageError

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
_OTHERS = 0o077


def set_private_umask() -> None:
    """Files and folders this process creates from now on are its user's alone."""
    os.umask(_OTHERS)


def create_private(path: Path) -> None:
    """Create ``path`` as an empty file only its owner may read, unless it exists."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _CLOEXEC, PRIVATE_FILE))


def make_private(root: Path) -> list[Path]:
    """Take group and other permissions off ``root`` and everything in it (symlinks are
    left alone); the paths that had them."""
    if os.name != "posix":
        return []
    changed = []
    for path in _tree(root):
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:
            continue
        if not stat.S_ISLNK(mode) and mode & _OTHERS:
            os.chmod(path, stat.S_IMODE(mode) & ~_OTHERS)
            changed.append(path)
    return changed


def _tree(root: Path) -> Iterator[Path]:
    yield root
    for folder, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            yield Path(folder, name)


def fsync_dir(path: Path) -> None:
    """Flush a directory entry (a create, rename or link) in ``path`` to disk (POSIX only)."""
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY | _CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durably(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically: readers see the old or the new file, whole."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _CLOEXEC, PRIVATE_FILE)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)


def load_or_create_key(path: Path, what: str, size: int = 32, *, damaged_hint: str = "") -> bytes:
    """The ``size``-byte secret in ``path``, created private (mode 0600) on first use.

    ``what`` names the key in messages ("personal-data key"). Two processes creating it at
    once agree: each writes a temp file and links it into place without overwriting, and
    the loser reads the winner's key.

    Raises:
        StorageError: the file is readable by other users, or is not ``size`` bytes long.
    """
    if not path.exists():
        _create(path, size)
    if os.name == "posix" and path.stat().st_mode & 0o077:
        raise StorageError(
            f"The {what} file {path} is readable by other users.",
            hint=f"Restrict it with: chmod 600 {path}",
        )
    key = path.read_bytes()
    if len(key) != size:
        raise StorageError(
            f"The {what} file {path} is damaged ({len(key)} bytes, expected {size}).",
            hint=damaged_hint or "Restore it from the backup of the data directory.",
        )
    return key


def _create(path: Path, size: int) -> None:
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    tmp = folder / f".{path.name}.{secrets.token_hex(8)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _CLOEXEC, PRIVATE_FILE)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(size))
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):  # another process won: use theirs
            os.link(tmp, path)
        fsync_dir(folder)
    finally:
        tmp.unlink(missing_ok=True)


def processes_using(path: Path) -> list[str]:
    """Other processes that have ``path`` open ("pid 1234 (tfos)"), among those this
    user may inspect."""
    target = os.path.realpath(path)
    found = []
    for proc in psutil.process_iter(["pid", "name"]):
        if proc.pid == os.getpid():
            continue
        try:
            files = proc.open_files()
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        if any(f.path == target for f in files):
            found.append(f"pid {proc.pid} ({proc.info['name']})")
    return found
