"""Demo default recovery: weekly sweeps, and staff moving cases through the pipeline.

Every week (and on the last day) the platform runs the recovery sweep and refreshes
the loans' days past due, as its daily job would. Cases open on their own for every
missed instalment or EMI, and the sweep resolves them once the member pays.

The desk then reviews the open cases. A case that will never be paid (a defaulting
subscriber, or a borrower who stopped paying) is given a stage to reach, in turn
``written_off``, ``legal``, ``follow_up``, ``notice``, ``contacted``, ``missed``
(the deepest stage it can still reach by the end), so that every stage shows up;
about half of the late payers are called (``contacted``) before they pay. A case
moves forward one stage a week at most, with a note saying why; entering ``notice``
also records the written notice as sent. A write-off takes two people: an admin asks
for it from ``legal`` and, at the next review, the second employee approves it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from app.services.actors import SYSTEM
from app.services.context import IST
from app.services.demo.engine import Lane
from app.services.demo.model import Story
from app.services.recovery import Case, Stage
from app.services.recovery.rules import FORWARD

LANE = "recovery"
WEEKS_TO_REACH = {
    Stage.WRITTEN_OFF: 6,
    Stage.LEGAL: 4,
    Stage.FOLLOW_UP: 3,
    Stage.NOTICE: 2,
    Stage.CONTACTED: 1,
    Stage.MISSED: 0,
}
"""Weekly reviews a case needs to get from missed to each stage (a write-off is asked
for at one review and approved at the next)."""
NOTES = {
    Stage.CONTACTED: "Called the member; they promised to pay within the week.",
    Stage.NOTICE: "No payment after the call; written notice prepared under the Chit Funds Act.",
    Stage.FOLLOW_UP: "Notice period over without payment; home visit scheduled.",
    Stage.LEGAL: "Referred to the firm's advocate for recovery proceedings.",
}
WRITE_OFF_REASON = "Member untraceable for two months; recovery costs exceed the dues."
WRITE_OFF_NOTE = "Checked the file and the advocate's report; write-off approved."
MIN_DAYS_BETWEEN_MOVES = 7


class Recovery:
    """Schedules the sweeps and the desk's weekly review of open cases."""

    def __init__(self, story: Story, *, persistent: Callable[[Case], bool]) -> None:
        self.story = story
        self.engine = story.engine
        self.persistent = persistent
        self.targets: dict[str, Stage] = {}
        self._wanted: list[Stage] = []

    def schedule(self, first: date) -> None:
        day = first
        while day < self.story.end:
            self._sweep_on(day)
            day += timedelta(days=7)
        self._sweep_on(self.story.end)

    def _sweep_on(self, day: date) -> None:
        self.engine.at(day, "sweep", LANE, self._sweep, lambda _: self._review(day))

    @staticmethod
    def _sweep(lane: Lane) -> None:
        lane.recovery.sweep(SYSTEM)
        lane.loans.refresh_dpd(SYSTEM)

    def _review(self, day: date) -> None:
        reader = self.engine.lane("review").recovery
        cases = sorted(reader.cases(open_only=True), key=lambda c: (c.opened_at, c.id))
        for case in cases:
            target = self._target(case, day)
            if _days_since_last_move(case, day) < MIN_DAYS_BETWEEN_MOVES:
                continue
            if case.stage == Stage.LEGAL and target is Stage.WRITTEN_OFF:
                self._write_off(case, day)
            elif FORWARD.index(Stage(case.stage)) < FORWARD.index(_forward_part(target)):
                self._move(case, day, _next(Stage(case.stage)))

    def _target(self, case: Case, day: date) -> Stage:
        """The stage a case is to reach: for one that will never be paid, the deepest
        stage not yet given out (in rounds) that it can still reach by the end."""
        if case.id in self.targets:
            return self.targets[case.id]
        if not self.persistent(case):
            early = (self.story.end - day).days >= 21
            target = Stage.CONTACTED if early and self.story.rng.random() < 0.5 else Stage.MISSED
        else:
            if not self._wanted:
                self._wanted = list(WEEKS_TO_REACH)
            weeks = (self.story.end - day).days // 7
            target = next((s for s in self._wanted if WEEKS_TO_REACH[s] <= weeks), Stage.MISSED)
            if target in self._wanted:
                self._wanted.remove(target)
        self.targets[case.id] = target
        return target

    def _move(self, case: Case, day: date, goal: Stage) -> None:
        desk = self.story.cast.employee

        def run(lane: Lane) -> None:
            lane.recovery.move(desk, case.id, goal, NOTES[goal])
            if goal is Stage.NOTICE:
                lane.recovery.record_notice_sent(desk, case.id, day, "Sent by registered post.")

        self.engine.at(day, "recovery", LANE, run, lambda _: self.story.count(f"moves_{goal}"))

    def _write_off(self, case: Case, day: date) -> None:
        cast = self.story.cast
        if case.write_off_request is None:
            self.engine.at(
                day,
                "recovery",
                LANE,
                lambda lane: lane.recovery.request_write_off(cast.admin, case.id, WRITE_OFF_REASON),
            )
        else:
            self.engine.at(
                day,
                "recovery",
                LANE,
                lambda lane: lane.recovery.approve_write_off(cast.checker, case.id, WRITE_OFF_NOTE),
            )


def _forward_part(target: Stage) -> Stage:
    return Stage.LEGAL if target is Stage.WRITTEN_OFF else target


def _next(stage: Stage) -> Stage:
    return FORWARD[FORWARD.index(stage) + 1]


def _days_since_last_move(case: Case, day: date) -> int:
    last = case.history[-1]["at"] if case.history else case.opened_at
    return (day - datetime.fromisoformat(last).astimezone(IST).date()).days
