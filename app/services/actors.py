"""Who acts: every change carries its actor into the WAL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from app.kernel.errors import PermissionDenied

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
