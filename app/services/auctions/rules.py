"""Rules of a chit group's reverse auction (Chit Funds Act 1982, as amended 2019).

Pure functions over a group's :class:`Agreement`; every amount is integer paise.

Bids. Members bid the discount they forgo. A valid bid lies between the floor
(the foreman's commission) and the group's cap, sits on the grid
``floor + k * bid_step`` (k = 0, 1, 2 ...), and beats the current best. The grid
starts at the floor rather than at zero, so the floor itself is always a valid
bid even when the commission is not a whole number of steps.

Settlement. prize = G - discount; pool = discount - commission; each member's
share = pool / N rounded half-up; net instalment = G/N - share. Rounding leaves
``residue = N * share - pool`` paise (positive when shares were rounded up),
which the foreman absorbs: the foreman receives ``commission - residue``.
Check, exact to the paisa: ``N * net + residue == prize + commission``.

Lots (ties and the no-bid period) are verifiable; see :func:`draw`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from app.kernel.errors import ValidationError
from app.services.money import BPS_PER_UNIT, format_bps, format_inr, round_half_up

MAX_COMMISSION_BPS = 700
"""7% of the chit amount (s.21 as amended in 2019; it was 5% before)."""

PAYOUT_DAYS = 7
REDRAW_AFTER_MONTHS = 2
MIN_SEED_BYTES = 16


@dataclass(frozen=True)
class Agreement:
    """The auction terms of one chit group. Invalid terms raise on construction."""

    gross_paise: int
    members: int
    period_months: int = 1
    commission_bps: int = 500
    discount_cap_bps: int = 3000
    bid_step_paise: int = 50_000
    foreman_takes_first: bool = False

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise one ValidationError listing every term that is wrong."""
        problems = self._problems()
        if problems:
            raise ValidationError(
                "The group agreement is not valid: " + "; ".join(problems) + ".",
                hint="Correct the agreement's terms.",
            )

    def _problems(self) -> list[str]:
        return [message for _term, message in term_problems(self)]

    @property
    def instalment_paise(self) -> int:
        return instalment(self)

    @property
    def commission_paise(self) -> int:
        return commission(self)


def term_problems(terms: Agreement | Any) -> list[tuple[str, str]]:
    """Every wrong term of ``terms`` (an :class:`Agreement` or anything with its
    attributes) as ``(term, message)``, the term being the attribute's name; empty when
    all are right. Lets a form mark each field without building an Agreement first."""
    g, n, months = terms.gross_paise, terms.members, terms.period_months
    fee, cap, step = terms.commission_bps, terms.discount_cap_bps, terms.bid_step_paise
    if any(isinstance(v, bool) or not isinstance(v, int) for v in (g, n, months, fee, cap, step)):
        return [("gross_paise", "amounts, counts and rates must be whole numbers")]
    checks = [
        ("gross_paise", g <= 0, "the chit amount must be positive"),
        ("members", n < 2, "a group needs at least 2 members"),
        (
            "gross_paise",
            g > 0 and n >= 2 and g % n != 0,
            f"the chit amount {format_inr(g)} must divide evenly among {n} members",
        ),
        ("period_months", months < 1, "the period must be at least 1 month"),
        ("commission_bps", fee < 0, "the commission cannot be negative"),
        (
            "commission_bps",
            fee > MAX_COMMISSION_BPS,
            f"the foreman's commission {format_bps(fee)} is above the legal maximum of "
            f"{format_bps(MAX_COMMISSION_BPS)} of the chit amount",
        ),
        (
            "discount_cap_bps",
            not fee < cap < BPS_PER_UNIT,
            f"the discount cap {format_bps(cap)} must be above the commission "
            f"{format_bps(fee)} and below 100%",
        ),
        ("bid_step_paise", step <= 0, "the bid step must be a positive amount"),
    ]
    return [(term, message) for term, failed, message in checks if failed]


@dataclass(frozen=True)
class Settlement:
    """The money of one period's prize. ``residue`` is absorbed by the foreman."""

    period: int
    members: int
    discount_paise: int
    prize_paise: int
    commission_paise: int
    dividend_pool_paise: int
    share_paise: int
    instalment_paise: int
    net_instalment_paise: int
    residue_paise: int

    @property
    def foreman_receives_paise(self) -> int:
        return self.commission_paise - self.residue_paise

    @property
    def collected_paise(self) -> int:
        return self.members * self.net_instalment_paise


# --- amounts -----------------------------------------------------------------


def instalment(agreement: Agreement) -> int:
    """Gross instalment G / N (exact: the agreement requires N to divide G)."""
    return agreement.gross_paise // agreement.members


def commission(agreement: Agreement) -> int:
    """Foreman's commission per period, rounded down to the paisa: rounding never takes
    it above the agreed rate, and so never above the legal 7 %."""
    return agreement.gross_paise * agreement.commission_bps // BPS_PER_UNIT


def discount_floor(agreement: Agreement) -> int:
    """The lowest bid: the foreman's commission."""
    return commission(agreement)


def discount_cap(agreement: Agreement) -> int:
    """The highest discount the group allows (rounded down, never above the cap)."""
    cap = agreement.gross_paise * agreement.discount_cap_bps // BPS_PER_UNIT
    return max(cap, discount_floor(agreement))


def max_bid(agreement: Agreement) -> int:
    """The highest bid on the step grid that does not pass the cap."""
    floor, step = discount_floor(agreement), agreement.bid_step_paise
    return floor + (discount_cap(agreement) - floor) // step * step


def min_next_bid(agreement: Agreement, current_best: int | None) -> int:
    """The smallest bid that would be valid now."""
    if current_best is None:
        return discount_floor(agreement)
    return current_best + agreement.bid_step_paise


# --- bids --------------------------------------------------------------------


def validate_bid(agreement: Agreement, discount_paise: int, current_best: int | None) -> None:
    """Raise ValidationError unless ``discount_paise`` is a valid bid now."""
    if isinstance(discount_paise, bool) or not isinstance(discount_paise, int):
        raise ValidationError("A bid must be a whole number of paise.")
    floor, cap, step = discount_floor(agreement), discount_cap(agreement), agreement.bid_step_paise
    bid = format_inr(discount_paise)
    if discount_paise < floor:
        raise ValidationError(
            f"Bid {bid} is below the floor of {format_inr(floor)} (the foreman's commission).",
            hint=f"Bid at least {format_inr(floor)}.",
        )
    if discount_paise > cap:
        raise ValidationError(
            f"Bid {bid} is above this group's cap of {format_inr(cap)} "
            f"({format_bps(agreement.discount_cap_bps)} of the chit).",
            hint=f"The highest bid allowed is {format_inr(max_bid(agreement))}.",
        )
    below = floor + (discount_paise - floor) // step * step
    if below != discount_paise:
        raise ValidationError(
            f"Bid {bid} is not on a {format_inr(step)} step from the floor {format_inr(floor)}.",
            hint=f"Bid {format_inr(below)} or {format_inr(below + step)}.",
        )
    if current_best is not None and discount_paise <= current_best:
        raise ValidationError(
            f"Bid {bid} does not beat the current best bid of {format_inr(current_best)}.",
            hint=f"Bid at least {format_inr(current_best + step)}.",
        )


def may_bid(is_prized: bool, has_overdue: bool) -> tuple[bool, str]:
    """Only non-prized subscribers without an overdue instalment may bid."""
    if is_prized:
        return False, "You have already won a prize in this group; prized members cannot bid."
    if has_overdue:
        return False, "You have an overdue instalment; pay it to take part in the auction."
    return True, ""


# --- settlement --------------------------------------------------------------


def settle(agreement: Agreement, period: int, winning_discount: int) -> Settlement:
    """The money of ``period`` won at ``winning_discount``.

    Period 1 of a group whose agreement says ``foreman_takes_first`` goes to the
    foreman's own ticket for G without discount: ``winning_discount`` must be 0,
    and there is no commission and no dividend that period (commission is paid
    out of the discount, and the foreman would only be paying himself). Every
    member pays the full G / N. A period decided by lot because nobody bid is
    settled at the floor discount.
    """
    if (
        isinstance(period, bool)
        or not isinstance(period, int)
        or not 1 <= period <= agreement.members
    ):
        raise ValidationError(f"Period must be 1 to {agreement.members}; got {period}.")
    if period == 1 and agreement.foreman_takes_first:
        if winning_discount != 0:
            raise ValidationError(
                "Period 1 goes to the foreman's ticket without discount; the discount must be 0."
            )
        return _settlement(agreement, period, 0, 0)
    validate_bid(agreement, winning_discount, None)
    return _settlement(agreement, period, winning_discount, commission(agreement))


def _settlement(agreement: Agreement, period: int, discount: int, fee: int) -> Settlement:
    n, g = agreement.members, agreement.gross_paise
    pool = discount - fee
    share = round_half_up(pool, n)
    gross_instalment = instalment(agreement)
    result = Settlement(
        period=period,
        members=n,
        discount_paise=discount,
        prize_paise=g - discount,
        commission_paise=fee,
        dividend_pool_paise=pool,
        share_paise=share,
        instalment_paise=gross_instalment,
        net_instalment_paise=gross_instalment - share,
        residue_paise=n * share - pool,
    )
    if n * result.net_instalment_paise + result.residue_paise != result.prize_paise + fee:
        raise ArithmeticError(f"settlement does not add up: {result}")  # a bug, never input
    return result


# --- prize payment -----------------------------------------------------------


def security_required(
    agreement: Agreement,
    periods_remaining: int,
    immovable: bool,
    *,
    deducted_from_prize: bool = False,
) -> int:
    """Security a prize winner must give, in paise (rounded up).

    The future gross instalments still owed (``periods_remaining`` × G/N,
    counting gross because future dividends are not known) plus one third, or
    plus one half when the security is immovable property. Nothing when the
    future instalments are deducted from the prize instead.
    """
    if not 0 <= periods_remaining < agreement.members:
        raise ValidationError(
            f"Periods remaining must be 0 to {agreement.members - 1}; got {periods_remaining}."
        )
    if deducted_from_prize:
        return 0
    owed = periods_remaining * instalment(agreement)
    num, den = (3, 2) if immovable else (4, 3)
    return -(-owed * num // den)


def payout_deadline(draw_date: date, next_instalment_date: date) -> date:
    """Pay the prize within 7 days of the draw or before (the day before) the next
    instalment, whichever is earlier."""
    if next_instalment_date <= draw_date:
        raise ValidationError("The next instalment must fall after the draw date.")
    return min(draw_date + timedelta(days=PAYOUT_DAYS), next_instalment_date - timedelta(days=1))


def redraw_allowed_from(draw_date: date) -> date:
    """A prize unclaimed for 2 months may be re-drawn from this date."""
    month = draw_date.month - 1 + REDRAW_AFTER_MONTHS
    year, month = draw_date.year + month // 12, month % 12 + 1
    for day in (draw_date.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


# --- countdown ---------------------------------------------------------------


def extend_deadline(
    ends_at: datetime, bid_at: datetime, window_s: float = 30, extension_s: float = 30
) -> datetime:
    """The auction's end after a bid at ``bid_at`` (anti-sniping).

    A bid at or after ``ends_at`` is refused ("auction closed"). A bid within
    ``window_s`` seconds of the end (remaining <= window) moves the end to
    ``bid_at + extension_s``; the end never moves earlier. Use aware datetimes.
    """
    if bid_at >= ends_at:
        raise ValidationError(
            "The auction closed before this bid arrived.", hint="The bid was not recorded."
        )
    if ends_at - bid_at <= timedelta(seconds=window_s):
        return max(ends_at, bid_at + timedelta(seconds=extension_s))
    return ends_at


# --- verifiable lot ----------------------------------------------------------


def new_seed() -> bytes:
    """32 random bytes for one lot."""
    return secrets.token_bytes(32)


def commit_seed(seed: bytes) -> str:
    """The commitment published before the draw: ``sha256(seed)`` in hex."""
    return hashlib.sha256(seed).hexdigest()


def draw(seed: bytes, candidates: list[str]) -> str:
    """Pick one candidate by lot, so that anyone can recompute it.

    Recipe (publish it with the minutes)::

        names  = sorted(set(candidates))                 # Python's str order
        digest = sha256(seed + b"|" + ",".join(names).encode("utf-8"))
        winner = names[int(digest.hexdigest(), 16) % len(names)]

    The seed's hash is published before the draw (:func:`commit_seed`) and the
    seed itself after, so nobody can choose the seed once the candidates are
    known. Candidate ids may not contain commas.
    """
    if len(seed) < MIN_SEED_BYTES:
        raise ValidationError(f"A lot needs a seed of at least {MIN_SEED_BYTES} random bytes.")
    names = sorted(set(candidates))
    if not names:
        raise ValidationError("A lot needs at least one candidate.")
    if any("," in name for name in names):
        raise ValidationError("Candidate ids in a lot may not contain commas.")
    digest = hashlib.sha256(seed + b"|" + ",".join(names).encode("utf-8")).hexdigest()
    return names[int(digest, 16) % len(names)]


def verify_draw(seed_hex: str, commitment: str, candidates: list[str], winner: str) -> bool:
    """True if the revealed seed matches the commitment and yields ``winner``."""
    try:
        seed = bytes.fromhex(seed_hex)
    except ValueError:
        return False
    if not hmac.compare_digest(commit_seed(seed), commitment.lower()):
        return False
    try:
        return draw(seed, candidates) == winner
    except ValidationError:
        return False


# --- bidder aliases ----------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_ADJECTIVES = _words(
    "Amber Azure Bold Brave Bright Calm Clever Coral Crimson Daring Deep Eager Emerald Fair "
    "Fleet Gentle Golden Grand Happy Hardy Indigo Ivory Jade Jolly Keen Kind Lively Lucky Lunar "
    "Mellow Merry Misty Noble Olive Onyx Pearl Plucky Proud Quick Quiet Rapid Royal Ruby Rustic "
    "Saffron Scarlet Serene Silver Sly Solar Steady Stormy Sunny Swift Tawny Teal Topaz Upbeat "
    "Valiant Velvet Vivid Warm Wise Zesty"
)
_ANIMALS = _words(
    "Antelope Badger Bison Bulbul Camel Cheetah Cobra Crane Deer Dolphin Eagle Egret Elephant "
    "Falcon Finch Fox Gaur Gazelle Gecko Gharial Heron Hornbill Ibex Jackal Kestrel Kingfisher "
    "Koel Langur Leopard Lion Lynx Macaque Magpie Mongoose Myna Nilgai Oriole Otter Owl Panda "
    "Panther Parrot Peacock Pelican Pigeon Python Robin Sambar Sarus Seal Shikra Sparrow Stork "
    "Swan Tahr Tiger Tortoise Turtle Vulture Wagtail Whale Wolf Yak Zebra"
)
assert len(_ADJECTIVES) == len(_ANIMALS) == 64


def alias(auction_secret: bytes, member_id: str, attempt: int = 0) -> str:
    """A bidder's public name in one auction, e.g. ``"Amber Falcon 27"``.

    HMAC-SHA256 keyed by the auction's secret: stable within the auction,
    unrelated across auctions, and it reveals nothing of the member without the
    secret. ``attempt`` > 0 gives further candidates (see :func:`aliases`).
    """
    message = member_id.encode("utf-8") + (b"#%d" % attempt if attempt else b"")
    d = hmac.new(auction_secret, message, hashlib.sha256).digest()
    adjective = _ADJECTIVES[int.from_bytes(d[0:2], "big") % 64]
    animal = _ANIMALS[int.from_bytes(d[2:4], "big") % 64]
    number = 10 + int.from_bytes(d[4:8], "big") % 90
    return f"{adjective} {animal} {number}"


def aliases(auction_secret: bytes, member_ids: list[str]) -> dict[str, str]:
    """Distinct aliases for all bidders of one auction.

    A clash (about 1 in 300 for 50 bidders) is resolved deterministically: in
    sorted id order, a member whose alias is taken tries ``attempt`` 1, 2 ...
    Compute it once, over the members eligible when the auction opens.
    """
    taken: set[str] = set()
    result: dict[str, str] = {}
    for member_id in sorted(set(member_ids)):
        attempt = 0
        while (name := alias(auction_secret, member_id, attempt)) in taken:
            attempt += 1
        taken.add(name)
        result[member_id] = name
    return result
