"""Who acts: every change carries its actor into the WAL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from app.kernel.errors import PermissionDenied, ValidationError

Role = Literal["member", "employee", "admin", "system"]
ROLES: tuple[Role, ...] = ("member", "employee", "admin", "system")
STAFF: frozenset[str] = frozenset({"employee", "admin"})


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

    def require(self, *roles: Role, doing: str) -> None:
        """Raise PermissionDenied unless this actor has one of ``roles``."""
        if self.role not in roles and not (self.role == "system" and "system" in roles):
            allowed = " or ".join(roles)
            raise PermissionDenied(
                f"{self.name} ({self.role}) may not {doing}: only {allowed} may.",
            )


SYSTEM = Actor("system", "TransactFlowOS", "system")


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
