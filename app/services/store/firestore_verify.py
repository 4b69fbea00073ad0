"""``tfos wal verify --store-backend firestore``: the log held in Firestore, checked.

The data directory's ``wal.log`` (the mirror) is verified on its own first. Then the
head is read, and every record up to it is read back in order and checked as the
README's verifier checks a ``wal.log`` line (:func:`app.kernel.wal_verify.analyze`: the
lsn, the previous hash, the SHA-256 of the body); every broken record is listed and
nothing is changed. The head document must name the last of them (records committed
while this runs are left for the next run). The mirror agrees when it is intact and its
last record is the project's record of the same lsn: a mirror may be behind, never
different; it cannot be ahead, since it only holds records Firestore took.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.kernel.wal import GENESIS, verify_file
from app.kernel.wal_verify import analyze
from app.services.store import firestore_records as layout


@dataclass
class ProjectReport:
    where: str
    entries: int
    head_hash: str
    broken: list[dict[str, Any]]
    head_document: dict[str, Any]
    mirror: dict[str, Any] | None

    @property
    def ok(self) -> bool:
        mirror_ok = self.mirror is None or bool(self.mirror["agrees"])
        return not self.broken and bool(self.head_document["agrees"]) and mirror_ok

    def to_dict(self) -> dict[str, Any]:
        return {
            "store": self.where,
            "ok": self.ok,
            "entries": self.entries,
            "head_lsn": self.entries,
            "head_hash": self.head_hash,
            "broken": self.broken,
            "head_document": self.head_document,
            "mirror": self.mirror,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


def verify_project(refs: layout.LogRefs, mirror_path: Path | None) -> ProjectReport:
    """Check the project's records (see the module docstring); ``mirror_path`` is the
    data directory's ``wal.log`` (None or missing: no mirror to compare)."""
    local = verify_file(mirror_path) if mirror_path is not None and mirror_path.is_file() else None
    wanted = local.head_lsn if local is not None else 0
    state: Any = (1, GENESIS.encode(), None)
    entries, head_hash, at_wanted = 0, GENESIS, None
    broken: list[dict[str, Any]] = []
    head = refs.read_head()
    for stored_as, line in refs.stream():
        if stored_as > head.lsn:
            break
        entries += 1
        problems, lsn, state = analyze(line.rstrip(b"\n"), state)
        if stored_as != entries:
            problems.append(f"it is stored as record {stored_as}, in place {entries}")
        if problems:
            broken.append({"lsn": lsn, "problems": problems})
        head_hash = line[:64].decode()
        if stored_as == wanted:
            at_wanted = head_hash
    head_document = {
        "lsn": head.lsn,
        "hash": head.hash,
        "agrees": (head.lsn, head.hash) == (entries, head_hash),
    }
    mirror = None
    if local is not None:
        agrees = local.ok and (wanted == 0 or at_wanted == local.head_hash)
        mirror = {
            "path": local.path,
            "ok": local.ok,
            "entries": local.entries,
            "head_hash": local.head_hash,
            "agrees": agrees,
            "behind": entries - wanted if agrees else None,
        }
    return ProjectReport(refs.where, entries, head_hash, broken, head_document, mirror)
