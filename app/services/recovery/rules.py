"""The default-recovery pipeline: stages, allowed moves, who may make them, clocks.

missed -> contacted -> notice -> follow_up -> legal, then resolved or written_off.

* Open cases move forward one stage at a time, never back and never skipping.
* Any open case moves to resolved once its dues are cleared; a case whose dues
  are cleared is resolved rather than escalated further.
* written_off only from legal: an admin requests it (:func:`check_write_off_request`)
  and a different staff member approves it; the approval is the move
  (``check_move(..., actor_id=B, request=WriteOffRequest(A, "admin", ...))``).
* Staff (employee, admin) make moves; the platform itself (role ``system``) may
  only resolve a case whose dues were cleared. Members make none.
* Every move says why (``reason``); the service records who, when and why.

Clocks (Chit Funds Act, defaulting non-prized subscriber): entering the notice
stage starts them. The written notice must be sent within 14 days; the member
is reinstated if they pay with interest within 7 days of the notice; after
that they may be removed (or substituted).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from app.kernel.errors import PermissionDenied, ValidationError
from app.services.actors import STAFF


class Stage(StrEnum):
    MISSED = "missed"
    CONTACTED = "contacted"
    NOTICE = "notice"
    FOLLOW_UP = "follow_up"
    LEGAL = "legal"
    RESOLVED = "resolved"
    WRITTEN_OFF = "written_off"


FORWARD: tuple[Stage, ...] = (
    Stage.MISSED,
    Stage.CONTACTED,
    Stage.NOTICE,
    Stage.FOLLOW_UP,
    Stage.LEGAL,
)
OPEN: frozenset[Stage] = frozenset(FORWARD)
CLOSED: frozenset[Stage] = frozenset({Stage.RESOLVED, Stage.WRITTEN_OFF})

NOTICE_SEND_DAYS = 14
REINSTATEMENT_DAYS = 7


@dataclass(frozen=True)
class WriteOffRequest:
    """An admin's request to write a case off, awaiting a second person."""

    requested_by: str
    requester_role: str
    reason: str


def as_stage(value: Stage | str) -> Stage:
    """``value`` as a Stage; ValidationError naming the stages if it is none."""
    try:
        return Stage(value)
    except ValueError:
        known = ", ".join(Stage)
        raise ValidationError(f"Unknown recovery stage {value!r}; stages are {known}.") from None


def next_stage(stage: Stage) -> Stage | None:
    """The next forward stage of an open case (None for legal and closed cases)."""
    if stage not in OPEN or stage is Stage.LEGAL:
        return None
    return FORWARD[FORWARD.index(stage) + 1]


def next_stages(stage: Stage | str) -> tuple[Stage, ...]:
    """Every stage a case may move to from ``stage``, whatever the role or dues."""
    stage = as_stage(stage)
    if stage in CLOSED:
        return ()
    if stage is Stage.LEGAL:
        return (Stage.RESOLVED, Stage.WRITTEN_OFF)
    forward = next_stage(stage)
    assert forward is not None
    return (forward, Stage.RESOLVED)


def _refuse_shape(current: Stage, target: Stage) -> None:
    """Raise unless ``target`` is in :func:`next_stages` of ``current``."""
    if target in next_stages(current):
        return
    move = f"Cannot move from {current} to {target}"
    if current in CLOSED:
        raise ValidationError(f"{move}: the case is closed ({current}).")
    if target is current:
        raise ValidationError(f"{move}: the case is already there.")
    forward = next_stage(current)
    if target is Stage.WRITTEN_OFF:
        raise ValidationError(f"{move}: a case is written off only from legal (next: {forward}).")
    if FORWARD.index(target) < FORWARD.index(current):
        raise ValidationError(f"{move}: cases never move back (next: {forward}).")
    raise ValidationError(f"{move}: cases move forward one stage at a time (next: {forward}).")


def check_move(
    case_stage: Stage | str,
    target: Stage | str,
    actor_role: str,
    dues_cleared: bool,
    *,
    reason: str,
    actor_id: str = "",
    request: WriteOffRequest | None = None,
) -> None:
    """Raise ValidationError or PermissionDenied unless the move is allowed now.

    Args:
        case_stage: where the case is.
        target: where it should go.
        actor_role: role of the person making the move (for a write-off: the approver).
        dues_cleared: whether the member has paid everything overdue.
        reason: why; required for every move.
        actor_id: who makes the move; needed for a write-off.
        request: the admin's write-off request that this move approves.
    """
    current, goal = as_stage(case_stage), as_stage(target)
    _refuse_shape(current, goal)
    if not reason.strip():
        raise ValidationError("Say why the case moves: a reason is required.")
    if goal is Stage.RESOLVED:
        _check_resolve(actor_role, dues_cleared)
    elif goal is Stage.WRITTEN_OFF:
        _check_approval(actor_role, actor_id, dues_cleared, request)
    else:
        _check_escalate(goal, actor_role, dues_cleared)


def _check_resolve(actor_role: str, dues_cleared: bool) -> None:
    if actor_role not in STAFF | {"system"}:
        raise PermissionDenied(f"A {actor_role} may not resolve recovery cases; staff do.")
    if not dues_cleared:
        raise ValidationError(
            "Cannot resolve the case: the dues are not cleared.",
            hint="Record the member's payment first.",
        )


def _check_escalate(goal: Stage, actor_role: str, dues_cleared: bool) -> None:
    if actor_role not in STAFF:
        raise PermissionDenied(f"A {actor_role} may not move recovery cases; staff do.")
    if dues_cleared:
        raise ValidationError(
            f"Cannot move the case to {goal}: the dues are cleared.",
            hint="Resolve the case instead.",
        )


def is_write_off_request(stage: Stage | str, pending: bool, target: Stage | str) -> bool:
    """Whether taking a case at ``stage`` to ``target`` is step 1 of a write-off (the
    admin's request: a legal case, none pending) rather than a move (step 2 included)."""
    return as_stage(target) is Stage.WRITTEN_OFF and as_stage(stage) is Stage.LEGAL and not pending


def check_write_off_request(
    case_stage: Stage | str, actor_role: str, dues_cleared: bool, *, reason: str
) -> None:
    """Raise unless an admin may ask now for this case to be written off."""
    _refuse_shape(as_stage(case_stage), Stage.WRITTEN_OFF)
    if actor_role != "admin":
        raise PermissionDenied(f"Only an admin may request a write-off, not a {actor_role}.")
    if dues_cleared:
        raise ValidationError(
            "Cannot write off a case whose dues are cleared.", hint="Resolve the case instead."
        )
    if not reason.strip():
        raise ValidationError("Say why the case should be written off: a reason is required.")


def _check_approval(
    actor_role: str, actor_id: str, dues_cleared: bool, request: WriteOffRequest | None
) -> None:
    if request is None:
        raise PermissionDenied(
            "A write-off needs an admin's request and a second person's approval.",
            hint="An admin requests it; a different admin or employee approves it.",
        )
    if request.requester_role != "admin":
        raise PermissionDenied(
            f"The write-off was requested by a {request.requester_role}; only an admin may."
        )
    if actor_role not in STAFF:
        raise PermissionDenied(f"A {actor_role} may not approve a write-off; staff do.")
    if not actor_id or actor_id == request.requested_by:
        raise PermissionDenied(
            "The person who requested a write-off cannot approve it.",
            hint="Ask a different admin or employee to approve.",
        )
    if dues_cleared:
        raise ValidationError(
            "Cannot write off a case whose dues are cleared.", hint="Resolve the case instead."
        )


def statutory_clocks(notice_date: date, sent_on: date | None = None) -> dict[str, date]:
    """Due dates started by the notice stage.

    Args:
        notice_date: the day the case entered the notice stage.
        sent_on: the day the written notice was sent (default: ``notice_date``).

    Returns:
        ``notice_send_by``: last day to send the written notice (14 days);
        ``reinstate_by``: last day the member may pay with interest and be
        reinstated (7 days after the notice is sent);
        ``removal_from``: first day the member may be removed or substituted.
    """
    sent = notice_date if sent_on is None else sent_on
    if sent < notice_date:
        raise ValidationError("The notice cannot be sent before the case reached notice.")
    reinstate_by = sent + timedelta(days=REINSTATEMENT_DAYS)
    return {
        "notice_send_by": notice_date + timedelta(days=NOTICE_SEND_DAYS),
        "reinstate_by": reinstate_by,
        "removal_from": reinstate_by + timedelta(days=1),
    }
