"""Reducing-balance EMI, its schedule, and flat-rate quotes with their true cost."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.kernel.errors import ValidationError
from app.services.emi import (
    FlatQuote,
    add_months,
    describe_flat_quote,
    emi,
    equivalent_reducing_rate_bps,
    flat_emi,
    monthly_interest,
    schedule,
    total_interest,
)

LAKH = 10_000_000  # ₹1,00,000 in paise

principals = st.integers(min_value=1, max_value=10**12)
rates = st.integers(min_value=0, max_value=10_000)
terms = st.integers(min_value=1, max_value=360)


def test_domain_check_emi_and_first_two_months() -> None:
    assert emi(LAKH, 2400, 12) == 945_596
    first, second = schedule(LAKH, 2400, 12)[:2]
    assert (first.interest, first.principal, first.balance) == (200_000, 745_596, 9_254_404)
    assert first.emi == 945_596
    assert second.interest == 185_088


def test_last_instalment_absorbs_the_residue() -> None:
    rows = schedule(LAKH, 2400, 12)
    assert [row.emi for row in rows[:-1]] == [945_596] * 11
    assert rows[-1].emi == 945_597
    assert rows[-1].balance == 0
    assert sum(row.principal for row in rows) == LAKH
    assert total_interest(LAKH, 2400, 12) == sum(row.emi for row in rows) - LAKH == 1_347_153


def _decimal_emi(principal: int, bps: int, months: int) -> Decimal:
    if bps == 0:
        return Decimal(principal) / months
    with localcontext() as ctx:
        ctx.prec = 60
        r = Decimal(bps) / Decimal(120_000)
        growth = (1 + r) ** months
        return Decimal(principal) * r * growth / (growth - 1)


@given(principals, st.integers(min_value=1, max_value=10_000), terms)
def test_emi_is_the_formula_rounded_half_up(principal: int, bps: int, months: int) -> None:
    exact = _decimal_emi(principal, bps, months)
    assert abs(Decimal(emi(principal, bps, months)) - exact) <= Decimal("0.5")


def test_zero_rate_is_principal_over_months() -> None:
    assert emi(1_200, 0, 12) == 100
    assert emi(1_000, 0, 3) == 333
    assert emi(2_000, 0, 3) == 667  # half-up


@settings(max_examples=60)
@given(principals, rates, terms)
def test_schedule_invariants(principal: int, bps: int, months: int) -> None:
    rows = schedule(principal, bps, months)
    assert [row.number for row in rows] == list(range(1, months + 1))
    assert sum(row.principal for row in rows) == principal
    assert rows[-1].balance == 0
    balance = principal
    for row in rows:
        assert row.interest >= 0
        assert 0 <= row.principal <= balance
        assert row.interest == monthly_interest(balance, bps)
        assert row.emi == row.interest + row.principal
        balance -= row.principal
        assert row.balance == balance


@settings(max_examples=60)
@given(st.integers(min_value=1, max_value=360).flatmap(lambda n: st.tuples(st.just(n), terms)))
def test_zero_rate_gives_equal_instalments_with_residue_last(pair: tuple[int, int]) -> None:
    months, scale = pair
    principal = months * months * scale + scale  # large enough that n-1 EMIs never overshoot
    rows = schedule(principal, 0, months)
    amount = emi(principal, 0, months)
    assert all(row.interest == 0 for row in rows)
    assert [row.emi for row in rows[:-1]] == [amount] * (months - 1)
    assert rows[-1].emi == principal - amount * (months - 1)
    assert abs(rows[-1].emi - amount) < months


@settings(max_examples=60)
@given(st.integers(min_value=100_000, max_value=10**11), st.integers(0, 3_600), st.integers(1, 120))
def test_realistic_loans_keep_every_row_on_the_emi(principal: int, bps: int, months: int) -> None:
    rows = schedule(principal, bps, months)
    amount = emi(principal, bps, months)
    assert all(row.emi == amount for row in rows[:-1])
    # Each month's rounding (EMI and interest, half a paisa each) compounds at r.
    r = Fraction(bps, 120_000)
    compounded = months if bps == 0 else ((1 + r) ** months - 1) / r
    assert abs(rows[-1].emi - amount) <= compounded + 1


def test_schedule_never_goes_negative_at_extreme_terms() -> None:
    rows = schedule(200, 0, 360)  # ₹2 over 30 years: EMI rounds up to 1 paisa
    assert sum(row.principal for row in rows) == 200
    assert all(row.balance >= 0 for row in rows)
    rows = schedule(LAKH, 10_000, 360)  # 100 % a year: the EMI barely exceeds the interest
    assert all(row.principal >= 0 for row in rows)
    assert rows[-1].balance == 0


def test_due_dates_keep_the_day_clamped_to_month_end() -> None:
    rows = schedule(LAKH, 1200, 5, start=date(2024, 1, 31))
    assert [row.due_date for row in rows] == [
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
        date(2024, 5, 31),
        date(2024, 6, 30),
    ]
    assert all(row.due_date is None for row in schedule(LAKH, 1200, 2))


def test_add_months_crosses_years() -> None:
    assert add_months(date(2023, 11, 30), 3) == date(2024, 2, 29)
    assert add_months(date(2023, 12, 15), 1) == date(2024, 1, 15)
    assert add_months(date(2025, 1, 29), 1) == date(2025, 2, 28)
    assert add_months(date(2025, 1, 10), 360) == date(2055, 1, 10)


@pytest.mark.parametrize(
    ("principal", "bps", "months", "field"),
    [
        (0, 2400, 12, "principal"),
        (-5, 2400, 12, "principal"),
        (LAKH, 2400, 0, "months"),
        (LAKH, 2400, 361, "months"),
        (LAKH, -1, 12, "annual_rate_bps"),
        (LAKH, 10_001, 12, "annual_rate_bps"),
        (1.5, 2400, 12, "principal"),
        (LAKH, True, 12, "annual_rate_bps"),
    ],
)
def test_invalid_terms_name_the_field(principal: int, bps: int, months: int, field: str) -> None:
    with pytest.raises(ValidationError, match=f"^{field}"):
        emi(principal, bps, months)
    with pytest.raises(ValidationError, match=f"^{field}"):
        schedule(principal, bps, months)


def test_flat_rate_fields_are_named() -> None:
    with pytest.raises(ValidationError, match=r"^flat_rate_bps"):
        flat_emi(LAKH, 20_000, 12)
    with pytest.raises(ValidationError, match=r"^months"):
        describe_flat_quote(LAKH, 1200, 0)


def test_flat_emi() -> None:
    # ₹1,00,000 at 12 % flat for a year: ₹12,000 interest, ₹1,12,000 / 12 = ₹9,333.33
    assert flat_emi(LAKH, 1200, 12) == 933_333
    assert flat_emi(LAKH, 0, 12) == emi(LAKH, 0, 12)


def test_flat_quote_shows_the_reducing_rate_beside_it() -> None:
    quote = describe_flat_quote(LAKH, 1200, 12)
    assert quote == FlatQuote(
        principal=LAKH,
        flat_rate_bps=1200,
        months=12,
        emi=933_333,
        total_interest=1_200_000,
        total_payable=11_200_000,
        reducing_rate_bps=2146,
    )
    assert quote.label == "12.00% flat = 21.46% reducing"


def test_one_month_flat_equals_reducing() -> None:
    assert equivalent_reducing_rate_bps(LAKH, 1800, 1) == 1800


def test_equivalent_rate_can_exceed_the_flat_cap() -> None:
    rate = equivalent_reducing_rate_bps(LAKH, 10_000, 24)
    assert rate > 10_000
    assert abs(_decimal_emi(LAKH, rate, 24) - Decimal(LAKH * 3) / 24) < Decimal(LAKH) / 10_000


@settings(max_examples=40)
@given(st.integers(min_value=10_000, max_value=10**10), st.integers(1, 10_000), terms)
def test_equivalent_rate_is_the_nearest_basis_point(principal: int, flat: int, months: int) -> None:
    rate = equivalent_reducing_rate_bps(principal, flat, months)
    target = Decimal(principal) * (120_000 + flat * months) / (120_000 * months)
    miss = abs(_decimal_emi(principal, rate, months) - target)
    assert rate >= flat
    assert miss <= abs(_decimal_emi(principal, rate + 1, months) - target)
    assert miss <= abs(_decimal_emi(principal, rate - 1, months) - target)


def test_zero_flat_rate_is_zero_reducing() -> None:
    assert equivalent_reducing_rate_bps(LAKH, 0, 60) == 0
