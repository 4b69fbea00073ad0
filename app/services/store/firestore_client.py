"""Connecting to Firestore through firebase-admin, and explaining its failures.

Where to connect comes from the standard environment, as every Google client reads it:

- ``FIRESTORE_EMULATOR_HOST`` (``host:port``): talk to that emulator, without
  credentials (the emulator takes any project id);
- otherwise Application Default Credentials: the service-account key file named by
  ``GOOGLE_APPLICATION_CREDENTIALS``, or ``gcloud auth application-default login``, or
  the metadata server of a Google Cloud machine.

The project is the ``firestore_project`` setting, or the key file's project. Opening
asks Firestore for one document, so that a wrong host, project or key is reported
when the store opens, as a :class:`~app.kernel.errors.KnownError` saying what to fix.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import firebase_admin
import google.auth.credentials
from firebase_admin import credentials
from firebase_admin import firestore as admin_firestore
from google.api_core import exceptions as api
from google.auth import exceptions as auth

from app.kernel.errors import KnownError, StorageError, ValidationError
from app.services.store import firestore_codec as codec

EMULATOR_ENV = "FIRESTORE_EMULATOR_HOST"
_PROJECT_ID = re.compile(r"(?:[a-z0-9.-]+:)?[a-z][a-z0-9-]{0,62}")
CREDENTIALS_ENV = "GOOGLE_APPLICATION_CREDENTIALS"


class EmulatorCredential(credentials.Base):
    """No credentials: what firebase-admin needs to talk to the emulator."""

    def get_credential(self) -> google.auth.credentials.Credentials:
        return google.auth.credentials.AnonymousCredentials()


@dataclass
class Connection:
    """A firebase-admin app of its own and its Firestore client."""

    app: firebase_admin.App
    client: Any  # google.cloud.firestore.Client
    where: str  # for messages: "the Firestore emulator at 127.0.0.1:8080"

    def close(self) -> None:
        self.client.close()
        firebase_admin.delete_app(self.app)


def connect(project: str, *, probe_timeout: float = 10.0) -> Connection:
    """Open a client for ``project`` (see the module docstring) and check it answers."""
    emulator = os.environ.get(EMULATOR_ENV, "").strip()
    credential = EmulatorCredential() if emulator else _application_default()
    project = project.strip() or _key_project(credential)
    _check_project(project)
    where = (
        f"the Firestore emulator at {emulator} (project {project})"
        if emulator
        else f"Firestore project {project}"
    )
    app = firebase_admin.initialize_app(
        credential, {"projectId": project}, name=f"tfos-{uuid.uuid4().hex}"
    )
    try:
        with errors(where):
            client = admin_firestore.client(app)
            root = client.collection(codec.ROOT_COLLECTION).document(codec.ROOT_ID)
            root.get(retry=None, timeout=probe_timeout)
    except BaseException:
        firebase_admin.delete_app(app)
        raise
    return Connection(app, client, where)


def _application_default() -> credentials.ApplicationDefault:
    credential = credentials.ApplicationDefault()
    path = os.environ.get(CREDENTIALS_ENV, "")
    try:
        credential.get_credential()
    except auth.DefaultCredentialsError as exc:
        if path:
            raise ValidationError(
                f"The Firestore credentials in {CREDENTIALS_ENV} ({path}) cannot be used: {exc}",
                hint="Point it at a service-account key file (JSON) of the project.",
            ) from exc
        raise ValidationError(
            "No Firestore credentials: FIRESTORE_EMULATOR_HOST is not set and no Google"
            " Application Default Credentials were found.",
            hint=(
                f"Set {CREDENTIALS_ENV} to a service-account key file, or {EMULATOR_ENV}"
                " to an emulator's host:port, or use --store-backend sqlite."
            ),
        ) from exc
    return credential


def _check_project(project: str) -> None:
    if not _PROJECT_ID.fullmatch(project):
        raise ValidationError(
            f"{project[:80]!r} is not a Google Cloud project id.",
            hint="Use the project's id (lowercase letters, digits and hyphens), not its name.",
        )


def _key_project(credential: credentials.Base) -> str:
    project = getattr(credential, "project_id", None) or ""
    if not project:
        raise ValidationError(
            "No Firestore project is set.",
            hint="Name it with --firestore-project or TFOS_FIRESTORE_PROJECT.",
        )
    return str(project)


@contextlib.contextmanager
def errors(where: str) -> Iterator[None]:
    """Turn a Firestore failure a person can act on into a ``KnownError``."""
    try:
        yield
    except (api.GoogleAPICallError, api.RetryError, auth.GoogleAuthError) as exc:
        known = explain(exc, where)
        if known is None:
            raise
        raise known from exc


def capitalized(where: str) -> str:
    """``where`` opening a sentence."""
    return where[:1].upper() + where[1:]


_UNREACHABLE = (api.ServiceUnavailable, api.DeadlineExceeded, api.RetryError, auth.TransportError)


def explain(exc: Exception, where: str) -> KnownError | None:
    """The ``KnownError`` for a failed call to ``where``, or None for a bug."""
    detail = getattr(exc, "message", None) or str(exc)
    subject = capitalized(where)
    if isinstance(exc, _UNREACHABLE):
        return StorageError(
            f"{subject} is not answering ({detail.splitlines()[0][:200]}).",
            hint=f"Check that {where} runs and that this machine can reach it, then try again;"
            " nothing was saved.",
        )
    if isinstance(exc, api.PermissionDenied | api.Unauthenticated | auth.RefreshError):
        return StorageError(
            f"{subject} refused these credentials: {detail[:200]}",
            hint=f"Use a key ({CREDENTIALS_ENV}) of an account allowed to use Firestore.",
        )
    if isinstance(exc, api.ResourceExhausted):
        return StorageError(f"{subject} is over its quota: {detail[:200]}", hint="Try again later.")
    if isinstance(exc, api.FailedPrecondition) and "index" in detail:
        return StorageError(
            f"{subject} needs a composite index for this query: {detail[:300]}",
            hint="Create the index the message names in the project, then try again.",
        )
    if isinstance(exc, api.NotFound) and "database" in detail.lower():
        return StorageError(
            f"{subject} has no Firestore database: {detail[:200]}",
            hint="Create the (default) Firestore database in the project, in native mode.",
        )
    return None
