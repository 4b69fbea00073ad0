"""A prize's statutory clock: pay it within 7 days of the draw or before the next
instalment, whichever is earlier (the deadline is set when the draw is settled, by
:func:`app.services.auctions.close.prize_deadline`).

The clock is worked out here, once, for every screen: days left while the prize is
due (shown in amber), days overdue after the deadline (red), and once released,
whether it was paid on time or how many days late.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from app.services.auctions.rules import PAYOUT_DAYS

DUE, DUE_TODAY, OVERDUE, ON_TIME, LATE = "due", "due today", "overdue", "on time", "late"


def days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


@dataclass(frozen=True)
class PrizeClock:
    """Where a prize stands against its deadline on ``today``."""

    draw: date
    next_instalment: date | None
    deadline: date
    today: date
    released_on: date | None = None

    @property
    def days_left(self) -> int:
        """Days until the deadline (negative once past it), counted from today."""
        return (self.deadline - self.today).days

    @property
    def days_late(self) -> int:
        """Days after the deadline the prize was paid (or, unpaid, is by today)."""
        return max(0, ((self.released_on or self.today) - self.deadline).days)

    @property
    def state(self) -> str:
        if self.released_on is not None:
            return ON_TIME if self.released_on <= self.deadline else LATE
        if self.days_left > 0:
            return DUE
        return DUE_TODAY if self.days_left == 0 else OVERDUE

    @property
    def text(self) -> str:
        """``3 days left``, ``due today``, ``overdue by 4 days``, ``paid on time``,
        ``paid 5 days late``."""
        return {
            DUE: f"{days(self.days_left)} left",
            DUE_TODAY: "due today",
            OVERDUE: f"overdue by {days(self.days_late)}",
            ON_TIME: "paid on time",
            LATE: f"paid {days(self.days_late)} late",
        }[self.state]

    @property
    def rule(self) -> str:
        """Which of the two limits set the deadline."""
        seven = self.draw + timedelta(days=PAYOUT_DAYS)
        if self.deadline < seven and self.next_instalment is not None:
            return (
                f"the day before the next instalment ({self.next_instalment:%d %b %Y}), "
                f"earlier than 7 days from the draw ({seven:%d %b %Y})"
            )
        return f"7 days from the draw on {self.draw:%d %b %Y}"

    @property
    def pressing(self) -> bool:
        """Unpaid, and due in at most 2 days or already overdue."""
        return self.released_on is None and self.days_left <= 2

    @property
    def overdue(self) -> bool:
        return self.state in (OVERDUE, LATE)
