"""Loan risk: DPD buckets, PAR, provisioning and the explainable risk score."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.kernel.errors import ValidationError
from app.services.credit import (
    BASE_SCORE,
    LoanExposure,
    ProvisioningPolicy,
    RiskInputs,
    RiskScore,
    bucket,
    days_past_due,
    par,
    provision_for,
    provisions,
    score,
)

RUPEE = 100
TODAY = date(2025, 6, 30)


# --- DPD -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dpd", "name"),
    [
        (0, "standard"),
        (1, "SMA-0"),
        (30, "SMA-0"),
        (31, "SMA-1"),
        (60, "SMA-1"),
        (61, "SMA-2"),
        (90, "SMA-2"),
        (91, "NPA"),
        (5000, "NPA"),
    ],
)
def test_bucket_edges(dpd: int, name: str) -> None:
    assert bucket(dpd) == name


def test_bucket_refuses_negative_days() -> None:
    with pytest.raises(ValidationError, match=r"^dpd"):
        bucket(-1)


def test_days_past_due_counts_from_the_oldest_unpaid_due_date() -> None:
    assert days_past_due([], TODAY) == 0
    assert days_past_due([TODAY], TODAY) == 0
    assert days_past_due([TODAY + timedelta(days=5)], TODAY) == 0
    assert days_past_due([TODAY - timedelta(days=1)], TODAY) == 1
    unpaid = [date(2025, 5, 31), date(2025, 3, 31), date(2025, 4, 30), date(2025, 7, 31)]
    assert days_past_due(unpaid, TODAY) == 91
    assert bucket(days_past_due(unpaid, TODAY)) == "NPA"


# --- PAR -------------------------------------------------------------------------------


def _loan(loan_id: str, rupees: int, dpd: int, **extra: bool) -> LoanExposure:
    return LoanExposure(loan_id, rupees * RUPEE, dpd, **extra)


PORTFOLIO = [
    _loan("a", 40_000, 0),
    _loan("b", 30_000, 15),
    _loan("c", 15_000, 31),
    _loan("d", 10_000, 95),
    _loan("e", 5_000, 30),
    _loan("f", 0, 400),  # repaid in full: no balance, not at risk
]


def test_par_by_hand() -> None:
    # Gross outstanding: 40,000 + 30,000 + 15,000 + 10,000 + 5,000 = ₹1,00,000.
    # PAR30 counts c and d (more than 30 days late; e at exactly 30 is not): ₹25,000 = 25 %.
    # PAR90 counts d only: ₹10,000 = 10 %.
    par30 = par(PORTFOLIO, 30)
    assert (par30.at_risk, par30.outstanding, par30.loans_at_risk) == (2_500_000, 10_000_000, 2)
    assert par30.ratio == Fraction(1, 4)
    assert par30.bps == 2_500
    assert par30.label == "PAR30 25.00%"
    par90 = par(iter(PORTFOLIO), 90)
    assert (par90.at_risk, par90.ratio, par90.loans_at_risk) == (1_000_000, Fraction(1, 10), 1)


def test_par_weighs_balances_not_counts() -> None:
    loans = [_loan("big", 90_000, 120), _loan("s1", 5_000, 0), _loan("s2", 5_000, 0)]
    assert par(loans, 30).ratio == Fraction(9, 10)


def test_par_of_an_empty_portfolio_is_zero() -> None:
    result = par([], 30)
    assert (result.at_risk, result.outstanding, result.ratio, result.bps) == (0, 0, 0, 0)


@given(st.lists(st.tuples(st.integers(0, 10**10), st.integers(0, 2000)), max_size=30))
def test_par90_never_exceeds_par30(rows: list[tuple[int, int]]) -> None:
    loans = [LoanExposure(str(i), amount, dpd) for i, (amount, dpd) in enumerate(rows)]
    par30, par90 = par(loans, 30), par(loans, 90)
    assert 0 <= par90.at_risk <= par30.at_risk <= par30.outstanding
    assert par30.outstanding == sum(amount for amount, _ in rows)


def test_exposure_rejects_negative_amounts() -> None:
    with pytest.raises(ValidationError, match=r"^outstanding_principal"):
        LoanExposure("x", -1, 0)


# --- provisioning ----------------------------------------------------------------------

POLICY = ProvisioningPolicy()


@pytest.mark.parametrize(
    ("dpd", "asset_class"),
    [
        (0, "standard"),
        (90, "standard"),
        (91, "substandard"),
        (90 + 365, "substandard"),
        (90 + 366, "doubtful-1"),
        (90 + 730, "doubtful-1"),
        (90 + 731, "doubtful-2"),
        (90 + 365 * 4, "doubtful-2"),
        (90 + 365 * 4 + 1, "doubtful-3"),
    ],
)
def test_asset_class_from_dpd(dpd: int, asset_class: str) -> None:
    assert POLICY.classify(dpd) == asset_class


def test_loss_flag_overrides_dpd() -> None:
    assert POLICY.classify(0, loss_flagged=True) == "loss"


@pytest.mark.parametrize(
    ("loan", "asset_class", "rate_bps", "amount"),
    [
        (_loan("std", 1_00_000, 0), "standard", 40, 40_000),
        (_loan("ss", 1_00_000, 100, secured=True), "substandard", 1_500, 1_500_000),
        (_loan("ssu", 1_00_000, 100), "substandard", 2_500, 2_500_000),
        (_loan("d1", 1_00_000, 600, secured=True), "doubtful-1", 2_500, 2_500_000),
        (_loan("d2", 1_00_000, 1000), "doubtful-2", 4_000, 4_000_000),
        (_loan("d3", 1_00_000, 2000), "doubtful-3", 10_000, 10_000_000),
        (_loan("loss", 1_00_000, 10, loss_flagged=True), "loss", 10_000, 10_000_000),
    ],
)
def test_provision_per_class(
    loan: LoanExposure, asset_class: str, rate_bps: int, amount: int
) -> None:
    result = provision_for(loan)
    assert (result.asset_class, result.rate_bps, result.amount) == (asset_class, rate_bps, amount)


def test_provisions_total_by_class_and_configurable_bands() -> None:
    loans = [
        _loan("a", 50_000, 0),
        _loan("b", 20_000, 120, secured=True),
        _loan("c", 10_000, 120),
        _loan("d", 333, 120, secured=True),  # 15 % of ₹333 = ₹49.95
    ]
    report = provisions(loans)
    assert report.by_class == {"standard": 20_000, "substandard": 300_000 + 250_000 + 4_995}
    assert report.total == 574_995
    assert [item.loan_id for item in report.items] == ["a", "b", "c", "d"]
    strict = ProvisioningPolicy(standard_bps=0, substandard_bps=2_000, substandard_days=30)
    assert provisions(loans, strict).by_class["substandard"] == 400_000 + 250_000 + 6_660
    assert strict.classify(90 + 31) == "doubtful-1"


@pytest.mark.parametrize(
    "changes",
    [{"standard_bps": -1}, {"loss_bps": 10_001}, {"doubtful_bps": (2_500, 4_000, 20_000)}],
)
def test_policy_rejects_rates_out_of_range(changes: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="between 0 and 10000"):
        ProvisioningPolicy(**changes)  # type: ignore[arg-type]


def test_policy_rejects_bands_out_of_order() -> None:
    with pytest.raises(ValidationError, match="bands"):
        ProvisioningPolicy(doubtful_band_days=(900, 300))


# --- risk score ------------------------------------------------------------------------

GOOD = RiskInputs(
    on_time_count=19,
    due_count=20,
    max_dpd_history=0,
    kyc_status="approved",
    requested_amount=50_000 * RUPEE,
    contributions_paid=40_000 * RUPEE,
)


def _prized(security_rupees: int) -> dict[str, object]:
    """A prized subscriber owing ₹90,000 of future instalments."""
    return {
        "is_prized_subscriber": True,
        "future_instalments_owed": 90_000 * RUPEE,
        "security_held": security_rupees * RUPEE,
    }


def _asking(rupees: int) -> dict[str, object]:
    return {"requested_amount": rupees * RUPEE}


def _score(**changes: object) -> RiskScore:
    return score(dataclasses.replace(GOOD, **changes))  # type: ignore[arg-type]


def _points(result: RiskScore, name: str) -> int:
    return next(f.points for f in result.factors if f.name == name)


def _assert_explained(result: RiskScore) -> None:
    assert result.base + sum(f.points for f in result.factors) == result.total
    assert 300 <= result.total <= 900


def test_a_good_member_is_eligible_and_every_point_is_explained() -> None:
    result = score(GOOD)
    _assert_explained(result)
    # 600 + on-time (240·19/20 − 120 = 108) + never late 60 + KYC 40 + LTC 1.25× 20
    assert result.total == 600 + 108 + 60 + 40 + 20 == 828
    assert result.eligibility == "eligible"
    assert result.reasons == ()
    lines = result.explain()
    assert lines[0] == f"Base score: {BASE_SCORE}"
    assert "On-time repayments (19 of 20 (95.00%)): +108." in lines[1]
    assert lines[-1] == "Total: 828 -> eligible"


@pytest.mark.parametrize(
    ("better", "worse", "factor"),
    [
        ({"on_time_count": 20}, {"on_time_count": 10}, "On-time repayments"),
        ({"on_time_count": 10}, {"on_time_count": 0}, "On-time repayments"),
        ({"max_dpd_history": 0}, {"max_dpd_history": 10}, "Worst days past due"),
        ({"max_dpd_history": 30}, {"max_dpd_history": 31}, "Worst days past due"),
        ({"max_dpd_history": 60}, {"max_dpd_history": 61}, "Worst days past due"),
        ({"max_dpd_history": 90}, {"max_dpd_history": 91}, "Worst days past due"),
        ({"kyc_status": "approved"}, {"kyc_status": "pending"}, "KYC"),
        ({"kyc_status": "pending"}, {"kyc_status": "none"}, "KYC"),
        ({"kyc_status": "none"}, {"kyc_status": "rejected"}, "KYC"),
        (_asking(40_000), _asking(40_001), "Loan to contribution"),
        (_asking(80_000), _asking(80_001), "Loan to contribution"),
        (_asking(120_000), _asking(120_001), "Loan to contribution"),
        ({"contributions_paid": 1}, {"contributions_paid": 0}, "Loan to contribution"),
        ({"existing_loans": 0}, {"existing_loans": 1}, "Open loans"),
        ({"existing_loans": 3}, {"existing_loans": 4}, "Open loans"),
        (
            {"existing_loans": 1, "existing_outstanding": 10_000 * RUPEE},
            {"existing_loans": 1, "existing_outstanding": 30_000 * RUPEE},
            "Debt outstanding",
        ),
        ({"future_instalments_owed": 90_000 * RUPEE}, _prized(120_000), "Prize exposure"),
        (_prized(120_000), _prized(119_999), "Prize exposure"),
        (_prized(90_000), _prized(45_000), "Prize exposure"),
    ],
)
def test_each_factor_moves_the_score_the_right_way(
    better: dict[str, object], worse: dict[str, object], factor: str
) -> None:
    good, bad = _score(**better), _score(**worse)
    assert _points(good, factor) > _points(bad, factor)
    assert good.total > bad.total
    _assert_explained(good)
    _assert_explained(bad)


def test_no_history_is_neutral() -> None:
    result = _score(on_time_count=0, due_count=0)
    assert _points(result, "On-time repayments") == 0
    assert _points(result, "Worst days past due") == 0


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"kyc_status": "pending"}, "KYC is pending"),
        ({"kyc_status": "rejected"}, "KYC is rejected"),
        ({"kyc_status": "none"}, "KYC is none"),
        ({"max_dpd_history": 91}, "NPA"),
        (
            {"on_time_count": 0, "max_dpd_history": 75, "requested_amount": 130_000 * RUPEE},
            "below 550",
        ),
    ],
)
def test_ineligible(changes: dict[str, object], reason: str) -> None:
    result = _score(**changes)
    assert result.eligibility == "ineligible"
    assert any(reason in text for text in result.reasons)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"requested_amount": 120_001 * RUPEE}, "above 3×"),
        ({"contributions_paid": 0}, "No contributions"),
        (_prized(100_000), "below 4/3"),
        ({"on_time_count": 14, "max_dpd_history": 45, **_asking(100_000)}, "below 650"),
    ],
)
def test_needs_review(changes: dict[str, object], reason: str) -> None:
    result = _score(**changes)
    assert result.eligibility == "needs_review", result.explain()
    assert any(reason in text for text in result.reasons)


@pytest.mark.parametrize(
    ("on_time", "extra", "total", "verdict"),
    [
        # 240 dues: on-time points are on_time − 120. 600 + 60 + 40 + 60 = 760.
        (10, {}, 650, "eligible"),
        (9, {}, 649, "needs_review"),
        # One day late at worst (0) and four open loans (−80): 600 + 0 + 40 + 60 − 80 = 620.
        (50, {"max_dpd_history": 1, "existing_loans": 4}, 550, "needs_review"),
        (49, {"max_dpd_history": 1, "existing_loans": 4}, 549, "ineligible"),
    ],
)
def test_score_band_edges(on_time: int, extra: dict[str, object], total: int, verdict: str) -> None:
    result = _score(
        on_time_count=on_time, due_count=240, requested_amount=GOOD.contributions_paid, **extra
    )
    assert (result.total, result.eligibility) == (total, verdict)


def test_floor_is_explained_by_a_bounds_factor() -> None:
    result = _score(
        on_time_count=0,
        max_dpd_history=400,
        kyc_status="rejected",
        requested_amount=10**9,
        contributions_paid=0,
        is_prized_subscriber=True,
        future_instalments_owed=10**8,
        existing_loans=5,
        existing_outstanding=10**8,
    )
    assert result.total == 300
    assert result.factors[-1].name == "Score bounds"
    assert result.factors[-1].points > 0
    _assert_explained(result)


@st.composite
def risk_inputs(draw: st.DrawFn) -> RiskInputs:
    due = draw(st.integers(0, 400))
    loans = draw(st.integers(0, 10))
    return RiskInputs(
        on_time_count=draw(st.integers(0, due)),
        due_count=due,
        max_dpd_history=draw(st.integers(0, 3000)),
        kyc_status=draw(st.sampled_from(["approved", "pending", "rejected", "none"])),
        requested_amount=draw(st.integers(1, 10**12)),
        contributions_paid=draw(st.integers(0, 10**12)),
        is_prized_subscriber=draw(st.booleans()),
        future_instalments_owed=draw(st.integers(0, 10**12)),
        security_held=draw(st.integers(0, 10**12)),
        existing_loans=loans,
        existing_outstanding=draw(st.integers(0, 10**12)) if loans else 0,
    )


@given(risk_inputs())
def test_bounds_hold_and_explanations_sum_to_the_total(inputs: RiskInputs) -> None:
    result = score(inputs)
    _assert_explained(result)
    assert result.eligibility in {"eligible", "needs_review", "ineligible"}
    assert (result.eligibility == "eligible") == (not result.reasons)
    if result.total < 550 or inputs.kyc_status != "approved" or inputs.max_dpd_history > 90:
        assert result.eligibility == "ineligible"
    if result.eligibility == "eligible":
        assert result.total >= 650


@given(risk_inputs(), st.integers(1, 10**6))
def test_more_security_never_lowers_the_score(inputs: RiskInputs, extra: int) -> None:
    richer = dataclasses.replace(inputs, security_held=inputs.security_held + extra)
    assert score(richer).total >= score(inputs).total


@given(risk_inputs(), st.integers(1, 10**9))
def test_asking_for_more_never_raises_the_score(inputs: RiskInputs, extra: int) -> None:
    bigger = dataclasses.replace(inputs, requested_amount=inputs.requested_amount + extra)
    assert score(bigger).total <= score(inputs).total


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"on_time_count": 21}, "on_time_count"),
        ({"due_count": -1}, "due_count"),
        ({"kyc_status": "maybe"}, "kyc_status"),
        ({"requested_amount": 0}, "requested_amount"),
        ({"contributions_paid": -5}, "contributions_paid"),
        ({"existing_outstanding": 100}, "existing_outstanding"),
        ({"max_dpd_history": 1.5}, "max_dpd_history"),
    ],
)
def test_risk_inputs_are_validated(changes: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError, match=f"^{field}"):
        dataclasses.replace(GOOD, **changes)  # type: ignore[arg-type]
