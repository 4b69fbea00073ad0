"""A new group's form: each wrong field named, and the first month worked out by the
auction rules (DOMAIN.md's worked example)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.kernel.errors import FieldErrors
from app.services.auctions import rules
from app.services.context import ServiceContext
from app.services.group_terms import FIELDS, GroupForm, check, parse, preview, registration_key
from app.services.groups import AWAITING_APPROVAL, GroupService
from tests.builders import EMPLOYEE

TODAY = date(2026, 11, 24)  # the ctx fixture's clock
WORKED = GroupForm(
    name="Lakh Club",
    chit_value="₹5,00,000",
    members="50",
    start_date="2026-12-05",
    commission="5",
    discount_cap="30",
    bid_step="500",
    registration_no="TN/CHIT/2026/0142",
)
"""DOMAIN.md's worked example: G = ₹5,00,000, N = 50, commission 5 %, cap 30 %."""


def test_the_preview_is_the_worked_example() -> None:
    result = check(WORKED, TODAY)
    assert result.problems == {}
    p = result.preview
    assert p is not None and p.period == 1 and p.foreman_first is None
    assert (p.instalment, p.commission) == (10_000_00, 25_000_00)
    assert (p.floor.discount, p.floor.prize, p.floor.dividend, p.floor.net_instalment) == (
        25_000_00,
        4_75_000_00,
        0,
        10_000_00,
    )
    assert (p.cap.discount, p.cap.prize, p.cap.dividend, p.cap.net_instalment) == (
        1_50_000_00,
        3_50_000_00,
        2_500_00,
        7_500_00,
    )
    assert 50 * p.cap.net_instalment == p.cap.prize + p.commission  # DOMAIN.md's check
    assert p.residue_note == ""
    assert "dividend ₹2,500.00 per member, net instalment ₹7,500.00" in p.lines()[1]


def test_when_the_foreman_takes_period_one_the_preview_is_of_the_first_auction() -> None:
    form = GroupForm(**{**WORKED.__dict__, "foreman_takes_first": True, "foreman_member_id": "m1"})
    p = check(form, TODAY).preview
    assert p is not None and p.period == 2
    assert p.foreman_first is not None
    assert (p.foreman_first.prize, p.foreman_first.dividend) == (5_00_000_00, 0)
    assert p.foreman_first.net_instalment == 10_000_00
    assert p.cap.net_instalment == 7_500_00
    assert p.lines()[0].startswith("Period 1 goes to the foreman's ticket: prize ₹5,00,000.00")


def test_the_preview_is_what_settling_the_period_gives() -> None:
    """A step off the grid of the cap: the preview's cap is the highest valid bid, and a
    dividend that does not divide evenly is rounded as the settlement rounds it."""
    agreement = rules.Agreement(3_00_000_00, 3, bid_step_paise=700_00)
    p = preview(agreement)
    settled = rules.settle(agreement, 1, rules.max_bid(agreement))
    assert p.cap.discount == settled.discount_paise == 89_900_00
    assert p.cap.dividend == settled.share_paise == 24_966_67
    assert settled.residue_paise == 1
    assert "absorbs the rounding" in p.residue_note


def test_the_commission_is_rounded_down_to_the_paisa() -> None:
    form = GroupForm(**{**WORKED.__dict__, "chit_value": "99,999.99", "members": "3"})
    p = check(form, TODAY).preview
    assert p is not None and p.commission == 4_999_99  # 5 % of ₹99,999.99 is ₹4,999.9995


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"name": "  "}, "name", "Group name is required"),
        ({"chit_value": ""}, "chit_value", "Chit value is required"),
        ({"chit_value": "five lakh"}, "chit_value", "Chit value: 'five lakh' is not an amount"),
        ({"chit_value": "-5,00,000"}, "chit_value", "Chit value cannot be negative"),
        ({"chit_value": "5,00,000.001"}, "chit_value", "Chit value: 500000.001 is too precise"),
        ({"chit_value": "5,00,000.01"}, "chit_value", "must divide evenly among 50 members"),
        ({"members": "1"}, "members", "Number of members: 1 is not a whole number from 2"),
        ({"members": "fifty"}, "members", "Number of members: fifty is not a whole number"),
        ({"start_date": "2026-11-23"}, "start_date", "Start date 23 Nov 2026 is in the past"),
        ({"start_date": "5/12/2026"}, "start_date", "Start date: '5/12/2026' is not a date"),
        ({"commission": "7.01"}, "commission", "above the legal maximum of 7.00%"),
        ({"commission": "five"}, "commission", "Foreman's commission: 'five' is not a percentage"),
        ({"discount_cap": "4"}, "discount_cap", "Discount cap: the discount cap 4.00% must be"),
        ({"discount_cap": "100"}, "discount_cap", "below 100%"),
        ({"bid_step": "0"}, "bid_step", "Bid step: the bid step must be a positive amount"),
        ({"foreman_takes_first": True}, "foreman", "Foreman's member: the foreman takes period 1"),
        ({"registration_no": ""}, "registration_no", "Registration (sanction) number is required"),
        ({"registration_no": "pending"}, "registration_no", "'PENDING' is not a registration"),
        ({"registration_no": "TN#12"}, "registration_no", "'TN#12' is not a registration"),
    ],
)
def test_each_wrong_field_is_named(changes: dict[str, object], field: str, says: str) -> None:
    form = GroupForm(**{**WORKED.__dict__, **changes})
    result = check(form, TODAY)
    assert list(result.problems) == [field]
    assert says in result.problems[field]
    assert FIELDS[field] in result.problems[field]
    with pytest.raises(FieldErrors) as err:
        parse(form, TODAY)
    assert err.value.field_errors == result.problems
    assert "The new group has a problem" in err.value.message


def test_every_wrong_field_at_once_and_no_preview_until_the_money_is_right() -> None:
    result = check(GroupForm(commission="", discount_cap="", bid_step=""), TODAY)
    assert set(result.problems) == set(FIELDS) - {"foreman"}
    assert result.preview is None
    half = check(GroupForm(chit_value="1,00,000", members="10"), TODAY)
    assert half.preview is not None  # the money terms are right; the name is still missing
    assert set(half.problems) == {"name", "start_date", "registration_no"}


def test_registration_numbers_compare_in_one_spelling() -> None:
    assert registration_key(" tn/chit 2026//0142 ") == registration_key("TN-CHIT-2026-0142")
    assert registration_key("TN/CHIT/2026/142") != registration_key("TN/CHIT/2026/0142")


def test_a_form_becomes_a_group_awaiting_approval(ctx: ServiceContext) -> None:
    service = GroupService(ctx)
    group = service.create_from_form(EMPLOYEE, WORKED)
    assert group.name == "Lakh Club" and group.registration_no == "TN/CHIT/2026/0142"
    assert group.agreement == rules.Agreement(5_00_000_00, 50)
    assert group.start_date == date(2026, 12, 5) and group.terms_status == AWAITING_APPROVAL
    assert service.check_form(WORKED).preview == check(WORKED, TODAY).preview
    past = GroupForm(**{**WORKED.__dict__, "start_date": TODAY - timedelta(days=1)})
    with pytest.raises(FieldErrors) as err:
        service.create_from_form(EMPLOYEE, past)
    assert list(err.value.field_errors) == ["start_date"]
