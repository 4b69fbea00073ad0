"""Loan instalments: reducing-balance EMI, its schedule, and flat-rate quotes.

Rates are annual, in basis points (24 % a year = 2400). The monthly rate is
``r = annual / 12 / 100``; in basis points that is ``r = bps / 120000``, so every
formula below is evaluated exactly with integers and rounded half-up to the paisa
only once, at the end.

Reducing balance (DOMAIN.md)::

    EMI = P·r·(1+r)^n / ((1+r)^n − 1)        r = 0  ->  EMI = P / n

Schedule: each month the interest is ``round_half_up(balance · r)`` and the
principal part is ``EMI − interest``. The rounding of the EMI leaves a small
residue, which the last instalment absorbs, so the principal parts sum to ``P``
exactly and the balance ends at 0. At extreme rates and terms (e.g. 100 % a year
over 30 years) the half-paisa rounding of the EMI compounds; rows are then kept
sound rather than literal: a principal part is never negative and never exceeds
the balance, so the balance never rises and never goes below zero.

Flat rate: interest ``P · rate · n / 12`` is charged on the original principal for
the whole term, which hides its cost. :func:`describe_flat_quote` returns the
flat EMI together with the reducing rate that gives the same EMI, so screens can
show both.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from app.kernel.errors import ValidationError
from app.services.money import Paise, format_bps, round_half_up

MAX_MONTHS = 360
MAX_RATE_BPS = 10_000
MONTHLY_RATE_DENOMINATOR = 12 * 100 * 100
"""``r = annual_rate_bps / MONTHLY_RATE_DENOMINATOR``."""


@dataclass(frozen=True, slots=True)
class Instalment:
    """One row of a repayment schedule; amounts in paise.

    ``emi`` is what is paid that month (``interest + principal``); it equals the
    loan's EMI on every row except, usually by a few paise, the last.
    """

    number: int
    due_date: date | None
    emi: Paise
    interest: Paise
    principal: Paise
    balance: Paise


@dataclass(frozen=True, slots=True)
class FlatQuote:
    """A flat-rate offer with its true cost beside it."""

    principal: Paise
    flat_rate_bps: int
    months: int
    emi: Paise
    total_interest: Paise
    total_payable: Paise
    reducing_rate_bps: int

    @property
    def label(self) -> str:
        """One line for a screen: ``"12.00% flat = 21.46% reducing"``."""
        flat, reducing = format_bps(self.flat_rate_bps), format_bps(self.reducing_rate_bps)
        return f"{flat} flat = {reducing} reducing"


def validate_loan_terms(
    principal: Paise, rate_bps: int, months: int, *, rate_field: str = "annual_rate_bps"
) -> None:
    """Refuse terms outside amount > 0, 1..360 months and 0..10000 bps.

    Raises:
        ValidationError: naming the offending field.
    """
    _require_int(principal, "principal")
    _require_int(rate_bps, rate_field)
    _require_int(months, "months")
    if principal <= 0:
        raise ValidationError(
            f"principal must be more than zero (got {principal} paise).",
            hint="Enter the loan amount.",
        )
    if not 1 <= months <= MAX_MONTHS:
        raise ValidationError(
            f"months must be between 1 and {MAX_MONTHS} (got {months}).",
            hint="Choose a term of up to 30 years.",
        )
    if not 0 <= rate_bps <= MAX_RATE_BPS:
        raise ValidationError(
            f"{rate_field} must be between 0 and {MAX_RATE_BPS} basis points (got {rate_bps}).",
            hint="24% a year is 2400 basis points.",
        )


def emi(principal_paise: Paise, annual_rate_bps: int, months: int) -> Paise:
    """Return the reducing-balance EMI in paise, rounded half-up.

    >>> emi(10_000_000, 2400, 12)  # ₹1,00,000 at 24 % for 12 months
    945596
    """
    validate_loan_terms(principal_paise, annual_rate_bps, months)
    exact = _exact_emi(principal_paise, annual_rate_bps, months)
    return round_half_up(exact.numerator, exact.denominator)


def schedule(
    principal: Paise, annual_rate_bps: int, months: int, start: date | None = None
) -> list[Instalment]:
    """Return the month-by-month repayment schedule.

    Args:
        principal: amount lent, in paise.
        annual_rate_bps: annual reducing rate in basis points.
        months: number of monthly instalments.
        start: disbursement date; instalment ``k`` falls due ``k`` months later on the
            same day of the month (clamped to the month's end). ``None`` leaves
            ``due_date`` empty.
    """
    amount = emi(principal, annual_rate_bps, months)
    rows: list[Instalment] = []
    balance = principal
    for number in range(1, months + 1):
        interest = monthly_interest(balance, annual_rate_bps)
        last = number == months
        part = balance if last else min(max(amount - interest, 0), balance)
        balance -= part
        due = add_months(start, number) if start is not None else None
        rows.append(Instalment(number, due, interest + part, interest, part, balance))
    return rows


def monthly_interest(balance: Paise, annual_rate_bps: int) -> Paise:
    """Interest for one month on ``balance``: ``round_half_up(balance · r)``."""
    return round_half_up(balance * annual_rate_bps, MONTHLY_RATE_DENOMINATOR)


def total_interest(principal: Paise, annual_rate_bps: int, months: int) -> Paise:
    """Interest paid over the whole schedule, in paise."""
    return sum(row.interest for row in schedule(principal, annual_rate_bps, months))


def add_months(start: date, months: int) -> date:
    """Return ``start`` moved by ``months``, keeping its day clamped to the month's end.

    The day is taken from ``start`` each time, so 31 Jan -> 28/29 Feb -> 31 Mar.
    """
    index = start.year * 12 + start.month - 1 + months
    year, month0 = divmod(index, 12)
    last_day = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(start.day, last_day))


def flat_emi(principal: Paise, flat_rate_bps: int, months: int) -> Paise:
    """Return the flat-rate EMI: ``(P + P·rate·n/12) / n``, rounded half-up."""
    validate_loan_terms(principal, flat_rate_bps, months, rate_field="flat_rate_bps")
    exact = _exact_flat_emi(principal, flat_rate_bps, months)
    return round_half_up(exact.numerator, exact.denominator)


def equivalent_reducing_rate_bps(principal: Paise, flat_rate_bps: int, months: int) -> int:
    """Return the annual reducing rate (bps) whose EMI equals the flat-rate EMI.

    Solved by bisection over whole basis points on the exact (unrounded) EMIs, so
    the answer is the nearest 0.01 %. It may exceed 100 %: a flat rate can cost
    close to twice its face value.
    """
    validate_loan_terms(principal, flat_rate_bps, months, rate_field="flat_rate_bps")
    target = _exact_flat_emi(principal, flat_rate_bps, months)
    low, high = 0, max(flat_rate_bps, 1)
    while _exact_emi(principal, high, months) < target:
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        if _exact_emi(principal, middle, months) < target:
            low = middle
        else:
            high = middle
    below = target - _exact_emi(principal, low, months)
    above = _exact_emi(principal, high, months) - target
    return low if below < above else high


def describe_flat_quote(principal: Paise, flat_rate_bps: int, months: int) -> FlatQuote:
    """Return the flat quote's EMI and totals with its equivalent reducing rate."""
    amount = flat_emi(principal, flat_rate_bps, months)
    interest = round_half_up(principal * flat_rate_bps * months, MONTHLY_RATE_DENOMINATOR)
    return FlatQuote(
        principal=principal,
        flat_rate_bps=flat_rate_bps,
        months=months,
        emi=amount,
        total_interest=interest,
        total_payable=principal + interest,
        reducing_rate_bps=equivalent_reducing_rate_bps(principal, flat_rate_bps, months),
    )


def _exact_emi(principal: int, annual_rate_bps: int, months: int) -> Fraction:
    if annual_rate_bps == 0:
        return Fraction(principal, months)
    base = MONTHLY_RATE_DENOMINATOR
    growth = (base + annual_rate_bps) ** months
    numerator = principal * annual_rate_bps * growth
    denominator = base * (growth - base**months)
    return Fraction(numerator, denominator)


def _exact_flat_emi(principal: int, flat_rate_bps: int, months: int) -> Fraction:
    base = MONTHLY_RATE_DENOMINATOR
    return Fraction(principal * (base + flat_rate_bps * months), base * months)


def _require_int(value: object, field: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{field} must be a whole number (got {value!r}).")
