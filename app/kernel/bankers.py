"""The Banker's algorithm over cash pools.

Resources are cash pools in integer paise (one per chit group, plus the company's
lending capital); processes are open commitments (undisbursed loans, unreleased prize
payouts), each with a maximum claim per pool and what it already holds. A state is
*safe* when some order exists in which every commitment can receive its remaining need
from what is available and then return what it holds.

Finding that order does not need a search. Finishing a commitment only ever adds to what
is available, so a commitment that can finish now can still finish after any other has:
picking *any* finishable commitment at each step reaches a full order exactly when one
exists. :func:`is_safe` does this without rescanning: each blocked commitment waits on
one pool it is short in (a heap per pool, keyed by the need) and is looked at again only
when that pool has grown enough. That is O(e·log n) for e non-zero (commitment, pool)
needs, instead of the textbook O(n²·m).
When no order exists, what each pool reaches at the fixpoint is the most it can ever
hold, so the shortfall named for each blocked commitment is exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from heapq import heappop, heappush
from types import MappingProxyType
from typing import Any

from app.kernel.errors import Conflict, KnownError, NotFound, ValidationError
from app.kernel.inr import format_inr

_SEQUENCE_SHOWN = 5


def _paise(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError(
            f"{what} must be a whole number of paise, got {value!r}.",
            hint="Convert rupees to integer paise before calling the Banker's check.",
        )
    if value < 0:
        raise ValidationError(f"{what} is negative ({format_inr(value)}).")
    return value


def _frozen_amounts(amounts: Mapping[str, int], what: str) -> Mapping[str, int]:
    checked = {}
    for pool, value in amounts.items():
        if not isinstance(pool, str) or not pool:
            raise ValidationError(f"{what}: pool names must be non-empty strings, got {pool!r}.")
        checked[pool] = _paise(value, f"{what} in pool {pool}")
    return MappingProxyType(checked)


@dataclass(frozen=True)
class Commitment:
    """An open commitment: what it may claim from each pool and what it holds now."""

    id: str
    max_claim: Mapping[str, int]
    held: Mapping[str, int]
    _needs: tuple[tuple[str, int], ...] = field(init=False, repr=False, compare=False)
    _holdings: tuple[tuple[str, int], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ValidationError(f"A commitment id must be a non-empty string, got {self.id!r}.")
        claim = _frozen_amounts(self.max_claim, f"maximum claim of {self.id}")
        held = _frozen_amounts(self.held, f"amount held by {self.id}")
        object.__setattr__(self, "max_claim", claim)
        object.__setattr__(self, "held", held)
        for pool, amount in held.items():
            if amount > claim.get(pool, 0):
                raise ValidationError(
                    f"Commitment {self.id} holds {format_inr(amount)} from pool {pool} "
                    f"but may claim at most {format_inr(claim.get(pool, 0))} from it.",
                    hint="Raise its maximum claim or correct what it holds.",
                )
        needs = tuple((pool, claim[pool] - held.get(pool, 0)) for pool in claim)
        object.__setattr__(self, "_needs", tuple((p, n) for p, n in needs if n > 0))
        object.__setattr__(self, "_holdings", tuple((p, h) for p, h in held.items() if h > 0))

    def need(self, pool: str) -> int:
        """What the commitment may still receive from ``pool``."""
        return self.max_claim.get(pool, 0) - self.held.get(pool, 0)

    def needs(self) -> dict[str, int]:
        """The pools it still needs something from, with the amounts."""
        return dict(self._needs)

    def pools(self) -> set[str]:
        return set(self.max_claim) | set(self.held)


@dataclass(frozen=True)
class BankState:
    """What each pool has available and the open commitments against the pools."""

    available: Mapping[str, int]
    commitments: tuple[Commitment, ...]
    _index: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        available = _frozen_amounts(self.available, "available cash")
        commitments = tuple(self.commitments)
        object.__setattr__(self, "available", available)
        object.__setattr__(self, "commitments", commitments)
        object.__setattr__(self, "_index", _index_commitments(commitments))
        for commitment in commitments:
            unknown = sorted(commitment.pools() - set(available))
            if unknown:
                raise ValidationError(
                    f"Commitment {commitment.id} refers to pool {unknown[0]}, "
                    "which has no available amount in this state.",
                    hint="List every pool in `available`, with 0 when it is empty.",
                )

    @classmethod
    def _trusted(cls, available: dict[str, int], commitments: tuple[Commitment, ...]) -> BankState:
        """Build a state from parts already checked (used after a grant)."""
        state = object.__new__(cls)
        object.__setattr__(state, "available", MappingProxyType(available))
        object.__setattr__(state, "commitments", commitments)
        object.__setattr__(state, "_index", _index_commitments(commitments))
        return state

    def commitment(self, commitment_id: str) -> Commitment | None:
        position = self._index.get(commitment_id)
        return None if position is None else self.commitments[position]


def _index_commitments(commitments: tuple[Commitment, ...]) -> Mapping[str, int]:
    index: dict[str, int] = {}
    for position, commitment in enumerate(commitments):
        if commitment.id in index:
            raise ValidationError(f"Commitment {commitment.id} appears twice in the state.")
        index[commitment.id] = position
    return MappingProxyType(index)


@dataclass(frozen=True)
class Shortfall:
    """A pool that cannot give a commitment its remaining need."""

    commitment_id: str
    pool: str
    need: int
    reachable: int

    @property
    def short(self) -> int:
        return self.need - self.reachable

    def describe(self) -> str:
        return (
            f"commitment {self.commitment_id} needs {format_inr(self.need)} more from "
            f"pool {self.pool} but at most {format_inr(self.reachable)} can become available"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "commitment": self.commitment_id,
            "pool": self.pool,
            "need": self.need,
            "reachable": self.reachable,
        }


@dataclass(frozen=True)
class Blocked:
    """A commitment that cannot finish in any order, with every pool it is short in."""

    commitment_id: str
    shortfalls: tuple[Shortfall, ...]


@dataclass(frozen=True)
class SafetyResult:
    """The answer of :func:`is_safe`: a safe sequence, or what blocks one."""

    safe: bool
    sequence: list[str]
    blocked: tuple[Blocked, ...]
    reason: str


def _finish_order(state: BankState) -> tuple[list[int], dict[str, int]]:
    """Indices of the commitments that can finish, in a valid order, and the final work.

    Each unfinished commitment waits on one pool it is short in, in a heap per pool keyed
    by its need there. Works in rounds: every ready commitment finishes and returns what
    it holds; then each pool that grew releases the waiters it now covers, and each of
    those moves on to its next pool that is still short, or becomes ready. Pools already
    passed need no second look, as work only grows. Every (commitment, pool) need is
    compared at most once, plus a heap push and pop per wait.
    """
    commitments = state.commitments
    work = dict(state.available)
    waiting: dict[str, list[tuple[int, int]]] = {}
    next_need = [0] * len(commitments)
    ready: list[int] = []

    def wait_or_ready(position: int) -> None:
        needs = commitments[position]._needs
        for index in range(next_need[position], len(needs)):
            pool, amount = needs[index]
            if amount > work[pool]:
                heappush(waiting.setdefault(pool, []), (amount, position))
                next_need[position] = index + 1
                return
        ready.append(position)

    for position in range(len(commitments)):
        wait_or_ready(position)
    order: list[int] = []
    while ready:
        grown = set()
        for position in ready:
            for pool, amount in commitments[position]._holdings:
                work[pool] += amount
                grown.add(pool)
        order += ready
        ready = []
        for pool in grown.intersection(waiting):
            heap, limit = waiting[pool], work[pool]
            while heap and heap[0][0] <= limit:
                wait_or_ready(heappop(heap)[1])
    return order, work


def is_safe(state: BankState) -> SafetyResult:
    """Decide whether every commitment can finish, and give the order or the blockage."""
    order, work = _finish_order(state)
    if len(order) == len(state.commitments):
        sequence = [state.commitments[position].id for position in order]
        return SafetyResult(True, sequence, (), _safe_reason(sequence))
    finished = set(order)
    blocked = tuple(
        _blocked(commitment, work)
        for position, commitment in enumerate(state.commitments)
        if position not in finished
    )
    return SafetyResult(False, [], blocked, _unsafe_reason(blocked))


def _blocked(commitment: Commitment, work: Mapping[str, int]) -> Blocked:
    shortfalls = tuple(
        Shortfall(commitment.id, pool, amount, work[pool])
        for pool, amount in commitment.needs().items()
        if amount > work[pool]
    )
    return Blocked(commitment.id, shortfalls)


def _safe_reason(sequence: list[str]) -> str:
    if not sequence:
        return "safe: there are no open commitments"
    shown = ", ".join(sequence[:_SEQUENCE_SHOWN])
    more = (
        f", … ({len(sequence) - _SEQUENCE_SHOWN} more)" if len(sequence) > _SEQUENCE_SHOWN else ""
    )
    return f"safe: all {len(sequence)} commitments can finish in the order {shown}{more}"


def _unsafe_reason(blocked: tuple[Blocked, ...]) -> str:
    first = blocked[0].shortfalls[0]
    reason = f"unsafe: {first.describe()}"
    if len(blocked) > 1:
        reason += f"; {len(blocked) - 1} other commitment(s) cannot finish either"
    return reason


@dataclass(frozen=True)
class Decision:
    """The answer to a disbursement or payout request.

    ``code`` is ``granted`` or why not: ``unknown_commitment``, ``invalid_amount``,
    ``negative_amount``, ``unknown_pool``, ``empty_request``, ``exceeds_need``,
    ``exceeds_available`` or ``unsafe``. ``pool`` names the pool at fault for the
    per-pool refusals; ``blocked`` lists what would block the state after an unsafe grant.
    """

    granted: bool
    code: str
    reason: str
    commitment_id: str
    amounts: Mapping[str, int]
    sequence: list[str] = field(default_factory=list)
    pool: str | None = None
    blocked: tuple[Blocked, ...] = ()
    new_state: BankState | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        """A compact record for the WAL: ids and paise only."""
        record: dict[str, Any] = {
            "granted": self.granted,
            "code": self.code,
            "commitment": self.commitment_id,
            "amounts": dict(self.amounts),
            "reason": self.reason,
        }
        if self.granted:
            record["sequence"] = list(self.sequence)
        if self.pool is not None:
            record["pool"] = self.pool
        if self.blocked:
            record["blocked"] = [s.to_json() for b in self.blocked for s in b.shortfalls]
        return record

    def error(self) -> KnownError | None:
        """The refusal as a :class:`KnownError` to raise, or None when granted."""
        if self.granted:
            return None
        if self.code == "unknown_commitment":
            return NotFound(self.reason)
        if self.code in ("invalid_amount", "negative_amount", "unknown_pool", "empty_request"):
            return ValidationError(self.reason)
        return Conflict(self.reason, hint="Wait for cash to come in or reduce the amount.")


def request(state: BankState, commitment_id: str, amounts: Mapping[str, int]) -> Decision:
    """Grant ``amounts`` (paise per pool) to a commitment only if the state stays safe."""
    refusal = _check_request(state, commitment_id, amounts)
    if refusal is not None:
        return refusal
    new_state = _apply(state, commitment_id, amounts)
    result = is_safe(new_state)
    total = format_inr(sum(amounts.values()))
    if result.safe:
        reason = f"granted {total} to {commitment_id}; the state stays {result.reason}"
        return Decision(
            True,
            "granted",
            reason,
            commitment_id,
            dict(amounts),
            result.sequence,
            new_state=new_state,
        )
    reason = f"refused {total} to {commitment_id}: the state would become {result.reason}"
    return Decision(False, "unsafe", reason, commitment_id, dict(amounts), blocked=result.blocked)


def _refuse(
    code: str, reason: str, commitment_id: str, amounts: Mapping[str, Any], pool: str | None = None
) -> Decision:
    return Decision(False, code, reason, commitment_id, dict(amounts), pool=pool)


def _check_request(state: BankState, cid: str, amounts: Mapping[str, Any]) -> Decision | None:
    commitment = state.commitment(cid)
    if commitment is None:
        return _refuse("unknown_commitment", f"refused: no open commitment {cid}", cid, amounts)
    for pool, amount in amounts.items():
        refusal = _check_pool_amount(state, commitment, pool, amount, amounts)
        if refusal is not None:
            return refusal
    if not any(amounts.values()):
        return _refuse("empty_request", f"refused: nothing requested for {cid}", cid, amounts)
    return None


def _check_pool_amount(
    state: BankState, commitment: Commitment, pool: str, amount: Any, amounts: Mapping[str, Any]
) -> Decision | None:
    cid = commitment.id
    if not isinstance(amount, int) or isinstance(amount, bool):
        reason = f"refused: amount for pool {pool} must be whole paise, got {amount!r}"
        return _refuse("invalid_amount", reason, cid, amounts, pool)
    if amount < 0:
        reason = f"refused: negative amount {format_inr(amount)} from pool {pool}"
        return _refuse("negative_amount", reason, cid, amounts, pool)
    if pool not in state.available:
        return _refuse("unknown_pool", f"refused: there is no pool {pool}", cid, amounts, pool)
    if amount > commitment.need(pool):
        reason = (
            f"refused: {cid} asks {format_inr(amount)} from pool {pool} but its remaining "
            f"need there is {format_inr(commitment.need(pool))}"
        )
        return _refuse("exceeds_need", reason, cid, amounts, pool)
    if amount > state.available[pool]:
        reason = (
            f"refused: {cid} asks {format_inr(amount)} from pool {pool} but only "
            f"{format_inr(state.available[pool])} is available there"
        )
        return _refuse("exceeds_available", reason, cid, amounts, pool)
    return None


def _apply(state: BankState, commitment_id: str, amounts: Mapping[str, int]) -> BankState:
    available = dict(state.available)
    commitment = state.commitment(commitment_id)
    assert commitment is not None
    held = dict(commitment.held)
    for pool, amount in amounts.items():
        available[pool] -= amount
        held[pool] = held.get(pool, 0) + amount
    updated = Commitment(commitment.id, commitment.max_claim, held)
    commitments = tuple(updated if c.id == commitment_id else c for c in state.commitments)
    return BankState._trusted(available, commitments)


def release(state: BankState, commitment_ids: Iterable[str]) -> BankState:
    """Close commitments (loan repaid, prize settled): what they hold returns to the pools."""
    closing = set(commitment_ids)
    unknown = sorted(closing - set(state._index))
    if unknown:
        raise NotFound(f"No open commitment {unknown[0]} to release.")
    available = dict(state.available)
    kept = []
    for commitment in state.commitments:
        if commitment.id not in closing:
            kept.append(commitment)
            continue
        for pool, amount in commitment.held.items():
            available[pool] += amount
    return BankState._trusted(available, tuple(kept))
