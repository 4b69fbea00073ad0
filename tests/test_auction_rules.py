"""Auction rules: agreement, bids, settlement, lots, aliases, countdown, prize payment."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.kernel.errors import ValidationError
from app.services.auctions.rules import (
    Agreement,
    alias,
    aliases,
    commission,
    commit_seed,
    discount_cap,
    discount_floor,
    draw,
    extend_deadline,
    instalment,
    max_bid,
    may_bid,
    min_next_bid,
    new_seed,
    payout_deadline,
    redraw_allowed_from,
    security_required,
    settle,
    validate_bid,
    verify_draw,
)

LAKH = 100_000 * 100  # ₹1,00,000 in paise
DOMAIN = Agreement(gross_paise=5 * LAKH, members=50)


# --- agreement ---------------------------------------------------------------


def test_domain_example_amounts() -> None:
    assert instalment(DOMAIN) == 10_000_00
    assert commission(DOMAIN) == discount_floor(DOMAIN) == 25_000_00
    assert discount_cap(DOMAIN) == 1_50_000_00
    assert DOMAIN.bid_step_paise == 500_00


def test_commission_up_to_seven_percent() -> None:
    assert commission(Agreement(5 * LAKH, 50, commission_bps=700)) == 35_000_00
    with pytest.raises(ValidationError, match=r"7\.01% is above the legal maximum of 7\.00%"):
        Agreement(5 * LAKH, 50, commission_bps=701)


def test_rounding_never_takes_the_commission_above_its_rate() -> None:
    # 7 % of ₹1,00,000.80 is 7,00,005.6 paise: half-up would charge 7,00,006, over 7 %.
    odd = Agreement(1_00_00_080, 20, commission_bps=700)
    assert commission(odd) == discount_floor(odd) == 7_00_005


@given(st.integers(1, 10**12), st.integers(0, 700))
def test_the_commission_is_its_rate_of_the_chit_rounded_down(gross: int, bps: int) -> None:
    fee = commission(Agreement(gross * 2, 2, commission_bps=bps, discount_cap_bps=bps + 1))
    assert fee * 10_000 <= gross * 2 * bps < (fee + 1) * 10_000


def test_every_bad_term_is_listed() -> None:
    with pytest.raises(ValidationError) as info:
        Agreement(5 * LAKH + 1, 50, commission_bps=-1, bid_step_paise=0)
    message = info.value.message
    assert "must divide evenly among 50 members" in message
    assert "commission cannot be negative" in message
    assert "bid step must be a positive amount" in message


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"gross_paise": 0}, "must be positive"),
        ({"members": 1}, "at least 2 members"),
        ({"period_months": 0}, "at least 1 month"),
        ({"discount_cap_bps": 500}, "must be above the commission 5.00%"),
        ({"discount_cap_bps": 10_000}, "below 100%"),
        ({"members": 2.5}, "whole numbers"),
    ],
)
def test_bad_agreement(kwargs: dict[str, object], expected: str) -> None:
    terms: dict[str, object] = {"gross_paise": 5 * LAKH, "members": 50, **kwargs}
    with pytest.raises(ValidationError, match=re.escape(expected)):
        Agreement(**terms)  # type: ignore[arg-type]


# --- bids --------------------------------------------------------------------


def test_bid_errors_are_distinct_and_name_amounts_in_indian_format() -> None:
    cases = [
        (24_500_00, None, "below the floor of ₹25,000.00 (the foreman's commission)"),
        (1_50_500_00, None, "above this group's cap of ₹1,50,000.00 (30.00% of the chit)"),
        (25_200_00, None, "not on a ₹500.00 step from the floor ₹25,000.00"),
        (30_000_00, 30_000_00, "does not beat the current best bid of ₹30,000.00"),
        (29_500_00, 30_000_00, "does not beat the current best bid of ₹30,000.00"),
    ]
    for bid, best, expected in cases:
        with pytest.raises(ValidationError) as info:
            validate_bid(DOMAIN, bid, best)
        assert expected in info.value.message


def test_bid_hints_point_to_valid_bids() -> None:
    with pytest.raises(ValidationError) as info:
        validate_bid(DOMAIN, 25_200_00, None)
    assert info.value.hint == "Bid ₹25,000.00 or ₹25,500.00."
    with pytest.raises(ValidationError) as info:
        validate_bid(DOMAIN, 30_000_00, 30_000_00)
    assert info.value.hint == "Bid at least ₹30,500.00."


def test_valid_bids() -> None:
    validate_bid(DOMAIN, 25_000_00, None)
    validate_bid(DOMAIN, 30_500_00, 30_000_00)
    validate_bid(DOMAIN, max_bid(DOMAIN), 1_49_500_00)
    assert max_bid(DOMAIN) == 1_50_000_00
    assert min_next_bid(DOMAIN, None) == 25_000_00
    assert min_next_bid(DOMAIN, 30_000_00) == 30_500_00


def test_grid_starts_at_the_floor_when_commission_is_not_a_whole_step() -> None:
    odd = Agreement(gross_paise=1_23_400_00, members=20)
    assert discount_floor(odd) == 6_170_00
    validate_bid(odd, 6_170_00, None)
    validate_bid(odd, 6_670_00, None)
    with pytest.raises(ValidationError, match=r"not on a ₹500\.00 step"):
        validate_bid(odd, 6_500_00, None)
    assert max_bid(odd) == 36_670_00 and discount_cap(odd) == 37_020_00


@pytest.mark.parametrize("bid", [25_000_00.0, True, "25000"])
def test_bid_must_be_integer_paise(bid: object) -> None:
    with pytest.raises(ValidationError, match="whole number of paise"):
        validate_bid(DOMAIN, bid, None)  # type: ignore[arg-type]


def test_who_may_bid() -> None:
    assert may_bid(False, False) == (True, "")
    ok, reason = may_bid(True, False)
    assert not ok and "prized" in reason
    ok, reason = may_bid(False, True)
    assert not ok and "overdue" in reason
    assert not may_bid(True, True)[0]


# --- settlement --------------------------------------------------------------


def test_domain_worked_example() -> None:
    s = settle(DOMAIN, 5, 1_50_000_00)
    assert s.prize_paise == 3_50_000_00
    assert s.commission_paise == 25_000_00
    assert s.dividend_pool_paise == 1_25_000_00
    assert s.share_paise == 2_500_00
    assert s.net_instalment_paise == 7_500_00
    assert s.residue_paise == 0
    assert 50 * s.net_instalment_paise == s.prize_paise + s.commission_paise


def test_rounding_residue_is_absorbed_by_the_foreman() -> None:
    small = Agreement(gross_paise=30_000_00, members=3)
    s = settle(small, 2, 2_000_00)
    assert s.dividend_pool_paise == 500_00
    assert s.share_paise == 16_667
    assert s.residue_paise == 1
    assert s.foreman_receives_paise == 1_499_99
    assert s.collected_paise == s.prize_paise + s.foreman_receives_paise


def test_foreman_takes_first_period_without_discount() -> None:
    first = Agreement(5 * LAKH, 50, foreman_takes_first=True)
    s = settle(first, 1, 0)
    assert s.prize_paise == 5 * LAKH
    assert s.commission_paise == s.share_paise == s.residue_paise == 0
    assert s.net_instalment_paise == instalment(first)
    with pytest.raises(ValidationError, match="without discount"):
        settle(first, 1, 25_000_00)
    assert settle(first, 2, 25_000_00).commission_paise == 25_000_00


def test_period_one_is_auctioned_when_the_foreman_does_not_take_it() -> None:
    with pytest.raises(ValidationError, match="below the floor"):
        settle(DOMAIN, 1, 0)
    assert settle(DOMAIN, 1, 25_000_00).share_paise == 0


@pytest.mark.parametrize("period", [0, 51])
def test_period_out_of_range(period: int) -> None:
    with pytest.raises(ValidationError, match="Period must be 1 to 50"):
        settle(DOMAIN, period, 25_000_00)


@st.composite
def agreements_and_bids(draw_: st.DrawFn) -> tuple[Agreement, int]:
    members = draw_(st.integers(2, 120))
    gross = members * draw_(st.integers(1, 50_000_00))
    commission_bps = draw_(st.integers(0, 700))
    cap_bps = draw_(st.integers(commission_bps + 1, 9_999))
    step = draw_(st.integers(1, 10_000_00))
    agreement = Agreement(gross, members, 1, commission_bps, cap_bps, step)
    k = draw_(st.integers(0, (max_bid(agreement) - discount_floor(agreement)) // step))
    return agreement, discount_floor(agreement) + k * step


@given(agreements_and_bids(), st.data())
def test_settlement_totals_are_exact(case: tuple[Agreement, int], data: st.DataObject) -> None:
    agreement, discount = case
    period = data.draw(st.integers(2, agreement.members))
    s = settle(agreement, period, discount)
    n = agreement.members
    assert n * s.net_instalment_paise + s.residue_paise == s.prize_paise + s.commission_paise
    assert s.collected_paise == s.prize_paise + s.foreman_receives_paise
    assert s.prize_paise + discount == agreement.gross_paise
    assert 2 * abs(s.residue_paise) <= n
    assert s.share_paise >= 0 and s.net_instalment_paise <= instalment(agreement)


# --- prize payment -----------------------------------------------------------


def test_security_exceeds_future_instalments_by_a_third_or_a_half() -> None:
    assert security_required(DOMAIN, 45, immovable=False) == 6_00_000_00
    assert security_required(DOMAIN, 45, immovable=True) == 6_75_000_00
    assert security_required(DOMAIN, 45, False, deducted_from_prize=True) == 0
    assert security_required(DOMAIN, 0, False) == 0
    odd = Agreement(gross_paise=1_000, members=10)
    assert security_required(odd, 1, False) == 134  # 100 * 4/3 = 133.33, rounded up
    with pytest.raises(ValidationError, match="0 to 49"):
        security_required(DOMAIN, 50, False)


def test_payout_deadline_is_the_earlier_of_seven_days_and_the_next_instalment() -> None:
    assert payout_deadline(date(2026, 1, 1), date(2026, 1, 20)) == date(2026, 1, 8)
    assert payout_deadline(date(2026, 1, 1), date(2026, 1, 5)) == date(2026, 1, 4)
    assert payout_deadline(date(2026, 1, 1), date(2026, 1, 2)) == date(2026, 1, 1)
    with pytest.raises(ValidationError):
        payout_deadline(date(2026, 1, 1), date(2026, 1, 1))


def test_redraw_after_two_months() -> None:
    assert redraw_allowed_from(date(2026, 1, 15)) == date(2026, 3, 15)
    assert redraw_allowed_from(date(2026, 12, 31)) == date(2027, 2, 28)
    assert redraw_allowed_from(date(2027, 12, 31)) == date(2028, 2, 29)
    assert redraw_allowed_from(date(2026, 7, 31)) == date(2026, 9, 30)


# --- countdown ---------------------------------------------------------------

END = datetime(2026, 5, 1, 18, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("before_end", "expected"),
    [
        (29.9, END + timedelta(seconds=0.1)),
        (10, END + timedelta(seconds=20)),
        (30, END),
        (31, END),
        (600, END),
    ],
)
def test_bid_in_the_last_30_seconds_extends_to_bid_plus_30(
    before_end: float, expected: datetime
) -> None:
    assert extend_deadline(END, END - timedelta(seconds=before_end)) == expected


def test_custom_window_and_extension() -> None:
    bid_at = END - timedelta(seconds=50)
    assert extend_deadline(END, bid_at, window_s=60, extension_s=120) == bid_at + timedelta(
        seconds=120
    )


@pytest.mark.parametrize("after_end", [0, 0.001, 5])
def test_bid_at_or_after_the_end_is_refused(after_end: float) -> None:
    with pytest.raises(ValidationError, match="auction closed"):
        extend_deadline(END, END + timedelta(seconds=after_end))


# --- verifiable lot ----------------------------------------------------------


def _recipe(seed: bytes, candidates: list[str]) -> str:
    """The documented recipe, written out independently."""
    names = sorted(set(candidates))
    digest = hashlib.sha256(seed + b"|" + ",".join(names).encode()).hexdigest()
    return names[int(digest, 16) % len(names)]


def test_draw_follows_the_published_recipe_and_ignores_order() -> None:
    candidates = ["m-07", "m-02", "m-31", "m-15"]
    for i in range(50):
        seed = hashlib.sha256(b"seed %d" % i).digest()
        winner = draw(seed, candidates)
        assert winner == _recipe(seed, candidates)
        assert draw(seed, list(reversed(candidates))) == winner


def test_draw_is_fair_enough() -> None:
    wins = Counter(draw(i.to_bytes(16, "big"), ["a", "b", "c"]) for i in range(3_000))
    assert set(wins) == {"a", "b", "c"}
    assert all(850 < count < 1_150 for count in wins.values())


def test_commit_then_verify() -> None:
    seed = new_seed()
    commitment = commit_seed(seed)
    assert commitment == hashlib.sha256(seed).hexdigest()
    candidates = ["m-1", "m-2", "m-3"]
    winner = draw(seed, candidates)
    loser = next(c for c in candidates if c != winner)
    assert verify_draw(seed.hex(), commitment, candidates, winner)
    assert verify_draw(seed.hex(), commitment.upper(), candidates, winner)
    assert not verify_draw(seed.hex(), commitment, candidates, loser)
    assert not verify_draw(new_seed().hex(), commitment, candidates, winner)
    assert not verify_draw("not hex", commitment, candidates, winner)
    assert not verify_draw(seed.hex(), commitment, [], winner)


@pytest.mark.parametrize(
    ("seed", "candidates", "expected"),
    [
        (b"short", ["a"], "at least 16 random bytes"),
        (bytes(16), [], "at least one candidate"),
        (bytes(16), ["a,b", "c"], "may not contain commas"),
    ],
)
def test_bad_lot(seed: bytes, candidates: list[str], expected: str) -> None:
    with pytest.raises(ValidationError, match=expected):
        draw(seed, candidates)


# --- aliases -----------------------------------------------------------------


def test_alias_is_stable_within_an_auction_and_differs_across() -> None:
    secret, other = b"k" * 32, b"q" * 32
    name = alias(secret, "member-42")
    assert re.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+ [1-9][0-9]", name)
    assert alias(secret, "member-42") == name
    assert alias(other, "member-42") != name
    assert alias(secret, "member-43") != name
    assert "42" not in name.split()[0] + name.split()[1]


def test_aliases_are_unique_even_when_raw_aliases_clash() -> None:
    secret = b"s" * 32
    ids = [f"m{i}" for i in range(2_000)]
    raw = Counter(alias(secret, i) for i in ids)
    assert max(raw.values()) > 1  # 2,000 ids over 368,640 names clash somewhere
    table = aliases(secret, ids)
    assert len(set(table.values())) == len(ids)
    assert aliases(secret, list(reversed(ids))) == table
    unclashed = [i for i in ids if raw[alias(secret, i)] == 1]
    assert all(table[i] == alias(secret, i) for i in unclashed)
