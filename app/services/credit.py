"""Loan risk: days past due, PAR, provisioning and an explainable risk score.

Days past due and buckets (RBI)::

    DPD 0 standard | 1-30 SMA-0 | 31-60 SMA-1 | 61-90 SMA-2 | > 90 NPA

PAR30 / PAR90: the outstanding principal of every loan with an instalment more than
30 / 90 days late, divided by the gross outstanding portfolio (balances, not counts).

Asset classification from DPD (days as an NPA = DPD - 90, a year = 365 days)::

    not NPA                         standard
    NPA up to 365 days              substandard
    NPA 366-730 days                doubtful, up to 1 year in doubtful   (D1)
    NPA 731-1460 days               doubtful, 1-3 years in doubtful      (D2)
    NPA over 1460 days              doubtful, over 3 years in doubtful   (D3)
    flagged as loss (any DPD)       loss

Default provisioning (all in :class:`ProvisioningPolicy`, all configurable)::

    standard 0.40% | substandard 15% (25% unsecured) | D1 25% | D2 40% | D3 100% | loss 100%

RBI additionally provides 100% on the unsecured part of a doubtful asset; DOMAIN.md
does not, so neither does the default policy.

Risk score: a base of 600 plus integer points per factor, clamped to 300..900. When
the clamp bites, a "Score bounds" factor carries the difference, so the base plus
the points of the factors always equals the total.

=====================  ==========================================================
Factor                 Points
=====================  ==========================================================
On-time repayments     round(240 · on_time / due) − 120  (−120..+120); 0 if no dues
Worst days past due    standard +60, SMA-0 0, SMA-1 −60, SMA-2 −120, NPA −200;
                       0 when there is no repayment history
KYC                    approved +40, pending −40, none −80, rejected −150
Prize exposure         not prized or nothing owed 0; security ≥ 4/3 of future
                       instalments −10; security ≥ owed −40; below that
                       −40 − round(80 · uncovered / owed)  (down to −120)
Loan to contribution   requested ≤ 1× contributions +60, ≤ 2× +20, ≤ 3× −20,
                       above 3× −80; no contributions paid −100
Open loans             −20 per open loan, at most −80
Debt outstanding       −round(40 · outstanding / contributions), at most −80;
                       −80 if outstanding with no contributions
=====================  ==========================================================

Eligibility (the strictest reason wins; all reasons are listed)::

    ineligible    KYC not approved; worst DPD above 90 (NPA history); score < 550
    needs_review  score 550-649; loan above 3× contributions; no contributions paid;
                  prized with security below 4/3 of the instalments still owed
    eligible      none of the above (score ≥ 650)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from typing import Literal

from app.kernel.errors import ValidationError
from app.services.money import Paise, bps_of, format_bps, format_inr, ratio_bps, round_half_up

Bucket = Literal["standard", "SMA-0", "SMA-1", "SMA-2", "NPA"]
AssetClass = Literal["standard", "substandard", "doubtful-1", "doubtful-2", "doubtful-3", "loss"]
KycStatus = Literal["approved", "pending", "rejected", "none"]
Eligibility = Literal["eligible", "needs_review", "ineligible"]

NPA_AFTER_DAYS = 90
DAYS_PER_YEAR = 365
_BUCKET_EDGES: tuple[tuple[int, Bucket], ...] = (
    (0, "standard"),
    (30, "SMA-0"),
    (60, "SMA-1"),
    (90, "SMA-2"),
)


# --- days past due ---------------------------------------------------------------------


def days_past_due(due_dates_unpaid: list[date], today: date) -> int:
    """Days since the oldest unpaid instalment fell due; 0 if none is overdue.

    An instalment due today is not yet past due; one due yesterday is 1 day past due.
    """
    overdue = [due for due in due_dates_unpaid if due < today]
    return (today - min(overdue)).days if overdue else 0


def bucket(dpd: int) -> Bucket:
    """Return the RBI bucket for ``dpd`` days past due."""
    _require_count(dpd, "dpd")
    for upper, name in _BUCKET_EDGES:
        if dpd <= upper:
            return name
    return "NPA"


# --- portfolio at risk -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoanExposure:
    """What risk measures need to know about one loan (amounts in paise)."""

    loan_id: str
    outstanding_principal: Paise
    dpd: int
    secured: bool = False
    loss_flagged: bool = False

    def __post_init__(self) -> None:
        _require_count(self.outstanding_principal, "outstanding_principal")
        _require_count(self.dpd, "dpd")


@dataclass(frozen=True, slots=True)
class ParResult:
    """PAR over ``days``: ``at_risk / outstanding`` with both amounts in paise."""

    days: int
    at_risk: Paise
    outstanding: Paise
    loans_at_risk: int

    @property
    def ratio(self) -> Fraction:
        """The exact ratio; 0 for an empty portfolio."""
        return Fraction(self.at_risk, self.outstanding) if self.outstanding else Fraction(0)

    @property
    def bps(self) -> int:
        """The ratio in basis points, rounded half-up."""
        return ratio_bps(self.at_risk, self.outstanding)

    @property
    def label(self) -> str:
        """For a screen: ``"PAR30 12.50%"``."""
        return f"PAR{self.days} {format_bps(self.bps)}"


def par(loans: Iterable[LoanExposure], days: int) -> ParResult:
    """Portfolio at risk: share of outstanding principal more than ``days`` late."""
    _require_count(days, "days")
    at_risk = outstanding = count = 0
    for loan in loans:
        outstanding += loan.outstanding_principal
        if loan.dpd > days and loan.outstanding_principal:
            at_risk += loan.outstanding_principal
            count += 1
    return ParResult(days=days, at_risk=at_risk, outstanding=outstanding, loans_at_risk=count)


# --- provisioning ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProvisioningPolicy:
    """Provisioning rates in basis points and the age bands that choose among them."""

    standard_bps: int = 40
    substandard_bps: int = 1_500
    substandard_unsecured_bps: int = 2_500
    doubtful_bps: tuple[int, int, int] = (2_500, 4_000, 10_000)
    loss_bps: int = 10_000
    substandard_days: int = DAYS_PER_YEAR
    doubtful_band_days: tuple[int, int] = (DAYS_PER_YEAR, 3 * DAYS_PER_YEAR)

    def __post_init__(self) -> None:
        rates = {
            "standard_bps": self.standard_bps,
            "substandard_bps": self.substandard_bps,
            "substandard_unsecured_bps": self.substandard_unsecured_bps,
            "loss_bps": self.loss_bps,
        }
        rates.update({f"doubtful_bps[{i}]": bps for i, bps in enumerate(self.doubtful_bps)})
        for name, bps in rates.items():
            if not 0 <= bps <= 10_000:
                raise ValidationError(f"{name} must be between 0 and 10000 (got {bps}).")
        first, second = self.doubtful_band_days
        if not (self.substandard_days > 0 and 0 < first < second):
            raise ValidationError("Provisioning age bands must be positive and increasing.")

    def classify(self, dpd: int, *, loss_flagged: bool = False) -> AssetClass:
        """Map days past due (and a loss flag) to an asset class."""
        _require_count(dpd, "dpd")
        if loss_flagged:
            return "loss"
        npa_days = dpd - NPA_AFTER_DAYS
        if npa_days <= 0:
            return "standard"
        if npa_days <= self.substandard_days:
            return "substandard"
        doubtful_days = npa_days - self.substandard_days
        first, second = self.doubtful_band_days
        if doubtful_days <= first:
            return "doubtful-1"
        return "doubtful-2" if doubtful_days <= second else "doubtful-3"

    def rate_bps(self, asset_class: AssetClass, *, secured: bool) -> int:
        """The provisioning rate for an asset class."""
        if asset_class == "substandard":
            return self.substandard_bps if secured else self.substandard_unsecured_bps
        rates: dict[AssetClass, int] = {
            "standard": self.standard_bps,
            "doubtful-1": self.doubtful_bps[0],
            "doubtful-2": self.doubtful_bps[1],
            "doubtful-3": self.doubtful_bps[2],
            "loss": self.loss_bps,
        }
        return rates[asset_class]


DEFAULT_POLICY = ProvisioningPolicy()


@dataclass(frozen=True, slots=True)
class Provision:
    """The provision held against one loan."""

    loan_id: str
    asset_class: AssetClass
    rate_bps: int
    amount: Paise


@dataclass(frozen=True, slots=True)
class ProvisionReport:
    """Provisions for a portfolio, with totals by asset class."""

    items: tuple[Provision, ...]
    by_class: dict[AssetClass, Paise]
    total: Paise


def provision_for(loan: LoanExposure, policy: ProvisioningPolicy = DEFAULT_POLICY) -> Provision:
    """Provision for one loan: its class's rate applied to outstanding principal (half-up)."""
    asset_class = policy.classify(loan.dpd, loss_flagged=loan.loss_flagged)
    rate = policy.rate_bps(asset_class, secured=loan.secured)
    amount = bps_of(loan.outstanding_principal, rate)
    return Provision(loan.loan_id, asset_class, rate, amount)


def provisions(
    loans: Iterable[LoanExposure], policy: ProvisioningPolicy = DEFAULT_POLICY
) -> ProvisionReport:
    """Provisions for every loan, summed by asset class and in total."""
    items = tuple(provision_for(loan, policy) for loan in loans)
    by_class: dict[AssetClass, Paise] = {}
    for item in items:
        by_class[item.asset_class] = by_class.get(item.asset_class, 0) + item.amount
    return ProvisionReport(items=items, by_class=by_class, total=sum(by_class.values()))


# --- risk score ------------------------------------------------------------------------

BASE_SCORE = 600
MIN_SCORE = 300
MAX_SCORE = 900
ELIGIBLE_FROM = 650
REVIEW_FROM = 550
MAX_LOAN_TO_CONTRIBUTION = 3
KYC_POINTS: dict[str, int] = {"approved": 40, "pending": -40, "none": -80, "rejected": -150}
DPD_POINTS: dict[Bucket, int] = {
    "standard": 60,
    "SMA-0": 0,
    "SMA-1": -60,
    "SMA-2": -120,
    "NPA": -200,
}


@dataclass(frozen=True, slots=True)
class RiskInputs:
    """Everything the score looks at; amounts in paise.

    ``on_time_count`` of ``due_count`` past instalments were paid by their due date.
    ``future_instalments_owed`` and ``security_held`` matter only for a prized
    subscriber (one who has already taken the prize).
    """

    on_time_count: int
    due_count: int
    max_dpd_history: int
    kyc_status: KycStatus
    requested_amount: Paise
    contributions_paid: Paise
    is_prized_subscriber: bool = False
    future_instalments_owed: Paise = 0
    security_held: Paise = 0
    existing_loans: int = 0
    existing_outstanding: Paise = 0

    def __post_init__(self) -> None:
        for name in (
            "on_time_count",
            "due_count",
            "max_dpd_history",
            "contributions_paid",
            "future_instalments_owed",
            "security_held",
            "existing_loans",
            "existing_outstanding",
        ):
            _require_count(getattr(self, name), name)
        if self.on_time_count > self.due_count:
            raise ValidationError(
                f"on_time_count ({self.on_time_count}) cannot exceed due_count ({self.due_count})."
            )
        if self.kyc_status not in KYC_POINTS:
            raise ValidationError(
                f"kyc_status must be one of {', '.join(KYC_POINTS)} (got {self.kyc_status!r})."
            )
        _require_count(self.requested_amount, "requested_amount")
        if self.requested_amount == 0:
            raise ValidationError("requested_amount must be more than zero.")
        if self.existing_outstanding and not self.existing_loans:
            raise ValidationError("existing_outstanding is set but existing_loans is 0.")


@dataclass(frozen=True, slots=True)
class Factor:
    """One line of a score's explanation."""

    name: str
    value_text: str
    points: int
    explanation: str


@dataclass(frozen=True, slots=True)
class RiskScore:
    """A score of 300..900 that is ``base + sum(points)`` over its factors."""

    base: int
    total: int
    factors: tuple[Factor, ...]
    eligibility: Eligibility
    reasons: tuple[str, ...] = field(default=())

    def explain(self) -> list[str]:
        """Lines for a screen or a PDF: the base, each factor, the total and the verdict."""
        lines = [f"Base score: {self.base}"]
        lines += [
            f"{f.name} ({f.value_text}): {f.points:+d}. {f.explanation}" for f in self.factors
        ]
        lines.append(f"Total: {self.total} -> {self.eligibility}")
        return lines + [f"- {reason}" for reason in self.reasons]


def score(inputs: RiskInputs) -> RiskScore:
    """Score a loan request, explain every point and decide eligibility."""
    factors = [
        _on_time_factor(inputs),
        _dpd_factor(inputs),
        _kyc_factor(inputs),
        _prize_factor(inputs),
        _loan_to_contribution_factor(inputs),
        _open_loans_factor(inputs),
        _debt_factor(inputs),
    ]
    raw = BASE_SCORE + sum(f.points for f in factors)
    total = min(max(raw, MIN_SCORE), MAX_SCORE)
    if total != raw:
        factors.append(
            Factor(
                "Score bounds",
                str(raw),
                total - raw,
                f"Scores are kept between {MIN_SCORE} and {MAX_SCORE}.",
            )
        )
    verdict, reasons = _eligibility(inputs, total)
    return RiskScore(BASE_SCORE, total, tuple(factors), verdict, tuple(reasons))


def _on_time_factor(inputs: RiskInputs) -> Factor:
    name = "On-time repayments"
    if inputs.due_count == 0:
        return Factor(name, "no dues yet", 0, "No repayment history yet; neither credit nor debit.")
    points = round_half_up(240 * inputs.on_time_count, inputs.due_count) - 120
    share = format_bps(ratio_bps(inputs.on_time_count, inputs.due_count))
    value = f"{inputs.on_time_count} of {inputs.due_count} ({share})"
    return Factor(name, value, points, "Each share of dues paid on time earns points; 50% is 0.")


def _dpd_factor(inputs: RiskInputs) -> Factor:
    name = "Worst days past due"
    dpd = inputs.max_dpd_history
    if inputs.due_count == 0 and dpd == 0:
        return Factor(name, "no history", 0, "No repayment history yet.")
    grade = bucket(dpd)
    explanation = {
        "standard": "Never late.",
        "SMA-0": "Late by up to 30 days at worst.",
        "SMA-1": "Late by 31-60 days at worst (SMA-1).",
        "SMA-2": "Late by 61-90 days at worst (SMA-2).",
        "NPA": "Over 90 days late at some point: a non-performing history.",
    }[grade]
    return Factor(name, f"{dpd} days ({grade})", DPD_POINTS[grade], explanation)


def _kyc_factor(inputs: RiskInputs) -> Factor:
    status = inputs.kyc_status
    explanation = "Identity verified." if status == "approved" else "Identity not verified."
    return Factor("KYC", status, KYC_POINTS[status], explanation)


def _prize_factor(inputs: RiskInputs) -> Factor:
    name = "Prize exposure"
    owed, held = inputs.future_instalments_owed, inputs.security_held
    if not inputs.is_prized_subscriber or owed == 0:
        return Factor(name, "none", 0, "No instalments owed against a prize already taken.")
    value = f"security {format_inr(held)} for {format_inr(owed)} owed"
    if _meets_security_cover(owed, held):
        return Factor(name, value, -10, "Prize taken; security covers 4/3 of what is owed.")
    if held >= owed:
        return Factor(name, value, -40, "Prize taken; security below the 4/3 cover required.")
    points = -40 - round_half_up(80 * (owed - held), owed)
    return Factor(name, value, points, "Prize taken; security does not cover what is owed.")


def _loan_to_contribution_factor(inputs: RiskInputs) -> Factor:
    name = "Loan to contribution"
    asked, paid = inputs.requested_amount, inputs.contributions_paid
    if paid == 0:
        return Factor(name, "no contributions", -100, "Nothing paid in yet to lend against.")
    value = f"{_times(asked, paid)} contributions"
    for multiple, points in ((1, 60), (2, 20), (3, -20)):
        if asked <= multiple * paid:
            return Factor(
                name, value, points, f"Request is at most {multiple}× contributions paid."
            )
    return Factor(name, value, -80, f"Request is above {MAX_LOAN_TO_CONTRIBUTION}× contributions.")


def _open_loans_factor(inputs: RiskInputs) -> Factor:
    points = -20 * min(inputs.existing_loans, 4)
    return Factor("Open loans", str(inputs.existing_loans), points, "Each open loan costs 20.")


_DEBT_NOTE = "Each 1× of contributions still owed on loans costs 40, at most 80."


def _debt_factor(inputs: RiskInputs) -> Factor:
    name = "Debt outstanding"
    owed, paid = inputs.existing_outstanding, inputs.contributions_paid
    if owed == 0:
        return Factor(name, format_inr(0), 0, "No loan balance outstanding.")
    value = format_inr(owed)
    if paid == 0:
        return Factor(name, value, -80, "Loan balance outstanding with no contributions paid.")
    points = -min(80, round_half_up(40 * owed, paid))
    return Factor(name, f"{value} ({_times(owed, paid)} contributions)", points, _DEBT_NOTE)


def _eligibility(inputs: RiskInputs, total: int) -> tuple[Eligibility, list[str]]:
    hard, soft = _refusals(inputs, total), _doubts(inputs, total)
    if hard:
        return "ineligible", hard + soft
    return ("needs_review", soft) if soft else ("eligible", [])


def _refusals(inputs: RiskInputs, total: int) -> list[str]:
    reasons = []
    if inputs.kyc_status != "approved":
        reasons.append(f"KYC is {inputs.kyc_status}: approve KYC before lending.")
    if inputs.max_dpd_history > NPA_AFTER_DAYS:
        reasons.append(f"History of {inputs.max_dpd_history} days past due (NPA).")
    if total < REVIEW_FROM:
        reasons.append(f"Score {total} is below {REVIEW_FROM}.")
    return reasons


def _doubts(inputs: RiskInputs, total: int) -> list[str]:
    reasons = []
    if REVIEW_FROM <= total < ELIGIBLE_FROM:
        reasons.append(f"Score {total} is below {ELIGIBLE_FROM}: a second look is needed.")
    paid = inputs.contributions_paid
    if paid == 0:
        reasons.append("No contributions paid yet.")
    elif inputs.requested_amount > MAX_LOAN_TO_CONTRIBUTION * paid:
        reasons.append(f"Request is above {MAX_LOAN_TO_CONTRIBUTION}× contributions paid.")
    if _short_of_cover(inputs):
        reasons.append("Prized subscriber's security is below 4/3 of the instalments owed.")
    return reasons


def _short_of_cover(inputs: RiskInputs) -> bool:
    owed = inputs.future_instalments_owed
    prized = inputs.is_prized_subscriber and owed > 0
    return prized and not _meets_security_cover(owed, inputs.security_held)


def _meets_security_cover(owed: Paise, held: Paise) -> bool:
    """Security must exceed the future instalments owed by a third (Chit Funds Act)."""
    return 3 * held >= 4 * owed


def _times(amount: int, whole: int) -> str:
    hundredths = round_half_up(100 * amount, whole)
    return f"{hundredths // 100}.{hundredths % 100:02d}×"


def _require_count(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(f"{name} must be a whole number of at least 0 (got {value!r}).")
