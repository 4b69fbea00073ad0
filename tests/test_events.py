"""Domain events: each kind is one class whose action is the WAL record's action; the
record carries its fields, and the activity feed words it from the same class."""

from __future__ import annotations

import dataclasses

import pytest

from app.kernel.wal_index import LineSummary
from app.services import events
from app.services.activity import Names, sentence
from app.services.context import ServiceContext
from app.services.events import EVENTS, BidPlaced, CaseMoved, Event, wording
from app.services.members import MemberService
from app.services.pipeline import ChangeSet
from tests.builders import ADMIN


def test_the_action_is_the_event_type_in_the_wal(ctx: ServiceContext) -> None:
    member = MemberService(ctx).enroll(ADMIN, "Lakshmi Devi", "9876543210")
    record = list(ctx.pipeline.wal.read())[-1]
    assert record.action == "member.enroll" == record.change["event"]["type"]
    assert record.change["event"] == {"type": "member.enroll", "member_id": member.id}
    assert record.entity == {"type": "member", "id": member.id}


def test_every_event_names_its_action_once_and_says_what_was_done() -> None:
    assert len(EVENTS) == len({cls.ACTION for cls in EVENTS.values()}) >= 31
    for action, kind in EVENTS.items():
        did, said = wording(action)
        assert did or said, action
        assert kind.ENTITY or kind is events.BankersRefused, action
    with pytest.raises(TypeError, match="two events"):

        class Again(Event):
            ACTION = "member.enroll"


def test_a_keyword_field_keeps_its_name_in_the_record() -> None:
    moved = CaseMoved("c-1", "m-1", "missed", "contacted", 100)
    assert moved.to_json() == {
        "type": "recovery.move",
        "case_id": "c-1",
        "member_id": "m-1",
        "from": "missed",
        "to": "contacted",
        "overdue": 100,
    }


def test_a_change_is_made_from_its_event() -> None:
    bid = BidPlaced("a-1", "Calm Dolphin 49", 50_000, "2026-11-24T05:40:00+00:00", False)
    change = ChangeSet.of(bid, "a-1", [], "by phone")
    assert (change.action, change.entity_type, change.entity_id) == (
        "auction.bid",
        "auction",
        "a-1",
    )
    refused = ChangeSet.of(events.BankersRefused({}), "loan-1", [], entity_type="loan")
    assert (refused.action, refused.entity_type) == ("bankers.refuse", "loan")


def test_wording_of_actions_without_an_event_class() -> None:
    assert wording("member.create") == ("created", "")
    assert wording("ledger.fix_up") == ("did ledger.fix up on", "")
    assert wording("staff.setup")[1].startswith("set up this data folder")


def plausible(name: str, kind: str) -> object:
    """A value for an event field called ``name`` of the annotated type ``kind``."""
    if name.endswith("_at"):
        return "2026-12-03T12:00:00+00:00"
    if name.endswith("_on") or name in ("as_of", "date", "due_date"):
        return "2026-12-03"
    if kind.startswith("list[dict"):
        return [{"name": "pan.pdf"}]
    if kind.startswith("list"):
        return ["mem-1", "mem-2"]
    if kind.startswith("dict"):
        return {"code": "exceeds_available", "reason": "pool short"}
    if kind.startswith("bool"):
        return False
    if kind.startswith("int"):
        return 2
    return "Calm Dolphin 49" if "None" in kind else "mem-1"


def sample(kind: type[Event]) -> Event:
    """An instance of ``kind`` with a plausible value in every field."""
    return kind(**{f.name: plausible(f.name, str(f.type)) for f in dataclasses.fields(kind)})


@pytest.mark.parametrize("action", sorted(EVENTS))
def test_every_event_is_told_in_a_sentence_of_its_own(action: str) -> None:
    """No raw action names in the feed: each event's sentence fills from its own fields."""
    event = sample(EVENTS[action]).to_json()
    actor = {"id": "staff-1", "name": "Asha Rao", "role": "admin"}
    entity = {"type": EVENTS[action].ENTITY or "loan", "id": "grp-1-3"}
    line = LineSummary(7, "", actor, action, entity, "", "", True)
    told = sentence(line, event, Names())
    assert told is not None, action
    assert action not in told and "{" not in told and "_" not in told.replace("grp-1-3", "")
    assert told[0].isupper(), told
