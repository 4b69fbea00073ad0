"""Operator commands on a Firestore project: verify its log, move an office into it.

The CLI calls these; they open the Firestore store themselves (the store package is the
services' own, behind the composition root for everyone else).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.services.pii import PiiVault
from app.services.store.firestore import FirestoreStore
from app.services.store.firestore_migrate import MigrateReport, migrate
from app.services.store.firestore_records import LogRefs
from app.services.store.firestore_verify import ProjectReport, verify_project


def verify_log(project: str, mirror: Path) -> ProjectReport:
    """The project's records verified, and whether the local ``mirror`` agrees."""
    with FirestoreStore.open(project) as store:
        refs = LogRefs(store.client, store.where, store.timeout)
        return verify_project(refs, mirror)


@dataclass(frozen=True)
class Moved:
    """What :func:`move_office` did: the comparison, where to, and the key to copy."""

    report: MigrateReport
    project: str
    key_path: Path


def move_office(
    data_dir: Path, project: str, *, resume: bool, progress: Callable[[str], None]
) -> Moved:
    """Copy ``data_dir``'s documents and log into the empty project (see
    :func:`app.services.store.firestore_migrate.migrate`)."""
    pii = PiiVault(data_dir / "keys" / "pii.key")
    with FirestoreStore.open(project) as target:
        report = migrate(
            data_dir, target, (pii.key_id, pii.key_path), resume=resume, progress=progress
        )
        return Moved(report, target.where, pii.key_path)
