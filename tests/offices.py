"""Several offices on one Firestore project: each data directory holds the office's
personal-data key, as an admin copies ``keys/pii.key`` onto every machine."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def new_key() -> bytes:
    return secrets.token_bytes(32)


def give_key(data_dir: Path, key: bytes) -> Path:
    """Put ``key`` in ``data_dir`` as its personal-data key (private, as the app keeps it)."""
    keys = data_dir / "keys"
    keys.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(data_dir, 0o700)
    path = keys / "pii.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(key)
    return data_dir
