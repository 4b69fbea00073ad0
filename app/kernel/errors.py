"""The two kinds of failure.

``KnownError`` is something a person can act on (disk full, lock held, keyring
locked, bad input): it carries a message that says what was wrong and what to do,
and is shown as it is. Anything else is a bug: logged with its traceback, never
swallowed.
"""

from __future__ import annotations

from collections.abc import Mapping


class KnownError(Exception):
    """A failure with a message meant for the person who caused or can fix it."""

    code = "error"

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "hint": self.hint}


class ValidationError(KnownError):
    """The input was wrong; nothing was changed."""

    code = "invalid"


class FieldErrors(ValidationError):
    """Several fields of a form are wrong: ``field_errors`` maps each field's key to
    what is wrong with it, in a sentence that names the field; nothing was changed."""

    def __init__(self, what: str, field_errors: Mapping[str, str], *, hint: str = "") -> None:
        self.field_errors = dict(field_errors)
        count = len(self.field_errors)
        problems = "a problem" if count == 1 else f"{count} problems"
        super().__init__(
            f"{what} has {problems}: " + " ".join(self.field_errors.values()),
            hint=hint or "Correct each field named, then try again.",
        )


class PermissionDenied(KnownError):
    """The acting person's role may not do this."""

    code = "forbidden"


class NotFound(KnownError):
    """The thing asked for does not exist."""

    code = "not_found"


class Conflict(KnownError):
    """Someone else changed the data first, or the state does not allow this now."""

    code = "conflict"


class LockHeld(KnownError):
    """An OS lock is held by another holder."""

    code = "locked"


class StorageError(KnownError):
    """The disk or the store failed (disk full, read-only, corrupted file)."""

    code = "storage"


class KeyringUnavailable(KnownError):
    """No usable OS keyring backend."""

    code = "keyring"
