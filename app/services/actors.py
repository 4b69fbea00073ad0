"""Who acts: every change carries its actor into the WAL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from app.kernel.errors import PermissionDenied, ValidationError

Role = Literal["member", "employee", "admin", "auditor", "system"]
ROLES: tuple[Role, ...] = ("member", "employee", "admin", "auditor", "system")
STAFF: frozenset[str] = frozenset({"employee", "admin"})
"""The staff who work the books."""
ACCOUNT_ROLES: tuple[str, ...] = ("employee", "admin", "auditor")
"""The roles of a staff account: who signs in to the desktop."""
AUDITOR_RECORDS = frozenset({"report.export"})
"""What an auditor's name may be written on: their exports ..."""
OWN_ACCOUNT = frozenset({"staff.sign_in", "staff.sign_out", "staff.set_password"})
"""... and these changes to their own account."""


@dataclass(frozen=True)
class Actor:
    """The person (or the platform itself) on whose behalf a change is made."""

    id: str
    name: str
    role: Role

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "role": self.role}

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF

    @property
    def reads_only(self) -> bool:
        """An auditor: sees the books, changes nothing (views hide what would write)."""
        return self.role == "auditor"

    def require(self, *roles: Role, doing: str) -> None:
        """Raise PermissionDenied unless this actor has one of ``roles``."""
        if self.role not in roles and not (self.role == "system" and "system" in roles):
            allowed = " or ".join(roles)
            raise PermissionDenied(
                f"{self.name} ({self.role}) may not {doing}: only {allowed} may.",
            )


SYSTEM = Actor("system", "TransactFlowOS", "system")


def refuse_read_only(actor: Actor, action: str, entity_id: str) -> None:
    """Refuse a change in an auditor's name, unless it is their export or their own
    sign-in, sign-out or password (the pipeline asks before every append)."""
    if not actor.reads_only or action in AUDITOR_RECORDS:
        return
    if action in OWN_ACCOUNT and entity_id == actor.id:
        return
    raise PermissionDenied(
        f"{actor.name} is an auditor: auditors read the books and change nothing "
        f"({action} was not done).",
        hint="Ask an employee or an admin to make this change.",
    )


def subject_id(actor: Actor, requested: str | None) -> str:
    """Whose member records ``actor`` asks for: a member only their own; staff must
    name one (``requested``)."""
    if actor.role == "member":
        if requested and requested != actor.id:
            raise PermissionDenied(
                "You can see only your own records.", hint="Sign in as that member."
            )
        return actor.id
    if actor.is_staff:
        if not requested:
            raise ValidationError("Say which member with ?member_id=.")
        return requested
    raise PermissionDenied(f"{actor.name} ({actor.role}) may not read member pages.")
