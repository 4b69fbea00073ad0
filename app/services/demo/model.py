"""What every part of the demo story shares: its terms, its cast and the engine."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date

from app.kernel.errors import ValidationError
from app.services.actors import Actor
from app.services.demo.engine import Engine
from app.services.demo.people import Person

KYC_STATES = ("approved", "pending", "rejected", "none")
MAX_GROUPS = 100
MAX_MEMBERS = 2_000
MAX_MONTHS = 60


@dataclass(frozen=True)
class DemoConfig:
    """How much history to make. ``members`` is each group's size N (= its number of
    monthly instalments); ``end`` is the last day of the history."""

    groups: int
    members: int
    months: int
    seed: int
    end: date

    def __post_init__(self) -> None:
        problems = []
        for name, value, low, high in (
            ("groups", self.groups, 1, MAX_GROUPS),
            ("members per group", self.members, 4, MAX_MEMBERS),
            ("months", self.months, 1, MAX_MONTHS),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                problems.append(f"{name} must be a whole number from {low} to {high}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            problems.append("the seed must be a whole number")
        if problems:
            raise ValidationError("Cannot make demo data: " + "; ".join(problems) + ".")

    @property
    def periods(self) -> int:
        """Periods each group settles: one a month, never more than its N."""
        return min(self.months, self.members)


@dataclass
class MemberPlan:
    """One demo member: who they are, and what their KYC ends as."""

    index: int
    person: Person
    kyc: str = "approved"
    self_service: bool = False
    id: str = ""
    groups: list[int] = field(default_factory=list)

    @property
    def actor(self) -> Actor:
        return Actor(self.id, self.person.name, "member")


@dataclass(frozen=True)
class StaffLogin:
    """A demo staff account and the password to sign in to the desktop with."""

    role: str
    name: str
    username: str
    password: str


DEMO_STAFF = (
    StaffLogin("admin", "Lakshmi Iyer", "admin", "demo-office-2026"),
    StaffLogin("employee", "Ravi Kumar", "employee", "demo-desk-2026"),
    StaffLogin("employee", "Farah Khan", "checker", "demo-verify-2026"),
)
"""Sign-in details printed by ``tfos demo-data`` (a password may not contain its
username, so the password names the desk, not the role)."""


@dataclass
class Cast:
    """The staff actors once their accounts exist."""

    admin: Actor = field(default_factory=lambda: Actor("", "", "admin"))
    employee: Actor = field(default_factory=lambda: Actor("", "", "employee"))
    checker: Actor = field(default_factory=lambda: Actor("", "", "employee"))


@dataclass
class Story:
    """The shared state of one demo run (main thread only)."""

    config: DemoConfig
    engine: Engine
    rng: random.Random
    first_day: date
    cast: Cast = field(default_factory=Cast)
    members: list[MemberPlan] = field(default_factory=list)
    notes: dict[str, int] = field(default_factory=dict)

    @property
    def end(self) -> date:
        return self.config.end

    def count(self, what: str, by: int = 1) -> None:
        self.notes[what] = self.notes.get(what, 0) + by
